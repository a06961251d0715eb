"""Hidden tests for MultiHeadAttention: structure, values against NumPy with its own
weights, one head against the single-head formula, causality by perturbation, permutation
equivariance, every mask shape, and gradients (through your kata-06 autograd)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor

import attention_kit as kit
from attention_kit import F32, F64, HINTS


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def mha_class():
    from tinytorch.core.attention import MultiHeadAttention
    return MultiHeadAttention


def build(embed_dim, num_heads, seed, dtype=F32):
    layer = mha_class()(embed_dim, num_heads)
    params = kit.set_params(layer, np.random.default_rng(seed), dtype)
    return layer, params


def forward(layer, x, mask, *, what, inputs):
    """layer(x) or layer(x, mask) on a Tensor of x; a crash becomes a message."""
    out = [None]

    def run():
        out[0] = layer(Tensor(x)) if mask is None else layer(Tensor(x), mask)

    exc = kit.raised(run)
    if exc is not None:
        m = None if mask is None else np.asarray(getattr(mask, "data", mask))
        hint = ""
        if m is not None and m.ndim == 3 and isinstance(exc, ValueError) and "broadcast" in str(exc):
            hint = HINTS["mask per head"]
        checks.fail(f"{what} raised {type(exc).__name__}.", str(exc), inputs=inputs, hint=hint)
    if not isinstance(out[0], Tensor):
        checks.fail(f"{what} must return a Tensor.", f"got {type(out[0]).__name__}: {checks.fmt(out[0])}",
                    inputs=inputs)
    return out[0]


def check_mha(layer, params, x, mask, num_heads, *, what, inputs):
    got = forward(layer, x, mask, what=what, inputs=inputs)
    expected = kit.mha(x, params, num_heads, mask)
    checks.check_array(got, expected, f"{what}: the output", inputs=inputs, dtype=x.dtype,
                       rtol=1e-9 if x.dtype == F64 else 1e-5, atol=1e-9 if x.dtype == F64 else 1e-5,
                       wrong=kit.wrong_mha(x, params, num_heads, mask),
                       shape_hint="the output has the input's shape (batch, seq, embed_dim)")
    return got


# ---------------------------------------------------------------- structure

def test_multi_head_attention_has_its_projections_and_parameters():
    MHA = mha_class()
    layer = MHA(6, 3)
    what = "MultiHeadAttention(6, 3)"
    if not isinstance(layer, Layer):
        checks.fail(f"{what} must be a Layer (kata 03).", f"its classes are {type(layer).__mro__}",
                    hint="class MultiHeadAttention(Layer): and call super().__init__() first")
    for name, expected in (("embed_dim", 6), ("num_heads", 3), ("head_dim", 2)):
        value = getattr(layer, name, None)
        if type(value) is not int or value != expected:
            checks.fail(f"{what}.{name} must be the int {expected}.", f"got {value!r}",
                        hint="head_dim = embed_dim // num_heads (an int, not a float)")
    expected = []
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        proj = getattr(layer, name, None)
        if not isinstance(proj, Linear):
            checks.fail(f"{what}.{name} must be a Linear(6, 6).", f"got {proj!r}")
        if tuple(proj.weight.shape) != (6, 6) or proj.bias is None or tuple(proj.bias.shape) != (6,):
            checks.fail(f"{what}.{name} must be Linear(embed_dim, embed_dim) with a bias.",
                        f"weight {tuple(proj.weight.shape)}, bias "
                        f"{None if proj.bias is None else tuple(proj.bias.shape)}")
        expected += [proj.weight, proj.bias]
    got = layer.parameters()
    if len(got) != 8 or any(a is not b for a, b in zip(got, expected)):
        ids = {id(t): n for t, n in zip(expected, ["q_proj.weight", "q_proj.bias", "k_proj.weight",
                                                   "k_proj.bias", "v_proj.weight", "v_proj.bias",
                                                   "out_proj.weight", "out_proj.bias"])}
        names = [ids.get(id(t), f"another tensor of shape {tuple(t.shape)}") for t in got]
        checks.fail(f"{what}.parameters() must list the weight and bias of q_proj, k_proj, v_proj "
                    "and out_proj, in that order.", f"got {len(got)} tensors: {names}",
                    hint="create four separate Linear layers, in the order q, k, v, out "
                         "(parameters() follows the order of assignment)")


@pytest.mark.parametrize("embed_dim,num_heads", [(6, 4), (4, 3), (5, 2)])
def test_num_heads_must_divide_embed_dim(embed_dim, num_heads):
    MHA = mha_class()
    exc = kit.raised(lambda: MHA(embed_dim, num_heads))
    if not isinstance(exc, ValueError):
        got = "no exception" if exc is None else f"{type(exc).__name__}: {exc}"
        checks.fail(f"MultiHeadAttention({embed_dim}, {num_heads}) must raise ValueError: "
                    f"{num_heads} heads cannot share {embed_dim} features equally.", f"got {got}",
                    hint="check embed_dim % num_heads == 0 in __init__")
    text = str(exc)
    if str(embed_dim) not in text or str(num_heads) not in text:
        checks.fail(f"The ValueError of MultiHeadAttention({embed_dim}, {num_heads}) must name both "
                    "numbers.", f"got {text!r}")


# ---------------------------------------------------------------- values

mask_kinds = st.sampled_from(["none", "causal (S, S)", "random (B, S, S)"])


def make_mask(kind, rng, b, s):
    if kind == "none":
        return None
    if kind == "causal (S, S)":
        return np.tril(np.ones((s, s)))
    return kit.random_mask(rng, (b, s, s))


@settings(max_examples=20)
@given(b=st.integers(1, 3), s=st.integers(1, 4), heads=st.integers(1, 3), head_dim=st.integers(1, 3),
       seed=kit.seeds, kind=mask_kinds)
@example(b=2, s=3, heads=2, head_dim=2, seed=1, kind="random (B, S, S)")  # B == H: mask on the wrong axis
@example(b=1, s=4, heads=2, head_dim=3, seed=2, kind="none")  # split and merge of heads
@example(b=2, s=3, heads=3, head_dim=1, seed=3, kind="causal (S, S)")
def test_multi_head_attention_matches_numpy(b, s, heads, head_dim, seed, kind):
    d = heads * head_dim
    layer, params = build(d, heads, seed)
    rng = np.random.default_rng(seed + 1)
    x = kit.normal(rng, (b, s, d), 1.0, F64)
    mask = make_mask(kind, rng, b, s)
    inputs = {"x": x} if mask is None else {"x": x, "mask": mask}
    check_mha(layer, params, x, mask, heads, what=f"MultiHeadAttention({d}, {heads}) on x {x.shape}"
              + ("" if mask is None else f" with a {kind} mask"), inputs=inputs)


MASK_SHAPES = {
    "(S, S) array": lambda m: m[0, 0],
    "(1, S, S) Tensor": lambda m: Tensor(m[:1, 0].astype(F32)),
    "(B, S, S) bool array": lambda m: m[:, 0],
    "(B, 1, S, S) array": lambda m: m[:, :1].astype(F64),
    "(B, H, S, S) array": lambda m: m.astype(int),
}


@pytest.mark.parametrize("kind", list(MASK_SHAPES))
def test_multi_head_attention_takes_masks_of_every_shape(kind):
    b = heads = 2  # B == H: a mask lined up with the wrong axis still broadcasts
    s, d = 3, 4
    layer, params = build(d, heads, 20)
    rng = np.random.default_rng(21)
    x = kit.normal(rng, (b, s, d), 1.0, F64)
    mask = MASK_SHAPES[kind](kit.random_mask(rng, (b, heads, s, s)))
    shown = np.asarray(getattr(mask, "data", mask)).astype(int)
    check_mha(layer, params, x, mask, heads, what=f"MultiHeadAttention(4, 2) with a {kind} mask",
              inputs={"x": x, "mask": shown})


@settings(max_examples=10)
@given(b=st.integers(1, 2), s=st.integers(1, 4), d=st.integers(1, 4), seed=kit.seeds, masked=st.booleans())
@example(b=2, s=3, d=3, seed=4, masked=True)
def test_one_head_is_single_head_attention(b, s, d, seed, masked):
    from tinytorch.core.attention import scaled_dot_product_attention as sdpa
    layer, params = build(d, 1, seed)
    rng = np.random.default_rng(seed + 1)
    x = kit.normal(rng, (b, s, d), 1.0, F64)
    mask = np.tril(np.ones((s, s))) if masked else None
    inputs = {"x": x} if mask is None else {"x": x, "mask": mask}
    what = f"MultiHeadAttention({d}, 1)"
    got = forward(layer, x, mask, what=what, inputs=inputs)
    t = Tensor(x)
    single, _ = sdpa(layer.q_proj(t), layer.k_proj(t), layer.v_proj(t), mask)
    expected = layer.out_proj(single)
    checks.check_array(got, expected.data, f"{what}: one head must equal out_proj(scaled_dot_product_"
                                           "attention(q_proj(x), k_proj(x), v_proj(x), mask)[0])",
                       inputs=inputs, dtype=F64, wrong=kit.wrong_mha(x, params, 1, mask))


# ---------------------------------------------------------------- symmetries

@settings(max_examples=15)
@given(b=st.integers(1, 2), s=st.integers(2, 5), heads=st.integers(1, 3), head_dim=st.integers(1, 2),
       seed=kit.seeds, data=st.data())
@example(b=1, s=4, heads=2, head_dim=2, seed=5, data=None)
def test_causal_outputs_ignore_later_positions(b, s, heads, head_dim, seed, data):
    t = 1 if data is None else data.draw(st.integers(0, s - 2), label="t")
    form = "Tensor (1, S, S)" if data is None else data.draw(
        st.sampled_from(["array (S, S)", "Tensor (1, S, S)"]), label="mask form")
    d = heads * head_dim
    layer, params = build(d, heads, seed)
    rng = np.random.default_rng(seed + 1)
    x = kit.normal(rng, (b, s, d), 1.0, F64)
    later = x.copy()
    later[:, t + 1:] = kit.normal(rng, (b, s - t - 1, d), 2.0, F64)
    causal = np.tril(np.ones((s, s)))
    mask = Tensor(causal[None].astype(F32)) if form.startswith("Tensor") else causal
    what = f"MultiHeadAttention({d}, {heads}) with a causal mask ({form})"
    inputs = {"x": x, "x with positions after t changed": later}
    a = forward(layer, x, mask, what=what, inputs=inputs)
    c = forward(layer, later, mask, what=what, inputs=inputs)
    a_, c_ = np.asarray(a.data, F64), np.asarray(c.data, F64)
    if a_.shape != x.shape or c_.shape != x.shape:
        checks.fail(f"{what}: the output must have the input's shape.", f"got {a_.shape}", inputs=inputs)
    if not np.allclose(a_[:, :t + 1], c_[:, :t + 1], rtol=1e-9, atol=1e-9):
        pos = int(np.argwhere(~np.isclose(a_[:, :t + 1], c_[:, :t + 1], rtol=1e-9, atol=1e-9))[0][1])
        unmasked = kit.mha(x, params, heads, None)
        hint = (HINTS["mask ignored"] + " (is the mask passed on to the attention?)"
                if np.allclose(a_, unmasked, atol=1e-8) else
                HINTS["split no transpose"] if np.allclose(a_, kit.mha(x, params, heads, causal,
                                                                        "split no transpose"), atol=1e-8)
                else "position t may attend only to positions 0..t: blocked keys need weight 0 in "
                     "every head")
        checks.fail(f"{what}: changing the inputs after position t = {t} must not change the outputs "
                    f"at positions 0..{t}.",
                    f"the output at position {pos} changed:\nbefore {checks.fmt(a_[:, pos])}\n"
                    f"after  {checks.fmt(c_[:, pos])}", inputs=inputs, hint=hint)


@settings(max_examples=15)
@given(b=st.integers(1, 2), s=st.integers(2, 5), heads=st.integers(1, 3), head_dim=st.integers(1, 2),
       seed=kit.seeds, data=st.data())
@example(b=1, s=4, heads=2, head_dim=2, seed=6, data=None)  # a rotation of the positions
def test_without_a_mask_permuting_positions_permutes_outputs(b, s, heads, head_dim, seed, data):
    d = heads * head_dim
    layer, params = build(d, heads, seed)
    rng = np.random.default_rng(seed + 1)
    x = kit.normal(rng, (b, s, d), 1.0, F64)
    perm = np.roll(np.arange(s), 1) if data is None else np.array(
        data.draw(st.permutations(list(range(s))), label="permutation"))
    what = f"MultiHeadAttention({d}, {heads}) without a mask"
    inputs = {"x": x, "permutation": perm}
    a = forward(layer, x, None, what=what, inputs=inputs)
    c = forward(layer, x[:, perm], None, what=what, inputs=inputs)
    a_ = np.asarray(a.data, F64)
    if a_.shape != x.shape:
        checks.fail(f"{what}: the output must have the input's shape.", f"got {a_.shape}", inputs=inputs)
    hint = (HINTS["split no transpose"] if np.allclose(a_, kit.mha(x, params, heads, None,
                                                                   "split no transpose"), atol=1e-8)
            else HINTS["merge no transpose"] if np.allclose(a_, kit.mha(x, params, heads, None,
                                                                        "merge no transpose"), atol=1e-8)
            else "attention has no notion of order: nothing in it may depend on a position's index")
    checks.check_array(c, a_[:, perm], f"{what}: the output of x[:, perm] must be the output of x, "
                                       "permuted the same way (output[:, perm])",
                       inputs=inputs, rtol=1e-9, atol=1e-9, hint=hint)


# ---------------------------------------------------------------- gradients

@settings(max_examples=10)
@given(b=st.integers(1, 2), s=st.integers(1, 3), heads=st.integers(1, 2), head_dim=st.integers(1, 2),
       seed=kit.seeds, masked=st.booleans())
@example(b=2, s=3, heads=2, head_dim=2, seed=7, masked=True)
def test_multi_head_attention_gradients_match_finite_differences(b, s, heads, head_dim, seed, masked):
    d = heads * head_dim
    layer, params = build(d, heads, seed, dtype=F64)
    rng = np.random.default_rng(seed + 1)
    x = kit.normal(rng, (b, s, d), 1.0, F64)
    mask = np.tril(np.ones((s, s))) if masked else None
    label = f"MultiHeadAttention({d}, {heads})" + (" with a causal mask" if masked else "")
    kit.gradcheck(lambda t: layer(t, mask), [x], what=f"{label}: the output as a function of x (x0)",
                  seed=seed % 1000)

    names = ["q_proj", "k_proj", "v_proj", "out_proj"]

    def with_params(*tensors):
        for i, name in enumerate(names):
            proj = getattr(layer, name)
            proj.weight, proj.bias = tensors[2 * i], tensors[2 * i + 1]
        return layer(Tensor(x), mask)

    kit.gradcheck(with_params, params, seed=seed % 1000 + 1,
                  what=f"{label}: the output as a function of its parameters (x0..x7 = q_proj.weight, "
                       "q_proj.bias, k_proj..., out_proj.bias)")
