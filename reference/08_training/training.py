"""Kata 08: the training loop, and what keeps it stable and resumable.

clip_grad_norm  - rescale all gradients together when their global L2 norm is too large
CosineSchedule  - a learning rate that decays from max_lr to min_lr along half a cosine
Trainer         - train_epoch (with gradient accumulation) / evaluate, history, checkpoints
save_checkpoint / load_checkpoint - parameters, optimizer and scheduler state and extras
                  to and from an .npz file, safely (atomic writes, no pickle)
"""
from __future__ import annotations

import math
import os
import tempfile

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.tensor import Tensor

CLIP_EPS = 1e-6  # clip_grad_norm divides by (norm + CLIP_EPS)
PARTS = ("optimizer.", "scheduler.", "extra.")  # key prefixes of a checkpoint besides param_i
TRAINER_EXTRA = ("epoch", "step", "train_loss", "eval_loss", "learning_rates")


def _grad_array(p) -> np.ndarray:
    """A parameter's gradient as an ndarray (a Tensor-valued grad is unwrapped)."""
    g = p.grad
    return g.data if isinstance(g, Tensor) else np.asarray(g)


def clip_grad_norm(params, max_norm: float = 1.0) -> float:
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


def _number(value, kind=float):
    """A Python number from a number, a NumPy scalar or a 0-d array (np.load gives those)."""
    return kind(np.asarray(value).item())


class CosineSchedule:
    """lr(epoch) = min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi * epoch / total_epochs)).

    epoch is clipped to [0, total_epochs]: max_lr at the start, min_lr from the end on.
    """

    def __init__(self, max_lr: float = 0.1, min_lr: float = 0.01, total_epochs: int = 100):
        self.max_lr = float(max_lr)
        self.min_lr = float(min_lr)
        self.total_epochs = total_epochs

    def get_lr(self, epoch) -> float:
        t = min(max(float(epoch), 0.0), float(self.total_epochs))
        cosine = math.cos(math.pi * t / self.total_epochs)
        return self.min_lr + 0.5 * (self.max_lr - self.min_lr) * (1.0 + cosine)

    def __call__(self, epoch) -> float:
        return self.get_lr(epoch)

    def state_dict(self) -> dict:
        return {"max_lr": self.max_lr, "min_lr": self.min_lr, "total_epochs": self.total_epochs}

    def load_state_dict(self, state: dict) -> None:
        max_lr, min_lr = _number(state["max_lr"]), _number(state["min_lr"])
        total_epochs = _number(state["total_epochs"], int)
        self.max_lr, self.min_lr, self.total_epochs = max_lr, min_lr, total_epochs


def _labels(y) -> np.ndarray:
    """Class labels as a flat int array: (B,) or (B, 1) targets, possibly float32."""
    return np.asarray(y.data if isinstance(y, Tensor) else y).reshape(-1).astype(np.int64)


def _predicted(out) -> np.ndarray:
    """Predicted classes, shape (B,): argmax over C > 1 classes, else output >= 0.5."""
    z = np.asarray(out.data if isinstance(out, Tensor) else out)
    if z.ndim >= 2 and z.shape[-1] > 1:
        return np.argmax(z, axis=-1).reshape(-1)
    return (z.reshape(-1) >= 0.5).astype(np.int64)  # one column: P(class 1)


class Trainer:
    def __init__(self, model, optimizer, loss_fn, scheduler=None, grad_clip_norm=None):
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.scheduler = scheduler
        self.grad_clip_norm = grad_clip_norm
        self.epoch = 0
        self.step = 0  # optimizer steps taken
        self.history = {"train_loss": [], "eval_loss": [], "learning_rates": []}

    def _update(self, batches: int) -> None:
        """One optimizer step on the mean of the gradients of `batches` accumulated batches."""
        if batches > 1:
            for p in self.model.parameters():
                if p.grad is not None:
                    p.grad = _grad_array(p) / batches
        if self.grad_clip_norm is not None:
            clip_grad_norm(self.model.parameters(), self.grad_clip_norm)
        self.optimizer.step()
        self.step += 1

    def train_epoch(self, loader, accumulation_steps: int = 1) -> float:
        """One pass over `loader`; returns the mean of the per-batch losses."""
        if self.scheduler is not None:
            self.optimizer.lr = self.scheduler(self.epoch)
        self.model.train()
        losses, in_group = [], 0
        for x, y in loader:
            if in_group == 0:
                self.optimizer.zero_grad()
            loss = self.loss_fn(self.model(x), y)
            loss.backward()  # adds to .grad: the group's gradients accumulate
            losses.append(float(loss.data))
            in_group += 1
            if in_group == accumulation_steps:
                self._update(in_group)
                in_group = 0
        if in_group:  # a shorter last group still takes its step
            self._update(in_group)
        mean = float(np.mean(losses))
        self.history["train_loss"].append(mean)
        self.history["learning_rates"].append(float(self.optimizer.lr))
        self.epoch += 1
        return mean

    def evaluate(self, loader) -> tuple[float, float]:
        """(mean per-batch loss, accuracy over all samples) in eval mode, without a graph.

        The model's previous mode is restored, also when a batch raises.
        """
        was_training = self.model.training
        self.model.eval()
        losses, correct, total = [], 0, 0
        try:
            with no_grad():
                for x, y in loader:
                    out = self.model(x)
                    losses.append(float(self.loss_fn(out, y).data))
                    labels = _labels(y)
                    correct += int(np.sum(_predicted(out) == labels))
                    total += labels.size
        finally:
            if was_training:
                self.model.train()
        loss = float(np.mean(losses))
        self.history["eval_loss"].append(loss)
        return loss, correct / total

    def _stateful_scheduler(self):
        return self.scheduler if hasattr(self.scheduler, "state_dict") else None

    def save_checkpoint(self, path) -> None:
        extra = {"epoch": self.epoch, "step": self.step}
        extra.update({k: np.asarray(v, dtype=np.float64) for k, v in self.history.items()})
        save_checkpoint(self.model, path, optimizer=self.optimizer,
                        scheduler=self._stateful_scheduler(), extra=extra)

    def load_checkpoint(self, path) -> None:
        arrays = _read(path)
        missing = [k for k in TRAINER_EXTRA if "extra." + k not in arrays]
        if missing:
            raise ValueError(f"{path} is not a Trainer checkpoint: no {missing}")
        extra = _load(self.model, arrays, path, self.optimizer, self._stateful_scheduler())
        self.epoch, self.step = _number(extra["epoch"], int), _number(extra["step"], int)
        self.history = {k: [float(v) for v in np.asarray(extra[k]).reshape(-1)]
                        for k in ("train_loss", "eval_loss", "learning_rates")}


def save_checkpoint(model, path, optimizer=None, scheduler=None, extra=None) -> None:
    """Write the parameters (param_0, param_1, ...), the optimizer's and the scheduler's
    state (optimizer.<key>, scheduler.<key>) and `extra` (extra.<key>) to `path` as .npz.

    Written to a temporary file in the same folder, then moved over `path` with
    os.replace, so a crash mid-write never leaves a half-written checkpoint behind.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot save the checkpoint {path}: the folder {folder} "
                                f"does not exist")
    arrays = {f"param_{i}": p.data for i, p in enumerate(model.parameters())}
    for prefix, part in (("optimizer.", optimizer), ("scheduler.", scheduler)):
        if part is not None:
            arrays.update({prefix + k: v for k, v in part.state_dict().items()})
    arrays.update({"extra." + k: v for k, v in (extra or {}).items()})
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".checkpoint-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _read(path) -> dict:
    """Every array of a checkpoint file, its keys checked; the documented errors otherwise."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except Exception as exc:  # truncated zip, not a zip, a bad member...
        raise ValueError(f"{path} is not a valid checkpoint ({exc})") from exc
    params = [k for k in arrays if not k.startswith(PARTS)]
    if set(params) != {f"param_{i}" for i in range(len(params))}:
        raise ValueError(f"{path} is not a valid checkpoint: expected keys param_0.. and "
                         f"optimizer./scheduler./extra. entries, got {sorted(arrays)}")
    return arrays


def _part(arrays: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _load(model, arrays: dict, path, optimizer=None, scheduler=None) -> dict:
    """Validate everything, then assign; returns the extra entries."""
    params = model.parameters()
    n = sum(1 for k in arrays if not k.startswith(PARTS))
    if n != len(params):
        raise ValueError(f"checkpoint {path} holds {n} parameters, the model has {len(params)}")
    for i, p in enumerate(params):
        saved = arrays[f"param_{i}"]
        if saved.shape != p.data.shape:
            raise ValueError(f"parameter {i}: checkpoint shape {saved.shape} does not match "
                             f"model shape {p.data.shape}")
    states = []
    for name, part in (("optimizer", optimizer), ("scheduler", scheduler)):
        if part is not None:
            state = _part(arrays, name + ".")
            if not state:
                raise ValueError(f"checkpoint {path} holds no {name} state")
            states.append((part, state, part.state_dict()))
    try:  # each load_state_dict validates before assigning; roll back the earlier ones
        for part, state, _ in states:
            part.load_state_dict(state)
    except BaseException:
        for part, _, before in states:
            part.load_state_dict(before)
        raise
    for i, p in enumerate(params):
        p.data = arrays[f"param_{i}"].astype(p.data.dtype)
    return _part(arrays, "extra.")


def load_checkpoint(model, path, optimizer=None, scheduler=None) -> dict:
    """Load a checkpoint written by save_checkpoint into `model` (and, when given, the state
    of `optimizer` and `scheduler`), in place; returns its extra entries.

    Everything is validated before the first assignment, so a failed load leaves every
    object exactly as it was. Each parameter keeps its Tensor object and its dtype.
    """
    return _load(model, _read(path), os.fspath(path), optimizer, scheduler)
