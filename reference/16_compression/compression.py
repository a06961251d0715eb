"""Kata 16: compression, fewer weights that matter.

Magnitude pruning zeroes the smallest weights (less to store once the zeros are encoded,
no less to compute in a dense matmul); structured pruning removes whole neurons, so the
matrices really shrink; a truncated SVD factors a matrix into two thin ones with the
least error possible; distillation trains a small student on a teacher's softened
outputs.
"""
from __future__ import annotations

import math

import numpy as np

from tinytorch.core import losses  # losses.log_softmax: the name kata 06 records
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor


def _values(x) -> np.ndarray:
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _weights(model) -> list:
    """The weight parameters: every parameter with two or more dimensions (no biases)."""
    return [p for p in model.parameters() if p.data.ndim >= 2]


def measure_sparsity(model) -> float:
    """Percentage (0 to 100) of the weight entries that are exactly zero."""
    weights = _weights(model)
    total = sum(p.data.size for p in weights)
    if total == 0:
        return 0.0
    zeros = sum(p.data.size - int(np.count_nonzero(p.data)) for p in weights)
    return 100.0 * zeros / total


def magnitude_prune(model, sparsity: float = 0.9, scope: str = "global"):
    """Zero the round(sparsity * n) weights of smallest |w|, over all weights or per matrix."""
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"magnitude_prune: sparsity must be in [0, 1], got {sparsity}")
    if scope not in ("global", "layer"):
        raise ValueError(f"magnitude_prune: scope must be 'global' or 'layer', got {scope!r}")
    weights = _weights(model)
    groups = [weights] if scope == "global" else [[p] for p in weights]
    for group in groups:
        if not group:
            continue
        magnitudes = np.concatenate([np.abs(p.data).ravel() for p in group])
        k = round(sparsity * magnitudes.size)
        if k == 0:
            continue
        pruned = np.zeros(magnitudes.size, bool)
        pruned[np.argpartition(magnitudes, k - 1)[:k]] = True  # exactly k, ties cut anywhere
        start = 0
        for p in group:
            here = pruned[start:start + p.data.size].reshape(p.data.shape)
            p.data[here] = 0  # in place: the Tensor and its array stay the same objects
            start += p.data.size
    return model


def keep_pruned(optimizer):
    """From now on, every optimizer.step() leaves today's zero weights at zero."""
    masks = [(p, p.data == 0) for p in optimizer.params if p.data.ndim >= 2]
    step = type(optimizer).step  # the class's step: calling keep_pruned again does not stack

    def step_and_reprune():
        step(optimizer)
        for p, pruned in masks:
            p.data[pruned] = 0

    optimizer.step = step_and_reprune  # an instance attribute shadows the class's method
    return optimizer


def structured_prune(model, prune_ratio: float = 0.5):
    """Remove the hidden neurons whose incoming weights have the smallest L2 norms."""
    if not 0.0 <= prune_ratio < 1.0:
        raise ValueError(f"structured_prune: prune_ratio must be in [0, 1), got {prune_ratio}")
    layers = getattr(model, "layers", None)
    if not isinstance(layers, list):
        raise TypeError(f"structured_prune needs a Sequential (a model with a list of layers), "
                        f"got {type(model).__name__}")
    for i, item in enumerate(layers):
        if not isinstance(item, Linear) and isinstance(item, Layer) and item.parameters():
            raise ValueError(f"structured_prune: layers[{i}] ({type(item).__name__}) has parameters; "
                             f"between Linear layers only parameter-free layers can sit")
    linears = [item for item in layers if isinstance(item, Linear)]
    plans = []  # (layer, next layer, kept neurons), all scored on the model as given
    for layer, after in zip(linears, linears[1:]):  # the last Linear (the output) stays whole
        w = layer.weight.data
        n = w.shape[1]
        k = min(round(prune_ratio * n), n - 1)
        norms = np.sqrt(np.square(w, dtype=np.float64).sum(axis=0))
        dropped = np.argpartition(norms, k - 1)[:k] if k else np.array([], int)
        plans.append((layer, after, np.setdiff1d(np.arange(n), dropped)))  # sorted: order kept
    for layer, _, keep in plans:
        layer.weight.data = layer.weight.data[:, keep]
        if layer.bias is not None:
            layer.bias.data = layer.bias.data[keep]
        layer.out_features = int(keep.size)
    for _, after, keep in plans:
        after.weight.data = after.weight.data[keep, :]
        after.in_features = int(keep.size)
    return model


def low_rank_approximate(weight_matrix, rank_ratio: float = 0.5, rank: int | None = None):
    """(U, S, V) of the truncated SVD: U @ diag(S) @ V is the best rank-k approximation."""
    w = _values(weight_matrix)
    if w.ndim != 2:
        raise ValueError(f"low_rank_approximate: needs a 2-D matrix, got shape {w.shape}")
    full = min(w.shape)
    if rank is None:
        if not 0.0 < rank_ratio <= 1.0:
            raise ValueError(f"low_rank_approximate: rank_ratio must be in (0, 1], got {rank_ratio}")
        rank = max(1, round(rank_ratio * full))
    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 1 <= rank <= full:
        raise ValueError(f"low_rank_approximate: rank must be an int in [1, {full}], got {rank!r}")
    u, s, vt = np.linalg.svd(w, full_matrices=False)  # singular values in descending order
    return u[:, :rank], s[:rank], vt[:rank, :]


class KnowledgeDistillation:
    """A student learns from a teacher's softened outputs and from the true labels."""

    def __init__(self, teacher_model, student_model, temperature: float = 3.0, alpha: float = 0.7):
        if not (math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be finite and positive, got {temperature}")
        if not 0.0 <= alpha <= 1.0:  # NaN fails this too
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        self.teacher_model = teacher_model
        self.student_model = student_model
        self.temperature = temperature
        self.alpha = alpha

    def distillation_loss(self, student_logits, teacher_logits, true_labels):
        """alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(student, labels)."""
        s = student_logits
        t = _values(teacher_logits)
        if s.data.ndim != 2 or t.shape != s.data.shape:
            raise ValueError(f"distillation_loss: student logits {s.data.shape} and teacher logits "
                             f"{t.shape} must be the same (batch, classes) shape")
        temp = self.temperature
        # The teacher is a constant: its softened log-probabilities, computed from its values.
        teacher_log_p = losses.log_softmax(Tensor(t.astype(s.data.dtype) / temp)).data
        teacher_p = Tensor(np.exp(teacher_log_p))
        student_log_p = losses.log_softmax(s / temp)  # recorded: gradients reach the student
        soft = (teacher_p * (Tensor(teacher_log_p) - student_log_p)).sum(axis=-1).mean()
        hard = losses.CrossEntropyLoss()(s, true_labels)
        # T^2 keeps the soft term's gradients at the hard term's scale (they shrink as 1/T^2).
        return soft * (self.alpha * temp * temp) + hard * (1.0 - self.alpha)
