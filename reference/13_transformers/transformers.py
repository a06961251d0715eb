"""Kata 13: the transformer block, the unit that GPT stacks.

LayerNorm has a Function of its own (one node in the graph instead of about ten, and a
backward written once); MLP and TransformerBlock are built from layers you already have.
"""
from __future__ import annotations

import numpy as np

from tinytorch.core.activations import GELU
from tinytorch.core.attention import MultiHeadAttention
from tinytorch.core.autograd import Function, record
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor


class LayerNormFunction(Function):
    """y = gamma * xhat + beta, xhat = (x - mean) / sqrt(var + eps) over the last axis.

    dgamma = g * xhat, dbeta = g (the engine sums them over the leading axes);
    dx = inv * (gx - mean(gx) - xhat * mean(gx * xhat)) with gx = g * gamma,
    because xhat's mean and variance both depend on every x of the row.
    """

    def backward(self, grad):
        x, gamma, beta = self.inputs
        xhat, inv = self.xhat, self.inv
        gx = grad * gamma.data
        dx = inv * (gx - gx.mean(axis=-1, keepdims=True)
                    - xhat * (gx * xhat).mean(axis=-1, keepdims=True))
        return dx, grad * xhat, grad


class LayerNorm(Layer):
    """Normalise each vector along the last axis to mean 0 and variance 1, then scale and shift."""

    def __init__(self, normalized_shape: int, eps: float = 1e-5):
        super().__init__()
        self.normalized_shape = normalized_shape
        self.eps = eps
        self.gamma = Tensor(np.ones(normalized_shape, dtype=np.float32), requires_grad=True)
        self.beta = Tensor(np.zeros(normalized_shape, dtype=np.float32), requires_grad=True)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.normalized_shape:
            raise ValueError(f"LayerNorm({self.normalized_shape}) expects a last axis of size "
                             f"{self.normalized_shape}, got shape {x.shape}")
        data = x.data
        centred = data - data.mean(axis=-1, keepdims=True)  # two passes: no cancellation
        var = (centred * centred).mean(axis=-1, keepdims=True)  # biased, as PyTorch
        inv = 1.0 / np.sqrt(var + self.eps)  # eps a Python float: float32 stays float32
        xhat = centred * inv
        out = Tensor(self.gamma.data * xhat + self.beta.data)
        return record(out, LayerNormFunction, (x, self.gamma, self.beta), xhat=xhat, inv=inv)


class MLP(Layer):
    """linear2(gelu(linear1(x))): each position on its own, embed_dim -> hidden_dim -> embed_dim."""

    def __init__(self, embed_dim: int, hidden_dim: int | None = None):
        super().__init__()
        self.embed_dim = embed_dim
        self.hidden_dim = 4 * embed_dim if hidden_dim is None else hidden_dim
        self.linear1 = Linear(embed_dim, self.hidden_dim)
        self.gelu = GELU()
        self.linear2 = Linear(self.hidden_dim, embed_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear2(self.gelu(self.linear1(x)))


class TransformerBlock(Layer):
    """Pre-norm block: x + attention(ln1(x)), then + mlp(ln2(.)); the residual path is clean."""

    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio: float = 4, ff_dim: int | None = None):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.attention = MultiHeadAttention(embed_dim, num_heads)
        self.ln1 = LayerNorm(embed_dim)
        self.ln2 = LayerNorm(embed_dim)
        self.mlp = MLP(embed_dim, ff_dim if ff_dim is not None else int(embed_dim * mlp_ratio))

    def forward(self, x: Tensor, mask=None) -> Tensor:
        x = x + self.attention(self.ln1(x), mask)
        return x + self.mlp(self.ln2(x))


def create_causal_mask(seq_len: int) -> Tensor:
    """(1, seq_len, seq_len) float32: 1 where key j <= query i (may attend), 0 above."""
    return Tensor(np.tril(np.ones((seq_len, seq_len), dtype=np.float32))[None])
