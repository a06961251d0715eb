"""Kata 01: Tensor, an n-dimensional array with the operations a network needs.

Fill in every body that raises NotImplementedError. Read README.md first: it gives the
exact API, the dtype rules and how you are graded. Run `pytest katas/01_tensor`.
"""
from __future__ import annotations

import numpy as np


def _to_array(data) -> np.ndarray:
    """Turn any accepted input into the np.ndarray a Tensor stores.

    - a Tensor: use its data (a floating dtype is kept);
    - a non-empty list or tuple of Tensors: stack their data along a new first axis
      (np.stack), keeping a floating dtype;
    - a floating ndarray or NumPy floating scalar: keep its dtype (float32 stays float32,
      float64 stays float64); a scalar becomes a 0-d array;
    - anything else (Python numbers, lists, tuples, int or bool arrays): float32.
    """
    raise NotImplementedError("kata 01_tensor: write _to_array")


def _data(x):
    """The NumPy value of an operand: a Tensor's data, or the array/scalar itself."""
    raise NotImplementedError("kata 01_tensor: write _data")


class Tensor:
    """An n-dimensional array of numbers: the one data structure of tinytorch.

    `Tensor(data, requires_grad=False)` stores `data` as `self.data` (an np.ndarray, float32
    unless a floating array/scalar brings its own dtype), `self.requires_grad` (a bool) and
    `self.grad = None` (used from kata 06 on). Every operation returns a NEW Tensor built
    with `Tensor(result)` and never modifies its operands.
    """

    # Given as is (not part of the exercise): when a NumPy array or scalar is on the LEFT
    # (`ndarray - t`, `np.float64(2) * t`), this tells NumPy to hand the operation to our
    # reverse operators (__rsub__, __rmul__, ...) instead of building an object array.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad: bool = False):
        """Store data as an ndarray (see _to_array), requires_grad as a bool, grad = None."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__init__")

    # ------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        """The shape as a tuple of ints, e.g. (2, 3); () for a single number."""
        raise NotImplementedError("kata 01_tensor: write Tensor.shape")

    @property
    def size(self) -> int:
        """The number of elements, as a Python int."""
        raise NotImplementedError("kata 01_tensor: write Tensor.size")

    @property
    def ndim(self) -> int:
        """The number of dimensions (axes), as a Python int."""
        raise NotImplementedError("kata 01_tensor: write Tensor.ndim")

    @property
    def dtype(self) -> np.dtype:
        """The np.dtype of the data (float32 or float64)."""
        raise NotImplementedError("kata 01_tensor: write Tensor.dtype")

    def numpy(self) -> np.ndarray:
        """The underlying ndarray (self.data itself, not a copy)."""
        raise NotImplementedError("kata 01_tensor: write Tensor.numpy")

    def numel(self) -> int:
        """The number of elements, as a Python int (PyTorch's name for size)."""
        raise NotImplementedError("kata 01_tensor: write Tensor.numel")

    def memory_footprint(self) -> int:
        """The bytes held by the data (the array's nbytes), as a Python int."""
        raise NotImplementedError("kata 01_tensor: write Tensor.memory_footprint")

    def __len__(self) -> int:
        """The size of the first dimension."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__len__")

    def __repr__(self) -> str:
        """Like `Tensor([1., 2.], dtype=float32)`."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__repr__")

    # ------------------------------------------------------------ arithmetic
    # `other` may be a Tensor, an ndarray or a scalar; shapes broadcast as in NumPy and
    # dtypes follow NumPy's rules (a float32 Tensor times a Python float stays float32).
    def __add__(self, other):
        """self + other."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__add__")

    def __radd__(self, other):
        """other + self, called for `2 + t` or `ndarray + t`."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__radd__")

    def __sub__(self, other):
        """self - other."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__sub__")

    def __rsub__(self, other):
        """other - self, called for `2 - t` or `ndarray - t`."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__rsub__")

    def __mul__(self, other):
        """self * other, elementwise."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__mul__")

    def __rmul__(self, other):
        """other * self, called for `2 * t` or `ndarray * t`."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__rmul__")

    def __truediv__(self, other):
        """self / other, elementwise."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__truediv__")

    def __rtruediv__(self, other):
        """other / self, called for `2 / t` or `ndarray / t`."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__rtruediv__")

    def __neg__(self):
        """-self."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__neg__")

    def __pow__(self, exponent):
        """self ** exponent, elementwise; exponent is a Python or NumPy scalar."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__pow__")

    def matmul(self, other):
        """The matrix product, as np.matmul (1-D, 2-D and batched operands).

        Raises ValueError naming both shapes, e.g. "shapes (2, 3) and (4, 5) do not align",
        when the inner dimensions differ.
        """
        raise NotImplementedError("kata 01_tensor: write Tensor.matmul")

    def __matmul__(self, other):
        """self @ other: the same as self.matmul(other)."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__matmul__")

    # ------------------------------------------------------------ shape
    def reshape(self, *shape):
        """The same elements in a new shape: `t.reshape(2, 3)` or `t.reshape((2, 3))`.

        One dimension may be -1 (inferred from the size). Raises ValueError when the new
        shape cannot hold exactly self.size elements.
        """
        raise NotImplementedError("kata 01_tensor: write Tensor.reshape")

    def view(self, *shape):
        """Exactly like reshape (PyTorch's name for it)."""
        raise NotImplementedError("kata 01_tensor: write Tensor.view")

    def contiguous(self):
        """A new Tensor with the same values and dtype whose data is C-contiguous."""
        raise NotImplementedError("kata 01_tensor: write Tensor.contiguous")

    def transpose(self, dim0=None, dim1=None):
        """Swap two axes.

        No arguments: swap the last two axes (a 0-D or 1-D tensor comes back unchanged, as
        a new Tensor). Two arguments: swap axes dim0 and dim1 (negative ones count from the
        end).
        """
        raise NotImplementedError("kata 01_tensor: write Tensor.transpose")

    def __getitem__(self, key):
        """t[key]: the Tensor of data[key] (ints, slices, tuples, masks, index lists)."""
        raise NotImplementedError("kata 01_tensor: write Tensor.__getitem__")

    def masked_fill(self, mask, value):
        """A new Tensor: `value` where `mask` is true, self's values elsewhere, self's dtype.

        `mask` is a bool ndarray, a list or a Tensor (nonzero counts as true) of self's
        shape or broadcastable to it; otherwise raise ValueError.
        """
        raise NotImplementedError("kata 01_tensor: write Tensor.masked_fill")

    # ------------------------------------------------------------ reductions
    # axis: None (all elements), an int (negative counts from the end) or a tuple of ints.
    # keepdims=True keeps each reduced axis as a size-1 axis.
    def sum(self, axis=None, keepdims=False):
        """The sum over `axis`, as a Tensor."""
        raise NotImplementedError("kata 01_tensor: write Tensor.sum")

    def mean(self, axis=None, keepdims=False):
        """The mean over `axis`, as a Tensor."""
        raise NotImplementedError("kata 01_tensor: write Tensor.mean")

    def max(self, axis=None, keepdims=False):
        """The maximum value over `axis`, as a Tensor."""
        raise NotImplementedError("kata 01_tensor: write Tensor.max")
