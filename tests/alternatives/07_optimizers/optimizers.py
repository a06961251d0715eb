"""Kata 07, written apart from the reference with other legitimate choices: state lives in
dicts keyed by id(parameter) and is updated in place with `out=` ufuncs, Adam and AdamW share
a private base class instead of inheriting from each other, AdamW shrinks with
`p *= 1 - lr * wd`, and a Tensor gradient is recognised by its numpy() method."""
from __future__ import annotations

import numpy as np

from tinytorch.core.tensor import Tensor  # noqa: F401


def _array_of_grad(p):
    g = p.grad
    if hasattr(g, "numpy") and not isinstance(g, np.ndarray):
        g = g.numpy()
    return g.astype(p.data.dtype, copy=False)


def _py(x, cast):
    return cast(np.asarray(x))


class Optimizer:
    def __init__(self, params):
        self.params = [p for p in params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        raise NotImplementedError

    def state_dict(self):
        raise NotImplementedError

    def load_state_dict(self, state):
        raise NotImplementedError

    # per-parameter entries "<name>_<index>" of a state, checked against self.params
    def _entries(self, state, names):
        out = {}
        for key in state:
            name, _, index = key.rpartition("_")
            if name not in names or not index.isdigit():
                continue
            i = int(index)
            if i >= len(self.params):
                raise ValueError(f"{key}: no parameter {i} (there are {len(self.params)})")
            if name == "t":
                out[(name, i)] = _py(state[key], int)
                continue
            arr = np.asarray(state[key])
            want = self.params[i].data.shape
            if arr.shape != want:
                raise ValueError(f"{key}: shape {arr.shape}, parameter {i} is {want}")
            out[(name, i)] = arr.astype(self.params[i].data.dtype, copy=True)
        return out


class SGD(Optimizer):
    def __init__(self, params, lr=0.01, momentum=0.0, weight_decay=0.0):
        super().__init__(params)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self._buf = {}  # id(p) -> velocity, only for parameters already updated

    def step(self):
        for p in self.params:
            if p.grad is None:
                continue
            g = _array_of_grad(p)
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                buf = self._buf.get(id(p))
                if buf is None:
                    buf = self._buf[id(p)] = np.array(g, dtype=p.data.dtype)
                else:
                    np.multiply(buf, self.momentum, out=buf)
                    np.add(buf, g, out=buf)
                g = buf
            np.subtract(p.data, self.lr * g, out=p.data)

    def has_momentum(self):
        return bool(self.momentum > 0)

    def get_momentum_state(self):
        if self.momentum <= 0:
            return None
        return [self._buf[id(p)].copy() if id(p) in self._buf else None for p in self.params]

    def set_momentum_state(self, state):
        if state is None:
            self._buf = {}
            return
        if len(state) != len(self.params):
            raise ValueError(f"expected {len(self.params)} velocities, got {len(state)}")
        self._buf = {id(p): np.array(v, dtype=p.data.dtype)
                     for p, v in zip(self.params, state) if v is not None}

    def state_dict(self):
        out = dict(lr=float(self.lr), momentum=float(self.momentum),
                   weight_decay=float(self.weight_decay))
        for i, p in enumerate(self.params):
            if id(p) in self._buf:
                out["velocity_" + str(i)] = np.copy(self._buf[id(p)])
        return out

    def load_state_dict(self, state):
        entries = self._entries(state, {"velocity"})
        hyper = {k: _py(state[k], float) for k in ("lr", "momentum", "weight_decay")}
        self.lr, self.momentum, self.weight_decay = hyper["lr"], hyper["momentum"], hyper["weight_decay"]
        self._buf = {id(self.params[i]): a for (_, i), a in entries.items()}


class _AdamFamily(Optimizer):
    decoupled = False

    def __init__(self, params, lr, betas, eps, weight_decay):
        super().__init__(params)
        self.lr, self.eps, self.weight_decay = lr, eps, weight_decay
        self.beta1, self.beta2 = betas
        self._slots = {}  # id(p) -> [m, v, t]

    def step(self):
        b1, b2 = self.beta1, self.beta2
        for p in self.params:
            if p.grad is None:
                continue
            g = _array_of_grad(p)
            if self.weight_decay:
                if self.decoupled:
                    p.data *= 1 - self.lr * self.weight_decay
                else:
                    g = g + self.weight_decay * p.data
            slot = self._slots.setdefault(id(p), [np.zeros_like(p.data), np.zeros_like(p.data), 0])
            m, v = slot[0], slot[1]
            slot[2] += 1
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * np.square(g)
            step = (self.lr / (1 - b1 ** slot[2])) * m / (np.sqrt(v / (1 - b2 ** slot[2])) + self.eps)
            p.data -= step

    def state_dict(self):
        out = {"lr": float(self.lr), "beta1": float(self.beta1), "beta2": float(self.beta2),
               "eps": float(self.eps), "weight_decay": float(self.weight_decay)}
        for i, p in enumerate(self.params):
            slot = self._slots.get(id(p))
            if slot is not None:
                out[f"m_{i}"] = slot[0].copy()
                out[f"v_{i}"] = slot[1].copy()
                out[f"t_{i}"] = int(slot[2])
        return out

    def load_state_dict(self, state):
        entries = self._entries(state, {"m", "v", "t"})
        indices = {i for (_, i) in entries}
        for i in indices:
            if not all((n, i) in entries for n in ("m", "v", "t")):
                raise ValueError(f"parameter {i}: m_{i}, v_{i} and t_{i} go together")
        hyper = [_py(state[k], float) for k in ("lr", "beta1", "beta2", "eps", "weight_decay")]
        self.lr, self.beta1, self.beta2, self.eps, self.weight_decay = hyper
        self._slots = {id(self.params[i]): [entries[("m", i)], entries[("v", i)], entries[("t", i)]]
                       for i in indices}


class Adam(_AdamFamily):
    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, betas, eps, weight_decay)


class AdamW(_AdamFamily):
    decoupled = True

    def __init__(self, params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr, betas, eps, weight_decay)
