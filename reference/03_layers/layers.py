"""Kata 03: layers, the building blocks of a network.

A Layer holds parameters (Tensors with requires_grad=True) and maps an input Tensor to an
output Tensor. Linear and Dropout compute with Tensor operations (`@`, `+`, `*`), never on
`.data`, so that kata 06 autograd can record them without any change here.
"""
from __future__ import annotations

import numpy as np

from tinytorch.core.tensor import Tensor


class Layer:
    """Base class: `forward`, `__call__`, `parameters()`, and train/eval mode."""

    def __init__(self):
        self.training = True

    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} must define forward")

    def __call__(self, x, *args, **kwargs):
        return self.forward(x, *args, **kwargs)

    def _members(self):
        """Attribute values in assignment order, lists and tuples flattened one level."""
        for value in vars(self).values():
            if isinstance(value, (list, tuple)):
                yield from value
            else:
                yield value

    def parameters(self) -> list:
        """The attributes in assignment order: Tensors with requires_grad=True, and the
        parameters() of Layers; each Tensor once."""
        params, seen = [], set()
        for value in self._members():
            if isinstance(value, Tensor):
                found = [value] if value.requires_grad else []
            elif isinstance(value, Layer):
                found = value.parameters()
            else:  # activations, numbers, None: no parameters
                found = []
            for p in found:
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        return params

    def train(self, mode: bool = True):
        """Set training mode here and in every sub-layer; returns self."""
        self.training = mode
        for value in self._members():
            if isinstance(value, Layer):
                value.train(mode)
        return self

    def _modes(self) -> list:
        """(layer, training) for this layer and every sub-layer, to put back later."""
        found = [(self, getattr(self, "training", True))]
        for value in self._members():
            if isinstance(value, Layer):
                found.extend(value._modes())
        return found

    def eval(self):
        """Evaluation mode (dropout off); returns self."""
        return self.train(False)


class Linear(Layer):
    """y = x @ W + b with W of shape (in_features, out_features) and b of shape (out_features,)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        k = 1.0 / np.sqrt(in_features)
        w = np.random.uniform(-k, k, size=(in_features, out_features))
        self.weight = Tensor(w.astype(np.float32), requires_grad=True)
        self.bias = (Tensor(np.zeros(out_features, dtype=np.float32), requires_grad=True)
                     if bias else None)

    def forward(self, x: Tensor) -> Tensor:
        out = x @ self.weight  # (..., in) @ (in, out) -> (..., out): matmul batches leading dims
        if self.bias is not None:
            out = out + self.bias  # (out,) broadcasts over every leading dim
        return out

    def __repr__(self) -> str:
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None})")


class Dropout(Layer):
    """Inverted dropout: in training, zero each element with probability p and scale the
    survivors by 1/(1-p), so the expected output equals the input; in eval, the identity."""

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:  # also rejects NaN, for which every comparison is False
            raise ValueError(f"dropout probability must be in [0, 1], got {p}")
        self.p = p

    def forward(self, x: Tensor, training: bool | None = None) -> Tensor:
        training = self.training if training is None else training
        if not training or self.p == 0:
            return x
        if self.p == 1:
            return x * Tensor(np.zeros(x.shape, dtype=x.dtype))
        keep = np.random.random_sample(x.shape) >= self.p
        mask = keep.astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * Tensor(mask)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


def _check_layer(i: int, item) -> None:
    """A layer is a Layer or any object with a callable forward, but not a class."""
    if isinstance(item, type):
        raise TypeError(f"Sequential argument {i} is the class {item.__name__}, not a layer: "
                        f"did you mean {item.__name__}()?")
    if not isinstance(item, Layer) and not callable(getattr(item, "forward", None)):
        raise TypeError(f"Sequential argument {i} is {item!r} ({type(item).__name__}), not a "
                        f"layer: a layer is a Layer or an object with a forward method")


class Sequential(Layer):
    """Applies its layers in order: Sequential(a, b, c)(x) == c(b(a(x)))."""

    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = layers[0]  # Sequential([l1, l2]) is Sequential(l1, l2)
        for i, item in enumerate(layers):
            _check_layer(i, item)
        self.layers = list(layers)

    def forward(self, x: Tensor, training: bool | None = None) -> Tensor:
        if training is None:
            return self._run(x)
        saved = self._modes()
        self.train(training)
        try:
            return self._run(x)
        finally:  # every layer back in its own mode, also after an exception
            for layer, mode in saved:
                layer.training = mode

    def _run(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer.forward(x)  # a layer may be any object with a forward method
        return x

    def __repr__(self) -> str:
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential({inner})"
