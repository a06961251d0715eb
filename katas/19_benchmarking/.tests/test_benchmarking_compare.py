"""Hidden tests for pareto_frontier (against a brute force, with ties and duplicates) and
OlympicEvent (values, constraints at their boundaries, scores on hand-computed metrics)."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.perf.benchmarking import OlympicEvent, pareto_frontier
from benchmarking_kit import check_number, raised

KATA = "19_benchmarking"


# ---------------------------------------------------------------- pareto_frontier

def _flags(lower_is_better, d):
    return [bool(lower_is_better)] * d if isinstance(lower_is_better, bool) else list(lower_is_better)


def _relation(p, q, flags):
    """(p no worse than q everywhere, p strictly better than q somewhere)."""
    no_worse = all((a <= b) if f else (a >= b) for a, b, f in zip(p, q, flags))
    better = any((a < b) if f else (a > b) for a, b, f in zip(p, q, flags))
    return no_worse, better


def frontier(points, flags, rule="pareto"):
    keep = []
    for j, q in enumerate(points):
        beaten = False
        for i, p in enumerate(points):
            if i == j:
                continue
            no_worse, better = _relation(p, q, flags)
            if rule == "pareto":
                beaten |= no_worse and better
            elif rule == "strict":  # better in every objective
                beaten |= all((a < b) if f else (a > b) for a, b, f in zip(p, q, flags))
            elif rule == "weak":  # no worse is enough: equal points knock each other out
                beaten |= no_worse
        if not beaten:
            keep.append(j)
    return keep


def explain(got, want, points, flags):
    for j in sorted(set(got) - set(want)):
        for i, p in enumerate(points):
            if i != j and all(_relation(p, points[j], flags)):
                return (f"point {j} {tuple(points[j])} is dominated by point {i} {tuple(p)} (no worse "
                        f"in every objective, strictly better in one) but you kept it")
    for j in sorted(set(want) - set(got)):
        twins = [i for i, p in enumerate(points) if i != j and list(p) == list(points[j])]
        if twins:
            return (f"point {j} {tuple(points[j])} is on the frontier but missing: it equals point "
                    f"{twins[0]}, and equal points do not dominate each other (both stay)")
        return (f"point {j} {tuple(points[j])} is on the frontier but missing: no point is at least "
                f"as good in every objective and strictly better in one")
    return ""


def points_strategy():
    def build(rows, form):
        if form == "ndarray":
            return np.asarray(rows, dtype=float).reshape(len(rows), -1) if rows else []
        if form == "lists":
            return [list(r) for r in rows]
        return [tuple(r) for r in rows]

    return st.integers(1, 3).flatmap(lambda d: st.tuples(
        st.lists(st.tuples(*[st.integers(0, 3)] * d), max_size=8),
        st.sampled_from(["tuples", "lists", "ndarray"]),
        st.booleans() | st.tuples(*[st.booleans()] * d))).map(
            lambda t: (build(t[0], t[1]), t[2], len(t[0][0]) if t[0] else 1))


@settings(max_examples=30)
@given(case=points_strategy())
@example(case=([(1, 0.9), (2, 0.95), (3, 0.9), (1, 0.9)], (True, False), 2))
@example(case=([(1, 5), (1, 4), (2, 3)], True, 2))
@example(case=([(3, 3), (3, 3)], True, 2))
@example(case=([(1, 2, 3), (2, 1, 3), (1, 1, 4), (0, 5, 5)], (True, True, False), 3))
@example(case=([(2,), (1,), (1,), (3,)], False, 1))
@example(case=([], True, 1))
@example(case=(np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 3.0]]), True, 2))
def test_pareto_keeps_exactly_the_non_dominated_points(case):
    points, lower_is_better, d = case
    rows = [tuple(float(v) for v in p) for p in (points.tolist() if isinstance(points, np.ndarray) else points)]
    flags = _flags(lower_is_better, d)
    want = frontier(rows, flags)
    got = pareto_frontier(points, lower_is_better)
    checks.assert_from_kata(pareto_frontier, KATA)
    inputs = {"points": rows, "lower_is_better": lower_is_better}
    if not isinstance(got, list) or not all(type(i) is int for i in got):
        checks.fail("pareto_frontier must return a list of Python ints (indices into points).",
                    f"got {got!r}", inputs=inputs,
                    hint="return the indices of the frontier's points, not the points; int(i) "
                         "turns NumPy integers into Python ints")
    if got == want:
        return
    if sorted(got) == want:
        checks.fail("pareto_frontier must return the indices in ascending order.",
                    f"got {got}, expected {want}", inputs=inputs)
    hint = explain(got, want, rows, flags)
    if got == frontier(rows, flags, "strict"):
        hint = ("a point is dominated already when it is no better in any objective and worse in "
                "one; you required the other point to be strictly better in every objective. " + hint)
    elif got == frontier(rows, flags, "weak"):
        hint = ("dominating needs strictly better in at least one objective: equal points must "
                "both stay. " + hint)
    elif any(not f for f in flags) and got == frontier(rows, [True] * d):
        hint = ("lower_is_better was ignored: a False objective (e.g. accuracy) is better when "
                "HIGHER. " + hint)
    checks.fail("pareto_frontier must keep exactly the points that no other point dominates.",
                f"got {got}, expected {want}", inputs=inputs, hint=hint)


def test_pareto_frontier_minimises_by_default():
    points = [(1.0, 5.0), (2.0, 2.0), (3.0, 3.0), (0.5, 9.0)]
    got = pareto_frontier(points)
    if got != [0, 1, 3]:
        checks.fail("pareto_frontier(points) must minimise every objective by default "
                    "(lower_is_better=True).", f"got {got!r}, expected [0, 1, 3]",
                    inputs={"points": points},
                    hint="lower_is_better defaults to True" if got == [0, 2, 3] else "")


@pytest.mark.parametrize(("points", "lower_is_better"), [
    ([(1.0, 2.0), (3.0,)], True),
    ([(1.0, float("nan")), (0.5, 1.0)], True),
    ([(1.0, float("inf")), (0.5, 1.0)], (True, False)),
    ([(1.0, 2.0), (2.0, 1.0)], (True,)),
    ([(1.0, 2.0), (2.0, 1.0)], (True, False, True)),
], ids=["ragged", "nan", "inf", "too_few_flags", "too_many_flags"])
def test_pareto_rejects_malformed_points(points, lower_is_better):
    exc = raised(lambda: pareto_frontier(points, lower_is_better))
    if not isinstance(exc, ValueError):
        checks.fail("pareto_frontier must raise ValueError for points of different lengths, a NaN "
                    "or an infinity, or a lower_is_better of the wrong length.",
                    f"pareto_frontier({points!r}, {lower_is_better!r}) gave "
                    f"{'no error' if exc is None else repr(exc)}",
                    hint="np.asarray(points, dtype=float) raises on ragged points; check np.isfinite "
                         "and the number of flags yourself")
    checks.assert_from_kata(pareto_frontier, KATA)


# ---------------------------------------------------------------- OlympicEvent

EVENTS = {
    "LATENCY_SPRINT": ("latency_sprint", (("accuracy", ">=", 0.85),)),
    "MEMORY_CHALLENGE": ("memory_challenge", (("accuracy", ">=", 0.85),)),
    "ACCURACY_CONTEST": ("accuracy_contest", (("latency_ms", "<", 100.0), ("memory_mb", "<", 10.0))),
    "ALL_AROUND": ("all_around", ()),
    "EXTREME_PUSH": ("extreme_push", (("accuracy", ">=", 0.8),)),
}


@pytest.mark.parametrize("member", list(EVENTS))
def test_olympic_event_values_and_constraints(member):
    value, constraints = EVENTS[member]
    event = getattr(OlympicEvent, member, None)
    got = event.constraints if event is not None else None
    if event is None or event.value != value:
        checks.fail(f"OlympicEvent.{member} must have the value {value!r}.",
                    f"got {None if event is None else event.value!r}",
                    hint="keep the members the stub gives (TinyTorch's values)")
    if not isinstance(got, tuple) or tuple(tuple(c) for c in got) != constraints or \
            not all(isinstance(c, tuple) for c in got):
        checks.fail(f"OlympicEvent.{member}.constraints must be {constraints!r}.", f"got {got!r}",
                    hint="a tuple of (metric, op, bound) tuples, as in the README's table")
    if len(OlympicEvent) != 5:
        checks.fail("OlympicEvent must have exactly the five documented members.",
                    f"got {[m.name for m in OlympicEvent]}")


METRICS = {"latency_ms": 2.0, "memory_mb": 0.25, "accuracy": 0.9}
BASELINE = {"latency_ms": 8.0, "memory_mb": 2.0, "accuracy": 0.96}
# speedup 4, compression 8, retention 0.9375: hand-computed scores
SCORES = {"LATENCY_SPRINT": 4.0, "MEMORY_CHALLENGE": 8.0, "ACCURACY_CONTEST": 0.9,
          "ALL_AROUND": 30.0 ** (1.0 / 3.0), "EXTREME_PUSH": 32.0}
INVERTED = "speedup and compression are baseline / yours (above 1 when you are faster or smaller)"
SCORE_HINTS = {
    "LATENCY_SPRINT": [(0.25, "speedup = baseline latency / your latency (above 1 when you are faster)"),
                       (8.0, "that is the compression: the latency sprint scores the speedup")],
    "MEMORY_CHALLENGE": [(0.125, "compression = baseline memory / your memory (above 1 when you are "
                                 "smaller)"),
                         (4.0, "that is the speedup: the memory challenge scores the compression")],
    "ACCURACY_CONTEST": [(0.9375, "the accuracy contest scores your accuracy itself, not the retention")],
    "ALL_AROUND": [((4.0 + 8.0 + 0.9375) / 3, "the all-around score is the GEOMETRIC mean (product "
                                              "** (1/3)), not the arithmetic mean"),
                   (30.0, "the all-around score is the cube root of speedup * compression * retention"),
                   ((4.0 * 8.0 / 0.9375) ** (1.0 / 3.0), "retention = your accuracy / the baseline's "
                                                         "accuracy"),
                   ((1 / 30.0) ** (1.0 / 3.0), INVERTED)],
    "EXTREME_PUSH": [(12.0, "the extreme push multiplies speedup and compression, it does not add them"),
                     (1 / 32.0, INVERTED)],
}


@pytest.mark.parametrize("member", list(EVENTS))
def test_olympic_event_scores(member):
    event = getattr(OlympicEvent, member)
    got = event.score(dict(METRICS), dict(BASELINE))
    check_number(got, SCORES[member], f"OlympicEvent.{member}.score(metrics, baseline)",
                 inputs={"metrics": METRICS, "baseline": BASELINE}, rtol=1e-12,
                 wrong=SCORE_HINTS[member], hint="see the README's table of scores")


@pytest.mark.parametrize(("member", "metrics", "broken"), [
    ("LATENCY_SPRINT", {"latency_ms": 1.0, "memory_mb": 1.0, "accuracy": 0.85}, []),
    ("LATENCY_SPRINT", {"latency_ms": 1.0, "memory_mb": 1.0, "accuracy": 0.8499}, ["accuracy >= 0.85"]),
    ("MEMORY_CHALLENGE", {"latency_ms": 1.0, "memory_mb": 1.0, "accuracy": 0.5}, ["accuracy >= 0.85"]),
    ("ACCURACY_CONTEST", {"latency_ms": 100.0, "memory_mb": 10.0, "accuracy": 1.0},
     ["latency_ms < 100.0", "memory_mb < 10.0"]),
    ("ACCURACY_CONTEST", {"latency_ms": 99.999, "memory_mb": 9.999, "accuracy": 0.1}, []),
    ("ACCURACY_CONTEST", {"latency_ms": 250.0, "memory_mb": 3.0, "accuracy": 0.99}, ["latency_ms < 100.0"]),
    ("ALL_AROUND", {"latency_ms": 1e9, "memory_mb": 1e9, "accuracy": 0.0}, []),
    ("EXTREME_PUSH", {"latency_ms": 1.0, "memory_mb": 1.0, "accuracy": 0.8}, []),
    ("EXTREME_PUSH", {"latency_ms": 1.0, "memory_mb": 1.0, "accuracy": 0.79}, ["accuracy >= 0.8"]),
], ids=["sprint_at_bound", "sprint_below", "memory_below", "contest_at_bounds", "contest_inside",
        "contest_slow", "all_around_free", "push_at_bound", "push_below"])
def test_olympic_event_violations_at_the_boundaries(member, metrics, broken):
    event = getattr(OlympicEvent, member)
    got = event.violations(dict(metrics))
    hint = ""
    if isinstance(got, list) and got != broken:
        at_bound = {f"{m} {op} {b}": metrics[m] == b for m, op, b in EVENTS[member][1]}
        extra = [v for v in got if v not in broken]
        missing = [v for v in broken if v not in got]
        strict_at_bound = [v for v, at in at_bound.items() if at and " < " in v]
        if any(at_bound.get(v) and ">=" in v for v in extra):
            hint = '">=" holds AT the bound: an accuracy of exactly the bound passes'
        elif strict_at_bound and not any(v in got for v in strict_at_bound):
            hint = '"<" is strict: a value exactly at the bound breaks the constraint'
        elif missing and not extra:
            hint = "list EVERY broken constraint, not only the first"
        elif sorted(got) == sorted(broken):
            hint = "keep the order of the event's constraints"
    if got != broken:
        checks.fail(f"OlympicEvent.{member}.violations(metrics) is wrong.",
                    f"got {got!r}, expected {broken!r}", inputs={"metrics": metrics},
                    hint=hint or 'a list of f"{metric} {op} {bound}" for each broken constraint, in '
                                 'the order of constraints')
    sat = event.satisfied(dict(metrics))
    if sat is not (not broken):
        checks.fail(f"OlympicEvent.{member}.satisfied(metrics) must be the bool `not violations`.",
                    f"got {sat!r}, expected {not broken!r}", inputs={"metrics": metrics})


@pytest.mark.parametrize(("member", "metrics", "baseline"), [
    ("LATENCY_SPRINT", {"latency_ms": 0.0, "memory_mb": 1.0, "accuracy": 0.9}, BASELINE),
    ("MEMORY_CHALLENGE", {"latency_ms": 1.0, "memory_mb": 0.0, "accuracy": 0.9}, BASELINE),
    ("EXTREME_PUSH", {"latency_ms": 1.0, "memory_mb": 0.0, "accuracy": 0.9}, BASELINE),
    ("ALL_AROUND", METRICS, {"latency_ms": 8.0, "memory_mb": 2.0, "accuracy": 0.0}),
], ids=["zero_latency", "zero_memory", "push_zero_memory", "zero_baseline_accuracy"])
def test_olympic_event_score_rejects_division_by_zero(member, metrics, baseline):
    event = getattr(OlympicEvent, member)
    exc = raised(lambda: event.score(dict(metrics), dict(baseline)))
    if not isinstance(exc, ValueError):
        checks.fail(f"OlympicEvent.{member}.score must raise ValueError when a ratio would divide "
                    "by zero.", f"got {'no error' if exc is None else repr(exc)}",
                    inputs={"metrics": metrics, "baseline": baseline},
                    hint="an infinite score is not a measurement (and not valid JSON): check the "
                         "denominator before dividing")
    free = OlympicEvent.ACCURACY_CONTEST.score({"latency_ms": 0.0, "memory_mb": 0.0, "accuracy": 0.7},
                                               dict(baseline))
    check_number(free, 0.7, "OlympicEvent.ACCURACY_CONTEST.score of a model with zero latency and "
                 "memory (it divides by nothing)", rtol=1e-12)
