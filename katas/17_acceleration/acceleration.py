"""Kata 17: the same arithmetic, faster (tinytorch.perf.acceleration).

Matrix products three ways (Python loops, cache tiles, one BLAS call), convolutions three
ways (seven loops, shift-and-add, im2col + one matrix product), a GELU computed in one
buffer, and the harness that times them against each other. Every fast path must equal
its slow twin; read README.md in this folder for the exact contract.
"""
from __future__ import annotations

import math
import time

import numpy as np  # noqa: F401 - you will need it

from tinytorch.core.autograd import Function, record  # noqa: F401
from tinytorch.core.tensor import Tensor  # noqa: F401

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)  # Python floats: float32 stays float32
CUBIC = 0.044715


# ====================================================================== matrix products

def naive_matmul(a, b):
    """(M, K) @ (K, N) with three Python loops; the dtype of np.matmul(a.data, b.data)."""
    raise NotImplementedError("kata 17_acceleration: write naive_matmul")


def vectorized_matmul(a, b):
    """np.matmul(a.data, b.data) as a Tensor; operands of at least 2 dimensions."""
    raise NotImplementedError("kata 17_acceleration: write vectorized_matmul")


def tiled_matmul(a, b, tile_size=64):
    """(M, K) @ (K, N) block by block: C[I, J] += A[I, T] @ B[T, J] over tiles of side
    tile_size (a positive int); the last tile of an axis may be smaller."""
    raise NotImplementedError("kata 17_acceleration: write tiled_matmul")


# ====================================================================== im2col / col2im

class Im2colFunction(Function):
    """Recorded by im2col with inputs (x,): backward(grad) returns (col2im(grad, ...).data,)."""

    def backward(self, grad):
        raise NotImplementedError("kata 17_acceleration: write Im2colFunction.backward")


def im2col(x, kernel_size, stride=1, padding=0):
    """(N, C, H, W) -> (N*Ho*Wo, C*kh*kw): row (n*Ho + y)*Wo + x holds the window of output
    (y, x) of image n, column (c*kh + i)*kw + j the value xp[n, c, y*sh + i, x*sw + j]."""
    raise NotImplementedError("kata 17_acceleration: write im2col")


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    """The adjoint of im2col: each entry added back onto the position it was copied from."""
    raise NotImplementedError("kata 17_acceleration: write col2im")


# ====================================================================== convolutions

def naive_conv2d(x, weight, bias=None, stride=1, padding=0):
    """Kata 09's convolution with seven Python loops (forward only)."""
    raise NotImplementedError("kata 17_acceleration: write naive_conv2d")


def shift_add_conv2d(x, weight, bias=None, stride=1, padding=0):
    """One vectorized multiply-add per kernel offset (forward only)."""
    raise NotImplementedError("kata 17_acceleration: write shift_add_conv2d")


def im2col_conv2d(x, weight, bias=None, stride=1, padding=0):
    """im2col(x) @ weight.reshape(O, -1).T, back to (N, O, Ho, Wo); differentiable."""
    raise NotImplementedError("kata 17_acceleration: write im2col_conv2d")


# ====================================================================== fused GELU

class FusedGELUFunction(Function):
    """Recorded by fused_gelu with inputs (x,): backward(grad) returns (grad * gelu'(x),),
    computed from x itself."""

    def backward(self, grad):
        raise NotImplementedError("kata 17_acceleration: write FusedGELUFunction.backward")


def fused_gelu(x):
    """Kata 02's GELU computed into one output buffer with in-place NumPy operations."""
    raise NotImplementedError("kata 17_acceleration: write fused_gelu")


# ====================================================================== measuring speedups

def benchmark(methods, *args, repeats=3, clock=time.perf_counter, show=True):
    """{name: {"seconds": median of repeats timed calls, "speedup": first / this}}, each
    method first called once untimed and checked against the first method's result."""
    raise NotImplementedError("kata 17_acceleration: write benchmark")


def benchmark_conv2d(batch=32, channels=8, size=8, kernel_size=3, repeats=3,
                     clock=time.perf_counter, show=True):
    """naive vs shift-and-add vs im2col on one convolution (stride 1, padding k // 2)."""
    raise NotImplementedError("kata 17_acceleration: write benchmark_conv2d")


def benchmark_matmul(n=64, tile_size=16, repeats=3, clock=time.perf_counter, show=True):
    """naive vs tiled vs vectorized on an (n, n) @ (n, n) product."""
    raise NotImplementedError("kata 17_acceleration: write benchmark_matmul")


def show_results(results, title):
    """Print benchmark results as a table (given: nothing to write here)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title or None)
    table.add_column("method")
    table.add_column("time (ms)", justify="right")
    table.add_column("speedup", justify="right")
    for name, row in results.items():
        table.add_row(name, f"{row['seconds'] * 1e3:.3f}", f"{row['speedup']:.1f}x")
    Console().print(table)
