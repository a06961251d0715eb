"""Kata 14: measure a model before you optimize it (tinytorch.perf.profiling).

Parameters and FLOPs are exact counts computed from shapes alone; memory and latency are
measurements, with the clock injected so that the timing logic itself can be tested.
"""
from __future__ import annotations

import time
import tracemalloc

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.tensor import Tensor

MB = 1024 * 1024  # TinyTorch's megabyte: 2**20 bytes


# ====================================================================== FLOP rules
# Each rule maps (layer, input shape) to (FLOPs, output shape). A multiply-add is 2 FLOPs.

def _prod(shape) -> int:
    out = 1
    for side in shape:
        out *= int(side)  # Python ints never overflow (np.prod does, past 2**63)
    return out


def _linear(layer, shape):
    if len(shape) < 1 or shape[-1] != layer.in_features:
        raise ValueError(f"Linear({layer.in_features}, {layer.out_features}) cannot take an input "
                         f"of shape {shape}: its last axis must be {layer.in_features}")
    rows = _prod(shape[:-1])
    flops = 2 * rows * layer.in_features * layer.out_features
    if layer.bias is not None:
        flops += rows * layer.out_features  # one add per output
    return flops, shape[:-1] + (layer.out_features,)


def _spatial_out(layer, shape, who):
    if len(shape) != 4:
        raise ValueError(f"{who} takes a 4-D input (N, C, H, W), got shape {shape}")
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel_size, layer.stride, layer.padding
    ho, wo = (shape[2] + 2 * ph - kh) // sh + 1, (shape[3] + 2 * pw - kw) // sw + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"{who}: kernel {layer.kernel_size} does not fit in an input of shape "
                         f"{shape} padded by {layer.padding}")
    return ho, wo, kh * kw


def _conv2d(layer, shape):
    ho, wo, area = _spatial_out(layer, shape, "Conv2d")
    if shape[1] != layer.in_channels:
        raise ValueError(f"Conv2d expects {layer.in_channels} input channels, got shape {shape}")
    outputs = shape[0] * layer.out_channels * ho * wo
    flops = 2 * outputs * layer.in_channels * area
    if layer.bias is not None:
        flops += outputs
    return flops, (shape[0], layer.out_channels, ho, wo)


def _maxpool(layer, shape):
    ho, wo, area = _spatial_out(layer, shape, "MaxPool2d")
    return shape[0] * shape[1] * ho * wo * (area - 1), (shape[0], shape[1], ho, wo)  # comparisons


def _avgpool(layer, shape):
    ho, wo, area = _spatial_out(layer, shape, "AvgPool2d")
    return shape[0] * shape[1] * ho * wo * area, (shape[0], shape[1], ho, wo)  # area-1 adds, 1 divide


def _flatten(layer, shape):
    return 0, (shape[0], _prod(shape[1:]))


def _same(layer, shape):
    return 0, shape


def _embedding(layer, shape):
    return 0, shape + (layer.embed_dim,)


def _sequential(model, shape):
    total = 0
    for layer in model.layers:
        flops, shape = _count(layer, shape)
        total += flops
    return total, shape


def _attention(layer, shape):
    if len(shape) != 3 or shape[-1] != layer.embed_dim:
        raise ValueError(f"MultiHeadAttention({layer.embed_dim}, {layer.num_heads}) takes "
                         f"(batch, seq, {layer.embed_dim}), got shape {shape}")
    batch, seq, dim = shape
    flops = sum(_count(proj, shape)[0]
                for proj in (layer.q_proj, layer.k_proj, layer.v_proj, layer.out_proj))
    flops += 2 * (2 * batch * seq * seq * dim)  # Q K^T and weights @ V, all heads together
    return flops, shape


def _mlp(layer, shape):
    first, hidden = _count(layer.linear1, shape)
    second, out = _count(layer.linear2, hidden)
    return first + second, out


def _block(layer, shape):
    return _count(layer.attention, shape)[0] + _count(layer.mlp, shape)[0], shape


def _gpt(model, shape):
    if len(shape) != 2:
        raise ValueError(f"GPT takes token ids of shape (batch, seq), got shape {shape}")
    hidden = shape + (model.embed_dim,)
    flops = sum(_count(block, hidden)[0] for block in model.blocks)
    head, out = _count(model.lm_head, hidden)
    return flops + head, out


RULES = {
    "Linear": _linear, "Conv2d": _conv2d, "MaxPool2d": _maxpool, "AvgPool2d": _avgpool,
    "Flatten": _flatten, "Sequential": _sequential, "MultiHeadAttention": _attention,
    "MLP": _mlp, "TransformerBlock": _block, "GPT": _gpt,
    "Embedding": _embedding, "EmbeddingLayer": _embedding,
    # elementwise and normalising layers: memory traffic, no counted arithmetic
    **{name: _same for name in ("Sigmoid", "ReLU", "Tanh", "GELU", "Softmax", "Dropout",
                                "BatchNorm2d", "LayerNorm", "PositionalEncoding")},
}


def _count(layer, shape):
    for cls in type(layer).__mro__:  # a subclass of a known layer counts like it
        rule = RULES.get(cls.__name__)
        if rule is not None:
            return rule(layer, shape)
    raise ValueError(f"count_flops does not know how to count a {type(layer).__name__}: "
                     f"it counts {', '.join(sorted(RULES))}")


# ====================================================================== the profiler

class Profiler:
    """Parameters, FLOPs, memory and latency of a model. `with Profiler() as p:` times a
    block: p.elapsed is its duration in milliseconds."""

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.elapsed = None

    def __enter__(self):
        self._start = self.clock()
        return self

    def __exit__(self, *exc):
        self.elapsed = (self.clock() - self._start) * 1000.0
        return False  # an exception in the block goes on

    def count_parameters(self, model) -> int:
        params = getattr(model, "parameters", None)
        if not callable(params):
            return 0
        unique = {id(p): p for p in params()}  # a shared (tied) Tensor counts once
        return sum(int(p.data.size) for p in unique.values())

    def count_flops(self, model, input_shape) -> int:
        return _count(model, tuple(int(side) for side in input_shape))[0]

    def measure_memory(self, model, input_shape) -> dict:
        x = Tensor(np.zeros(tuple(input_shape), dtype=np.float32))
        was_tracing = tracemalloc.is_tracing()
        if not was_tracing:
            tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            with no_grad():
                out = model(x)
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            if not was_tracing:
                tracemalloc.stop()
        params = getattr(model, "parameters", None)
        unique = {id(p): p for p in params()} if callable(params) else {}
        return {
            "parameter_memory_mb": sum(p.data.nbytes for p in unique.values()) / MB,
            "activation_memory_mb": np.asarray(out.data).nbytes / MB,
            "peak_memory_mb": peak / MB,
        }

    def measure_latency(self, model, x, warmup: int = 10, iterations: int = 100) -> float:
        if warmup < 0 or iterations < 1:
            raise ValueError(f"measure_latency needs warmup >= 0 and iterations >= 1, got "
                             f"warmup={warmup}, iterations={iterations}")
        times = []
        with no_grad():
            for _ in range(warmup):  # caches, allocations, lazy set-up: not what we measure
                model(x)
            for _ in range(iterations):
                start = self.clock()
                model(x)
                times.append(self.clock() - start)
        return float(np.median(times)) * 1000.0  # the median ignores the odd slow run

    def profile_layer(self, layer, input_shape) -> dict:
        shape = tuple(int(side) for side in input_shape)
        flops = self.count_flops(layer, shape)
        memory = self.measure_memory(layer, shape)
        latency = self.measure_latency(layer, Tensor(np.zeros(shape, np.float32)), warmup=3, iterations=10)
        return {
            "layer_type": type(layer).__name__,
            "parameters": self.count_parameters(layer),
            "flops": flops,
            "latency_ms": latency,
            "gflops_per_second": flops / (latency * 1e6),  # FLOPs / 1e9 per second
            **memory,
        }


def quick_profile(model, input_tensor, profiler=None) -> dict:
    """profile_layer on input_tensor's shape, printed one entry per line."""
    profiler = Profiler() if profiler is None else profiler
    profile = profiler.profile_layer(model, tuple(input_tensor.shape))
    for key, value in profile.items():
        if isinstance(value, int):
            print(f"{key}: {value:,}")
        elif isinstance(value, float):
            print(f"{key}: {value:.4g}")
        else:
            print(f"{key}: {value}")
    return profile
