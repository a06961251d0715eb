"""Helpers shared by kata 12's hidden test modules (not collected: the name is not test_*).

NumPy oracles for attention (and for the known wrong variants, whose results become
hints), the random inputs the tests draw, and the staged checks of a learner's call.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

KATA = "12_attention"
F32, F64 = np.float32, np.float64

GRAPH_HINT = ("build attention from Tensor operations (@, transpose, masked_fill, your "
              "Softmax, reshape): a result rebuilt from .data with NumPy is invisible to "
              "autograd and cuts the graph")
SCALE_DTYPE_HINT = ("a float64 value joined a float32 computation: np.sqrt(d_k) and other "
                    "NumPy scalars are float64 and promote float32 arrays (NEP 50); divide by "
                    "math.sqrt(d_k), a Python float")

HINTS = {
    "no scale": "the scores were not divided by sqrt(d_k): scores = Q @ K^T / sqrt(d_k)",
    "scale d_k": "the scores were divided by d_k instead of sqrt(d_k)",
    "scale times": "the scores were multiplied by sqrt(d_k) instead of divided by it",
    "scale S_k": ("the scores were divided by the square root of the number of keys: d_k is "
                  "the last dimension of Q and K"),
    "scale d_v": ("the scores were divided by the square root of d_v, the values' size: d_k "
                  "is the last dimension of Q and K"),
    "softmax queries": ("the softmax ran along the queries (axis -2): each query's weights over "
                        "the keys (the last axis) must sum to 1"),
    "mask ignored": "the mask was ignored: blocked keys must get weight 0",
    "mask inverted": ("the mask was inverted: 1 means the query MAY attend to the key, 0 means "
                      "it is blocked"),
    "mask zeroes scores": ("blocked scores were set to 0 (a multiplication by the mask), which "
                           "still gives them weight exp(0): fill them with -inf instead"),
    "no out_proj": "the output projection is missing: return out_proj(merged heads)",
    "split no transpose": ("the heads were split with a single reshape to (B, H, S, head_dim): "
                           "reshape to (B, S, H, head_dim), then swap axes 1 and 2, so that each "
                           "head sees every position"),
    "merge no transpose": ("the heads were merged with a single reshape from (B, H, S, "
                           "head_dim): swap axes 1 and 2 back first, then reshape to "
                           "(B, S, embed_dim)"),
    "scale embed_dim": ("the scores were divided by sqrt(embed_dim): inside a head d_k is "
                        "head_dim = embed_dim // num_heads"),
    "v from k": "the values came from k_proj: V = v_proj(x)",
    "mask per head": ("a (B, S, S) mask was lined up with the heads axis instead of the batch "
                      "axis: give it a size-1 heads axis, (B, 1, S, S), before the attention"),
}


# ---------------------------------------------------------------- oracles

def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):  # a wrong variant may leave a column of -inf
        shifted = x - np.max(x, axis=axis, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=axis, keepdims=True)


def allowed_of(mask, shape) -> np.ndarray:
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
    return np.broadcast_to(m != 0, shape)


def sdpa(Q, K, V, mask=None, variant: str = ""):
    """(output, weights) of scaled dot-product attention in float64, or of a wrong variant."""
    Q, K, V = (np.asarray(a, dtype=F64) for a in (Q, K, V))
    d_k, s_k, d_v = Q.shape[-1], K.shape[-2], V.shape[-1]
    raw = Q @ np.swapaxes(K, -1, -2)
    scale = {"no scale": 1.0, "scale d_k": 1.0 / d_k, "scale times": math.sqrt(d_k),
             "scale S_k": 1.0 / math.sqrt(s_k), "scale d_v": 1.0 / math.sqrt(d_v)}.get(
        variant, 1.0 / math.sqrt(d_k))
    scores = raw * scale
    if mask is not None and variant != "mask ignored":
        allowed = allowed_of(mask, scores.shape)
        if variant == "mask inverted":
            if not np.all((~allowed).any(axis=-1)):
                return None, None
            scores = np.where(allowed, -np.inf, scores)
        elif variant == "mask zeroes scores":
            scores = np.where(allowed, scores, 0.0)
        else:
            scores = np.where(allowed, scores, -np.inf)
    weights = softmax(scores, axis=-2 if variant == "softmax queries" else -1)
    return weights @ V, weights


def wrong_sdpa(Q, K, V, mask=None, variants=None):
    """{variant: (output, weights)} for the known wrong variants that differ from the right one."""
    names = variants or ["no scale", "scale d_k", "scale times", "scale S_k", "scale d_v",
                         "softmax queries"] + (["mask ignored", "mask inverted",
                                                "mask zeroes scores"] if mask is not None else [])
    return {n: sdpa(Q, K, V, mask, n) for n in names}


def mha(x, params, num_heads, mask=None, variant: str = ""):
    """MultiHeadAttention in float64 with the given [Wq, bq, Wk, bk, Wv, bv, Wo, bo]."""
    x = np.asarray(x, dtype=F64)
    wq, bq, wk, bk, wv, bv, wo, bo = (np.asarray(p, dtype=F64) for p in params)
    b, s, d = x.shape
    hd = d // num_heads

    def split(t):
        if variant == "split no transpose":
            return t.reshape(b, num_heads, s, hd)
        return t.reshape(b, s, num_heads, hd).transpose(0, 2, 1, 3)

    q, k = split(x @ wq + bq), split(x @ wk + bk)
    v = split(x @ (wk if variant == "v from k" else wv) + (bk if variant == "v from k" else bv))
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(d if variant == "scale embed_dim" else hd)
    if mask is not None:
        m = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
        if m.ndim == 3 and variant != "mask per head":
            m = m[:, None]
        try:
            allowed = np.broadcast_to(m != 0, scores.shape)
        except ValueError:
            return None
        if not np.all(allowed.any(axis=-1)):
            return None
        scores = np.where(allowed, scores, -np.inf)
    out = softmax(scores) @ v
    merged = out.reshape(b, s, d) if variant == "merge no transpose" else \
        out.transpose(0, 2, 1, 3).reshape(b, s, d)
    return merged if variant == "no out_proj" else merged @ wo + bo


MHA_VARIANTS = ["no out_proj", "split no transpose", "merge no transpose", "scale embed_dim",
                "v from k", "mask per head"]


def wrong_mha(x, params, num_heads, mask=None):
    found = []
    for name in MHA_VARIANTS:
        value = mha(x, params, num_heads, mask, name)
        if value is not None:
            found.append((value, HINTS[name]))
    return found


# ---------------------------------------------------------------- inputs

seeds = st.integers(0, 2**32 - 1)
batch_shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)


def normal(rng, shape, scale=1.0, dtype=F64):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def random_mask(rng, shape) -> np.ndarray:
    """A bool mask with at least one allowed key in every row (and usually some blocked)."""
    allowed = rng.random(shape) < 0.6
    keep = rng.integers(0, shape[-1], size=shape[:-1])
    np.put_along_axis(allowed, keep[..., None], True, axis=-1)
    return allowed


def mask_as(kind: str, allowed: np.ndarray):
    """The same mask in one of the forms the README allows."""
    if kind == "bool array":
        return allowed.copy()
    if kind == "float array":
        return allowed.astype(F32)
    if kind == "int array":
        return allowed.astype(np.int64)
    if kind == "list":
        return allowed.astype(int).tolist()
    if kind == "Tensor":
        return Tensor(allowed.astype(F32))
    raise ValueError(kind)


MASK_KINDS = ["bool array", "float array", "int array", "list", "Tensor"]


def set_params(layer, rng, dtype=F32):
    """Give every projection of a MultiHeadAttention random weights and non-zero biases;
    returns them as float64 arrays [Wq, bq, Wk, bk, Wv, bv, Wo, bo]."""
    values = []
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        proj = getattr(layer, name)
        d_in, d_out = proj.weight.shape
        proj.weight.data = normal(rng, (d_in, d_out), 1 / math.sqrt(d_in), dtype)
        proj.bias.data = normal(rng, (d_out,), 0.5, dtype)
        values += [proj.weight.data.astype(F64), proj.bias.data.astype(F64)]
    return values


# ---------------------------------------------------------------- learner calls

raised = checks.raised  # the shared helper: NotImplementedError propagates, other crashes are returned


def call_sdpa(fn, Q, K, V, mask=None, *, what, inputs):
    """Run the learner's attention on Tensors; check it returns (output, weights) Tensors."""
    result = [None]

    def run():
        result[0] = fn(Tensor(Q), Tensor(K), Tensor(V), mask) if mask is not None else \
            fn(Tensor(Q), Tensor(K), Tensor(V))

    exc = raised(run)
    if exc is not None:
        hint = ""
        if "matmul" in str(exc) and str(tuple(K.shape)) in str(exc):
            hint = "the scores are Q @ K^T: swap the last two axes of K (K.transpose(-2, -1)) first"
        checks.fail(f"{what} raised {type(exc).__name__}.", str(exc), inputs=inputs, hint=hint)
    out = result[0]
    if not isinstance(out, tuple) or len(out) != 2:
        checks.fail(f"{what} must return a tuple (output, weights).",
                    f"got {type(out).__name__}: {checks.fmt(out)}", inputs=inputs,
                    hint="return both: the attended values and the attention weights")
    output, weights = out
    exp_w = (*np.broadcast_shapes(Q.shape[:-2], K.shape[:-2]), Q.shape[-2], K.shape[-2])
    exp_o = (*np.broadcast_shapes(exp_w[:-2], V.shape[:-2]), Q.shape[-2], V.shape[-1])
    for name, t in (("output", output), ("weights", weights)):
        if not isinstance(t, Tensor):
            checks.fail(f"{what}: the {name} must be a Tensor.",
                        f"got {type(t).__name__}: {checks.fmt(t)}", inputs=inputs)
    if exp_w != exp_o and tuple(output.shape) == exp_w and tuple(weights.shape) == exp_o:
        checks.fail(f"{what} returned (weights, output): the order is (output, weights).",
                    f"first item has shape {output.shape}, second {weights.shape}", inputs=inputs)
    return output, weights


def gradcheck(f, xs, *, what, seed=0, hint=""):
    """checks.check_grad, after a first look: a result that does not require grad means
    the graph was cut (every input then lacks a gradient, for one reason)."""
    ts = [Tensor(np.array(x, dtype=F64), requires_grad=True) for x in xs]
    out = f(*ts)
    if not isinstance(out, Tensor):
        checks.fail(f"{what} must be a Tensor.", f"got {type(out).__name__}")
    if not out.requires_grad:
        checks.fail(f"{what}: the result of inputs that require grad must require grad.",
                    "got requires_grad=False: autograd recorded nothing", hint=GRAPH_HINT)
    out.backward(np.ones(out.shape))
    missing = [f"x{i}" for i, t in enumerate(ts) if t.grad is None]
    if missing:
        checks.fail(f"{what}: every input must receive a gradient.",
                    f"after backward(), {', '.join(missing)} got none (.grad is None)",
                    inputs={f"x{i}": x for i, x in enumerate(xs)}, hint=GRAPH_HINT)
    checks.check_grad(f, xs, Tensor=Tensor, what=what, seed=seed, hint=hint)
