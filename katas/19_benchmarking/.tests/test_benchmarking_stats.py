"""Hidden tests for t_critical and BenchmarkResult: every statistic against hand-computed
values and against NumPy (float64), the interval against the exact t quantile.

The learner's t comes from a 3-decimal table, so intervals are compared to within 1e-3 of
their half-width: tight enough to tell t from the normal 1.96 (at least 1% apart for the
counts drawn here), loose enough for any accurate t.
"""
import json
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.perf.benchmarking import T_TABLE_975, BenchmarkResult, t_critical
from benchmarking_kit import (F32, F64, Z, check_number, check_values, close, is_number, matching,
                              raised, stats_of, t_exact, t_one_sided, t_readme)

KATA = "19_benchmarking"

HINT_Z = ("1.96 is the normal quantile, right only for very many runs: use Student's t with "
          "count - 1 degrees of freedom, t_critical(count - 1)")
HINT_DF = "the degrees of freedom are count - 1, not count: use t_critical(count - 1)"
HINT_ONE_SIDED = ("that is the 0.95 quantile (a 90% interval): a two-sided 95% interval uses "
                  "the 0.975 quantile, T_TABLE_975")
HINT_NO_SQRT = ("the interval's half-width is t * std / sqrt(count) (the standard error of the "
                "mean), not t * std")
HINT_OVER_N = "the standard error of the mean is std / sqrt(count), not std / count"
HINT_DDOF0 = ("that is the population standard deviation (divided by count): the sample "
              "standard deviation divides by count - 1 (np.std(values, ddof=1))")
HINT_VARIANCE = "that is the variance: the standard deviation is its square root"
HINT_ONE_PASS = ("precision lost: this error is the size of the rounding of mean**2, as the "
                 "one-pass formula sum(x**2)/n - mean**2 gives; subtract the mean from every "
                 "value first, then square (two passes, as np.std does)")
HINT_UNSORTED = "the median is the middle of the SORTED values: sort them first"
HINT_EVEN = "for an even count the median is the mean of the two middle values"
HINT_SINGLE = ("with one value there is no spread to estimate: std is 0.0 and both interval "
               "bounds equal the mean (np.std(x, ddof=1) of one value is nan)")


# ---------------------------------------------------------------- t_critical

def _t_hints(df):
    wrong = [(Z, HINT_Z), (1.96, HINT_Z), (t_one_sided(df), HINT_ONE_SIDED)]
    if df < 30:
        wrong.append((T_TABLE_975[df], "the table starts at df = 1: T_TABLE_975[df - 1] is t_{0.975, df}"))
    if df > 30:
        wrong += [(T_TABLE_975[-1], "beyond df = 30 the table ends: use the two-term expansion"),
                  (Z + (Z ** 3 + Z) / (4 * df), "the expansion has two correction terms: add "
                   "(5 z**5 + 16 z**3 + 3 z) / (96 df**2)")]
    return wrong


def test_t_critical_uses_the_table_then_the_expansion():
    got = t_critical(9)  # runs your code first: the empty stub does not pass
    check_number(got, t_exact(9), "t_critical(9)", rtol=1e-3, atol=0, wrong=_t_hints(9))
    checks.assert_from_kata(t_critical, KATA)
    for df in list(range(1, 61)) + [75, 100, 150, 200, 500, 1000]:
        got = t_critical(df)
        check_number(got, t_exact(df), f"t_critical({df}), the 0.975 quantile of Student's t with "
                     f"{df} degrees of freedom,", rtol=1e-3, atol=0, wrong=_t_hints(df),
                     hint="use T_TABLE_975[df - 1] up to df = 30, the expansion beyond")
    got = t_critical(np.int64(12))
    check_number(got, t_exact(12), "t_critical(np.int64(12)) (a NumPy integer counts as an int)",
                 rtol=1e-3, atol=0)


@pytest.mark.parametrize("df", [0, -3, 2.5, "5"], ids=["0", "negative", "float", "str"])
def test_t_critical_rejects_bad_degrees_of_freedom(df):
    exc = raised(lambda: t_critical(df))
    if not isinstance(exc, ValueError):
        checks.fail(f"t_critical({df!r}) must raise ValueError: degrees of freedom are an int >= 1.",
                    f"got {'no error' if exc is None else repr(exc)}",
                    hint="check the type and the value of df before using it")


# ---------------------------------------------------------------- the statistics

def check_statistics(result, values, inputs, exp=None):
    """Every documented attribute of `result` against `exp` (the float64 oracle unless
    hand-computed values are given), one at a time."""
    exp = exp or stats_of(values)
    x = np.asarray(values, dtype=F64)
    n = x.size
    scale = max(1.0, float(np.max(np.abs(x))))
    check_number(result.count, n, "BenchmarkResult.count (the number of values)", inputs=inputs,
                 kind=int, rtol=0, atol=0)
    check_number(result.mean, exp["mean"], "BenchmarkResult.mean", inputs=inputs,
                 atol=1e-12 * scale,
                 wrong=[(float(np.median(x)), "that is the median: the mean is sum / count"),
                        (float(np.mean(x.astype(F32))), "computed in float32: statistics are computed "
                         "in float64 (np.asarray(values, dtype=np.float64))")])
    check_std(result.std, exp, x, inputs, scale)
    srt = np.sort(x)
    med_wrong = [(float(x[n // 2]), HINT_UNSORTED)]
    if n % 2 == 0:
        med_wrong += [(float(srt[n // 2]), HINT_EVEN), (float(srt[n // 2 - 1]), HINT_EVEN)]
    check_number(result.median, exp["median"], "BenchmarkResult.median", inputs=inputs,
                 atol=1e-12 * scale, wrong=med_wrong)
    check_number(result.min_val, exp["min_val"], "BenchmarkResult.min_val (the smallest value)",
                 inputs=inputs, rtol=0, atol=0)
    check_number(result.max_val, exp["max_val"], "BenchmarkResult.max_val (the largest value)",
                 inputs=inputs, rtol=0, atol=0)
    check_interval(result, exp, x, inputs)


def check_std(std, exp, x, inputs, scale):
    n, expected, what = x.size, exp["std"], "BenchmarkResult.std (the sample standard deviation)"
    if not is_number(std):
        checks.fail(f"{what} must be a Python float.", f"got {type(std).__name__}: {std!r}",
                    inputs=inputs, hint="convert NumPy scalars with float(...)")
    if n == 1 and std != 0:
        checks.fail("BenchmarkResult.std of a single value must be 0.0.", f"got {std!r}",
                    inputs=inputs, hint=HINT_SINGLE)
    if close(std, expected, 1e-9, 1e-12 * scale):
        return
    hint = ""
    if n > 1:
        hint = matching(std, expected, [(float(np.std(x)), HINT_DDOF0), (expected ** 2, HINT_VARIANCE)])
        var_err = abs(float(std) ** 2 - expected ** 2) if math.isfinite(std) else math.inf
        if not hint and var_err <= 64 * np.finfo(F64).eps * exp["mean"] ** 2:
            hint = HINT_ONE_PASS
    checks.fail(f"{what} is wrong.", f"got {float(std)!r}, expected {expected!r}", inputs=inputs,
                hint=hint or checks.precision_hint(np.asarray(float(std)), np.asarray(expected)))


def check_interval(result, exp, x, inputs):
    n, mean, std, half = x.size, exp["mean"], exp["std"], exp["half"]
    tol = 1e-3 * half + 1e-9 * max(1.0, abs(mean))
    wrong = []
    if n > 1:
        se = std / math.sqrt(n)
        wrong = [(Z * se, HINT_Z), (1.96 * se, HINT_Z), (t_readme(n) * se, HINT_DF),
                 (t_exact(n) * se, HINT_DF), (t_one_sided(n - 1) * se, HINT_ONE_SIDED),
                 (t_readme(n - 1) * std, HINT_NO_SQRT), (t_readme(n - 1) * std / n, HINT_OVER_N)]
    for attr, sign in (("ci_lower", -1), ("ci_upper", 1)):
        got = getattr(result, attr)
        expected = mean + sign * half
        what = (f"BenchmarkResult.{attr} (mean {'-' if sign < 0 else '+'} t_critical(count - 1) "
                f"* std / sqrt(count), a 95% interval)")
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            checks.fail(f"{what} must be a Python float.", f"got {type(got).__name__}: {got!r}",
                        inputs=inputs)
        if not (math.isfinite(got) and abs(got - expected) <= tol):
            got_half = sign * (got - mean) if math.isfinite(got) else float("nan")
            hint = HINT_SINGLE if n == 1 else matching(got_half, half, wrong, rtol=1e-4)
            if not hint and math.isfinite(got_half) and n > 1:
                lo, hi = result.ci_lower, result.ci_upper
                if is_finite_pair(lo, hi) and not math.isclose(mean - lo, hi - mean, rel_tol=1e-6):
                    hint = "the interval is symmetric around the mean: mean - h and mean + h"
            checks.fail(f"{what} is wrong.",
                        f"got {got!r}, expected {expected!r} (half-width {half:.6g}; yours "
                        f"{got_half:.6g})", inputs=inputs, hint=hint)


def is_finite_pair(a, b):
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in (a, b))


HAND = {
    # values, and the hand-computed mean, std, median, ci half-width (exact t)
    "one_to_five": [1.0, 2.0, 3.0, 4.0, 5.0],
    "single": [4.0],
    "two_values": [2.0, 8.0],
    "even_unsorted": [3.0, 1.0, 2.0, 10.0],
    "odd_unsorted": [9.0, 1.0, 2.0, 5.0, 7.0],
    "ten_runs": [5.0, 5.5, 4.5, 6.0, 5.0, 4.0, 5.5, 6.5, 5.0, 4.5],
    "small_spread_large_mean": [100000.001, 100000.002, 100000.004],
    "thirty_runs": [float(v) for v in range(1, 31)],
    "fifty_runs": [float((7 * v) % 13) for v in range(50)],
}
# Hand-computed for the first five: mean, sample std, median, half-width t * std / sqrt(n)
# (the others against NumPy).
HAND_EXPECTED = {
    "one_to_five": (3.0, math.sqrt(2.5), 3.0, 2.7764451052 * math.sqrt(2.5) / math.sqrt(5)),
    "single": (4.0, 0.0, 4.0, 0.0),
    "two_values": (5.0, math.sqrt(18.0), 5.0, 12.7062047362 * math.sqrt(18.0) / math.sqrt(2)),
    "even_unsorted": (4.0, math.sqrt(50.0 / 3.0), 2.5, 3.18244630528 * math.sqrt(50.0 / 3.0) / 2.0),
    "odd_unsorted": (4.8, math.sqrt(44.8 / 4.0), 5.0, 2.7764451052 * math.sqrt(44.8 / 4.0) / math.sqrt(5)),
}


@pytest.mark.parametrize("case", list(HAND), ids=list(HAND))
def test_statistics_on_hand_computed_examples(case):
    values = HAND[case]
    inputs = {"values": values}
    result = BenchmarkResult("latency_ms", list(values))
    exp = None
    if case in HAND_EXPECTED:  # judged against the hand computation itself
        mean, std, median, half = HAND_EXPECTED[case]
        exp = {"mean": mean, "std": std, "median": median, "min_val": min(values),
               "max_val": max(values), "half": half}
    check_statistics(result, values, inputs, exp)


def spread_lists():
    """Latency-like lists: a base with small offsets (some repeated), 1 to 40 values."""
    offsets = st.lists(st.sampled_from([0.0, 0.001, 0.0025, 0.01, 0.5, 1.0, 3.0]) | st.floats(0, 5),
                       min_size=1, max_size=40)
    return st.builds(lambda base, offs: [base + o for o in offs],
                     st.sampled_from([0.0, 1.0, 10.0, 1000.0, 123456.0]), offsets)


@settings(max_examples=30)
@given(values=st.lists(st.floats(-1000, 1000, allow_nan=False, allow_subnormal=False), min_size=1,
                       max_size=60) | spread_lists())
@example(values=[0.1, 0.2, 0.3])
@example(values=[7.25, 7.25, 7.25, 7.25])
@example(values=[1e6 + 0.1, 1e6 + 0.3, 1e6 + 0.2, 1e6 + 0.6])
@example(values=[float(v % 7) for v in range(35)])
def test_statistics_match_numpy_on_random_lists(values):
    result = BenchmarkResult("m", list(values))
    check_statistics(result, values, {"values": values})


@pytest.mark.parametrize("kind", ["float32 ndarray", "tuple", "list of ints", "float64 ndarray"])
def test_values_are_stored_as_a_list_of_python_floats(kind):
    raw = [3.5, 1.25, 2.0, 8.0]
    given_values = {"float32 ndarray": np.array(raw, F32), "tuple": tuple(raw),
                    "list of ints": [4, 1, 2, 8], "float64 ndarray": np.array(raw, F64)}[kind]
    result = BenchmarkResult("m", given_values)
    expected = [float(v) for v in np.asarray(given_values, F64)]
    check_values(result.values, expected, f"BenchmarkResult.values (given a {kind})",
                 inputs={"values": given_values})
    check_statistics(result, expected, {"values": given_values})
    if result.metric_name != "m":
        checks.fail("BenchmarkResult.metric_name must be the name given.",
                    f"got {result.metric_name!r}, expected 'm'")


@pytest.mark.parametrize("values", [[], [1.0, float("nan")], [float("inf"), 2.0], [-float("inf")]],
                         ids=["empty", "nan", "inf", "minus_inf"])
def test_empty_or_non_finite_values_raise(values):
    exc = raised(lambda: BenchmarkResult("m", values))
    if not isinstance(exc, ValueError):
        checks.fail("BenchmarkResult must raise ValueError for empty or non-finite values.",
                    f"BenchmarkResult('m', {values!r}) gave {'no error' if exc is None else repr(exc)}",
                    hint="a statistic of no values, or of a NaN, is not a measurement: check "
                         "len(values) and np.isfinite before computing anything")


def test_each_result_gets_its_own_metadata():
    a = BenchmarkResult("a", [1.0, 2.0])
    b = BenchmarkResult("b", [1.0, 2.0])
    if not isinstance(a.metadata, dict) or a.metadata != {}:
        checks.fail("BenchmarkResult.metadata must default to an empty dict.", f"got {a.metadata!r}")
    a.metadata["model"] = "first"
    if b.metadata != {}:
        checks.fail("Each BenchmarkResult must get its own metadata dict.",
                    f"after a.metadata['model'] = 'first', b.metadata is {b.metadata!r}",
                    hint="a default argument `metadata={}` is created once and shared by every "
                         "call: default to None and make a new dict inside")
    given_meta = {"model": "m", "unit": "ms"}
    c = BenchmarkResult("c", [1.0], given_meta)
    if c.metadata != given_meta:
        checks.fail("BenchmarkResult.metadata must hold the metadata given.",
                    f"got {c.metadata!r}, expected {given_meta!r}")


@settings(max_examples=20)
@given(values=st.lists(st.floats(0, 100, allow_subnormal=False), min_size=1, max_size=30),
       p=st.sampled_from([0.0, 10.0, 25.0, 50.0, 90.0, 99.0, 100.0]) | st.floats(0, 100))
@example(values=[1.0, 2.0, 3.0, 4.0], p=90.0)
@example(values=[10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0], p=99.0)
@example(values=[5.0, 1.0, 4.0], p=50.0)
def test_percentile_is_numpys_linear_rule(values, p):
    result = BenchmarkResult("m", list(values))
    got = result.percentile(p)
    x = np.asarray(values, F64)
    wrong = [(float(np.percentile(x, p, method="nearest")), "that is the nearest-rank "
              "percentile: use NumPy's default linear interpolation, np.percentile(values, p)"),
             (float(np.percentile(x, p, method="lower")), "that rounds down to a value: "
              "interpolate linearly between neighbours (np.percentile's default)"),
             (float(np.percentile(x, p, method="higher")), "that rounds up to a value: "
              "interpolate linearly between neighbours (np.percentile's default)")]
    check_number(got, float(np.percentile(x, p)), f"BenchmarkResult.percentile({p!r})",
                 inputs={"values": values}, atol=1e-12 * max(1.0, float(np.max(np.abs(x)))),
                 wrong=wrong, hint="percentile(p) is np.percentile(values, p), p from 0 to 100")


KEYS = ["metric_name", "values", "mean", "std", "median", "min", "max", "count", "ci_lower",
        "ci_upper", "p90", "p99", "metadata"]


def test_to_dict_has_the_documented_keys_and_is_json():
    values = [2.0, 4.0, 4.0, 5.0, 9.0]
    result = BenchmarkResult("base_latency_ms", np.array(values, F32), {"model": "base"})
    d = result.to_dict()
    if not isinstance(d, dict) or sorted(d) != sorted(KEYS):
        got = sorted(d) if isinstance(d, dict) else type(d).__name__
        checks.fail("to_dict() must return a dict with exactly the documented keys.",
                    f"got {got}\nexpected {sorted(KEYS)}",
                    hint="min and max are under the keys 'min' and 'max' (the attributes are "
                         "min_val and max_val); p90 and p99 are percentile(90) and percentile(99)")
    exp = stats_of(values)
    attrs = {"metric_name": "base_latency_ms", "mean": exp["mean"], "std": exp["std"],
             "median": exp["median"], "min": exp["min_val"], "max": exp["max_val"], "count": 5,
             "p90": float(np.percentile(values, 90)), "p99": float(np.percentile(values, 99))}
    for key, value in attrs.items():
        if key == "metric_name":
            if d[key] != value:
                checks.fail("to_dict()['metric_name'] must be the metric's name.", f"got {d[key]!r}")
            continue
        check_number(d[key], value, f"to_dict()[{key!r}]", kind=int if key == "count" else float,
                     inputs={"values": values})
    for key in ("ci_lower", "ci_upper"):
        check_number(d[key], getattr(result, key), f"to_dict()[{key!r}] (equal to result.{key})")
    check_values(d["values"], values, "to_dict()['values']", inputs={"values": values})
    if d["metadata"] != {"model": "base"}:
        checks.fail("to_dict()['metadata'] must be the result's metadata.", f"got {d['metadata']!r}")
    try:
        text = json.dumps(d, allow_nan=False)
    except (TypeError, ValueError) as exc:
        checks.fail("to_dict() must give plain JSON values (json.dumps must accept it).",
                    f"json.dumps raised {exc!r}",
                    hint="convert NumPy numbers with float(...) / int(...), and arrays to lists")
    if json.loads(text) != d:
        checks.fail("to_dict() must survive a JSON round trip unchanged.",
                    f"json.loads(json.dumps(d)) = {json.loads(text)!r}\nd = {d!r}",
                    hint="use lists, not tuples, and Python numbers")
    d["mean"] = -1.0
    d["values"].append(99.0)
    again = result.to_dict()
    if again["mean"] != result.mean or len(again["values"]) != 5:
        checks.fail("to_dict() must return a new dict (and a new values list) at every call.",
                    "after changing the dict returned once, the next to_dict() changed too",
                    hint="build the dict, and a copy of the values list, inside to_dict()")
