"""Kata 08: the training loop, and what keeps it stable and resumable.

clip_grad_norm  - rescale all gradients together when their global L2 norm is too large
CosineSchedule  - a learning rate that decays from max_lr to min_lr along half a cosine
Trainer         - train_epoch / evaluate around a model, an optimizer and a loss
save_checkpoint / load_checkpoint - parameters to and from an .npz file, safely

Read README.md in this folder for the exact contract.
"""
from __future__ import annotations

import math
import os
import tempfile

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.tensor import Tensor


def clip_grad_norm(params, max_norm: float) -> float:
    """Clip gradients by their global L2 norm, in place on each parameter's .grad.

    params: an iterable of Tensors (a list or a generator: go through it only once).
    Parameters whose .grad is None are skipped.
    norm = sqrt(sum over every parameter of sum(grad ** 2)).
    If norm > max_norm, every grad is multiplied by max_norm / (norm + 1e-6).
    Gradients keep their shape and dtype.
    Returns the norm measured BEFORE clipping, as a Python float.
    """
    raise NotImplementedError("kata 08_training: write clip_grad_norm")


class CosineSchedule:
    """lr(epoch) = min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi * epoch / total_epochs)).

    epoch is clipped to [0, total_epochs] first. Returns a Python float.
    """

    def __init__(self, max_lr: float, min_lr: float, total_epochs: int):
        raise NotImplementedError("kata 08_training: write CosineSchedule.__init__")

    def get_lr(self, epoch) -> float:
        raise NotImplementedError("kata 08_training: write CosineSchedule.get_lr")

    def __call__(self, epoch) -> float:
        raise NotImplementedError("kata 08_training: write CosineSchedule.__call__")


class Trainer:
    """Runs epochs of training and evaluation.

    Attributes: model, optimizer, loss_fn, scheduler, grad_clip_norm, and epoch (starts
    at 0, +1 after every train_epoch).
    """

    def __init__(self, model, optimizer, loss_fn, scheduler=None, grad_clip_norm=None):
        raise NotImplementedError("kata 08_training: write Trainer.__init__")

    def train_epoch(self, loader) -> float:
        """One pass over `loader` (batches (x, y)); returns the mean of the batch losses.

        If a scheduler is set, optimizer.lr = scheduler(self.epoch) before the first batch.
        Per batch: zero_grad, forward, loss, backward, optional clipping, step.
        """
        raise NotImplementedError("kata 08_training: write Trainer.train_epoch")

    def evaluate(self, loader) -> tuple[float, float]:
        """(mean of the batch losses, accuracy) in eval mode and under no_grad().

        accuracy = fraction of samples whose argmax over the output's last axis equals
        the integer target. The model's previous train/eval mode is restored.
        """
        raise NotImplementedError("kata 08_training: write Trainer.evaluate")

    def save_checkpoint(self, path) -> None:
        raise NotImplementedError("kata 08_training: write Trainer.save_checkpoint")

    def load_checkpoint(self, path) -> None:
        raise NotImplementedError("kata 08_training: write Trainer.load_checkpoint")


def save_checkpoint(model, path) -> None:
    """Write model.parameters() to exactly `path` as an .npz with keys param_0, param_1, ...

    Atomic: write a temporary file in the same folder, then os.replace it onto `path`.
    """
    raise NotImplementedError("kata 08_training: write save_checkpoint")


def load_checkpoint(model, path) -> None:
    """Load a checkpoint written by save_checkpoint into `model`, in place.

    Missing file: FileNotFoundError naming the path. Unreadable file: ValueError
    containing "not a valid checkpoint". Wrong number of parameters: ValueError naming
    both counts. A wrong shape: ValueError naming the parameter index and both shapes.
    Validate everything before changing anything. Each parameter keeps its Tensor object
    and its dtype.
    """
    raise NotImplementedError("kata 08_training: write load_checkpoint")
