"""Kata 19, written apart from the reference: plain Python where the reference uses NumPy.

Other legitimate choices: exact statistics with the `statistics` module (rational sums),
a hand-written linear percentile, a class-based timer, explicit clock reads in the
benchmark loop, an O(n^2) Python loop for the Pareto frontier, and a report built field
by field in another order.
"""
from __future__ import annotations

import json
import math
import os
import platform
import statistics
import time
from enum import Enum

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.tensor import Tensor

DEFAULT_WARMUP_RUNS = 5
DEFAULT_MEASUREMENT_RUNS = 10
Z_975 = 1.959963984540054
T_TABLE_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
               2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
               2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def _is_count(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def t_critical(df) -> float:
    if not _is_count(df) or int(df) < 1:
        raise ValueError(f"degrees of freedom must be a positive int, not {df!r}")
    df = int(df)
    if df <= 30:
        return float(T_TABLE_975[df - 1])
    z, inv = Z_975, 1.0 / df
    first = (z ** 3 + z) / 4.0
    second = (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96.0
    return z + inv * (first + inv * second)


class BenchmarkResult:
    def __init__(self, metric_name, values, metadata=None):
        floats = [float(v) for v in (values.tolist() if isinstance(values, np.ndarray) else values)]
        if not floats:
            raise ValueError("BenchmarkResult needs at least one value")
        if any(math.isnan(v) or math.isinf(v) for v in floats):
            raise ValueError("BenchmarkResult values must be finite")
        self.metric_name = metric_name
        self.values = floats
        self.metadata = metadata if metadata is not None else {}
        n = len(floats)
        self.count = n
        self.mean = float(statistics.fmean(floats))
        self.std = float(statistics.stdev(floats)) if n >= 2 else 0.0
        self.median = float(statistics.median(floats))
        self.min_val = min(floats)
        self.max_val = max(floats)
        if n >= 2:
            margin = t_critical(n - 1) * self.std / math.sqrt(n)
        else:
            margin = 0.0
        self.ci_lower, self.ci_upper = self.mean - margin, self.mean + margin

    def percentile(self, p) -> float:
        ordered = sorted(self.values)
        rank = (len(ordered) - 1) * float(p) / 100.0
        low = math.floor(rank)
        high = min(low + 1, len(ordered) - 1)
        frac = rank - low
        return float(ordered[low] + (ordered[high] - ordered[low]) * frac)

    def to_dict(self) -> dict:
        out = {"metric_name": self.metric_name, "values": self.values[:], "count": self.count}
        for key, attr in (("mean", "mean"), ("std", "std"), ("median", "median"), ("min", "min_val"),
                          ("max", "max_val"), ("ci_lower", "ci_lower"), ("ci_upper", "ci_upper")):
            out[key] = getattr(self, attr)
        out["p90"] = self.percentile(90)
        out["p99"] = self.percentile(99)
        out["metadata"] = self.metadata
        return out


class precise_timer:  # used like a function: `with precise_timer(clock) as t`
    def __init__(self, clock=time.perf_counter):
        self._clock = clock
        self._start = None
        self.elapsed = 0.0

    def __enter__(self):
        self._start = self._clock()
        return self

    def __exit__(self, *exc_info):
        self.elapsed = float(self._clock() - self._start)
        return False


class Benchmark:
    def __init__(self, models, datasets, warmup_runs=DEFAULT_WARMUP_RUNS,
                 measurement_runs=DEFAULT_MEASUREMENT_RUNS, clock=time.perf_counter, seed=42):
        if not _is_count(warmup_runs) or warmup_runs < 0:
            raise ValueError(f"warmup_runs must be an int >= 0, not {warmup_runs!r}")
        if not _is_count(measurement_runs) or measurement_runs < 1:
            raise ValueError(f"measurement_runs must be an int >= 1, not {measurement_runs!r}")
        self.models = [m for m in models]
        self.datasets = [d for d in datasets]
        self.warmup_runs = warmup_runs
        self.measurement_runs = measurement_runs
        self.clock = clock
        self.seed = seed
        self.names = []
        for i, model in enumerate(self.models):
            name = model.name if hasattr(model, "name") else f"model_{i}"
            if name in self.names:
                raise ValueError(f"duplicate model name {name!r}")
            self.names.append(name)
        self.system_info = {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "python_version": platform.python_version(),
            "cpu_count": os.cpu_count() or 1,
            "numpy_version": np.__version__,
        }

    def _each_in_eval_mode(self, work):
        """Run work(model) per model, in eval mode without a graph; restore the mode."""
        out = {}
        for name, model in zip(self.names, self.models):
            restore = hasattr(model, "eval") and getattr(model, "training", False) is True
            if hasattr(model, "eval"):
                model.eval()
            try:
                with no_grad():
                    out[name] = work(name, model)
            finally:
                if restore:
                    model.train()
        return out

    def run_latency_benchmark(self, input_shape=(1, 28, 28)) -> dict:
        shape = tuple(int(s) for s in input_shape)
        rng = np.random.default_rng(self.seed)
        x = Tensor(rng.standard_normal(shape).astype(np.float32))

        def work(name, model):
            for _ in range(self.warmup_runs):
                model(x)
            ms = []
            for _ in range(self.measurement_runs):
                before = self.clock()
                model(x)
                after = self.clock()
                ms.append((after - before) * 1000.0)
            meta = {"model": name, "unit": "ms", "warmup_runs": self.warmup_runs,
                    "input_shape": list(shape), "measurement_runs": self.measurement_runs}
            return BenchmarkResult(name + "_latency_ms", ms, meta)

        return self._each_in_eval_mode(work)

    def run_accuracy_benchmark(self) -> dict:
        def work(name, model):
            fractions = []
            for inputs, labels in self.datasets:
                out = model(inputs if isinstance(inputs, Tensor) else Tensor(inputs))
                out = np.asarray(out.data if isinstance(out, Tensor) else out)
                if out.ndim > 1 and out.shape[-1] != 1:
                    predicted = out.argmax(axis=-1).ravel()
                else:
                    predicted = np.where(out.ravel() >= 0.5, 1, 0)
                truth = np.asarray(labels.data if isinstance(labels, Tensor) else labels).ravel()
                right = sum(int(p) == int(t) for p, t in zip(predicted, truth))
                fractions.append(right / len(truth))
            return BenchmarkResult(name + "_accuracy", fractions,
                                   {"model": name, "unit": "fraction", "num_datasets": len(self.datasets)})

        return self._each_in_eval_mode(work)

    def run_memory_benchmark(self) -> dict:
        out = {}
        for name, model in zip(self.names, self.models):
            if hasattr(model, "memory_bytes"):
                size = int(model.memory_bytes())
            elif hasattr(model, "parameters"):
                size = 0
                for p in model.parameters():
                    size += int(p.data.nbytes)
            else:
                size = 0
            out[name] = BenchmarkResult(name + "_memory_mb", [size / (1024 * 1024)],
                                        {"model": name, "unit": "MB", "bytes": size})
        return out


class BenchmarkSuite:
    def __init__(self, models, datasets, warmup_runs=DEFAULT_WARMUP_RUNS,
                 measurement_runs=DEFAULT_MEASUREMENT_RUNS, clock=time.perf_counter, seed=42):
        self.benchmark = Benchmark(models, datasets, warmup_runs=warmup_runs,
                                   measurement_runs=measurement_runs, clock=clock, seed=seed)
        self.results = {}

    def run_full_benchmark(self, input_shape=(1, 28, 28)) -> dict:
        results = {}
        results["latency"] = self.benchmark.run_latency_benchmark(input_shape)
        results["accuracy"] = self.benchmark.run_accuracy_benchmark()
        results["memory"] = self.benchmark.run_memory_benchmark()
        self.results = results
        return results


def pareto_frontier(points, lower_is_better=True) -> list:
    rows = [[float(v) for v in p] for p in (points.tolist() if isinstance(points, np.ndarray) else points)]
    if not rows:
        return []
    d = len(rows[0])
    if any(len(r) != d for r in rows):
        raise ValueError("every point needs the same number of objectives")
    if any(not math.isfinite(v) for r in rows for v in r):
        raise ValueError("objectives must be finite")
    if isinstance(lower_is_better, (bool, np.bool_)):
        signs = [1.0 if lower_is_better else -1.0] * d
    else:
        flags = list(lower_is_better)
        if len(flags) != d:
            raise ValueError(f"lower_is_better has {len(flags)} entries for {d} objectives")
        signs = [1.0 if f else -1.0 for f in flags]
    costs = [[s * v for s, v in zip(signs, r)] for r in rows]

    def dominates(a, b):
        return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))

    return [j for j, b in enumerate(costs) if not any(dominates(a, b) for a in costs)]


class OlympicEvent(Enum):
    LATENCY_SPRINT = "latency_sprint"
    MEMORY_CHALLENGE = "memory_challenge"
    ACCURACY_CONTEST = "accuracy_contest"
    ALL_AROUND = "all_around"
    EXTREME_PUSH = "extreme_push"

    @property
    def constraints(self) -> tuple:
        if self in (OlympicEvent.LATENCY_SPRINT, OlympicEvent.MEMORY_CHALLENGE):
            return (("accuracy", ">=", 0.85),)
        if self is OlympicEvent.ACCURACY_CONTEST:
            return (("latency_ms", "<", 100.0), ("memory_mb", "<", 10.0))
        if self is OlympicEvent.EXTREME_PUSH:
            return (("accuracy", ">=", 0.8),)
        return ()

    def violations(self, metrics) -> list:
        out = []
        for metric, op, bound in self.constraints:
            ok = metrics[metric] >= bound if op == ">=" else metrics[metric] < bound
            if not ok:
                out.append(f"{metric} {op} {bound}")
        return out

    def satisfied(self, metrics) -> bool:
        return len(self.violations(metrics)) == 0

    def score(self, metrics, baseline) -> float:
        def over(num, den):
            if den == 0:
                raise ValueError("division by zero in the score")
            return num / den

        if self is OlympicEvent.ACCURACY_CONTEST:
            return float(metrics["accuracy"])
        parts = {"speedup": over(baseline["latency_ms"], metrics["latency_ms"])}
        if self is not OlympicEvent.LATENCY_SPRINT:
            parts["compression"] = over(baseline["memory_mb"], metrics["memory_mb"])
        if self is OlympicEvent.LATENCY_SPRINT:
            return float(parts["speedup"])
        if self is OlympicEvent.MEMORY_CHALLENGE:
            return float(parts["compression"])
        if self is OlympicEvent.EXTREME_PUSH:
            return float(parts["speedup"] * parts["compression"])
        retention = over(metrics["accuracy"], baseline["accuracy"])
        return float(math.exp((math.log(parts["speedup"]) + math.log(parts["compression"])
                               + math.log(retention)) / 3.0)) if retention > 0 else 0.0


class MLPerf:
    def __init__(self, event, random_seed=42, warmup_runs=DEFAULT_WARMUP_RUNS,
                 measurement_runs=DEFAULT_MEASUREMENT_RUNS, clock=time.perf_counter):
        self.event = event if isinstance(event, OlympicEvent) else OlympicEvent(event)
        self.random_seed = random_seed
        self.warmup_runs = warmup_runs
        self.measurement_runs = measurement_runs
        self.clock = clock

    def run(self, models, datasets, input_shape=(1, 28, 28), baseline=None) -> dict:
        suite = BenchmarkSuite(models, datasets, self.warmup_runs, self.measurement_runs, self.clock,
                               seed=self.random_seed)
        names = list(suite.benchmark.names)
        if baseline is None:
            baseline = names[0]
        elif baseline not in names:
            raise ValueError(f"unknown baseline {baseline!r}")
        res = suite.run_full_benchmark(input_shape)
        summary = {}
        for n in names:
            summary[n] = {"latency_ms": res["latency"][n].mean, "memory_mb": res["memory"][n].mean,
                          "accuracy": res["accuracy"][n].mean}
        report = {"schema_version": 1, "event": self.event.value, "baseline": baseline,
                  "random_seed": self.random_seed, "system": dict(suite.benchmark.system_info),
                  "protocol": {"interval": "student_t", "confidence_level": 0.95,
                               "input_shape": [int(s) for s in input_shape],
                               "warmup_runs": int(self.warmup_runs),
                               "measurement_runs": int(self.measurement_runs),
                               "num_datasets": len(suite.benchmark.datasets)},
                  "models": {}}
        best, best_score = None, None
        for n in names:
            broken = self.event.violations(summary[n])
            score = float(self.event.score(summary[n], summary[baseline]))
            report["models"][n] = {"score": score, "constraints_met": len(broken) == 0,
                                   "violations": broken,
                                   "latency_ms": res["latency"][n].to_dict(),
                                   "accuracy": res["accuracy"][n].to_dict(),
                                   "memory_mb": res["memory"][n].to_dict()}
            if not broken and (best_score is None or score > best_score):
                best, best_score = n, score
        points = [(summary[n]["latency_ms"], summary[n]["memory_mb"], summary[n]["accuracy"]) for n in names]
        report["pareto_frontier"] = [names[i] for i in pareto_frontier(points, [True, True, False])]
        report["winner"] = best
        return report

    def generate_compliance_report(self, report, output_path="mlperf_report.json") -> str:
        text = json.dumps(report, indent=2, allow_nan=False)
        with open(output_path, "w", encoding="utf-8") as fh:
            fh.write(text)
        return text
