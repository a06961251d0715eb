"""Kata 09: spatial layers for images in NCHW layout (batch, channels, height, width).

Conv2d       - cross-correlation with learned filters, stride and zero padding
MaxPool2d    - the maximum of each window (the gradient goes to the window's first maximum)
AvgPool2d    - the mean of each window (zero padding counts in the mean)
BatchNorm2d  - per-channel normalization with batch statistics (training) or running ones (eval)
Flatten      - (N, ...) -> (N, features), built from Tensor.reshape

Each forward is computed with NumPy and entered into the graph with kata 06's
`record(out, SomeFn, inputs, **attrs)`; each SomeFn.backward sits next to its forward.
Read README.md in this folder for the exact contract.
"""
from __future__ import annotations

import numpy as np

from tinytorch.core.autograd import Function, record
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor

# ====================================================================== helpers

def _pair(value) -> tuple[int, int]:
    """An int, or a pair (height, width), as a tuple of two ints."""
    if isinstance(value, (tuple, list)):
        h, w = value
        return int(h), int(w)
    return int(value), int(value)


def _check_4d(x, who: str) -> None:
    if len(x.shape) != 4:
        raise ValueError(f"{who} expects a 4-D input (N, C, H, W), got shape {tuple(x.shape)}")


def _out_sizes(h: int, w: int, kernel, stride, padding, who: str) -> tuple[int, int]:
    """floor((size + 2 * padding - kernel) / stride) + 1 along each axis."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(f"{who}: kernel {kernel} does not fit in the input of size {(h, w)} "
                         f"padded by {padding}")
    return (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1


def _pad(data: np.ndarray, padding, value=0.0) -> np.ndarray:
    ph, pw = padding
    if ph == 0 and pw == 0:
        return data
    return np.pad(data, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _windows(padded: np.ndarray, kernel, stride, out) -> np.ndarray:
    """The windows of the padded input as a view of shape (N, C, Ho, Wo, kh, kw): no copy."""
    (kh, kw), (sh, sw) = kernel, stride
    view = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))
    return view[:, :, ::sh, ::sw][:, :, :out[0], :out[1]]


def _scatter(per_offset, shape, kernel, stride, padding, dtype) -> np.ndarray:
    """The adjoint of _windows: add each window's gradient back onto the input positions it
    read, one vectorized add per kernel offset, then cut the padding away.

    per_offset(i, j) is the (N, C, Ho, Wo) gradient that kernel offset (i, j) sends back.
    """
    n, c, h, w = shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    grad = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            part = per_offset(i, j)
            ho, wo = part.shape[2], part.shape[3]
            grad[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += part
    return grad[:, :, ph:ph + h, pw:pw + w]


def _check_pool_padding(kernel, padding, who: str) -> None:
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{who}: padding {padding} must be at most half the kernel size {kernel}")


# ====================================================================== Conv2d

class Conv2dFn(Function):
    """out[n, o] = sum over c, i, j of xpad[n, c, y*sh + i, x*sw + j] * w[o, c, i, j] + b[o]

    Attributes: kernel_size, stride, padding (pairs) and cols, the forward's im2col matrix
    per sample, (N, C*kh*kw, Ho*Wo), kept so that backward need not rebuild it.
    grad_w = sum over n of g[n] @ cols[n]^T, grad_b = g summed over N, Ho, Wo, and
    grad_x = W^T @ g[n] folded back onto the input positions each column read.
    """

    def backward(self, grad):
        x, w = self.inputs[0], self.inputs[1]
        n, o, ho, wo = grad.shape
        g = grad.reshape(n, o, ho * wo)
        grad_x = grad_w = None
        if w.requires_grad:
            grad_w = (g @ self.cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
        if x.requires_grad:
            kh, kw = self.kernel_size
            gcols = (w.data.reshape(o, -1).T @ g).reshape(n, x.shape[1], kh, kw, ho, wo)
            grad_x = _scatter(lambda i, j: gcols[:, :, i, j], x.shape, self.kernel_size,
                              self.stride, self.padding, gcols.dtype)
        if len(self.inputs) == 2:
            return grad_x, grad_w
        return grad_x, grad_w, grad.sum(axis=(0, 2, 3))


class Conv2d(Layer):
    """2-D cross-correlation (PyTorch's Conv2d) on NCHW input, with learned filters.

    weight (out_channels, in_channels, kh, kw) ~ U(-k, k), k = 1/sqrt(in_channels*kh*kw),
    from np.random; bias (out_channels,) zeros, or None.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        kh, kw = self.kernel_size
        k = 1.0 / np.sqrt(self.in_channels * kh * kw)
        w = np.random.uniform(-k, k, size=(self.out_channels, self.in_channels, kh, kw))
        self.weight = Tensor(w.astype(np.float32), requires_grad=True)
        self.bias = Tensor(np.zeros(self.out_channels, np.float32), requires_grad=True) if bias else None

    def forward(self, x):
        _check_4d(x, "Conv2d")
        n, c, h, w = x.shape
        if c != self.in_channels:
            raise ValueError(f"Conv2d expected {self.in_channels} input channels, got {c}")
        ho, wo = _out_sizes(h, w, self.kernel_size, self.stride, self.padding, "Conv2d")
        kh, kw = self.kernel_size
        windows = _windows(_pad(x.data, self.padding), self.kernel_size, self.stride, (ho, wo))
        # im2col per sample: one row per (channel, kernel offset), one column per output position
        cols = windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)
        out = (self.weight.data.reshape(self.out_channels, -1) @ cols).reshape(n, self.out_channels, ho, wo)
        if self.bias is not None:
            out = out + self.bias.data.reshape(1, -1, 1, 1)
        inputs = (x, self.weight) if self.bias is None else (x, self.weight, self.bias)
        return record(Tensor(out), Conv2dFn, inputs, kernel_size=self.kernel_size,
                      stride=self.stride, padding=self.padding, cols=cols)


# ====================================================================== pooling

class MaxPool2dFn(Function):
    """out = the maximum of each window; the gradient goes to the position `argmax` chose
    (the first maximum in row-major window order), added up where windows overlap."""

    def backward(self, grad):
        (x,) = self.inputs
        kw = self.kernel_size[1]
        return (_scatter(lambda i, j: grad * (self.argmax == i * kw + j), x.shape,
                         self.kernel_size, self.stride, self.padding, grad.dtype),)


class MaxPool2d(Layer):
    """Max over kh x kw windows; stride defaults to the kernel size; padding never wins."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = self.kernel_size if stride is None else _pair(stride)
        self.padding = _pair(padding)
        _check_pool_padding(self.kernel_size, self.padding, "MaxPool2d")

    def forward(self, x):
        _check_4d(x, "MaxPool2d")
        n, c, h, w = x.shape
        ho, wo = _out_sizes(h, w, self.kernel_size, self.stride, self.padding, "MaxPool2d")
        kh, kw = self.kernel_size
        padded = _pad(x.data, self.padding, value=-np.inf)
        flat = _windows(padded, self.kernel_size, self.stride, (ho, wo)).reshape(n, c, ho, wo, kh * kw)
        argmax = flat.argmax(axis=-1)  # the first maximum wins a tie
        out = np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]
        return record(Tensor(out), MaxPool2dFn, (x,), argmax=argmax, kernel_size=self.kernel_size,
                      stride=self.stride, padding=self.padding)


class AvgPool2dFn(Function):
    """out = the mean of each window (over all kh*kw cells, padding included): each cell of
    a window receives grad / (kh*kw)."""

    def backward(self, grad):
        (x,) = self.inputs
        share = grad / (self.kernel_size[0] * self.kernel_size[1])
        return (_scatter(lambda i, j: share, x.shape, self.kernel_size, self.stride,
                         self.padding, share.dtype),)


class AvgPool2d(Layer):
    """Mean over kh x kw windows; stride defaults to the kernel size; zero padding counts."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = self.kernel_size if stride is None else _pair(stride)
        self.padding = _pair(padding)
        _check_pool_padding(self.kernel_size, self.padding, "AvgPool2d")

    def forward(self, x):
        _check_4d(x, "AvgPool2d")
        out_hw = _out_sizes(x.shape[2], x.shape[3], self.kernel_size, self.stride, self.padding,
                            "AvgPool2d")
        windows = _windows(_pad(x.data, self.padding), self.kernel_size, self.stride, out_hw)
        out = windows.sum(axis=(4, 5)) / (self.kernel_size[0] * self.kernel_size[1])
        return record(Tensor(out), AvgPool2dFn, (x,), kernel_size=self.kernel_size,
                      stride=self.stride, padding=self.padding)


# ====================================================================== BatchNorm2d

AXES = (0, 2, 3)  # every axis but the channel axis


class BatchNorm2dFn(Function):
    """y = gamma * xhat + beta,  xhat = (x - mean) * inv_std,  inv_std = 1 / sqrt(var + eps)

    Training: mean and var are the batch's, so they depend on x and its gradient has two
    more terms: dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) over N, H, W.
    Eval: the running statistics are constants: dx = dxhat * inv_std.
    """

    def backward(self, grad):
        gamma = self.inputs[1]
        dxhat = grad * gamma.data.reshape(1, -1, 1, 1)
        if self.training:
            dx = self.inv_std * (dxhat - dxhat.mean(axis=AXES, keepdims=True)
                                 - self.xhat * (dxhat * self.xhat).mean(axis=AXES, keepdims=True))
        else:
            dx = dxhat * self.inv_std
        return dx, (grad * self.xhat).sum(axis=AXES), grad.sum(axis=AXES)


class BatchNorm2d(Layer):
    """Per-channel normalization, then a learned scale gamma and shift beta.

    Training mode: normalize with the batch's mean and (biased) variance over N, H, W and
    update running_mean / running_var (the unbiased variance) by exponential averaging.
    Eval mode: normalize with the running statistics, which stay unchanged.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.gamma = Tensor(np.ones(self.num_features, np.float32), requires_grad=True)
        self.beta = Tensor(np.zeros(self.num_features, np.float32), requires_grad=True)
        self.running_mean = np.zeros(self.num_features, np.float32)
        self.running_var = np.ones(self.num_features, np.float32)

    def forward(self, x):
        _check_4d(x, "BatchNorm2d")
        n, c, h, w = x.shape
        if c != self.num_features:
            raise ValueError(f"BatchNorm2d expected {self.num_features} channels, got {c}")
        data = x.data
        if self.training:
            count = n * h * w
            if count < 2:
                raise ValueError("BatchNorm2d needs more than one value per channel in training "
                                 f"mode, got input of shape {tuple(x.shape)}")
            mean, var = data.mean(axis=AXES), data.var(axis=AXES)
            m = self.momentum
            self.running_mean = ((1 - m) * self.running_mean + m * mean).astype(np.float32)
            self.running_var = ((1 - m) * self.running_var
                                + m * var * (count / (count - 1))).astype(np.float32)
        else:
            mean = self.running_mean.astype(data.dtype)
            var = self.running_var.astype(data.dtype)
        inv_std = (1.0 / np.sqrt(var + self.eps)).reshape(1, c, 1, 1).astype(data.dtype)
        xhat = (data - mean.reshape(1, c, 1, 1)) * inv_std
        out = self.gamma.data.reshape(1, c, 1, 1) * xhat + self.beta.data.reshape(1, c, 1, 1)
        return record(Tensor(out), BatchNorm2dFn, (x, self.gamma, self.beta), xhat=xhat,
                      inv_std=inv_std, training=self.training)


# ====================================================================== Flatten

class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...), in row-major order, with Tensor.reshape (so
    kata 06 records it like any reshape)."""

    def forward(self, x):
        return x.reshape(x.shape[0], -1)
