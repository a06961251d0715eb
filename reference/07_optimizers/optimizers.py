"""Kata 07: optimizers, the rules that turn gradients into better parameters.

Each optimizer walks its parameters, skips those without a gradient, and writes the new
values into `p.data` in place. State (momentum, Adam's moments and step count) is kept per
parameter, in lists indexed by the parameter's position in `self.params`, and can be
exported with `state_dict()` (arrays and numbers only) and restored with
`load_state_dict()`.
"""
from __future__ import annotations

import re

import numpy as np

from tinytorch.core.tensor import Tensor  # noqa: F401  (the type of every parameter)


def _grad(p) -> np.ndarray:
    """p.grad as an array of p's dtype (a Tensor-valued grad is unwrapped)."""
    g = p.grad.data if isinstance(p.grad, Tensor) else p.grad
    return np.asarray(g, dtype=p.data.dtype)


def _number(value, kind=float):
    """A Python number from a number, a NumPy scalar or a 0-d array (np.load gives those)."""
    return kind(np.asarray(value).item())


_PER_PARAM = re.compile(r"([a-z]+)_(\d+)")


def _per_param_arrays(state: dict, names: tuple, params: list) -> dict:
    """{(name, i): array} for the per-parameter entries of `state`, validated and copied
    in the parameter's dtype before anything is assigned."""
    found = {}
    for key, value in state.items():
        match = _PER_PARAM.fullmatch(key)
        if match is None or match.group(1) not in names:
            continue
        i = int(match.group(2))
        if i >= len(params):
            raise ValueError(f"state entry {key!r}: this optimizer has only {len(params)} "
                             f"parameters")
        if match.group(1) == "t":
            found[key] = _number(value, int)
            continue
        array = np.asarray(value)
        if array.shape != params[i].data.shape:
            raise ValueError(f"state entry {key!r} has shape {array.shape}, its parameter "
                             f"has shape {params[i].data.shape}")
        found[key] = np.array(array, dtype=params[i].data.dtype)  # a copy
    return found


class Optimizer:
    """Base class: holds the parameters; subclasses define `step()` and the state."""

    def __init__(self, params):
        self.params = list(params)  # a generator would be used up after one pass

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError("Optimizer subclasses define step()")

    def state_dict(self) -> dict:
        raise NotImplementedError("Optimizer subclasses define state_dict()")

    def load_state_dict(self, state: dict) -> None:
        raise NotImplementedError("Optimizer subclasses define load_state_dict()")


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and L2 weight decay.

        g = grad + weight_decay * p
        v = momentum * v + g          (v starts at 0, so the first v is g)
        p = p - lr * v
    """

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        super().__init__(params)
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.velocity = [None] * len(self.params)

    def step(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = _grad(p)
            if self.weight_decay != 0:
                g = g + self.weight_decay * p.data
            if self.momentum != 0:
                if self.velocity[i] is None:
                    self.velocity[i] = np.zeros_like(p.data)
                self.velocity[i] = self.momentum * self.velocity[i] + g
                g = self.velocity[i]
            p.data -= self.lr * g

    def has_momentum(self) -> bool:
        return self.momentum > 0

    def get_momentum_state(self):
        if not self.has_momentum():
            return None
        return [None if v is None else v.copy() for v in self.velocity]

    def set_momentum_state(self, state) -> None:
        if state is None:
            self.velocity = [None] * len(self.params)
            return
        state = list(state)
        if len(state) != len(self.params):
            raise ValueError(f"set_momentum_state: got {len(state)} velocities for "
                             f"{len(self.params)} parameters")
        self.velocity = [None if v is None else np.array(v, dtype=p.data.dtype)
                         for v, p in zip(state, self.params)]

    def state_dict(self) -> dict:
        state = {"lr": float(self.lr), "momentum": float(self.momentum),
                 "weight_decay": float(self.weight_decay)}
        for i, v in enumerate(self.velocity):
            if v is not None:
                state[f"velocity_{i}"] = v.copy()
        return state

    def load_state_dict(self, state: dict) -> None:
        arrays = _per_param_arrays(state, ("velocity",), self.params)
        lr, momentum = _number(state["lr"]), _number(state["momentum"])
        weight_decay = _number(state["weight_decay"])
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity = [arrays.get(f"velocity_{i}") for i in range(len(self.params))]


class Adam(Optimizer):
    """Adam: a per-coordinate step from running averages of the gradient and its square.

        g = grad + weight_decay * p                  (L2 penalty, Adam only)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t)   (t = this parameter's step)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)
    """

    decoupled = False  # AdamW decays the weights directly instead of through the gradient

    def __init__(self, params, lr: float = 0.001, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params)
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        n = len(self.params)
        self.m = [None] * n  # first moment: running mean of the gradient
        self.v = [None] * n  # second moment: running mean of the squared gradient
        self.t = [0] * n  # steps taken by each parameter (skipped steps do not count)

    def step(self) -> None:
        beta1, beta2 = self.betas
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = _grad(p)
            if self.weight_decay != 0:
                if self.decoupled:
                    p.data -= self.lr * self.weight_decay * p.data
                else:
                    g = g + self.weight_decay * p.data
            if self.m[i] is None:
                self.m[i] = np.zeros_like(p.data)
                self.v[i] = np.zeros_like(p.data)
            self.t[i] += 1
            t = self.t[i]
            self.m[i] = beta1 * self.m[i] + (1 - beta1) * g
            self.v[i] = beta2 * self.v[i] + (1 - beta2) * g * g
            m_hat = self.m[i] / (1 - beta1 ** t)
            v_hat = self.v[i] / (1 - beta2 ** t)
            p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def state_dict(self) -> dict:
        b1, b2 = self.betas
        state = {"lr": float(self.lr), "beta1": float(b1), "beta2": float(b2),
                 "eps": float(self.eps), "weight_decay": float(self.weight_decay)}
        for i, (m, v, t) in enumerate(zip(self.m, self.v, self.t)):
            if m is not None:
                state[f"m_{i}"], state[f"v_{i}"], state[f"t_{i}"] = m.copy(), v.copy(), int(t)
        return state

    def load_state_dict(self, state: dict) -> None:
        arrays = _per_param_arrays(state, ("m", "v", "t"), self.params)
        n = len(self.params)
        started = {i for i in range(n) if f"m_{i}" in arrays or f"t_{i}" in arrays}
        for i in started:
            missing = [k for k in (f"m_{i}", f"v_{i}", f"t_{i}") if k not in arrays]
            if missing:
                raise ValueError(f"state of parameter {i} is incomplete: no {missing}")
        hyper = [_number(state[k]) for k in ("lr", "beta1", "beta2", "eps", "weight_decay")]
        self.lr, beta1, beta2, self.eps, self.weight_decay = hyper
        self.betas = (beta1, beta2)
        self.m = [arrays.get(f"m_{i}") for i in range(n)]
        self.v = [arrays.get(f"v_{i}") for i in range(n)]
        self.t = [arrays.get(f"t_{i}", 0) for i in range(n)]


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter):

        p = p - lr * weight_decay * p     (shrink the weights directly)
        then the Adam step on the raw gradient (no L2 term in g).
    """

    decoupled = True

    def __init__(self, params, lr: float = 0.001, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
