"""An independent kata-18 solution: kata 12's attention with a rectangular mask instead of
NumPy softmax, np.copyto writes, and a cached forward that returns only the new rows."""
from __future__ import annotations

import numpy as np

from tinytorch.core.attention import scaled_dot_product_attention
from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor


def _check_size(**sizes):
    for name, v in sizes.items():
        if type(v) is bool or not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"{name}={v!r}: expected a positive int")


class KVCache:
    def __init__(self, batch_size, max_seq_len, num_layers, num_heads, head_dim):
        _check_size(batch_size=batch_size, max_seq_len=max_seq_len, num_layers=num_layers,
                    num_heads=num_heads, head_dim=head_dim)
        self.batch_size, self.max_seq_len = int(batch_size), int(max_seq_len)
        self.num_layers, self.num_heads, self.head_dim = int(num_layers), int(num_heads), int(head_dim)
        self.seq_pos = 0
        self.caches = []
        for _ in range(self.num_layers):
            block = np.zeros((2, self.batch_size, self.num_heads, self.max_seq_len, self.head_dim), np.float32)
            self.caches.append([Tensor(block[0]), Tensor(block[1])])

    def _pair(self, layer_idx):
        if not isinstance(layer_idx, (int, np.integer)) or isinstance(layer_idx, bool) \
                or layer_idx < 0 or layer_idx >= self.num_layers:
            raise ValueError(f"no layer {layer_idx!r}: the cache has {self.num_layers}")
        return self.caches[layer_idx]

    def update(self, layer_idx, key, value):
        k_buf, v_buf = self._pair(layer_idx)
        key, value = getattr(key, "data", key), getattr(value, "data", value)
        want = (self.batch_size, self.num_heads, self.head_dim)
        if np.ndim(key) != 4 or np.shape(key) != np.shape(value) \
                or (key.shape[0], key.shape[1], key.shape[3]) != want or key.shape[2] == 0:
            raise ValueError(f"bad key/value shapes {np.shape(key)}, {np.shape(value)}")
        t = key.shape[2]
        if self.seq_pos + t > self.max_seq_len:
            raise ValueError(f"cache full: seq_pos={self.seq_pos} + {t} exceeds max_seq_len={self.max_seq_len}")
        np.copyto(k_buf.data[:, :, self.seq_pos:self.seq_pos + t], key, casting="same_kind")
        np.copyto(v_buf.data[:, :, self.seq_pos:self.seq_pos + t], value, casting="same_kind")
        n = self.seq_pos + t
        return Tensor(k_buf.data[:, :, :n].copy()), Tensor(v_buf.data[:, :, :n].copy())

    def get(self, layer_idx):
        k_buf, v_buf = self._pair(layer_idx)
        return Tensor(k_buf.data[:, :, :self.seq_pos].copy()), Tensor(v_buf.data[:, :, :self.seq_pos].copy())

    def advance(self, num_tokens=1):
        _check_size(num_tokens=num_tokens)
        if self.seq_pos + num_tokens > self.max_seq_len:
            raise ValueError(f"cannot advance to {self.seq_pos + num_tokens}: max_seq_len={self.max_seq_len}")
        self.seq_pos += int(num_tokens)

    def reset(self):
        for k_buf, v_buf in self.caches:
            k_buf.data.fill(0)
            v_buf.data.fill(0)
        self.seq_pos = 0

    def memory_usage(self):
        return int(sum(t.data.nbytes for pair in self.caches for t in pair))


class CachedAttention(Layer):
    def __init__(self, attention, cache, layer_idx):
        super().__init__()
        self.attention = attention
        self.cache = cache
        self.layer_idx = layer_idx

    def forward(self, x, mask=None):
        a = self.attention
        b, t, _ = x.shape
        with no_grad():
            def heads(y):
                return y.reshape(b, t, a.num_heads, a.head_dim).transpose(1, 2)

            q, k, v = heads(a.q_proj(x)), heads(a.k_proj(x)), heads(a.v_proj(x))
            keys, values = self.cache.update(self.layer_idx, k, v)
            s = keys.shape[2]
            first = s - t  # position of the first new token
            allowed = np.tril(np.ones((t, s), np.float32), k=first)
            out, _ = scaled_dot_product_attention(q, keys, values, allowed)
            return a.out_proj(out.transpose(1, 2).reshape(b, t, a.embed_dim))


def enable_kv_cache(model, batch_size=1):
    disable_kv_cache(model)
    cache = KVCache(batch_size, model.max_seq_len, len(model.blocks), model.num_heads,
                    model.embed_dim // model.num_heads)
    for i in range(len(model.blocks)):
        model.blocks[i].attention = CachedAttention(model.blocks[i].attention, cache, i)
    model._kv_cache = cache
    return cache


def disable_kv_cache(model):
    for block in model.blocks:
        while isinstance(block.attention, CachedAttention):
            block.attention = block.attention.attention
    model._kv_cache = None


def generate_cached(model, prompt_tokens, max_new_tokens=50, temperature=1.0, seed=None):
    shape = np.shape(getattr(prompt_tokens, "data", prompt_tokens))
    if len(shape) != 2 or shape[1] < 1:
        raise ValueError(f"prompt must be (batch, length >= 1), got {shape}")
    if isinstance(max_new_tokens, (int, np.integer)) and shape[1] + max_new_tokens - 1 > model.max_seq_len:
        raise ValueError(f"{shape[1]} + {max_new_tokens} - 1 positions exceed max_seq_len={model.max_seq_len}")
    cache = getattr(model, "_kv_cache", None)
    mine = cache is None
    if mine:
        cache = enable_kv_cache(model, shape[0])
    else:
        if cache.batch_size != shape[0]:
            raise ValueError(f"cache batch_size={cache.batch_size} but {shape[0]} prompt rows")
        cache.reset()
    gpt_forward = type(model).forward

    def forward(tokens, start_pos=0):
        ids = np.asarray(getattr(tokens, "data", tokens)).astype(np.int64)
        new = ids[:, cache.seq_pos:]
        if new.shape[1] == 0:
            raise ValueError("the cache cannot slide")
        logits = gpt_forward(model, Tensor(new), start_pos=cache.seq_pos)
        cache.advance(new.shape[1])
        return logits  # only the new rows: generate reads the last one

    model.forward = forward
    try:
        return model.generate(prompt_tokens, max_new_tokens, temperature, seed)
    finally:
        del model.forward
        if mine:
            disable_kv_cache(model)
