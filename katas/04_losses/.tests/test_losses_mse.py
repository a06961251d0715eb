"""Hidden tests for kata 04: MSELoss."""
from __future__ import annotations

import numpy as np
from hypothesis import example, given, strategies as st

from pytest_tinytorch import checks
from tinytorch.core.losses import MSELoss
from tinytorch.core.tensor import Tensor

from losses_kit import TARGET_FORMS, as_form, attempt, checked_loss, target_values

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


def rounded_targets(p, t):
    """float64 predictions whose targets were rounded to float32 on the way in."""
    if np.asarray(p).dtype != np.float64:
        return []
    d = np.asarray(p, np.float64) - np.asarray(t, np.float32)
    return [(np.mean(d * d), "you rounded the targets to float32: with float64 predictions, "
                             "cast the targets to float64 (the predictions' dtype), never lower")]


def run(p, t, targets=None):
    out = MSELoss()(Tensor(p), Tensor(t) if targets is None else targets)
    return checked_loss(out, "MSELoss()(predictions, targets)", p,
                        {"predictions": p, "targets": t if targets is None else targets},
                        over="every element", first_name="predictions")


@st.composite
def pairs(draw, dtype=F32):
    """predictions and targets of one shape; dtype None draws float32 or float64."""
    if dtype is None:
        dtype = draw(st.sampled_from([F32, np.float64]))
    shape = draw(checks.shapes())
    p = draw(checks.arrays(shape, dtype=dtype))
    t = draw(checks.arrays(shape, dtype=dtype))
    return p, t


P = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, 4.0]], F32)
T = np.array([[2.0, -2.0, 0.0], [1.5, 1.0, -1.0]], F32)
P64 = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, 4.0]]) + 1e-3
T64 = np.array([[2.0, -2.0, 0.0], [1.5, 1.0, -1.0]]) / 3


def test_mse_comes_from_your_kata():
    p, t = np.array([1.0, 2.0], F32), np.array([1.0, 4.0], F32)
    out = run(p, t)  # runs your code first: the empty stub does not pass
    checks.check_array(out, np.asarray(2.0, F32), "MSELoss()(predictions, targets)",
                       inputs={"predictions": p, "targets": t}, wrong=wrong_answers(p, t))
    checks.assert_from_kata(MSELoss, "04_losses")


@given(case=pairs(dtype=None), form=st.sampled_from(TARGET_FORMS))
@example(case=(P, T), form="Tensor")
@example(case=(P, T), form="float64 ndarray")
@example(case=(P, T), form="int64 ndarray")
@example(case=(P64, T64), form="float32 ndarray")
@example(case=(P64, T64), form="float64 ndarray")
@example(case=(P64, T64), form="int64 ndarray")
@example(case=(np.array([1000 / 3 + 1, 0.7]), np.array([1000 / 3, 0.7 - 1e-3])), form="float64 ndarray")
@example(case=(P, T), form="float64 Tensor")
@example(case=(np.array([3.0, 1.0], F32), np.array([1.0, 2.0], F32)), form="Tensor")
def test_mse_matches_numpy(case, form):
    p, t = case
    targets = as_form(t, form)
    out = run(p, t, targets=targets)
    d = p.astype(np.float64) - target_values(t, form)
    checks.check_array(out, np.asarray(np.mean(d * d), dtype=p.dtype),
                       f"MSELoss()(predictions, targets as a {form})",
                       inputs={"predictions": p, "targets": targets},
                       wrong=wrong_answers(p, target_values(t, form))
                       + rounded_targets(p, target_values(t, form)),
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


def mismatched(kind: str, n: int):
    """Two different shapes: one that broadcasts, or one with the same ndim or size."""
    a = {"column and flat": (n, 1), "column and row": (n, 1), "matrix and one row": (2, n),
         "transposed": (n, n + 1), "longer": (n,)}[kind]
    b = {"column and flat": (n,), "column and row": (1, n), "matrix and one row": (1, n),
         "transposed": (n + 1, n), "longer": (n + 1,)}[kind]
    return a, b


def shape_hint(p, t, got=None) -> str:
    """Name what a loss that did not raise did with two shapes, from the number it returned."""
    a, b = p.shape, t.shape
    compare = "compare the shapes themselves (not their numbers of axes or sizes) and raise ValueError"
    generic = f"shapes {a} and {b} differ: " + compare
    if got is None:
        return generic
    candidates = []
    try:
        both = np.broadcast_shapes(a, b)
        d = p.astype(np.float64) - t
        candidates.append((np.mean(d * d), f"shapes {a} and {b} broadcast to {both} and you "
                           f"averaged {int(np.prod(both))} mismatched differences: " + compare))
    except ValueError:
        pass
    if p.size == t.size:
        d = p.astype(np.float64).ravel() - t.ravel()
        candidates.append((np.mean(d * d), f"you flattened or reshaped the targets to fit: "
                           f"shapes {a} and {b} have the same size, but differ; " + compare))
    for value, why in candidates:
        if np.isclose(got, value, rtol=1e-5, atol=1e-6):
            return why
    return generic


@given(n=st.integers(2, 4), kind=st.sampled_from(["column and flat", "column and row",
                                                  "matrix and one row", "transposed", "longer"]),
       flip=st.booleans())
@example(n=3, kind="column and flat", flip=False)
@example(n=3, kind="column and row", flip=False)
@example(n=3, kind="matrix and one row", flip=True)
@example(n=2, kind="transposed", flip=False)
def test_mse_rejects_different_shapes(n, kind, flip):
    a, b = mismatched(kind, n)
    if flip:
        a, b = b, a
    p = np.linspace(-1.0, 1.0, int(np.prod(a)), dtype=F32).reshape(a)
    t = np.linspace(2.0, 0.0, int(np.prod(b)), dtype=F32).reshape(b)
    inputs = {"predictions": p, "targets": t}
    out, err = attempt(MSELoss(), Tensor(p), Tensor(t))
    if isinstance(err, ValueError):
        return
    if err is not None:
        checks.fail("MSELoss must raise ValueError when the shapes differ.",
                    f"it raised {type(err).__name__}: {err}", inputs=inputs, hint=shape_hint(p, t))
    got = np.asarray(getattr(out, "data", np.nan), dtype=np.float64)
    checks.fail("MSELoss must raise ValueError when the shapes differ.",
                f"it returned {checks.fmt(out)} for shapes {a} and {b}", inputs=inputs,
                hint=shape_hint(p, t, float(got) if got.size == 1 else None))
