"""Hidden tests of kata 02: the contract every activation keeps.

forward returns a NEW Tensor of x's shape and dtype and leaves x alone; __call__ goes
through self.forward and passes every extra argument on unchanged (kata 06 replaces
forward); parameters() is a new empty list; the code is the learner's.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given

from pytest_tinytorch import checks
from tinytorch.core.activations import GELU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.tensor import Tensor

from activations_kit import (F32, check_values, f64, float_arrays, gelu_np, run, sigmoid_np,
                             softmax_np, softmax_tolerance)

KATA = "02_activations"
ALL = [Sigmoid, ReLU, Tanh, GELU, Softmax]
ORACLES = {
    Sigmoid: sigmoid_np,
    ReLU: lambda x: np.maximum(f64(x), 0.0),
    Tanh: lambda x: np.tanh(f64(x)),
    GELU: gelu_np,
    Softmax: softmax_np,
}

STATELESS = ("forward changed its input in place (out=..., +=, or item assignment on x.data); "
             "build a new array and leave x untouched")
NEW_TENSOR = ("return Tensor(result) even when no value changes: kata 06 records each "
              "activation on its own output, and an output that is its input breaks the graph")
CALL_HINT = ("__call__ must go through self.forward, i.e. return self.forward(x, *args, "
             "**kwargs): kata 06 replaces forward on the class to record gradients")
PASS_ON = ("__call__(x, *args, **kwargs) must call self.forward(x, *args, **kwargs): every "
           "extra argument passed on as given, and none added (kata 06's replacement forward "
           "may accept only x)")

MIXED = np.array([-3.0, -1.5, -0.25, 0.0, 0.5, 2.0, 4.0], dtype=F32)
GRID = np.array([[-6.0, -3.0, -2.0, -1.0], [-0.5, 0.5, 1.0, 2.0], [2.7, 3.0, 4.5, 6.0]])
POSITIVE = np.array([[0.5, 1.0, 2.0], [3.0, 0.25, 4.0]], dtype=F32)


def _tolerance(cls, x):
    if cls is Softmax:
        t = softmax_tolerance(x)
        return t, t
    return None, None


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@given(x=float_arrays())
@example(x=MIXED)
@example(x=GRID)
@example(x=POSITIVE)
@example(x=GRID.astype(F32))
def test_forward_returns_a_new_tensor_and_leaves_x_alone(cls, x):
    name = cls.__name__
    t = Tensor(x)
    before = t.data.copy()
    got = cls().forward(t)
    if not isinstance(got, Tensor):
        checks.fail(f"{name}.forward must return a Tensor.",
                    f"got {type(got).__name__}: {checks.fmt(got)}", inputs={"x": x})
    if got is t:
        checks.fail(f"{name}.forward must return a NEW Tensor, not its input x.", inputs={"x": x},
                    hint=NEW_TENSOR)
    rtol, atol = _tolerance(cls, x)
    check_values(got, ORACLES[cls](x), f"{name}()(x)", x=x, rtol=rtol, atol=atol)
    if not np.array_equal(t.data, before):
        checks.fail(f"{name}.forward must not change its input.",
                    f"x.data after the call: {checks.fmt(t.data)}", inputs={"x (before)": before},
                    hint=STATELESS)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_call_goes_through_forward_and_passes_arguments_on(cls, monkeypatch):
    name = cls.__name__
    x = GRID.astype(F32)
    act = cls()
    got = act(Tensor(x))
    checks.check_array(got, act.forward(Tensor(x)).data, f"{name}()(x) (via __call__)",
                       inputs={"x": x}, type_=Tensor, dtype=F32, rtol=0, atol=0, hint=CALL_HINT)
    calls = []
    marker = Tensor(np.array([42.0], dtype=F32))

    def replaced(self, *args, **kwargs):
        calls.append((self, args, kwargs))
        return marker

    monkeypatch.setattr(cls, "forward", replaced)
    xt = Tensor(x)
    out = act(xt)
    if out is not marker or not calls:
        checks.fail(f"{name}.__call__ did not use the (replaced) {name}.forward.",
                    "after replacing forward on the class, calling the activation still "
                    "ran the old code", hint=CALL_HINT)
    _, args, kwargs = calls[-1]
    if len(args) != 1 or args[0] is not xt or kwargs:
        checks.fail(f"{name}()(x) must call forward(x): x itself, no argument added.",
                    f"forward received args {_show(args, xt)} and keyword arguments {kwargs!r}",
                    hint=PASS_ON)
    calls.clear()
    try:
        out = act(xt, 7, flag="on")
    except TypeError as err:
        failed = err  # fail outside the except block: no chained traceback for the learner
    else:
        failed = None
    if failed is not None:
        checks.fail(f"{name}()(x, 7, flag='on') must call forward(x, 7, flag='on').",
                    f"__call__ raised TypeError: {failed}", hint=PASS_ON)
    seen = calls[-1][1:] if calls else None
    if out is not marker or seen is None or len(seen[0]) != 2 or seen[0][0] is not xt \
            or seen[0][1] != 7 or seen[1] != {"flag": "on"}:
        got_text = ("forward was not called" if seen is None else
                    f"forward received args {_show(seen[0], xt)} and keyword arguments {seen[1]!r}")
        checks.fail(f"{name}()(x, 7, flag='on') must call forward(x, 7, flag='on').", got_text,
                    hint=PASS_ON)


def _show(args, xt):
    return "(" + ", ".join("x" if a is xt else repr(a) for a in args) + (",)" if len(args) == 1 else ")")


def test_parameters_is_a_new_empty_list():
    for cls in ALL:
        name = cls.__name__
        act = cls()
        first = act.parameters()
        if type(first) is not list or first:
            checks.fail(f"{name}().parameters() must be an empty list.",
                        f"got {first!r} ({type(first).__name__})",
                        hint="an activation has no parameters: return [] (a list, so that a model "
                             "can concatenate everyone's parameters)")
        again, other = act.parameters(), cls().parameters()
        if again is first or other is first:
            checks.fail(f"{name}.parameters() must return a NEW list on every call.",
                        "two calls returned the same list object",
                        hint="a shared list (a class attribute or a module-level []) grows for "
                             "everyone as soon as one caller appends to it: return a fresh []")


def test_code_comes_from_the_kata():
    x = np.array([[0.5, -1.0, 2.0]], dtype=F32)
    for cls in ALL:
        got = run(cls(), x)
        check_values(got, ORACLES[cls](x), f"{cls.__name__}()(x)", x=x)
        checks.assert_from_kata(cls, KATA)
