"""A second independent solution of kata 09, the shift-and-add formulation: one vectorized
multiply-add per kernel offset, in forward and backward alike, for Conv2d and both pools.
tests/test_milestone_cnn.py proves that it passes kata 09 and that the cnn milestone
trains with it within the milestone budget.
"""
from __future__ import annotations

import numpy as np

from tinytorch.core.autograd import Function, record
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor


def _pair(v):
    return (int(v[0]), int(v[1])) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _check(x, name):
    if x.data.ndim != 4:
        raise ValueError(f"{name} needs an (N, C, H, W) input, got shape {x.data.shape}")


def _geometry(shape, k, s, p, name):
    h, w = shape[2] + 2 * p[0], shape[3] + 2 * p[1]
    if h < k[0] or w < k[1]:
        raise ValueError(f"{name}: kernel {k} larger than the padded input {(h, w)}")
    return (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1


def _padded(a, p, fill=0.0):
    return np.pad(a, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=fill)


def _offsets(k, s, out):
    """(i, j, row slice, column slice) of every kernel offset: the input cells that offset
    reads for the whole output at once."""
    for i in range(k[0]):
        for j in range(k[1]):
            yield i, j, slice(i, i + s[0] * out[0], s[0]), slice(j, j + s[1] * out[1], s[1])


def _unpad(a, p, shape):
    return a[:, :, p[0]:p[0] + shape[2], p[1]:p[1] + shape[3]]


class Conv2dFn(Function):
    def backward(self, grad):
        x, w = self.inputs[0], self.inputs[1]
        xp = _padded(x.data, self.padding)
        gxp = np.zeros(xp.shape, np.result_type(xp.dtype, w.data.dtype, grad.dtype))
        gw = np.zeros(w.shape, gxp.dtype)
        for i, j, rows, cols in _offsets(self.k, self.stride, grad.shape[2:]):
            # grad (N, O, Ho, Wo) with the slice (N, C, Ho, Wo): contract N, Ho, Wo
            gw[:, :, i, j] = np.tensordot(grad, xp[:, :, rows, cols], axes=([0, 2, 3], [0, 2, 3]))
            gxp[:, :, rows, cols] += np.tensordot(grad, w.data[:, :, i, j], axes=([1], [0])).transpose(0, 3, 1, 2)
        grads = (_unpad(gxp, self.padding, x.shape), gw)
        return grads + ((grad.sum(axis=(0, 2, 3)),) if len(self.inputs) == 3 else ())


class Conv2d(Layer):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        bound = (in_channels * self.kernel_size[0] * self.kernel_size[1]) ** -0.5
        self.weight = Tensor(np.random.uniform(-bound, bound, (out_channels, in_channels, *self.kernel_size))
                             .astype(np.float32), requires_grad=True)
        self.bias = Tensor(np.zeros(out_channels, np.float32), requires_grad=True) if bias else None

    def forward(self, x):
        _check(x, "Conv2d")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2d({self.in_channels}, ...) got {x.shape[1]} channels")
        out_hw = _geometry(x.shape, self.kernel_size, self.stride, self.padding, "Conv2d")
        xp = _padded(x.data, self.padding)
        w = self.weight.data
        out = np.zeros((x.shape[0], self.out_channels, *out_hw), np.result_type(xp.dtype, w.dtype))
        for i, j, rows, cols in _offsets(self.kernel_size, self.stride, out_hw):
            out += np.tensordot(xp[:, :, rows, cols], w[:, :, i, j], axes=([1], [1])).transpose(0, 3, 1, 2)
        if self.bias is not None:
            out += self.bias.data[:, None, None]
        ins = (x, self.weight) if self.bias is None else (x, self.weight, self.bias)
        return record(Tensor(out), Conv2dFn, ins, k=self.kernel_size, stride=self.stride, padding=self.padding)


class _Pool(Layer):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = self.kernel_size if stride is None else _pair(stride)
        self.padding = _pair(padding)
        if any(p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(f"padding {self.padding} is more than half the kernel {self.kernel_size}")


class MaxPool2dFn(Function):
    def backward(self, grad):
        (x,) = self.inputs
        gxp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * self.padding[0],
                        x.shape[3] + 2 * self.padding[1]), np.result_type(x.data.dtype, grad.dtype))
        for n, (_, _, rows, cols) in enumerate(_offsets(self.k, self.stride, grad.shape[2:])):
            gxp[:, :, rows, cols] += np.where(self.winner == n, grad, 0)
        return (_unpad(gxp, self.padding, x.shape),)


class MaxPool2d(_Pool):
    def forward(self, x):
        _check(x, "MaxPool2d")
        out_hw = _geometry(x.shape, self.kernel_size, self.stride, self.padding, "MaxPool2d")
        xp = _padded(x.data, self.padding, -np.inf)
        best = winner = None
        for n, (_, _, rows, cols) in enumerate(_offsets(self.kernel_size, self.stride, out_hw)):
            cand = xp[:, :, rows, cols]
            if best is None:
                best, winner = cand.copy(), np.zeros(cand.shape, np.int64)
            else:
                better = cand > best  # strictly: an earlier offset keeps a tie
                best = np.where(better, cand, best)
                winner = np.where(better, n, winner)
        return record(Tensor(best), MaxPool2dFn, (x,), winner=winner, k=self.kernel_size,
                      stride=self.stride, padding=self.padding)


class AvgPool2dFn(Function):
    def backward(self, grad):
        (x,) = self.inputs
        gxp = np.zeros((x.shape[0], x.shape[1], x.shape[2] + 2 * self.padding[0],
                        x.shape[3] + 2 * self.padding[1]), np.result_type(x.data.dtype, grad.dtype))
        share = grad / (self.k[0] * self.k[1])
        for _, _, rows, cols in _offsets(self.k, self.stride, grad.shape[2:]):
            gxp[:, :, rows, cols] += share
        return (_unpad(gxp, self.padding, x.shape),)


class AvgPool2d(_Pool):
    def forward(self, x):
        _check(x, "AvgPool2d")
        out_hw = _geometry(x.shape, self.kernel_size, self.stride, self.padding, "AvgPool2d")
        xp = _padded(x.data, self.padding)
        total = sum(xp[:, :, rows, cols] for _, _, rows, cols in
                    _offsets(self.kernel_size, self.stride, out_hw))
        return record(Tensor(total / (self.kernel_size[0] * self.kernel_size[1])), AvgPool2dFn, (x,),
                      k=self.kernel_size, stride=self.stride, padding=self.padding)


class BatchNorm2dFn(Function):
    def backward(self, grad):
        x, gamma, beta = self.inputs
        g = grad * gamma.data.reshape(1, -1, 1, 1)
        if self.batch_stats:
            axes = (0, 2, 3)
            g = g - g.mean(axis=axes, keepdims=True) - self.xhat * (g * self.xhat).mean(axis=axes, keepdims=True)
        return g / self.std, (grad * self.xhat).sum(axis=(0, 2, 3)), grad.sum(axis=(0, 2, 3))


class BatchNorm2d(Layer):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.gamma = Tensor(np.ones(num_features, np.float32), requires_grad=True)
        self.beta = Tensor(np.zeros(num_features, np.float32), requires_grad=True)
        self.running_mean = np.zeros(num_features, np.float32)
        self.running_var = np.ones(num_features, np.float32)

    def forward(self, x):
        _check(x, "BatchNorm2d")
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d({self.num_features}) got {x.shape[1]} channels")
        d = x.data
        if self.training:
            if d.size // d.shape[1] < 2:
                raise ValueError("BatchNorm2d: one value per channel cannot be normalized in training")
            mean = d.mean(axis=(0, 2, 3), keepdims=True)
            var = d.var(axis=(0, 2, 3), keepdims=True)
            m = self.momentum
            self.running_mean = np.float32(1 - m) * self.running_mean + np.float32(m) * mean.ravel().astype(np.float32)
            self.running_var = (np.float32(1 - m) * self.running_var
                                + np.float32(m) * d.var(axis=(0, 2, 3), ddof=1).astype(np.float32))
        else:
            mean = self.running_mean.reshape(1, -1, 1, 1).astype(d.dtype)
            var = self.running_var.reshape(1, -1, 1, 1).astype(d.dtype)
        std = np.sqrt(var + self.eps).astype(d.dtype)
        xhat = (d - mean) / std
        out = self.gamma.data.reshape(1, -1, 1, 1) * xhat + self.beta.data.reshape(1, -1, 1, 1)
        return record(Tensor(out), BatchNorm2dFn, (x, self.gamma, self.beta), xhat=xhat, std=std,
                      batch_stats=self.training)


class Flatten(Layer):
    def forward(self, x):
        return x.view(len(x.data), -1)
