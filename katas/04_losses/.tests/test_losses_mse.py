"""Hidden tests for kata 04: MSELoss."""
from __future__ import annotations

import numpy as np
from hypothesis import example, given, strategies as st

from pytest_tinytorch import checks
from tinytorch.core.losses import MSELoss
from tinytorch.core.tensor import Tensor

from losses_kit import checked_loss

F32 = np.float32
SUM_HINT = "you summed the squared errors: the loss is their MEAN over every element"


def wrong_answers(p, t):
    d = np.asarray(p, np.float64) - np.asarray(t, np.float64)
    return [
        (np.sum(d * d), SUM_HINT),
        (np.mean(np.abs(d)), "this is the mean ABSOLUTE error: square the differences"),
        (np.sqrt(np.mean(d * d)), "this is the root of the MSE (RMSE): do not take the square root"),
        (0.5 * np.mean(d * d), "this is half the MSE: no factor 1/2"),
        (np.mean(d) ** 2, "you squared the mean difference: square each difference, then average"),
        (-np.mean(d * d), "wrong sign: a squared error is never negative"),
    ]


def run(p, t, targets=None):
    out = MSELoss()(Tensor(p), Tensor(t) if targets is None else targets)
    return checked_loss(
        out, "MSELoss()(predictions, targets)", p, {"predictions": p, "targets": t},
        over="every element", dtype_of="the predictions' dtype",
        dtype_hint="the loss has the predictions' dtype: cast the targets to it (a float64 "
                   "target promotes float32 predictions to float64)")

TARGET_FORMS = ["Tensor", "ndarray", "float64 ndarray"]


@st.composite
def pairs(draw, dtype=F32):
    """predictions and targets of one shape; dtype None draws float32 or float64."""
    if dtype is None:
        dtype = draw(st.sampled_from([F32, np.float64]))
    shape = draw(checks.shapes())
    p = draw(checks.arrays(shape, dtype=dtype))
    t = draw(checks.arrays(shape, dtype=dtype))
    return p, t


def as_form(t, form):
    """The targets as a Tensor, a plain ndarray, or a float64 ndarray."""
    return {"Tensor": Tensor(t), "ndarray": t, "float64 ndarray": t.astype(np.float64)}[form]


P = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, 4.0]], F32)
T = np.array([[2.0, -2.0, 0.0], [1.5, 1.0, -1.0]], F32)


def test_mse_comes_from_your_kata():
    p, t = np.array([1.0, 2.0], F32), np.array([1.0, 4.0], F32)
    out = run(p, t)  # runs your code first: the empty stub does not pass
    checks.check_array(out, np.asarray(2.0, F32), "MSELoss()(predictions, targets)",
                       inputs={"predictions": p, "targets": t}, wrong=wrong_answers(p, t))
    checks.assert_from_kata(MSELoss, "04_losses")


@given(case=pairs(dtype=None), form=st.sampled_from(TARGET_FORMS))
@example(case=(P, T), form="Tensor")
@example(case=(P, T), form="float64 ndarray")
@example(case=(P.astype(np.float64), T.astype(np.float64)), form="ndarray")
@example(case=(np.array([3.0, 1.0], F32), np.array([1.0, 2.0], F32)), form="Tensor")
def test_mse_matches_numpy(case, form):
    p, t = case
    targets = as_form(t, form)
    out = run(p, t, targets=targets)
    d = p.astype(np.float64) - t
    checks.check_array(out, np.asarray(np.mean(d * d), dtype=p.dtype),
                       f"MSELoss()(predictions, targets as a {form})",
                       inputs={"predictions": p, "targets": targets}, wrong=wrong_answers(p, t),
                       hint="the mean over every element of (predictions - targets) squared")


@given(x=checks.arrays(), where=st.integers(0, 100), delta=st.floats(0.5, 5.0))
@example(x=P, where=0, delta=1.0)
def test_mse_is_zero_exactly_when_equal(x, where, delta):
    same = float(run(x, x.copy()).data)
    if same != 0.0:
        checks.fail("MSELoss()(x, x) must be exactly 0.", f"got {same!r}", inputs={"x": x},
                    hint="identical predictions and targets have no error at all")
    y = x.copy()
    y.flat[where % x.size] += F32(delta)
    differ = float(run(x, y).data)
    if not differ > 0.0:
        checks.fail("MSELoss()(x, y) must be > 0 when x and y differ.", f"got {differ!r}",
                    inputs={"x": x, "y": y},
                    hint="every differing element adds a positive squared error")


@given(case=pairs())
@example(case=(P, T))
def test_mse_is_symmetric(case):
    p, t = case
    forward = run(p, t)
    backward = run(t, p)
    checks.check_array(backward, forward.data,
                       "MSELoss()(targets, predictions) must equal MSELoss()(predictions, targets)",
                       inputs={"predictions": p, "targets": t},
                       hint="(a - b) squared equals (b - a) squared")


@given(n=st.integers(1, 5), flip=st.booleans())
@example(n=3, flip=False)
def test_mse_rejects_different_shapes(n, flip):
    column = np.linspace(-1.0, 1.0, n, dtype=F32).reshape(n, 1)
    flat = np.linspace(2.0, 0.0, n, dtype=F32)
    p, t = (column, flat) if not flip else (flat, column)
    inputs = {"predictions": p, "targets": t}
    hint = ("shapes (N, 1) and (N,) broadcast to (N, N) and would silently average N*N "
            "mismatched differences: compare the shapes and raise ValueError")
    try:
        out = MSELoss()(Tensor(p), Tensor(t))
    except ValueError:
        return
    except NotImplementedError:
        raise
    except Exception as err:  # noqa: BLE001 - turned into a teaching message
        checks.fail("MSELoss must raise ValueError when the shapes differ.",
                    f"it raised {type(err).__name__}: {err}", inputs=inputs, hint=hint)
    checks.fail("MSELoss must raise ValueError when the shapes differ.",
                f"it returned {checks.fmt(out)}", inputs=inputs, hint=hint)
