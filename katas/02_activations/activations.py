"""Kata 02: activation functions, the non-linearities between layers.

Write the shared base class and the five activations below (see README.md). Each
`forward` takes a Tensor and returns a NEW Tensor of the same shape and dtype, and never
changes its input. You may compute on the NumPy array `x.data`. `__call__` must return
`self.forward(x, *args, **kwargs)`: kata 06 wraps `forward` to record gradients, so
calling must go through it.

Every activation must stay finite, with no overflow warning, for inputs up to |x| = 1000.
"""
from __future__ import annotations

import math  # noqa: F401  (math.sqrt, math.pi: Python floats keep float32)

import numpy as np  # noqa: F401

from tinytorch.core.tensor import Tensor


class Activation:
    """The part every activation shares (the five classes below inherit it)."""

    def forward(self, x: Tensor) -> Tensor:
        """Each subclass defines its own forward."""
        raise NotImplementedError("kata 02_activations: write forward in each activation")

    def __call__(self, x: Tensor, *args, **kwargs) -> Tensor:
        """act(x, ...) is act.forward(x, ...), with the extra arguments passed on unchanged."""
        raise NotImplementedError("kata 02_activations: write Activation.__call__")

    def parameters(self) -> list:
        """An activation has no parameters: a new empty list on every call."""
        raise NotImplementedError("kata 02_activations: write Activation.parameters")


class Sigmoid(Activation):
    """sigmoid(x) = 1 / (1 + exp(-x)), elementwise, with values in [0, 1]."""

    def forward(self, x: Tensor) -> Tensor:
        """Sigmoid of every element; stable for very negative and very positive x."""
        raise NotImplementedError("kata 02_activations: write Sigmoid.forward")


class ReLU(Activation):
    """relu(x) = max(x, 0), elementwise; relu(0) = 0."""

    def forward(self, x: Tensor) -> Tensor:
        """Every negative element becomes 0; the others are kept."""
        raise NotImplementedError("kata 02_activations: write ReLU.forward")


class Tanh(Activation):
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)), elementwise, in [-1, 1]."""

    def forward(self, x: Tensor) -> Tensor:
        """Hyperbolic tangent of every element."""
        raise NotImplementedError("kata 02_activations: write Tanh.forward")


class GELU(Activation):
    """The tanh approximation of GELU, elementwise:

        gelu(x) = 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))
    """

    def forward(self, x: Tensor) -> Tensor:
        """GELU (tanh approximation) of every element; float32 in, float32 out."""
        raise NotImplementedError("kata 02_activations: write GELU.forward")


class Softmax(Activation):
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j), taken along axis `dim` (default: last)."""

    def __init__(self, dim: int = -1):
        self.dim = dim

    def forward(self, x: Tensor, dim: int | None = None) -> Tensor:
        """Softmax along `dim`, or along `self.dim` when dim is None (self.dim is never
        changed): every slice along that axis is positive and sums to 1."""
        raise NotImplementedError("kata 02_activations: write Softmax.forward")
