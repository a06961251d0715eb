"""Hidden tests for kata 07: Adam and AdamW, checked step by step against their equations.

Gradients are set directly on `p.grad` (no autograd needed); the expected trajectory is a
NumPy recurrence computed here, and known wrong recurrences give pointed hints.
"""
from __future__ import annotations

import functools

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pytest_tinytorch import checks
from tinytorch.core.optimizers import Adam, AdamW
from tinytorch.core.tensor import Tensor

import optimizers_kit
from optimizers_kit import G3, P0, decays, problems


# ---------------------------------------------------------------- strategies and oracles

@st.composite
def first_steps(draw):
    """(p0, grad) with every |grad| in [0.01, 10]: Adam's first step is then ~lr * sign."""
    shape = draw(checks.shapes())
    p0 = draw(checks.arrays(shape, dtype=np.float64, lo=-5.0, hi=5.0))
    size = draw(checks.arrays(shape, dtype=np.float64, lo=0.01, hi=10.0))
    sign = np.where(draw(hnp.arrays(np.bool_, shape)), 1.0, -1.0)
    return p0, sign * size


lrs = st.floats(0.001, 0.5)
betas_ = st.tuples(st.floats(0.5, 0.95), st.floats(0.9, 0.9999))
epss = st.sampled_from([1e-8, 1e-3, 0.1])


def adam_path(p0, grads, lrs, betas=(0.9, 0.999), eps=1e-8, wd=0.0, decoupled=False,
              variant="pytorch"):
    """The parameter after each step, for PyTorch's Adam/AdamW or a known wrong variant."""
    b1, b2 = betas
    p, m, v, out = p0.copy(), np.zeros_like(p0), np.zeros_like(p0), []
    in_grad, direct = (0.0, wd) if decoupled else (wd, 0.0)  # L2 term, decoupled shrink
    if variant == "no decay":
        in_grad, direct = 0.0, 0.0
    elif variant == "coupled":
        in_grad, direct = wd, 0.0
    elif variant == "decay twice":
        in_grad, direct = (wd, wd) if decoupled else (2 * wd, 0.0)
    for i, grad in enumerate(grads):
        t, lr = i + 1, (lrs[i] if variant != "lr frozen" else lrs[0])
        if variant == "decay without lr":
            p = p - direct * p
        elif variant != "decay after update":
            p = p - lr * direct * p
        g = grad + in_grad * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        if variant == "no bias correction":
            m_hat, v_hat = m, v
        else:
            m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        if variant == "eps inside sqrt":
            p = p - lr * m_hat / np.sqrt(v_hat + eps)
        elif variant == "uphill":
            p = p + lr * m_hat / (np.sqrt(v_hat) + eps)
        else:
            p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        if variant == "decay after update":
            p = p - lr * direct * p
        out.append(p.copy())
    return out


HINTS = {
    "no bias correction": "this matches Adam without bias correction: divide m by "
                          "(1 - beta1**t) and v by (1 - beta2**t), t = this parameter's step "
                          "count starting at 1",
    "eps inside sqrt": "this matches eps inside the square root: add eps to sqrt(v_hat), "
                       "not to v_hat",
    "uphill": "the parameter moved uphill (along +grad): Adam subtracts lr * m_hat / "
              "(sqrt(v_hat) + eps)",
    "lr frozen": "a change of opt.lr between steps was ignored: read self.lr at every step",
    "no decay": "this matches an update that ignores weight_decay",
    "decoupled": "this matches decoupled (AdamW) decay: Adam's weight_decay is an L2 term "
                 "added to the gradient, g = grad + weight_decay * p",
    "decay twice": "this matches weight decay applied twice: apply it once per step",
    "coupled": "this matches AdamW with the decay coupled into the gradient (that is "
               "Adam with L2): AdamW must shrink p directly, p -= lr * weight_decay * p, and "
               "give Adam the raw gradient",
    "decay without lr": "this matches decoupled decay without lr: the shrink is "
                        "lr * weight_decay * p",
    "decay after update": "this matches decay applied after the Adam update: shrink p first, "
                          "using its value before this step",
}


ADAM_BUGS = ("no bias correction", "eps inside sqrt", "uphill", "no decay", "decay twice")
ADAMW_BUGS = ("coupled", "decay without lr", "decay after update") + ADAM_BUGS


def known_wrong(p0, grads, steps, betas=(0.9, 0.999), eps=1e-8, wd=0.0, decoupled=False,
                extra=()):
    """Every known wrong trajectory for these inputs (those equal to the right one are
    dropped later, so a hint is only shown when it can tell the bug apart)."""
    names = (ADAMW_BUGS if decoupled else ADAM_BUGS) + tuple(extra)
    wrong = {n: adam_path(p0, grads, steps, betas, eps, wd, decoupled, n) for n in names}
    if not decoupled and wd:
        wrong["decoupled"] = adam_path(p0, grads, steps, betas, eps, wd, decoupled=True)
    return wrong


NAN_HINT = "count each parameter's steps from t = 1: at t = 0, 1 - beta**t is 0"
check_param = functools.partial(optimizers_kit.check_param, nan_hint=NAN_HINT)
run_and_check = functools.partial(optimizers_kit.run_and_check, hints=HINTS, nan_hint=NAN_HINT)


# ---------------------------------------------------------------- tests

def test_adam_and_adamw_come_from_your_kata():
    for cls, decoupled in ((Adam, False), (AdamW, True)):
        p = Tensor(P0.copy(), requires_grad=True)
        p.grad = G3[0].copy()
        cls([p], lr=0.1, weight_decay=0.1).step()  # runs your code first: the stub fails
        wrong = known_wrong(P0, G3[:1], [0.1], wd=0.1, decoupled=decoupled)
        check_param(p, adam_path(P0, G3[:1], [0.1], wd=0.1, decoupled=decoupled)[0],
                    what=f"{cls.__name__}(lr=0.1, weight_decay=0.1): one step",
                    inputs={"p": P0, "grad": G3[0]},
                    wrong=[(w[0], HINTS[n]) for n, w in wrong.items()])
        checks.assert_from_kata(cls, "07_optimizers")


@given(pg=first_steps(), lr=lrs)
@example(pg=(P0[0], G3[0, 0]), lr=0.1)
def test_adams_first_step_moves_each_coordinate_by_about_lr(pg, lr):
    """At t = 1, m_hat = g and v_hat = g**2: the step is lr * g / (|g| + eps) ~ lr * sign(g)."""
    p0, grad = pg
    p = Tensor(p0.copy(), requires_grad=True)
    opt = Adam([p], lr=lr)
    p.grad = grad.copy()
    opt.step()
    wrong = [(w[0], HINTS[n]) for n in ("no bias correction", "uphill")
             for w in [adam_path(p0, grad[None], [lr], variant=n)]]
    check_param(p, p0 - lr * np.sign(grad),
                what=f"Adam(lr={lr}): the first step must move each coordinate by about lr, "
                     "against the sign of its gradient",
                inputs={"p": p0, "grad": grad}, wrong=wrong, rtol=1e-6, atol=1e-6 * lr)


@given(pg=problems(2, 5), lr=lrs, betas=betas_, eps=epss)
@example(pg=(P0, G3), lr=0.1, betas=(0.9, 0.999), eps=1e-8)
@example(pg=(P0, G3), lr=0.1, betas=(0.8, 0.99), eps=0.1)
def test_adam_matches_the_bias_corrected_recurrence(pg, lr, betas, eps):
    p0, grads = pg
    steps = [lr] * len(grads)
    p = Tensor(p0.copy(), requires_grad=True)
    opt = Adam([p], lr=lr, betas=betas, eps=eps)
    expected = adam_path(p0, grads, steps, betas, eps)
    wrong = known_wrong(p0, grads, steps, betas, eps)
    run_and_check(opt, p, grads, expected, wrong,
                  label=f"Adam(lr={lr}, betas={betas}, eps={eps})",
                  inputs={"p0": p0, "grads (one per step)": grads},
                  hint="m and v are running averages of g and g**2 (from 0), bias-corrected "
                       "with this parameter's step count t")


@given(pg=problems(1, 4), lr=lrs, wd=decays)
@example(pg=(P0, G3), lr=0.1, wd=0.1)
def test_adam_weight_decay_is_l2_added_to_the_gradient(pg, lr, wd):
    p0, grads = pg
    steps = [lr] * len(grads)
    p = Tensor(p0.copy(), requires_grad=True)
    opt = Adam([p], lr=lr, weight_decay=wd)
    expected = adam_path(p0, grads, steps, wd=wd)
    wrong = known_wrong(p0, grads, steps, wd=wd)
    run_and_check(opt, p, grads, expected, wrong,
                  label=f"Adam(lr={lr}, weight_decay={wd})",
                  inputs={"p0": p0, "grads (one per step)": grads},
                  hint="Adam's weight decay: g = grad + weight_decay * p, then the usual step")


@given(pg=problems(1, 4), lr=lrs, betas=betas_, eps=epss, wd=decays)
@example(pg=(P0, G3), lr=0.1, betas=(0.9, 0.999), eps=1e-8, wd=0.1)
def test_adamw_matches_its_decoupled_recurrence(pg, lr, betas, eps, wd):
    p0, grads = pg
    steps = [lr] * len(grads)
    p = Tensor(p0.copy(), requires_grad=True)
    opt = AdamW([p], lr=lr, betas=betas, eps=eps, weight_decay=wd)
    expected = adam_path(p0, grads, steps, betas, eps, wd, decoupled=True)
    wrong = known_wrong(p0, grads, steps, betas, eps, wd, decoupled=True)
    run_and_check(opt, p, grads, expected, wrong,
                  label=f"AdamW(lr={lr}, betas={betas}, eps={eps}, weight_decay={wd})",
                  inputs={"p0": p0, "grads (one per step)": grads},
                  hint="AdamW: p = p - lr * weight_decay * p, then Adam's step on the raw grad")


@given(pg=first_steps(), wd=st.floats(0.1, 0.5))
@example(pg=(P0[0], G3[0, 0]), wd=0.1)
def test_adamw_differs_from_adam_with_l2(pg, wd):
    """Same start, same gradient, same weight_decay: the two decays must not agree."""
    p0, grad = pg
    p0 = np.where(p0 >= 0, 1.0, -1.0) + p0  # |p| >= 1, so a decay of lr*wd*p is visible
    lr = 0.1
    a = Tensor(p0.copy(), requires_grad=True)
    b = Tensor(p0.copy(), requires_grad=True)
    adamw, adam = AdamW([a], lr=lr, weight_decay=wd), Adam([b], lr=lr, weight_decay=wd)
    for opt, t in ((adamw, a), (adam, b)):
        t.grad = grad.copy()
        opt.step()
    if np.max(np.abs(a.data - b.data)) < 1e-3:
        checks.fail(f"AdamW(weight_decay={wd}) must differ from Adam(weight_decay={wd}).",
                    f"both gave {checks.fmt(a.data)}", inputs={"p": p0, "grad": grad},
                    hint=HINTS["coupled"])
    check_param(a, adam_path(p0, grad[None], [lr], wd=wd, decoupled=True)[0],
                what=f"AdamW(lr={lr}, weight_decay={wd}): the parameter after one step",
                inputs={"p": p0, "grad": grad},
                wrong=[(adam_path(p0, grad[None], [lr], wd=wd)[0], HINTS["coupled"])])


@given(pg=problems(3, 4), lr0=lrs, lr1=lrs, decoupled=st.booleans())
@example(pg=(P0, G3), lr0=0.01, lr1=0.3, decoupled=False)
@example(pg=(P0, G3), lr0=0.01, lr1=0.3, decoupled=True)
def test_adam_lr_change_between_steps_takes_effect(pg, lr0, lr1, decoupled):
    """A scheduler sets opt.lr between steps; the next step (and AdamW's decay) must use it."""
    p0, grads = pg
    steps = [lr0] + [lr1] * (len(grads) - 1)
    cls, wd = (AdamW, 0.1) if decoupled else (Adam, 0.0)
    p = Tensor(p0.copy(), requires_grad=True)
    opt = cls([p], lr=lr0, weight_decay=wd)
    expected = adam_path(p0, grads, steps, wd=wd, decoupled=decoupled)
    wrong = known_wrong(p0, grads, steps, wd=wd, decoupled=decoupled, extra=["lr frozen"])
    run_and_check(opt, p, grads, expected, wrong, lrs=steps,
                  label=f"{cls.__name__}(weight_decay={wd}) with opt.lr set to {steps}",
                  inputs={"p0": p0, "grads (one per step)": grads},
                  hint="every step must use the current value of opt.lr")


@given(pg=first_steps())
@example(pg=(P0[0], G3[0, 0]))
def test_adam_and_adamw_defaults(pg):
    """Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0); AdamW's weight_decay=0.01."""
    p0, grad = pg
    p0 = np.where(p0 >= 0, 1.0, -1.0) + p0
    for cls, decoupled, wd in ((Adam, False, 0.0), (AdamW, True, 0.01)):
        p = Tensor(p0.copy(), requires_grad=True)
        opt = cls([p])
        grads = np.stack([grad, -0.5 * grad])
        for i, g in enumerate(grads):
            p.grad = g.copy()
            opt.step()
            expected = adam_path(p0, grads, [0.001] * 2, wd=wd, decoupled=decoupled)[i]
            wrong = known_wrong(p0, grads, [0.001] * 2, wd=wd, decoupled=decoupled)
            check_param(p, expected, wrong=[(w[i], HINTS[n]) for n, w in wrong.items()],
                        what=f"{cls.__name__} with default hyperparameters: the parameter "
                             f"after step {i + 1}",
                        inputs={"p0": p0, "grads (one per step)": grads},
                        hint=f"defaults: lr=0.001, betas=(0.9, 0.999), eps=1e-8, "
                             f"weight_decay={wd}")
