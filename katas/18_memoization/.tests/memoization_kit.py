"""Helpers shared by kata 18's hidden test modules (not collected: the name is not test_*).

Small random GPTs (twins with equal weights), a NumPy oracle of multi-head attention and
its known wrong cached variants, and the staged checks of a learner's call.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

KATA = "18_memoization"
F32, F64 = np.float32, np.float64
seeds = st.integers(0, 2**32 - 1)


def normal(rng, shape, scale=1.0, dtype=F32):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def randomize(model, rng):
    """Random values for every parameter (biases non-zero), found through parameters()."""
    for p in model.parameters():
        scale = 1 / math.sqrt(p.shape[0]) if p.ndim == 2 else 0.3
        p.data = normal(rng, p.shape, scale)


def gpt(seed, vocab=7, embed=4, layers=2, heads=2, max_seq_len=8):
    """A kata-13 GPT with random weights drawn from `seed`: the same seed gives a twin."""
    from tinytorch.models.transformer import GPT
    model = GPT(vocab, embed, layers, heads, max_seq_len)
    randomize(model, np.random.default_rng(seed))
    return model


def mha(seed, embed, heads):
    from tinytorch.core.attention import MultiHeadAttention
    att = MultiHeadAttention(embed, heads)
    randomize(att, np.random.default_rng(seed))
    return att


raised = checks.raised  # the shared helper: NotImplementedError propagates, other crashes are returned


def call(fn, *, what, inputs=None, hint="", tensor=True):
    """fn() on the learner's code; a crash becomes a message; the result must be a Tensor."""
    out = [None]

    def run():
        out[0] = fn()

    exc = raised(run)
    if exc is not None:
        checks.fail(f"{what} raised {type(exc).__name__}.", str(exc), inputs=inputs, hint=hint)
    if tensor and not isinstance(out[0], Tensor):
        checks.fail(f"{what} must return a Tensor.", f"got {type(out[0]).__name__}: {checks.fmt(out[0])}",
                    inputs=inputs)
    return out[0]


def pair(result, what, inputs=None):
    """A (keys, values) result: a tuple or list of two Tensors."""
    if not isinstance(result, (tuple, list)) or len(result) != 2 \
            or not all(isinstance(t, Tensor) for t in result):
        checks.fail(f"{what} must return a pair (keys, values) of Tensors.",
                    f"got {checks.fmt(result)}", inputs=inputs)
    return result


def expect_value_error(fn, what, *, inputs=None, names=None, hint=""):
    """fn() must raise ValueError; `names` must appear in its message."""
    exc = raised(fn)
    if not isinstance(exc, ValueError):
        checks.fail(f"{what} must raise ValueError.",
                    "it raised nothing" if exc is None else f"it raised {type(exc).__name__}: {exc}",
                    inputs=inputs, hint=hint)
    if names is not None and names not in str(exc):
        checks.fail(f"{what}: the ValueError must name the limit ({names}).",
                    f"the message was: {exc}", inputs=inputs,
                    hint="say which limit was hit, e.g. f'... max_seq_len={self.max_seq_len}'")
    return exc


# ---------------------------------------------------------------- attention oracle

LAYOUT_HINT = ("this matches splitting the heads as reshape(B, H, T, head_dim): head h owns the "
               "features h*head_dim .. (h+1)*head_dim - 1 of each position, so reshape to "
               "(B, T, H, head_dim) and then swap the T and H axes (as kata 12 does)")
CURRENT_HINT = ("this matches attention over the cached history WITHOUT the current token: the "
                "new token must attend to itself too (use the keys update returns, not get's)")
NO_MASK_HINT = ("this matches attention without the causal rule: a new token at position p may "
                "see the keys 0..p only, not the later tokens of the same call")
OFFSET_HINT = ("this matches a causal mask that forgets seq_pos: new token i sits at position "
               "seq_pos + i and sees every key up to there")


def _linear(layer, x):
    w = np.asarray(layer.weight.data, F64)
    b = 0.0 if layer.bias is None else np.asarray(layer.bias.data, F64)
    return x @ w + b


def attention(att, x, start, length, variant=""):
    """Rows start..start+length-1 of att on the positions 0..start+length-1 of x (B, S, D),
    causal, in float64; `variant` computes a known wrong cached attention instead."""
    x = np.asarray(x, F64)[:, :start + length]
    b, s, d = x.shape
    h, hd = att.num_heads, d // att.num_heads

    def split(t):
        if variant.startswith("layout"):
            return t.reshape(b, h, s, hd)
        return t.reshape(b, s, h, hd).transpose(0, 2, 1, 3)

    q, k, v = (split(_linear(p, x)) for p in (att.q_proj, att.k_proj, att.v_proj))
    q = q[:, :, start:]
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd)  # (B, H, length, S)
    pos = start + np.arange(length)
    keys = np.arange(s)
    if variant == "no mask":
        blocked = np.zeros((length, s), bool)
    elif variant == "no offset":
        blocked = keys[None, :] > np.arange(length)[:, None]
    elif variant == "no current":
        blocked = keys[None, :] >= pos[:, None]
    else:
        blocked = keys[None, :] > pos[:, None]
    if np.all(blocked, axis=-1).any():
        return None  # the wrong variant has nothing to attend to
    scores = np.where(blocked, -np.inf, scores)
    w = np.exp(scores - scores.max(axis=-1, keepdims=True))
    w /= w.sum(axis=-1, keepdims=True)
    if variant == "layout both":
        merged = (w @ v).reshape(b, length, d)
    else:
        merged = (w @ v).transpose(0, 2, 1, 3).reshape(b, length, d)
    return _linear(att.out_proj, merged)


def wrong_attention(att, x, start, length):
    """Known wrong cached attentions; variants that coincide on this input share one hint
    (at seq_pos 1, dropping the current token and forgetting seq_pos both see key 0 only)."""
    out = []
    for variant, why in (("no current", CURRENT_HINT), ("layout", LAYOUT_HINT), ("layout both", LAYOUT_HINT),
                         ("no mask", NO_MASK_HINT), ("no offset", OFFSET_HINT)):
        if variant.startswith("layout") and att.num_heads == 1:
            continue
        value = attention(att, x, start, length, variant)
        if value is None or np.allclose(value, attention(att, x, start, length), rtol=1e-6, atol=1e-9):
            continue
        same = next((i for i, (v, _) in enumerate(out) if np.allclose(v, value, rtol=1e-9, atol=1e-12)), None)
        if same is None:
            out.append((value, why))
        elif why not in out[same][1]:
            out[same] = (out[same][0], out[same][1] + "; or (the same numbers here) " + why)
    return out


class Spy:
    """Wraps a layer's forward on one instance: records its calls, then calls through."""

    def __init__(self, layer, record):
        self.layer, self.record, self.calls = layer, record, []
        self.inner = layer.forward
        layer.forward = self

    def __call__(self, *args, **kwargs):
        self.calls.append(self.record(*args, **kwargs))
        return self.inner(*args, **kwargs)

    def remove(self):
        if vars(self.layer).get("forward") is self:
            del self.layer.forward
