"""Kata 19: benchmarks whose numbers can be trusted.

t_critical      - Student's t quantile for a 95% interval
BenchmarkResult - the statistics of a list of measurements
precise_timer   - time one block with an injectable clock
Benchmark       - latency, accuracy and memory of several models, warm-up excluded
BenchmarkSuite  - all three metrics of every model in one call
pareto_frontier - the non-dominated points of a multi-objective comparison
OlympicEvent    - the capstone's events: a score and the constraints to meet
MLPerf          - run an event on a set of models and build an MLPerf-style JSON report

Read README.md in this folder for the exact contract.
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
Z_975 = 1.959963984540054  # the standard normal's 0.975 quantile
# Student's t, 0.975 quantile, for 1..30 degrees of freedom: T_TABLE_975[df - 1].
T_TABLE_975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
               2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
               2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


# ---------------------------------------------------------------- statistics

def t_critical(df) -> float:
    """t_{0.975, df} as a Python float: T_TABLE_975[df - 1] for df <= 30, beyond that
    z + (z**3 + z) / (4 df) + (5 z**5 + 16 z**3 + 3 z) / (96 df**2) with z = Z_975.
    df must be an int >= 1 (NumPy integers too), else ValueError."""
    raise NotImplementedError("kata 19_benchmarking: write t_critical")


class BenchmarkResult:
    """Measurements of one metric and their statistics, computed in the constructor.

    values: a list, tuple or 1-D ndarray of finite numbers (at least one), stored as a
    list of Python floats; metadata: a dict (a new empty one when omitted).
    Attributes: metric_name, values, metadata, count, mean, std (sample, 0.0 for one
    value), median, min_val, max_val, ci_lower, ci_upper (mean -/+ t_critical(count - 1)
    * std / sqrt(count); both the mean for one value).
    """

    def __init__(self, metric_name: str, values, metadata: dict | None = None):
        raise NotImplementedError("kata 19_benchmarking: write BenchmarkResult.__init__")

    def percentile(self, p: float) -> float:
        """float(np.percentile(values, p)), p from 0 to 100."""
        raise NotImplementedError("kata 19_benchmarking: write BenchmarkResult.percentile")

    def to_dict(self) -> dict:
        """A new dict: metric_name, values, mean, std, median, min, max, count, ci_lower,
        ci_upper, p90, p99, metadata."""
        raise NotImplementedError("kata 19_benchmarking: write BenchmarkResult.to_dict")


# ---------------------------------------------------------------- timing

class Timer:
    """What precise_timer yields: set .elapsed (seconds) when the block exits."""

    def __init__(self):
        self.elapsed = 0.0


@contextmanager
def precise_timer(clock=time.perf_counter):
    """with precise_timer(clock) as t: ...  ->  t.elapsed = clock at exit - clock at entry,
    in seconds (a Python float), also when the block raises (the error propagates)."""
    raise NotImplementedError("kata 19_benchmarking: write precise_timer")
    yield  # keeps this a generator function


# ---------------------------------------------------------------- benchmarks

class Benchmark:
    """Latency, accuracy and memory of several models, measured the same way.

    Attributes: models, datasets (lists), warmup_runs, measurement_runs, clock, seed,
    names (a model's .name or f"model_{i}", unique), system_info.
    Every model call runs under no_grad(), in eval mode (restored afterwards).
    """

    def __init__(self, models, datasets, warmup_runs: int = DEFAULT_WARMUP_RUNS,
                 measurement_runs: int = DEFAULT_MEASUREMENT_RUNS, clock=time.perf_counter,
                 seed: int = 42):
        raise NotImplementedError("kata 19_benchmarking: write Benchmark.__init__")

    def run_latency_benchmark(self, input_shape=(1, 28, 28)) -> dict:
        """{name: BenchmarkResult of measurement_runs times in ms}, after warmup_runs untimed
        calls, on one seeded float32 input shared by every call."""
        raise NotImplementedError("kata 19_benchmarking: write Benchmark.run_latency_benchmark")

    def run_accuracy_benchmark(self) -> dict:
        """{name: BenchmarkResult of one accuracy (a fraction) per (inputs, labels) dataset}."""
        raise NotImplementedError("kata 19_benchmarking: write Benchmark.run_accuracy_benchmark")

    def run_memory_benchmark(self) -> dict:
        """{name: BenchmarkResult of one value: the stored bytes / 1024**2}."""
        raise NotImplementedError("kata 19_benchmarking: write Benchmark.run_memory_benchmark")


class BenchmarkSuite:
    """self.benchmark = Benchmark(same arguments); run_full_benchmark runs latency, then
    accuracy, then memory, and returns and stores {"latency":, "accuracy":, "memory":}."""

    def __init__(self, models, datasets, warmup_runs: int = DEFAULT_WARMUP_RUNS,
                 measurement_runs: int = DEFAULT_MEASUREMENT_RUNS, clock=time.perf_counter,
                 seed: int = 42):
        raise NotImplementedError("kata 19_benchmarking: write BenchmarkSuite.__init__")

    def run_full_benchmark(self, input_shape=(1, 28, 28)) -> dict:
        raise NotImplementedError("kata 19_benchmarking: write BenchmarkSuite.run_full_benchmark")


# ---------------------------------------------------------------- comparing

def pareto_frontier(points, lower_is_better=True) -> list:
    """Ascending indices (Python ints) of the points that no other point dominates.

    lower_is_better: one bool for all objectives, or one per objective. A point dominates
    another when it is no worse in every objective and strictly better in one.
    """
    raise NotImplementedError("kata 19_benchmarking: write pareto_frontier")


class OlympicEvent(Enum):
    """The capstone's events: score(metrics, baseline) (higher is better) and constraints."""

    LATENCY_SPRINT = "latency_sprint"
    MEMORY_CHALLENGE = "memory_challenge"
    ACCURACY_CONTEST = "accuracy_contest"
    ALL_AROUND = "all_around"
    EXTREME_PUSH = "extreme_push"

    @property
    def constraints(self) -> tuple:
        """A tuple of (metric, op, bound) triples, op ">=" or "<" (see the README's table)."""
        raise NotImplementedError("kata 19_benchmarking: write OlympicEvent.constraints")

    def violations(self, metrics: dict) -> list:
        """f"{metric} {op} {bound}" of every constraint `metrics` breaks, in order."""
        raise NotImplementedError("kata 19_benchmarking: write OlympicEvent.violations")

    def satisfied(self, metrics: dict) -> bool:
        raise NotImplementedError("kata 19_benchmarking: write OlympicEvent.satisfied")

    def score(self, metrics: dict, baseline: dict) -> float:
        raise NotImplementedError("kata 19_benchmarking: write OlympicEvent.score")


# ---------------------------------------------------------------- reports

class MLPerf:
    """Run one OlympicEvent on a set of models; run() returns the report (a JSON dict)."""

    def __init__(self, event, random_seed: int = 42, warmup_runs: int = DEFAULT_WARMUP_RUNS,
                 measurement_runs: int = DEFAULT_MEASUREMENT_RUNS, clock=time.perf_counter):
        raise NotImplementedError("kata 19_benchmarking: write MLPerf.__init__")

    def run(self, models, datasets, input_shape=(1, 28, 28), baseline=None) -> dict:
        raise NotImplementedError("kata 19_benchmarking: write MLPerf.run")

    def generate_compliance_report(self, report: dict, output_path="mlperf_report.json") -> str:
        """Write json.dumps(report, indent=2, allow_nan=False) to output_path; return it."""
        raise NotImplementedError("kata 19_benchmarking: write MLPerf.generate_compliance_report")
