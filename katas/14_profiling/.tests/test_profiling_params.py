"""Hidden tests for count_parameters: formulas for dense, convolutional, attention and
normalising layers and a whole GPT; shared Tensors once; objects without parameters."""
from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.spatial import Conv2d
from tinytorch.core.tensor import Tensor

import profiling_kit as kit
from profiling_kit import check_count, profiler

HINT_TENSORS = "you counted the Tensors: count their elements (each Tensor's .data.size)"


def params(model, what):
    p = profiler()
    return kit.run(lambda: p.count_parameters(model), what,
                   hint="an object without a parameters() method has 0 parameters")


@given(i=kit.sides, o=kit.sides, bias=st.booleans())
@example(i=3, o=4, bias=True)
def test_linear_parameters(i, o, bias):
    what = f"count_parameters(Linear({i}, {o}, bias={bias}))"
    check_count(params(Linear(i, o, bias=bias), what), i * o + (o if bias else 0), what,
                wrong=[(2 if bias else 1, HINT_TENSORS), (i * o, "the bias is missing: it has o elements")],
                hint="in_features * out_features weights, plus out_features biases")


@given(c=st.integers(1, 3), o=st.integers(1, 3), kh=st.integers(1, 3), kw=st.integers(1, 3),
       bias=st.booleans())
@example(c=2, o=3, kh=3, kw=2, bias=True)
def test_conv2d_parameters(c, o, kh, kw, bias):
    what = f"count_parameters(Conv2d({c}, {o}, ({kh}, {kw}), bias={bias}))"
    expected = o * c * kh * kw + (o if bias else 0)
    check_count(params(Conv2d(c, o, (kh, kw), bias=bias), what), expected, what,
                wrong=[(2 if bias else 1, HINT_TENSORS)],
                hint="out_channels * in_channels * kh * kw weights, plus out_channels biases")


@given(heads=st.integers(1, 3), head_dim=st.integers(1, 3))
@example(heads=2, head_dim=4)
def test_attention_and_layer_norm_parameters(heads, head_dim):
    from tinytorch.core.attention import MultiHeadAttention
    from tinytorch.core.transformers import LayerNorm
    d = heads * head_dim
    what = f"count_parameters(MultiHeadAttention({d}, {heads}))"
    check_count(params(MultiHeadAttention(d, heads), what), 4 * (d * d + d), what,
                wrong=[(8, HINT_TENSORS)], hint="four Linear(D, D) projections with bias: 4*(D*D + D)")
    what = f"count_parameters(LayerNorm({d}))"
    check_count(params(LayerNorm(d), what), 2 * d, what, wrong=[(2, HINT_TENSORS)],
                hint="gamma and beta, D elements each")


@settings(max_examples=6)
@given(vocab=st.integers(2, 12), heads=st.integers(1, 2), head_dim=st.integers(1, 3),
       layers=st.integers(1, 3), max_len=st.integers(1, 8))
@example(vocab=65, heads=4, head_dim=16, layers=2, max_len=32)
def test_gpt_parameters(vocab, heads, head_dim, layers, max_len):
    from tinytorch.models.transformer import GPT
    d = heads * head_dim
    what = f"count_parameters(GPT({vocab}, {d}, {layers}, {heads}, max_seq_len={max_len}))"
    check_count(params(GPT(vocab, d, layers, heads, max_len), what), kit.gpt_params(vocab, d, layers, max_len),
                what, hint="token table V*D, positions max_seq_len*D, per block attention "
                           "4(D*D + D), two LayerNorms 4D, MLP 8D*D + 5D; ln_f 2D; lm_head D*V")


def test_a_shared_tensor_counts_once():
    shared = Linear(3, 4)

    class Tied:
        def parameters(self):
            return [shared.weight, shared.bias, shared.weight]

    what = "count_parameters of a model whose parameters() lists one weight twice (a tied weight)"
    check_count(params(Tied(), what), 16, what,
                wrong=[(28, "a Tensor listed twice was counted twice: count each Tensor once "
                            "(compare by identity, id(t))")],
                hint="12 weight elements and 4 biases, the weight counted once")
    model = Sequential(shared, ReLU(), shared)
    what = "count_parameters(Sequential(layer, ReLU(), layer)) with the same layer twice"
    check_count(params(model, what), 16, what, wrong=[(32, "a layer used twice was counted twice")])


def test_objects_without_parameters_have_none():
    for obj, name in ((Tensor(np.zeros((3, 3))), "a Tensor"), (ReLU(), "ReLU()"), (object(), "object()"),
                      (lambda x: x, "a function")):
        what = f"count_parameters({name})"
        check_count(params(obj, what), 0, what,
                    hint="an object without a parameters() method has 0 parameters")
