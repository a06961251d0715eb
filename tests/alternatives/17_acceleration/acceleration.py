"""An independent correct kata 17: index arrays and np.add.at instead of sliding windows,
tiles accumulated in a local block, statistics.median, partial for the tiled method."""
from __future__ import annotations

import functools
import math
import numbers
import statistics
import time

import numpy as np

from tinytorch.core.autograd import Function, record
from tinytorch.core.tensor import Tensor

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
CUBIC = 0.044715


def _two(v):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"expected an int or a pair, got {v!r}")
        return (int(v[0]), int(v[1]))
    return (int(v), int(v))


def _out_size(shape, kernel_size, stride, padding):
    (kh, kw), (sh, sw), (ph, pw) = _two(kernel_size), _two(stride), _two(padding)
    hp, wp = shape[2] + 2 * ph, shape[3] + 2 * pw
    if kh > hp or kw > wp or kh < 1 or kw < 1 or sh < 1 or sw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"kernel ({kh}, {kw}) with stride ({sh}, {sw}) does not fit the padded "
                         f"input ({hp}, {wp})")
    return (kh, kw), (sh, sw), (ph, pw), ((hp - kh) // sh + 1, (wp - kw) // sw + 1)


def _indices(n_c_h_w, kernel_size, stride, padding):
    """Row and column index arrays into the padded image, of shape (Ho*Wo, kh*kw)."""
    (kh, kw), (sh, sw), (ph, pw), (ho, wo) = _out_size(n_c_h_w, kernel_size, stride, padding)
    oy, ox = np.meshgrid(np.arange(ho) * sh, np.arange(wo) * sw, indexing="ij")
    ky, kx = np.meshgrid(np.arange(kh), np.arange(kw), indexing="ij")
    rows = oy.reshape(-1, 1) + ky.reshape(1, -1)
    cols = ox.reshape(-1, 1) + kx.reshape(1, -1)
    return rows, cols, (kh, kw), (ph, pw), (ho, wo)


def _matmul_shapes(a, b, name, exactly_2d):
    if a.ndim < 2 or b.ndim < 2 or (exactly_2d and (a.ndim != 2 or b.ndim != 2)):
        raise ValueError(f"{name}: operands must be {'2-D' if exactly_2d else 'at least 2-D'}, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"{name}: cannot multiply {tuple(a.shape)} by {tuple(b.shape)}")


def naive_matmul(a, b):
    _matmul_shapes(a.data, b.data, "naive_matmul", True)
    x, y = a.data, b.data
    out = np.zeros((x.shape[0], y.shape[1]), dtype=np.result_type(x, y))
    for i in range(x.shape[0]):
        for j in range(y.shape[1]):
            for t in range(x.shape[1]):
                out[i, j] += x[i, t] * y[t, j]
    return Tensor(out)


def vectorized_matmul(a, b):
    _matmul_shapes(a.data, b.data, "vectorized_matmul", False)
    return Tensor(a.data @ b.data)


def tiled_matmul(a, b, tile_size=64):
    if isinstance(tile_size, bool) or not isinstance(tile_size, numbers.Integral) or tile_size <= 0:
        raise ValueError(f"tile_size must be a positive integer, not {tile_size!r}")
    _matmul_shapes(a.data, b.data, "tiled_matmul", True)
    x, y = a.data, b.data
    m, k = x.shape
    n = y.shape[1]
    out = np.empty((m, n), dtype=np.result_type(x, y))
    t = tile_size
    for i0 in range(0, m, t):
        i1 = min(i0 + t, m)
        for j0 in range(0, n, t):
            j1 = min(j0 + t, n)
            acc = np.zeros((i1 - i0, j1 - j0), dtype=out.dtype)
            for k0 in range(0, k, t):
                k1 = min(k0 + t, k)
                acc += x[i0:i1, k0:k1] @ y[k0:k1, j0:j1]
            out[i0:i1, j0:j1] = acc
    return Tensor(out)


class Im2colFunction(Function):
    def backward(self, grad):
        return (col2im(np.asarray(grad), self.inputs[0].shape, self.ks, self.st, self.pd).data,)


def im2col(x, kernel_size, stride=1, padding=0):
    if x.data.ndim != 4:
        raise ValueError(f"im2col needs (N, C, H, W), got {tuple(x.data.shape)}")
    n, c = x.data.shape[:2]
    rows, cols, (kh, kw), (ph, pw), (ho, wo) = _indices(x.data.shape, kernel_size, stride, padding)
    xp = np.pad(x.data, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    patches = xp[:, :, rows, cols]  # fancy indexing copies: (N, C, Ho*Wo, kh*kw)
    out = np.ascontiguousarray(patches.transpose(0, 2, 1, 3)).reshape(n * ho * wo, c * kh * kw)
    return record(Tensor(out), Im2colFunction, (x,), ks=kernel_size, st=stride, pd=padding)


def col2im(cols, x_shape, kernel_size, stride=1, padding=0):
    data = cols.data if isinstance(cols, Tensor) else np.asarray(cols)
    if len(tuple(x_shape)) != 4:
        raise ValueError(f"x_shape must have 4 entries, got {tuple(x_shape)}")
    n, c, h, w = (int(s) for s in x_shape)
    rows, idx, (kh, kw), (ph, pw), (ho, wo) = _indices((n, c, h, w), kernel_size, stride, padding)
    want = (n * ho * wo, c * kh * kw)
    if tuple(data.shape) != want:
        raise ValueError(f"cols of shape {tuple(data.shape)} do not match {want}, what im2col of "
                         f"{(n, c, h, w)} gives")
    patches = data.reshape(n, ho * wo, c, kh * kw).transpose(0, 2, 1, 3)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=data.dtype)
    np.add.at(out, (slice(None), slice(None), rows, idx), patches)  # repeated indices add up
    return Tensor(out[:, :, ph:ph + h, pw:pw + w])


def _conv_checks(x, weight, who):
    if x.data.ndim != 4 or weight.data.ndim != 4:
        raise ValueError(f"{who}: x and weight must be 4-D, got {tuple(x.data.shape)} and "
                         f"{tuple(weight.data.shape)}")
    if x.data.shape[1] != weight.data.shape[1]:
        raise ValueError(f"{who}: channel mismatch {x.data.shape[1]} vs {weight.data.shape[1]}")


def naive_conv2d(x, weight, bias=None, stride=1, padding=0):
    _conv_checks(x, weight, "naive_conv2d")
    o, c, kh, kw = weight.data.shape
    _, (sh, sw), (ph, pw), (ho, wo) = _out_size(x.data.shape, (kh, kw), stride, padding)
    xp = np.pad(x.data, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    w = weight.data
    out = np.empty((x.data.shape[0], o, ho, wo), dtype=np.result_type(x.data, w))
    for b in range(out.shape[0]):
        for oc in range(o):
            for y in range(ho):
                for xx in range(wo):
                    total = 0.0
                    for ic in range(c):
                        for i in range(kh):
                            for j in range(kw):
                                total += xp[b, ic, y * sh + i, xx * sw + j] * w[oc, ic, i, j]
                    out[b, oc, y, xx] = total + (0.0 if bias is None else bias.data[oc])
    return Tensor(out)


def shift_add_conv2d(x, weight, bias=None, stride=1, padding=0):
    _conv_checks(x, weight, "shift_add_conv2d")
    kh, kw = weight.data.shape[2:]
    _, (sh, sw), (ph, pw), (ho, wo) = _out_size(x.data.shape, (kh, kw), stride, padding)
    xp = np.pad(x.data, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    parts = []
    for i in range(kh):
        for j in range(kw):
            view = xp[:, :, i:i + (ho - 1) * sh + 1:sh, j:j + (wo - 1) * sw + 1:sw]
            parts.append(np.tensordot(weight.data[:, :, i, j], view, axes=([1], [1])))  # (O, N, Ho, Wo)
    out = np.sum(parts, axis=0).transpose(1, 0, 2, 3)
    if bias is not None:
        out = out + bias.data[None, :, None, None]
    return Tensor(np.ascontiguousarray(out, dtype=np.result_type(x.data, weight.data)))


def im2col_conv2d(x, weight, bias=None, stride=1, padding=0):
    _conv_checks(x, weight, "im2col_conv2d")
    o, c, kh, kw = weight.data.shape
    _, _, _, (ho, wo) = _out_size(x.data.shape, (kh, kw), stride, padding)
    n = x.data.shape[0]
    cols = im2col(x, (kh, kw), stride, padding)  # (N*Ho*Wo, C*kh*kw)
    out = (cols @ weight.reshape(o, c * kh * kw).transpose())  # (N*Ho*Wo, O)
    out = out.reshape(n, ho * wo, o).transpose(1, 2).reshape(n, o, ho, wo)
    if bias is not None:
        out = out + bias.reshape(1, o, 1, 1)
    return out


class FusedGELUFunction(Function):
    def backward(self, grad):
        z = self.inputs[0].data
        inner = SQRT_2_OVER_PI * (z + CUBIC * z ** 3)
        sech2 = 1.0 / np.cosh(inner) ** 2
        d = 0.5 * (1.0 + np.tanh(inner)) + 0.5 * z * sech2 * SQRT_2_OVER_PI * (1.0 + 3.0 * CUBIC * z * z)
        return (grad * d,)


def fused_gelu(x):
    z = x.data
    out = np.power(z, 3, out=np.empty_like(z))
    out *= CUBIC
    out += z
    out *= SQRT_2_OVER_PI
    np.tanh(out, out=out)
    out += 1.0
    out *= 0.5
    out *= z
    return record(Tensor(out), FusedGELUFunction, (x,))


def _as_np(v):
    return np.asarray(getattr(v, "data", v))


def benchmark(methods, *args, repeats=3, clock=time.perf_counter, show=True):
    if len(methods) == 0 or repeats < 1:
        raise ValueError("benchmark needs methods and repeats >= 1")
    reference = None
    out = {}
    for name in methods:
        fn = methods[name]
        got = _as_np(fn(*args))
        if reference is None:
            reference = got
        elif got.shape != reference.shape or not np.allclose(got, reference, rtol=1e-4, atol=1e-4):
            raise ValueError(f"method {name!r} disagrees with the first method")
        durations = []
        for _ in range(repeats):
            t0 = clock()
            fn(*args)
            t1 = clock()
            durations.append(t1 - t0)
        out[name] = {"seconds": float(statistics.median(durations))}
    first = next(iter(out.values()))["seconds"]
    for row in out.values():
        row["speedup"] = first / row["seconds"]
    if show:
        show_results(out, "benchmark")
    return out


def benchmark_conv2d(batch=32, channels=8, size=8, kernel_size=3, repeats=3,
                     clock=time.perf_counter, show=True):
    rng = np.random.default_rng(17)
    x = Tensor(rng.uniform(-1, 1, (batch, channels, size, size)).astype(np.float32))
    w = Tensor(rng.uniform(-1, 1, (channels, channels, kernel_size, kernel_size)).astype(np.float32))
    b = Tensor(rng.uniform(-1, 1, (channels,)).astype(np.float32))
    res = benchmark({"naive": naive_conv2d, "shift-and-add": shift_add_conv2d, "im2col": im2col_conv2d},
                    x, w, b, 1, kernel_size // 2, repeats=repeats, clock=clock, show=False)
    if show:
        show_results(res, f"conv2d: batch {batch}, {channels} channels, {size}x{size}, kernel {kernel_size}")
    return res


def benchmark_matmul(n=64, tile_size=16, repeats=3, clock=time.perf_counter, show=True):
    rng = np.random.default_rng(17)
    a = Tensor(rng.uniform(-1, 1, (n, n)).astype(np.float32))
    b = Tensor(rng.uniform(-1, 1, (n, n)).astype(np.float32))
    res = benchmark({"naive": naive_matmul, "tiled": functools.partial(tiled_matmul, tile_size=tile_size),
                     "vectorized": vectorized_matmul}, a, b, repeats=repeats, clock=clock, show=False)
    if show:
        show_results(res, f"matmul {n}x{n}, tile {tile_size}")
    return res


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
