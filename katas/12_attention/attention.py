"""Kata 12: attention, every position of a sequence reading from every other.

Write the function and the class below (see README.md). Build them from Tensor
operations (`@`, `transpose`, `*` or `/`, `masked_fill`, your kata-02 `Softmax`,
`reshape`), never on `.data` with NumPy: kata 06 then differentiates them for free.
"""
from __future__ import annotations

import math

import numpy as np

from tinytorch.core.activations import Softmax
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor


def scaled_dot_product_attention(Q: Tensor, K: Tensor, V: Tensor, mask=None):
    """softmax(Q @ K^T / sqrt(d_k)) @ V over the last two axes; returns (output, weights).

    Q (..., S_q, d_k), K (..., S_k, d_k), V (..., S_k, d_v); leading axes broadcast.
    output (..., S_q, d_v); weights (..., S_q, S_k), every row summing to 1.
    mask: None, or binary (1 = attend, 0 = blocked; a Tensor, array or list) broadcasting
    to the scores' shape. Blocked keys get weight exactly 0 (score -inf before the
    softmax). ValueError for entries other than 0/1, a row with every key blocked, or a
    mask that does not broadcast.
    """
    raise NotImplementedError("kata 12_attention: write scaled_dot_product_attention")


class MultiHeadAttention(Layer):
    """num_heads heads of attention side by side, each on head_dim = embed_dim // num_heads
    features, with projections q_proj, k_proj, v_proj and out_proj.
    """

    def __init__(self, embed_dim: int, num_heads: int):
        """ValueError unless embed_dim is a positive multiple of num_heads. Stores
        embed_dim, num_heads, head_dim and creates, in this order, q_proj, k_proj, v_proj
        and out_proj: Linear(embed_dim, embed_dim) each."""
        raise NotImplementedError("kata 12_attention: write MultiHeadAttention.__init__")

    def forward(self, x: Tensor, mask=None) -> Tensor:
        """x (batch, seq, embed_dim) -> (batch, seq, embed_dim).

        Project, split into heads (B, S, D) -> (B, H, S, head_dim), attend with
        scaled_dot_product_attention, merge back to (B, S, D), project with out_proj.
        A 2-D or 3-D mask applies to every head; a 4-D mask broadcasts as it is.
        """
        raise NotImplementedError("kata 12_attention: write MultiHeadAttention.forward")
