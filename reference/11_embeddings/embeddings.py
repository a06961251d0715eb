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
import numbers

import numpy as np

from tinytorch.core.autograd import Function, record
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor

POS_ENCODINGS = ("learned", "sinusoidal", None)


def _check_size(name: str, value) -> int:
    """A size argument: a positive int (bools are not sizes)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _token_ids(indices, vocab_size: int) -> np.ndarray:
    """The ids as an int64 array, after checking they are whole numbers in [0, vocab_size)."""
    raw = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
    if raw.dtype == bool or not (np.issubdtype(raw.dtype, np.integer)
                                 or np.issubdtype(raw.dtype, np.floating)):
        raise ValueError(f"token ids must be whole numbers, got an array of {raw.dtype}")
    if np.issubdtype(raw.dtype, np.floating):
        whole = np.isfinite(raw) & (raw == np.floor(raw))
        if not np.all(whole):
            bad = float(raw[~whole].flat[0])
            raise ValueError(f"token ids must be whole numbers, got {bad!r}")
    bad = (raw < 0) | (raw >= vocab_size)
    if np.any(bad):  # also rejects negative ids, which NumPy would quietly wrap around
        first = int(raw[bad].flat[0])
        raise ValueError(f"token id {first} is out of range for vocab_size={vocab_size} "
                         f"(valid ids: 0 to {vocab_size - 1})")
    return raw.astype(np.int64)


class EmbeddingFunction(Function):
    """out = weight[indices]      dweight = zeros, with each row of g ADDED at its id.

    A repeated id collects the gradient of every position that looked it up: `np.add.at`
    accumulates, whereas `dw[indices] += g` keeps only one of the repeats.
    """

    def backward(self, grad):
        (weight,) = self.inputs
        grad = np.asarray(grad)
        dw = np.zeros(weight.shape, dtype=np.result_type(weight.dtype, grad.dtype))
        np.add.at(dw, self.indices, grad)
        return (dw,)


class Embedding(Layer):
    """A learnable lookup table: token id -> row of `weight` (vocab_size, embed_dim)."""

    def __init__(self, vocab_size: int, embed_dim: int):
        super().__init__()
        self.vocab_size = _check_size("vocab_size", vocab_size)
        self.embed_dim = _check_size("embed_dim", embed_dim)
        limit = math.sqrt(6.0 / (self.vocab_size + self.embed_dim))  # Xavier uniform
        w = np.random.uniform(-limit, limit, size=(self.vocab_size, self.embed_dim))
        self.weight = Tensor(w.astype(np.float32), requires_grad=True)

    def forward(self, indices) -> Tensor:
        ids = _token_ids(indices, self.vocab_size)
        out = Tensor(np.take(self.weight.data, ids, axis=0))  # ids.shape + (embed_dim,): a copy
        return record(out, EmbeddingFunction, (self.weight,), indices=ids)

    def __repr__(self) -> str:
        return f"Embedding(vocab_size={self.vocab_size}, embed_dim={self.embed_dim})"


def _check_start(start_pos) -> int:
    if isinstance(start_pos, bool) or not isinstance(start_pos, numbers.Integral) or start_pos < 0:
        raise ValueError(f"start_pos must be a non-negative int, got {start_pos!r}")
    return int(start_pos)


def _check_length(start_pos: int, seq_len: int, max_seq_len: int) -> None:
    if start_pos + seq_len > max_seq_len:
        raise ValueError(f"positions {start_pos} to {start_pos + seq_len - 1} do not fit: "
                         f"max_seq_len={max_seq_len} (start_pos={start_pos}, seq_len={seq_len})")


class PositionalEncoding(Layer):
    """Learned positions: row t of `position_embeddings` is added to the token at position t."""

    def __init__(self, max_seq_len: int, embed_dim: int):
        super().__init__()
        self.max_seq_len = _check_size("max_seq_len", max_seq_len)
        self.embed_dim = _check_size("embed_dim", embed_dim)
        limit = math.sqrt(2.0 / self.embed_dim)
        p = np.random.uniform(-limit, limit, size=(self.max_seq_len, self.embed_dim))
        self.position_embeddings = Tensor(p.astype(np.float32), requires_grad=True)

    def forward(self, x: Tensor, start_pos: int = 0) -> Tensor:
        if len(x.shape) != 3:
            raise ValueError(f"PositionalEncoding expects x of shape (batch, seq_len, embed_dim), "
                             f"got shape {x.shape}")
        _, seq_len, embed_dim = x.shape
        if embed_dim != self.embed_dim:
            raise ValueError(f"x has embed_dim {embed_dim}, this encoding has "
                             f"embed_dim={self.embed_dim}")
        start = _check_start(start_pos)
        _check_length(start, seq_len, self.max_seq_len)
        # Tensor ops (slice, then add), so the gradient reaches the table: re-wrapping
        # .data here would cut the positions out of the graph.
        return x + self.position_embeddings[start:start + seq_len]

    def __repr__(self) -> str:
        return f"PositionalEncoding(max_seq_len={self.max_seq_len}, embed_dim={self.embed_dim})"


def create_sinusoidal_embeddings(max_seq_len: int, embed_dim: int) -> Tensor:
    """PE[p, 2i] = sin(p * w_i), PE[p, 2i+1] = cos(p * w_i), w_i = 10000 ** (-2i / embed_dim).

    A float32 Tensor (max_seq_len, embed_dim) without gradient; computed in float64 so the
    angles of far positions stay accurate, then stored as float32.
    """
    max_seq_len = _check_size("max_seq_len", max_seq_len)
    embed_dim = _check_size("embed_dim", embed_dim)
    pos = np.arange(max_seq_len, dtype=np.float64)[:, None]  # (max_seq_len, 1)
    even = np.arange(0, embed_dim, 2, dtype=np.float64)  # 2i for each sin column
    angles = pos * np.power(10000.0, -even / embed_dim)  # (max_seq_len, ceil(embed_dim / 2))
    table = np.empty((max_seq_len, embed_dim), dtype=np.float64)
    table[:, 0::2] = np.sin(angles)
    table[:, 1::2] = np.cos(angles[:, : embed_dim // 2])  # odd embed_dim: no cos for the last
    return Tensor(table.astype(np.float32))


class EmbeddingLayer(Layer):
    """Token embedding (scaled by sqrt(embed_dim) if asked) plus positions, in one layer."""

    def __init__(self, vocab_size: int, embed_dim: int, max_seq_len: int = 512,
                 pos_encoding: str | None = "learned", scale_embeddings: bool = False):
        super().__init__()
        if not any(pos_encoding is c or pos_encoding == c for c in POS_ENCODINGS):
            raise ValueError(f"pos_encoding must be 'learned', 'sinusoidal' or None, "
                             f"got {pos_encoding!r}")
        self.vocab_size = _check_size("vocab_size", vocab_size)
        self.embed_dim = _check_size("embed_dim", embed_dim)
        self.max_seq_len = _check_size("max_seq_len", max_seq_len)
        self.pos_encoding_type = pos_encoding
        self.scale_embeddings = bool(scale_embeddings)
        self.token_embedding = Embedding(vocab_size, embed_dim)
        if pos_encoding == "learned":
            self.pos_encoding = PositionalEncoding(max_seq_len, embed_dim)
        elif pos_encoding == "sinusoidal":
            self.pos_encoding = create_sinusoidal_embeddings(max_seq_len, embed_dim)
        else:
            self.pos_encoding = None

    def forward(self, tokens, start_pos: int = 0) -> Tensor:
        ids = np.asarray(tokens.data if isinstance(tokens, Tensor) else tokens)
        if ids.ndim not in (1, 2):
            raise ValueError(f"tokens must have shape (seq_len,) or (batch, seq_len), "
                             f"got shape {ids.shape}")
        single = ids.ndim == 1
        x = self.token_embedding(ids[None, :] if single else ids)  # (batch, seq_len, embed_dim)
        if self.scale_embeddings:
            x = x * math.sqrt(self.embed_dim)
        if self.pos_encoding_type == "learned":
            x = self.pos_encoding(x, start_pos)
        elif self.pos_encoding_type == "sinusoidal":
            start = _check_start(start_pos)
            _check_length(start, ids.shape[-1], self.max_seq_len)
            x = x + self.pos_encoding[start:start + ids.shape[-1]]  # a constant: no gradient
        return x[0] if single else x

    def __repr__(self) -> str:
        return (f"EmbeddingLayer(vocab_size={self.vocab_size}, embed_dim={self.embed_dim}, "
                f"max_seq_len={self.max_seq_len}, pos_encoding={self.pos_encoding_type!r}, "
                f"scale_embeddings={self.scale_embeddings})")
