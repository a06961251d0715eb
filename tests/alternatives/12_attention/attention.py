"""Kata 12, written apart from the reference: queries scaled before the product, a large
finite fill for blocked keys, and heads computed one at a time, with the output projection
applied head by head (each head times its block of rows of out_proj's weight) instead of
merging the heads first."""
import math

import numpy as np

from tinytorch.core.activations import Softmax
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor

NEG = -1e9


def _mask_array(mask):
    if isinstance(mask, Tensor):
        return np.array(mask.data)
    return np.array(mask)


def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = (Q * (1.0 / math.sqrt(K.shape[-1]))).matmul(K.transpose(-1, -2))
    if mask is not None:
        m = _mask_array(mask)
        ok = (m == 0) | (m == 1) if m.dtype != np.bool_ else np.ones(m.shape, bool)
        if not ok.all():
            raise ValueError("mask must be binary (0 or 1)")
        if np.broadcast_shapes(m.shape, scores.shape) != tuple(scores.shape):
            raise ValueError(f"mask {m.shape} vs scores {scores.shape}")
        keep = np.broadcast_to(m.astype(bool), scores.shape)
        if (keep.sum(axis=-1) == 0).any():
            raise ValueError("a query has no key to attend to")
        scores = scores.masked_fill(np.logical_not(keep), NEG)
    attn = Softmax()(scores, dim=-1)
    return attn.matmul(V), attn


class MultiHeadAttention(Layer):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        if not (num_heads > 0 and embed_dim > 0 and embed_dim % num_heads == 0):
            raise ValueError(f"cannot split embed_dim {embed_dim} into {num_heads} heads")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.head_dim = self.embed_dim // self.num_heads
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            setattr(self, name, Linear(embed_dim, embed_dim))

    def forward(self, x, mask=None):
        if len(x.shape) != 3 or x.shape[2] != self.embed_dim:
            raise ValueError(f"expected (batch, seq, {self.embed_dim}), got {x.shape}")
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        m = None if mask is None else _mask_array(mask)
        out = None
        for h in range(self.num_heads):
            cols = slice(h * self.head_dim, (h + 1) * self.head_dim)
            mh = m
            if m is not None and m.ndim == 4:
                mh = m[:, h if m.shape[1] > 1 else 0]
            head, _ = scaled_dot_product_attention(q[:, :, cols], k[:, :, cols], v[:, :, cols], mh)
            part = head @ self.out_proj.weight[cols]
            out = part if out is None else out + part
        return out + self.out_proj.bias
