"""Kata 14: measure a model before you optimize it (tinytorch.perf.profiling).

Parameters and FLOPs are exact counts computed from shapes alone; memory and latency are
measurements, read through an injected clock so that the timing logic can be tested.
Read README.md in this folder for the exact contract (the FLOP table is there).
"""
from __future__ import annotations

import time
import tracemalloc  # noqa: F401  (measure_memory uses it)

import numpy as np  # noqa: F401

from tinytorch.core.autograd import no_grad  # noqa: F401  (inference: no graph)
from tinytorch.core.tensor import Tensor  # noqa: F401

MB = 1024 * 1024  # TinyTorch's megabyte: 2**20 bytes


class Profiler:
    """Parameters, FLOPs, memory and latency of a model.

    Profiler(clock=time.perf_counter): `clock` is any function returning seconds.
    `with Profiler() as p:` times the block; afterwards p.elapsed is its duration in
    milliseconds (None before any block).
    """

    def __init__(self, clock=time.perf_counter):
        raise NotImplementedError("kata 14_profiling: write Profiler.__init__")

    def __enter__(self):
        """Read the clock; return the profiler itself."""
        raise NotImplementedError("kata 14_profiling: write Profiler.__enter__")

    def __exit__(self, *exc):
        """Set self.elapsed (milliseconds), also when the block raised; never swallow it."""
        raise NotImplementedError("kata 14_profiling: write Profiler.__exit__")

    def count_parameters(self, model) -> int:
        """Elements of the Tensors of model.parameters(), each Tensor once; 0 without
        a parameters() method."""
        raise NotImplementedError("kata 14_profiling: write Profiler.count_parameters")

    def count_flops(self, model, input_shape) -> int:
        """FLOPs of one call model(x) on x of shape input_shape (batch included), from the
        README's table: a multiply-add is 2 FLOPs. A Python int; never calls the model;
        ValueError for an unknown layer (naming its class) or a shape it cannot take."""
        raise NotImplementedError("kata 14_profiling: write Profiler.count_flops")

    def measure_memory(self, model, input_shape) -> dict:
        """{"parameter_memory_mb", "activation_memory_mb", "peak_memory_mb"} in units of
        2**20 bytes, from one call model(zeros) under no_grad(), peak by tracemalloc
        (left as it was found)."""
        raise NotImplementedError("kata 14_profiling: write Profiler.measure_memory")

    def measure_latency(self, model, x, warmup: int = 10, iterations: int = 100) -> float:
        """Median of `iterations` separately timed calls model(x) after `warmup` untimed
        ones, in milliseconds, under no_grad()."""
        raise NotImplementedError("kata 14_profiling: write Profiler.measure_latency")

    def profile_layer(self, layer, input_shape) -> dict:
        """layer_type, parameters, flops, latency_ms (warmup=3, iterations=10 on zeros),
        gflops_per_second and the three entries of measure_memory."""
        raise NotImplementedError("kata 14_profiling: write Profiler.profile_layer")


def quick_profile(model, input_tensor, profiler=None) -> dict:
    """profile_layer(model, input_tensor.shape), printed as `key: value` lines."""
    raise NotImplementedError("kata 14_profiling: write quick_profile")
