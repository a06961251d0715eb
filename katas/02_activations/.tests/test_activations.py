"""Hidden tests of kata 02: Sigmoid, ReLU, Tanh, GELU, and the contract every activation keeps.

Oracles: NumPy formulas computed here in float64 (differential), ranges and symmetries
(invariants), and stability at |x| up to 1000 with every warning turned into an error.
Softmax has its own module (test_activations_softmax.py).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.activations import GELU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.tensor import Tensor

KATA = "02_activations"
ALL = [Sigmoid, ReLU, Tanh, GELU, Softmax]
POINTWISE = [Sigmoid, ReLU, Tanh, GELU]

# ---------------------------------------------------------------- hints (the mutants' expect texts)
SIGMOID_OVERFLOW = ("exp(-x) overflows for very negative x (exp(89) is already inf in float32, "
                    "exp(710) in float64); arrange the computation so that exp only ever sees "
                    "an argument <= 0, whatever the sign of x")
TANH_OVERFLOW = ("a tanh built from exp(x) and exp(-x) overflows at large |x|; NumPy has a "
                 "stable elementwise tanh")
GENERIC_OVERFLOW = "an intermediate value overflows at large |x|; no step may produce inf"
STATELESS = ("forward changed its input in place (out=..., +=, or item assignment on x.data); "
             "build a new array and leave x untouched")
DTYPE_HINT = ("float32 in must give float32 out: a NumPy float64 constant such as np.sqrt(...), "
              "np.pi or np.float64(...) promotes float32 arrays under NumPy 2, while a Python "
              "float (math.sqrt, math.pi) does not")
CALL_HINT = ("__call__ must go through self.forward, i.e. return self.forward(x): kata 06 "
             "replaces forward on the class to record gradients")


# ---------------------------------------------------------------- helpers
def float_arrays(lo=-10.0, hi=10.0, **kw):
    """float32 or float64 arrays (both dtypes must be kept)."""
    return st.sampled_from([np.float32, np.float64]).flatmap(
        lambda dt: checks.arrays(dtype=dt, lo=lo, hi=hi, **kw))


def run(act, x: np.ndarray, hint: str = GENERIC_OVERFLOW):
    """act.forward(Tensor(x)) with every warning (overflow, invalid value) turned into a failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return act.forward(Tensor(x))
        except Warning as w:
            caught = w  # fail outside the except block: no chained traceback for the learner
    checks.fail(f"{type(act).__name__}.forward must not raise a warning; it raised "
                f"{type(caught).__name__}: {caught}", inputs={"x": x}, hint=hint)


def f64(x):
    return np.asarray(x, dtype=np.float64)


def sigmoid_np(x):
    return 0.5 * (1.0 + np.tanh(f64(x) / 2.0))  # stable, warning-free second formulation


def gelu_np(x):
    z = f64(x)
    return 0.5 * z * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z ** 3)))


def gelu_erf_np(x):
    z = f64(x)
    return 0.5 * z * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))


def softmax_np(x, axis=-1):
    z = f64(x)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


ORACLES = {
    Sigmoid: (sigmoid_np, SIGMOID_OVERFLOW),
    ReLU: (lambda x: np.maximum(f64(x), 0.0), GENERIC_OVERFLOW),
    Tanh: (lambda x: np.tanh(f64(x)), TANH_OVERFLOW),
    GELU: (gelu_np, GENERIC_OVERFLOW),
    Softmax: (softmax_np, "exp of a large logit overflows"),
}

MIXED = np.array([-3.0, -1.5, -0.25, 0.0, 0.5, 2.0, 4.0], dtype=np.float32)
GRID = np.array([[-6.0, -3.0, -2.0, -1.0], [-0.5, 0.5, 1.0, 2.0], [2.7, 3.0, 4.5, 6.0]])
LARGE = np.array([-1000.0, -750.0, -100.0, -89.0, -20.0, 0.0, 20.0, 89.0, 100.0, 750.0, 1000.0])


# ---------------------------------------------------------------- Sigmoid
@given(x=float_arrays(-30.0, 30.0))
@example(x=MIXED)
@example(x=GRID)
def test_sigmoid_matches_numpy_with_range_and_symmetry(x):
    s = run(Sigmoid(), x, SIGMOID_OVERFLOW)
    checks.check_array(s, sigmoid_np(x), "Sigmoid()(x)", inputs={"x": x}, type_=Tensor,
                       dtype=x.dtype, wrong=[
                           (sigmoid_np(-x), "you computed sigmoid(-x): check the sign in the exponent"),
                           (np.tanh(f64(x)), "that is tanh(x), not sigmoid(x)"),
                       ])
    bad = ~((s.data >= 0) & (s.data <= 1))
    if bad.any():
        i = tuple(int(k) for k in np.argwhere(bad)[0])
        checks.fail("sigmoid(x) must lie in [0, 1].", f"at index {i}: {s.data[i]!r}",
                    inputs={"x": x})
    neg = run(Sigmoid(), -x, SIGMOID_OVERFLOW)
    checks.check_array(neg, 1.0 - s.data.astype(np.float64),
                       "sigmoid(-x) must equal 1 - sigmoid(x); sigmoid(-x)",
                       inputs={"x": x}, type_=Tensor, dtype=x.dtype, rtol=1e-5, atol=1e-6)


def test_sigmoid_of_zero_is_one_half():
    got = run(Sigmoid(), np.zeros(3, dtype=np.float32))
    checks.check_array(got, np.full(3, 0.5), "Sigmoid()(zeros(3))", type_=Tensor,
                       dtype=np.float32, rtol=0, atol=0)


# ---------------------------------------------------------------- ReLU
RELU_WRONG = lambda x: [  # noqa: E731
    (np.where(f64(x) > 0, f64(x), 0.01 * f64(x)),
     "negative inputs must become exactly 0, not a small slope (that is leaky ReLU)"),
    (np.abs(f64(x)), "negative inputs must become 0, not |x|"),
    (np.minimum(f64(x), 0.0), "you kept the negative part: ReLU keeps the positive part"),
    ((f64(x) > 0).astype(np.float64),
     "you returned the 0/1 mask (the derivative of ReLU), not the kept values of x"),
    ((f64(x) >= 0).astype(np.float64),
     "you returned the 0/1 mask (the derivative of ReLU), not the kept values of x"),
]


@given(x=float_arrays())
@example(x=MIXED)
def test_relu_matches_numpy(x):
    got = run(ReLU(), x)
    checks.check_array(got, np.maximum(f64(x), 0.0), "ReLU()(x)", inputs={"x": x},
                       type_=Tensor, dtype=x.dtype, rtol=0, atol=0, wrong=RELU_WRONG(x))
    if np.any(got.data < 0):
        checks.fail("relu(x) must be >= 0 everywhere.", f"got {checks.fmt(got)}", inputs={"x": x})


def test_relu_at_zero_is_zero():
    x = np.array([-2.0, -0.0, 0.0, 3.0], dtype=np.float32)
    got = run(ReLU(), x)
    checks.check_array(got, np.array([0.0, 0.0, 0.0, 3.0]), "ReLU()(x) (relu(0) must be 0)",
                       inputs={"x": x}, type_=Tensor, dtype=np.float32, rtol=0, atol=0,
                       wrong=RELU_WRONG(x))


# ---------------------------------------------------------------- Tanh
def tanh_wrong(x):
    return [
        (np.tanh(f64(x) / 2.0), "this is tanh(x/2) (the same as 2 sigmoid(x) - 1): "
                                "check the factor 2 in your exponents"),
        (np.tanh(2.0 * f64(x)), "this is tanh(2x): check the factor 2 in your exponents"),
        (sigmoid_np(x), "that is sigmoid(x), not tanh(x)"),
        (-np.tanh(f64(x)), "the sign is flipped: tanh(x) has the sign of x"),
    ]


@given(x=float_arrays(-20.0, 20.0))
@example(x=MIXED)
@example(x=GRID)
def test_tanh_matches_numpy_with_range_and_oddness(x):
    t = run(Tanh(), x, TANH_OVERFLOW)
    checks.check_array(t, np.tanh(f64(x)), "Tanh()(x)", inputs={"x": x}, type_=Tensor,
                       dtype=x.dtype, wrong=tanh_wrong(x))
    bad = ~((t.data >= -1) & (t.data <= 1))
    if bad.any():
        i = tuple(int(k) for k in np.argwhere(bad)[0])
        checks.fail("tanh(x) must lie in [-1, 1].", f"at index {i}: {t.data[i]!r}", inputs={"x": x})
    neg = run(Tanh(), -x, TANH_OVERFLOW)
    checks.check_array(neg, -t.data, "tanh is odd: tanh(-x) must equal -tanh(x); tanh(-x)",
                       inputs={"x": x}, type_=Tensor, dtype=x.dtype)


# ---------------------------------------------------------------- GELU
def gelu_wrong(x):
    return [
        (gelu_erf_np(x), "this is the exact (erf) GELU; this kata asks for the tanh "
                         "approximation given in the README"),
        (2.0 * gelu_np(x), "twice the expected value: the factor 0.5 is missing"),
        (f64(x) * sigmoid_np(1.702 * f64(x)), "this is the sigmoid approximation x*sigmoid(1.702x); "
                                              "use the tanh approximation from the README"),
    ]


@given(x=float_arrays(-6.0, 6.0))
@example(x=GRID)
@example(x=MIXED)
def test_gelu_matches_formula(x):
    got = run(GELU(), x)
    checks.check_array(got, gelu_np(x), "GELU()(x)", inputs={"x": x}, type_=Tensor,
                       dtype=x.dtype, wrong=gelu_wrong(x))


def test_gelu_of_zero_is_zero():
    x = np.zeros((2, 2), dtype=np.float32)
    got = run(GELU(), x)
    checks.check_array(got, np.zeros((2, 2)), "GELU()(zeros) (gelu(0) must be 0)", inputs={"x": x},
                       type_=Tensor, dtype=np.float32, rtol=0, atol=0)


@given(x=float_arrays(10.0, 1000.0))
@example(x=np.array([10.0, 100.0, 1000.0], dtype=np.float32))
def test_gelu_is_identity_for_large_x_and_zero_for_very_negative_x(x):
    got = run(GELU(), x)
    checks.check_array(got, x, "for large positive x, GELU(x) must approach x; GELU(x)",
                       inputs={"x": x}, type_=Tensor, dtype=x.dtype, rtol=1e-6, atol=1e-6,
                       wrong=[(2.0 * f64(x), "twice the expected value: the factor 0.5 is missing")])
    got = run(GELU(), -x)
    checks.check_array(got, np.zeros_like(x), "for very negative x, GELU(x) must approach 0; GELU(x)",
                       inputs={"x": -x}, type_=Tensor, dtype=x.dtype, rtol=0, atol=1e-6)


# ---------------------------------------------------------------- stability at |x| up to 1000
@pytest.mark.parametrize("cls", POINTWISE, ids=lambda c: c.__name__)
@given(x=float_arrays(-1000.0, 1000.0))
@example(x=LARGE.astype(np.float32))
@example(x=LARGE)
def test_pointwise_stable_at_large_inputs(cls, x):
    oracle, hint = ORACLES[cls]
    got = run(cls(), x, hint)
    checks.check_array(got, oracle(x), f"{cls.__name__}()(x) at large |x|", inputs={"x": x},
                       type_=Tensor, dtype=x.dtype)


# ---------------------------------------------------------------- contract (all five)
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@settings(max_examples=30)
@given(x=float_arrays())
@example(x=MIXED)
@example(x=GRID.astype(np.float32))
def test_shape_and_dtype_preserved(cls, x):
    got = run(cls(), x)
    if not isinstance(got, Tensor):
        checks.fail(f"{cls.__name__}.forward must return a Tensor.",
                    f"got {type(got).__name__}: {checks.fmt(got)}", inputs={"x": x})
    if got.shape != x.shape:
        checks.fail(f"{cls.__name__}.forward must keep the shape of its input.",
                    f"got shape {got.shape}, expected {x.shape}", inputs={"x": x})
    if got.dtype != x.dtype:
        checks.fail(f"{cls.__name__}.forward must keep the dtype of its input.",
                    f"got {got.dtype}, expected {x.dtype}", inputs={"x": x}, hint=DTYPE_HINT)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
@settings(max_examples=30)
@given(x=float_arrays())
@example(x=MIXED)
@example(x=GRID)
def test_input_not_mutated(cls, x):
    t = Tensor(x)
    before = t.data.copy()
    got = cls().forward(t)
    oracle, _ = ORACLES[cls]
    checks.check_array(got, oracle(x), f"{cls.__name__}()(x)", inputs={"x": x}, type_=Tensor,
                       dtype=x.dtype)
    if not np.array_equal(t.data, before):
        checks.fail(f"{cls.__name__}.forward must not change its input.",
                    f"x.data after the call: {checks.fmt(t.data)}", inputs={"x (before)": before},
                    hint=STATELESS)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_call_equals_forward_and_goes_through_it(cls, monkeypatch):
    x = GRID.astype(np.float32)
    act = cls()
    got = act(Tensor(x))
    checks.check_array(got, act.forward(Tensor(x)).data, f"{cls.__name__}()(x) (via __call__)",
                       inputs={"x": x}, type_=Tensor, dtype=np.float32, rtol=0, atol=0,
                       hint=CALL_HINT)
    checks.check_array(got, ORACLES[cls][0](x), f"{cls.__name__}()(x) (via __call__)",
                       inputs={"x": x}, type_=Tensor, dtype=np.float32)
    marker = Tensor(np.array([42.0], dtype=np.float32))
    monkeypatch.setattr(cls, "forward", lambda self, *args: marker)
    if act(Tensor(x)) is not marker:
        checks.fail(f"{cls.__name__}.__call__ did not use the (replaced) {cls.__name__}.forward.",
                    "after replacing forward on the class, calling the activation still "
                    "ran the old code", hint=CALL_HINT)


def test_code_comes_from_the_kata():
    x = np.array([[0.5, -1.0, 2.0]], dtype=np.float32)
    for cls in ALL:
        got = cls().forward(Tensor(x))
        checks.check_array(got, ORACLES[cls][0](x), f"{cls.__name__}()(x)", inputs={"x": x},
                           type_=Tensor, dtype=np.float32)
        checks.assert_from_kata(cls, KATA)
