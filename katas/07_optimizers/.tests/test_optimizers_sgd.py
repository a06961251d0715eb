"""Hidden tests for kata 07: SGD, checked step by step against its update equations.

Gradients are set directly on `p.grad` (no autograd needed); the expected trajectory is a
NumPy recurrence computed here, and known wrong recurrences give pointed hints.
"""
from __future__ import annotations

import functools

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor

import optimizers_kit
from optimizers_kit import G3, P0, check_param, decays, problems


# ---------------------------------------------------------------- strategies and oracles

lrs = st.floats(0.001, 1.0)
momenta = st.floats(0.1, 0.99)


def sgd_path(p0, grads, lrs, momentum=0.0, wd=0.0, variant="pytorch"):
    """The parameter after each step, for PyTorch's SGD or a known wrong variant."""
    p, v, out = p0.copy(), np.zeros_like(p0), []
    for i, grad in enumerate(grads):
        lr = lrs[i] if variant != "lr frozen" else lrs[0]
        decay = {"no decay": 0.0, "decay twice": 2 * wd, "decay sign": -wd}.get(variant, wd)
        g = grad + (0.0 if variant == "decay after momentum" else decay) * p
        if variant == "no momentum":
            v = g
        elif variant == "dampened":
            v = momentum * v + (1 - momentum) * g
        elif variant == "lr in velocity":
            v = momentum * v + lr * g
        else:
            v = momentum * v + g
        if variant == "uphill":
            p = p + lr * v
        elif variant == "no lr":
            p = p - v
        elif variant == "lr in velocity":
            p = p - v
        elif variant == "decay after momentum":
            p = p - lr * (v + wd * p)
        else:
            p = p - lr * v
        out.append(p.copy())
    return out


HINTS = {
    "uphill": "the parameter moved uphill (along +grad): the velocity or the update has the "
              "wrong sign; SGD subtracts lr * v",
    "no lr": "this matches an update that ignores lr: the step must be scaled by self.lr",
    "no momentum": "this matches plain SGD: the momentum term is missing (v = momentum * v + g, "
                   "remembered per parameter between steps)",
    "dampened": "this matches an averaged velocity v = m*v + (1-m)*g (dampening): PyTorch's SGD "
                "adds the full gradient, v = momentum * v + g",
    "decay twice": "this matches weight decay applied twice: add weight_decay * p to the "
                   "gradient once",
    "decay sign": "this matches weight decay with the wrong sign: the L2 term pulls weights "
                  "towards 0, g = grad + weight_decay * p",
    "no decay": "this matches an update that ignores weight_decay",
    "decay after momentum": "this matches weight decay added after momentum: add it to the "
                            "gradient before the velocity update",
    "lr in velocity": "this matches lr folded into the velocity (v = m*v + lr*g): the same "
                      "while lr is constant, wrong once a scheduler changes lr; keep lr out of v",
    "lr frozen": "a change of opt.lr between steps was ignored: read self.lr at every step",
}


def wrong_paths(p0, grads, lrs, momentum, wd, variants):
    return {name: sgd_path(p0, grads, lrs, momentum, wd, name) for name in variants}


run_and_check = functools.partial(optimizers_kit.run_and_check, hints=HINTS)


# ---------------------------------------------------------------- tests

def test_sgd_comes_from_your_kata():
    p = Tensor(P0.copy(), requires_grad=True)
    p.grad = G3[0].copy()
    SGD([p], lr=0.5).step()  # runs your code first: the empty stub does not pass
    wrong = wrong_paths(P0, G3[:1], [0.5], 0.0, 0.0, HINTS)
    check_param(p, P0 - 0.5 * G3[0], what="SGD(lr=0.5): one step",
                inputs={"p": P0, "grad": G3[0]},
                wrong=[(w[0], HINTS[n]) for n, w in wrong.items()])
    checks.assert_from_kata(SGD, "07_optimizers")


@given(pg=problems(1, 1, dtype=np.float32), lr=lrs)
@example(pg=(P0[0].astype(np.float32), G3[:1, 0].astype(np.float32)), lr=0.5)
def test_one_sgd_step_is_p_minus_lr_times_grad(pg, lr):
    p0, grads = pg
    p = Tensor(p0.copy(), requires_grad=True)
    opt = SGD([p], lr=lr)
    p.grad = grads[0].copy()
    opt.step()
    expected = p0 - lr * grads[0]  # float32, as NumPy computes it
    wrong = [(p0 + lr * grads[0], HINTS["uphill"]), (p0 - grads[0], HINTS["no lr"])]
    check_param(p, expected, what=f"SGD(lr={lr}): one step must give p - lr * grad",
                inputs={"p": p0, "grad": grads[0]}, wrong=wrong, dtype=np.float32,
                rtol=1e-5, atol=1e-5)


@given(pg=problems(2, 5), lr=lrs, momentum=momenta)
@example(pg=(P0, G3), lr=0.1, momentum=0.9)
def test_sgd_momentum_matches_the_recurrence(pg, lr, momentum):
    p0, grads = pg
    steps = [lr] * len(grads)
    p = Tensor(p0.copy(), requires_grad=True)
    opt = SGD([p], lr=lr, momentum=momentum)
    expected = sgd_path(p0, grads, steps, momentum)
    wrong = wrong_paths(p0, grads, steps, momentum, 0.0, HINTS)
    run_and_check(opt, p, grads, expected, wrong,
                  label=f"SGD(lr={lr}, momentum={momentum})",
                  inputs={"p0": p0, "grads (one per step)": grads},
                  hint="v = momentum * v + g with v starting at 0, then p = p - lr * v")


@given(pg=problems(1, 4), lr=lrs)
@example(pg=(P0, G3), lr=0.25)
def test_sgd_with_momentum_zero_is_plain_sgd(pg, lr):
    p0, grads = pg
    steps = [lr] * len(grads)
    p = Tensor(p0.copy(), requires_grad=True)
    opt = SGD([p], lr=lr, momentum=0.0)
    expected = sgd_path(p0, grads, steps)
    wrong = wrong_paths(p0, grads, steps, 0.0, 0.0, HINTS)
    run_and_check(opt, p, grads, expected, wrong,
                  label=f"SGD(lr={lr}, momentum=0.0): every step must be p - lr * grad",
                  inputs={"p0": p0, "grads (one per step)": grads})


@given(pg=problems(1, 4), lr=lrs, momentum=st.sampled_from([0.0, 0.5, 0.9]), wd=decays)
@example(pg=(P0, G3), lr=0.1, momentum=0.0, wd=0.1)
@example(pg=(P0, G3), lr=0.1, momentum=0.9, wd=0.1)
def test_sgd_weight_decay_matches_the_recurrence(pg, lr, momentum, wd):
    p0, grads = pg
    steps = [lr] * len(grads)
    p = Tensor(p0.copy(), requires_grad=True)
    opt = SGD([p], lr=lr, momentum=momentum, weight_decay=wd)
    expected = sgd_path(p0, grads, steps, momentum, wd)
    wrong = wrong_paths(p0, grads, steps, momentum, wd, HINTS)
    run_and_check(opt, p, grads, expected, wrong,
                  label=f"SGD(lr={lr}, momentum={momentum}, weight_decay={wd})",
                  inputs={"p0": p0, "grads (one per step)": grads},
                  hint="g = grad + weight_decay * p (p before this step), then momentum, "
                       "then p = p - lr * v")


@given(pg=problems(1, 4), lr=lrs, momentum=st.sampled_from([0.0, 0.9]), wd=decays)
@example(pg=(P0, G3), lr=0.1, momentum=0.9, wd=0.2)
def test_sgd_weight_decay_equals_adding_wd_times_p_to_the_grad(pg, lr, momentum, wd):
    """Metamorphic: decay on, or decay off with wd * p added to the gradient by hand."""
    p0, grads = pg
    a = Tensor(p0.copy(), requires_grad=True)
    b = Tensor(p0.copy(), requires_grad=True)
    with_decay = SGD([a], lr=lr, momentum=momentum, weight_decay=wd)
    by_hand = SGD([b], lr=lr, momentum=momentum)
    for i, g in enumerate(grads):
        a.grad = g.copy()
        b.grad = g + wd * b.data
        with_decay.step()
        by_hand.step()
        check_param(a, b.data.copy(),
                    what=f"SGD(weight_decay={wd}) after step {i + 1} must equal SGD without "
                         f"decay given grad + {wd} * p",
                    inputs={"p0": p0, "grads (one per step)": grads},
                    hint="weight decay is exactly an extra wd * p in the gradient, added once, "
                         "before momentum")


@given(pg=problems(3, 4), lr0=lrs, lr1=lrs, momentum=st.sampled_from([0.0, 0.9]))
@example(pg=(P0, G3), lr0=0.1, lr1=0.5, momentum=0.9)
@example(pg=(P0, G3), lr0=0.1, lr1=0.5, momentum=0.0)
def test_sgd_lr_change_between_steps_takes_effect(pg, lr0, lr1, momentum):
    """A scheduler sets opt.lr between steps; the next step must use it."""
    p0, grads = pg
    steps = [lr0] + [lr1] * (len(grads) - 1)
    p = Tensor(p0.copy(), requires_grad=True)
    opt = SGD([p], lr=lr0, momentum=momentum)
    expected = sgd_path(p0, grads, steps, momentum)
    wrong = wrong_paths(p0, grads, steps, momentum, 0.0, HINTS)
    run_and_check(opt, p, grads, expected, wrong, lrs=steps,
                  label=f"SGD(momentum={momentum}) with opt.lr set to {steps} at steps 1..",
                  inputs={"p0": p0, "grads (one per step)": grads},
                  hint="every step must use the current value of opt.lr")
