"""Kata 02: activation functions, the non-linearities between layers.

Write the five activations below (see README.md). Each `forward` takes a Tensor and
returns a NEW Tensor of the same shape and dtype, and never changes its input. You may
compute on the NumPy array `x.data`. `__call__` must return `self.forward(x)`: kata 06
wraps `forward` to record gradients, so calling must go through it.

Every activation must stay finite, with no overflow warning, for inputs up to |x| = 1000.
"""
from __future__ import annotations

import math  # noqa: F401  (math.sqrt, math.pi: Python floats keep float32)

import numpy as np  # noqa: F401

from tinytorch.core.tensor import Tensor


class Sigmoid:
    """sigmoid(x) = 1 / (1 + exp(-x)), elementwise, with values in [0, 1]."""

    def forward(self, x: Tensor) -> Tensor:
        """Sigmoid of every element; stable for very negative and very positive x."""
        raise NotImplementedError("kata 02_activations: write Sigmoid.forward")

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError("kata 02_activations: write Sigmoid.__call__")


class ReLU:
    """relu(x) = max(x, 0), elementwise; relu(0) = 0."""

    def forward(self, x: Tensor) -> Tensor:
        """Every negative element becomes 0; the others are kept."""
        raise NotImplementedError("kata 02_activations: write ReLU.forward")

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError("kata 02_activations: write ReLU.__call__")


class Tanh:
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x)), elementwise, in [-1, 1]."""

    def forward(self, x: Tensor) -> Tensor:
        """Hyperbolic tangent of every element."""
        raise NotImplementedError("kata 02_activations: write Tanh.forward")

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError("kata 02_activations: write Tanh.__call__")


class GELU:
    """The tanh approximation of GELU, elementwise:

        gelu(x) = 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))
    """

    def forward(self, x: Tensor) -> Tensor:
        """GELU (tanh approximation) of every element; float32 in, float32 out."""
        raise NotImplementedError("kata 02_activations: write GELU.forward")

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError("kata 02_activations: write GELU.__call__")


class Softmax:
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j), taken along axis `dim` (default: last)."""

    def __init__(self, dim: int = -1):
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        """Softmax along `self.dim`: every slice along that axis is positive and sums to 1."""
        raise NotImplementedError("kata 02_activations: write Softmax.forward")

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError("kata 02_activations: write Softmax.__call__")
