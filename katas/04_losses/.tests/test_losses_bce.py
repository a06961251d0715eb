"""Hidden tests for kata 04: BinaryCrossEntropyLoss (probabilities, clipped to [1e-7, 1 - 1e-7])."""
from __future__ import annotations

import warnings

import numpy as np
from hypothesis import example, given, strategies as st

from pytest_tinytorch import checks
from tinytorch.core.losses import BinaryCrossEntropyLoss
from tinytorch.core.tensor import Tensor

from losses_kit import TARGET_FORMS, WATCH, as_form, attempt, checked_loss, target_values

F32 = np.float32
EPS = 1e-7
CLIP_HINT = ("log(0) is -inf: clip the predictions to [1e-7, 1 - 1e-7] (exactly these bounds) "
             "before taking any log")
FORMULA_HINT = "the mean over every element of -(t log p + (1 - t) log(1 - p))"


def np_bce(p, t):
    """The oracle, in float64, with the contract's clipping."""
    p = np.clip(np.asarray(p, np.float64), EPS, 1 - EPS)
    t = np.asarray(t, np.float64)
    return -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))


def wrong_answers(p, t):
    p_raw = np.asarray(p, np.float64)
    p = np.clip(p_raw, EPS, 1 - EPS)
    t = np.asarray(t, np.float64)
    terms = t * np.log(p) + (1 - t) * np.log(1 - p)
    swapped = t * np.log(1 - p) + (1 - t) * np.log(p)
    return [
        (np.mean(terms), "wrong sign: BCE is MINUS the mean log-likelihood, so it is >= 0"),
        (-np.mean(swapped), "you swapped the terms: the target t multiplies log(p), and "
         "(1 - t) multiplies log(1 - p)"),
        (-np.sum(terms), "you summed over the elements: the loss is their MEAN"),
        (-np.mean(t * np.log(p)), "you dropped the (1 - t) log(1 - p) term"),
        (-np.mean(t * np.log(p_raw + EPS) + (1 - t) * np.log(1 - p_raw + EPS)),
         "you added EPS inside the logs: clip the predictions to [1e-7, 1 - 1e-7] instead "
         "(np.clip), and use them as they are between the bounds"),
    ]


def run(p, t, targets=None):
    out = BinaryCrossEntropyLoss()(Tensor(p), Tensor(t) if targets is None else targets)
    return checked_loss(out, "BinaryCrossEntropyLoss()(predictions, targets)", p,
                        {"predictions": p, "targets": t if targets is None else targets},
                        over="every element", first_name="predictions")


@st.composite
def probs_and_targets(draw, dtype=F32, lo=1 / 128, hi=1 - 1 / 128):
    """probabilities and soft targets of one shape; dtype None draws float32 or float64."""
    if dtype is None:
        dtype = draw(st.sampled_from([F32, np.float64]))
    shape = draw(checks.shapes())
    p = draw(checks.arrays(shape, dtype=dtype, lo=lo, hi=hi))
    t = draw(checks.arrays(shape, dtype=dtype, lo=0.0, hi=1.0))
    return p, t


@st.composite
def saturated(draw, dtype=F32):
    """Predictions of exactly 0 or 1; hard or soft targets."""
    shape = draw(checks.shapes(max_dims=2))
    p = draw(checks.arrays(shape, dtype=dtype, lo=0.0, hi=1.0).map(np.round))
    t = draw(checks.arrays(shape, dtype=dtype, lo=0.0, hi=1.0))
    if draw(st.booleans()):
        t = np.round(t)
    return p.astype(dtype), t.astype(dtype)


P = np.array([[0.9, 0.2, 0.6], [0.1, 0.75, 0.4]], F32)
T = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.3]], F32)


def test_bce_comes_from_your_kata():
    p, t = np.array([0.5, 0.5], F32), np.array([1.0, 0.0], F32)
    out = run(p, t)  # runs your code first: the empty stub does not pass
    checks.check_array(out, np.asarray(np.log(2.0), F32),
                       "BinaryCrossEntropyLoss()(predictions, targets)",
                       inputs={"predictions": p, "targets": t}, wrong=wrong_answers(p, t))
    checks.assert_from_kata(BinaryCrossEntropyLoss, "04_losses")


@given(case=probs_and_targets(dtype=None), form=st.sampled_from(TARGET_FORMS))
@example(case=(P, T), form="Tensor")
@example(case=(P, T), form="float64 ndarray")
@example(case=(P, T), form="int64 ndarray")
@example(case=(P.astype(np.float64), T.astype(np.float64) / 3), form="float32 ndarray")
@example(case=(P.astype(np.float64), T.astype(np.float64)), form="int64 ndarray")
@example(case=(np.array([0.8, 0.3], F32), np.array([1.0, 1.0], F32)), form="Tensor")
@example(case=(np.array([0.8, 0.3], F32), np.array([0.0, 0.0], F32)), form="Tensor")
def test_bce_matches_numpy(case, form):
    p, t = case
    targets = as_form(t, form)
    out = run(p, t, targets=targets)
    seen = target_values(t, form)
    checks.check_array(out, np.asarray(np_bce(p, seen), dtype=p.dtype),
                       f"BinaryCrossEntropyLoss()(predictions, targets as a {form})",
                       inputs={"predictions": p, "targets": targets}, wrong=wrong_answers(p, seen),
                       hint=FORMULA_HINT)


@given(case=saturated(dtype=np.float64))
@example(case=(np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])))
@example(case=(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])))
def test_bce_is_finite_at_predictions_of_exactly_0_and_1(case):
    p, t = case
    with warnings.catch_warnings(record=True) as caught, np.errstate(**WATCH):
        warnings.simplefilter("always")
        out = run(p, t)
    checks.check_array(out, np_bce(p, t),
                       "BinaryCrossEntropyLoss at predictions of exactly 0 and 1 (float64)",
                       inputs={"predictions": p, "targets": t}, rtol=1e-7, atol=1e-9,
                       wrong=wrong_answers(p, t), hint=CLIP_HINT, nan_hint=CLIP_HINT)
    bad = [w for w in caught if issubclass(w.category, RuntimeWarning)
           and "underflow" not in str(w.message)]
    if bad:
        checks.fail("BinaryCrossEntropyLoss at predictions of exactly 0 and 1 must not warn.",
                    f"NumPy warned: {bad[0].message}", inputs={"predictions": p, "targets": t},
                    hint=CLIP_HINT)


@given(case=saturated(dtype=F32))
@example(case=(np.array([0.0, 1.0, 0.0, 1.0], F32), np.array([1.0, 0.0, 0.0, 1.0], F32)))
def test_bce_is_finite_at_predictions_of_exactly_0_and_1_in_float32(case):
    p, t = case
    with warnings.catch_warnings(record=True) as caught, np.errstate(**WATCH):
        warnings.simplefilter("always")
        out = run(p, t)
    # float32 cannot hold 1 - 1e-7 exactly (it rounds to 1 - 1.19e-7), so -log(1 - p) at
    # p = 1 may be 15.9 or 16.1 depending on where the clipping happens: allow 2%.
    checks.check_array(out, np.asarray(np_bce(p, t), dtype=F32),
                       "BinaryCrossEntropyLoss at predictions of exactly 0 and 1 (float32)",
                       inputs={"predictions": p, "targets": t}, rtol=2e-2, atol=1e-5,
                       hint=CLIP_HINT, nan_hint=CLIP_HINT)
    bad = [w for w in caught if issubclass(w.category, RuntimeWarning)
           and "underflow" not in str(w.message)]
    if bad:
        checks.fail("BinaryCrossEntropyLoss at predictions of exactly 0 and 1 must not warn.",
                    f"NumPy warned: {bad[0].message}", inputs={"predictions": p, "targets": t},
                    hint=CLIP_HINT)


NEAR = [0.0, 1e-12, 1e-9, 5e-8, 1e-7, 2e-7, 1e-3, 0.5, 1 - 1e-3, 1 - 2e-7, 1 - 1e-7,
        1 - 5e-8, 1 - 1e-9, 1 - 1e-12, 1.0]


@st.composite
def near_case(draw):
    p = np.array(draw(st.lists(st.sampled_from(NEAR), min_size=1, max_size=6)))
    t = draw(checks.arrays(p.shape, dtype=np.float64, lo=0.0, hi=1.0))
    return p, t


@given(case=near_case())
@example(case=(np.array([1e-9, 1 - 1e-9]), np.array([1.0, 0.0])))
@example(case=(np.array([1e-12, 0.5, 1 - 1e-12]), np.array([1.0, 1.0, 0.0])))
@example(case=(np.array([5e-8, 1 - 5e-8]), np.array([0.7, 0.2])))
@example(case=(np.array([1e-7, 1 - 1e-7, 2e-7, 1 - 2e-7]), np.array([0.0, 1.0, 0.25, 0.75])))
@example(case=(np.array([0.0, 1.0, 1e-7, 1 - 1e-7]), np.array([1.0, 0.0, 1.0, 0.0])))
def test_bce_clips_near_0_and_1_at_exactly_1e_minus_7(case):
    p, t = case
    out = run(p, t)
    checks.check_array(out, np_bce(p, t),
                       "BinaryCrossEntropyLoss near 0 and 1 must equal the formula with p "
                       "clipped to [1e-7, 1 - 1e-7]",
                       inputs={"predictions (float64)": p.tolist(), "targets": t},
                       rtol=1e-7, atol=1e-9, wrong=wrong_answers(p, t),
                       hint="clip with exactly 1e-7 and 1 - 1e-7 (a smaller or larger epsilon, "
                            "or clipping only one side, changes these values)")


@given(n=st.integers(2, 4), kind=st.sampled_from(["column and flat", "column and row", "longer"]),
       flip=st.booleans())
@example(n=3, kind="column and row", flip=False)
@example(n=3, kind="column and flat", flip=True)
def test_bce_rejects_different_shapes(n, kind, flip):
    a = {"column and flat": (n, 1), "column and row": (n, 1), "longer": (n,)}[kind]
    b = {"column and flat": (n,), "column and row": (1, n), "longer": (n + 1,)}[kind]
    if flip:
        a, b = b, a
    p = np.linspace(0.1, 0.9, int(np.prod(a)), dtype=F32).reshape(a)
    t = np.linspace(1.0, 0.0, int(np.prod(b)), dtype=F32).reshape(b)
    inputs = {"predictions": p, "targets": t}
    compare = "compare the shapes themselves and raise ValueError"
    generic = f"shapes {a} and {b} differ: " + compare
    out, err = attempt(BinaryCrossEntropyLoss(), Tensor(p), Tensor(t))
    if isinstance(err, ValueError):
        return
    if err is not None:
        checks.fail("BinaryCrossEntropyLoss must raise ValueError when the shapes differ.",
                    f"it raised {type(err).__name__}: {err}", inputs=inputs, hint=generic)
    hint = generic
    got = np.asarray(getattr(out, "data", np.nan), dtype=np.float64)
    try:
        both = np.broadcast_shapes(a, b)
        if got.size == 1 and np.isclose(float(got), np_bce(*np.broadcast_arrays(p, t)), rtol=1e-5):
            hint = (f"shapes {a} and {b} broadcast to {both} and you averaged "
                    f"{int(np.prod(both))} mismatched terms: " + compare)
    except ValueError:
        pass
    checks.fail("BinaryCrossEntropyLoss must raise ValueError when the shapes differ.",
                f"it returned {checks.fmt(out)} for shapes {a} and {b}", inputs=inputs, hint=hint)
