"""Hidden tests for kata 04: CrossEntropyLoss (logits (N, C), integer targets (N,))."""
from __future__ import annotations

import warnings

import numpy as np
from hypothesis import example, given, strategies as st

from pytest_tinytorch import checks
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.tensor import Tensor

from losses_kit import WATCH, attempt, checked_loss, huge_atol, nonfinite_hint, rounding_hint

F32 = np.float32
STABLE_HINT = ("exp of a logit near 1000 overflows: compute log-probabilities with the "
               "log-sum-exp trick (your log_softmax), never log(exp(...) / sum)")
MEAN_HINT = "you summed over the batch: the loss is the MEAN over the N samples"
PAIR_HINT = ("logits[:, targets] picks an N x N block; pair each row with its own target "
             "(index the rows and the columns together)")


# ---------------------------------------------------------------- oracles and helpers

def np_log_softmax(z, axis=-1):
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


def np_cross_entropy(z, t):
    """The oracle, in float64."""
    t = np.asarray(t, dtype=np.int64)
    return -np_log_softmax(z)[np.arange(len(t)), t].mean()


def wrong_answers(z, t):
    t = np.asarray(t, dtype=np.int64)
    rows = np.arange(len(t))
    lsm = np_log_softmax(z)
    z64 = np.asarray(z, dtype=np.float64)
    return [
        (-lsm[rows, t].sum(), MEAN_HINT),
        (-lsm[:, t].mean(), PAIR_HINT),
        (-np.exp(lsm[rows, t]).mean(), "the loss is the negative LOG of the target's "
         "probability; you used the probability itself"),
        (lsm[rows, t].mean(), "wrong sign: the loss is MINUS the log-probability of the target"),
        (-lsm.mean(), "you averaged over every class; pick only the target class of each row"),
        (-z64[rows, t].mean(), "apply log_softmax to the logits first: raw logits are not "
         "log-probabilities"),
        (-np_log_softmax(z, 0)[rows, t].mean(), "you normalised over the batch axis (0); "
         "normalise each row over its C classes (the last axis)"),
    ]


def run(z, t, targets=None):
    """Call the learner's loss on logits z and targets (default: the int array t)."""
    out = CrossEntropyLoss()(Tensor(z), t if targets is None else targets)
    return checked_loss(out, "CrossEntropyLoss()(logits, targets)", z,
                        {"logits": z, "targets": t if targets is None else targets},
                        over="the batch", first_name="logits")

@st.composite
def logits_and_targets(draw, dtype=F32, lo=-10.0, hi=10.0):
    """(N, C) logits and N class indices; dtype None draws float32 or float64."""
    if dtype is None:
        dtype = draw(st.sampled_from([F32, np.float64]))
    n = draw(st.integers(1, 5))
    c = draw(st.integers(2, 5))
    z = draw(checks.arrays((n, c), dtype=dtype, lo=lo, hi=hi))
    t = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)
    return z, t


@st.composite
def huge_logits_and_targets(draw):
    """Logits around +-1000: small logits plus an offset of -1000, 0 or 1000 per entry."""
    z, t = draw(logits_and_targets())
    offsets = draw(checks.arrays(z.shape, dtype=F32, lo=-1.0, hi=1.0).map(np.round)) * 1000
    return (z + offsets).astype(F32), t


Z = np.array([[2.0, -1.0, 0.5, 0.0], [0.3, 1.2, -2.0, 4.0], [-0.5, 0.0, 3.0, 1.0]], F32)
T = np.array([0, 3, 1])


# ---------------------------------------------------------------- tests

def test_cross_entropy_comes_from_your_kata():
    z, t = np.array([[0.0, np.log(3.0)]], F32), np.array([1])
    out = run(z, t)  # runs your code first: the empty stub does not pass
    checks.check_array(out, np.asarray(-np.log(0.75), F32), "CrossEntropyLoss()(logits, targets)",
                       inputs={"logits": z, "targets": t}, wrong=wrong_answers(z, t))
    checks.assert_from_kata(CrossEntropyLoss, "04_losses")


@given(case=logits_and_targets(dtype=None))
@example(case=(Z, T))
@example(case=(Z.astype(np.float64), T))
@example(case=(np.array([[1.0, 2.0], [3.0, -1.0]], F32), np.array([1, 1])))
@example(case=(np.array([[0.5, 2.0, -1.0]], F32), np.array([2])))
def test_cross_entropy_matches_numpy(case):
    z, t = case
    out = run(z, t)
    checks.check_array(out, np.asarray(np_cross_entropy(z, t), dtype=z.dtype),
                       "CrossEntropyLoss()(logits, targets)", inputs={"logits": z, "targets": t},
                       wrong=wrong_answers(z, t),
                       hint="mean over rows n of -log softmax(logits[n])[targets[n]]")


@given(case=logits_and_targets(lo=-50.0, hi=50.0))
@example(case=(Z, T))
@example(case=(np.array([[9.0, -9.0], [0.1, 0.2]], F32), np.array([0, 1])))
def test_cross_entropy_is_never_negative(case):
    z, t = case
    loss = float(run(z, t).data)
    if not loss >= -1e-6:
        checks.fail("CrossEntropyLoss must be >= 0.", f"got {loss!r}",
                    inputs={"logits": z, "targets": t},
                    hint="CE is -log p with p <= 1, so it is never negative: check the sign and "
                         "that you take the log of a probability")


@st.composite
def shifted_case(draw):
    z, t = draw(logits_and_targets(dtype=np.float64))
    c = draw(checks.arrays((z.shape[0], 1), dtype=np.float64, lo=-100.0, hi=100.0))
    return z, t, c


@given(case=shifted_case())
@example(case=(Z.astype(np.float64), T, np.array([[50.0], [-20.0], [7.0]])))
def test_cross_entropy_is_shift_invariant(case):
    z, t, c = case
    base = run(z, t)
    moved = run(z + c, t)
    checks.check_array(moved, base.data,
                       "CE(logits + c, targets) must equal CE(logits, targets) for c constant "
                       "along each row", inputs={"logits": z, "targets": t, "c": c},
                       rtol=1e-8, atol=1e-8,
                       hint="softmax only sees differences between the logits of a row; "
                            "normalise each row over its classes")


@given(case=huge_logits_and_targets())
@example(case=(np.array([[1000.0, -1000.0, 0.0]], F32), np.array([1])))
@example(case=(np.array([[1000.0, 1000.0], [-1000.0, -1000.0]], F32), np.array([0, 1])))
@example(case=(np.array([[-1000.0, -999.0, -1000.0], [1000.0, 0.0, -1000.0]], F32), np.array([1, 0])))
@example(case=(np.array([[1000.0, 1000.0, -1000.0], [999.0, 1000.0, 999.5]], F32), np.array([0, 2])))
def test_cross_entropy_is_stable_at_huge_logits(case):
    z, t = case
    with warnings.catch_warnings(record=True) as caught, np.errstate(**WATCH):
        warnings.simplefilter("always")
        out = run(z, t)
    expected = np_cross_entropy(z, t)
    checks.check_array(out, np.asarray(expected, dtype=z.dtype),
                       "CrossEntropyLoss()(logits, targets) at logits of +-1000",
                       inputs={"logits": z, "targets": t}, wrong=wrong_answers(z, t),
                       rtol=1e-5, atol=huge_atol(z),
                       hint=rounding_hint(out, expected, z, STABLE_HINT),
                       nan_hint=nonfinite_hint(out, np.asarray(expected), STABLE_HINT))
    bad = [w for w in caught if issubclass(w.category, RuntimeWarning)
           and "underflow" not in str(w.message)]
    if bad:
        checks.fail("CrossEntropyLoss at logits of +-1000 must not warn.",
                    f"NumPy warned: {bad[0].message}", inputs={"logits": z, "targets": t},
                    hint=STABLE_HINT)


@given(case=logits_and_targets(), copies=st.integers(2, 4))
@example(case=(Z, T), copies=3)
def test_cross_entropy_is_a_mean_over_the_batch(case, copies):
    z, t = case
    single = run(z, t).data
    stacked = np.concatenate([z] * copies)
    out = run(stacked, np.concatenate([t] * copies))
    checks.check_array(out, single,
                       f"CE of the batch repeated {copies} times must equal CE of the batch",
                       inputs={"logits": z, "targets": t},
                       wrong=[(copies * single, MEAN_HINT)], hint=MEAN_HINT)


TARGET_KINDS = {"Tensor": Tensor, "float64 Tensor": lambda t: Tensor(t.astype(np.float64)),
                "int8": lambda t: t.astype(np.int8), "uint8": lambda t: t.astype(np.uint8),
                "int32": lambda t: t.astype(np.int32), "int64": lambda t: t.astype(np.int64),
                "float32 ndarray": lambda t: t.astype(F32),
                "float64 ndarray": lambda t: t.astype(np.float64)}


@given(case=logits_and_targets(dtype=None), kind=st.sampled_from(list(TARGET_KINDS)))
@example(case=(Z, T), kind="Tensor")
@example(case=(Z, T), kind="float64 ndarray")
@example(case=(Z.astype(np.float64), T), kind="int8")
@example(case=(Z, T), kind="uint8")
@example(case=(Z.astype(np.float64), T), kind="float32 ndarray")
def test_cross_entropy_accepts_tensor_and_other_integer_targets(case, kind):
    z, t = case
    targets = TARGET_KINDS[kind](t)
    out, err = attempt(run, z, t, targets)
    if err is not None:
        checks.fail(f"CrossEntropyLoss must accept targets given as a {kind}.",
                    f"it raised {type(err).__name__}: {err}",
                    inputs={"logits": z, "targets": targets},
                    hint="a Tensor stores float32 data and NumPy refuses float indices: "
                         "take the targets' data and cast it to an integer dtype")
    checks.check_array(out, np.asarray(np_cross_entropy(z, t), dtype=z.dtype),
                       f"CrossEntropyLoss()(logits, targets as a {kind})",
                       inputs={"logits": z, "targets": targets}, wrong=wrong_answers(z, t),
                       hint="cast the targets to integers and use them as class indices")


@given(case=logits_and_targets(), bad=st.sampled_from(["-1", "C", "C+2", "-C-1"]),
       where=st.integers(0, 4))
@example(case=(Z, T), bad="-1", where=0)
@example(case=(Z, T), bad="C", where=2)
def test_cross_entropy_rejects_out_of_range_targets(case, bad, where):
    z, t = case
    n, c = z.shape
    t = t.copy()
    t[where % n] = {"-1": -1, "C": c, "C+2": c + 2, "-C-1": -c - 1}[bad]
    inputs = {"logits": z, "targets": t}
    hint = ("check that every target is in [0, C) and raise ValueError otherwise; NumPy would "
            "silently wrap a negative index around to the last classes")
    out, err = attempt(CrossEntropyLoss(), Tensor(z), t)
    if isinstance(err, ValueError):
        return
    if err is not None:
        checks.fail("CrossEntropyLoss must raise ValueError for a target outside [0, C).",
                    f"it raised {type(err).__name__}: {err}", inputs=inputs, hint=hint)
    checks.fail("CrossEntropyLoss must raise ValueError for a target outside [0, C).",
                f"it returned {checks.fmt(out)} for C = {c}", inputs=inputs, hint=hint)


WRONG_SHAPES = ["one too many", "one too few", "a single label", "a column (N, 1)"]


@given(case=logits_and_targets(), kind=st.sampled_from(WRONG_SHAPES))
@example(case=(Z, T), kind="a column (N, 1)")
@example(case=(Z, T), kind="a single label")
@example(case=(Z, T), kind="one too few")
@example(case=(Z, T), kind="one too many")
def test_cross_entropy_rejects_targets_of_the_wrong_shape(case, kind):
    z, t = case
    n = len(t)
    if n == 1 and kind in ("one too few", "a single label"):
        z, t, n = np.concatenate([z, z]), np.concatenate([t, t]), 2
    bad = {"one too many": lambda: np.concatenate([t, t[:1]]), "one too few": lambda: t[:-1],
           "a single label": lambda: t[:1], "a column (N, 1)": lambda: t.reshape(n, 1)}[kind]()
    inputs = {"logits": z, "targets": bad}
    hint = (f"targets must have shape (N,) = ({n},), one label per row of logits; "
            + ("a target array of shape (N, 1) or (1,) broadcasts against arange(N) in "
               "fancy indexing and silently picks the wrong entries: " if kind in
               ("a column (N, 1)", "a single label") else "")
            + "compare the targets' shape with (N,) and raise ValueError")
    out, err = attempt(CrossEntropyLoss(), Tensor(z), bad)
    if isinstance(err, ValueError):
        return
    if err is not None:
        checks.fail(f"CrossEntropyLoss must raise ValueError for targets of shape {bad.shape} "
                    f"with logits of shape {z.shape}.", f"it raised {type(err).__name__}: {err}",
                    inputs=inputs, hint=hint)
    checks.fail(f"CrossEntropyLoss must raise ValueError for targets of shape {bad.shape} "
                f"with logits of shape {z.shape}.", f"it returned {checks.fmt(out)}",
                inputs=inputs, hint=hint)
