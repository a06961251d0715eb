"""Kata 03: layers, the building blocks of a network.

Write the four classes below (see README.md). A Layer holds parameters (Tensors with
requires_grad=True) and maps an input Tensor to an output Tensor.

Linear and Dropout must compute with Tensor operations (`@`, `+`, `*` on Tensors), never
on `.data` with NumPy: kata 06 autograd records Tensor operations to compute gradients,
and a result rebuilt from `.data` would be invisible to it. `__call__` must return
`self.forward(...)`.
"""
from __future__ import annotations

import numpy as np

from tinytorch.core.tensor import Tensor


class Layer:
    """Base class of every layer.

    - `training` is True for a new layer; `train()` / `eval()` set it here and in every
      sub-layer, and return `self`.
    - `parameters()` returns a list of Tensors: this layer's own Tensor attributes with
      requires_grad=True, then the parameters of its sub-layers (Layer attributes, also
      those inside a list or tuple attribute), in the order the attributes were assigned,
      each Tensor listed once.
    """

    def __init__(self):
        """Start in training mode."""
        raise NotImplementedError("kata 03_layers: write Layer.__init__")

    def forward(self, *args):
        """Subclasses define the computation."""
        raise NotImplementedError("kata 03_layers: write forward in each Layer subclass")

    def __call__(self, *args):
        """layer(x) is layer.forward(x)."""
        raise NotImplementedError("kata 03_layers: write Layer.__call__")

    def parameters(self) -> list:
        """Own Tensors with requires_grad=True, then sub-layers' parameters; each once."""
        raise NotImplementedError("kata 03_layers: write Layer.parameters")

    def train(self, mode: bool = True):
        """Set training mode (mode=True) here and in every sub-layer; return self."""
        raise NotImplementedError("kata 03_layers: write Layer.train")

    def eval(self):
        """Evaluation mode, the same as train(False); return self."""
        raise NotImplementedError("kata 03_layers: write Layer.eval")


class Linear(Layer):
    """A fully connected layer: y = x @ W + b.

    weight: Tensor (in_features, out_features), float32, requires_grad=True, values drawn
            uniformly in [-k, k] with k = 1 / sqrt(in_features), from np.random (the global
            generator, so np.random.seed makes it reproducible).
    bias:   Tensor (out_features,), float32 zeros, requires_grad=True; None if bias=False.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        raise NotImplementedError("kata 03_layers: write Linear.__init__")

    def forward(self, x: Tensor) -> Tensor:
        """x of shape (..., in_features) -> (..., out_features), with Tensor operations."""
        raise NotImplementedError("kata 03_layers: write Linear.forward")


class Dropout(Layer):
    """Inverted dropout with drop probability p in [0, 1] (anything else: ValueError).

    In training mode, each element is zeroed with probability p (mask drawn from
    np.random) and every survivor is scaled by 1 / (1 - p), computed as `x * Tensor(mask)`.
    In eval mode or with p == 0 the input is returned unchanged; with p == 1 the output is
    all zeros.
    """

    def __init__(self, p: float = 0.5):
        raise NotImplementedError("kata 03_layers: write Dropout.__init__")

    def forward(self, x: Tensor) -> Tensor:
        """Drop and rescale in training mode; the identity in eval mode."""
        raise NotImplementedError("kata 03_layers: write Dropout.forward")


class Sequential(Layer):
    """Sequential(a, b, c)(x) == c(b(a(x))). `layers` is the list of the given layers;
    items may also be activations (callables without parameters)."""

    def __init__(self, *layers):
        raise NotImplementedError("kata 03_layers: write Sequential.__init__")

    def forward(self, x: Tensor) -> Tensor:
        """Apply every layer in order."""
        raise NotImplementedError("kata 03_layers: write Sequential.forward")
