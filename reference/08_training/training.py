"""Kata 08: the training loop, and what keeps it stable and resumable.

clip_grad_norm  - rescale all gradients together when their global L2 norm is too large
CosineSchedule  - a learning rate that decays from max_lr to min_lr along half a cosine
Trainer         - train_epoch / evaluate around a model, an optimizer and a loss
save_checkpoint / load_checkpoint - parameters to and from an .npz file, safely
"""
from __future__ import annotations

import math
import os
import tempfile

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.tensor import Tensor

CLIP_EPS = 1e-6  # clip_grad_norm divides by (norm + CLIP_EPS)


def _grad_array(p) -> np.ndarray:
    """A parameter's gradient as an ndarray (a Tensor-valued grad is unwrapped)."""
    g = p.grad
    return g.data if isinstance(g, Tensor) else np.asarray(g)


def clip_grad_norm(params, max_norm: float) -> float:
    """Scale every gradient by max_norm / (norm + 1e-6) when the global norm exceeds max_norm.

    norm = sqrt(sum over all parameters of sum(grad ** 2)), over parameters whose grad is
    not None. Returns that norm as measured BEFORE clipping. One global factor keeps the
    direction of the whole update; clipping each parameter alone would bend it.
    """
    with_grad = [p for p in params if p.grad is not None]  # iterate `params` once
    total = math.sqrt(sum(float(np.sum(np.square(_grad_array(p), dtype=np.float64)))
                          for p in with_grad))
    if total > max_norm:
        scale = max_norm / (total + CLIP_EPS)
        for p in with_grad:
            g = _grad_array(p)
            p.grad = (g * scale).astype(g.dtype, copy=False)
    return total


class CosineSchedule:
    """lr(epoch) = min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi * epoch / total_epochs)).

    epoch is clipped to [0, total_epochs]: max_lr at the start, min_lr from the end on.
    """

    def __init__(self, max_lr: float, min_lr: float, total_epochs: int):
        self.max_lr = float(max_lr)
        self.min_lr = float(min_lr)
        self.total_epochs = total_epochs

    def get_lr(self, epoch) -> float:
        t = min(max(float(epoch), 0.0), float(self.total_epochs))
        cosine = math.cos(math.pi * t / self.total_epochs)
        return self.min_lr + 0.5 * (self.max_lr - self.min_lr) * (1.0 + cosine)

    def __call__(self, epoch) -> float:
        return self.get_lr(epoch)


def _targets(y) -> np.ndarray:
    """Class indices as an int array (a TensorDataset hands labels back as float32)."""
    return np.asarray(y.data if isinstance(y, Tensor) else y).astype(np.int64)


class Trainer:
    def __init__(self, model, optimizer, loss_fn, scheduler=None, grad_clip_norm=None):
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.scheduler = scheduler
        self.grad_clip_norm = grad_clip_norm
        self.epoch = 0

    def train_epoch(self, loader) -> float:
        """One pass over `loader`; returns the mean of the per-batch losses."""
        if self.scheduler is not None:
            self.optimizer.lr = self.scheduler(self.epoch)
        self.model.train()
        losses = []
        for x, y in loader:
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.model(x), y)
            loss.backward()
            if self.grad_clip_norm is not None:
                clip_grad_norm(self.model.parameters(), self.grad_clip_norm)
            self.optimizer.step()
            losses.append(float(loss.data))
        self.epoch += 1
        return float(np.mean(losses))

    def evaluate(self, loader) -> tuple[float, float]:
        """(mean per-batch loss, accuracy) in eval mode without recording a graph.

        Accuracy is the fraction of all samples whose argmax over the last axis of the
        model output equals the integer target. The model's previous mode is restored.
        """
        was_training = self.model.training
        self.model.eval()
        losses, correct, total = [], 0, 0
        try:
            with no_grad():
                for x, y in loader:
                    out = self.model(x)
                    losses.append(float(self.loss_fn(out, y).data))
                    labels = _targets(y)
                    correct += int(np.sum(np.argmax(out.data, axis=-1) == labels))
                    total += labels.size
        finally:
            if was_training:
                self.model.train()
        return float(np.mean(losses)), correct / total

    def save_checkpoint(self, path) -> None:
        save_checkpoint(self.model, path)

    def load_checkpoint(self, path) -> None:
        load_checkpoint(self.model, path)


def _key(i: int) -> str:
    return f"param_{i}"


def save_checkpoint(model, path) -> None:
    """Write model.parameters() to `path` as an .npz (keys param_0, param_1, ...).

    Written to a temporary file in the same folder, then moved over `path` with
    os.replace, so a crash mid-write never leaves a half-written checkpoint behind.
    """
    path = os.fspath(path)
    arrays = {_key(i): p.data for i, p in enumerate(model.parameters())}
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load_checkpoint(model, path) -> None:
    """Load parameters saved by save_checkpoint into `model`, in place.

    Everything is validated before the first assignment, so a failed load leaves the
    model exactly as it was. Each parameter keeps its Tensor object and its dtype.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except Exception as exc:  # truncated zip, not a zip, a bad member...
        raise ValueError(f"{path} is not a valid checkpoint ({exc})") from exc
    n = len(arrays)
    if set(arrays) != {_key(i) for i in range(n)}:
        raise ValueError(f"{path} is not a valid checkpoint: expected keys param_0.."
                         f"param_{n - 1}, got {sorted(arrays)}")
    params = model.parameters()
    if n != len(params):
        raise ValueError(f"checkpoint {path} holds {n} parameters, the model has {len(params)}")
    for i, p in enumerate(params):
        saved = arrays[_key(i)]
        if saved.shape != p.data.shape:
            raise ValueError(f"parameter {i}: checkpoint shape {saved.shape} does not match "
                             f"model shape {p.data.shape}")
    for i, p in enumerate(params):
        p.data = arrays[_key(i)].astype(p.data.dtype)
