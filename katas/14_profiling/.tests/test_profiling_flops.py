"""Hidden tests for count_flops: every row of the README's table against formulas derived
by hand on drawn shapes, stacks that change shape, subclasses, unknown layers, shapes a
layer cannot take, huge batches, and a model that must never be called."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.activations import GELU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.layers import Dropout, Layer, Linear, Sequential
from tinytorch.core.spatial import AvgPool2d, BatchNorm2d, Conv2d, Flatten, MaxPool2d

import profiling_kit as kit
from profiling_kit import check_count, pair, profiler


def count(model, shape, what):
    p = profiler()
    return kit.run(lambda: p.count_flops(model, shape), what)


def test_profiler_comes_from_your_kata():
    from tinytorch.perf.profiling import Profiler, quick_profile
    checks.assert_from_kata(Profiler, kit.KATA)
    checks.assert_from_kata(quick_profile, kit.KATA)
    profiler()


# ---------------------------------------------------------------- Linear

@given(lead=st.lists(kit.sides, min_size=1, max_size=3), i=kit.sides, o=kit.sides, bias=st.booleans())
@example(lead=[3], i=4, o=5, bias=True)
@example(lead=[2, 3], i=4, o=2, bias=False)
@example(lead=[1], i=1, o=1, bias=True)
def test_linear_flops(lead, i, o, bias):
    layer = Linear(i, o, bias=bias)
    shape = tuple(lead) + (i,)
    what = f"count_flops(Linear({i}, {o}, bias={bias}), {shape})"
    check_count(count(layer, shape, what), kit.linear_flops(kit.prod(lead), i, o, bias), what,
                wrong=kit.linear_wrong(shape, i, o, bias),
                hint=f"2*M*i*o, plus M*o with a bias, where M = {kit.prod(lead)} rows")


def test_a_count_is_a_python_int_exact_past_2_63():
    layer = Linear(3, 5)
    shape = (2 ** 62, 3)
    what = f"count_flops(Linear(3, 5), {shape})"
    check_count(count(layer, shape, what), 35 * 2 ** 62, what,
                hint="Python ints are exact at any size: keep every factor a Python int")


# ---------------------------------------------------------------- Conv2d

@settings(max_examples=20)
@given(case=kit.conv_cases())
@example(case=(2, 3, 4, (7, 5), (3, 2), (2, 1), (1, 0), True, False))
@example(case=(1, 2, 3, (4, 6), (2, 3), (1, 2), (0, 1), False, False))
@example(case=(3, 1, 2, (5, 5), (3, 3), (2, 2), (1, 1), True, True))
@example(case=(2, 2, 2, (6, 7), (2, 2), (3, 3), (2, 2), True, True))
def test_conv2d_flops(case):
    n, c, o, hw, k, s, p, bias, as_int = case
    layer = Conv2d(c, o, pair(k, as_int), stride=pair(s, as_int), padding=pair(p, as_int), bias=bias)
    shape = (n, c) + hw
    what = (f"count_flops(Conv2d({c}, {o}, {pair(k, as_int)}, stride={pair(s, as_int)}, "
            f"padding={pair(p, as_int)}, bias={bias}), {shape})")
    ho, wo = kit.spatial(hw, k, s, p)
    check_count(count(layer, shape, what), kit.conv_flops(n, c, o, hw, k, s, p, bias), what,
                wrong=kit.conv_wrong(n, c, o, hw, k, s, p, bias),
                hint=f"2*N*O*Ho*Wo*C*kh*kw, plus N*O*Ho*Wo with a bias, with Ho = {ho}, Wo = {wo}")


# ---------------------------------------------------------------- pools

@pytest.mark.parametrize("kind", ["MaxPool2d", "AvgPool2d"])
@given(case=kit.pool_cases())
@example(case=(2, 3, (7, 5), (3, 2), (2, 1), (1, 0)))
@example(case=(1, 2, (4, 6), (2, 2), (2, 2), (1, 1)))
@example(case=(2, 1, (5, 6), (3, 3), (1, 2), (1, 1)))
def test_pool_flops(kind, case):
    n, c, hw, k, s, p = case
    layer = (MaxPool2d if kind == "MaxPool2d" else AvgPool2d)(k, stride=s, padding=p)
    shape = (n, c) + hw
    what = f"count_flops({kind}({k}, stride={s}, padding={p}), {shape})"
    ho, wo = kit.spatial(hw, k, s, p)
    outputs = n * c * ho * wo
    area = k[0] * k[1]
    if kind == "MaxPool2d":
        expected, other = outputs * (area - 1), outputs * area
        other_hint = ("a max over kh*kw values takes kh*kw - 1 comparisons, not kh*kw: the first "
                      "value needs none")
    else:
        expected, other = outputs * area, outputs * (area - 1)
        other_hint = ("an average is kh*kw - 1 additions AND one division per output: kh*kw "
                      "FLOPs, not kh*kw - 1")
    wrong = [(other, other_hint),
             (n * c * kit.windows(hw[0], k[0], s[0], 0) * kit.windows(hw[1], k[1], s[1], 0)
              * (expected // outputs), kit.HINT_NO_PADDING),
             (c * ho * wo * (expected // outputs), kit.HINT_ONE_SAMPLE),
             (outputs * 2 * (expected // outputs), "pooling has no multiply-adds: count each "
                                                   "comparison (or addition, division) once")]
    check_count(count(layer, shape, what), expected, what, wrong=wrong,
                hint=f"{kind} on Ho = {ho}, Wo = {wo}: " + (
                    "N*C*Ho*Wo*(kh*kw - 1)" if kind == "MaxPool2d" else "N*C*Ho*Wo*kh*kw"))


# ---------------------------------------------------------------- layers that count 0

ZERO = {
    "Sigmoid": (Sigmoid, (3, 4)), "ReLU": (ReLU, (2, 3, 5)), "Tanh": (Tanh, (4,)),
    "GELU": (GELU, (2, 6)), "Softmax": (Softmax, (3, 3)), "Dropout": (lambda: Dropout(0.5), (4, 2)),
    "BatchNorm2d": (lambda: BatchNorm2d(2), (2, 2, 3, 3)), "Flatten": (Flatten, (2, 3, 4, 5)),
}


def _extra_zero(name):
    if name == "LayerNorm":
        from tinytorch.core.transformers import LayerNorm
        return LayerNorm(6), (2, 3, 6)
    if name == "Embedding":
        from tinytorch.core.embeddings import Embedding
        return Embedding(10, 4), (2, 5)
    if name == "EmbeddingLayer":
        from tinytorch.core.embeddings import EmbeddingLayer
        return EmbeddingLayer(10, 4, 8), (2, 5)
    from tinytorch.core.embeddings import PositionalEncoding
    return PositionalEncoding(8, 4), (2, 5, 4)


@pytest.mark.parametrize("name", list(ZERO) + ["LayerNorm", "Embedding", "EmbeddingLayer",
                                                "PositionalEncoding"])
def test_elementwise_and_normalising_layers_count_zero(name):
    if name in ZERO:
        make, shape = ZERO[name]
        layer = make()
    else:
        layer, shape = _extra_zero(name)
    what = f"count_flops({name}(...), {shape})"
    check_count(count(layer, shape, what), 0, what,
                hint=f"{name} is elementwise or normalising work: 0 FLOPs by the README's "
                     "convention (it is limited by memory traffic, not arithmetic)")


# ---------------------------------------------------------------- stacks that change shape

@given(n=st.integers(1, 3), c=st.integers(1, 3), o=st.integers(1, 4), side=st.integers(4, 9),
       classes=st.integers(1, 5), bias=st.booleans())
@example(n=2, c=1, o=4, side=8, classes=10, bias=True)
@example(n=1, c=3, o=2, side=5, classes=3, bias=False)
def test_sequential_counts_each_layer_on_the_shape_before_it(n, c, o, side, classes, bias):
    conv = Conv2d(c, o, 3, padding=1, bias=bias)
    pooled = side // 2
    model = Sequential(conv, ReLU(), MaxPool2d(2), Flatten(), Linear(o * pooled * pooled, classes),
                       Softmax())
    shape = (n, c, side, side)
    what = (f"count_flops(Sequential(Conv2d({c}, {o}, 3, padding=1, bias={bias}), ReLU(), "
            f"MaxPool2d(2), Flatten(), Linear({o * pooled * pooled}, {classes}), Softmax()), {shape})")
    conv_part = kit.conv_flops(n, c, o, (side, side), (3, 3), (1, 1), (1, 1), bias)
    pool_part = n * o * pooled * pooled * 3
    dense = kit.linear_flops(n, o * pooled * pooled, classes, True)
    got = kit.run(lambda: profiler().count_flops(model, shape), what,
                  hint="each layer is counted on the output shape of the layer before it: Conv2d "
                       "(N, C, H, W) -> (N, O, Ho, Wo), MaxPool2d halves the sides, Flatten -> "
                       "(N, features), then Linear")
    check_count(got, conv_part + pool_part + dense, what,
                wrong=[(conv_part + dense, "the MaxPool2d comparisons are missing"),
                       (conv_part, "only the first layer was counted: sum over every layer")],
                hint=f"the sum of Conv2d ({conv_part:,}), MaxPool2d ({pool_part:,}) and Linear "
                     f"({dense:,}); ReLU, Flatten and Softmax count 0")


def _feeding(name):
    """(first layer, input shape, its FLOPs, its output shape) for a layer whose output
    shape the README's table states."""
    from tinytorch.core.attention import MultiHeadAttention
    from tinytorch.core.embeddings import Embedding, EmbeddingLayer, PositionalEncoding
    from tinytorch.core.transformers import MLP, LayerNorm, TransformerBlock
    from tinytorch.models.transformer import GPT
    if name == "Conv2d":
        return (Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0)), (2, 2, 7, 5),
                kit.conv_flops(2, 2, 3, (7, 5), (3, 2), (2, 1), (1, 0), True), (2, 3, 4, 4))
    if name == "AvgPool2d":
        return AvgPool2d((2, 3), stride=(2, 1)), (2, 3, 6, 5), 2 * 3 * 3 * 3 * 6, (2, 3, 3, 3)
    if name == "MaxPool2d":
        return MaxPool2d(3, stride=2, padding=1), (1, 2, 5, 4), 1 * 2 * 3 * 2 * 8, (1, 2, 3, 2)
    if name == "MLP":
        return MLP(4, 6), (2, 5, 4), kit.mlp_flops(10, 4, 6), (2, 5, 4)
    if name == "MultiHeadAttention":
        return MultiHeadAttention(4, 2), (2, 3, 4), kit.attention_flops(2, 3, 4), (2, 3, 4)
    if name == "TransformerBlock":
        return TransformerBlock(4, 2), (2, 3, 4), kit.block_flops(2, 3, 4, 16), (2, 3, 4)
    if name == "GPT":
        return GPT(7, 4, 1, 2, 8), (2, 5), kit.gpt_flops(2, 5, 7, 4, 1), (2, 5, 7)
    if name == "Embedding":
        return Embedding(20, 6), (2, 5), 0, (2, 5, 6)
    if name == "EmbeddingLayer":
        return EmbeddingLayer(10, 4, 8), (3, 2), 0, (3, 2, 4)
    if name == "LayerNorm":
        return LayerNorm(6), (2, 3, 6), 0, (2, 3, 6)
    return PositionalEncoding(8, 4), (2, 5, 4), 0, (2, 5, 4)


@pytest.mark.parametrize("name", ["Conv2d", "AvgPool2d", "MaxPool2d", "MLP", "MultiHeadAttention",
                                  "TransformerBlock", "GPT", "Embedding", "EmbeddingLayer",
                                  "LayerNorm", "PositionalEncoding"])
def test_each_layer_passes_its_output_shape_to_the_next(name):
    first, shape, flops, out = _feeding(name)
    features = out[-1] if len(out) != 4 else out[1] * out[2] * out[3]
    rows = kit.prod(out[:-1]) if len(out) != 4 else out[0]
    dense = Linear(features, 3)
    model = Sequential(first, Flatten(), dense) if len(out) == 4 else Sequential(first, dense)
    what = (f"count_flops(Sequential({name}(...), {'Flatten(), ' if len(out) == 4 else ''}"
            f"Linear({features}, 3)), {shape})")
    got = kit.run(lambda: profiler().count_flops(model, shape), what,
                  hint=f"{name} on {shape} gives an output of shape {out} (the README's table): "
                       "the next layer is counted on that shape")
    dense_part = kit.linear_flops(rows, features, 3, True)
    check_count(got, flops + dense_part, what,
                hint=f"{name} ({flops:,}) then Linear({features}, 3) on {rows} rows ({dense_part:,})")


# ---------------------------------------------------------------- attention and the transformer

@given(b=st.integers(1, 3), s=st.integers(1, 5), heads=st.integers(1, 3), head_dim=st.integers(1, 3))
@example(b=2, s=5, heads=4, head_dim=4)
@example(b=1, s=3, heads=2, head_dim=1)
@example(b=3, s=1, heads=1, head_dim=2)
def test_multi_head_attention_flops(b, s, heads, head_dim):
    from tinytorch.core.attention import MultiHeadAttention
    d = heads * head_dim
    layer = MultiHeadAttention(d, heads)
    what = f"count_flops(MultiHeadAttention({d}, {heads}), {(b, s, d)})"
    check_count(count(layer, (b, s, d), what), kit.attention_flops(b, s, d), what,
                wrong=kit.attention_wrong(b, s, d, heads),
                hint="4 projections by the Linear rule (with bias) plus 4*B*S*S*D for Q K^T and "
                     "weights @ V")


@given(lead=st.lists(kit.sides, min_size=1, max_size=2), d=st.integers(1, 4),
       hidden=st.one_of(st.none(), st.integers(1, 6)))
@example(lead=[2, 3], d=4, hidden=None)
def test_mlp_flops(lead, d, hidden):
    from tinytorch.core.transformers import MLP
    layer = MLP(d, hidden)
    h = 4 * d if hidden is None else hidden
    shape = tuple(lead) + (d,)
    what = f"count_flops(MLP({d}, {hidden}), {shape})"
    rows = kit.prod(lead)
    check_count(count(layer, shape, what), kit.mlp_flops(rows, d, h), what,
                wrong=[(kit.linear_flops(rows, d, h, True), "linear2 is missing: MLP is linear1, "
                                                            "GELU (0), then linear2")],
                hint=f"linear1 ({d} -> {h}) plus linear2 ({h} -> {d}), each by the Linear rule")


@given(b=st.integers(1, 2), s=st.integers(1, 4), heads=st.integers(1, 2), head_dim=st.integers(1, 3),
       ratio=st.sampled_from([1, 2, 4]))
@example(b=2, s=3, heads=2, head_dim=2, ratio=4)
def test_transformer_block_flops(b, s, heads, head_dim, ratio):
    from tinytorch.core.transformers import TransformerBlock
    d = heads * head_dim
    layer = TransformerBlock(d, heads, mlp_ratio=ratio)
    what = f"count_flops(TransformerBlock({d}, {heads}, mlp_ratio={ratio}), {(b, s, d)})"
    attn, mlp = kit.attention_flops(b, s, d), kit.mlp_flops(b * s, d, d * ratio)
    check_count(count(layer, (b, s, d), what), attn + mlp, what,
                wrong=[(attn, "the MLP is missing: a block is attention plus mlp"),
                       (mlp, "the attention is missing: a block is attention plus mlp"),
                       (attn + mlp + b * s * d, kit.HINT_ELEMENTWISE),
                       (attn + mlp + 2 * b * s * d, kit.HINT_ELEMENTWISE)],
                hint=f"attention ({attn:,}) plus mlp ({mlp:,}); LayerNorm and the residual "
                     "additions count 0")


@settings(max_examples=8)
@given(vocab=st.integers(2, 12), heads=st.integers(1, 2), head_dim=st.integers(1, 3),
       layers=st.integers(1, 3), b=st.integers(1, 2), t=st.integers(1, 5))
@example(vocab=11, heads=2, head_dim=4, layers=2, b=2, t=6)
@example(vocab=5, heads=1, head_dim=2, layers=3, b=1, t=1)
def test_gpt_flops(vocab, heads, head_dim, layers, b, t):
    from tinytorch.models.transformer import GPT
    d = heads * head_dim
    model = GPT(vocab, d, layers, heads, max_seq_len=8)
    what = f"count_flops(GPT({vocab}, {d}, {layers}, {heads}, max_seq_len=8), {(b, t)})"
    head = kit.linear_flops(b * t, d, vocab, False)
    block = kit.block_flops(b, t, d, 4 * d)
    check_count(count(model, (b, t), what), kit.gpt_flops(b, t, vocab, d, layers), what,
                wrong=[(layers * block, "the lm_head is missing: logits cost 2*B*T*D*V"),
                       (block + head, "only one block was counted: every block of model.blocks "
                                      "runs on (B, T, embed_dim)"),
                       (layers * block + kit.linear_flops(b * t, d, vocab, True),
                        "lm_head has no bias (bias=False): no additions for it")],
                hint=f"{layers} blocks of {block:,} on (B, T, D) = {(b, t, d)}, plus lm_head {head:,}")


# ---------------------------------------------------------------- recognition and errors

class Dense(Linear):
    """A subclass of Linear with a name of its own."""


class Mystery(Layer):
    def forward(self, x):
        return x


def test_a_subclass_counts_like_its_base_class():
    layer = Dense(4, 3)
    what = "count_flops(Dense(4, 3), (5, 4)) for class Dense(Linear)"
    got = kit.run(lambda: profiler().count_flops(layer, (5, 4)), what,
                  hint="recognise a layer by its class or any base class (type(layer).__mro__), "
                       "not by its exact class name")
    check_count(got, kit.linear_flops(5, 4, 3, True), what)


@pytest.mark.parametrize("where", ["alone", "inside a Sequential"])
def test_an_unknown_layer_raises_value_error_naming_it(where):
    model = Mystery() if where == "alone" else Sequential(Linear(4, 4), Mystery())
    p = profiler()
    result = []
    exc = kit.raised(lambda: result.append(p.count_flops(model, (2, 4))))
    what = f"count_flops of a layer it does not know (class Mystery, {where})"
    if exc is None:
        checks.fail(f"{what} must raise ValueError.", f"it returned {result[0]!r}",
                    hint="a silent guess (0, or one FLOP per input element) hides a wrong total: "
                         "raise ValueError naming the class")
    if not isinstance(exc, ValueError):
        checks.fail(f"{what} must raise ValueError.", f"got {type(exc).__name__}: {exc}")
    if "Mystery" not in str(exc):
        checks.fail(f"{what}: the ValueError must name the class.", f"message: {exc}",
                    hint="put type(layer).__name__ in the message")


def _bad_shapes():
    from tinytorch.core.attention import MultiHeadAttention
    from tinytorch.models.transformer import GPT
    return {
        "Linear(4, 3) on (2, 5)": (Linear(4, 3), (2, 5)),
        "Conv2d(2, 3, 3) on a 3-D (2, 5, 5)": (Conv2d(2, 3, 3), (2, 5, 5)),
        "Conv2d(2, 3, 3) on 3 channels": (Conv2d(2, 3, 3), (1, 3, 5, 5)),
        "Conv2d(1, 1, 5) on a 3x3 image": (Conv2d(1, 1, 5), (1, 1, 3, 3)),
        "MaxPool2d(2) on a 3-D (1, 4, 4)": (MaxPool2d(2), (1, 4, 4)),
        "MultiHeadAttention(4, 2) on (1, 3, 6)": (MultiHeadAttention(4, 2), (1, 3, 6)),
        "GPT on 3-D ids (1, 2, 3)": (GPT(5, 2, 1, 1, 8), (1, 2, 3)),
    }


@pytest.mark.parametrize("case", ["Linear(4, 3) on (2, 5)", "Conv2d(2, 3, 3) on a 3-D (2, 5, 5)",
                                  "Conv2d(2, 3, 3) on 3 channels", "Conv2d(1, 1, 5) on a 3x3 image",
                                  "MaxPool2d(2) on a 3-D (1, 4, 4)",
                                  "MultiHeadAttention(4, 2) on (1, 3, 6)", "GPT on 3-D ids (1, 2, 3)"])
def test_a_shape_the_layer_cannot_take_raises_value_error(case):
    model, shape = _bad_shapes()[case]
    p = profiler()
    result = []
    exc = kit.raised(lambda: result.append(p.count_flops(model, shape)))
    if exc is None:
        checks.fail(f"count_flops of {case} must raise ValueError.", f"it returned {result[0]!r}",
                    hint="check the shape against the layer before counting: a count for an "
                         "input the layer would reject is meaningless")
    if not isinstance(exc, ValueError):
        checks.fail(f"count_flops of {case} must raise ValueError.", f"got {type(exc).__name__}: {exc}")


def test_count_flops_never_calls_the_model():
    from tinytorch.models.transformer import GPT
    dense = Linear(4096, 8)
    kit.tripwire(dense, "Linear(4096, 8)")
    what = "count_flops(Linear(4096, 8), (100000, 4096))"
    check_count(count(dense, (100000, 4096), what), kit.linear_flops(100000, 4096, 8, True), what)
    conv, pool, fc = Conv2d(1, 2, 3), MaxPool2d(2), Linear(2 * 3 * 3, 2)
    model = Sequential(conv, pool, Flatten(), fc)
    for layer, name in ((conv, "Conv2d"), (pool, "MaxPool2d"), (fc, "Linear"), (model, "Sequential")):
        kit.tripwire(layer, name)
    count(model, (2, 1, 8, 8), "count_flops of a Sequential CNN")
    gpt = GPT(7, 4, 1, 2, 8)
    kit.tripwire(gpt, "GPT")
    for block in gpt.blocks:
        kit.tripwire(block, "TransformerBlock")
        kit.tripwire(block.attention, "MultiHeadAttention")
    count(gpt, (1, 4), "count_flops of a GPT")


def test_a_count_depends_on_shapes_not_on_weight_values():
    layer = Conv2d(2, 3, 3, padding=1)
    what = "count_flops(Conv2d(2, 3, 3, padding=1), (1, 2, 4, 4)) with half its weights set to 0"
    layer.weight.data[..., ::2] = 0.0
    layer.bias.data[:] = 0.0
    check_count(count(layer, (1, 2, 4, 4), what),
                kit.conv_flops(1, 2, 3, (4, 4), (3, 3), (1, 1), (1, 1), True), what,
                hint="a FLOP count is a function of shapes: zero weights are still multiplied")
