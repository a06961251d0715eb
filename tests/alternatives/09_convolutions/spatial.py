"""An independent, deliberately naive solution of kata 09: every convolution and pooling
is a set of explicit Python loops (TinyTorch's style), so it is about a thousand times
slower than the reference. It must still pass every hidden test within the grader's
budgets. Other legitimate choices than the reference's: padding cells are skipped by a
bounds check instead of padded with -inf, running statistics are updated in place,
BatchNorm's backward uses the sums form, Flatten reshapes with an explicit size.
"""
from __future__ import annotations

import numpy as np

from tinytorch.core.autograd import Function, record
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor


def _two(v):
    if isinstance(v, (list, tuple)):
        return (int(v[0]), int(v[1]))
    return (int(v), int(v))


def _need_4d(x, name):
    if x.data.ndim != 4:
        raise ValueError(f"{name}: input must be 4-D (N, C, H, W), got shape {x.data.shape}")


def _sizes(h, w, k, s, p, name):
    ho = (h + 2 * p[0] - k[0]) // s[0] + 1
    wo = (w + 2 * p[1] - k[1]) // s[1] + 1
    if h + 2 * p[0] - k[0] < 0 or w + 2 * p[1] - k[1] < 0:
        raise ValueError(f"{name}: the kernel {k} is larger than the padded input")
    return ho, wo


def _inside(r, c, h, w):
    return 0 <= r < h and 0 <= c < w


class Conv2dFn(Function):
    def backward(self, grad):
        x = self.inputs[0].data
        w = self.inputs[1].data
        (sh, sw), (ph, pw) = self.stride, self.padding
        n_, c_, h, wd = x.shape
        o_, _, kh, kw = w.shape
        dtype = np.result_type(x.dtype, w.dtype, grad.dtype)
        gx = np.zeros(x.shape, dtype)
        gw = np.zeros(w.shape, dtype)
        for n in range(n_):
            for o in range(o_):
                for y in range(grad.shape[2]):
                    for xx in range(grad.shape[3]):
                        gval = grad[n, o, y, xx]
                        for c in range(c_):
                            for i in range(kh):
                                for j in range(kw):
                                    r, col = y * sh + i - ph, xx * sw + j - pw
                                    if _inside(r, col, h, wd):
                                        gw[o, c, i, j] += gval * x[n, c, r, col]
                                        gx[n, c, r, col] += gval * w[o, c, i, j]
        if len(self.inputs) == 3:
            gb = np.zeros(o_, dtype)
            for o in range(o_):
                gb[o] = grad[:, o].sum()
            return gx, gw, gb
        return gx, gw


class Conv2d(Layer):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = _two(kernel_size), _two(stride), _two(padding)
        kh, kw = self.kernel_size
        bound = 1.0 / np.sqrt(in_channels * kh * kw)
        shape = (self.out_channels, self.in_channels, kh, kw)
        self.weight = Tensor((bound * (2.0 * np.random.random_sample(shape) - 1.0)).astype(np.float32),
                             requires_grad=True)
        self.bias = Tensor(np.zeros(self.out_channels, dtype=np.float32), requires_grad=True) if bias else None

    def forward(self, x):
        _need_4d(x, "Conv2d")
        n_, c_, h, wd = x.data.shape
        if c_ != self.in_channels:
            raise ValueError(f"Conv2d: expected {self.in_channels} channels, the input has {c_}")
        ho, wo = _sizes(h, wd, self.kernel_size, self.stride, self.padding, "Conv2d")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        xd, w = x.data, self.weight.data
        dtype = np.result_type(xd.dtype, w.dtype)
        out = np.zeros((n_, self.out_channels, ho, wo), dtype)
        for n in range(n_):
            for o in range(self.out_channels):
                for y in range(ho):
                    for xx in range(wo):
                        total = 0.0
                        for c in range(c_):
                            for i in range(kh):
                                for j in range(kw):
                                    r, col = y * sh + i - ph, xx * sw + j - pw
                                    if _inside(r, col, h, wd):
                                        total += xd[n, c, r, col] * w[o, c, i, j]
                        if self.bias is not None:
                            total += self.bias.data[o]
                        out[n, o, y, xx] = total
        ins = (x, self.weight) if self.bias is None else (x, self.weight, self.bias)
        return record(Tensor(out), Conv2dFn, ins, stride=self.stride, padding=self.padding)


class _Pool(Layer):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _two(kernel_size)
        self.stride = self.kernel_size if stride is None else _two(stride)
        self.padding = _two(padding)
        if 2 * self.padding[0] > self.kernel_size[0] or 2 * self.padding[1] > self.kernel_size[1]:
            raise ValueError(f"{type(self).__name__}: padding {self.padding} exceeds half of "
                             f"the kernel {self.kernel_size}")

    def _cells(self, y, xx, h, w):
        """The real (unpadded) input cells of window (y, xx), in row-major order."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return [(y * sh + i - ph, xx * sw + j - pw) for i in range(kh) for j in range(kw)
                if _inside(y * sh + i - ph, xx * sw + j - pw, h, w)]


class MaxPool2dFn(Function):
    def backward(self, grad):
        x = self.inputs[0]
        gx = np.zeros(x.shape, np.result_type(x.data.dtype, grad.dtype))
        for (n, c, y, xx), (r, col) in self.winners.items():
            gx[n, c, r, col] += grad[n, c, y, xx]
        return (gx,)


class MaxPool2d(_Pool):
    def forward(self, x):
        _need_4d(x, "MaxPool2d")
        n_, c_, h, w = x.data.shape
        ho, wo = _sizes(h, w, self.kernel_size, self.stride, self.padding, "MaxPool2d")
        out = np.zeros((n_, c_, ho, wo), x.data.dtype)
        winners = {}
        for n in range(n_):
            for c in range(c_):
                for y in range(ho):
                    for xx in range(wo):
                        best = None
                        for r, col in self._cells(y, xx, h, w):
                            if best is None or x.data[n, c, r, col] > x.data[n, c, best[0], best[1]]:
                                best = (r, col)
                        winners[(n, c, y, xx)] = best
                        out[n, c, y, xx] = x.data[n, c, best[0], best[1]]
        return record(Tensor(out), MaxPool2dFn, (x,), winners=winners)


class AvgPool2dFn(Function):
    def backward(self, grad):
        x = self.inputs[0]
        gx = np.zeros(x.shape, np.result_type(x.data.dtype, grad.dtype))
        for (n, c, y, xx), cells in self.cells.items():
            for r, col in cells:
                gx[n, c, r, col] += grad[n, c, y, xx] / self.area
        return (gx,)


class AvgPool2d(_Pool):
    def forward(self, x):
        _need_4d(x, "AvgPool2d")
        n_, c_, h, w = x.data.shape
        ho, wo = _sizes(h, w, self.kernel_size, self.stride, self.padding, "AvgPool2d")
        area = self.kernel_size[0] * self.kernel_size[1]
        out = np.zeros((n_, c_, ho, wo), x.data.dtype)
        cells = {}
        for n in range(n_):
            for c in range(c_):
                for y in range(ho):
                    for xx in range(wo):
                        cells[(n, c, y, xx)] = self._cells(y, xx, h, w)
                        out[n, c, y, xx] = sum(x.data[n, c, r, col] for r, col in cells[(n, c, y, xx)]) / area
        return record(Tensor(out), AvgPool2dFn, (x,), cells=cells, area=area)


class BatchNorm2dFn(Function):
    def backward(self, grad):
        x, gamma, _ = self.inputs
        axes, n = (0, 2, 3), self.count
        g_hat = grad * gamma.data[None, :, None, None]
        if self.training:
            s1 = g_hat.sum(axis=axes, keepdims=True)
            s2 = (g_hat * self.xhat).sum(axis=axes, keepdims=True)
            dx = self.scale / n * (n * g_hat - s1 - self.xhat * s2)
        else:
            dx = g_hat * self.scale
        return dx, (grad * self.xhat).sum(axis=axes), grad.sum(axis=axes)


class BatchNorm2d(Layer):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.gamma = Tensor(np.ones(num_features, dtype=np.float32), requires_grad=True)
        self.beta = Tensor(np.zeros(num_features, dtype=np.float32), requires_grad=True)
        self.running_mean = np.zeros(num_features, dtype=np.float32)
        self.running_var = np.ones(num_features, dtype=np.float32)

    def forward(self, x):
        _need_4d(x, "BatchNorm2d")
        d = x.data
        if d.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d: built for {self.num_features} channels, got {d.shape[1]}")
        count = d.shape[0] * d.shape[2] * d.shape[3]
        if self.training:
            if count == 1:
                raise ValueError("BatchNorm2d: training needs more than one value per channel")
            mean = d.sum(axis=(0, 2, 3)) / count
            var = ((d - mean[None, :, None, None]) ** 2).sum(axis=(0, 2, 3)) / count
            self.running_mean *= 1 - self.momentum  # in place: stays float32
            self.running_mean += (self.momentum * mean).astype(np.float32)
            self.running_var *= 1 - self.momentum
            self.running_var += (self.momentum * var * count / (count - 1)).astype(np.float32)
        else:
            mean = np.asarray(self.running_mean, d.dtype)
            var = np.asarray(self.running_var, d.dtype)
        scale = (1 / np.sqrt(var + self.eps)).astype(d.dtype)[None, :, None, None]
        xhat = (d - mean.astype(d.dtype)[None, :, None, None]) * scale
        out = xhat * self.gamma.data[None, :, None, None] + self.beta.data[None, :, None, None]
        return record(Tensor(out), BatchNorm2dFn, (x, self.gamma, self.beta), xhat=xhat,
                      scale=scale, count=count, training=self.training)


class Flatten(Layer):
    def forward(self, x):
        n = x.shape[0]
        return x.reshape((n, int(np.prod(x.shape[1:], dtype=np.int64))))
