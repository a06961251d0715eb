"""Kata 13, written apart from the reference: LayerNorm from Tensor operations only (autograd
derives its backward), the causal mask from index comparisons."""
import numpy as np

from tinytorch.core.activations import GELU
from tinytorch.core.attention import MultiHeadAttention
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor


class LayerNorm(Layer):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.normalized_shape, self.eps = normalized_shape, eps
        self.gamma = Tensor(np.ones((normalized_shape,), np.float32), requires_grad=True)
        self.beta = Tensor(np.zeros((normalized_shape,), np.float32), requires_grad=True)

    def forward(self, x):
        if len(x.shape) < 1 or x.shape[-1] != self.normalized_shape:
            raise ValueError(f"expected last axis {self.normalized_shape}, got {x.shape}")
        centred = x - x.mean(axis=-1, keepdims=True)
        var = (centred * centred).mean(axis=-1, keepdims=True)
        return centred / (var + self.eps) ** 0.5 * self.gamma + self.beta


class MLP(Layer):
    def __init__(self, embed_dim, hidden_dim=None):
        super().__init__()
        self.embed_dim = embed_dim
        self.hidden_dim = hidden_dim if hidden_dim is not None else embed_dim * 4
        self.linear1 = Linear(embed_dim, self.hidden_dim)
        self.gelu = GELU()
        self.linear2 = Linear(self.hidden_dim, embed_dim)

    def forward(self, x):
        h = self.linear1.forward(x)
        return self.linear2.forward(self.gelu.forward(h))


class TransformerBlock(Layer):
    def __init__(self, embed_dim, num_heads, mlp_ratio=4, ff_dim=None):
        super().__init__()
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.attention = MultiHeadAttention(embed_dim, num_heads)
        self.ln1 = LayerNorm(embed_dim)
        self.ln2 = LayerNorm(embed_dim)
        self.mlp = MLP(embed_dim, int(embed_dim * mlp_ratio) if ff_dim is None else ff_dim)

    def forward(self, x, mask=None):
        attended = self.attention.forward(self.ln1.forward(x), mask)
        h = attended + x
        return self.mlp.forward(self.ln2.forward(h)) + h


def create_causal_mask(seq_len):
    i = np.arange(seq_len)
    return Tensor((i[None, :] <= i[:, None]).astype(np.float32).reshape(1, seq_len, seq_len))
