"""Kata 16: compression. Read katas/16_compression/README.md first.

The weights of a model are its parameters with two or more dimensions (biases are not
weights here). Replace every `raise NotImplementedError` with your code.
"""
from __future__ import annotations

import math  # noqa: F401

import numpy as np  # noqa: F401

from tinytorch.core import losses  # noqa: F401  (call losses.log_softmax through the module)
from tinytorch.core.layers import Layer, Linear  # noqa: F401
from tinytorch.core.tensor import Tensor  # noqa: F401


def measure_sparsity(model) -> float:
    """100 * (weight entries equal to 0) / (weight entries), a float; 0.0 without weights."""
    raise NotImplementedError("kata 16_compression: write measure_sparsity")


def magnitude_prune(model, sparsity=0.9, scope="global"):
    """Zero exactly round(sparsity * n) weights of smallest |w| (over all weights for
    scope="global", per weight matrix for scope="layer"), in place; return model."""
    raise NotImplementedError("kata 16_compression: write magnitude_prune")


def keep_pruned(optimizer):
    """Make every later optimizer.step() put back to zero the entries of the 2-D+
    parameters that are zero now; return the same optimizer."""
    raise NotImplementedError("kata 16_compression: write keep_pruned")


def structured_prune(model, prune_ratio=0.5):
    """In a Sequential, remove from every Linear but the last the
    min(round(prune_ratio * out), out - 1) output neurons of smallest incoming L2 norm,
    with the matching rows of the next Linear; in place; return model."""
    raise NotImplementedError("kata 16_compression: write structured_prune")


def low_rank_approximate(weight_matrix, rank_ratio=0.5, rank=None):
    """(U, S, V): the truncated SVD of rank `rank`, or max(1, round(rank_ratio * min(m, n)))."""
    raise NotImplementedError("kata 16_compression: write low_rank_approximate")


class KnowledgeDistillation:
    """alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))
    + (1 - alpha) * CrossEntropy(student, labels)."""

    def __init__(self, teacher_model, student_model, temperature=3.0, alpha=0.7):
        raise NotImplementedError("kata 16_compression: write KnowledgeDistillation.__init__")

    def distillation_loss(self, student_logits, teacher_logits, true_labels):
        raise NotImplementedError("kata 16_compression: write KnowledgeDistillation.distillation_loss")
