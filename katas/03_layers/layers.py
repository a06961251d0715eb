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
    - `parameters()` returns a new list of Tensors, found by walking the attributes in the
      order they were assigned: a Tensor with requires_grad=True is listed itself, a Layer
      adds its own parameters(), a list or tuple attribute counts as its items; each
      Tensor listed once (by identity).
    """

    def __init__(self):
        """Start in training mode."""
        raise NotImplementedError("kata 03_layers: write Layer.__init__")

    def forward(self, *args):
        """Subclasses define the computation."""
        raise NotImplementedError("kata 03_layers: write forward in each Layer subclass")

    def __call__(self, x, *args, **kwargs):
        """layer(x, ...) is layer.forward(x, ...), extra arguments passed on unchanged."""
        raise NotImplementedError("kata 03_layers: write Layer.__call__")

    def parameters(self) -> list:
        """Tensors with requires_grad=True and sub-layers' parameters, in assignment order;
        each once."""
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
    all zeros. `forward(x, training=None)`: None follows self.training, True/False
    override it for this call only.
    """

    def __init__(self, p: float = 0.5):
        raise NotImplementedError("kata 03_layers: write Dropout.__init__")

    def forward(self, x: Tensor, training: bool | None = None) -> Tensor:
        """Drop and rescale in training mode; the identity in eval mode."""
        raise NotImplementedError("kata 03_layers: write Dropout.forward")


class Sequential(Layer):
    """Sequential(a, b, c)(x) == c(b(a(x))); Sequential([a, b, c]) is the same model.
    `layers` is a new list of the given items: Layers or any objects with a callable
    forward (activations); anything else raises TypeError naming its position."""

    def __init__(self, *layers):
        raise NotImplementedError("kata 03_layers: write Sequential.__init__")

    def forward(self, x: Tensor, training: bool | None = None) -> Tensor:
        """Apply every item in order. training=True/False: every sub-layer runs in that
        mode for this call, and gets its own mode back afterwards (also on an error)."""
        raise NotImplementedError("kata 03_layers: write Sequential.forward")
