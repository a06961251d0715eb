"""Kata 19: benchmarks whose numbers can be trusted.

BenchmarkResult - the statistics of a list of measurements, with a Student-t 95% interval
precise_timer   - time one block with an injectable clock
Benchmark       - latency, accuracy and memory of several models, warm-up excluded
BenchmarkSuite  - all three metrics of every model in one call
pareto_frontier - the non-dominated points of a multi-objective comparison
OlympicEvent    - the capstone's events: a score and the constraints a submission must meet
MLPerf          - run an event on a set of models and write an MLPerf-style JSON report
"""
from __future__ import annotations

import json
import math
import os
import platform
import time
from contextlib import contextmanager
from enum import Enum

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.tensor import Tensor

DEFAULT_WARMUP_RUNS = 5
DEFAULT_MEASUREMENT_RUNS = 10
CONFIDENCE_LEVEL = 0.95
Z_975 = 1.959963984540054  # the standard normal's 0.975 quantile
# Student's t, 0.975 quantile, for 1..30 degrees of freedom (T_TABLE_975[df - 1]).
T_TABLE_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
               2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
               2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)
MB = 1024 ** 2
REPORT_SCHEMA_VERSION = 1


# ---------------------------------------------------------------- statistics

def t_critical(df: int) -> float:
    """t_{0.975, df}: the table for df <= 30, a two-term Cornish-Fisher expansion above."""
    if isinstance(df, bool) or not isinstance(df, (int, np.integer)) or df < 1:
        raise ValueError(f"t_critical: degrees of freedom must be an int >= 1, got {df!r}")
    df = int(df)
    if df <= len(T_TABLE_975):
        return T_TABLE_975[df - 1]
    z = Z_975
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


class BenchmarkResult:
    """Measurements of one metric and their statistics, computed once at construction."""

    def __init__(self, metric_name: str, values, metadata: dict | None = None):
        data = np.asarray(values, dtype=np.float64).reshape(-1)
        if data.size == 0:
            raise ValueError(f"BenchmarkResult {metric_name!r}: no values to summarise")
        if not np.all(np.isfinite(data)):
            raise ValueError(f"BenchmarkResult {metric_name!r}: every value must be finite, got {values!r}")
        self.metric_name = metric_name
        self.values = [float(v) for v in data]
        self.metadata = {} if metadata is None else metadata
        self.count = int(data.size)
        self.mean = float(np.mean(data))
        self.std = float(np.std(data, ddof=1)) if self.count > 1 else 0.0  # two-pass: stable
        self.median = float(np.median(data))
        self.min_val = float(np.min(data))
        self.max_val = float(np.max(data))
        half = t_critical(self.count - 1) * self.std / math.sqrt(self.count) if self.count > 1 else 0.0
        self.ci_lower = self.mean - half
        self.ci_upper = self.mean + half
        self._data = data

    def percentile(self, p: float) -> float:
        return float(np.percentile(self._data, p))

    def to_dict(self) -> dict:
        return {
            "metric_name": self.metric_name, "values": list(self.values), "mean": self.mean,
            "std": self.std, "median": self.median, "min": self.min_val, "max": self.max_val,
            "count": self.count, "ci_lower": self.ci_lower, "ci_upper": self.ci_upper,
            "p90": self.percentile(90), "p99": self.percentile(99), "metadata": self.metadata,
        }


# ---------------------------------------------------------------- timing

class Timer:
    """What precise_timer yields: .elapsed (seconds) is set when the block exits."""

    def __init__(self):
        self.elapsed = 0.0


@contextmanager
def precise_timer(clock=time.perf_counter):
    timer = Timer()
    start = clock()
    try:
        yield timer
    finally:
        timer.elapsed = float(clock() - start)


# ---------------------------------------------------------------- benchmarks

def _system_info() -> dict:
    return {"platform": platform.platform(), "processor": platform.processor(),
            "python_version": platform.python_version(), "cpu_count": os.cpu_count() or 1,
            "numpy_version": np.__version__}


def _count(value, name: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
    return int(value)


@contextmanager
def _inference(model):
    """Eval mode and no graph while the model runs; its previous mode comes back after."""
    was_training = bool(getattr(model, "training", False))
    if callable(getattr(model, "eval", None)):
        model.eval()
    try:
        with no_grad():
            yield
    finally:
        if was_training and callable(getattr(model, "train", None)):
            model.train()


def _predicted(out) -> np.ndarray:
    out = np.asarray(getattr(out, "data", out))
    if out.ndim >= 2 and out.shape[-1] > 1:
        return np.argmax(out, axis=-1).reshape(-1)
    return (out.reshape(-1) >= 0.5).astype(np.int64)


def _labels(labels) -> np.ndarray:
    return np.asarray(getattr(labels, "data", labels)).reshape(-1).astype(np.int64)


def _model_bytes(model) -> int:
    if callable(getattr(model, "memory_bytes", None)):
        return int(model.memory_bytes())
    if callable(getattr(model, "parameters", None)):
        return int(sum(np.asarray(p.data).nbytes for p in model.parameters()))
    return 0


class Benchmark:
    """Latency, accuracy and memory of several models, measured the same way."""

    def __init__(self, models, datasets, warmup_runs: int = DEFAULT_WARMUP_RUNS,
                 measurement_runs: int = DEFAULT_MEASUREMENT_RUNS, clock=time.perf_counter,
                 seed: int = 42):
        self.models = list(models)
        self.datasets = list(datasets)
        self.warmup_runs = _count(warmup_runs, "warmup_runs", 0)
        self.measurement_runs = _count(measurement_runs, "measurement_runs", 1)
        self.clock = clock
        self.seed = seed
        self.names = [getattr(m, "name", f"model_{i}") for i, m in enumerate(self.models)]
        for i, name in enumerate(self.names):
            if name in self.names[:i]:
                raise ValueError(f"two models are named {name!r}: benchmark results are keyed by name")
        self.system_info = _system_info()

    def run_latency_benchmark(self, input_shape=(1, 28, 28)) -> dict:
        shape = [int(s) for s in input_shape]
        x = Tensor(np.random.default_rng(self.seed).standard_normal(shape).astype(np.float32))
        results = {}
        for name, model in zip(self.names, self.models):
            times = []
            with _inference(model):
                for _ in range(self.warmup_runs):
                    model(x)
                for _ in range(self.measurement_runs):
                    with precise_timer(self.clock) as timer:
                        model(x)
                    times.append(timer.elapsed * 1000.0)
            results[name] = BenchmarkResult(
                f"{name}_latency_ms", times,
                {"model": name, "unit": "ms", "warmup_runs": self.warmup_runs, "input_shape": shape})
        return results

    def run_accuracy_benchmark(self) -> dict:
        results = {}
        for name, model in zip(self.names, self.models):
            scores = []
            with _inference(model):
                for inputs, labels in self.datasets:
                    x = inputs if isinstance(inputs, Tensor) else Tensor(inputs)
                    scores.append(float(np.mean(_predicted(model(x)) == _labels(labels))))
            results[name] = BenchmarkResult(
                f"{name}_accuracy", scores,
                {"model": name, "unit": "fraction", "num_datasets": len(self.datasets)})
        return results

    def run_memory_benchmark(self) -> dict:
        results = {}
        for name, model in zip(self.names, self.models):
            nbytes = _model_bytes(model)
            results[name] = BenchmarkResult(f"{name}_memory_mb", [nbytes / MB],
                                            {"model": name, "unit": "MB", "bytes": nbytes})
        return results


class BenchmarkSuite:
    """Every metric of every model: latency, then accuracy, then memory."""

    def __init__(self, models, datasets, warmup_runs: int = DEFAULT_WARMUP_RUNS,
                 measurement_runs: int = DEFAULT_MEASUREMENT_RUNS, clock=time.perf_counter,
                 seed: int = 42):
        self.benchmark = Benchmark(models, datasets, warmup_runs, measurement_runs, clock, seed)
        self.models = self.benchmark.models
        self.datasets = self.benchmark.datasets
        self.results = {}

    def run_full_benchmark(self, input_shape=(1, 28, 28)) -> dict:
        self.results = {"latency": self.benchmark.run_latency_benchmark(input_shape),
                        "accuracy": self.benchmark.run_accuracy_benchmark(),
                        "memory": self.benchmark.run_memory_benchmark()}
        return self.results


# ---------------------------------------------------------------- comparing

def pareto_frontier(points, lower_is_better=True) -> list:
    """Indices (ascending) of the points that no other point dominates."""
    if len(points) == 0:
        return []
    cost = np.asarray(points, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError(f"pareto_frontier: points must be a list of equal-length points, got {points!r}")
    if not np.all(np.isfinite(cost)):
        raise ValueError("pareto_frontier: every coordinate must be finite")
    if isinstance(lower_is_better, (bool, np.bool_)):
        flags = np.full(cost.shape[1], bool(lower_is_better))
    else:
        flags = np.asarray(lower_is_better, dtype=bool).reshape(-1)
        if flags.size != cost.shape[1]:
            raise ValueError(f"pareto_frontier: {flags.size} flags for {cost.shape[1]} objectives")
    cost = np.where(flags, cost, -cost)  # every objective minimised
    no_worse = np.all(cost[:, None, :] <= cost[None, :, :], axis=-1)  # [i, j]: i no worse than j
    better = np.any(cost[:, None, :] < cost[None, :, :], axis=-1)
    dominated = np.any(no_worse & better, axis=0)
    return [int(i) for i in np.flatnonzero(~dominated)]


class OlympicEvent(Enum):
    """The capstone's events. Each scores a model against a baseline (higher is better)."""

    LATENCY_SPRINT = "latency_sprint"
    MEMORY_CHALLENGE = "memory_challenge"
    ACCURACY_CONTEST = "accuracy_contest"
    ALL_AROUND = "all_around"
    EXTREME_PUSH = "extreme_push"

    @property
    def constraints(self) -> tuple:
        return _CONSTRAINTS[self.value]

    def violations(self, metrics: dict) -> list:
        broken = []
        for metric, op, bound in self.constraints:
            value = float(metrics[metric])
            if not (value >= bound if op == ">=" else value < bound):
                broken.append(f"{metric} {op} {bound}")
        return broken

    def satisfied(self, metrics: dict) -> bool:
        return not self.violations(metrics)

    def score(self, metrics: dict, baseline: dict) -> float:
        def ratio(top, bottom, what):
            if bottom == 0:
                raise ValueError(f"{self.value} score: {what} is 0, the ratio is undefined")
            return float(top) / float(bottom)

        if self is OlympicEvent.ACCURACY_CONTEST:
            return float(metrics["accuracy"])
        speedup = ratio(baseline["latency_ms"], metrics["latency_ms"], "latency_ms")
        if self is OlympicEvent.LATENCY_SPRINT:
            return speedup
        compression = ratio(baseline["memory_mb"], metrics["memory_mb"], "memory_mb")
        if self is OlympicEvent.MEMORY_CHALLENGE:
            return compression
        if self is OlympicEvent.EXTREME_PUSH:
            return speedup * compression
        retention = ratio(metrics["accuracy"], baseline["accuracy"], "the baseline's accuracy")
        return (speedup * compression * retention) ** (1.0 / 3.0)


_CONSTRAINTS = {
    "latency_sprint": (("accuracy", ">=", 0.85),),
    "memory_challenge": (("accuracy", ">=", 0.85),),
    "accuracy_contest": (("latency_ms", "<", 100.0), ("memory_mb", "<", 10.0)),
    "all_around": (),
    "extreme_push": (("accuracy", ">=", 0.8),),
}


# ---------------------------------------------------------------- reports

class MLPerf:
    """Run one OlympicEvent on a set of models; the result is an MLPerf-style report."""

    def __init__(self, event, random_seed: int = 42, warmup_runs: int = DEFAULT_WARMUP_RUNS,
                 measurement_runs: int = DEFAULT_MEASUREMENT_RUNS, clock=time.perf_counter):
        self.event = OlympicEvent(event)
        self.random_seed = random_seed
        self.warmup_runs = warmup_runs
        self.measurement_runs = measurement_runs
        self.clock = clock

    def run(self, models, datasets, input_shape=(1, 28, 28), baseline=None) -> dict:
        suite = BenchmarkSuite(models, datasets, self.warmup_runs, self.measurement_runs,
                               self.clock, self.random_seed)
        names = suite.benchmark.names
        base = names[0] if baseline is None else baseline
        if base not in names:
            raise ValueError(f"baseline {base!r} is none of the models {names}")
        results = suite.run_full_benchmark(input_shape)
        means = {n: {"latency_ms": results["latency"][n].mean, "memory_mb": results["memory"][n].mean,
                     "accuracy": results["accuracy"][n].mean} for n in names}
        entries = {}
        for n in names:
            broken = self.event.violations(means[n])
            entries[n] = {"latency_ms": results["latency"][n].to_dict(),
                          "accuracy": results["accuracy"][n].to_dict(),
                          "memory_mb": results["memory"][n].to_dict(),
                          "score": float(self.event.score(means[n], means[base])),
                          "constraints_met": not broken, "violations": broken}
        points = [(m["latency_ms"], m["memory_mb"], m["accuracy"]) for m in means.values()]
        frontier = [names[i] for i in pareto_frontier(points, (True, True, False))]
        eligible = [n for n in names if entries[n]["constraints_met"]]
        winner = max(eligible, key=lambda n: entries[n]["score"]) if eligible else None
        return {
            "schema_version": REPORT_SCHEMA_VERSION, "event": self.event.value,
            "random_seed": self.random_seed, "system": dict(suite.benchmark.system_info),
            "protocol": {"warmup_runs": suite.benchmark.warmup_runs,
                         "measurement_runs": suite.benchmark.measurement_runs,
                         "input_shape": [int(s) for s in input_shape],
                         "num_datasets": len(suite.datasets),
                         "confidence_level": CONFIDENCE_LEVEL, "interval": "student_t"},
            "baseline": base, "models": entries, "pareto_frontier": frontier, "winner": winner,
        }

    def generate_compliance_report(self, report: dict, output_path="mlperf_report.json") -> str:
        text = json.dumps(report, indent=2, allow_nan=False)
        with open(output_path, "w", encoding="utf-8") as f:
            f.write(text)
        return text
