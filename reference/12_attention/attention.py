"""Kata 12: attention, every position of a sequence reading from every other.

Built from Tensor operations only (matmul, transpose, masked_fill, kata 02's Softmax,
reshape), so kata 06 differentiates it without a Function of its own.
"""
from __future__ import annotations

import math

import numpy as np

from tinytorch.core.activations import Softmax
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor

MASK_VALUE = float("-inf")  # exp(-inf) is exactly 0: a blocked key gets no weight at all


def _blocked(mask, scores_shape: tuple) -> np.ndarray:
    """The positions a binary mask (1 = attend, 0 = block) hides, as a bool array of the
    scores' shape; ValueError for anything that is not such a mask."""
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if m.dtype != bool and not np.all((m == 0) | (m == 1)):
        bad = m[(m != 0) & (m != 1)].flat[0]
        raise ValueError(f"attention mask entries must be 1 (attend) or 0 (block), got {bad!r}: "
                         f"pass a binary mask, not an additive one")
    try:
        allowed = np.broadcast_to(m != 0, scores_shape)
    except ValueError:
        raise ValueError(f"attention mask of shape {m.shape} does not broadcast to the "
                         f"scores' shape {scores_shape}") from None
    if not np.all(allowed.any(axis=-1)):
        raise ValueError("every query must be allowed at least one key: a row of the mask "
                         "is all 0 (its softmax would be 0/0)")
    return ~allowed


def scaled_dot_product_attention(Q: Tensor, K: Tensor, V: Tensor, mask=None):
    """softmax(Q K^T / sqrt(d_k), masked) @ V over the last two axes.

    Q (..., S_q, d_k), K (..., S_k, d_k), V (..., S_k, d_v), leading axes broadcast;
    returns (output (..., S_q, d_v), weights (..., S_q, S_k)).
    """
    d_k = Q.shape[-1]
    # A Python float keeps float32 float32 (an np.float64 scale would promote it).
    scores = (Q @ K.transpose(-2, -1)) * (1.0 / math.sqrt(d_k))
    if mask is not None:
        scores = scores.masked_fill(_blocked(mask, scores.shape), MASK_VALUE)
    weights = Softmax(dim=-1)(scores)
    return weights @ V, weights


class MultiHeadAttention(Layer):
    """num_heads attention heads side by side, each on embed_dim // num_heads features."""

    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__()
        if num_heads < 1 or embed_dim % num_heads:
            raise ValueError(f"embed_dim={embed_dim} must be a positive multiple of "
                             f"num_heads={num_heads}")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = Linear(embed_dim, embed_dim)
        self.k_proj = Linear(embed_dim, embed_dim)
        self.v_proj = Linear(embed_dim, embed_dim)
        self.out_proj = Linear(embed_dim, embed_dim)

    def _split_heads(self, x: Tensor, batch: int, seq: int) -> Tensor:
        """(B, S, D) -> (B, H, S, head_dim): each head sees every position."""
        return x.reshape(batch, seq, self.num_heads, self.head_dim).transpose(1, 2)

    def _merge_heads(self, x: Tensor, batch: int, seq: int) -> Tensor:
        """(B, H, S, head_dim) -> (B, S, D), the heads side by side again."""
        return x.transpose(1, 2).reshape(batch, seq, self.embed_dim)

    def forward(self, x: Tensor, mask=None) -> Tensor:
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"MultiHeadAttention({self.embed_dim}, {self.num_heads}) expects "
                             f"x of shape (batch, seq, {self.embed_dim}), got {x.shape}")
        batch, seq, _ = x.shape
        q = self._split_heads(self.q_proj(x), batch, seq)
        k = self._split_heads(self.k_proj(x), batch, seq)
        v = self._split_heads(self.v_proj(x), batch, seq)
        if mask is not None:
            mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
            if mask.ndim == 3:  # (B or 1, S, S): the same mask for every head
                mask = mask[:, None, :, :]
        attended, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.out_proj(self._merge_heads(attended, batch, seq))
