"""Kata 02: activation functions, the non-linearities between layers.

Each activation computes on the NumPy array `x.data` and returns a new Tensor of the same
shape and dtype. Kata 06 gives every class its own backward rule and wraps `forward`, so
`__call__` must go through `self.forward`.
"""
from __future__ import annotations

import math

import numpy as np

from tinytorch.core.tensor import Tensor

# Python floats (not np.float64) so that float32 data stays float32 (NEP 50).
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


class Activation:
    """What every activation shares: calling goes through forward, and no parameters."""

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def __call__(self, x: Tensor, *args, **kwargs) -> Tensor:
        return self.forward(x, *args, **kwargs)

    def parameters(self) -> list:
        return []


class Sigmoid(Activation):
    """sigmoid(x) = 1 / (1 + exp(-x)), in [0, 1]."""

    def forward(self, x: Tensor) -> Tensor:
        z = x.data
        # exp(-|x|) lies in (0, 1]: it can underflow to 0 but never overflow.
        e = np.exp(-np.abs(z))
        out = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
        return Tensor(out)


class ReLU(Activation):
    """relu(x) = max(x, 0); relu(0) = 0."""

    def forward(self, x: Tensor) -> Tensor:
        z = x.data
        return Tensor(np.maximum(z, 0))


class Tanh(Activation):
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)), in [-1, 1]."""

    def forward(self, x: Tensor) -> Tensor:
        z = x.data
        return Tensor(np.tanh(z))


class GELU(Activation):
    """gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the tanh approximation."""

    def forward(self, x: Tensor) -> Tensor:
        z = x.data
        inner = _SQRT_2_OVER_PI * (z + _GELU_CUBIC * (z * z * z))  # z * z * z: NumPy's ** 3 is a slow pow
        out = 0.5 * z * (1 + np.tanh(inner))
        return Tensor(out)


class Softmax(Activation):
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j), along axis `dim`."""

    def __init__(self, dim: int = -1):
        self.dim = dim

    def forward(self, x: Tensor, dim: int | None = None) -> Tensor:
        z = x.data
        axis = self.dim if dim is None else dim
        # softmax(x - c) = softmax(x): shifting by the max makes every exponent <= 0.
        shifted = z - z.max(axis=axis, keepdims=True)
        e = np.exp(shifted)
        return Tensor(e / e.sum(axis=axis, keepdims=True))
