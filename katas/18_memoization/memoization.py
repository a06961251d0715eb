"""Kata 18: memoization, the KV cache (linked as tinytorch.perf.memoization).

Read katas/18_memoization/README.md first: it is the contract. Replace every
`raise NotImplementedError` with your code, then run `pytest katas/18_memoization`.
"""
from __future__ import annotations

import math

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor


class KVCache:
    """Per layer, a key buffer and a value buffer of shape (batch, heads, max_seq_len, head_dim)."""

    def __init__(self, batch_size: int, max_seq_len: int, num_layers: int, num_heads: int,
                 head_dim: int):
        """Store the five sizes (positive ints, else ValueError), seq_pos = 0, and
        `caches`: one (key_cache, value_cache) pair of float32 zero Tensors per layer."""
        raise NotImplementedError("kata 18_memoization: write KVCache.__init__")

    def update(self, layer_idx: int, key, value):
        """Write key and value (batch, heads, T, head_dim) at positions seq_pos .. seq_pos+T-1
        of layer layer_idx; return its (keys, values) of positions 0 .. seq_pos+T-1.
        seq_pos does not move. ValueError for a bad layer, a bad shape or an overflow
        (naming max_seq_len)."""
        raise NotImplementedError("kata 18_memoization: write KVCache.update")

    def get(self, layer_idx: int):
        """The (keys, values) of positions 0 .. seq_pos-1 of one layer."""
        raise NotImplementedError("kata 18_memoization: write KVCache.get")

    def advance(self, num_tokens: int = 1) -> None:
        """seq_pos += num_tokens; ValueError (naming max_seq_len) past the end."""
        raise NotImplementedError("kata 18_memoization: write KVCache.advance")

    def reset(self) -> None:
        """seq_pos back to 0 and every buffer back to zeros."""
        raise NotImplementedError("kata 18_memoization: write KVCache.reset")

    def memory_usage(self) -> int:
        """Bytes of the key and value buffers (float32)."""
        raise NotImplementedError("kata 18_memoization: write KVCache.memory_usage")


class CachedAttention(Layer):
    """Stands in for one block's MultiHeadAttention while the cache is enabled."""

    def __init__(self, attention, cache: KVCache, layer_idx: int):
        """Call Layer's __init__, then store the three arguments as attributes (the original
        attention after Layer's __init__, so that parameters() finds its weights)."""
        raise NotImplementedError("kata 18_memoization: write CachedAttention.__init__")

    def forward(self, x: Tensor, mask=None) -> Tensor:
        """x (B, T, embed_dim): the new tokens at positions cache.seq_pos ..; project them,
        cache.update their keys and values, attend causally over everything update returns,
        merge the heads, out_proj. No advance, no graph; mask is ignored."""
        raise NotImplementedError("kata 18_memoization: write CachedAttention.forward")


def enable_kv_cache(model, batch_size: int = 1) -> KVCache:
    """Wrap every block's attention of this model in a CachedAttention; return the cache
    (also kept as model._kv_cache)."""
    raise NotImplementedError("kata 18_memoization: write enable_kv_cache")


def disable_kv_cache(model) -> None:
    """Put the original attention objects back; model._kv_cache = None."""
    raise NotImplementedError("kata 18_memoization: write disable_kv_cache")


def generate_cached(model, prompt_tokens, max_new_tokens: int = 50, temperature: float = 1.0,
                    seed: int | None = None) -> Tensor:
    """What model.generate returns, token for token, with one token of work per step.
    ValueError (naming max_seq_len) when P + max_new_tokens - 1 > max_seq_len."""
    raise NotImplementedError("kata 18_memoization: write generate_cached")
