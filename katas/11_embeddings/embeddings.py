"""Kata 11: embeddings, from token ids to vectors a network can learn from.

Embedding            - a (vocab_size, embed_dim) table; a lookup gathers one row per id,
                       its backward scatter-adds the upstream gradient into those rows
EmbeddingFunction    - the recorded lookup (kata 06's Function): the scatter-add lives here
PositionalEncoding   - a learned (max_seq_len, embed_dim) table added position by position
create_sinusoidal_embeddings - the fixed sin/cos table of "Attention Is All You Need"
EmbeddingLayer       - token lookup (optionally scaled by sqrt(embed_dim)) plus positions

Read README.md in this folder for the exact contract.
"""
from __future__ import annotations

import math

import numpy as np

from tinytorch.core.autograd import Function, record
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor


class EmbeddingFunction(Function):
    """out = weight[indices]  (recorded with indices=<int64 array> as an attribute).

    backward(grad) -> (dweight,): zeros of the weight's shape, with grad[..., :] ADDED into
    row indices[...] for every position (a repeated id collects every contribution).
    Must not modify grad.
    """

    def backward(self, grad):
        raise NotImplementedError("kata 11_embeddings: write EmbeddingFunction.backward")


class Embedding(Layer):
    """A learnable lookup table: token id -> row of `weight` (vocab_size, embed_dim)."""

    def __init__(self, vocab_size: int, embed_dim: int):
        """Store vocab_size and embed_dim (positive ints, else ValueError) and `weight`:
        a float32 Tensor (vocab_size, embed_dim), requires_grad=True, drawn with
        np.random.uniform(-a, a) where a = sqrt(6 / (vocab_size + embed_dim))."""
        raise NotImplementedError("kata 11_embeddings: write Embedding.__init__")

    def forward(self, indices) -> Tensor:
        """Rows of self.weight for each id: shape indices.shape + (embed_dim,).

        indices: a Tensor, an int or whole-float ndarray, a nested list or an int.
        ValueError for ids that are not whole numbers, and for ids outside
        [0, vocab_size) (the message contains `vocab_size=<V>` and one bad id).
        Record the result: record(out, EmbeddingFunction, (self.weight,), indices=ids).
        """
        raise NotImplementedError("kata 11_embeddings: write Embedding.forward")


class PositionalEncoding(Layer):
    """Learned positions: row t of `position_embeddings` is added to the token at position t."""

    def __init__(self, max_seq_len: int, embed_dim: int):
        """Store max_seq_len and embed_dim (positive ints) and `position_embeddings`: a
        float32 Tensor (max_seq_len, embed_dim), requires_grad=True, drawn with
        np.random.uniform(-b, b) where b = sqrt(2 / embed_dim)."""
        raise NotImplementedError("kata 11_embeddings: write PositionalEncoding.__init__")

    def forward(self, x: Tensor, start_pos: int = 0) -> Tensor:
        """x (batch, seq_len, embed_dim) + position_embeddings[start_pos:start_pos + seq_len].

        With Tensor operations, so gradients reach x and the table. ValueError when x is
        not 3-D, when x.shape[-1] != embed_dim, when start_pos is not a non-negative int,
        and when start_pos + seq_len > max_seq_len (message contains `max_seq_len=<M>`).
        """
        raise NotImplementedError("kata 11_embeddings: write PositionalEncoding.forward")


def create_sinusoidal_embeddings(max_seq_len: int, embed_dim: int) -> Tensor:
    """A float32 Tensor (max_seq_len, embed_dim), requires_grad=False:
    PE[p, 2i] = sin(p * w_i), PE[p, 2i + 1] = cos(p * w_i), w_i = 10000 ** (-2i / embed_dim).
    An odd embed_dim ends with a sine column. Sizes must be positive ints (ValueError)."""
    raise NotImplementedError("kata 11_embeddings: write create_sinusoidal_embeddings")


class EmbeddingLayer(Layer):
    """Token embedding (scaled by sqrt(embed_dim) if asked) plus positions, in one layer."""

    def __init__(self, vocab_size: int, embed_dim: int, max_seq_len: int = 512,
                 pos_encoding: str | None = "learned", scale_embeddings: bool = False):
        """Store the arguments (pos_encoding as `pos_encoding_type`), `token_embedding`
        (an Embedding) and `pos_encoding`: a PositionalEncoding ("learned"), the sinusoidal
        Tensor ("sinusoidal") or None (None). Any other pos_encoding: ValueError."""
        raise NotImplementedError("kata 11_embeddings: write EmbeddingLayer.__init__")

    def forward(self, tokens, start_pos: int = 0) -> Tensor:
        """tokens (batch, seq_len) -> (batch, seq_len, embed_dim); (seq_len,) -> (seq_len, embed_dim).

        token_embedding(tokens), times sqrt(embed_dim) if scale_embeddings, plus position
        rows start_pos .. start_pos + seq_len - 1 (learned or sinusoidal; none for None).
        ValueError for other numbers of dimensions, and (with positions) when
        start_pos + seq_len > max_seq_len (message contains `max_seq_len=<M>`).
        """
        raise NotImplementedError("kata 11_embeddings: write EmbeddingLayer.forward")
