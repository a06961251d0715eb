"""An independent solution of kata 16 with other legitimate choices: ties broken by a
stable sort (earlier weights go first), pruned arrays rebuilt with np.where, masks kept
as float multipliers around the optimizer's own bound step, boolean neuron masks, the
SVD taken through a QR factorization, and the hard loss indexed out of log_softmax."""
from __future__ import annotations

import math

import numpy as np

from tinytorch.core import losses
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor


def _mats(model):
    return [p for p in model.parameters() if len(p.shape) > 1]


def measure_sparsity(model):
    mats = _mats(model)
    if not mats:
        return 0.0
    flat = np.concatenate([m.data.reshape(-1) for m in mats])
    return float(np.sum(flat == 0)) / flat.size * 100.0


def _prune_group(group, sparsity):
    sizes = [p.data.size for p in group]
    flat = np.concatenate([np.abs(p.data).reshape(-1) for p in group])
    k = int(round(sparsity * flat.size))
    order = np.argsort(flat, kind="stable")
    drop = np.zeros(flat.size, dtype=bool)
    drop[order[:k]] = True
    offset = 0
    for p, size in zip(group, sizes):
        mask = drop[offset:offset + size].reshape(p.data.shape)
        p.data = np.where(mask, np.zeros((), p.data.dtype), p.data)
        offset += size


def magnitude_prune(model, sparsity=0.9, scope="global"):
    if not (sparsity >= 0.0 and sparsity <= 1.0):
        raise ValueError("sparsity must lie in [0, 1]")
    if scope == "global":
        groups = [_mats(model)]
    elif scope == "layer":
        groups = [[p] for p in _mats(model)]
    else:
        raise ValueError("scope is 'global' or 'layer'")
    for group in groups:
        if group:
            _prune_group(group, sparsity)
    return model


def keep_pruned(optimizer):
    keep = [(p, (p.data != 0).astype(p.data.dtype)) for p in optimizer.params if len(p.shape) >= 2]
    inner = optimizer.step

    def step():
        inner()
        for p, m in keep:
            p.data *= m

    optimizer.step = step
    return optimizer


def structured_prune(model, prune_ratio=0.5):
    if not (prune_ratio >= 0.0 and prune_ratio < 1.0):
        raise ValueError("prune_ratio must lie in [0, 1)")
    if not hasattr(model, "layers") or not isinstance(model.layers, list):
        raise TypeError("structured_prune works on a Sequential")
    for pos, item in enumerate(model.layers):
        if isinstance(item, Layer) and not isinstance(item, Linear) and len(item.parameters()) > 0:
            raise ValueError(f"layers[{pos}] has parameters but is not a Linear")
    lins = [item for item in model.layers if isinstance(item, Linear)]
    masks = []
    for lin in lins[:-1]:
        n = lin.weight.shape[1]
        k = min(int(round(prune_ratio * n)), n - 1)
        score = np.linalg.norm(lin.weight.data.astype(np.float64), axis=0)
        alive = np.ones(n, dtype=bool)
        alive[np.argsort(score, kind="stable")[:k]] = False
        masks.append(alive)
    for i, alive in enumerate(masks):
        lin, nxt = lins[i], lins[i + 1]
        lin.weight.data = np.ascontiguousarray(lin.weight.data[:, alive])
        if lin.bias is not None:
            lin.bias.data = np.ascontiguousarray(lin.bias.data[alive])
        lin.out_features = int(alive.sum())
        nxt.weight.data = np.ascontiguousarray(nxt.weight.data[alive])
        nxt.in_features = int(alive.sum())
    return model


def low_rank_approximate(weight_matrix, rank_ratio=0.5, rank=None):
    w = weight_matrix.data if isinstance(weight_matrix, Tensor) else np.asarray(weight_matrix)
    if len(w.shape) != 2:
        raise ValueError("low_rank_approximate needs a matrix")
    m, n = w.shape
    limit = min(m, n)
    if rank is None:
        if not (rank_ratio > 0 and rank_ratio <= 1):
            raise ValueError("rank_ratio must lie in (0, 1]")
        k = max(1, int(round(rank_ratio * limit)))
    else:
        if type(rank) is not int and not isinstance(rank, np.integer):
            raise ValueError("rank must be an int")
        k = int(rank)
        if k < 1 or k > limit:
            raise ValueError("rank out of range")
    if m >= n:  # W = Q R, R small and square: its SVD gives W's
        q, r = np.linalg.qr(w)
        a, s, vt = np.linalg.svd(r)
        u = q @ a
    else:
        q, r = np.linalg.qr(w.T)
        a, s, vt2 = np.linalg.svd(r)
        u, vt = vt2.T, (q @ a).T
    return (np.ascontiguousarray(u[:, :k]), np.ascontiguousarray(s[:k]),
            np.ascontiguousarray(vt[:k]))


class KnowledgeDistillation:
    def __init__(self, teacher_model, student_model, temperature=3.0, alpha=0.7):
        if not math.isfinite(temperature) or temperature <= 0:
            raise ValueError("temperature must be finite and positive")
        if not (alpha >= 0 and alpha <= 1):
            raise ValueError("alpha must be between 0 and 1")
        self.teacher_model = teacher_model
        self.student_model = student_model
        self.temperature = temperature
        self.alpha = alpha

    def distillation_loss(self, student_logits, teacher_logits, true_labels):
        teacher = teacher_logits.data if isinstance(teacher_logits, Tensor) else np.asarray(teacher_logits)
        if len(student_logits.shape) != 2 or tuple(teacher.shape) != tuple(student_logits.shape):
            raise ValueError("teacher and student logits must share one (N, C) shape")
        T = float(self.temperature)
        z = teacher.astype(student_logits.dtype) / T
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        p = np.exp(log_p)
        n = student_logits.shape[0]
        log_q = losses.log_softmax(student_logits * (1.0 / T), dim=-1)
        kl = (Tensor(p * log_p).sum() - (Tensor(p) * log_q).sum()) * (1.0 / n)
        labels = np.asarray(getattr(true_labels, "data", true_labels)).astype(np.int64).reshape(-1)
        log_s = losses.log_softmax(student_logits, dim=-1)
        hard = log_s[np.arange(n), labels].sum() * (-1.0 / n)
        return kl * (self.alpha * T ** 2) + hard * (1 - self.alpha)
