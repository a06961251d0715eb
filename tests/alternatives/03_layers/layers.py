"""An independent kata 03 solution, making other legitimate choices than the reference:
parameters() and train() built on one generator over the attributes, weights scaled from
np.random.rand, the dropout mask kept where a uniform draw is below 1 - p, and the mode
override of Sequential as a context manager."""
import contextlib

import numpy as np

from tinytorch.core.tensor import Tensor


class Layer:
    def __init__(self):
        self.training = True

    def forward(self, *args):
        raise NotImplementedError

    def __call__(self, x, *args, **kwargs):
        return self.forward(x, *args, **kwargs)

    def _items(self):
        for value in self.__dict__.values():
            yield from value if isinstance(value, (list, tuple)) else (value,)

    def _tensors(self):
        for item in self._items():
            if isinstance(item, Tensor) and item.requires_grad:
                yield item
            elif isinstance(item, Layer):
                yield from item._tensors()

    def parameters(self):
        seen = set()
        return [t for t in self._tensors() if not (id(t) in seen or seen.add(id(t)))]

    def _layers(self):
        yield self
        for item in self._items():
            if isinstance(item, Layer):
                yield from item._layers()

    def train(self, mode=True):
        for layer in self._layers():
            layer.training = mode
        return self

    def eval(self):
        return self.train(mode=False)


class Linear(Layer):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        k = in_features ** -0.5
        self.weight = Tensor(((np.random.rand(in_features, out_features) * 2 - 1) * k).astype(np.float32),
                             requires_grad=True)
        self.bias = Tensor(np.zeros((out_features,), np.float32), requires_grad=True) if bias else None

    def forward(self, x):
        y = x.matmul(self.weight)
        return y if self.bias is None else y + self.bias


class Dropout(Layer):
    def __init__(self, p=0.5):
        super().__init__()
        if not (p >= 0 and p <= 1):
            raise ValueError(f"p must lie in [0, 1], not {p!r}")
        self.p = p

    def forward(self, x, training=None):
        if training is None:
            training = self.training
        if self.p == 0 or not training:
            return x
        dtype = x.data.dtype
        if self.p == 1:
            return x * Tensor(np.zeros_like(x.data))
        keep = np.random.rand(*x.shape) < 1 - self.p
        scale = dtype.type(1) / dtype.type(1 - self.p)
        return x * Tensor(np.where(keep, scale, dtype.type(0)).astype(dtype))


def _layer_or_raise(position, item):
    if isinstance(item, type):
        raise TypeError(f"Sequential argument {position} is the class {item.__name__}, not a "
                        f"layer: did you mean {item.__name__}()?")
    if isinstance(item, Layer) or callable(getattr(item, "forward", None)):
        return item
    raise TypeError(f"Sequential argument {position} is a {type(item).__name__} ({item!r}), "
                    "not a layer")


class Sequential(Layer):
    def __init__(self, *layers):
        super().__init__()
        if len(layers) == 1 and type(layers[0]) in (list, tuple):
            layers = tuple(layers[0])
        self.layers = [_layer_or_raise(i, item) for i, item in enumerate(layers)]

    @contextlib.contextmanager
    def _mode(self, training):
        if training is None:
            yield
            return
        saved = [(layer, layer.training) for layer in self._layers()]
        self.train(training)
        try:
            yield
        finally:
            for layer, mode in reversed(saved):
                layer.training = mode

    def forward(self, x, training=None):
        with self._mode(training):
            for layer in self.layers:
                x = layer.forward(x)
        return x
