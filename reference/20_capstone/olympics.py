"""Kata 20: the Torch Olympics. Optimize a baseline for an event, measure, and submit.

Given: EVENTS, load_digits, build_baseline, train_baseline.
Yours: measure_accuracy, model_size_bytes, measure_speedup, check_event, optimize,
generate_submission, validate_submission, save_submission, load_submission.
"""
from __future__ import annotations

import copy
import json
import math
import os
import statistics
import tempfile
import time

import numpy as np

from datasets import load_tinydigits
from tinytorch.core.activations import ReLU
from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.perf.compression import structured_prune
from tinytorch.perf.quantization import quantize_model

SCHEMA_VERSION = 1
SLACK = 1e-9  # float rounding at a bound: an accuracy drop of exactly 5 points passes

# The four graded events: None means "not constrained".
EVENTS = {
    "latency_sprint": {"min_speedup": 2.0, "min_compression": None, "min_accuracy_delta": -0.05},
    "memory_challenge": {"min_speedup": None, "min_compression": 5.0, "min_accuracy_delta": -0.05},
    "accuracy_contest": {"min_speedup": 0.5, "min_compression": 1.0, "min_accuracy_delta": 0.02},
    "all_around": {"min_speedup": 1.5, "min_compression": 2.0, "min_accuracy_delta": -0.03},
}
CONSTRAINTS = (("speedup", "min_speedup"), ("compression_ratio", "min_compression"),
               ("accuracy_delta", "min_accuracy_delta"))


# ---------------------------------------------------------------------- given
def load_digits():
    """((x_train, y_train), (x_test, y_test)): TinyDigits, images flattened to (N, 64)."""
    x_train, y_train, x_test, y_test = load_tinydigits()
    return (x_train.reshape(-1, 64), y_train), (x_test.reshape(-1, 64), y_test)


def build_baseline(seed=0, hidden=256):
    """The baseline: Linear(64, hidden) -> ReLU -> Linear(hidden, hidden) -> ReLU -> Linear(hidden, 10)."""
    np.random.seed(seed)
    return Sequential(Linear(64, hidden), ReLU(), Linear(hidden, hidden), ReLU(), Linear(hidden, 10))


def train_baseline(model, train_data, epochs=2, lr=0.05, batch_size=50, seed=0):
    """Plain SGD on shuffled mini-batches; deterministic for a given seed. Returns model."""
    x, y = train_data
    loss_fn = CrossEntropyLoss()
    optimizer = SGD(model.parameters(), lr=lr, momentum=0.9)
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(Tensor(x[idx])), Tensor(y[idx]))
            loss.backward()
            optimizer.step()
    model.eval()
    return model


# ---------------------------------------------------------------------- measuring
def _event_name(event) -> str:
    name = getattr(event, "value", event)
    if name not in EVENTS:
        raise ValueError(f"unknown event {name!r}: choose one of {sorted(EVENTS)}")
    return name


class _Inference:
    """Eval mode and no graph for the block; the model's mode comes back afterwards."""

    def __init__(self, *models):
        self.models = models

    def __enter__(self):
        self.modes = [getattr(m, "training", None) for m in self.models]
        for m in self.models:
            if hasattr(m, "eval"):
                m.eval()
        self.grad = no_grad()
        self.grad.__enter__()

    def __exit__(self, *exc):
        self.grad.__exit__(*exc)
        for m, mode in zip(self.models, self.modes):
            if mode and hasattr(m, "train"):
                m.train()


def _as_array(out) -> np.ndarray:
    return np.asarray(out.data if isinstance(out, Tensor) else out)


def measure_accuracy(model, x, y) -> float:
    """Fraction of samples whose argmax over the last axis equals the label."""
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32))
    labels = _as_array(y).reshape(-1)
    with _Inference(model):
        logits = _as_array(model(x))
    return float(np.mean(logits.argmax(axis=-1).reshape(-1) == labels))


def model_size_bytes(model) -> int:
    """Bytes of every distinct NumPy array the model holds (a Tensor counts its .data)."""
    seen_objects, seen_arrays, total = set(), set(), 0
    todo = [model]
    while todo:
        obj = todo.pop()
        if id(obj) in seen_objects:
            continue
        seen_objects.add(id(obj))
        if isinstance(obj, Tensor):
            obj = obj.data
        if isinstance(obj, np.ndarray):
            if id(obj) not in seen_arrays:
                seen_arrays.add(id(obj))
                total += obj.nbytes
        elif isinstance(obj, dict):
            todo.extend(obj.values())
        elif isinstance(obj, (list, tuple, set)):
            todo.extend(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            todo.extend(vars(obj).values())
    return int(total)


def measure_speedup(baseline, model, x, warmup=3, runs=11, clock=time.perf_counter) -> float:
    """median(baseline times) / median(model times), the two called in alternation."""
    for name, value, low in (("warmup", warmup, 0), ("runs", runs, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"measure_speedup: {name} must be an int >= {low}, got {value!r}")
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32))
    times = {id(baseline): [], id(model): []}
    with _Inference(baseline, model):
        for _ in range(warmup):
            baseline(x)
            model(x)
        for _ in range(runs):
            for m in (baseline, model):
                start = clock()
                m(x)
                times[id(m)].append(clock() - start)
    slow, fast = statistics.median(times[id(baseline)]), statistics.median(times[id(model)])
    if fast <= 0:
        raise ValueError("measure_speedup: the model's median time is 0; the clock is too coarse")
    return float(slow / fast)


def check_event(event, metrics) -> list:
    """The text of every constraint of the event that `metrics` breaks, in EVENTS order."""
    bounds = EVENTS[_event_name(event)]
    broken = []
    for metric, key in CONSTRAINTS:
        bound = bounds[key]
        if bound is not None and not metrics[metric] >= bound - SLACK:
            broken.append(f"{metric} >= {bound}")
    return broken


# ---------------------------------------------------------------------- optimizing
def _fine_tune(model, train_data, epochs, lr, seed):
    return train_baseline(model, train_data, epochs=epochs, lr=lr, seed=seed)


def optimize(event, model, train_data):
    """My strategy per event, with katas 15 and 16: prune neurons, fine-tune, quantize."""
    name = _event_name(event)
    model = copy.deepcopy(model)
    if name == "accuracy_contest":
        return _fine_tune(model, train_data, epochs=6, lr=0.05, seed=1)
    if name in ("latency_sprint", "all_around"):
        structured_prune(model, prune_ratio=0.875)  # 256 -> 32 hidden neurons: ~30x fewer FLOPs
        return _fine_tune(model, train_data, epochs=3, lr=0.05, seed=1)
    structured_prune(model, prune_ratio=0.5)  # memory: half the neurons, then int8 codes
    _fine_tune(model, train_data, epochs=3, lr=0.05, seed=1)
    return quantize_model(model)


# ---------------------------------------------------------------------- submitting
def generate_submission(event, baseline, optimized, techniques=(), author="anonymous") -> dict:
    """Measure both models on the held-out split and write the claims down."""
    name = _event_name(event)
    _, (x_test, y_test) = load_digits()
    base_acc, opt_acc = measure_accuracy(baseline, x_test, y_test), measure_accuracy(optimized, x_test, y_test)
    base_size, opt_size = model_size_bytes(baseline), model_size_bytes(optimized)
    if opt_size == 0:
        raise ValueError("generate_submission: the optimized model holds no arrays (size 0 bytes)")
    improvements = {"speedup": measure_speedup(baseline, optimized, x_test),
                    "compression_ratio": base_size / opt_size,
                    "accuracy_delta": opt_acc - base_acc}
    violations = check_event(name, improvements)
    return {
        "schema_version": SCHEMA_VERSION,
        "event": name,
        "author": str(author),
        "techniques": [str(t) for t in techniques],
        "baseline": {"accuracy": base_acc, "size_bytes": base_size},
        "optimized": {"accuracy": opt_acc, "size_bytes": opt_size},
        "improvements": improvements,
        "constraints_met": not violations,
        "violations": violations,
    }


_SHAPE = {
    "schema_version": int, "event": str, "author": str, "techniques": list,
    "baseline": dict, "optimized": dict, "improvements": dict,
    "constraints_met": bool, "violations": list,
}
_MODEL_KEYS = ("accuracy", "size_bytes")
_IMPROVEMENT_KEYS = ("speedup", "compression_ratio", "accuracy_delta")


def _bad(field, why):
    raise ValueError(f"invalid submission: {field} {why}")


def _keys(obj, want, where):
    for key in want:
        if key not in obj:
            _bad(f"{where}{key}", "is missing")
    for key in obj:
        if key not in want:
            _bad(f"{where}{key}", "is not a field of the schema")


def _number(value, field):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _bad(field, f"must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        _bad(field, f"must be finite, got {value}")
    return float(value)


def validate_submission(submission) -> None:
    """Raise ValueError naming the first field that breaks the schema."""
    if not isinstance(submission, dict):
        _bad("submission", f"must be a dict, got {type(submission).__name__}")
    _keys(submission, tuple(_SHAPE), "")
    for key, kind in _SHAPE.items():
        value = submission[key]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            _bad(key, f"must be an int, got {type(value).__name__}")
        if kind is not int and not isinstance(value, kind):
            _bad(key, f"must be a {kind.__name__}, got {type(value).__name__}")
    if submission["schema_version"] != SCHEMA_VERSION:
        _bad("schema_version", f"must be {SCHEMA_VERSION}, got {submission['schema_version']}")
    if submission["event"] not in EVENTS:
        _bad("event", f"must be one of {sorted(EVENTS)}, got {submission['event']!r}")
    for key in ("techniques", "violations"):
        for i, item in enumerate(submission[key]):
            if not isinstance(item, str):
                _bad(f"{key}[{i}]", f"must be a str, got {type(item).__name__}")
    for side in ("baseline", "optimized"):
        part = submission[side]
        _keys(part, _MODEL_KEYS, f"{side}.")
        acc = _number(part["accuracy"], f"{side}.accuracy")
        if not 0.0 <= acc <= 1.0:
            _bad(f"{side}.accuracy", f"must be a fraction in [0, 1], got {acc}")
        size = part["size_bytes"]
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            _bad(f"{side}.size_bytes", f"must be an int > 0 (bytes), got {size!r}")
    imp = submission["improvements"]
    _keys(imp, _IMPROVEMENT_KEYS, "improvements.")
    for key in _IMPROVEMENT_KEYS:
        value = _number(imp[key], f"improvements.{key}")
        if key != "accuracy_delta" and value <= 0:
            _bad(f"improvements.{key}", f"must be > 0, got {value}")
    base, opt = submission["baseline"], submission["optimized"]
    if not math.isclose(imp["compression_ratio"], base["size_bytes"] / opt["size_bytes"], rel_tol=1e-9):
        _bad("improvements.compression_ratio", "must equal baseline.size_bytes / optimized.size_bytes")
    if abs(imp["accuracy_delta"] - (opt["accuracy"] - base["accuracy"])) > SLACK:
        _bad("improvements.accuracy_delta", "must equal optimized.accuracy - baseline.accuracy")
    if submission["violations"] != check_event(submission["event"], imp):
        _bad("violations", "must list the event's constraints that the improvements break")
    if submission["constraints_met"] != (not submission["violations"]):
        _bad("constraints_met", "must be True exactly when violations is empty")


def save_submission(submission, filepath="submission.json") -> str:
    """Validate, then write the JSON atomically (a temporary file, then os.replace)."""
    validate_submission(submission)
    text = json.dumps(submission, indent=2, allow_nan=False)
    path = os.path.abspath(os.fspath(filepath))
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".submission-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load_submission(filepath="submission.json") -> dict:
    """Read a submission back and validate it."""
    with open(filepath, encoding="utf-8") as f:
        submission = json.load(f)
    validate_submission(submission)
    return submission
