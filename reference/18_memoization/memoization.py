"""Kata 18: memoization, the KV cache that makes generation one token of work per step.

At step t a GPT recomputes the keys and values of every earlier token, although they
never change. The cache keeps them: each step projects only the new token, writes its key
and value into preallocated buffers, and attends over everything written so far.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


class KVCache:
    """Per layer, a key buffer and a value buffer of shape (batch, heads, max_seq_len, head_dim)."""

    def __init__(self, batch_size: int, max_seq_len: int, num_layers: int, num_heads: int,
                 head_dim: int):
        self.batch_size = _positive_int("batch_size", batch_size)
        self.max_seq_len = _positive_int("max_seq_len", max_seq_len)
        self.num_layers = _positive_int("num_layers", num_layers)
        self.num_heads = _positive_int("num_heads", num_heads)
        self.head_dim = _positive_int("head_dim", head_dim)
        self.seq_pos = 0
        shape = (self.batch_size, self.num_heads, self.max_seq_len, self.head_dim)
        # Allocated once: a step writes into them, it never grows or copies them.
        self.caches = [(Tensor(np.zeros(shape, np.float32)), Tensor(np.zeros(shape, np.float32)))
                       for _ in range(self.num_layers)]

    def _layer(self, layer_idx) -> int:
        if isinstance(layer_idx, bool) or not isinstance(layer_idx, numbers.Integral) \
                or not 0 <= layer_idx < self.num_layers:
            raise ValueError(f"layer_idx must be an int in [0, {self.num_layers - 1}] "
                             f"(num_layers={self.num_layers}), got {layer_idx!r}")
        return int(layer_idx)

    def update(self, layer_idx: int, key, value):
        """Write key and value (batch, heads, T, head_dim) at positions seq_pos .. seq_pos+T-1
        of one layer; return that layer's keys and values of positions 0 .. seq_pos+T-1."""
        layer = self._layer(layer_idx)
        k = np.asarray(key.data if isinstance(key, Tensor) else key)
        v = np.asarray(value.data if isinstance(value, Tensor) else value)
        b, h, d = self.batch_size, self.num_heads, self.head_dim
        for name, a in (("key", k), ("value", v)):
            if a.ndim != 4 or a.shape[0] != b or a.shape[1] != h or a.shape[3] != d or a.shape[2] < 1:
                raise ValueError(f"{name} must have shape ({b}, {h}, T >= 1, {d}) "
                                 f"(batch, heads, new tokens, head_dim), got {a.shape}")
        if k.shape != v.shape:
            raise ValueError(f"key and value must have the same shape, got {k.shape} and {v.shape}")
        end = self.seq_pos + k.shape[2]
        if end > self.max_seq_len:
            raise ValueError(f"KV cache overflow: {self.seq_pos} tokens cached + {k.shape[2]} new "
                             f"do not fit in max_seq_len={self.max_seq_len}; reset() it or make a "
                             f"larger cache")
        keys, values = self.caches[layer]
        keys.data[:, :, self.seq_pos:end] = k
        values.data[:, :, self.seq_pos:end] = v
        return Tensor(keys.data[:, :, :end]), Tensor(values.data[:, :, :end])

    def get(self, layer_idx: int):
        """The keys and values of positions 0 .. seq_pos-1 of one layer (what was advanced past)."""
        keys, values = self.caches[self._layer(layer_idx)]
        return Tensor(keys.data[:, :, :self.seq_pos]), Tensor(values.data[:, :, :self.seq_pos])

    def advance(self, num_tokens: int = 1) -> None:
        """Every layer has written these tokens: make them part of the history."""
        n = _positive_int("num_tokens", num_tokens)
        if self.seq_pos + n > self.max_seq_len:
            raise ValueError(f"KV cache overflow: cannot advance {n} past {self.seq_pos} tokens, "
                             f"max_seq_len={self.max_seq_len}")
        self.seq_pos += n

    def reset(self) -> None:
        """Empty: position 0 and every buffer zeroed (no key of the last sequence survives)."""
        self.seq_pos = 0
        for keys, values in self.caches:
            keys.data[...] = 0
            values.data[...] = 0

    def memory_usage(self) -> int:
        """Bytes of the key and value buffers: 2 * layers * batch * heads * max_seq_len * head_dim * 4."""
        return 2 * self.num_layers * self.batch_size * self.num_heads * self.max_seq_len \
            * self.head_dim * np.dtype(np.float32).itemsize


class CachedAttention(Layer):
    """Stands in for one block's MultiHeadAttention while the cache is enabled: projects the
    new tokens only, stores their keys and values, attends over all cached positions."""

    def __init__(self, attention, cache: KVCache, layer_idx: int):
        super().__init__()
        self.attention = attention  # the original layer: its weights, and what disable puts back
        self.cache = cache
        self.layer_idx = layer_idx

    def forward(self, x: Tensor, mask=None) -> Tensor:
        att, cache = self.attention, self.cache
        batch, seq, dim = x.shape
        heads, head_dim = att.num_heads, att.head_dim

        def split(t):  # (B, T, D) -> (B, H, T, head_dim): head h owns features h*hd .. (h+1)*hd-1
            return t.data.reshape(batch, seq, heads, head_dim).transpose(0, 2, 1, 3)

        with no_grad():  # inference only: the cache holds values, never a graph
            q = split(att.q_proj(x))
            keys, values = cache.update(self.layer_idx, split(att.k_proj(x)), split(att.v_proj(x)))
            keys, values = keys.data, values.data
            scores = (q @ keys.transpose(0, 1, 3, 2)) * (1.0 / math.sqrt(head_dim))  # (B, H, T, S)
            # The block's mask covers the T new tokens only; with a cache, new token i sits at
            # position seq_pos + i and sees every key up to there (the current one included).
            start = cache.seq_pos
            future = np.arange(keys.shape[2])[None, :] > (start + np.arange(seq))[:, None]
            scores = np.where(future, -np.inf, scores)
            weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
            weights /= weights.sum(axis=-1, keepdims=True)
            merged = (weights @ values).transpose(0, 2, 1, 3).reshape(batch, seq, dim)
            return att.out_proj(Tensor(merged.astype(x.dtype, copy=False)))


def enable_kv_cache(model, batch_size: int = 1) -> KVCache:
    """Give a GPT a KV cache: every block's attention becomes a CachedAttention (on this
    model instance only). Returns the cache, also kept as model._kv_cache."""
    if getattr(model, "_kv_cache", None) is not None:
        disable_kv_cache(model)  # enabling twice starts from the original attention again
    dim, heads = model.embed_dim, model.num_heads
    if dim % heads:
        raise ValueError(f"embed_dim={dim} must be a multiple of num_heads={heads}")
    cache = KVCache(batch_size, model.max_seq_len, len(model.blocks), heads, dim // heads)
    for i, block in enumerate(model.blocks):
        block.attention = CachedAttention(block.attention, cache, i)
    model._kv_cache = cache
    return cache


def disable_kv_cache(model) -> None:
    """Put every block's original attention back and drop the cache (nothing if not enabled)."""
    for block in model.blocks:
        if isinstance(block.attention, CachedAttention):
            block.attention = block.attention.attention
    model._kv_cache = None


def generate_cached(model, prompt_tokens, max_new_tokens: int = 50, temperature: float = 1.0,
                    seed: int | None = None) -> Tensor:
    """model.generate with a KV cache: the same tokens, one token of work per step.

    It runs the model's own generate (its sampling, its checks) with, for this call, a
    forward that feeds the model only the tokens the cache does not hold yet and returns
    the logits of the whole window (earlier rows kept from earlier steps).
    """
    tokens = np.asarray(prompt_tokens.data if isinstance(prompt_tokens, Tensor) else prompt_tokens)
    if tokens.ndim != 2 or tokens.shape[1] == 0:
        raise ValueError(f"prompt_tokens must have shape (batch, length >= 1), got {tokens.shape}")
    batch, length = tokens.shape
    if isinstance(max_new_tokens, numbers.Integral) and not isinstance(max_new_tokens, bool) \
            and length + max_new_tokens - 1 > model.max_seq_len:
        # The last new token is never fed back: the cache must hold length + max_new_tokens - 1.
        raise ValueError(f"generate_cached: a prompt of {length} tokens + {max_new_tokens} new ones "
                         f"need {length + max_new_tokens - 1} cached positions, more than "
                         f"max_seq_len={model.max_seq_len}; the cache cannot slide its window "
                         f"(use model.generate)")
    cache = getattr(model, "_kv_cache", None)
    own = cache is None  # enabled here: disabled again at the end
    if own:
        cache = enable_kv_cache(model, batch)
    elif cache.batch_size != batch:
        raise ValueError(f"generate_cached: the model's KV cache has batch_size={cache.batch_size}, "
                         f"the prompt has {batch} rows")
    else:
        cache.reset()
    fed = np.zeros((batch, model.max_seq_len), np.int64)  # the ids the cache holds
    logits = None  # (B, max_seq_len, vocab): a step fills new rows, it never recomputes old ones

    def cached_forward(window, start_pos=0):
        nonlocal logits
        ids = np.asarray(window.data if isinstance(window, Tensor) else window).astype(np.int64)
        done, end = cache.seq_pos, ids.shape[1]
        if start_pos != 0 or end <= done or not np.array_equal(ids[:, :done], fed[:, :done]):
            raise ValueError("generate_cached: the window no longer extends the cached tokens")
        step = type(model).forward(model, Tensor(ids[:, done:]), start_pos=done).data
        if logits is None:
            logits = np.zeros((batch, model.max_seq_len, step.shape[-1]), step.dtype)
        logits[:, done:end] = step
        fed[:, done:end] = ids[:, done:]
        cache.advance(end - done)
        return Tensor(logits[:, :end])

    model.forward = cached_forward  # an instance attribute: this model only, this call only
    try:
        return model.generate(prompt_tokens, max_new_tokens, temperature, seed)
    finally:
        del model.forward
        if own:
            disable_kv_cache(model)
