"""Shared by the kata 02 tests: strategies, float64 oracles, a warning-free runner, and
value checks whose hints tell rounding from logic."""
from __future__ import annotations

import math
import warnings

import numpy as np
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

F32, F64 = np.float32, np.float64

GENERIC_OVERFLOW = "an intermediate value overflows at large |x|; no step may produce inf"
DTYPE_LEAK = ("float32 in must give float32 out: a NumPy float64 value joined the computation "
              "(np.sqrt(...), np.pi, np.float64(...) or an astype(np.float64)); under NumPy 2 a "
              "Python float (math.sqrt, math.pi) keeps float32")
DTYPE_LOST = ("float64 in must give float64 out: no astype(np.float32) or dtype=np.float32 on "
              "the data; compute in the input's own dtype")
F32_PRECISION = ("float64 in, but every value of your result is a float32 number: the float64 "
                 "input was computed in float32 (an astype(np.float32) or a float32 array along "
                 "the way) and cast back, which keeps the dtype but loses 9 of its 16 digits")


def float_arrays(lo=-10.0, hi=10.0, **kw):
    """float32 or float64 arrays (both dtypes must be kept)."""
    return st.sampled_from([F32, F64]).flatmap(
        lambda dt: checks.arrays(dtype=dt, lo=lo, hi=hi, **kw))


def f64(x):
    return np.asarray(x, dtype=F64)


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


def run(act, x: np.ndarray, hint: str = GENERIC_OVERFLOW, **kwargs):
    """act.forward(Tensor(x), **kwargs) with every warning turned into a failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return act.forward(Tensor(x), **kwargs)
        except Warning as w:
            caught = w  # fail outside the except block: no chained traceback for the learner
    args = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    checks.fail(f"{type(act).__name__}.forward(x{args}) must not raise a warning; it raised "
                f"{type(caught).__name__}: {caught}", inputs={"x": x}, hint=hint)


def _data(got):
    data = getattr(got, "data", None)
    return data if type(data) is np.ndarray else None


def dtype_hint(got, dtype) -> str:
    """Why the dtype is wrong, from the direction of the change."""
    data = _data(got)
    if data is None:
        return ""
    if data.dtype == F64 and np.dtype(dtype) == F32:
        return DTYPE_LEAK
    if data.dtype == F32 and np.dtype(dtype) == F64:
        return DTYPE_LOST
    return checks.dtype_diagnosis(data.dtype, np.dtype(dtype))


def float32_precision(got, expected) -> str:
    """F32_PRECISION when a float64 result holds only float32 numbers and the expected
    values are not all float32 numbers: the evidence of a computation done in float32."""
    data, exp = _data(got), f64(expected)
    if data is None or data.dtype != F64 or data.shape != exp.shape:
        return ""
    as32 = lambda a: a.astype(F32).astype(F64)  # noqa: E731
    with np.errstate(all="ignore"):
        if np.array_equal(as32(data), data) and not np.array_equal(as32(exp), exp):
            return F32_PRECISION
    return ""


def check_values(got, expected, what, *, x, inputs=None, wrong=(), hint="", rtol=None,
                 atol=None, dtype=None):
    """check_array against the float64 oracle, with dtype and precision stage hints."""
    dtype = x.dtype if dtype is None else dtype
    checks.check_array(got, expected, what, inputs={"x": x} if inputs is None else inputs,
                       type_=Tensor, dtype=dtype, rtol=rtol, atol=atol, wrong=wrong,
                       hint=float32_precision(got, expected) or hint,
                       dtype_hint=dtype_hint(got, dtype))


# ---------------------------------------------------------------- softmax tolerance
ULPS_ALLOWED = 4  # units in the last place of the largest |x|: rounding of x - c
ULPS_ROUNDING = 64  # up to this many, a difference is still rounding, not logic


def softmax_tolerance(x) -> float:
    """1e-5 (float32) / 1e-9 (float64), or 4 ulps of max|x| when that is larger: x - c is
    rounded at the inputs' magnitude, so correct formulations differ by that much."""
    x = np.asarray(x)
    base = 1e-9 if x.dtype == F64 else 1e-5
    scale = max(1.0, float(np.max(np.abs(x), initial=0.0)))
    return max(base, ULPS_ALLOWED * float(np.finfo(x.dtype).eps) * scale)


def rounding_hint(got, expected, x) -> str:
    """A precision diagnosis when the error is a few ulps of the inputs' magnitude."""
    data, exp = _data(got), f64(expected)
    if data is None or data.shape != exp.shape or not np.all(np.isfinite(data)):
        return ""
    x = np.asarray(x)
    eps = float(np.finfo(x.dtype).eps)
    scale = max(1.0, float(np.max(np.abs(x), initial=0.0)))
    ulps = float(np.max(np.abs(data.astype(F64) - exp), initial=0.0)) / (eps * scale)
    if ulps > ULPS_ROUNDING:
        return ""
    return (f"precision, not logic: your values differ from the expected ones by about "
            f"{max(ulps, 1):.0f} units in the last place of {x.dtype} at the inputs' magnitude "
            f"(|x| up to {scale:.4g}; {ULPS_ALLOWED} are allowed). Subtracting the max itself "
            f"(x - max(x) is exact when the two are close) stays within that; a rounded "
            f"intermediate of that magnitude (a log-sum-exp subtracted from x, a cast) does not")


def check_softmax(got, x, dim, what, *, inputs=None, wrong=(), expected=None, hint=""):
    """Softmax values against the float64 oracle (or `expected`), tolerance keyed by the
    inputs' magnitude, with precision hints for rounding."""
    exp = softmax_np(x, dim) if expected is None else expected
    tol = softmax_tolerance(x)
    check_values(got, exp, what, x=np.asarray(x), inputs=inputs, wrong=wrong, rtol=tol,
                 atol=tol, hint=rounding_hint(got, exp, x) or hint)
