"""Hidden tests for kata 04: log_softmax(x, dim=-1)."""
from __future__ import annotations

import warnings

import numpy as np
from hypothesis import example, given, strategies as st

from pytest_tinytorch import checks
from tinytorch.core.activations import Softmax
from tinytorch.core.losses import log_softmax
from tinytorch.core.tensor import Tensor

from losses_kit import WATCH, huge_atol, nonfinite_hint, rounding_hint

F32 = np.float32
STABLE_HINT = ("exp of a logit near 1000 overflows (and near -1000 underflows to 0, whose log "
               "is -inf): subtract the max along dim before exp, the log-sum-exp trick")
AXIS_HINT = ("normalise along `dim` only: every slice along dim is one distribution, so "
             "take the max and the sum along that same axis (keepdims helps broadcasting)")


# ---------------------------------------------------------------- oracles and helpers

def np_log_softmax(x, axis):
    """The oracle, in float64."""
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def wrong_answers(x, dim):
    """Known wrong answers, each with the hint that names its bug."""
    x64 = np.asarray(x, dtype=np.float64)
    d = dim % x.ndim
    wrong = [(np_log_softmax(x, a), f"this is log_softmax along axis {a}, not along dim={dim}. "
              + AXIS_HINT) for a in range(x.ndim) if a != d]
    wrong += [
        (np_log_softmax(x.reshape(-1), 0).reshape(x.shape),
         "you normalised over the whole array; normalise each slice along dim separately"),
        (x64 - x64.max(axis=dim, keepdims=True),
         "you subtracted the max but not log(sum(exp(x - max))) along dim"),
        (np.exp(np_log_softmax(x, dim)), "this is softmax(x): take its log (or better, "
         "subtract the log-sum-exp directly)"),
    ]
    return wrong


def run(x, dim):
    """Call the learner's log_softmax and check type, shape and dtype, in that order."""
    inputs = {"x": x, "dim": dim}
    out = log_softmax(Tensor(x), dim=dim)
    if not isinstance(out, Tensor):
        checks.fail("log_softmax(x, dim) must return a Tensor.",
                    f"got {type(out).__name__}: {checks.fmt(out)}", inputs=inputs)
    checks.check_shape(out, x.shape, "log_softmax(x, dim)", inputs=inputs,
                       hint="log_softmax keeps the shape of x (use keepdims=True in the reductions)")
    if out.data.dtype != x.dtype:
        checks.fail("log_softmax(x, dim) has the wrong dtype.",
                    f"got {out.data.dtype}, expected {x.dtype} (the dtype of x)", inputs=inputs,
                    hint="keep float32 data float32 and float64 data float64 "
                         "(mind np.float64 constants and dtype= arguments)")
    return out


def runtime_warnings(caught):
    """Overflow, divide-by-zero and invalid-value warnings (a harmless underflow is fine)."""
    return [w for w in caught if issubclass(w.category, RuntimeWarning)
            and "underflow" not in str(w.message)]


@st.composite
def x_and_dim(draw, dtype=F32, lo=-10.0, hi=10.0, max_dims=3):
    """x and a dim of it; dtype None draws float32 or float64."""
    if dtype is None:
        dtype = draw(st.sampled_from([F32, np.float64]))
    x = draw(checks.arrays(dtype=dtype, lo=lo, hi=hi, max_dims=max_dims))
    dim = draw(st.integers(-x.ndim, x.ndim - 1))
    return x, dim


@st.composite
def huge_x_and_dim(draw):
    """Logits around +-1000: a small array plus an offset of -1000, 0 or 1000 per element."""
    x, dim = draw(x_and_dim(max_dims=2))
    offsets = draw(checks.arrays(x.shape, dtype=F32, lo=-1.0, hi=1.0).map(np.round)) * 1000
    return (x + offsets).astype(F32), dim


# ---------------------------------------------------------------- tests

def test_log_softmax_comes_from_your_kata():
    x = np.array([[0.0, np.log(3.0)]], F32)
    out = run(x, -1)  # runs your code first: the empty stub does not pass
    checks.check_array(out, np.log(np.array([[0.25, 0.75]])).astype(F32), "log_softmax(x)",
                       inputs={"x": x}, hint="log_softmax(x)_i = x_i - log(sum_j exp(x_j))")
    checks.assert_from_kata(log_softmax, "04_losses")


@given(case=x_and_dim(dtype=None))
@example(case=(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]], F32), -1))
@example(case=(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]], F32), 0))
@example(case=(np.arange(24, dtype=F32).reshape(2, 3, 4) / 5, 1))
@example(case=(np.array([0.5, -1.0, 2.0, 0.0], F32), 0))
@example(case=(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]]), 0))
def test_log_softmax_matches_numpy(case):
    x, dim = case
    out = run(x, dim)
    checks.check_array(out, np_log_softmax(x, dim).astype(x.dtype), "log_softmax(x, dim)",
                       inputs={"x": x, "dim": dim}, wrong=wrong_answers(x, dim),
                       hint="log_softmax(x)_i = x_i - log(sum_j exp(x_j)), sums along dim")


@given(case=x_and_dim())
@example(case=(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]], F32), 0))
@example(case=(np.arange(24, dtype=F32).reshape(2, 3, 4) / 5, 1))
def test_exp_of_log_softmax_sums_to_one_along_dim(case):
    x, dim = case
    out = run(x, dim)
    totals = np.exp(out.data.astype(np.float64)).sum(axis=dim)
    checks.check_array(totals, np.ones_like(totals),
                       "exp(log_softmax(x, dim)) summed along dim (must be 1 for every slice)",
                       inputs={"x": x, "dim": dim}, rtol=1e-5, atol=1e-5, hint=AXIS_HINT)


@st.composite
def shifted_case(draw):
    """x, dim and a shift c constant along dim (a different constant for every slice)."""
    x, dim = draw(x_and_dim(dtype=np.float64))
    c_shape = list(x.shape)
    c_shape[dim] = 1
    c = draw(checks.arrays(tuple(c_shape), dtype=np.float64, lo=-30.0, hi=30.0))
    return x, dim, c


@given(case=shifted_case())
@example(case=(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]]), 0, np.array([[10.0, -3.0, 7.0]])))
@example(case=(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]]), -1, np.array([[25.0], [-8.0]])))
def test_log_softmax_is_shift_invariant(case):
    x, dim, c = case
    base = run(x, dim)
    moved = run(x + c, dim)
    checks.check_array(moved, base.data, "log_softmax(x + c, dim) must equal log_softmax(x, dim) "
                       "for c constant along dim", inputs={"x": x, "dim": dim, "c": c},
                       rtol=1e-8, atol=1e-8,
                       hint="adding the same c to a whole slice along dim must cancel out. "
                            + AXIS_HINT)


@given(case=huge_x_and_dim())
@example(case=(np.array([[1000.0, 0.0, -1000.0]], F32), -1))
@example(case=(np.array([[1000.0, 1000.0], [999.0, 1000.0]], F32), -1))
@example(case=(np.array([[-1000.0, -1000.0, -999.0]], F32), -1))
@example(case=(np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], F32), 0))
@example(case=(np.array([[1000.0, 999.0, 1000.0, 998.5]], F32), -1))
def test_log_softmax_is_stable_at_huge_logits(case):
    x, dim = case
    with warnings.catch_warnings(record=True) as caught, np.errstate(**WATCH):
        warnings.simplefilter("always")
        out = run(x, dim)
    expected = np_log_softmax(x, dim)
    checks.check_array(out, expected.astype(x.dtype),
                       "log_softmax(x, dim) at logits of +-1000", inputs={"x": x, "dim": dim},
                       wrong=wrong_answers(x, dim), rtol=1e-5, atol=huge_atol(x),
                       hint=rounding_hint(out, expected, x, STABLE_HINT),
                       nan_hint=nonfinite_hint(out, expected, STABLE_HINT))
    bad = runtime_warnings(caught)
    if bad:
        checks.fail("log_softmax(x, dim) at logits of +-1000 must not warn.",
                    f"NumPy warned: {bad[0].message}", inputs={"x": x, "dim": dim},
                    hint=STABLE_HINT)


@given(case=x_and_dim(dtype=np.float64, lo=-5.0, hi=5.0))
@example(case=(np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]]), 0))
@example(case=(np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 5, 1))
def test_log_softmax_equals_log_of_your_softmax(case):
    x, dim = case
    out = run(x, dim)
    probs = Softmax(dim=dim)(Tensor(x)).data.astype(np.float64)
    checks.check_array(out, np.log(probs),
                       "log_softmax(x, dim) must equal log(Softmax(dim)(x)) from your kata 02",
                       inputs={"x": x, "dim": dim}, rtol=1e-7, atol=1e-9,
                       wrong=wrong_answers(x, dim),
                       hint="on moderate inputs both formulations agree; " + AXIS_HINT)
