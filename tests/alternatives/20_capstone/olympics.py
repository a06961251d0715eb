"""Kata 20, written apart from the reference: other choices, same contract."""
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
from tinytorch.core.optimizers import Adam
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
def _name(event):
    for name in EVENTS:
        if event == name or getattr(event, "value", None) == name:
            return name
    raise ValueError(f"not a graded event: {event!r}")


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32))


def _run_inference(models, body):
    was = [bool(getattr(m, "training", False)) for m in models]
    for m in models:
        m.eval()
    try:
        with no_grad():
            return body()
    finally:
        for m, w in zip(models, was):
            if w:
                m.train()


def measure_accuracy(model, x, y) -> float:
    xt = _tensor(x)
    out = _run_inference([model], lambda: model(xt))
    pred = np.argmax(np.asarray(out.data), axis=-1).ravel()
    truth = np.asarray(y.data if isinstance(y, Tensor) else y).ravel()
    return float((pred == truth).sum() / truth.size)


def model_size_bytes(model) -> int:
    counted = {}
    visited = set()

    def visit(obj):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        if isinstance(obj, Tensor):
            visit(obj.data)
        elif isinstance(obj, np.ndarray):
            counted[id(obj)] = obj.nbytes
        elif isinstance(obj, dict):
            for v in obj.values():
                visit(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                visit(v)
        elif not isinstance(obj, type) and hasattr(obj, "__dict__"):
            for v in vars(obj).values():
                visit(v)

    visit(model)
    return sum(int(v) for v in counted.values())


def _count(value, name, least):
    if type(value) is not int and not isinstance(value, np.integer):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value < least:
        raise ValueError(f"{name} must be at least {least}, got {value}")


def measure_speedup(baseline, model, x, warmup=3, runs=11, clock=time.perf_counter) -> float:
    _count(warmup, "warmup", 0)
    _count(runs, "runs", 1)
    xt = _tensor(x)
    ts = np.zeros((runs, 2))

    def body():
        for _ in range(warmup):
            baseline(xt)
            model(xt)
        for i in range(runs):
            for j, m in enumerate((baseline, model)):
                t0 = clock()
                m(xt)
                ts[i, j] = clock() - t0

    _run_inference([baseline, model], body)
    med = np.median(ts, axis=0)
    if med[1] == 0:
        raise ValueError("the model's median time is zero")
    return float(med[0] / med[1])


def check_event(event, metrics) -> list:
    table = EVENTS[_name(event)]
    out = []
    for metric, key in CONSTRAINTS:
        if table[key] is None:
            continue
        if metrics[metric] + SLACK < table[key]:
            out.append(f"{metric} >= {table[key]}")
    return out


# ---------------------------------------------------------------------- optimizing
def _adam_tune(model, train_data, epochs, seed):
    x, y = train_data
    loss_fn = CrossEntropyLoss()
    opt = Adam(model.parameters(), lr=0.002)
    order_rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        perm = order_rng.permutation(len(x))
        for k in range(0, len(x), 64):
            idx = perm[k:k + 64]
            opt.zero_grad()
            loss_fn(model(Tensor(x[idx])), Tensor(y[idx])).backward()
            opt.step()
    model.eval()
    return model


def optimize(event, model, train_data):
    name = _name(event)
    work = copy.deepcopy(model)
    if name == "accuracy_contest":
        return _adam_tune(work, train_data, epochs=5, seed=7)
    structured_prune(work, prune_ratio=0.8 if name == "memory_challenge" else 0.7)
    _adam_tune(work, train_data, epochs=4, seed=7)
    return quantize_model(work) if name == "memory_challenge" else work


# ---------------------------------------------------------------------- submitting
def generate_submission(event, baseline, optimized, techniques=(), author="anonymous") -> dict:
    name = _name(event)
    (_, _), (x, y) = load_digits()
    accs = [measure_accuracy(m, x, y) for m in (baseline, optimized)]
    sizes = [model_size_bytes(m) for m in (baseline, optimized)]
    imp = {"speedup": measure_speedup(baseline, optimized, x),
           "compression_ratio": sizes[0] / sizes[1],
           "accuracy_delta": accs[1] - accs[0]}
    broken = check_event(name, imp)
    return {"schema_version": SCHEMA_VERSION, "event": name, "author": author,
            "techniques": list(map(str, techniques)),
            "baseline": {"accuracy": accs[0], "size_bytes": sizes[0]},
            "optimized": {"accuracy": accs[1], "size_bytes": sizes[1]},
            "improvements": imp, "constraints_met": len(broken) == 0, "violations": broken}


class _Invalid(ValueError):
    pass


def _need(ok, path, what):
    if not ok:
        raise _Invalid(f"{path}: {what}")


def _is_num(v):
    return type(v) in (int, float) and math.isfinite(v)


def validate_submission(submission) -> None:
    _need(isinstance(submission, dict), "submission", "not a dict")
    top = ["schema_version", "event", "author", "techniques", "baseline", "optimized", "improvements",
           "constraints_met", "violations"]
    for k in top:
        _need(k in submission, k, "missing")
    for k in submission:
        _need(k in top, k, "unexpected key")
    s = submission
    _need(type(s["schema_version"]) is int and s["schema_version"] == SCHEMA_VERSION, "schema_version", "must be 1")
    _need(isinstance(s["event"], str) and s["event"] in EVENTS, "event", "unknown")
    _need(isinstance(s["author"], str), "author", "not a str")
    for k in ("techniques", "violations"):
        _need(type(s[k]) is list, k, "not a list")
        for i, t in enumerate(s[k]):
            _need(isinstance(t, str), f"{k}[{i}]", "not a str")
    _need(type(s["constraints_met"]) is bool, "constraints_met", "not a bool")
    for side in ("baseline", "optimized"):
        part = s[side]
        _need(isinstance(part, dict), side, "not a dict")
        for k in ("accuracy", "size_bytes"):
            _need(k in part, f"{side}.{k}", "missing")
        for k in part:
            _need(k in ("accuracy", "size_bytes"), f"{side}.{k}", "unexpected key")
        _need(_is_num(part["accuracy"]) and 0 <= part["accuracy"] <= 1, f"{side}.accuracy", "not in [0, 1]")
        _need(type(part["size_bytes"]) is int and part["size_bytes"] > 0, f"{side}.size_bytes", "not a positive int")
    imp = s["improvements"]
    _need(isinstance(imp, dict), "improvements", "not a dict")
    keys = ("speedup", "compression_ratio", "accuracy_delta")
    for k in keys:
        _need(k in imp, f"improvements.{k}", "missing")
    for k in imp:
        _need(k in keys, f"improvements.{k}", "unexpected key")
    for k in keys:
        _need(_is_num(imp[k]) and (k == "accuracy_delta" or imp[k] > 0), f"improvements.{k}", "bad number")
    ratio = s["baseline"]["size_bytes"] / s["optimized"]["size_bytes"]
    _need(abs(imp["compression_ratio"] - ratio) <= 1e-9 * abs(ratio), "improvements.compression_ratio", "inconsistent")
    delta = s["optimized"]["accuracy"] - s["baseline"]["accuracy"]
    _need(abs(imp["accuracy_delta"] - delta) <= SLACK, "improvements.accuracy_delta", "inconsistent")
    _need(s["violations"] == check_event(s["event"], imp), "violations", "inconsistent with improvements")
    _need(s["constraints_met"] == (s["violations"] == []), "constraints_met", "inconsistent with violations")


def save_submission(submission, filepath="submission.json") -> str:
    validate_submission(submission)
    payload = json.dumps(submission, indent=2, allow_nan=False)
    target = os.path.abspath(filepath)
    handle = tempfile.NamedTemporaryFile("w", dir=os.path.dirname(target), delete=False, encoding="utf-8")
    try:
        with handle:
            handle.write(payload)
        os.replace(handle.name, target)
    except BaseException:
        try:
            os.unlink(handle.name)
        except FileNotFoundError:
            pass
        raise
    return target


def load_submission(filepath="submission.json") -> dict:
    with open(filepath, encoding="utf-8") as f:
        data = json.load(f)
    validate_submission(data)
    return data
