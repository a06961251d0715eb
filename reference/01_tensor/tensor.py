"""Kata 01: Tensor, an n-dimensional array with the operations a network needs."""
from __future__ import annotations

import numpy as np


def _to_array(data) -> np.ndarray:
    """Floating arrays keep their dtype; everything else becomes float32."""
    if isinstance(data, Tensor):
        data = data.data
    elif isinstance(data, (list, tuple)) and data and all(isinstance(t, Tensor) for t in data):
        data = np.stack([t.data for t in data])  # Tensor([t1, t2]) stacks, like torch.stack
    if isinstance(data, (np.ndarray, np.generic)) and data.dtype.kind == "f":  # a floating dtype
        return np.array(data)
    return np.array(data, dtype=np.float32)


def _data(x):
    """The NumPy value of an operand: a Tensor's data, or the array/scalar itself."""
    return x.data if isinstance(x, Tensor) else x


class Tensor:
    # NumPy on the left (`ndarray - t`, `np.float64(2) * t`) must defer to our reverse
    # operators instead of building an object array of Tensors, one per element.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad: bool = False):
        self.data = _to_array(data)
        self.requires_grad = bool(requires_grad)
        self.grad = None

    # ------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def numpy(self) -> np.ndarray:
        return self.data

    def numel(self) -> int:
        return int(self.data.size)

    def memory_footprint(self) -> int:
        return int(self.data.nbytes)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, separator=', ')}, dtype={self.dtype}{grad})"

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return Tensor(self.data + _data(other))

    def __radd__(self, other):
        return Tensor(_data(other) + self.data)

    def __sub__(self, other):
        return Tensor(self.data - _data(other))

    def __rsub__(self, other):
        return Tensor(_data(other) - self.data)

    def __mul__(self, other):
        return Tensor(self.data * _data(other))

    def __rmul__(self, other):
        return Tensor(_data(other) * self.data)

    def __truediv__(self, other):
        return Tensor(self.data / _data(other))

    def __rtruediv__(self, other):
        return Tensor(_data(other) / self.data)

    def __neg__(self):
        return Tensor(-self.data)

    def __pow__(self, exponent):
        return Tensor(self.data ** exponent)

    def matmul(self, other):
        a, b = self.data, np.asarray(_data(other))
        inner_a = a.shape[-1] if a.ndim else None
        inner_b = b.shape[-2] if b.ndim >= 2 else (b.shape[0] if b.ndim else None)
        if inner_a is None or inner_b is None or inner_a != inner_b:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align "
                             f"(inner dimensions {inner_a} and {inner_b})")
        return Tensor(np.matmul(a, b))

    def __matmul__(self, other):
        return self.matmul(other)

    # ------------------------------------------------------------ shape
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        known = int(np.prod([s for s in shape if s != -1]))
        if shape.count(-1) > 1 or (-1 not in shape and known != self.size) or (
                -1 in shape and (known == 0 or self.size % known)):
            raise ValueError(f"cannot reshape a tensor of shape {self.shape} "
                             f"({self.size} elements) into {shape}")
        return Tensor(self.data.reshape(shape))

    def view(self, *shape):
        return self.reshape(*shape)

    def contiguous(self):
        return Tensor(np.ascontiguousarray(self.data))

    def transpose(self, dim0=None, dim1=None):
        if dim0 is None and dim1 is None:
            if self.ndim < 2:
                return Tensor(self.data)
            dim0, dim1 = -2, -1
        return Tensor(np.swapaxes(self.data, dim0, dim1))

    def __getitem__(self, key):
        return Tensor(self.data[_data(key)])

    def masked_fill(self, mask, value):
        hide = np.broadcast_to(np.asarray(_data(mask)) != 0, self.shape)  # ValueError if it cannot
        return Tensor(np.where(hide, np.asarray(value, dtype=self.dtype), self.data))

    # ------------------------------------------------------------ reductions
    def sum(self, axis=None, keepdims=False):
        return Tensor(self.data.sum(axis=axis, keepdims=keepdims))

    def mean(self, axis=None, keepdims=False):
        return Tensor(self.data.mean(axis=axis, keepdims=keepdims))

    def max(self, axis=None, keepdims=False):
        return Tensor(self.data.max(axis=axis, keepdims=keepdims))
