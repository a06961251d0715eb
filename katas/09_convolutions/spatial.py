"""Kata 09: spatial layers for images in NCHW layout (batch, channels, height, width).

Conv2d, MaxPool2d, AvgPool2d, BatchNorm2d and Flatten. Each forward (but Flatten's)
computes its result with NumPy, then enters the graph with kata 06's
`record(Tensor(result), SomeFn, inputs, **attrs)`; write each SomeFn.backward right
beside its forward. Flatten is built from Tensor.reshape.

Read README.md in this folder for the exact contract.
"""
from __future__ import annotations

import numpy as np  # noqa: F401  (yours to use)

from tinytorch.core.autograd import Function, record  # noqa: F401
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor  # noqa: F401

__all__ = [
    "AvgPool2d",
    "AvgPool2dFn",
    "BatchNorm2d",
    "BatchNorm2dFn",
    "Conv2d",
    "Conv2dFn",
    "Flatten",
    "MaxPool2d",
    "MaxPool2dFn",
]


# ====================================================================== Conv2d

class Conv2dFn(Function):
    """Recorded by Conv2d.forward with inputs (x, weight, bias) or (x, weight).

    backward(grad) gets dLoss/dout of shape (N, out_channels, Ho, Wo) and returns
    (grad_x, grad_weight, grad_bias), or (grad_x, grad_weight) without bias.
    """

    def backward(self, grad):
        raise NotImplementedError("kata 09_convolutions: write Conv2dFn.backward")


class Conv2d(Layer):
    """2-D cross-correlation (as PyTorch's Conv2d, no kernel flip) on NCHW input.

    kernel_size, stride, padding: an int or a pair (height, width), stored as pairs.
    weight (out_channels, in_channels, kh, kw) float32 ~ U(-k, k), k = 1/sqrt(in_channels*kh*kw),
    from np.random; bias (out_channels,) float32 zeros, or None when bias=False.
    out[n, o, y, x] = bias[o] + sum_{c,i,j} xpad[n, c, y*sh + i, x*sw + j] * weight[o, c, i, j]
    Ho = (H + 2*ph - kh) // sh + 1, Wo = (W + 2*pw - kw) // sw + 1.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        raise NotImplementedError("kata 09_convolutions: write Conv2d.__init__")

    def forward(self, x):
        raise NotImplementedError("kata 09_convolutions: write Conv2d.forward")


# ====================================================================== pooling

class MaxPool2dFn(Function):
    """Recorded by MaxPool2d.forward with inputs (x,): the gradient of each window goes to
    its first maximum (row-major order within the window); overlaps add up."""

    def backward(self, grad):
        raise NotImplementedError("kata 09_convolutions: write MaxPool2dFn.backward")


class MaxPool2d(Layer):
    """The maximum of each kh x kw window; stride=None means stride = kernel_size;
    padding counts as -inf (it never wins) and is at most half the kernel size."""

    def __init__(self, kernel_size, stride=None, padding=0):
        raise NotImplementedError("kata 09_convolutions: write MaxPool2d.__init__")

    def forward(self, x):
        raise NotImplementedError("kata 09_convolutions: write MaxPool2d.forward")


class AvgPool2dFn(Function):
    """Recorded by AvgPool2d.forward with inputs (x,): each cell of a window receives
    grad / (kh * kw); overlaps add up."""

    def backward(self, grad):
        raise NotImplementedError("kata 09_convolutions: write AvgPool2dFn.backward")


class AvgPool2d(Layer):
    """The mean of each kh x kw window over all its cells, zero padding included;
    stride=None means stride = kernel_size; padding is at most half the kernel size."""

    def __init__(self, kernel_size, stride=None, padding=0):
        raise NotImplementedError("kata 09_convolutions: write AvgPool2d.__init__")

    def forward(self, x):
        raise NotImplementedError("kata 09_convolutions: write AvgPool2d.forward")


# ====================================================================== BatchNorm2d

class BatchNorm2dFn(Function):
    """Recorded by BatchNorm2d.forward with inputs (x, gamma, beta); returns
    (grad_x, grad_gamma, grad_beta). In training mode the batch statistics depend on x."""

    def backward(self, grad):
        raise NotImplementedError("kata 09_convolutions: write BatchNorm2dFn.backward")


class BatchNorm2d(Layer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, per channel.

    Training: mean and biased var over N, H, W of the batch; then
    running_mean = (1 - momentum) * running_mean + momentum * mean and
    running_var = (1 - momentum) * running_var + momentum * var * n / (n - 1).
    Eval: running_mean and running_var instead, left unchanged.
    gamma ones, beta zeros (float32 Tensors, requires_grad); running stats float32 arrays.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        raise NotImplementedError("kata 09_convolutions: write BatchNorm2d.__init__")

    def forward(self, x):
        raise NotImplementedError("kata 09_convolutions: write BatchNorm2d.forward")


# ====================================================================== Flatten

class Flatten(Layer):
    """(N, d1, ..., dk) -> (N, d1 * ... * dk) with Tensor.reshape, so the graph flows."""

    def forward(self, x):
        raise NotImplementedError("kata 09_convolutions: write Flatten.forward")
