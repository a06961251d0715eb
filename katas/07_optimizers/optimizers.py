"""Kata 07: optimizers, the rules that turn gradients into better parameters.

Read README.md in this folder first: it gives the exact update equations.
Every parameter is a Tensor; its gradient `p.grad` is None, an np.ndarray of p's shape
and dtype, or a Tensor holding one (read its `.data`). Update parameters in place on
`p.data`.
"""
from __future__ import annotations

import numpy as np  # noqa: F401

from tinytorch.core.tensor import Tensor  # noqa: F401  (the type of every parameter)


class Optimizer:
    """Base class: holds the parameters; subclasses define `step()`."""

    def __init__(self, params):
        """Store the parameters as a list in `self.params` (params may be any iterable)."""
        raise NotImplementedError("kata 07_optimizers: write Optimizer.__init__")

    def zero_grad(self) -> None:
        """Set every parameter's `.grad` to None."""
        raise NotImplementedError("kata 07_optimizers: write Optimizer.zero_grad")

    def step(self) -> None:
        """Update every parameter that has a gradient. Subclasses implement this."""
        raise NotImplementedError("kata 07_optimizers: write Optimizer.step in each subclass")

    def state_dict(self) -> dict:
        """A flat dict of NumPy arrays (copies) and Python numbers. Subclasses implement it."""
        raise NotImplementedError("kata 07_optimizers: write state_dict in each subclass")

    def load_state_dict(self, state: dict) -> None:
        """Restore a state_dict() (also as np.load returns it). Subclasses implement it."""
        raise NotImplementedError("kata 07_optimizers: write load_state_dict in each subclass")


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and L2 weight decay.

        g = grad + weight_decay * p
        v = momentum * v + g          (v starts at 0)
        p = p - lr * v
    """

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        """Keep the hyperparameters (`self.lr` is public) and room for per-parameter state."""
        raise NotImplementedError("kata 07_optimizers: write SGD.__init__")

    def step(self) -> None:
        """One update of every parameter whose grad is not None, in place."""
        raise NotImplementedError("kata 07_optimizers: write SGD.step")

    def has_momentum(self) -> bool:
        """True when momentum > 0."""
        raise NotImplementedError("kata 07_optimizers: write SGD.has_momentum")

    def get_momentum_state(self):
        """None without momentum; else one entry per parameter: a copy of its velocity, or
        None if it was not updated yet."""
        raise NotImplementedError("kata 07_optimizers: write SGD.get_momentum_state")

    def set_momentum_state(self, state) -> None:
        """The inverse of get_momentum_state (None forgets every velocity); a list of the
        wrong length raises ValueError and changes nothing."""
        raise NotImplementedError("kata 07_optimizers: write SGD.set_momentum_state")

    def state_dict(self) -> dict:
        """lr, momentum, weight_decay and velocity_i for each parameter with a velocity."""
        raise NotImplementedError("kata 07_optimizers: write SGD.state_dict")

    def load_state_dict(self, state: dict) -> None:
        """Restore a state_dict(), numbers possibly as 0-d arrays; validate before assigning."""
        raise NotImplementedError("kata 07_optimizers: write SGD.load_state_dict")


class Adam(Optimizer):
    """Adam with bias-corrected moments; weight_decay is an L2 term added to the gradient.

        g = grad + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t),  v_hat = v / (1 - beta2**t)   (t = this parameter's step)
        p = p - lr * m_hat / (sqrt(v_hat) + eps)
    """

    def __init__(self, params, lr: float = 0.001, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        """Keep the hyperparameters (`self.lr` is public) and per-parameter m, v and t."""
        raise NotImplementedError("kata 07_optimizers: write Adam.__init__")

    def step(self) -> None:
        """One Adam update of every parameter whose grad is not None, in place."""
        raise NotImplementedError("kata 07_optimizers: write Adam.step")

    def state_dict(self) -> dict:
        """lr, beta1, beta2, eps, weight_decay, and m_i, v_i, t_i for each started parameter."""
        raise NotImplementedError("kata 07_optimizers: write Adam.state_dict")

    def load_state_dict(self, state: dict) -> None:
        """Restore a state_dict(), numbers possibly as 0-d arrays; validate before assigning."""
        raise NotImplementedError("kata 07_optimizers: write Adam.load_state_dict")


class AdamW(Adam):
    """Adam with decoupled weight decay:

        p = p - lr * weight_decay * p
        then the Adam update with the raw gradient (no L2 term).

    Reusing Adam's code is fine, as long as the decay stays out of the gradient.
    """

    def __init__(self, params, lr: float = 0.001, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01):
        """Same hyperparameters as Adam; note the default weight_decay of 0.01."""
        raise NotImplementedError("kata 07_optimizers: write AdamW.__init__")

    def step(self) -> None:
        """Decoupled weight decay, then the Adam update, for every parameter with a grad."""
        raise NotImplementedError("kata 07_optimizers: write AdamW.step")
