"""Kata 07: optimizers, the rules that turn gradients into better parameters.

Each optimizer walks its parameters, skips those without a gradient, and writes the new
values into `p.data` in place. State (momentum, Adam's moments and step count) is kept per
parameter, in lists indexed by the parameter's position in `self.params`.
"""
from __future__ import annotations

import numpy as np

from tinytorch.core.tensor import Tensor  # noqa: F401  (the type of every parameter)


class Optimizer:
    """Base class: holds the parameters; subclasses define `step()`."""

    def __init__(self, params):
        self.params = list(params)  # a generator would be used up after one pass

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        raise NotImplementedError("Optimizer subclasses define step()")


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
            g = p.grad
            if self.weight_decay != 0:
                g = g + self.weight_decay * p.data
            if self.momentum != 0:
                if self.velocity[i] is None:
                    self.velocity[i] = np.zeros_like(p.data)
                self.velocity[i] = self.momentum * self.velocity[i] + g
                g = self.velocity[i]
            p.data -= self.lr * g


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
            g = p.grad
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


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter):

        p = p - lr * weight_decay * p     (shrink the weights directly)
        then the Adam step on the raw gradient (no L2 term in g).
    """

    decoupled = True

    def __init__(self, params, lr: float = 0.001, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
