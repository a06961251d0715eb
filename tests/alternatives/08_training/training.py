"""Kata 08, written apart from the reference with other legitimate choices: the global norm
comes from one concatenated float64 vector and ndarray gradients are scaled in place (a
Tensor gradient stays a Tensor), accumulation keeps its own running sum of gradient copies
(zero_grad before every batch), checkpoints are compressed (np.savez_compressed through a
NamedTemporaryFile), and keys are checked with a regular expression."""
from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.tensor import Tensor

_PARAM = re.compile(r"param_(\d+)")
_PREFIXES = ("optimizer.", "scheduler.", "extra.")


def _raw(g):
    return g.data if isinstance(g, Tensor) else g


def clip_grad_norm(params, max_norm=1.0):
    ps = [p for p in params if p.grad is not None]
    if not ps:
        return 0.0
    flat = np.concatenate([np.asarray(_raw(p.grad), dtype=np.float64).ravel() for p in ps])
    norm = float(np.sqrt(flat @ flat))
    if norm > max_norm:
        factor = max_norm / (norm + 1e-6)
        for p in ps:
            g = _raw(p.grad)
            if isinstance(p.grad, Tensor):
                p.grad.data = (g * factor).astype(g.dtype)
            else:
                p.grad = (np.asarray(g) * factor).astype(np.asarray(g).dtype)
    return norm


def _scalar(x, kind):
    return kind(np.asarray(x).reshape(()))


class CosineSchedule:
    def __init__(self, max_lr=0.1, min_lr=0.01, total_epochs=100):
        self.max_lr, self.min_lr, self.total_epochs = max_lr, min_lr, total_epochs

    def get_lr(self, epoch):
        e = min(max(epoch, 0), self.total_epochs)
        half = (1.0 + math.cos(math.pi * e / self.total_epochs)) / 2.0
        return float(self.min_lr + (self.max_lr - self.min_lr) * half)

    __call__ = get_lr

    def state_dict(self):
        return {"max_lr": float(self.max_lr), "min_lr": float(self.min_lr),
                "total_epochs": int(self.total_epochs)}

    def load_state_dict(self, state):
        new = (_scalar(state["max_lr"], float), _scalar(state["min_lr"], float),
               _scalar(state["total_epochs"], int))
        self.max_lr, self.min_lr, self.total_epochs = new


def _predictions(z):
    z = np.asarray(z)
    if z.ndim == 1 or z.shape[-1] == 1:
        return np.where(z.reshape(len(z)) >= 0.5, 1, 0)
    return z.argmax(axis=-1)


class Trainer:
    def __init__(self, model, optimizer, loss_fn, scheduler=None, grad_clip_norm=None):
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.scheduler, self.grad_clip_norm = scheduler, grad_clip_norm
        self.epoch = 0
        self.step = 0
        self.history = dict(train_loss=[], eval_loss=[], learning_rates=[])

    def _apply(self, sums, count):
        for p in self.model.parameters():
            total = sums.get(id(p))
            p.grad = None if total is None else (total / count).astype(p.data.dtype)
        if self.grad_clip_norm is not None:
            clip_grad_norm(self.model.parameters(), self.grad_clip_norm)
        self.optimizer.step()
        self.step += 1

    def train_epoch(self, loader, accumulation_steps=1):
        if self.scheduler is not None:
            self.optimizer.lr = self.scheduler(self.epoch)
        self.model.train()
        batch_losses, sums, count = [], {}, 0
        for x, y in loader:
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.model(x), y)
            loss.backward()
            batch_losses.append(float(np.asarray(loss.data)))
            for p in self.model.parameters():
                if p.grad is not None:
                    g = np.array(_raw(p.grad), dtype=np.float64)
                    sums[id(p)] = g if id(p) not in sums else sums[id(p)] + g
            count += 1
            if count == accumulation_steps:
                self._apply(sums, count)
                sums, count = {}, 0
        if count:
            self._apply(sums, count)
        result = sum(batch_losses) / len(batch_losses)
        self.history["train_loss"].append(result)
        self.history["learning_rates"].append(float(self.optimizer.lr))
        self.epoch += 1
        return result

    def evaluate(self, loader):
        mode = self.model.training
        self.model.eval()
        try:
            batch_losses, hits, seen = [], 0, 0
            with no_grad():
                for x, y in loader:
                    out = self.model(x)
                    batch_losses.append(float(np.asarray(self.loss_fn(out, y).data)))
                    target = np.ravel(np.asarray(_raw(y))).astype(np.int64)
                    hits += int((_predictions(_raw(out)) == target).sum())
                    seen += target.shape[0]
        finally:
            if mode:
                self.model.train()
        result = sum(batch_losses) / len(batch_losses)
        self.history["eval_loss"].append(result)
        return result, hits / seen

    def _schedule_with_state(self):
        return self.scheduler if callable(getattr(self.scheduler, "state_dict", None)) else None

    def save_checkpoint(self, path):
        extra = {"epoch": self.epoch, "step": self.step}
        for key, values in self.history.items():
            extra[key] = np.array(values, dtype=np.float64)
        save_checkpoint(self.model, path, self.optimizer, self._schedule_with_state(), extra)

    def load_checkpoint(self, path):
        keys = set(_open(path))
        needed = ["extra." + k for k in ("epoch", "step", "train_loss", "eval_loss", "learning_rates")]
        if not all(k in keys for k in needed):
            raise ValueError(f"{path}: not a Trainer checkpoint")
        extra = load_checkpoint(self.model, path, self.optimizer, self._schedule_with_state())
        self.epoch = _scalar(extra["epoch"], int)
        self.step = _scalar(extra["step"], int)
        self.history = {k: np.asarray(extra[k], dtype=np.float64).ravel().tolist()
                        for k in ("train_loss", "eval_loss", "learning_rates")}


def save_checkpoint(model, path, optimizer=None, scheduler=None, extra=None):
    target = Path(os.fspath(path))
    if not target.parent.absolute().is_dir():
        raise FileNotFoundError(f"save_checkpoint({os.fspath(path)!r}): no folder "
                                f"{target.parent.absolute()}")
    entries = {}
    for i, p in enumerate(model.parameters()):
        entries[f"param_{i}"] = p.data
    if optimizer is not None:
        for k, v in optimizer.state_dict().items():
            entries["optimizer." + k] = v
    if scheduler is not None:
        for k, v in scheduler.state_dict().items():
            entries["scheduler." + k] = v
    for k, v in (extra or {}).items():
        entries["extra." + k] = v
    tmp = tempfile.NamedTemporaryFile(dir=target.parent.absolute(), prefix=target.name + ".",
                                      suffix=".part", delete=False)
    try:
        with tmp:
            np.savez_compressed(tmp, **entries)
        os.replace(tmp.name, target)
    except BaseException:
        try:
            os.unlink(tmp.name)
        except FileNotFoundError:
            pass
        raise


def _open(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            entries = dict(data.items())
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"{path}: not a valid checkpoint") from exc
    indices = []
    for key in entries:
        match = _PARAM.fullmatch(key)
        if match:
            indices.append(int(match.group(1)))
        elif not key.startswith(_PREFIXES):
            raise ValueError(f"{path}: not a valid checkpoint (unknown entry {key!r})")
    if sorted(indices) != list(range(len(indices))):
        raise ValueError(f"{path}: not a valid checkpoint (parameters {sorted(indices)})")
    return entries


def load_checkpoint(model, path, optimizer=None, scheduler=None):
    entries = _open(path)
    params = model.parameters()
    count = sum(1 for k in entries if _PARAM.fullmatch(k))
    if count != len(params):
        raise ValueError(f"{count} parameters in the checkpoint, {len(params)} in the model")
    for i, p in enumerate(params):
        if entries[f"param_{i}"].shape != p.data.shape:
            raise ValueError(f"parameter {i}: checkpoint shape {entries[f'param_{i}'].shape}, "
                             f"model shape {p.data.shape}")
    parts = []
    for prefix, obj in (("optimizer.", optimizer), ("scheduler.", scheduler)):
        if obj is None:
            continue
        state = {k[len(prefix):]: v for k, v in entries.items() if k.startswith(prefix)}
        if not state:
            raise ValueError(f"{path} has no {prefix[:-1]} state")
        parts.append((obj, state))
    done = []
    try:
        for obj, state in parts:
            backup = obj.state_dict()
            obj.load_state_dict(state)
            done.append((obj, backup))
    except BaseException:
        for obj, backup in reversed(done):
            obj.load_state_dict(backup)
        raise
    for i, p in enumerate(params):
        p.data = np.array(entries[f"param_{i}"], dtype=p.data.dtype)
    return {k[len("extra."):]: v for k, v in entries.items() if k.startswith("extra.")}
