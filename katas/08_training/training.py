"""Kata 08: the training loop, and what keeps it stable and resumable.

clip_grad_norm  - rescale all gradients together when their global L2 norm is too large
CosineSchedule  - a learning rate that decays from max_lr to min_lr along half a cosine
Trainer         - train_epoch (with gradient accumulation) / evaluate, history, checkpoints
save_checkpoint / load_checkpoint - parameters, optimizer and scheduler state and extras
                  to and from an .npz file, safely (atomic writes, no pickle)

Read README.md in this folder for the exact contract.
"""
from __future__ import annotations

import math
import os
import tempfile

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.tensor import Tensor


def clip_grad_norm(params, max_norm: float = 1.0) -> float:
    """Clip gradients by their global L2 norm, in place on each parameter's .grad.

    params: an iterable of Tensors (a list or a generator: go through it only once).
    Parameters whose .grad is None are skipped; a .grad may be an ndarray or a Tensor.
    norm = sqrt(sum over every parameter of sum(grad ** 2)).
    If norm > max_norm, every grad is multiplied by max_norm / (norm + 1e-6); at or
    below max_norm nothing changes.
    Gradients keep their shape and dtype.
    Returns the norm measured BEFORE clipping, as a Python float.
    """
    raise NotImplementedError("kata 08_training: write clip_grad_norm")


class CosineSchedule:
    """lr(epoch) = min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi * epoch / total_epochs)).

    epoch is clipped to [0, total_epochs] first. Returns a Python float.
    The defaults are TinyTorch's.
    """

    def __init__(self, max_lr: float = 0.1, min_lr: float = 0.01, total_epochs: int = 100):
        raise NotImplementedError("kata 08_training: write CosineSchedule.__init__")

    def get_lr(self, epoch) -> float:
        raise NotImplementedError("kata 08_training: write CosineSchedule.get_lr")

    def __call__(self, epoch) -> float:
        raise NotImplementedError("kata 08_training: write CosineSchedule.__call__")

    def state_dict(self) -> dict:
        """{"max_lr": ..., "min_lr": ..., "total_epochs": ...} as Python numbers."""
        raise NotImplementedError("kata 08_training: write CosineSchedule.state_dict")

    def load_state_dict(self, state: dict) -> None:
        """Restore a state_dict(), numbers possibly as 0-d arrays (np.load gives those)."""
        raise NotImplementedError("kata 08_training: write CosineSchedule.load_state_dict")


class Trainer:
    """Runs epochs of training and evaluation, and saves / resumes them.

    Attributes: model, optimizer, loss_fn, scheduler, grad_clip_norm; epoch (starts at 0,
    +1 after every train_epoch), step (optimizer steps taken) and history, a dict of the
    lists "train_loss", "eval_loss" and "learning_rates".
    """

    def __init__(self, model, optimizer, loss_fn, scheduler=None, grad_clip_norm=None):
        raise NotImplementedError("kata 08_training: write Trainer.__init__")

    def train_epoch(self, loader, accumulation_steps: int = 1) -> float:
        """One pass over `loader` (batches (x, y)); returns the mean of the batch losses.

        If a scheduler is set, optimizer.lr = scheduler(self.epoch) before the first batch.
        Batches form groups of accumulation_steps (the last may be shorter). Per group:
        zero_grad; per batch forward, loss, backward; the mean of the group's gradients;
        optional clipping; step. Records the loss and the lr in self.history.
        """
        raise NotImplementedError("kata 08_training: write Trainer.train_epoch")

    def evaluate(self, loader) -> tuple[float, float]:
        """(mean of the batch losses, accuracy) in eval mode and under no_grad().

        accuracy = fraction of all samples classified right: argmax over C > 1 output
        columns, or output >= 0.5 for a one-column output; targets of shape (B,) or
        (B, 1). The model's previous train/eval mode is restored.
        """
        raise NotImplementedError("kata 08_training: write Trainer.evaluate")

    def save_checkpoint(self, path) -> None:
        """Model, optimizer, scheduler, epoch, step and history, via save_checkpoint."""
        raise NotImplementedError("kata 08_training: write Trainer.save_checkpoint")

    def load_checkpoint(self, path) -> None:
        """Restore everything save_checkpoint(path) stored, so training resumes exactly."""
        raise NotImplementedError("kata 08_training: write Trainer.load_checkpoint")


def save_checkpoint(model, path, optimizer=None, scheduler=None, extra=None) -> None:
    """Write an .npz at exactly `path`: param_0, param_1, ... (model.parameters() in order),
    optimizer.<key> and scheduler.<key> (their state_dict()), extra.<key> (the dict extra).

    Atomic: write a temporary file in the same folder, then os.replace it onto `path`; a
    failed write leaves the old file intact and no temporary file. A missing folder raises
    FileNotFoundError naming `path`.
    """
    raise NotImplementedError("kata 08_training: write save_checkpoint")


def load_checkpoint(model, path, optimizer=None, scheduler=None) -> dict:
    """Load a checkpoint written by save_checkpoint into `model` (and the optimizer's and
    scheduler's state when they are given), in place; return the extra entries.

    Missing file: FileNotFoundError naming the path. Unreadable file: ValueError
    containing "not a valid checkpoint". Wrong number of parameters: ValueError naming
    both counts. A wrong shape: ValueError naming the parameter index and both shapes.
    No state for a given optimizer / scheduler: ValueError. Validate everything before
    changing anything. Each parameter keeps its Tensor object and its dtype.
    """
    raise NotImplementedError("kata 08_training: write load_checkpoint")
