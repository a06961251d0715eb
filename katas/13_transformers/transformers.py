"""Kata 13: the transformer block, the unit that GPT stacks (see README.md).

Write the classes and the function below. MLP and TransformerBlock are built from your
layers; LayerNorm either from Tensor operations (autograd differentiates it) or with a
Function of its own, recorded with kata 06's `record` (the skeleton below is there if you
choose that; delete it otherwise).
"""
from __future__ import annotations

import numpy as np

from tinytorch.core.activations import GELU
from tinytorch.core.attention import MultiHeadAttention
from tinytorch.core.autograd import Function, record
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor


class LayerNormFunction(Function):
    """Optional: LayerNorm's own backward, one gradient per input (x, gamma, beta)."""

    def backward(self, grad):
        raise NotImplementedError("kata 13_transformers: write LayerNormFunction.backward "
                                  "(or build LayerNorm from Tensor operations)")


class LayerNorm(Layer):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta along the last axis (biased variance).

    gamma: ones, beta: zeros, both (normalized_shape,) float32 with requires_grad=True,
    created in this order. ValueError when x's last axis is not normalized_shape.
    """

    def __init__(self, normalized_shape: int, eps: float = 1e-5):
        raise NotImplementedError("kata 13_transformers: write LayerNorm.__init__")

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError("kata 13_transformers: write LayerNorm.forward")


class MLP(Layer):
    """linear2(gelu(linear1(x))): Linear(embed_dim, hidden_dim), GELU(), Linear(hidden_dim,
    embed_dim), created in this order; hidden_dim None means 4 * embed_dim."""

    def __init__(self, embed_dim: int, hidden_dim: int | None = None):
        raise NotImplementedError("kata 13_transformers: write MLP.__init__")

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError("kata 13_transformers: write MLP.forward")


class TransformerBlock(Layer):
    """Pre-norm: h = x + attention(ln1(x), mask); out = h + mlp(ln2(h)).

    Creates attention (MultiHeadAttention), ln1, ln2 (LayerNorm) and mlp (MLP with
    ff_dim hidden units if given, else int(embed_dim * mlp_ratio)), in this order.
    """

    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio: float = 4, ff_dim: int | None = None):
        raise NotImplementedError("kata 13_transformers: write TransformerBlock.__init__")

    def forward(self, x: Tensor, mask=None) -> Tensor:
        raise NotImplementedError("kata 13_transformers: write TransformerBlock.forward")


def create_causal_mask(seq_len: int) -> Tensor:
    """(1, seq_len, seq_len) float32 Tensor: 1 where key j <= query i, 0 above the diagonal."""
    raise NotImplementedError("kata 13_transformers: write create_causal_mask")
