"""Kata 13: GPT, a decoder-only transformer that predicts the next token (tinytorch.models.transformer)."""
from __future__ import annotations

import math
import numbers

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.embeddings import EmbeddingLayer
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor
from tinytorch.core.transformers import LayerNorm, TransformerBlock, create_causal_mask


def sample_next(logits: np.ndarray, temperature: float, rng) -> np.ndarray:
    """One token id per row of logits (B, V): argmax at temperature 0, else a draw from
    softmax(logits / temperature), by inverting the cumulative distribution."""
    if temperature == 0:
        return np.argmax(logits, axis=-1)
    z = np.asarray(logits, dtype=np.float64) / temperature  # float64: tiny temperatures stay finite
    z -= z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    cdf = np.cumsum(p / p.sum(axis=-1, keepdims=True), axis=-1)
    u = rng.random((len(cdf), 1))
    return np.minimum((cdf < u).sum(axis=-1), cdf.shape[-1] - 1)


class GPT(Layer):
    """tokens -> embeddings + positions -> blocks (causal) -> ln_f -> lm_head -> next-token logits."""

    def __init__(self, vocab_size: int, embed_dim: int, num_layers: int, num_heads: int,
                 max_seq_len: int = 1024):
        super().__init__()
        self.vocab_size = vocab_size
        self.embed_dim = embed_dim
        self.num_layers = num_layers
        self.num_heads = num_heads
        self.max_seq_len = max_seq_len
        self.embedding_layer = EmbeddingLayer(vocab_size, embed_dim, max_seq_len)
        self.blocks = [TransformerBlock(embed_dim, num_heads) for _ in range(num_layers)]
        self.ln_f = LayerNorm(embed_dim)
        self.lm_head = Linear(embed_dim, vocab_size, bias=False)

    def forward(self, tokens, start_pos: int = 0) -> Tensor:
        x = self.embedding_layer(tokens, start_pos)  # (B, T, D)
        mask = create_causal_mask(x.shape[-2])
        for block in self.blocks:
            x = block(x, mask)
        return self.lm_head(self.ln_f(x))

    def generate(self, prompt_tokens, max_new_tokens: int = 50, temperature: float = 1.0,
                 seed: int | None = None) -> Tensor:
        tokens = np.asarray(prompt_tokens.data if isinstance(prompt_tokens, Tensor) else prompt_tokens)
        if tokens.ndim != 2 or tokens.shape[1] == 0:
            raise ValueError(f"prompt_tokens must have shape (batch, length >= 1), got {tokens.shape}")
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, numbers.Integral) \
                or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be a non-negative int, got {max_new_tokens!r}")
        if not (isinstance(temperature, numbers.Real) and math.isfinite(temperature) and temperature >= 0):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        rng = np.random if seed is None else np.random.default_rng(seed)
        tokens = tokens.astype(np.int64)
        with no_grad():  # no graph: generation never calls backward
            for _ in range(max_new_tokens):
                window = tokens[:, -self.max_seq_len:]  # the context the positions can hold
                logits = self.forward(Tensor(window)).data[:, -1, :]
                nxt = sample_next(logits, temperature, rng)
                tokens = np.concatenate([tokens, nxt[:, None].astype(np.int64)], axis=1)
        return Tensor(tokens)
