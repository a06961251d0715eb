"""Kata 04: loss functions, the single number that training drives down."""
from __future__ import annotations

import numpy as np

from tinytorch.core.tensor import Tensor

EPS = 1e-7  # BCE clips probabilities to [EPS, 1 - EPS]


def _data(x) -> np.ndarray:
    """The NumPy value of a Tensor, an ndarray or anything array-like."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """log(softmax(x)) along `dim`, computed stably with the log-sum-exp trick.

    log_softmax(x)_i = x_i - log(sum_j exp(x_j))
                     = (x_i - m) - log(sum_j exp(x_j - m)),  m = max_j x_j
    The shifted exponents are <= 0, so exp never overflows, and the sum is >= 1, so the
    log never sees 0.
    """
    data = _data(x)
    shifted = data - data.max(axis=dim, keepdims=True)
    log_sum_exp = np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
    return Tensor(shifted - log_sum_exp)


class MSELoss:
    """Mean squared error: mean((predictions - targets) ** 2) over every element."""

    def forward(self, predictions: Tensor, targets) -> Tensor:
        p = _data(predictions)
        t = _data(targets).astype(p.dtype, copy=False)
        if p.shape != t.shape:
            raise ValueError(f"MSELoss: predictions of shape {p.shape} and targets of shape "
                             f"{t.shape} must have the same shape")
        diff = p - t
        return Tensor(np.mean(diff * diff))

    def __call__(self, *args):
        return self.forward(*args)


class CrossEntropyLoss:
    """Mean over the batch of -log softmax(logits)[n, targets[n]].

    logits: (N, C) raw scores; targets: (N,) integer class indices in [0, C).
    """

    def forward(self, logits: Tensor, targets) -> Tensor:
        z = _data(logits)
        labels = _data(targets).astype(np.int64)
        if z.ndim != 2:
            raise ValueError(f"CrossEntropyLoss: logits must be (N, C), got shape {z.shape}")
        n, c = z.shape
        if labels.shape != (n,):
            raise ValueError(f"CrossEntropyLoss: targets must have shape ({n},), "
                             f"got {labels.shape}")
        if np.any((labels < 0) | (labels >= c)):
            raise ValueError(f"CrossEntropyLoss: targets must be class indices in [0, {c}), "
                             f"got {labels}")
        logp = log_softmax(logits, dim=-1).data
        picked = logp[np.arange(n), labels]  # row n, column targets[n]
        return Tensor(-picked.mean())

    def __call__(self, *args):
        return self.forward(*args)


class BinaryCrossEntropyLoss:
    """Mean of -(t log p + (1 - t) log(1 - p)), with p clipped to [1e-7, 1 - 1e-7]."""

    def forward(self, predictions: Tensor, targets) -> Tensor:
        p = np.clip(_data(predictions), EPS, 1 - EPS)
        t = _data(targets).astype(p.dtype, copy=False)
        if p.shape != t.shape:
            raise ValueError(f"BinaryCrossEntropyLoss: predictions of shape {p.shape} and "
                             f"targets of shape {t.shape} must have the same shape")
        per_element = t * np.log(p) + (1 - t) * np.log(1 - p)
        return Tensor(-per_element.mean())

    def __call__(self, *args):
        return self.forward(*args)
