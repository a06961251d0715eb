"""The Olympics themselves: the grader runs your optimize() on its own baseline, measures
the result on its side, and checks the event's constraints and your submission's claims
against what it measured. Nothing a learner wrote to a file is trusted."""
import copy

import numpy as np
import pytest

from pytest_tinytorch import checks
from tinytorch import olympics
from tinytorch.olympics import generate_submission, measure_accuracy, model_size_bytes, optimize
from olympics_kit import (BOUNDS, EVENT_NAMES, SPEEDUP_FACTOR, digits, grader_accuracy, grader_baseline,
                          grader_size, grader_speedup, one_blas_thread, weights_of)

KATA = "20_capstone"
_RUNS = {}  # event -> (baseline given to optimize, its weights before, optimized model)


@pytest.fixture(scope="module", autouse=True)
def session():
    # Autograd on for training; one BLAS thread so that timings stay steady on a busy machine.
    with checks.autograd_session(), one_blas_thread():
        yield


@pytest.fixture(scope="module")
def baseline():
    return grader_baseline()


def run_event(event, baseline):
    if event not in _RUNS:
        given = copy.deepcopy(baseline)
        before = weights_of(given)
        train_data, _ = digits()
        optimized = optimize(event, given, (train_data[0].copy(), train_data[1].copy()))
        _RUNS[event] = (given, before, optimized)
    return _RUNS[event]


def _unchanged(model, before) -> bool:
    after = weights_of(model)
    return len(after) == len(before) and all(a.shape == b.shape and np.array_equal(a, b)
                                             for a, b in zip(after, before))


@pytest.mark.parametrize("event", EVENT_NAMES)
def test_optimize_meets_the_event_on_the_graders_measurements(baseline, event):
    given, before, optimized = run_event(event, baseline)
    checks.assert_from_kata(optimize, KATA)
    if not _unchanged(given, before):
        checks.fail(f"optimize({event!r}, model, train_data) must leave the baseline it is given unchanged",
                    "its parameters changed (values or shapes) after the call",
                    hint="work on copy.deepcopy(model): the grader times that same baseline against your model")
    if optimized is given:
        checks.fail(f"optimize({event!r}, ...) returned the baseline object itself",
                    "return a new, optimized model")
    (x_train, y_train), (x_test, y_test) = digits()
    base_acc, opt_acc = grader_accuracy(given, x_test, y_test), grader_accuracy(optimized, x_test, y_test)
    measured = {"accuracy_delta": opt_acc - base_acc,
                "compression_ratio": grader_size(given) / max(grader_size(optimized), 1)}
    if BOUNDS[event]["speedup"] is not None:  # the better of two timings: load only ever slows one down
        measured["speedup"] = max(grader_speedup(given, optimized, x_test) for _ in range(2))
    broken = [f"{metric} measured by the grader = {measured[metric]:.4g}, required >= {bound}"
              for metric, bound in BOUNDS[event].items()
              if bound is not None and not measured[metric] >= bound - 1e-9]
    if broken:
        checks.fail(f"the model your optimize({event!r}, ...) returns must meet the event's constraints "
                    f"on the grader's measurements", "\n".join(broken)
                    + f"\n(test accuracy: baseline {base_acc:.3f}, yours {opt_acc:.3f}; sizes in bytes: "
                      f"baseline {grader_size(given)}, yours {grader_size(optimized)})",
                    hint="run generate_submission on your model: its violations tell you what to improve")


def _claim_hint(metric, claimed, candidates):
    for value, why in candidates:
        if value is not None and np.isclose(claimed, value, rtol=1e-6, atol=1e-12):
            return why
    return ""


@pytest.mark.parametrize("event", EVENT_NAMES)
def test_submission_claims_are_reproduced(baseline, event):
    given, before, optimized = run_event(event, baseline)
    (x_train, y_train), (x_test, y_test) = digits()
    speedups = [grader_speedup(given, optimized, x_test)]  # timings bracket yours: just before, just after
    submission = generate_submission(event, given, optimized, techniques=["graded"])
    speedups.append(grader_speedup(given, optimized, x_test))
    if not isinstance(submission, dict):
        checks.fail("generate_submission must return a dict", f"got {type(submission).__name__}")
    measured = {
        "baseline": {"accuracy": grader_accuracy(given, x_test, y_test), "size_bytes": grader_size(given)},
        "optimized": {"accuracy": grader_accuracy(optimized, x_test, y_test), "size_bytes": grader_size(optimized)},
    }
    train_acc = {side: grader_accuracy(m, x_train, y_train) for side, m in (("baseline", given), ("optimized", optimized))}
    elements = {side: int(sum(np.asarray(p.data).size for p in m.parameters()) if hasattr(m, "parameters") else 0)
                for side, m in (("baseline", given), ("optimized", optimized))}
    for side in ("baseline", "optimized"):
        part = submission.get(side)
        if not isinstance(part, dict):
            checks.fail(f"the submission must have a dict {side!r}", f"got {part!r}")
        other = "baseline" if side == "optimized" else "optimized"
        for key, unit in (("accuracy", "on the held-out test split"), ("size_bytes", "in bytes")):
            claimed, truth = part.get(key), measured[side][key]
            if isinstance(claimed, bool) or not isinstance(claimed, (int, float)):
                checks.fail(f"{side}.{key} of the submission must be a number", f"got {claimed!r}")
            if abs(claimed - truth) <= 1e-9 * max(1.0, abs(truth)):
                continue
            if key == "accuracy":
                hint = _claim_hint(key, claimed, [
                    (train_acc[side], "that is the accuracy on the TRAINING split: claims are measured on the "
                                      "held-out test split of load_digits()"),
                    (measured[other][key], f"that is the {other} model's accuracy: measure each model itself")])
            else:
                hint = _claim_hint(key, claimed, [
                    (elements[side], "that is the number of parameter entries, not bytes (an int8 entry is 1 "
                                     "byte, a float32 one 4)"),
                    (elements[side] * 4, "that is 4 bytes per parameter entry: count each array's real .nbytes"),
                    (truth / 1024 ** 2, "that is megabytes: size_bytes is in bytes"),
                    (measured[other][key], f"that is the {other} model's size: measure each model itself")])
            checks.fail(f"the submission's {side}.{key} must be what the grader measures {unit}",
                        f"claimed {claimed!r}, measured {truth!r}", hint=hint)
    imp = submission.get("improvements")
    if not isinstance(imp, dict) or "speedup" not in imp:
        checks.fail("the submission must have a dict 'improvements' with a 'speedup'", f"got {imp!r}")
    claimed = imp["speedup"]
    if isinstance(claimed, bool) or not isinstance(claimed, (int, float)) or not np.isfinite(claimed):
        checks.fail("improvements.speedup must be a finite number", f"got {claimed!r}")
    low, high = min(speedups) / SPEEDUP_FACTOR, max(speedups) * SPEEDUP_FACTOR
    if not low <= claimed <= high:
        hint = ""
        if claimed > 0 and low <= 1 / claimed <= high:
            hint = "your speedup is inverted: baseline time / your model's time is above 1 when yours is faster"
        elif claimed < 1 <= min(speedups):
            hint = ("a speedup is a ratio of the two models' medians measured in the same run, not a latency "
                    "in seconds or milliseconds")
        checks.fail(f"the submission's improvements.speedup must be reproduced by the grader's timing (within a "
                    f"factor of {SPEEDUP_FACTOR:g}: alternating runs, medians, the same process)",
                    f"claimed {claimed:.4g}, measured {speedups[0]:.4g} just before and {speedups[1]:.4g} just "
                    f"after your generate_submission", hint=hint)
    if submission.get("violations") != [] or submission.get("constraints_met") is not True:
        checks.fail(f"a submission whose model meets {event!r} on the grader's measurements must say so",
                    f"constraints_met = {submission.get('constraints_met')!r}, "
                    f"violations = {submission.get('violations')!r}, improvements = {imp!r}",
                    hint="violations is check_event(event, improvements) of the measured improvements")


def test_given_code_and_baseline_are_as_documented(baseline):
    """The given code stays as given: the grader's baseline is the one you optimize."""
    want = {e: {"min_speedup": b["speedup"], "min_compression": b["compression_ratio"],
                "min_accuracy_delta": b["accuracy_delta"]} for e, b in BOUNDS.items()}
    if olympics.EVENTS != want or olympics.SCHEMA_VERSION != 1 or olympics.SLACK != 1e-9:
        checks.fail("EVENTS, SCHEMA_VERSION and SLACK must be as given (the README's table, 1, 1e-9)",
                    f"EVENTS = {olympics.EVENTS!r}", hint="restore the given code from the README")
    (x_train, y_train), (x_test, y_test) = olympics.load_digits()
    shapes = (x_train.shape, x_train.dtype, x_test.shape, y_test.dtype)
    if shapes != ((1000, 64), np.float32, (200, 64), np.int64):
        checks.fail("load_digits must return the flattened TinyDigits splits, as given", f"got {shapes}")
    yours = olympics.train_baseline(olympics.build_baseline(), (x_train, y_train))
    same = [np.array_equal(a, b) for a, b in zip(weights_of(yours), weights_of(baseline))]
    if len(same) != 6 or not all(same):
        checks.fail("build_baseline and train_baseline must be as given: the grader's baseline is built with the "
                    "same code", "your baseline's weights differ from the grader's")
    acc, size = measure_accuracy(yours, x_test, y_test), model_size_bytes(yours)
    if acc != grader_accuracy(baseline, x_test, y_test) or size != 340008:
        checks.fail("the baseline measured with your functions must match the grader's measurement",
                    f"accuracy {acc!r} (grader {grader_accuracy(baseline, x_test, y_test)!r}), size {size!r} bytes "
                    f"(grader {grader_size(baseline)}: six float32 arrays, 85002 entries)")
