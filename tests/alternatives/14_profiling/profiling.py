"""Kata 14, written apart from the reference: layers are matched with isinstance against
the classes themselves (checked in a list, first match wins), window counts come from
ranges, the median is taken by hand on durations already in milliseconds, and
measure_memory restores tracemalloc in a context manager of its own."""
from __future__ import annotations

import contextlib
import math
import time
import tracemalloc

import numpy as np

from tinytorch.core.activations import GELU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.attention import MultiHeadAttention
from tinytorch.core.autograd import no_grad
from tinytorch.core.embeddings import Embedding, EmbeddingLayer, PositionalEncoding
from tinytorch.core.layers import Dropout, Linear, Sequential
from tinytorch.core.spatial import AvgPool2d, BatchNorm2d, Conv2d, Flatten, MaxPool2d
from tinytorch.core.tensor import Tensor
from tinytorch.core.transformers import MLP, LayerNorm, TransformerBlock
from tinytorch.models.transformer import GPT

BYTES_PER_MB = 2 ** 20


def _volume(sides) -> int:
    return math.prod(int(s) for s in sides)  # math.prod of Python ints is exact


def _fits(side: int, kernel: int, stride: int, pad: int) -> int:
    return len(range(0, side + 2 * pad - kernel + 1, stride))


def _windows(layer, shape, name):
    if len(shape) != 4:
        raise ValueError(f"{name} needs (N, C, H, W); shape {shape} has {len(shape)} axes")
    ho = _fits(shape[2], layer.kernel_size[0], layer.stride[0], layer.padding[0])
    wo = _fits(shape[3], layer.kernel_size[1], layer.stride[1], layer.padding[1])
    if not ho or not wo:
        raise ValueError(f"{name}: the kernel {layer.kernel_size} is larger than the padded input {shape}")
    return ho, wo


def _dense(layer, shape):
    if not shape or shape[-1] != layer.in_features:
        raise ValueError(f"{type(layer).__name__} wants a last axis of {layer.in_features}, got {shape}")
    outputs = _volume(shape[:-1]) * layer.out_features
    flops = outputs * 2 * layer.in_features + (0 if layer.bias is None else outputs)
    return flops, (*shape[:-1], layer.out_features)


def _conv(layer, shape):
    ho, wo = _windows(layer, shape, "Conv2d")
    if shape[1] != layer.in_channels:
        raise ValueError(f"Conv2d has {layer.in_channels} input channels, the input {shape} has {shape[1]}")
    outputs = shape[0] * layer.out_channels * ho * wo
    macs = outputs * layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1]
    return 2 * macs + (outputs if layer.bias is not None else 0), (shape[0], layer.out_channels, ho, wo)


def _pool(per_window_extra):
    def count(layer, shape):
        ho, wo = _windows(layer, shape, type(layer).__name__)
        per_output = layer.kernel_size[0] * layer.kernel_size[1] + per_window_extra
        return shape[0] * shape[1] * ho * wo * per_output, (shape[0], shape[1], ho, wo)
    return count


def _mha(layer, shape):
    if len(shape) != 3 or shape[2] != layer.embed_dim:
        raise ValueError(f"MultiHeadAttention({layer.embed_dim}) needs (batch, seq, {layer.embed_dim}), got {shape}")
    b, s, d = shape
    projections = 0
    for proj in (layer.q_proj, layer.k_proj, layer.v_proj, layer.out_proj):
        projections += _flops(proj, shape)[0]
    scores = 2 * b * s * s * d      # Q K^T over all heads
    mixing = 2 * b * s * s * d      # weights @ V
    return projections + scores + mixing, shape


def _mlp(layer, shape):
    a, mid = _flops(layer.linear1, shape)
    c, out = _flops(layer.linear2, mid)
    return a + c, out


def _block(layer, shape):
    a, shape = _flops(layer.attention, shape)
    m, shape = _flops(layer.mlp, shape)
    return a + m, shape


def _gpt(layer, shape):
    if len(shape) != 2:
        raise ValueError(f"GPT reads (batch, seq) token ids, got shape {shape}")
    x = (*shape, layer.embed_dim)
    total = 0
    for block in layer.blocks:
        f, x = _flops(block, x)
        total += f
    f, x = _flops(layer.lm_head, x)
    return total + f, x


def _stack(layer, shape):
    total = 0
    for part in layer.layers:
        f, shape = _flops(part, shape)
        total += f
    return total, shape


COUNTERS = [
    (Linear, _dense), (Conv2d, _conv), (MaxPool2d, _pool(-1)), (AvgPool2d, _pool(0)),
    (MultiHeadAttention, _mha), (MLP, _mlp), (TransformerBlock, _block), (GPT, _gpt),
    (Sequential, _stack),
    (Flatten, lambda layer, shape: (0, (shape[0], _volume(shape[1:])))),
    ((Embedding, EmbeddingLayer), lambda layer, shape: (0, (*shape, layer.embed_dim))),
    ((Sigmoid, ReLU, Tanh, GELU, Softmax, Dropout, BatchNorm2d, LayerNorm, PositionalEncoding),
     lambda layer, shape: (0, shape)),
]


def _flops(layer, shape):
    for kinds, counter in COUNTERS:
        if isinstance(layer, kinds):
            return counter(layer, tuple(shape))
    raise ValueError(f"no FLOP rule for {type(layer).__name__}")


def _unique_parameters(model):
    if not hasattr(model, "parameters") or not callable(model.parameters):
        return []
    seen, out = set(), []
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out


@contextlib.contextmanager
def _tracing():
    """tracemalloc on for the block, and afterwards as it was before."""
    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start()
    try:
        yield
    finally:
        if started_here:
            tracemalloc.stop()


class Profiler:
    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.elapsed = None
        self._t0 = None

    def __enter__(self):
        self._t0 = self.clock()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.elapsed = 1000.0 * (self.clock() - self._t0)
        return None

    def count_parameters(self, model) -> int:
        return sum(_volume(p.data.shape) for p in _unique_parameters(model))

    def count_flops(self, model, input_shape) -> int:
        return int(_flops(model, tuple(int(s) for s in input_shape))[0])

    def measure_memory(self, model, input_shape) -> dict:
        x = Tensor(np.zeros(input_shape, dtype=np.float32))
        with _tracing():
            tracemalloc.reset_peak()
            start = tracemalloc.get_traced_memory()[0]
            with no_grad():
                y = model(x)
            top = tracemalloc.get_traced_memory()[1]
        param_bytes = 0
        for p in _unique_parameters(model):
            param_bytes += p.data.nbytes
        return {"parameter_memory_mb": param_bytes / BYTES_PER_MB,
                "activation_memory_mb": y.data.nbytes / BYTES_PER_MB,
                "peak_memory_mb": (top - start) / BYTES_PER_MB}

    def measure_latency(self, model, x, warmup: int = 10, iterations: int = 100) -> float:
        if warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {warmup}")
        if iterations < 1:
            raise ValueError(f"iterations must be >= 1, got {iterations}")
        with no_grad():
            for _ in range(warmup):
                model(x)
            ms = []
            for _ in range(iterations):
                t0 = self.clock()
                model(x)
                t1 = self.clock()
                ms.append((t1 - t0) * 1000.0)
        ms.sort()
        half = len(ms) // 2
        return ms[half] if len(ms) % 2 else (ms[half - 1] + ms[half]) / 2

    def profile_layer(self, layer, input_shape) -> dict:
        shape = tuple(int(s) for s in input_shape)
        result = {"layer_type": type(layer).__name__,
                  "parameters": self.count_parameters(layer),
                  "flops": self.count_flops(layer, shape)}
        result.update(self.measure_memory(layer, shape))
        ms = self.measure_latency(layer, Tensor(np.zeros(shape, dtype=np.float32)), warmup=3, iterations=10)
        result["latency_ms"] = ms
        result["gflops_per_second"] = result["flops"] / 1e9 / (ms / 1000.0)
        return result


def quick_profile(model, input_tensor, profiler=None) -> dict:
    report = (profiler or Profiler()).profile_layer(model, input_tensor.shape)
    for name, value in report.items():
        print(f"{name}: {value:,}" if isinstance(value, int) else f"{name}: {value!r}")
    return report
