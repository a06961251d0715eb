"""Hidden tests for kata 07: what every optimizer shares.

The parameter list, zero_grad, in-place updates that keep the dtype, skipping parameters
without a gradient (their state untouched), and one end-to-end run with autograd.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings

from pytest_tinytorch import checks
from tinytorch.core.optimizers import SGD, Adam, AdamW, Optimizer
from tinytorch.core.tensor import Tensor

from optimizers_kit import G3, P0, problems, raised

# Every optimizer with every feature on (momentum, weight decay), so each state is exercised.
MAKERS = {
    "SGD": lambda params: SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1),
    "Adam": lambda params: Adam(params, lr=0.1, weight_decay=0.1),
    "AdamW": lambda params: AdamW(params, lr=0.1, weight_decay=0.1),
}
each_optimizer = pytest.mark.parametrize("name", list(MAKERS))


def test_optimizer_comes_from_your_kata():
    p = Tensor(P0.copy(), requires_grad=True)
    p.grad = G3[0].copy()
    Optimizer([p]).zero_grad()  # runs your code first: the empty stub does not pass
    if p.grad is not None:
        checks.fail("Optimizer([p]).zero_grad() must set p.grad to None.",
                    f"got {checks.fmt(p.grad)}")
    checks.assert_from_kata(Optimizer, "07_optimizers")


@each_optimizer
def test_params_is_a_list_of_the_given_tensors(name):
    a = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    b = Tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    made = []
    exc = raised(lambda: made.append(MAKERS[name](iter([a, b]))))  # e.g. a generator
    if exc is not None:
        checks.fail(f"{name}(params) must accept any iterable of Tensors (here a generator).",
                    f"it raised {type(exc).__name__}: {exc}",
                    hint="store list(params) in self.params: a generator has no len() and "
                         "is used up after one pass")
    params = getattr(made[0], "params", None)
    if not isinstance(params, list):
        checks.fail(f"{name}(params).params must be a list.", f"got {type(params).__name__}",
                    hint="store list(params): a generator would be used up after one pass")
    if len(params) != 2 or params[0] is not a or params[1] is not b:
        checks.fail(f"{name}(params).params must hold the given Tensors themselves, in order.",
                    f"got {len(params)} item(s): {[type(q).__name__ for q in params]}",
                    hint="keep the very Tensor objects the model owns (no copies), so that "
                         "updating them updates the model")


@each_optimizer
@settings(max_examples=5)  # structural, run once per optimizer
@given(pg=problems(1, 1))
@example(pg=(P0, G3[:1]))
def test_zero_grad_sets_every_grad_to_none(name, pg):
    p0, grads = pg
    ps = [Tensor(p0.copy(), requires_grad=True), Tensor(2 * p0, requires_grad=True)]
    opt = MAKERS[name](ps)
    for q in ps:
        q.grad = grads[0].copy()
    opt.zero_grad()
    for i, q in enumerate(ps):
        if q.grad is not None:
            checks.fail(f"{name}.zero_grad() must set every parameter's .grad to None.",
                        f"parameter {i}: .grad = {checks.fmt(q.grad)}",
                        hint="None (not zeros) means 'no gradient': the next backward starts "
                             "fresh and step() skips parameters that got none")
    check_close_arrays(ps[0], p0, f"{name}.zero_grad() must not change the parameters")


def check_close_arrays(p, expected, what):
    checks.check_array(p, expected, what=what, type_=Tensor, dtype=expected.dtype,
                       rtol=1e-12, atol=0.0)


@each_optimizer
@given(pg=problems(1, 3, lo=1.0, hi=5.0))
@example(pg=(P0, np.abs(G3) + 1.0))
def test_step_updates_parameters_in_place(name, pg):
    """The model holds these Tensors and their arrays: the step must write into them."""
    p0, grads = pg
    p = Tensor(p0.copy(), requires_grad=True)
    opt = MAKERS[name]([p])
    array = p.data
    for i, g in enumerate(grads):
        before = p.data.copy()
        p.grad = g.copy()
        opt.step()
        if len(opt.params) != 1 or opt.params[0] is not p:
            checks.fail(f"{name}.step() must keep the very Tensors it was given in self.params.",
                        f"after step {i + 1}, opt.params[0] is no longer the parameter Tensor",
                        inputs={"p0": p0, "grads (one per step)": grads},
                        hint="the model holds these Tensors: update p.data in place instead of "
                             "putting new Tensors into self.params")
        if p.data is not array:
            checks.fail(f"{name}.step() must update p.data in place.",
                        f"after step {i + 1}, p.data is a new array object",
                        inputs={"p0": p0, "grads (one per step)": grads},
                        hint="write into the existing array (p.data -= ..., or "
                             "p.data[...] = ...) instead of assigning a new one to p.data")
        if np.array_equal(p.data, before):
            checks.fail(f"{name}.step() did not change a parameter whose gradient is nonzero.",
                        f"step {i + 1}: p.data is still {checks.fmt(before)}",
                        inputs={"p0": p0, "grads (one per step)": grads})


@each_optimizer
@given(pg=problems(1, 3, dtype=np.float32))
@example(pg=(P0.astype(np.float32), G3.astype(np.float32)))
def test_step_keeps_float32_parameters_float32(name, pg):
    p0, grads = pg
    p = Tensor(p0.copy(), requires_grad=True)
    opt = MAKERS[name]([p])
    for i, g in enumerate(grads):
        p.grad = g.copy()
        opt.step()
        got = getattr(p.data, "dtype", None)
        if got != np.float32:
            checks.fail(f"{name}.step() must keep a float32 parameter float32.",
                        f"after step {i + 1}, p.data has dtype {got}",
                        inputs={"p0": p0, "grads (one per step)": grads},
                        hint="state made with np.zeros(shape) is float64, and so is a "
                             "np.float64 scalar: use np.zeros_like(p.data), or update in place")
        if not np.all(np.isfinite(p.data)):
            checks.fail(f"{name}.step() produced NaN or inf.", f"after step {i + 1}: "
                        f"{checks.fmt(p.data)}", inputs={"p0": p0, "grads (one per step)": grads},
                        hint="count steps from t = 1 (1 - beta**0 is 0)")


@each_optimizer
@given(pg=problems(3, 3))
@example(pg=(P0, G3))
def test_parameters_without_grad_are_skipped_and_keep_their_state(name, pg):
    """p1 gets a gradient at steps 1, 2, 3; p2 at steps 1 and 3 only; p3 never.

    p2 must not move at step 2, and after step 3 it must equal what a fresh optimizer gives
    after two steps with p2's two gradients: as if step 2 never happened for p2 (its
    momentum, Adam moments and own step count t untouched).
    """
    p0, grads = pg
    p1, p2, p3 = (Tensor(p0.copy(), requires_grad=True) for _ in range(3))
    twin = Tensor(p0.copy(), requires_grad=True)
    opt, twin_opt = MAKERS[name]([p1, p2, p3]), MAKERS[name]([twin])
    inputs = {"p0": p0, "grads (one per step)": grads}
    for i, g in enumerate(grads):
        p1.grad = (g * 0.5).copy()
        p2.grad = g.copy() if i != 1 else None
        p3.grad = None
        before = p2.data.copy()
        opt.step()
        if i != 1:
            twin.grad = g.copy()
            twin_opt.step()
        if i == 1:
            checks.check_array(p2, before, what=f"{name}: a parameter whose grad is None must "
                               f"not move (step {i + 1})", inputs=inputs, type_=Tensor,
                               rtol=0.0, atol=0.0,
                               hint="skip it entirely: treating None as a zero gradient still "
                                    "moves it through momentum, Adam's moments or weight decay")
        checks.check_array(p3, p0, what=f"{name}: a parameter that never gets a gradient must "
                           f"never move (step {i + 1})", inputs=inputs, type_=Tensor,
                           rtol=0.0, atol=0.0,
                           hint="skip parameters whose .grad is None entirely: treating None "
                                "as a zero gradient still moves them through weight decay")
    checks.check_array(p2, twin.data.copy(),
                       what=f"{name}: after a skipped step, a parameter must continue as if that "
                            "step never happened for it", inputs=inputs, type_=Tensor,
                       rtol=1e-9, atol=1e-12,
                       hint="keep state per parameter and leave it untouched when skipping; "
                            "Adam's bias correction uses this parameter's own step count t, "
                            "not the number of step() calls")


@pytest.mark.parametrize("name", ["SGD", "SGD+momentum", "Adam"])
def test_training_with_backward_reduces_a_quadratic_loss(name):
    """End to end with autograd: zero_grad, loss.backward(), step, a few times."""
    rng = np.random.default_rng(7)
    target = rng.uniform(-2, 2, size=(3, 4)).astype(np.float32)
    w0 = rng.uniform(-2, 2, size=(3, 4)).astype(np.float32)
    lr = 0.1
    with checks.autograd_session():
        w = Tensor(w0.copy(), requires_grad=True)
        opt = {"SGD": lambda: SGD([w], lr=lr),
               "SGD+momentum": lambda: SGD([w], lr=lr / 2, momentum=0.5),
               "Adam": lambda: Adam([w], lr=lr)}[name]()
        losses = []
        for _ in range(20):
            opt.zero_grad()
            loss = ((w - Tensor(target)) ** 2).sum()
            loss.backward()
            opt.step()
            losses.append(float(np.asarray(loss.data)))
    if not losses[-1] < 0.1 * losses[0]:
        checks.fail(f"20 {name} steps on loss = sum((w - target)**2) must cut the loss by 10x.",
                    f"losses: {[round(x, 4) for x in losses]}", inputs={"w0": w0, "target": target},
                    hint="each step: zero_grad(), loss.backward(), step(); the step must read "
                         "p.grad and move p.data against it")
    if name == "SGD":
        # Plain SGD on this loss has a closed form: w - target shrinks by (1 - 2 lr) per step.
        expected = target + (1 - 2 * lr) ** 20 * (w0 - target)
        checks.check_array(w, expected.astype(np.float32),
                           what="SGD(lr=0.1) after 20 steps on sum((w - target)**2)",
                           inputs={"w0": w0, "target": target}, type_=Tensor, dtype=np.float32,
                           rtol=1e-4, atol=1e-5,
                           hint="with zero_grad() before each backward, each step uses only "
                                "this step's gradient 2 * (w - target)")


@each_optimizer
@settings(max_examples=5)  # structural, run once per optimizer
@given(pg=problems(1, 3))
@example(pg=(P0, G3))
def test_a_tensor_grad_gives_the_same_steps_as_an_array(name, pg):
    """TinyTorch's autograd stores Tensors in .grad: step() must read them like arrays."""
    p0, grads = pg
    a = Tensor(p0.copy(), requires_grad=True)
    b = Tensor(p0.copy(), requires_grad=True)
    with_arrays, with_tensors = MAKERS[name]([a]), MAKERS[name]([b])
    inputs = {"p0": p0, "grads (one per step)": grads}
    for i, g in enumerate(grads):
        a.grad = g.copy()
        b.grad = Tensor(g.copy())
        with_arrays.step()
        exc = raised(with_tensors.step)
        if exc is not None:
            checks.fail(f"{name}.step() must accept a .grad held as a Tensor.",
                        f"step {i + 1} raised {type(exc).__name__}: {exc}", inputs=inputs,
                        hint="a Tensor gradient keeps its numbers in .data: unwrap it "
                             "(g = p.grad.data if isinstance(p.grad, Tensor) else p.grad)")
        if type(b.data) is not np.ndarray:
            checks.fail(f"{name}.step() with .grad = Tensor(g): p.data must stay an np.ndarray.",
                        f"after step {i + 1}, p.data is a {type(b.data).__name__}",
                        inputs=inputs, hint="unwrap a Tensor gradient through its .data before "
                                            "computing with it")
        checks.check_array(b.data, a.data.copy(),
                           what=f"{name}: the parameter after step {i + 1} with .grad = "
                                "Tensor(g) (it must equal the step with .grad = g)",
                           inputs=inputs, dtype=p0.dtype, rtol=0.0, atol=0.0,
                           hint="read a Tensor gradient through its .data, exactly like an "
                                "array gradient")
