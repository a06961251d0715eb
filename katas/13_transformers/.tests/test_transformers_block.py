"""Hidden tests for MLP, TransformerBlock and create_causal_mask: parts and sizes, values
against their own parts composed, causality, the residual fan-in, and gradients."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.activations import GELU
from tinytorch.core.attention import MultiHeadAttention
from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor

import transformers_kit as kit
from transformers_kit import F32, F64

BLOCK_HINTS = {
    "post-norm": "this matches post-norm, ln(x + sublayer(x)): the block is pre-norm, "
                 "x + sublayer(ln(x)), so the residual path stays clean",
    "no attention residual": "the first residual is missing: h = x + attention(ln1(x), mask)",
    "no mlp residual": "the second residual is missing: out = h + mlp(ln2(h))",
    "residual of the normalised x": "the residual adds ln1(x) instead of x: h = x + attention(ln1(x))",
    "ln1 twice": "ln1 was used before the MLP too: the MLP branch has its own ln2",
    "no mask": "the mask did not reach the attention: pass it on, attention(ln1(x), mask)",
    "mlp on x": "the MLP branch read x instead of h: out = h + mlp(ln2(h)), after the attention",
}


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def transformers():
    from tinytorch.core import transformers as module
    return module


# ---------------------------------------------------------------- MLP

def test_mlp_has_its_layers():
    MLP = transformers().MLP
    for args, hidden in (((4,), 16), ((4, 6), 6)):
        mlp = MLP(*args)
        what = f"MLP{args}"
        if not isinstance(mlp, Layer):
            checks.fail(f"{what} must be a Layer (kata 03).", f"its classes are {type(mlp).__mro__}")
        if mlp.embed_dim != 4 or mlp.hidden_dim != hidden:
            checks.fail(f"{what} must have embed_dim=4 and hidden_dim={hidden}.",
                        f"got embed_dim={mlp.embed_dim!r}, hidden_dim={mlp.hidden_dim!r}",
                        hint="hidden_dim=None means 4 * embed_dim; a given hidden_dim is used as it is")
        for name, shape in (("linear1", (4, hidden)), ("linear2", (hidden, 4))):
            layer = getattr(mlp, name, None)
            if not isinstance(layer, Linear) or tuple(layer.weight.shape) != shape or layer.bias is None:
                checks.fail(f"{what}.{name} must be a Linear with a bias and weight shape {shape}.",
                            f"got {layer!r}" + ("" if not isinstance(layer, Linear) else
                                                f" with weight shape {tuple(layer.weight.shape)}"))
        if not isinstance(getattr(mlp, "gelu", None), GELU):
            checks.fail(f"{what}.gelu must be your kata-02 GELU().", f"got {getattr(mlp, 'gelu', None)!r}")
        expected = [mlp.linear1.weight, mlp.linear1.bias, mlp.linear2.weight, mlp.linear2.bias]
        got = mlp.parameters()
        if len(got) != 4 or any(a is not b for a, b in zip(got, expected)):
            checks.fail(f"{what}.parameters() must be linear1's weight and bias, then linear2's.",
                        f"got {len(got)} tensors", hint="create linear1, gelu, linear2 in this order")


@settings(max_examples=10)
@given(b=st.integers(1, 2), s=st.integers(1, 3), d=st.integers(1, 4), hidden=st.integers(1, 6),
       seed=kit.seeds)
@example(b=2, s=3, d=3, hidden=5, seed=1)
def test_mlp_is_linear_gelu_linear(b, s, d, hidden, seed):
    rng = np.random.default_rng(seed)
    mlp = transformers().MLP(d, hidden)
    kit.set_linear(mlp.linear1, rng, scale=2.0)
    kit.set_linear(mlp.linear2, rng)
    x = kit.normal(rng, (b, s, d), 1.5, F64)
    w1, b1, w2, b2 = (np.asarray(p.data, F64) for p in (mlp.linear1.weight, mlp.linear1.bias,
                                                         mlp.linear2.weight, mlp.linear2.bias))
    h = x @ w1 + b1
    expected = kit.gelu(h) @ w2 + b2
    wrong = [(np.maximum(h, 0) @ w2 + b2, "this matches ReLU between the layers: the MLP uses GELU"),
             (h @ w2 + b2, "no activation between the layers: linear2(gelu(linear1(x)))"),
             (kit.gelu(x @ w1 @ w2 + b1 @ w2 + b2), "GELU came after linear2: linear2(gelu(linear1(x)))")]
    inputs = {"x": x}
    got = kit.call(lambda: mlp(Tensor(x)), what=f"MLP({d}, {hidden})", inputs=inputs)
    checks.check_array(got, expected, f"MLP({d}, {hidden}) must be linear2(gelu(linear1(x)))", inputs=inputs,
                       dtype=F64, wrong=wrong)
    kit.gradcheck(lambda t: mlp(t), [x], what=f"MLP({d}, {hidden}): the output as a function of x (x0)",
                  seed=seed % 1000)


# ---------------------------------------------------------------- TransformerBlock

@pytest.mark.parametrize("kwargs,hidden", [({}, 32), ({"mlp_ratio": 2}, 16), ({"mlp_ratio": 1.5}, 12),
                                           ({"ff_dim": 12}, 12), ({"mlp_ratio": 2, "ff_dim": 20}, 20)],
                         ids=["default", "mlp_ratio 2", "mlp_ratio 1.5", "ff_dim 12", "ff_dim wins"])
def test_transformer_block_has_its_parts(kwargs, hidden):
    Block, LayerNorm, MLP = transformers().TransformerBlock, transformers().LayerNorm, transformers().MLP
    block = Block(8, 2, **kwargs)
    what = f"TransformerBlock(8, 2{''.join(f', {k}={v}' for k, v in kwargs.items())})"
    if not isinstance(block, Layer):
        checks.fail(f"{what} must be a Layer (kata 03).", f"its classes are {type(block).__mro__}")
    att = getattr(block, "attention", None)
    if not isinstance(att, MultiHeadAttention) or att.embed_dim != 8 or att.num_heads != 2:
        checks.fail(f"{what}.attention must be MultiHeadAttention(8, 2).", f"got {att!r}")
    for name in ("ln1", "ln2"):
        ln = getattr(block, name, None)
        if not isinstance(ln, LayerNorm) or ln.normalized_shape != 8:
            checks.fail(f"{what}.{name} must be LayerNorm(8).", f"got {ln!r}")
    if block.ln1 is block.ln2:
        checks.fail(f"{what}: ln1 and ln2 must be two LayerNorms.", "they are the same object",
                    hint="each branch normalises with parameters of its own")
    mlp = getattr(block, "mlp", None)
    if not isinstance(mlp, MLP) or mlp.hidden_dim != hidden:
        checks.fail(f"{what}.mlp must be an MLP with hidden_dim {hidden}.",
                    f"got {mlp!r}" + (f" with hidden_dim {mlp.hidden_dim!r}" if isinstance(mlp, MLP) else ""),
                    hint="hidden = ff_dim when it is given, else int(embed_dim * mlp_ratio)")
    expected = att.parameters() + block.ln1.parameters() + block.ln2.parameters() + mlp.parameters()
    got = block.parameters()
    if len(got) != len(expected) or any(a is not b for a, b in zip(got, expected)):
        checks.fail(f"{what}.parameters() must list attention's, ln1's, ln2's and mlp's, in that order.",
                    f"got {len(got)} tensors, expected {len(expected)}",
                    hint="create attention, ln1, ln2 and mlp in this order")


def random_block(d, heads, rng, dtype=F32):
    block = transformers().TransformerBlock(d, heads)
    kit.randomize(block, rng, dtype)
    return block


def composed(block, x, mask, variant=""):
    """The block's output from its own parts, pre-norm, or a known wrong wiring."""
    t = Tensor(x)
    att = block.attention
    with no_grad():
        if variant == "post-norm":
            h = block.ln1(t + att(t, mask))
            return block.ln2(h + block.mlp(h)).data
        n1 = block.ln1(t)
        a = att(n1) if variant == "no mask" else att(n1, mask)
        h = a if variant == "no attention residual" else (n1 + a if variant == "residual of the normalised x"
                                                          else t + a)
        src = t if variant == "mlp on x" else h
        m = block.mlp(block.ln1(src) if variant == "ln1 twice" else block.ln2(src))
        return (m if variant == "no mlp residual" else h + m).data


@settings(max_examples=10)
@given(b=st.integers(1, 2), s=st.integers(1, 4), heads=st.integers(1, 2), head_dim=st.integers(1, 3),
       seed=kit.seeds, masked=st.booleans())
@example(b=2, s=3, heads=2, head_dim=2, seed=2, masked=True)
def test_transformer_block_is_pre_norm(b, s, heads, head_dim, seed, masked):
    d = heads * head_dim
    rng = np.random.default_rng(seed)
    block = random_block(d, heads, rng)
    x = kit.normal(rng, (b, s, d), 1.5, F64)
    mask = transformers().create_causal_mask(s) if masked else None
    expected = composed(block, x, mask)
    wrong = [(composed(block, x, mask, v), why) for v, why in BLOCK_HINTS.items()
             if not (v == "no mask" and mask is None)]
    inputs = {"x": x}
    what = f"TransformerBlock({d}, {heads})" + (" with a causal mask" if masked else "")
    got = kit.call(lambda: block(Tensor(x), mask) if masked else block(Tensor(x)), what=what, inputs=inputs)
    checks.check_array(got, expected, f"{what} must be h = x + attention(ln1(x), mask), then h + mlp(ln2(h))",
                       inputs=inputs, dtype=F64, wrong=wrong)


@settings(max_examples=10)
@given(b=st.integers(1, 2), s=st.integers(2, 5), heads=st.integers(1, 2), seed=kit.seeds, data=st.data())
@example(b=1, s=4, heads=2, seed=3, data=None)
def test_transformer_block_is_causal_with_a_causal_mask(b, s, heads, seed, data):
    t = 1 if data is None else data.draw(st.integers(0, s - 2), label="t")
    d = 2 * heads
    rng = np.random.default_rng(seed)
    block = random_block(d, heads, rng)
    x = kit.normal(rng, (b, s, d), 1.0, F64)
    later = x.copy()
    later[:, t + 1:] = kit.normal(rng, (b, s - t - 1, d), 3.0, F64)
    mask = transformers().create_causal_mask(s)
    what = f"TransformerBlock({d}, {heads}) with create_causal_mask({s})"
    inputs = {"x": x, "x with positions after t changed": later}
    a = np.asarray(kit.call(lambda: block(Tensor(x), mask), what=what, inputs=inputs).data, F64)
    c = np.asarray(kit.call(lambda: block(Tensor(later), mask), what=what, inputs=inputs).data, F64)
    if a.shape != x.shape or not np.allclose(a[:, :t + 1], c[:, :t + 1], rtol=1e-9, atol=1e-9):
        hint = BLOCK_HINTS["no mask"] if a.shape == x.shape and np.allclose(
            a, composed(block, x, mask, "no mask"), atol=1e-8) else ""
        checks.fail(f"{what}: changing the inputs after position t = {t} must not change the outputs at "
                    f"positions 0..{t}.", f"before {checks.fmt(a[:, :t + 1])}\nafter  {checks.fmt(c[:, :t + 1])}",
                    inputs=inputs, hint=hint)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_blocks_keep_the_dtype(dtype):
    rng = np.random.default_rng(6)
    block = random_block(4, 2, rng)
    x = kit.normal(rng, (2, 3, 4), 1.0, dtype)
    mask = transformers().create_causal_mask(3)
    for what, fn in (("MLP(4)", lambda: block.mlp(Tensor(x))),
                     ("TransformerBlock(4, 2)", lambda: block(Tensor(x), mask))):
        got = kit.call(fn, what=what, inputs={"x": x})
        if got.dtype != dtype:
            checks.fail(f"{what} on {np.dtype(dtype)} input must give {np.dtype(dtype)}.", f"got {got.dtype}",
                        inputs={"x": x}, hint=checks.dtype_diagnosis(got.dtype, np.dtype(dtype)))


def test_residual_fan_in_a_block_with_zeroed_branches_is_the_identity():
    rng = np.random.default_rng(4)
    block = random_block(4, 2, rng, dtype=F64)
    for layer in (block.attention.out_proj, block.mlp.linear2):
        layer.weight.data = np.zeros_like(layer.weight.data)
        layer.bias.data = np.zeros_like(layer.bias.data)
    x = kit.normal(rng, (2, 3, 4), 1.0, F64)
    v = rng.standard_normal(x.shape)
    inputs = {"x": x, "upstream gradient": v}
    what = "TransformerBlock(4, 2) with attention.out_proj and mlp.linear2 set to zero"
    t = Tensor(x.copy(), requires_grad=True)
    out = kit.call(lambda: block(t, transformers().create_causal_mask(3)), what=what, inputs=inputs)
    checks.check_array(out, x, f"{what}: both branches add 0, so the block must return x itself",
                       inputs=inputs, dtype=F64,
                       hint="each residual adds the branch to x (once): h = x + attention(...), "
                            "out = h + mlp(...)")
    exc = kit.raised(lambda: out.backward(v))
    if exc is not None:
        checks.fail(f"{what}: backward raised {type(exc).__name__}.", str(exc), inputs=inputs)
    checks.check_array(np.asarray(t.grad, F64) if t.grad is not None else np.zeros_like(x), v,
                       f"{what}: the gradient of x must be the upstream gradient (the residual path)",
                       inputs=inputs, dtype=F64,
                       hint="x is used twice, by the residual and by the branch: autograd must add "
                            "both paths; a residual rebuilt from x.data cuts the identity path")


@settings(max_examples=8)
@given(b=st.integers(1, 2), s=st.integers(1, 3), heads=st.integers(1, 2), seed=kit.seeds, masked=st.booleans())
@example(b=2, s=3, heads=2, seed=5, masked=True)
def test_transformer_block_gradients_match_finite_differences(b, s, heads, seed, masked):
    d = 2 * heads
    rng = np.random.default_rng(seed)
    block = random_block(d, heads, rng, dtype=F64)
    x = kit.normal(rng, (b, s, d), 1.0, F64)
    mask = transformers().create_causal_mask(s) if masked else None
    kit.gradcheck(lambda t: block(t, mask), [x], seed=seed % 1000,
                  what=f"TransformerBlock({d}, {heads}): the output as a function of x (x0)")
    kit.param_gradcheck(block, lambda: block(Tensor(x), mask), rng=rng, inputs={"x": x},
                        what=f"TransformerBlock({d}, {heads})")


# ---------------------------------------------------------------- causal mask

@pytest.mark.parametrize("n", [1, 2, 5])
def test_create_causal_mask(n):
    create = transformers().create_causal_mask
    got = kit.call(lambda: create(n), what=f"create_causal_mask({n})")
    expected = np.tril(np.ones((n, n), F32))[None]
    checks.check_array(got, expected, f"create_causal_mask({n}): 1 where key j <= query i, 0 above, "
                                      "shape (1, n, n)", dtype=F32,
                       wrong=[(np.triu(np.ones((n, n), F32))[None], "this is the upper triangle: query i "
                               "may attend to keys j <= i, the lower triangle (np.tril)"),
                              (np.tril(np.ones((n, n), F32), -1)[None], "the diagonal is 0: a position may "
                               "attend to itself (np.tril with k=0)")],
                       shape_hint="one leading axis of size 1: (1, seq_len, seq_len)")
