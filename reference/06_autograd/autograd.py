"""Kata 06: autograd, how the kata-01 Tensor learns to compute gradients.

Nothing in the earlier katas is rewritten. `enable_autograd()` wraps (monkey-patches) the
Tensor operations, the activation and loss `forward` methods and `losses.log_softmax`.
Each wrapper runs the ORIGINAL forward (your earlier code, so values are unchanged) and, if
a gradient is needed, remembers how the output was made: a `Function` holding the inputs.
`Tensor.backward()` then walks that graph from the output back to the leaves.

Importing this module patches nothing: `enable_autograd()` does, and `import tinytorch`
calls it (quietly) once this kata is done.
"""
from __future__ import annotations

import functools

import numpy as np

from tinytorch.core import activations, losses
from tinytorch.core.tensor import Tensor

# ====================================================================== grad mode

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True unless inside a `no_grad()` block."""
    return _grad_enabled


class no_grad:
    """`with no_grad(): ...` runs without recording any graph (evaluation, optimizer steps).

    Nested blocks work, and the previous mode comes back even if the block raises.
    """

    def __enter__(self):
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous
        return False


# ====================================================================== helpers

def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` down to `shape`: the adjoint of broadcasting `shape` up to grad.shape.

    Broadcasting (1) prepends axes and (2) stretches axes of size 1; every copy made that
    way contributed to the output, so their gradients add up.
    """
    grad = np.asarray(grad)
    shape = tuple(shape)
    if grad.shape == shape:  # nothing was broadcast (the common case)
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:  # (1) leading axes that broadcasting added
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:  # (2) axes of size 1 that broadcasting stretched
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def _axes(axis, ndim: int) -> tuple:
    """A reduction's `axis` (None, int or tuple; negative ok) as a tuple of positive axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(int(a) % ndim for a in axis) if ndim else ()


def _expand(grad: np.ndarray, shape: tuple, axis, keepdims: bool) -> np.ndarray:
    """Put back the reduced axes of a reduction's gradient and broadcast it to `shape`."""
    grad = np.asarray(grad)
    if not keepdims:
        grad = np.expand_dims(grad, _axes(axis, len(shape)))
    return np.broadcast_to(grad, shape)


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ====================================================================== Function

class Function:
    """One recorded operation: its input Tensors and whatever backward needs.

    `Function(*inputs, **attrs)` stores `self.inputs` (a tuple of Tensors) and each keyword
    as an attribute. `backward(grad)` receives dLoss/dOutput (an ndarray of the output's
    shape) and returns one gradient per input, in order (None for an input that has no
    gradient, like class indices). Gradients may still have a broadcast shape: the engine
    un-broadcasts them to each input's shape.
    """

    def __init__(self, *inputs, **attrs):
        self.inputs = inputs
        for name, value in attrs.items():
            setattr(self, name, value)

    def backward(self, grad: np.ndarray) -> tuple:
        raise NotImplementedError


# ---------------------------------------------------------------------- arithmetic

class Add(Function):
    """z = a + b                          da = g,  db = g"""

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    """z = a - b                          da = g,  db = -g"""

    def backward(self, grad):
        return grad, -grad


class Mul(Function):
    """z = a * b                          da = g * b,  db = g * a

    (As in every rule below, an input that needs no gradient, such as a constant, gets
    None: its product would be computed for nothing.)
    """

    def backward(self, grad):
        a, b = self.inputs
        return (grad * b.data if a.requires_grad else None,
                grad * a.data if b.requires_grad else None)


class Div(Function):
    """z = a / b                          da = g / b,  db = -g * a / b**2"""

    def backward(self, grad):
        a, b = self.inputs
        return (grad / b.data if a.requires_grad else None,
                -grad * a.data / (b.data * b.data) if b.requires_grad else None)


class Neg(Function):
    """z = -a                             da = -g"""

    def backward(self, grad):
        return (-grad,)


class Pow(Function):
    """z = a ** p  (p a number)           da = g * p * a**(p - 1)"""

    def backward(self, grad):
        (a,) = self.inputs
        p = self.exponent
        return (grad * p * a.data ** (p - 1),)


class MatMul(Function):
    """z = a @ b                          da = g @ b^T,  db = a^T @ g

    (^T swaps the last two axes.) A 1-D a is a row (1, k) and a 1-D b a column (k, 1)
    during the product; the gradient is reshaped back. Batch axes that broadcasting added
    are summed by the engine's unbroadcast, like any other broadcast.
    """

    def backward(self, grad):
        a, b = self.inputs
        a2 = a.data[None, :] if a.ndim == 1 else a.data  # (..., n, k)
        b2 = b.data[:, None] if b.ndim == 1 else b.data  # (..., k, m)
        g2 = np.asarray(grad)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)  # now (..., n, m)
        ga = gb = None
        if a.requires_grad:
            ga = g2 @ np.swapaxes(b2, -1, -2)
            if a.ndim == 1:
                ga = unbroadcast(ga, a2.shape).reshape(a.shape)
        if b.requires_grad:
            if b2.ndim == 2 and a2.ndim > 2:  # a Linear on (..., k): one product, not one per row block
                gb = a2.reshape(-1, a2.shape[-1]).T @ g2.reshape(-1, g2.shape[-1])
            else:
                gb = np.swapaxes(a2, -1, -2) @ g2
            if b.ndim == 1:
                gb = unbroadcast(gb, b2.shape).reshape(b.shape)
        return ga, gb


# ---------------------------------------------------------------------- shape

class Reshape(Function):
    """z = a.reshape(shape) or a.view(shape)   da = g.reshape(a.shape)"""

    def backward(self, grad):
        return (np.reshape(grad, self.inputs[0].shape),)


class Contiguous(Function):
    """z = a.contiguous()                 da = g (same values, only the memory layout changed)"""

    def backward(self, grad):
        return (grad,)


class Transpose(Function):
    """z = a.transpose(dim0, dim1)        da = g with the same two axes swapped back"""

    def backward(self, grad):
        if self.dim0 is None and self.dim1 is None:
            if np.ndim(grad) < 2:
                return (grad,)
            return (np.swapaxes(grad, -2, -1),)
        return (np.swapaxes(grad, self.dim0, self.dim1),)


class GetItem(Function):
    """z = a[key]                         da = zeros like a, with g added at a[key]

    Added, not assigned: an index repeated in `key` (a[[0, 0]]) gets both gradients.
    """

    def backward(self, grad):
        (a,) = self.inputs
        full = np.zeros(a.shape, dtype=np.result_type(a.dtype, np.asarray(grad).dtype))
        np.add.at(full, self.key, grad)
        return (full,)


class MaskedFill(Function):
    """z = a.masked_fill(mask, value)     da = g where mask is false, 0 where it is true

    `mask` (an attribute) is already a bool array of a's shape; the fill value is a
    number and gets no gradient.
    """

    def backward(self, grad):
        return (np.where(self.mask, 0, grad),)


# ---------------------------------------------------------------------- reductions

class Sum(Function):
    """z = a.sum(axis, keepdims)          da = g copied back along the summed axes"""

    def backward(self, grad):
        (a,) = self.inputs
        return (_expand(grad, a.shape, self.axis, self.keepdims),)


class Mean(Function):
    """z = a.mean(axis, keepdims)         da = g copied back along the axes, / n averaged"""

    def backward(self, grad):
        (a,) = self.inputs
        n = int(np.prod([a.shape[i] for i in _axes(self.axis, a.ndim)]))  # averaged count
        return (_expand(grad, a.shape, self.axis, self.keepdims) / n,)


class Max(Function):
    """z = a.max(axis, keepdims)          da = g at the position of the max, 0 elsewhere

    Ties: the gradient is split equally among the positions that share the max.
    """

    def backward(self, grad):
        (a,) = self.inputs
        out = _expand(self.out, a.shape, self.axis, self.keepdims)
        winners = (a.data == out).astype(a.dtype)
        share = winners / winners.sum(axis=_axes(self.axis, a.ndim), keepdims=True)
        return (share * _expand(grad, a.shape, self.axis, self.keepdims),)


# ---------------------------------------------------------------------- activations

class SigmoidFn(Function):
    """s = sigmoid(x)                     dx = g * s * (1 - s)"""

    def backward(self, grad):
        s = self.out
        return (grad * s * (1 - s),)


class ReLUFn(Function):
    """z = max(x, 0)                      dx = g where x > 0, else 0 (also at x == 0)"""

    def backward(self, grad):
        (x,) = self.inputs
        return (grad * (x.data > 0),)


class TanhFn(Function):
    """t = tanh(x)                        dx = g * (1 - t**2)"""

    def backward(self, grad):
        t = self.out
        return (grad * (1 - t * t),)


class GELUFn(Function):
    """z = 0.5 x (1 + tanh(u)),  u = c (x + 0.044715 x^3),  c = sqrt(2/pi)
                                          dx = g * (0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) du/dx)
    """

    def backward(self, grad):
        (x,) = self.inputs
        z = x.data
        c = float(np.sqrt(2.0 / np.pi))  # a Python float: an np.float64 would promote float32 to float64
        t = np.tanh(c * (z + 0.044715 * (z * z * z)))  # not z ** 3: a slow pow in NumPy
        du = c * (1 + 3 * 0.044715 * (z * z))
        return (grad * (0.5 * (1 + t) + 0.5 * z * (1 - t * t) * du),)


class SoftmaxFn(Function):
    """s = softmax(x, dim)                dx = s * (g - sum(g * s, dim))
    (dim: the one the call used, the layer's .dim unless forward was given one)"""

    def backward(self, grad):
        s = self.out
        return (s * (grad - (grad * s).sum(axis=self.dim, keepdims=True)),)


# ---------------------------------------------------------------------- losses

class LogSoftmaxFn(Function):
    """z = log_softmax(x, dim)            dx = g - softmax(x) * sum(g, dim)"""

    def backward(self, grad):
        s = np.exp(self.out)
        return (grad - s * np.sum(grad, axis=self.dim, keepdims=True),)


class MSEFn(Function):
    """L = mean((p - t)**2)               dp = g * 2 (p - t) / n,  dt = -dp"""

    def backward(self, grad):
        p, t = self.inputs
        dp = grad * 2 * (p.data - t.data) / p.size
        return dp, -dp


class CrossEntropyFn(Function):
    """L = mean_n -log_softmax(z)[n, t_n]  dz = g * (softmax(z) - onehot(t)) / N
    (targets are class indices: no gradient)"""

    def backward(self, grad):
        z, t = self.inputs
        n = z.shape[0]
        labels = t.data.astype(np.int64)
        dz = _softmax(z.data, axis=-1)
        dz[np.arange(n), labels] -= 1
        return grad * dz / n, None


class BinaryCrossEntropyFn(Function):
    """L = mean(-(t log p + (1 - t) log(1 - p))), p clipped to [1e-7, 1 - 1e-7]
                                          dp = g * (p - t) / (p (1 - p)) / n inside the clip, else 0
    (targets: no gradient)"""

    def backward(self, grad):
        p, t = self.inputs
        eps = 1e-7
        inside = (p.data >= eps) & (p.data <= 1 - eps)
        pc = np.clip(p.data, eps, 1 - eps)
        dp = grad * (pc - t.data) / (pc * (1 - pc)) / p.size
        return dp * inside, None


# ====================================================================== recording

def _as_tensor(x, dtype) -> Tensor:
    """A constant as a Tensor, at the precision the forward computed with it: a Python
    number is weak under NEP 50 (float32 * 0.1 uses 0.1 in float32, a float64 graph keeps
    it exact), so it takes the result's dtype; an ndarray or NumPy scalar keeps its own
    floating dtype (an integer array becomes float64)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (int, float)):
        return Tensor(np.asarray(x, dtype=dtype))
    x = np.asarray(x)
    return Tensor(x if x.dtype.kind == "f" else x.astype(np.float64))


def record(result, fn_class, inputs, **attrs):
    """Attach `fn_class(*inputs, **attrs)` to `result` if a gradient is wanted; return it.

    Every wrapped op records itself with this, and so do later katas' own ops (a
    convolution, an embedding lookup): compute the forward, then `record` it.
    """
    if not isinstance(result, Tensor):
        return result  # e.g. NotImplemented: let Python try the other operand
    if not is_grad_enabled():
        return result
    if not any(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        return result
    if any(result is t for t in inputs):  # an op returned its input: give it its own node
        result = Tensor(result.data)
    result.requires_grad = True
    result._grad_fn = fn_class(*[_as_tensor(t, result.dtype) for t in inputs], **attrs)
    return result


def _wrapper(original, recorder):
    """A patched method: the original forward, untracked, then `recorder(out, *args)`."""

    @functools.wraps(original)
    def patched(*args, **kwargs):
        with no_grad():  # the original may use other (patched) ops: record only this one
            out = original(*args, **kwargs)
        return recorder(out, *args, **kwargs)

    patched._autograd_original = original
    return patched


def _patch(owner, name, recorder):
    """Wrap owner.name, unless it is wrapped already (so enable_autograd is idempotent)."""
    current = getattr(owner, name)
    if getattr(current, "_autograd_original", None) is None:
        setattr(owner, name, _wrapper(current, recorder))


def _binary(fn_class, reverse=False):
    def recorder(out, self, other):
        inputs = (other, self) if reverse else (self, other)  # 2 - x is Sub(2, x)
        return record(out, fn_class, inputs)
    return recorder


def _reduction(fn_class):
    def recorder(out, self, axis=None, keepdims=False):
        return record(out, fn_class, (self,), axis=axis, keepdims=keepdims,
                       out=getattr(out, "data", None))
    return recorder


def _activation(fn_class):
    def recorder(out, layer, x):
        return record(out, fn_class, (x,), out=getattr(out, "data", None))
    return recorder


def _loss(fn_class):
    def recorder(out, loss, predictions, targets):
        return record(out, fn_class, (predictions, targets))
    return recorder


def _record_transpose(out, self, dim0=None, dim1=None):
    return record(out, Transpose, (self,), dim0=dim0, dim1=dim1)


def _record_getitem(out, self, key):
    key = key.data.astype(np.int64) if isinstance(key, Tensor) else key
    return record(out, GetItem, (self,), key=key)


def _record_log_softmax(out, x, dim=-1):
    return record(out, LogSoftmaxFn, (x,), dim=dim, out=getattr(out, "data", None))


# ====================================================================== backward

def _topological_order(root: Tensor) -> list:
    """Every tensor that `root` depends on (requiring grad), each once, inputs before users.

    Depth-first with an explicit stack (no recursion limit on deep graphs); a node is
    emitted after all of its inputs.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        fn = getattr(node, "_grad_fn", None)
        for inp in (fn.inputs if fn is not None else ()):
            if inp.requires_grad and id(inp) not in visited:
                stack.append((inp, False))
    return order


def backward(self: Tensor, grad=None) -> None:
    """Tensor.backward: accumulate d(self)/d(leaf) (times `grad`) into every leaf's .grad.

    `grad` is dLoss/dself; it may be omitted only for a single-element tensor (then 1).
    """
    if grad is None:
        if self.size != 1:
            raise RuntimeError(f"backward() without a gradient needs a single-element tensor, "
                               f"got shape {self.shape}: pass grad of that shape")
        grad = np.ones(self.shape, dtype=self.dtype)
    grad = np.asarray(grad.data if isinstance(grad, Tensor) else grad)
    if grad.shape != self.shape:
        raise ValueError(f"backward(grad): grad has shape {grad.shape}, "
                         f"the tensor has shape {self.shape}")

    grads = {id(self): grad}  # id(tensor) -> dLoss/dtensor summed over every path so far
    for node in reversed(_topological_order(self)):
        g = grads.get(id(node))
        if g is None:
            continue
        fn = getattr(node, "_grad_fn", None)
        if fn is None:  # a leaf: accumulate into .grad (summed across backward calls)
            if node.requires_grad:
                g = np.array(g, dtype=node.dtype)  # a fresh array of the leaf's dtype
                node.grad = g if node.grad is None else node.grad + g
            continue
        for inp, inp_grad in zip(fn.inputs, fn.backward(g)):
            if inp_grad is None or not inp.requires_grad:
                continue
            inp_grad = unbroadcast(inp_grad, inp.shape)
            key = id(inp)
            grads[key] = grads[key] + inp_grad if key in grads else inp_grad


def zero_grad(self: Tensor) -> None:
    """Tensor.zero_grad: forget the accumulated gradient (.grad = None)."""
    self.grad = None


# ====================================================================== enable

_TENSOR_BINARY = {
    "__add__": (Add, False), "__radd__": (Add, True),
    "__sub__": (Sub, False), "__rsub__": (Sub, True),
    "__mul__": (Mul, False), "__rmul__": (Mul, True),
    "__truediv__": (Div, False), "__rtruediv__": (Div, True),
    "__matmul__": (MatMul, False), "matmul": (MatMul, False),
}


def _record_masked_fill(out, self, mask, value):
    hidden = np.asarray(mask.data if isinstance(mask, Tensor) else mask) != 0
    return record(out, MaskedFill, (self,), mask=np.broadcast_to(hidden, self.shape))


def _record_softmax(out, layer, x, dim=None):
    used = layer.dim if dim is None else dim  # a dim given to the call wins for that call
    return record(out, SoftmaxFn, (x,), out=getattr(out, "data", None), dim=used)


def enable_autograd(quiet: bool = False) -> None:
    """Teach Tensor, the activations and the losses to record graphs. Idempotent.

    Unless `quiet`, say so on standard output (every call, whether or not anything was
    left to wrap).
    """
    for name, (fn_class, reverse) in _TENSOR_BINARY.items():
        _patch(Tensor, name, _binary(fn_class, reverse))
    _patch(Tensor, "__neg__", lambda out, self: record(out, Neg, (self,)))
    _patch(Tensor, "__pow__", lambda out, self, exponent: record(
        out, Pow, (self,), exponent=getattr(exponent, "data", exponent)))
    _patch(Tensor, "reshape", lambda out, self, *shape: record(out, Reshape, (self,)))
    _patch(Tensor, "view", lambda out, self, *shape: record(out, Reshape, (self,)))
    _patch(Tensor, "contiguous", lambda out, self: record(out, Contiguous, (self,)))
    _patch(Tensor, "masked_fill", _record_masked_fill)
    _patch(Tensor, "transpose", _record_transpose)
    _patch(Tensor, "__getitem__", _record_getitem)
    for name, fn_class in (("sum", Sum), ("mean", Mean), ("max", Max)):
        _patch(Tensor, name, _reduction(fn_class))

    for cls, fn_class in ((activations.Sigmoid, SigmoidFn), (activations.ReLU, ReLUFn),
                          (activations.Tanh, TanhFn), (activations.GELU, GELUFn)):
        _patch(cls, "forward", _activation(fn_class))
    _patch(activations.Softmax, "forward", _record_softmax)
    for cls, fn_class in ((losses.MSELoss, MSEFn), (losses.CrossEntropyLoss, CrossEntropyFn),
                          (losses.BinaryCrossEntropyLoss, BinaryCrossEntropyFn)):
        _patch(cls, "forward", _loss(fn_class))
    _patch(losses, "log_softmax", _record_log_softmax)

    Tensor._grad_fn = None  # leaves and constants: made by no recorded op
    Tensor.backward = backward
    Tensor.zero_grad = zero_grad
    if not quiet:
        print("autograd enabled: operations on tensors that require grad are recorded; "
              "call .backward() on a result")
