"""Kata 06: autograd, how the kata-01 Tensor learns to compute gradients.

Nothing in the earlier katas is rewritten. `enable_autograd()` wraps (monkey-patches) the
Tensor operations, the activation and loss `forward` methods and `losses.log_softmax`.
Each wrapper runs the ORIGINAL forward (your earlier code, so values are unchanged) and, if
a gradient is needed, remembers how the output was made: a `Function` holding the inputs.
`Tensor.backward()` then walks that graph from the output back to the leaves.

Importing this module must patch nothing (no enable_autograd() call at module level):
`import tinytorch` calls enable_autograd(quiet=True) once this kata is done.

Read README.md first: it explains the mechanism, the conventions and the exact API.
Every `raise NotImplementedError(...)` below is yours to replace. You may add helper
functions of your own (a wrapper factory, a topological sort, ...).
"""
from __future__ import annotations

import numpy as np

from tinytorch.core import activations, losses  # noqa: F401 - enable_autograd patches them
from tinytorch.core.tensor import Tensor

# ====================================================================== grad mode


def is_grad_enabled() -> bool:
    """True unless inside a `no_grad()` block."""
    raise NotImplementedError("kata 06_autograd: write is_grad_enabled")


class no_grad:
    """`with no_grad(): ...` runs without recording any graph (evaluation, optimizer steps).

    Nested blocks must work, and the previous mode must come back even if the block raises.
    """

    def __enter__(self):
        raise NotImplementedError("kata 06_autograd: write no_grad.__enter__")

    def __exit__(self, *exc):
        raise NotImplementedError("kata 06_autograd: write no_grad.__exit__")


# ====================================================================== helpers

def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` down to `shape` (the adjoint of broadcasting `shape` up to grad.shape).

    Broadcasting (1) prepends axes and (2) stretches axes of size 1. Returns an ndarray of
    exactly `shape`, e.g. unbroadcast(ones((2, 3, 4)), (3, 1)) is a (3, 1) array of 8.0.
    """
    raise NotImplementedError("kata 06_autograd: write unbroadcast")


# ====================================================================== Function

class Function:
    """One recorded operation: its input Tensors and whatever backward needs.

    `Function(*inputs, **attrs)` stores `self.inputs` (a tuple of Tensors) and each keyword
    as an attribute (Sum(x, axis=1, keepdims=False) has .axis and .keepdims).
    `backward(grad)` receives dLoss/dOutput (an ndarray of the output's shape) and returns
    a tuple with one gradient per input, in order (None for an input without gradient,
    like class indices). The engine (Tensor.backward) un-broadcasts them afterwards.
    """

    def __init__(self, *inputs, **attrs):
        raise NotImplementedError("kata 06_autograd: write Function.__init__")

    def backward(self, grad: np.ndarray) -> tuple:
        raise NotImplementedError("kata 06_autograd: each subclass writes its own backward")


# ---------------------------------------------------------------------- arithmetic

class Add(Function):
    """z = a + b  (a or b may have been broadcast)"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write Add.backward")


class Sub(Function):
    """z = a - b"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write Sub.backward")


class Mul(Function):
    """z = a * b"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write Mul.backward")


class Div(Function):
    """z = a / b"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write Div.backward")


class Neg(Function):
    """z = -a"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write Neg.backward")


class Pow(Function):
    """z = a ** p, p a number (suggested attribute: exponent); no gradient for p"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write Pow.backward")


class MatMul(Function):
    """z = a @ b as np.matmul: 2-D, batched (..., n, k) @ (..., k, m), and 1-D operands
    (a 1-D a acts as a row (1, k), a 1-D b as a column (k, 1), and that axis is dropped)"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write MatMul.backward")


# ---------------------------------------------------------------------- shape

class Reshape(Function):
    """z = a.reshape(shape), and z = a.view(shape)"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write Reshape.backward")


class Contiguous(Function):
    """z = a.contiguous(): same values, C-contiguous memory"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write Contiguous.backward")


class Transpose(Function):
    """z = a.transpose(dim0, dim1); no arguments swaps the last two axes (suggested
    attributes: dim0, dim1)"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write Transpose.backward")


class GetItem(Function):
    """z = a[key]: ints, slices, tuples, integer arrays (indices may repeat), boolean masks
    (suggested attribute: key)"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write GetItem.backward")


class MaskedFill(Function):
    """z = a.masked_fill(mask, value): value where mask is true (the mask may broadcast to
    a's shape; suggested attribute: mask); no gradient for value"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write MaskedFill.backward")


# ---------------------------------------------------------------------- reductions

class Sum(Function):
    """z = a.sum(axis, keepdims) (suggested attributes: axis, keepdims)"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write Sum.backward")


class Mean(Function):
    """z = a.mean(axis, keepdims)"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write Mean.backward")


class Max(Function):
    """z = a.max(axis, keepdims); ties share the gradient equally (see README)"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write Max.backward")


# ---------------------------------------------------------------------- activations

class SigmoidFn(Function):
    """s = sigmoid(x) = 1 / (1 + exp(-x))  (backward may reuse the output s)"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write SigmoidFn.backward")


class ReLUFn(Function):
    """z = max(x, 0); convention: relu'(0) = 0"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write ReLUFn.backward")


class TanhFn(Function):
    """t = tanh(x)"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write TanhFn.backward")


class GELUFn(Function):
    """z = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (the tanh approximation)"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write GELUFn.backward")


class SoftmaxFn(Function):
    """s = softmax(x) along dim: the dim the call used (Softmax.forward(x, dim=None): the
    layer's .dim unless the call gave one)"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write SoftmaxFn.backward")


# ---------------------------------------------------------------------- losses

class LogSoftmaxFn(Function):
    """z = log_softmax(x, dim) = x - log(sum(exp(x), dim))"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write LogSoftmaxFn.backward")


class MSEFn(Function):
    """L = mean((p - t) ** 2) over every element"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write MSEFn.backward")


class CrossEntropyFn(Function):
    """L = mean over the batch of -log_softmax(z)[n, t_n]; z logits (N, C), t class
    indices (N,): no gradient for t"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write CrossEntropyFn.backward")


class BinaryCrossEntropyFn(Function):
    """L = mean(-(t log p + (1 - t) log(1 - p))) with p clipped to [1e-7, 1 - 1e-7]"""

    def backward(self, grad):
        raise NotImplementedError("kata 06_autograd: write BinaryCrossEntropyFn.backward")


# ====================================================================== backward

def backward(self: Tensor, grad=None) -> None:
    """Becomes Tensor.backward. Accumulate d(self)/d(leaf), times `grad`, into the .grad of
    every leaf that requires grad.

    `grad` (ndarray or Tensor of self's shape) is dLoss/dself; it may be omitted only for a
    single-element tensor (then it is 1); otherwise raise RuntimeError.
    """
    raise NotImplementedError("kata 06_autograd: write backward")


def zero_grad(self: Tensor) -> None:
    """Becomes Tensor.zero_grad: forget the accumulated gradient (.grad = None)."""
    raise NotImplementedError("kata 06_autograd: write zero_grad")


# ====================================================================== enable

def record(result, fn_class, inputs, **attrs):
    """Attach fn_class(*inputs, **attrs) to `result` as its _grad_fn when a gradient is
    wanted (grad mode is on and some Tensor among `inputs` requires grad), and return the
    tensor recorded on. Constants among `inputs` become Tensors first. If `result` is one
    of the inputs, record on a new Tensor of its data instead (no cycles). Later katas call
    this for their own ops.
    """
    raise NotImplementedError("kata 06_autograd: write record")


def enable_autograd(quiet: bool = False) -> None:
    """Teach Tensor, the activations and the losses to record graphs. Idempotent.

    Wraps Tensor's + - * / (and reverse forms), unary -, **, @ and matmul, reshape, view,
    contiguous, transpose, indexing, masked_fill, sum, mean, max; the `forward` of
    activations.Sigmoid, ReLU, Tanh, GELU, Softmax and of losses.MSELoss,
    CrossEntropyLoss, BinaryCrossEntropyLoss; and losses.log_softmax. Adds Tensor.backward,
    Tensor.zero_grad and Tensor._grad_fn (None). Unless quiet, prints one line containing
    "autograd enabled" at every call.
    """
    raise NotImplementedError("kata 06_autograd: write enable_autograd")
