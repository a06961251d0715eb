"""Hidden tests for MLPerf: the report of an Olympic event on three fake models whose
latencies, accuracies and sizes the test chose, field by field, then as JSON."""
import inspect
import json
import os
import platform
import time

import numpy as np
import pytest

from pytest_tinytorch import checks
from tinytorch.perf.benchmarking import MLPerf, OlympicEvent
from benchmarking_kit import (F32, MB, Fake, FakeClock, check_number, check_values, json_problem,
                              raised, stats_of)

KATA = "19_benchmarking"
WARMUP, RUNS = 1, 4
SHAPE = (1, 2)
LABELS = [np.array([0, 1, 1, 0]), np.array([1, 1, 0, 0])]
# name: (measured seconds per run, correct samples per dataset (of 4), stored bytes)
SPECS = {
    "base": ([0.010, 0.012, 0.011, 0.013], (4, 4), 12 * MB),
    "fast": ([0.004, 0.005, 0.004, 0.005], (3, 4), 6 * MB),
    "tiny": ([0.008, 0.009, 0.007, 0.008], (3, 3), 1 * MB),
    "slow": ([0.012, 0.014, 0.013, 0.013], (4, 3), 12 * MB),
}
# latency means 11.5, 4.5, 8, 13 ms; accuracies 1.0, 0.875, 0.75, 0.875; memory 12, 6, 1, 12 MB.
WINNERS = {"latency_sprint": "fast", "memory_challenge": "fast", "accuracy_contest": "fast",
           "all_around": "tiny", "extreme_push": "fast"}
FRONTIER = ["base", "fast", "tiny"]  # slow is dominated by base and by fast
WRONG_WAY = ["fast", "tiny"]  # what accuracy-as-lower-is-better gives: base "dominated" by fast


def _logits(labels, correct):
    out = np.eye(2, dtype=F32)[labels]
    out[correct:] = out[correct:, ::-1]  # the last samples predicted wrong
    return out


def scenario(specs=SPECS, log=None):
    """Fresh fake models, datasets and clock (two datasets of 4 samples each)."""
    clock = FakeClock()
    datasets = [(np.full((4, 2), d + 1.0, F32), LABELS[d]) for d in range(2)]
    models = []
    for name, (secs, correct, nbytes) in specs.items():
        outs = {d + 1.0: _logits(LABELS[d], correct[d]) for d in range(2)}

        def respond(x, outs=outs):
            return outs.get(float(np.asarray(x.data).flat[0]), x)

        models.append(Fake(name, clock=clock, durations=[0.25] * WARMUP + list(secs), respond=respond,
                           memory=nbytes, log=log))
    return clock, models, datasets


def means(specs=SPECS):
    return {n: {"latency_ms": float(np.mean(np.asarray(s) * 1000)), "memory_mb": b / MB,
                "accuracy": float(np.mean([c / 4 for c in cor]))} for n, (s, cor, b) in specs.items()}


def run_report(event, specs=SPECS, baseline=None, **kw):
    clock, models, datasets = scenario(specs)
    perf = MLPerf(event, warmup_runs=WARMUP, measurement_runs=RUNS, clock=clock, **kw)
    run = perf.run(models, datasets, SHAPE) if baseline is None else \
        perf.run(models, datasets, SHAPE, baseline=baseline)
    return run, models


SYSTEM = {"platform": platform.platform(), "processor": platform.processor(),
          "python_version": platform.python_version(), "cpu_count": os.cpu_count() or 1,
          "numpy_version": np.__version__}
TOP_KEYS = ["schema_version", "event", "random_seed", "system", "protocol", "baseline", "models",
            "pareto_frontier", "winner"]
ENTRY_KEYS = ["latency_ms", "accuracy", "memory_mb", "score", "constraints_met", "violations"]


def check_result_dict(got, values, metric_name, unit, where):
    """A to_dict() inside the report, against the oracle's statistics."""
    if not isinstance(got, dict):
        checks.fail(f"{where} must be the result's to_dict().", f"got {got!r}")
    exp = stats_of(values)
    check_values(got.get("values"), values, f"{where}['values']", rtol=1e-9, atol=1e-9)
    for key, attr in (("mean", "mean"), ("std", "std"), ("median", "median"), ("min", "min_val"),
                      ("max", "max_val")):
        check_number(got.get(key), exp[attr], f"{where}[{key!r}]", atol=1e-9)
    half = exp["half"]
    for key, sign in (("ci_lower", -1), ("ci_upper", 1)):
        check_number(got.get(key), exp["mean"] + sign * half, f"{where}[{key!r}]", rtol=0,
                     atol=1e-3 * half + 1e-9)
    if got.get("count") != len(values) or got.get("metric_name") != metric_name:
        checks.fail(f"{where} has the wrong count or metric_name.",
                    f"got count {got.get('count')!r}, metric_name {got.get('metric_name')!r}; expected "
                    f"{len(values)}, {metric_name!r}")
    if not isinstance(got.get("metadata"), dict) or got["metadata"].get("unit") != unit:
        checks.fail(f"{where}['metadata'] must be the result's metadata.", f"got {got.get('metadata')!r}")


@pytest.mark.parametrize("event", list(WINNERS))
def test_mlperf_report_fields(event):
    report, models = run_report(event, random_seed=5)
    inputs = {"event": event, "models (latency ms, accuracy, MB)": {
        n: (m["latency_ms"], m["accuracy"], m["memory_mb"]) for n, m in means().items()}}
    if not isinstance(report, dict) or sorted(report) != sorted(TOP_KEYS):
        checks.fail("MLPerf.run must return the documented report: a dict with exactly these keys.",
                    f"got {list(report) if isinstance(report, dict) else report!r}\n"
                    f"expected {TOP_KEYS}", inputs=inputs,
                    hint="no extra fields (a timestamp would make two equal runs differ)")
    head = {k: report[k] for k in ("schema_version", "event", "random_seed", "baseline")}
    want = {"schema_version": 1, "event": event, "random_seed": 5, "baseline": "base"}
    if head != want:
        why = {"schema_version": "schema_version is the int 1 (the version of this report format)",
               "event": "event is the event's value (its .value, e.g. 'latency_sprint'), not its name",
               "random_seed": "random_seed is the seed MLPerf was given",
               "baseline": "baseline defaults to the first model's name"}
        checks.fail("The report's schema_version, event, random_seed and baseline are wrong.",
                    f"got {head}\nexpected {want}", inputs=inputs,
                    hint="; ".join(why[k] for k in want if head[k] != want[k] or type(head[k]) is not type(want[k])))
    if report["system"] != SYSTEM:
        checks.fail("report['system'] must be Benchmark.system_info.", f"got {report['system']!r}")
    protocol = {"warmup_runs": WARMUP, "measurement_runs": RUNS, "input_shape": list(SHAPE),
                "num_datasets": 2, "confidence_level": 0.95, "interval": "student_t"}
    got_protocol = report["protocol"] if isinstance(report["protocol"], dict) else {}
    if report["protocol"] != protocol:
        why = {"warmup_runs": "the warm-up runs MLPerf was given",
               "measurement_runs": "the measured runs MLPerf was given",
               "input_shape": "input_shape as a list of ints", "num_datasets": "len(datasets)",
               "confidence_level": "confidence_level is the fraction 0.95",
               "interval": "interval is the str 'student_t'"}
        checks.fail("report['protocol'] is wrong.", f"got {report['protocol']!r}\nexpected {protocol!r}",
                    inputs=inputs, hint="; ".join(why[k] for k in protocol if got_protocol.get(k) != protocol[k])
                    or "exactly the documented keys")
    x = models[0].calls[0]["x"]
    checks.check_array(x, np.random.default_rng(5).standard_normal(SHAPE).astype(F32),
                       "the latency input of MLPerf(random_seed=5).run", rtol=0, atol=0,
                       hint="run benchmarks with BenchmarkSuite(..., seed=random_seed)")
    entries = report["models"]
    if not isinstance(entries, dict) or list(entries) != list(SPECS):
        checks.fail("report['models'] must have one entry per model, in model order.",
                    f"got {list(entries) if isinstance(entries, dict) else entries!r}")
    ev = OlympicEvent(event)
    m = means()
    for name, (secs, correct, nbytes) in SPECS.items():
        entry = entries[name]
        where = f"report['models'][{name!r}]"
        if not isinstance(entry, dict) or sorted(entry) != sorted(ENTRY_KEYS):
            checks.fail(f"{where} must have exactly the keys {ENTRY_KEYS}.",
                        f"got {list(entry) if isinstance(entry, dict) else entry!r}")
        check_result_dict(entry["latency_ms"], [s * 1000 for s in secs], f"{name}_latency_ms", "ms",
                          where + "['latency_ms']")
        check_result_dict(entry["accuracy"], [c / 4 for c in correct], f"{name}_accuracy", "fraction",
                          where + "['accuracy']")
        check_result_dict(entry["memory_mb"], [nbytes / MB], f"{name}_memory_mb", "MB",
                          where + "['memory_mb']")
        score = ev.score(m[name], m["base"])
        check_number(entry["score"], score, f"{where}['score'] ({event})", inputs=inputs, rtol=1e-9,
                     wrong=[(ev.score(m[name], m["tiny"]), "the score compares with the BASELINE's "
                             "means (the first model by default), not with the last model"),
                            (ev.score(m["base"], m[name]), "score(metrics, baseline): the model's "
                             "own means first, the baseline's second")],
                     hint="the event's score of the model's three means against the baseline's means")
        broken = ev.violations(m[name])
        if entry["violations"] != broken or entry["constraints_met"] is not (not broken):
            checks.fail(f"{where}'s violations and constraints_met are wrong.",
                        f"got violations {entry['violations']!r}, constraints_met "
                        f"{entry['constraints_met']!r}\nexpected {broken!r}, {not broken!r}", inputs=inputs,
                        hint="the event's violations(...) of the three means; constraints_met is a "
                             "Python bool, True when there are none")
    check_frontier(report, inputs)
    check_winner(report, WINNERS[event], inputs)


def check_frontier(report, inputs):
    got = report["pareto_frontier"]
    if got != FRONTIER:
        hint = ""
        if got == WRONG_WAY:
            hint = ("accuracy is better when HIGHER: pareto_frontier(points, (True, True, False)) on "
                    "(latency_ms, memory_mb, accuracy)")
        elif got == [0, 1, 2]:
            hint = "the report lists model NAMES: map the frontier's indices to names"
        checks.fail("report['pareto_frontier'] must name, in model order, the models no other model "
                    "dominates in (latency_ms, memory_mb, accuracy).",
                    f"got {got!r}, expected {FRONTIER!r}", inputs=inputs, hint=hint)


def check_winner(report, want, inputs):
    got = report["winner"]
    if got != want:
        entries = report["models"]
        by_score = max(entries, key=lambda n: entries[n]["score"])
        ok = [n for n in entries if entries[n]["constraints_met"]]
        hint = ""
        if got == by_score and not entries[by_score]["constraints_met"]:
            hint = (f"{got!r} has the best score but breaks the event's constraints: only models "
                    "whose constraints_met is True can win")
        elif got in ok and got == min(ok, key=lambda n: entries[n]["score"]):
            hint = "a higher score is better in every event: the winner has the highest"
        elif got in ok and want in ok and entries[got]["score"] == entries[want]["score"]:
            hint = "on a tie the first model in model order wins"
        checks.fail("report['winner'] is wrong.", f"got {got!r}, expected {want!r}\nscores: "
                    f"{ {n: (e['score'], e['constraints_met']) for n, e in entries.items()} }",
                    inputs=inputs, hint=hint or "the highest score among the models that meet the "
                                                "constraints; None when none does")


def test_mlperf_stores_the_event_and_its_defaults():
    perf = MLPerf("memory_challenge")
    if getattr(perf, "event", None) is not OlympicEvent.MEMORY_CHALLENGE:
        checks.fail("MLPerf(event) must store the OlympicEvent member as self.event, also when given "
                    "its value.", f"MLPerf('memory_challenge').event is {getattr(perf, 'event', None)!r}",
                    hint="OlympicEvent(value) turns a value into its member (and keeps a member)")
    member = MLPerf(OlympicEvent.ALL_AROUND)
    if getattr(member, "event", None) is not OlympicEvent.ALL_AROUND:
        checks.fail("MLPerf(OlympicEvent.ALL_AROUND).event must be that member.",
                    f"got {getattr(member, 'event', None)!r}")
    exc = raised(lambda: MLPerf("sprint"))
    if not isinstance(exc, ValueError):
        checks.fail("MLPerf with an unknown event must raise ValueError.",
                    f"MLPerf('sprint') gave {'no error' if exc is None else repr(exc)}")
    params = inspect.signature(MLPerf).parameters
    want = {"random_seed": 42, "warmup_runs": 5, "measurement_runs": 10, "clock": time.perf_counter}
    got = {k: params[k].default if k in params else "(missing)" for k in want}
    if got != want:
        checks.fail("MLPerf's defaults are wrong.", f"got {got}\nexpected {want}")
    checks.assert_from_kata(MLPerf, KATA)


def test_mlperf_winner_ties_and_none():
    twins = {"first": ([0.004] * 4, (4, 4), 2 * MB), "second": ([0.002] * 4, (4, 4), 2 * MB)}
    report, _ = run_report("memory_challenge", twins)
    if report["winner"] != "first":
        checks.fail("On a tie of scores the first model in model order must win.",
                    f"two models of equal memory (score 1.0 each): winner {report['winner']!r}, "
                    "expected 'first'", hint="max() returns the first of equal maxima; a `>=` "
                                             "comparison in a loop keeps the last")
    weak = {"a": ([0.004] * 4, (2, 2), 2 * MB), "b": ([0.002] * 4, (3, 2), 1 * MB)}
    report, _ = run_report("latency_sprint", weak)
    entries = report["models"]
    if report["winner"] is not None:
        checks.fail("When no model meets the event's constraints, the winner must be None.",
                    f"accuracies 0.5 and 0.625 (the sprint needs >= 0.85): winner {report['winner']!r}",
                    hint="only models whose constraints_met is True can win")
    for name in weak:
        if entries[name]["violations"] != ["accuracy >= 0.85"] or entries[name]["constraints_met"] is not False:
            checks.fail(f"report['models'][{name!r}] must list its violation.",
                        f"got {entries[name]['violations']!r}, {entries[name]['constraints_met']!r}")


def test_mlperf_baseline_is_the_first_model_or_the_one_named():
    report, _ = run_report("latency_sprint", baseline="fast")
    m = means()
    if report["baseline"] != "fast":
        checks.fail("report['baseline'] must be the baseline given.", f"got {report['baseline']!r}")
    for name in SPECS:
        want = OlympicEvent.LATENCY_SPRINT.score(m[name], m["fast"])
        check_number(report["models"][name]["score"], want,
                     f"report['models'][{name!r}]['score'] with baseline='fast'", rtol=1e-9,
                     wrong=[(OlympicEvent.LATENCY_SPRINT.score(m[name], m["base"]),
                             "the scores must compare with the baseline given, not the first model")])
    clock, models, datasets = scenario()
    perf = MLPerf("latency_sprint", warmup_runs=WARMUP, measurement_runs=RUNS, clock=clock)
    exc = raised(lambda: perf.run(models, datasets, SHAPE, baseline="nope"))
    if not isinstance(exc, ValueError):
        checks.fail("An unknown baseline must raise ValueError.",
                    f"baseline='nope' gave {'no error' if exc is None else repr(exc)}")
    if any(model.calls for model in models):
        checks.fail("An unknown baseline must be rejected before any model is called.",
                    f"calls made: {[len(model.calls) for model in models]}",
                    hint="check the baseline's name first: a long benchmark should not run only to fail")


def test_mlperf_report_is_plain_json():
    report, _ = run_report("extreme_push")
    problem = json_problem(report)
    if problem:
        checks.fail("The report must hold plain JSON values only (dict, list, str, int, float, bool, "
                    "None).", problem,
                    hint="convert tuples to lists and NumPy numbers and bools with float(), int(), bool()")
    try:
        again = json.loads(json.dumps(report, allow_nan=False))
    except (TypeError, ValueError) as exc:
        checks.fail("json.dumps must accept the report.", repr(exc))
    if again != report:
        checks.fail("The report must survive a JSON round trip unchanged.",
                    "json.loads(json.dumps(report)) differs from report")


def test_generate_compliance_report_writes_the_json(tmp_path):
    clock, models, datasets = scenario()
    perf = MLPerf("all_around", warmup_runs=WARMUP, measurement_runs=RUNS, clock=clock)
    report = perf.run(models, datasets, SHAPE)
    path = tmp_path / "submission.json"
    text = perf.generate_compliance_report(report, str(path))
    want = json.dumps(report, indent=2, allow_nan=False)
    if text != want:
        checks.fail("generate_compliance_report must return the JSON text it wrote: "
                    "json.dumps(report, indent=2, allow_nan=False).",
                    f"got {text[:200]!r}...", hint="return the same text you write")
    if not path.is_file() or path.read_text(encoding="utf-8") != want:
        checks.fail("generate_compliance_report must write the report's JSON to output_path.",
                    f"{path.name}: {path.read_text()[:200] if path.is_file() else 'not written'}")
    default = inspect.signature(perf.generate_compliance_report).parameters.get("output_path")
    if default is None or default.default != "mlperf_report.json":
        checks.fail("generate_compliance_report's output_path must default to 'mlperf_report.json'.",
                    f"got {None if default is None else default.default!r}")


def test_same_inputs_give_the_same_report():
    first, _ = run_report("accuracy_contest")
    second, _ = run_report("accuracy_contest")
    if first != second:
        diff = [k for k in first if first.get(k) != second.get(k)] if isinstance(first, dict) else []
        checks.fail("The same models, datasets, seed and clock must give the same report.",
                    f"two runs differ in {diff}",
                    hint="nothing but the given clock may be read, and nothing random but the seeded "
                         "input: no timestamps, no unseeded draws")
