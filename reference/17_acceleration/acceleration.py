"""Kata 17: the same arithmetic, faster (tinytorch.perf.acceleration).

Matrix products three ways (Python loops, cache tiles, one BLAS call), convolutions three
ways (seven loops, shift-and-add, im2col + one matrix product), a GELU computed in one
buffer, and the harness that times them against each other. Every fast path is checked
against its slow twin before it is timed: a faster wrong answer is no speedup.
"""
from __future__ import annotations

import math
import time

import numpy as np

from tinytorch.core.autograd import Function, record
from tinytorch.core.tensor import Tensor

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)  # Python floats: float32 stays float32
CUBIC = 0.044715


# ====================================================================== helpers

def _pair(value, name: str) -> tuple[int, int]:
    """An int or a (height, width) pair, as a tuple of two ints."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def _geometry(x_shape, kernel_size, stride, padding):
    """(kernel, stride, padding, (Ho, Wo)) for an NCHW shape; ValueError when nothing fits."""
    k, s, p = _pair(kernel_size, "kernel_size"), _pair(stride, "stride"), _pair(padding, "padding")
    if min(k) < 1 or min(s) < 1 or min(p) < 0:
        raise ValueError(f"kernel_size and stride must be >= 1 and padding >= 0, got "
                         f"kernel_size={k}, stride={s}, padding={p}")
    h, w = x_shape[2] + 2 * p[0], x_shape[3] + 2 * p[1]
    if k[0] > h or k[1] > w:
        raise ValueError(f"kernel {k} does not fit in the input {tuple(x_shape[2:])} padded by {p}")
    return k, s, p, ((h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1)


def _check_4d(x, who: str) -> None:
    if len(x.shape) != 4:
        raise ValueError(f"{who} expects a 4-D input (N, C, H, W), got shape {tuple(x.shape)}")


def _pad(data: np.ndarray, p) -> np.ndarray:
    if p == (0, 0):
        return data
    return np.pad(data, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))


def _check_conv(x, weight, who: str) -> None:
    _check_4d(x, who)
    if len(weight.shape) != 4:
        raise ValueError(f"{who}: weight must be 4-D (out_channels, in_channels, kh, kw), "
                         f"got shape {tuple(weight.shape)}")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"{who}: x has {x.shape[1]} channels but weight expects {weight.shape[1]}")


def _check_matmul(a, b, who: str, two_d: bool) -> None:
    if two_d and (len(a.shape) != 2 or len(b.shape) != 2):
        raise ValueError(f"{who} multiplies 2-D matrices, got shapes {a.shape} and {b.shape}")
    if len(a.shape) < 2 or len(b.shape) < 2:
        raise ValueError(f"{who} needs at least 2-D operands, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"{who}: shapes {a.shape} and {b.shape} do not align "
                         f"({a.shape[-1]} != {b.shape[-2]})")


# ====================================================================== matrix products

def naive_matmul(a: Tensor, b: Tensor) -> Tensor:
    """(M, K) @ (K, N) with three Python loops: one interpreted multiply-add per step."""
    _check_matmul(a, b, "naive_matmul", two_d=True)
    A, B = a.data, b.data
    (m, k), n = A.shape, B.shape[1]
    out = np.zeros((m, n), dtype=np.result_type(A, B))
    for i in range(m):
        for j in range(n):
            acc = 0.0
            for t in range(k):
                acc += A[i, t] * B[t, j]
            out[i, j] = acc
    return Tensor(out)


def vectorized_matmul(a: Tensor, b: Tensor) -> Tensor:
    """One call to np.matmul (BLAS): batched, broadcasting leading axes."""
    _check_matmul(a, b, "vectorized_matmul", two_d=False)
    return Tensor(np.matmul(a.data, b.data))


def tiled_matmul(a: Tensor, b: Tensor, tile_size: int = 64) -> Tensor:
    """(M, K) @ (K, N) block by block: C[I, J] += A[I, T] @ B[T, J] over tiles of side
    tile_size; the last tile of each axis may be smaller."""
    _check_matmul(a, b, "tiled_matmul", two_d=True)
    if isinstance(tile_size, bool) or not isinstance(tile_size, (int, np.integer)) or tile_size < 1:
        raise ValueError(f"tile_size must be a positive int, got {tile_size!r}")
    A, B = a.data, b.data
    (m, k), n = A.shape, B.shape[1]
    out = np.zeros((m, n), dtype=np.result_type(A, B))
    for i in range(0, m, tile_size):
        for j in range(0, n, tile_size):
            block = out[i:i + tile_size, j:j + tile_size]  # a view: += writes into out
            for t in range(0, k, tile_size):
                block += A[i:i + tile_size, t:t + tile_size] @ B[t:t + tile_size, j:j + tile_size]
    return Tensor(out)


# ====================================================================== im2col / col2im

class Im2colFunction(Function):
    """cols = im2col(x): each input value copied into every window that covers it.
    The adjoint sums the copies' gradients back onto that value: col2im."""

    def backward(self, grad):
        return (col2im(grad, self.inputs[0].shape, self.kernel_size, self.stride,
                       self.padding).data,)


def im2col(x: Tensor, kernel_size, stride=1, padding=0) -> Tensor:
    """(N, C, H, W) -> (N*Ho*Wo, C*kh*kw): row (n, y, x) holds the window of output
    position (y, x) of image n, flattened in (channel, kernel row, kernel column) order."""
    _check_4d(x, "im2col")
    k, s, p, (ho, wo) = _geometry(x.shape, kernel_size, stride, padding)
    n, c = x.shape[0], x.shape[1]
    windows = np.lib.stride_tricks.sliding_window_view(_pad(x.data, p), k, axis=(2, 3))
    windows = windows[:, :, ::s[0], ::s[1]]  # (N, C, Ho, Wo, kh, kw), still a view
    # The copy is im2col's price: every value lands in up to kh*kw rows.
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k[0] * k[1])
    return record(Tensor(cols), Im2colFunction, (x,), kernel_size=k, stride=s, padding=p)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0) -> Tensor:
    """The adjoint of im2col: add every entry of cols back onto the input position it was
    copied from (overlapping windows add up), then cut the padding off."""
    data = np.asarray(cols.data if isinstance(cols, Tensor) else cols)
    if len(x_shape) != 4:
        raise ValueError(f"col2im: x_shape must be (N, C, H, W), got {tuple(x_shape)}")
    n, c, h, w = (int(v) for v in x_shape)
    k, s, p, (ho, wo) = _geometry(x_shape, kernel_size, stride, padding)
    expected = (n * ho * wo, c * k[0] * k[1])
    if data.shape != expected:
        raise ValueError(f"col2im: cols has shape {data.shape}, but im2col of x_shape "
                         f"{tuple(x_shape)} with kernel {k}, stride {s}, padding {p} gives {expected}")
    per_offset = data.reshape(n, ho, wo, c, k[0], k[1]).transpose(0, 3, 4, 5, 1, 2)
    out = np.zeros((n, c, h + 2 * p[0], w + 2 * p[1]), dtype=data.dtype)
    for i in range(k[0]):
        for j in range(k[1]):
            out[:, :, i:i + s[0] * ho:s[0], j:j + s[1] * wo:s[1]] += per_offset[:, :, i, j]
    return Tensor(out[:, :, p[0]:p[0] + h, p[1]:p[1] + w].copy())


# ====================================================================== convolutions

def naive_conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0) -> Tensor:
    """Seven nested loops: one Python step per multiply-add (kata 09's formula, literally)."""
    _check_conv(x, weight, "naive_conv2d")
    o_ch, c_ch, kh, kw = weight.shape
    _, (sh, sw), p, (ho, wo) = _geometry(x.shape, (kh, kw), stride, padding)
    xp, w = _pad(x.data, p), weight.data
    b = None if bias is None else bias.data
    out = np.zeros((x.shape[0], o_ch, ho, wo), dtype=np.result_type(xp, w))
    for n in range(x.shape[0]):
        for o in range(o_ch):
            for y in range(ho):
                for xx in range(wo):
                    acc = 0.0 if b is None else b[o]
                    for c in range(c_ch):
                        for i in range(kh):
                            for j in range(kw):
                                acc += xp[n, c, y * sh + i, xx * sw + j] * w[o, c, i, j]
                    out[n, o, y, xx] = acc
    return Tensor(out)


def shift_add_conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0) -> Tensor:
    """One vectorized multiply-add per kernel offset (i, j): the strided slice of the padded
    input that offset reads, contracted over channels with weight[:, :, i, j]."""
    _check_conv(x, weight, "shift_add_conv2d")
    o_ch, _, kh, kw = weight.shape
    _, (sh, sw), p, (ho, wo) = _geometry(x.shape, (kh, kw), stride, padding)
    xp, w = _pad(x.data, p), weight.data
    out = np.zeros((x.shape[0], o_ch, ho, wo), dtype=np.result_type(xp, w))
    for i in range(kh):
        for j in range(kw):
            shifted = xp[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw]  # (N, C, Ho, Wo)
            out += np.einsum("nchw,oc->nohw", shifted, w[:, :, i, j])
    if bias is not None:
        out += bias.data.reshape(1, o_ch, 1, 1)
    return Tensor(out)


def im2col_conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0) -> Tensor:
    """im2col, then one matrix product: (N*Ho*Wo, C*kh*kw) @ (C*kh*kw, O).

    Built from im2col (recorded) and Tensor operations, so kata 06 differentiates it: the
    weight gradient is cols^T @ g, the input gradient col2im(g @ W).
    """
    _check_conv(x, weight, "im2col_conv2d")
    o_ch, c_ch, kh, kw = weight.shape
    _, _, _, (ho, wo) = _geometry(x.shape, (kh, kw), stride, padding)
    cols = im2col(x, (kh, kw), stride, padding)
    out = cols @ weight.reshape(o_ch, c_ch * kh * kw).transpose()  # (N*Ho*Wo, O)
    if bias is not None:
        out = out + bias
    # rows are (n, y, x): back to (N, O, Ho, Wo) with two axis swaps
    return out.reshape(x.shape[0], ho, wo, o_ch).transpose(1, 3).transpose(2, 3)


# ====================================================================== fused GELU

class FusedGELUFunction(Function):
    """y = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).

    dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2), t = tanh(u),
    recomputed from x here instead of stored by the forward (one buffer less).
    """

    def backward(self, grad):
        x = self.inputs[0].data
        t = np.tanh(SQRT_2_OVER_PI * (x + CUBIC * x * x * x))  # x * x * x: np.power is slow
        slope = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3 * CUBIC * x * x)
        return (grad * slope,)


def fused_gelu(x: Tensor) -> Tensor:
    """Kata 02's GELU computed into a single output buffer with in-place NumPy operations:
    no temporary array of x's size, one graph node."""
    z = x.data
    out = np.empty_like(z)  # the one allocation; everything after writes into it
    np.multiply(z, z, out=out)
    out *= z
    out *= CUBIC
    out += z
    out *= SQRT_2_OVER_PI
    np.tanh(out, out=out)
    out += 1.0
    out *= z
    out *= 0.5
    return record(Tensor(out), FusedGELUFunction, (x,))


# ====================================================================== measuring speedups

def _values(result) -> np.ndarray:
    return np.asarray(result.data if isinstance(result, Tensor) else result)


def benchmark(methods: dict, *args, repeats: int = 3, clock=time.perf_counter, show: bool = True) -> dict:
    """Time each method on the same arguments after checking it agrees with the first.

    Returns {name: {"seconds": median of `repeats` timed calls, "speedup": first's seconds
    / this method's seconds}} in the order of `methods`.
    """
    if not methods:
        raise ValueError("benchmark needs at least one method")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    results, baseline, first = {}, None, None
    for name, fn in methods.items():
        value = _values(fn(*args))  # untimed: the warm-up call, and the check
        if first is None:
            first = value
        elif value.shape != first.shape or not np.allclose(value, first, rtol=1e-4, atol=1e-4):
            raise ValueError(f"benchmark: {name!r} does not agree with {next(iter(methods))!r}: "
                             "a faster wrong answer is no speedup")
        times = []
        for _ in range(repeats):
            start = clock()
            fn(*args)
            times.append(clock() - start)
        seconds = float(np.median(times))
        baseline = seconds if baseline is None else baseline
        results[name] = {"seconds": seconds, "speedup": baseline / seconds}
    if show:
        show_results(results, "")
    return results


def benchmark_conv2d(batch: int = 32, channels: int = 8, size: int = 8, kernel_size: int = 3,
                     repeats: int = 3, clock=time.perf_counter, show: bool = True) -> dict:
    """naive loops vs shift-and-add vs im2col on one convolution (same padding, stride 1)."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((batch, channels, size, size)).astype(np.float32))
    w = Tensor(rng.standard_normal((channels, channels, kernel_size, kernel_size)).astype(np.float32))
    b = Tensor(rng.standard_normal(channels).astype(np.float32))
    methods = {"naive": naive_conv2d, "shift-and-add": shift_add_conv2d, "im2col": im2col_conv2d}
    results = benchmark(methods, x, w, b, 1, kernel_size // 2, repeats=repeats, clock=clock, show=False)
    if show:
        show_results(results, f"Conv2d({channels}, {channels}, {kernel_size}) on "
                              f"({batch}, {channels}, {size}, {size})")
    return results


def benchmark_matmul(n: int = 64, tile_size: int = 16, repeats: int = 3, clock=time.perf_counter,
                     show: bool = True) -> dict:
    """naive loops vs tiles vs one BLAS call on an (n, n) @ (n, n) product."""
    rng = np.random.default_rng(0)
    a = Tensor(rng.standard_normal((n, n)).astype(np.float32))
    b = Tensor(rng.standard_normal((n, n)).astype(np.float32))
    methods = {"naive": naive_matmul, "tiled": lambda p, q: tiled_matmul(p, q, tile_size),
               "vectorized": vectorized_matmul}
    results = benchmark(methods, a, b, repeats=repeats, clock=clock, show=False)
    if show:
        show_results(results, f"({n}, {n}) @ ({n}, {n}), tiles of {tile_size}")
    return results


def show_results(results: dict, title: str) -> None:
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
