"""Hidden tests for check_event (exact at the bounds), generate_submission (the documented
fields, plain JSON), validate_submission (each bad field named), save_submission (atomic,
validated, round trip) and load_submission."""
import copy
import json
import os
import re

import numpy as np
import pytest

from pytest_tinytorch import checks
from tinytorch.olympics import (check_event, generate_submission, load_submission, save_submission,
                                validate_submission)
from olympics_kit import BOUNDS, digits, grader_baseline, grader_size, one_blas_thread, raised

KATA = "20_capstone"
ORDER = ("speedup", "compression_ratio", "accuracy_delta")


@pytest.fixture(scope="module", autouse=True)
def session():
    # Autograd on for training; one BLAS thread so that timings stay steady on a busy machine.
    with checks.autograd_session(), one_blas_thread():
        yield


# ---------------------------------------------------------------- check_event

def _at_bounds(event, nudge=None, by=0.0):
    """Metrics exactly at every bound of the event (unconstrained ones comfortably fine)."""
    metrics = {m: (b if b is not None else 1.0) for m, b in BOUNDS[event].items()}
    if nudge:
        metrics[nudge] += by
    return metrics


@pytest.mark.parametrize("event", list(BOUNDS))
def test_check_event_values_exactly_at_the_bounds_pass(event):
    metrics = _at_bounds(event)
    got = check_event(event, metrics)
    checks.assert_from_kata(check_event, KATA)
    if got != []:
        checks.fail(f"check_event({event!r}, metrics) must pass values exactly at their bounds (>=, not >)",
                    f"got {got!r}, expected []", inputs={"metrics": metrics})
    # 0.85 - 0.9 is -0.05000000000000004: a bound missed by float rounding only still holds
    rounded = {m: (v - 1e-10 if BOUNDS[event][m] is not None else v) for m, v in metrics.items()}
    got = check_event(event, rounded)
    if got != []:
        checks.fail(f"check_event({event!r}, ...) must allow SLACK = 1e-9 below a bound for float rounding",
                    f"got {got!r}, expected [] for values 1e-10 below their bounds", inputs={"metrics": rounded},
                    hint="a constraint holds when value >= bound - SLACK: 0.85 - 0.9 is -0.05000000000000004")


@pytest.mark.parametrize("event,metric", [(e, m) for e in BOUNDS for m in ORDER if BOUNDS[e][m] is not None])
def test_check_event_reports_a_value_just_below_its_bound(event, metric):
    metrics = _at_bounds(event, metric, -1e-6)
    got = check_event(event, metrics)
    want = [f"{metric} >= {BOUNDS[event][metric]}"]
    if got != want:
        checks.fail(f"check_event({event!r}, metrics) must report {metric} 1e-6 below its bound, as the text "
                    f"f\"{{metric}} >= {{bound}}\"", f"got {got!r}, expected {want!r}", inputs={"metrics": metrics},
                    hint="SLACK is 1e-9: a value 1e-6 below the bound is a real miss" if got == [] else "")


def test_check_event_lists_every_broken_constraint_in_order():
    metrics = {"speedup": 1.0, "compression_ratio": 1.0, "accuracy_delta": -0.2}
    got = check_event("all_around", metrics)
    want = ["speedup >= 1.5", "compression_ratio >= 2.0", "accuracy_delta >= -0.03"]
    if got != want:
        checks.fail("check_event must list every broken constraint, in the order speedup, compression_ratio, "
                    "accuracy_delta", f"got {got!r}, expected {want!r}", inputs={"metrics": metrics})
    got = check_event("memory_challenge", {"speedup": 0.01, "compression_ratio": 6.0, "accuracy_delta": 0.0})
    if got != []:
        checks.fail("check_event must skip the constraints that are None (memory_challenge has no speedup bound)",
                    f"got {got!r} for a speedup of 0.01", hint="None means the event does not constrain that metric")


def test_check_event_accepts_the_olympic_event_member_and_rejects_unknown_events():
    from tinytorch.perf.benchmarking import OlympicEvent
    metrics = {"speedup": 1.0, "compression_ratio": 1.0, "accuracy_delta": 0.0}
    got = check_event(OlympicEvent.LATENCY_SPRINT, metrics)
    if got != ["speedup >= 2.0"]:
        checks.fail("check_event(OlympicEvent.LATENCY_SPRINT, ...) must judge the latency sprint",
                    f"got {got!r}, expected ['speedup >= 2.0']")
    for bad in ("extreme_push", "sprint"):
        error = raised(check_event, bad, metrics)
        if not isinstance(error, ValueError):
            checks.fail(f"check_event({bad!r}, ...) must raise ValueError (not one of the four graded events)",
                        f"got {type(error).__name__ if error else 'no error'}")


# ---------------------------------------------------------------- generate_submission

_PAIR = {}


def pair():
    """A trained baseline and a pruned copy (not fine-tuned: fields, not quality, are judged here)."""
    if not _PAIR:
        from tinytorch.perf.compression import structured_prune
        base = grader_baseline()
        _PAIR["models"] = (base, structured_prune(copy.deepcopy(base), prune_ratio=0.5))
    return _PAIR["models"]


KEYS = ["schema_version", "event", "author", "techniques", "baseline", "optimized", "improvements",
        "constraints_met", "violations"]


def _plain(value, path="submission"):
    """The first value that is not plain JSON (dict, list, str, int, float, bool, None)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"{path} has the key {k!r}"
            found = _plain(v, f"{path}.{k}")
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = _plain(v, f"{path}[{i}]")
            if found:
                return found
    elif value is not None and type(value) not in (str, int, float, bool):
        return f"{path} is a {type(value).__name__}: {value!r}"
    return ""


def test_generate_submission_has_the_documented_fields():
    from tinytorch.perf.benchmarking import OlympicEvent
    base, small = pair()
    techniques = ("structured_prune",)
    sub = generate_submission(OlympicEvent.ALL_AROUND, base, small, techniques=techniques, author="ada")
    checks.assert_from_kata(generate_submission, KATA)
    if not isinstance(sub, dict) or list(sub) != KEYS:
        checks.fail("generate_submission must return a dict with exactly the README's keys, in that order",
                    f"got keys {list(sub) if isinstance(sub, dict) else type(sub).__name__}, expected {KEYS}")
    bad = _plain(sub)
    if bad:
        checks.fail("the submission must hold plain JSON values only (no tuples, no NumPy types)", bad,
                    hint="convert with float(...), int(...), list(...)")
    want = {"schema_version": 1, "event": "all_around", "author": "ada", "techniques": ["structured_prune"]}
    for key, value in want.items():
        if sub[key] != value:
            checks.fail(f"the submission's {key} must be {value!r}", f"got {sub[key]!r}",
                        hint="the event's name (its value), also when given an OlympicEvent member"
                        if key == "event" else "")
    for side, model in (("baseline", base), ("optimized", small)):
        if not isinstance(sub[side], dict) or sorted(sub[side]) != ["accuracy", "size_bytes"]:
            checks.fail(f"{side} must be a dict with the keys accuracy and size_bytes", f"got {sub[side]!r}")
        if sub[side]["size_bytes"] != grader_size(model):
            checks.fail(f"{side}.size_bytes must be model_size_bytes of the {side} model",
                        f"got {sub[side]['size_bytes']!r}, expected {grader_size(model)}")
    imp = sub["improvements"]
    if not isinstance(imp, dict) or list(imp) != list(ORDER):
        checks.fail("improvements must be a dict with the keys speedup, compression_ratio, accuracy_delta",
                    f"got {imp!r}")
    ratio = sub["baseline"]["size_bytes"] / sub["optimized"]["size_bytes"]
    if not np.isclose(imp["compression_ratio"], ratio, rtol=1e-9):
        checks.fail("compression_ratio must be baseline.size_bytes / optimized.size_bytes",
                    f"got {imp['compression_ratio']!r}, expected {ratio!r}",
                    hint="inverted: the ratio is above 1 when the optimized model is smaller"
                    if np.isclose(imp["compression_ratio"], 1 / ratio) else "")
    delta = sub["optimized"]["accuracy"] - sub["baseline"]["accuracy"]
    if abs(imp["accuracy_delta"] - delta) > 1e-9:
        checks.fail("accuracy_delta must be optimized.accuracy - baseline.accuracy (a fraction)",
                    f"got {imp['accuracy_delta']!r}, expected {delta!r}",
                    hint="a fraction, not points" if np.isclose(imp["accuracy_delta"], 100 * delta) else "")
    violations = check_event("all_around", imp)
    if sub["violations"] != violations or sub["constraints_met"] is not (not violations):
        checks.fail("violations must be check_event(event, improvements) and constraints_met True exactly "
                    "when it is empty", f"got violations {sub['violations']!r}, constraints_met "
                    f"{sub['constraints_met']!r}; check_event gives {violations!r}")
    if json.loads(json.dumps(sub)) != sub:
        checks.fail("the submission must survive a JSON round trip unchanged", "json.loads(json.dumps(s)) != s")
    validate_submission(sub)


def test_generate_submission_gives_a_new_techniques_list():
    base, small = pair()
    techniques = ["prune"]
    sub = generate_submission("latency_sprint", base, small, techniques=techniques)
    if sub["techniques"] is techniques:
        checks.fail("the submission's techniques must be a new list", "it is the caller's list object",
                    hint="list(techniques): the caller may change their list afterwards")
    sub = generate_submission("latency_sprint", base, small)
    if sub["techniques"] != [] or sub["author"] != "anonymous":
        checks.fail("generate_submission's defaults are techniques=() and author='anonymous'",
                    f"got techniques {sub['techniques']!r}, author {sub['author']!r}")


# ---------------------------------------------------------------- validate_submission

def valid():
    return {"schema_version": 1, "event": "latency_sprint", "author": "ada", "techniques": ["prune", "tune"],
            "baseline": {"accuracy": 0.9, "size_bytes": 4000}, "optimized": {"accuracy": 0.85, "size_bytes": 1000},
            "improvements": {"speedup": 2.0, "compression_ratio": 4.0, "accuracy_delta": 0.85 - 0.9},
            "constraints_met": True, "violations": []}


def _edit(path, value):
    def apply(s):
        *parents, last = path.split(".")
        target = s
        for p in parents:
            target = target[p]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
        return s
    return apply


def _failing(s):
    s["improvements"]["speedup"] = 1.0
    return s


BAD = {
    "missing event": (_edit("event", KeyError), "event"),
    "extra top-level key": (lambda s: dict(s, score=3.0), "score"),
    "schema_version 2": (_edit("schema_version", 2), "schema_version"),
    "schema_version True": (_edit("schema_version", True), "schema_version"),
    "unknown event": (_edit("event", "sprint"), "event"),
    "author not a str": (_edit("author", 7), "author"),
    "techniques a tuple": (_edit("techniques", ("prune",)), "techniques"),
    "technique not a str": (_edit("techniques", ["prune", 3]), r"techniques\[1\]"),
    "accuracy above 1": (_edit("optimized.accuracy", 85.0), "optimized.accuracy"),
    "accuracy a bool": (_edit("baseline.accuracy", True), "baseline.accuracy"),
    "accuracy a str": (_edit("baseline.accuracy", "0.9"), "baseline.accuracy"),
    "accuracy nan": (_edit("baseline.accuracy", float("nan")), "baseline.accuracy"),
    "missing size": (_edit("optimized.size_bytes", KeyError), "optimized.size_bytes"),
    "extra key in a model": (_edit("optimized.size_mb", 0.001), "optimized.size_mb"),
    "size a float": (_edit("baseline.size_bytes", 4000.0), "baseline.size_bytes"),
    "size zero": (_edit("optimized.size_bytes", 0), "optimized.size_bytes"),
    "speedup zero": (_edit("improvements.speedup", 0.0), "improvements.speedup"),
    "speedup inf": (_edit("improvements.speedup", float("inf")), "improvements.speedup"),
    "speedup a bool": (_edit("improvements.speedup", True), "improvements.speedup"),
    "delta a bool": (_edit("improvements.accuracy_delta", False), "improvements.accuracy_delta"),
    "missing speedup": (_edit("improvements.speedup", KeyError), "improvements.speedup"),
    "compression inconsistent": (_edit("improvements.compression_ratio", 3.0), "improvements.compression_ratio"),
    "delta inconsistent": (_edit("improvements.accuracy_delta", -0.04), "improvements.accuracy_delta"),
    "violations inconsistent": (_failing, "violations"),
    "constraints_met inconsistent": (_edit("constraints_met", False), "constraints_met"),
    "constraints_met not a bool": (_edit("constraints_met", 1), "constraints_met"),
    "violations not a list": (_edit("violations", ""), "violations"),
    "not a dict": (lambda s: [s], "submission"),
}


def test_validate_accepts_a_valid_submission():
    for event, s in (("latency_sprint", valid()), ("memory_challenge", None)):
        if s is None:
            s = valid()
            s["event"] = event
            s["violations"], s["constraints_met"] = ["compression_ratio >= 5.0"], False
        got = validate_submission(s)
        checks.assert_from_kata(validate_submission, KATA)
        if got is not None:
            checks.fail("validate_submission must return None for a valid submission", f"got {got!r}")
    s = valid()
    s["improvements"]["speedup"] = 3  # an int is a number
    validate_submission(s)


@pytest.mark.parametrize("case", list(BAD))
def test_validate_names_the_bad_field(case):
    edit, field = BAD[case]
    s = edit(valid())
    error = raised(validate_submission, s)
    if not isinstance(error, ValueError):
        checks.fail(f"validate_submission must raise ValueError for a submission with {case}",
                    f"got {type(error).__name__ if error else 'no error'}", inputs={"submission": s})
    message = str(error)
    named = "submission" if field == "submission" and "submission" in message else _first_field(message)
    if named != field.replace("\\", ""):
        checks.fail(f"validate_submission's error for {case} must name the field {field.replace(chr(92), '')!r}",
                    f"the message was: {message}" + (f"\n(the first field it names is {named!r})" if named else ""),
                    hint="name the first bad field by its path, e.g. improvements.speedup")


PATHS = KEYS + ["baseline.accuracy", "baseline.size_bytes", "optimized.accuracy", "optimized.size_bytes",
                "optimized.size_mb", "score", "improvements.speedup", "improvements.compression_ratio",
                "improvements.accuracy_delta", "techniques[1]"]


def _first_field(message):
    """The schema path that the message names first (a longer path wins at the same place)."""
    found = []
    for path in PATHS:
        for match in re.finditer(rf"(?<![\w.\[]){re.escape(path)}(?![\w\[]|\.\w)", message):
            found.append((match.start(), -len(path), path))
    return min(found)[2] if found else None


# ---------------------------------------------------------------- save / load

def test_save_writes_the_json_and_round_trips(tmp_path):
    s = valid()
    target = tmp_path / "out" / "submission.json"
    target.parent.mkdir()
    got = save_submission(s, str(target))
    checks.assert_from_kata(save_submission, KATA)
    if not isinstance(got, str) or os.path.abspath(got) != got or os.path.realpath(got) != os.path.realpath(target):
        checks.fail("save_submission must return the absolute path written, as a str", f"got {got!r}")
    text = target.read_text(encoding="utf-8")
    want = json.dumps(s, indent=2, allow_nan=False)
    if text != want:
        checks.fail("save_submission must write json.dumps(submission, indent=2, allow_nan=False)",
                    f"the file starts {text[:60]!r}, expected {want[:60]!r}")
    left = sorted(p.name for p in target.parent.iterdir())
    if left != ["submission.json"]:
        checks.fail("save_submission must leave only the target file behind", f"the folder holds {left}",
                    hint="os.replace the temporary file over the target: it is moved, not copied")
    back = load_submission(str(target))
    if back != s:
        checks.fail("load_submission(save_submission(s, p)) must equal s", f"got {back!r}")


def test_save_validates_before_writing(tmp_path):
    target = tmp_path / "submission.json"
    target.write_text("old", encoding="utf-8")
    s = valid()
    s["improvements"]["speedup"] = -1.0
    error = raised(save_submission, s, str(target))
    if not isinstance(error, ValueError):
        checks.fail("save_submission must raise ValueError for an invalid submission",
                    f"got {type(error).__name__ if error else 'no error'}")
    if target.read_text(encoding="utf-8") != "old" or len(list(tmp_path.iterdir())) != 1:
        checks.fail("save_submission must write nothing for an invalid submission",
                    "the target changed or a file was left", hint="validate_submission first, then write")


def test_save_is_atomic_under_an_injected_failure(tmp_path, monkeypatch):
    target = tmp_path / "submission.json"
    target.write_text("old", encoding="utf-8")
    moves = []

    def failing_replace(src, dst):
        moves.append((os.fspath(src), os.fspath(dst)))
        raise OSError("injected: the disk filled up")

    monkeypatch.setattr(os, "replace", failing_replace)
    error = raised(save_submission, valid(), str(target))
    monkeypatch.undo()
    if target.read_text(encoding="utf-8") != "old":
        checks.fail("save_submission must never write over the target directly",
                    "with os.replace failing, the old file was changed anyway",
                    hint="write the JSON to a temporary file in the same folder, then os.replace it over the target")
    if not isinstance(error, OSError):
        checks.fail("save_submission must let the error of a failed write propagate",
                    f"got {type(error).__name__ if error else 'no error'}")
    if not moves or os.path.realpath(moves[0][1]) != os.path.realpath(target):
        checks.fail("save_submission must move the temporary file over the target with os.replace",
                    f"os.replace was called with {moves}")
    if os.path.dirname(os.path.realpath(moves[0][0])) != os.path.realpath(tmp_path):
        checks.fail("save_submission's temporary file must be in the target's folder",
                    f"it was {moves[0][0]}", hint="os.replace is atomic only within one file system: "
                                                  "tempfile.mkstemp(dir=the target's folder)")
    left = sorted(p.name for p in tmp_path.iterdir())
    if left != ["submission.json"]:
        checks.fail("save_submission must remove its temporary file when the write fails", f"left behind: {left}")


def test_save_default_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    got = save_submission(valid())
    if not (tmp_path / "submission.json").is_file() or not isinstance(got, str) or not os.path.isabs(got) \
            or os.path.realpath(got) != os.path.realpath(tmp_path / "submission.json"):
        checks.fail("save_submission's default filepath is 'submission.json' (in the working folder), and it "
                    "returns the absolute path written", f"got {got!r}",
                    hint="os.path.abspath(filepath)" if isinstance(got, str) and not os.path.isabs(got) else "")
    back = load_submission()
    if back != valid():
        checks.fail("load_submission's default filepath is 'submission.json'", f"got {back!r}")


def test_load_validates(tmp_path):
    s = valid()
    s["optimized"]["accuracy"] = 1.5
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(s), encoding="utf-8")
    error = raised(load_submission, str(path))
    if not isinstance(error, ValueError) or "optimized.accuracy" not in str(error):
        checks.fail("load_submission must validate what it reads (ValueError naming the field)",
                    f"got {type(error).__name__ if error else 'no error'}: {error}")
