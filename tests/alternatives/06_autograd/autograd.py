"""Kata 06, written apart from the reference with other legitimate choices.

- grad mode is a nesting depth (0 = recording), not a saved flag;
- one small wrapper function per patched method, no generic factory;
- backward runs Kahn's algorithm: a node is processed once every user has handed it its
  gradient (counted per edge), so no topological list is built and nothing recurses;
- reductions put the reduced axes back by reshaping to the keepdims shape;
- max splits the gradient over a mask of the maxima divided by their count;
- 1-D matmul operands are handled by summing the helper axis away.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from tinytorch.core import activations, losses
from tinytorch.core.tensor import Tensor

_depth = 0  # how many no_grad blocks are open


def is_grad_enabled() -> bool:
    return _depth == 0


class no_grad:
    def __enter__(self):
        global _depth
        _depth += 1
        return self

    def __exit__(self, exc_type, exc, tb):
        global _depth
        _depth -= 1
        return False


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    out = np.asarray(grad)
    while out.ndim > len(shape):
        out = out.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and out.shape[axis] != 1:
            out = out.sum(axis=axis, keepdims=True)
    return out


def _kept_shape(shape, axis):
    """The shape of a reduction with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in ((axis,) if np.ndim(axis) == 0 else axis)}
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Function:
    def __init__(self, *inputs, **attrs):
        self.inputs = tuple(inputs)
        self.__dict__.update(attrs)

    def backward(self, grad):
        raise NotImplementedError


class Add(Function):
    def backward(self, grad):
        return grad, grad


class Sub(Function):
    def backward(self, grad):
        return grad, np.negative(grad)


class Mul(Function):
    def backward(self, grad):
        a, b = self.inputs
        return np.multiply(grad, b.data), np.multiply(grad, a.data)


class Div(Function):
    def backward(self, grad):
        a, b = self.inputs
        return np.divide(grad, b.data), np.negative(grad) * a.data / b.data ** 2


class Neg(Function):
    def backward(self, grad):
        return (np.negative(grad),)


class Pow(Function):
    def backward(self, grad):
        base = self.inputs[0].data
        return (np.multiply(grad, self.power * np.power(base, self.power - 1)),)


class MatMul(Function):
    def backward(self, grad):
        a, b = (t.data for t in self.inputs)
        g = np.asarray(grad)
        am = a[np.newaxis, :] if a.ndim == 1 else a
        bm = b[:, np.newaxis] if b.ndim == 1 else b
        if b.ndim == 1:
            g = g[..., np.newaxis]
        if a.ndim == 1:
            g = g[..., np.newaxis, :]
        ga = np.matmul(g, np.swapaxes(bm, -1, -2))
        gb = np.matmul(np.swapaxes(am, -1, -2), g)
        if a.ndim == 1:  # (..., 1, k): the row axis and any batch axes belong to nobody
            ga = ga.reshape(-1, a.shape[0]).sum(axis=0)
        if b.ndim == 1:  # (..., k, 1)
            gb = np.moveaxis(gb, -2, -1).reshape(-1, b.shape[0]).sum(axis=0)
        return ga, gb


class Reshape(Function):
    def backward(self, grad):
        return (np.asarray(grad).reshape(self.inputs[0].shape),)


class Contiguous(Function):
    def backward(self, grad):
        return (grad,)


class Transpose(Function):
    def backward(self, grad):
        g = np.asarray(grad)
        if self.dims is None:
            return (g if g.ndim < 2 else np.swapaxes(g, -1, -2),)
        return (np.swapaxes(g, *self.dims),)


class GetItem(Function):
    def backward(self, grad):
        a = self.inputs[0]
        full = np.zeros(a.shape, dtype=np.result_type(a.data, np.asarray(grad)))
        np.add.at(full, self.index, grad)
        return (full,)


class MaskedFill(Function):
    def backward(self, grad):
        return (np.where(self.hidden, np.zeros((), dtype=np.asarray(grad).dtype), grad),)


class Sum(Function):
    def backward(self, grad):
        shape = self.inputs[0].shape
        return (np.broadcast_to(np.reshape(grad, _kept_shape(shape, self.axis)), shape),)


class Mean(Function):
    def backward(self, grad):
        shape = self.inputs[0].shape
        kept = _kept_shape(shape, self.axis)
        count = int(np.prod(shape)) // max(int(np.prod(kept)), 1)
        return (np.broadcast_to(np.reshape(grad, kept), shape) / count,)


class Max(Function):
    def backward(self, grad):
        a = self.inputs[0].data
        kept = _kept_shape(a.shape, self.axis)
        top = a == np.reshape(self.value, kept)  # every position holding its slice's max
        count = top.sum(axis=tuple(i for i, n in enumerate(kept) if n == 1), keepdims=True)
        return (top / count * np.reshape(grad, kept),)


class SigmoidFn(Function):
    def backward(self, grad):
        return (grad * self.y * (1.0 - self.y),)


class ReLUFn(Function):
    def backward(self, grad):
        return (np.where(self.inputs[0].data > 0, grad, 0.0),)


class TanhFn(Function):
    def backward(self, grad):
        return (grad * (1.0 - np.square(self.y)),)


class GELUFn(Function):
    def backward(self, grad):
        x = self.inputs[0].data
        k = np.sqrt(2.0 / np.pi)
        th = np.tanh(k * (x + 0.044715 * x ** 3))
        sech2 = 1.0 - th ** 2
        return (grad * (0.5 * (1.0 + th) + 0.5 * x * sech2 * k * (1.0 + 0.134145 * x ** 2)),)


class SoftmaxFn(Function):
    def backward(self, grad):
        sg = self.y * grad
        return (sg - self.y * sg.sum(axis=self.axis, keepdims=True),)


class LogSoftmaxFn(Function):
    def backward(self, grad):
        return (grad - np.exp(self.y) * np.sum(grad, axis=self.axis, keepdims=True),)


class MSEFn(Function):
    def backward(self, grad):
        p, t = self.inputs
        d = (p.data - t.data) * (2.0 / p.data.size) * grad
        return d, -d


class CrossEntropyFn(Function):
    def backward(self, grad):
        z = self.inputs[0].data
        labels = self.inputs[1].data.astype(int)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        probs = e / e.sum(axis=1, keepdims=True)
        onehot = np.eye(z.shape[1], dtype=probs.dtype)[labels]
        return (probs - onehot) * (grad / z.shape[0]), None


class BinaryCrossEntropyFn(Function):
    def backward(self, grad):
        p, t = self.inputs[0].data, self.inputs[1].data
        lo, hi = 1e-7, 1.0 - 1e-7
        q = np.clip(p, lo, hi)
        d = (q - t) / (q * (1.0 - q)) * (grad / p.size)
        return np.where((p < lo) | (p > hi), 0.0, d), None


# ---------------------------------------------------------------- recording

def _const(value) -> Tensor:
    if isinstance(value, Tensor):
        return value
    arr = np.asarray(value)
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return Tensor(arr)


def _attach(out, fn_class, operands, **attrs):
    if not isinstance(out, Tensor) or not is_grad_enabled():
        return out
    if not any(isinstance(o, Tensor) and o.requires_grad for o in operands):
        return out
    for o in operands:
        if out is o:
            out = Tensor(out.data.copy())
            break
    out.requires_grad = True
    out._grad_fn = fn_class(*(_const(o) for o in operands), **attrs)
    return out


record = _attach  # the public name later katas call


def _quiet_call(method, *args, **kwargs):
    with no_grad():
        return method(*args, **kwargs)


def _w_add(m):
    def __add__(self, other):
        return _attach(_quiet_call(m, self, other), Add, (self, other))
    return __add__


def _w_radd(m):
    def __radd__(self, other):
        return _attach(_quiet_call(m, self, other), Add, (other, self))
    return __radd__


def _w_sub(m):
    def __sub__(self, other):
        return _attach(_quiet_call(m, self, other), Sub, (self, other))
    return __sub__


def _w_rsub(m):
    def __rsub__(self, other):
        return _attach(_quiet_call(m, self, other), Sub, (other, self))
    return __rsub__


def _w_mul(m):
    def __mul__(self, other):
        return _attach(_quiet_call(m, self, other), Mul, (self, other))
    return __mul__


def _w_rmul(m):
    def __rmul__(self, other):
        return _attach(_quiet_call(m, self, other), Mul, (other, self))
    return __rmul__


def _w_div(m):
    def __truediv__(self, other):
        return _attach(_quiet_call(m, self, other), Div, (self, other))
    return __truediv__


def _w_rdiv(m):
    def __rtruediv__(self, other):
        return _attach(_quiet_call(m, self, other), Div, (other, self))
    return __rtruediv__


def _w_neg(m):
    def __neg__(self):
        return _attach(_quiet_call(m, self), Neg, (self,))
    return __neg__


def _w_pow(m):
    def __pow__(self, exponent):
        power = exponent.data if isinstance(exponent, Tensor) else exponent
        return _attach(_quiet_call(m, self, exponent), Pow, (self,), power=power)
    return __pow__


def _w_matmul(m):
    def matmul(self, other):
        return _attach(_quiet_call(m, self, other), MatMul, (self, other))
    return matmul


def _w_reshape(m):
    def reshape(self, *shape):
        return _attach(_quiet_call(m, self, *shape), Reshape, (self,))
    return reshape


def _w_contiguous(m):
    def contiguous(self):
        return _attach(_quiet_call(m, self), Contiguous, (self,))
    return contiguous


def _w_transpose(m):
    def transpose(self, dim0=None, dim1=None):
        out = _quiet_call(m, self, dim0, dim1)
        dims = None if dim0 is None and dim1 is None else (dim0, dim1)
        return _attach(out, Transpose, (self,), dims=dims)
    return transpose


def _w_getitem(m):
    def __getitem__(self, key):
        index = key.data.astype(np.intp) if isinstance(key, Tensor) else key
        return _attach(_quiet_call(m, self, key), GetItem, (self,), index=index)
    return __getitem__


def _w_masked_fill(m):
    def masked_fill(self, mask, value):
        out = _quiet_call(m, self, mask, value)
        raw = mask.data if isinstance(mask, Tensor) else mask
        hidden = np.broadcast_to(np.asarray(raw).astype(bool), self.shape)
        return _attach(out, MaskedFill, (self,), hidden=hidden)
    return masked_fill


def _w_reduction(m, fn_class):
    def reduce(self, axis=None, keepdims=False):
        out = _quiet_call(m, self, axis, keepdims)
        return _attach(out, fn_class, (self,), axis=axis,
                       value=out.data if isinstance(out, Tensor) else None)
    reduce.__name__ = m.__name__
    return reduce


def _w_elementwise(m, fn_class):
    def forward(self, x):
        out = _quiet_call(m, self, x)
        return _attach(out, fn_class, (x,), y=getattr(out, "data", None))
    return forward


def _w_softmax(m):
    def forward(self, x, dim=None):
        out = _quiet_call(m, self, x, dim) if dim is not None else _quiet_call(m, self, x)
        return _attach(out, SoftmaxFn, (x,), y=getattr(out, "data", None),
                       axis=self.dim if dim is None else dim)
    return forward


def _w_loss(m, fn_class):
    def forward(self, predictions, targets):
        return _attach(_quiet_call(m, self, predictions, targets), fn_class, (predictions, targets))
    return forward


def _w_log_softmax(m):
    def log_softmax(x, dim=-1):
        out = _quiet_call(m, x, dim=dim)
        return _attach(out, LogSoftmaxFn, (x,), y=getattr(out, "data", None), axis=dim)
    return log_softmax


def _install(owner, name, make):
    current = getattr(owner, name)
    if getattr(current, "_tinytorch_autograd", False):
        return
    new = make(current)
    new._tinytorch_autograd = True
    setattr(owner, name, new)


# ---------------------------------------------------------------- the engine (Kahn)

def backward(self, grad=None):
    if grad is None:
        if self.data.size != 1:
            raise RuntimeError("backward() needs a gradient for a tensor of more than one "
                               f"element (shape {self.shape})")
        grad = np.ones_like(self.data)
    start = np.asarray(grad.data if isinstance(grad, Tensor) else grad)

    users = {id(self): 0}  # edges into each node from the nodes that consume it
    nodes = {id(self): self}
    todo = [self]
    while todo:
        node = todo.pop()
        fn = node._grad_fn
        if fn is None:
            continue
        for inp in fn.inputs:
            if not inp.requires_grad:
                continue
            if id(inp) not in nodes:
                nodes[id(inp)] = inp
                users[id(inp)] = 0
                todo.append(inp)
            users[id(inp)] += 1

    pending = {id(self): start}
    ready = deque([self])
    while ready:  # a node is ready once all its users have handed over their share
        node = ready.popleft()
        total = pending.pop(id(node), None)  # None: every path to it carried no gradient
        fn = node._grad_fn
        if fn is None:
            if total is not None and node.requires_grad:
                mine = np.array(total, dtype=node.data.dtype)
                node.grad = mine if node.grad is None else node.grad + mine
            continue
        shares = fn.backward(total) if total is not None else (None,) * len(fn.inputs)
        for inp, g in zip(fn.inputs, shares):
            if not inp.requires_grad:
                continue
            key = id(inp)
            if g is not None:
                g = unbroadcast(g, inp.shape)
                pending[key] = g if key not in pending else pending[key] + g
            users[key] -= 1
            if users[key] == 0:
                ready.append(inp)
    return None


def zero_grad(self):
    self.grad = None


def enable_autograd(quiet: bool = False) -> None:
    T = Tensor
    for name, make in (("__add__", _w_add), ("__radd__", _w_radd), ("__sub__", _w_sub),
                       ("__rsub__", _w_rsub), ("__mul__", _w_mul), ("__rmul__", _w_rmul),
                       ("__truediv__", _w_div), ("__rtruediv__", _w_rdiv), ("__neg__", _w_neg),
                       ("__pow__", _w_pow), ("__matmul__", _w_matmul), ("matmul", _w_matmul),
                       ("reshape", _w_reshape), ("view", _w_reshape),
                       ("contiguous", _w_contiguous), ("transpose", _w_transpose),
                       ("__getitem__", _w_getitem), ("masked_fill", _w_masked_fill)):
        _install(T, name, make)
    _install(T, "sum", lambda m: _w_reduction(m, Sum))
    _install(T, "mean", lambda m: _w_reduction(m, Mean))
    _install(T, "max", lambda m: _w_reduction(m, Max))
    _install(activations.Sigmoid, "forward", lambda m: _w_elementwise(m, SigmoidFn))
    _install(activations.ReLU, "forward", lambda m: _w_elementwise(m, ReLUFn))
    _install(activations.Tanh, "forward", lambda m: _w_elementwise(m, TanhFn))
    _install(activations.GELU, "forward", lambda m: _w_elementwise(m, GELUFn))
    _install(activations.Softmax, "forward", _w_softmax)
    _install(losses.MSELoss, "forward", lambda m: _w_loss(m, MSEFn))
    _install(losses.CrossEntropyLoss, "forward", lambda m: _w_loss(m, CrossEntropyFn))
    _install(losses.BinaryCrossEntropyLoss, "forward", lambda m: _w_loss(m, BinaryCrossEntropyFn))
    _install(losses, "log_softmax", _w_log_softmax)
    T._grad_fn = None
    T.backward = backward
    T.zero_grad = zero_grad
    if not quiet:
        print("Autograd enabled: tensors that require grad now record how they were made.")
