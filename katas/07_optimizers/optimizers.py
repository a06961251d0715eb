"""Kata 07: optimizers, the rules that turn gradients into better parameters.

Read README.md in this folder first: it gives the exact update equations.
Every parameter is a Tensor; its gradient `p.grad` is an np.ndarray of p's shape and
dtype, or None. Update parameters in place on `p.data`.
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
