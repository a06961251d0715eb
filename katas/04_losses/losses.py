"""Kata 04: loss functions, the single number that training drives down.

Read README.md first. Replace every `raise NotImplementedError(...)` with your code.
You may compute on the NumPy arrays inside the Tensors (`x.data`); kata 06 gives these
functions their own backward rules. Return Tensors of shape () for the losses.
"""
from __future__ import annotations

import numpy as np

from tinytorch.core.tensor import Tensor

EPS = 1e-7  # BCE clips probabilities to [EPS, 1 - EPS]


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """log(softmax(x)) along `dim`, same shape and dtype as x.

    Must stay finite (no NaN, no inf, no overflow warning) for |x| up to 1000.
    """
    raise NotImplementedError("kata 04_losses: write log_softmax")


class MSELoss:
    """Mean squared error over every element: a Tensor of shape ().

    predictions: Tensor; targets: Tensor or ndarray of the SAME shape
    (a different shape raises ValueError). Output dtype = predictions' dtype.
    """

    def forward(self, predictions: Tensor, targets) -> Tensor:
        raise NotImplementedError("kata 04_losses: write MSELoss.forward")

    def __call__(self, *args):
        raise NotImplementedError("kata 04_losses: write MSELoss.__call__")


class CrossEntropyLoss:
    """Mean over the batch of the negative log-probability of the target class.

    logits: Tensor (N, C) of raw scores; targets: integer class indices (N,), an ndarray
    or a Tensor (cast to int). A target outside [0, C), or targets of any shape other
    than (N,), raise ValueError.
    Returns a Tensor of shape (), dtype = logits' dtype. Stable for logits of +-1000.
    """

    def forward(self, logits: Tensor, targets) -> Tensor:
        raise NotImplementedError("kata 04_losses: write CrossEntropyLoss.forward")

    def __call__(self, *args):
        raise NotImplementedError("kata 04_losses: write CrossEntropyLoss.__call__")


class BinaryCrossEntropyLoss:
    """Mean binary cross-entropy of probabilities against targets in [0, 1].

    predictions: Tensor of probabilities, clipped to [EPS, 1 - EPS] before any log;
    targets: Tensor or ndarray of the same shape (a different shape raises ValueError).
    Returns a Tensor of shape (),
    dtype = predictions' dtype. Finite (and warning-free) at predictions of exactly 0 or 1.
    """

    def forward(self, predictions: Tensor, targets) -> Tensor:
        raise NotImplementedError("kata 04_losses: write BinaryCrossEntropyLoss.forward")

    def __call__(self, *args):
        raise NotImplementedError("kata 04_losses: write BinaryCrossEntropyLoss.__call__")
