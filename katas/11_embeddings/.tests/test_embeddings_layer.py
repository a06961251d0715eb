"""Hidden tests for EmbeddingLayer: tokens, optional sqrt(embed_dim) scaling, positions.

Oracles: the layer's own tables read back and combined with NumPy, and finite differences.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from embeddings_kit import F32, F64, GRAPH_HINT, KATA, call, expect_value_error, sinusoidal
from pytest_tinytorch import checks
from tinytorch.core.embeddings import (Embedding, EmbeddingFunction, EmbeddingLayer,
                                       PositionalEncoding, create_sinusoidal_embeddings)
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor

KINDS = ("learned", "sinusoidal", None)


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def made(*args, **kwargs):
    shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    return call(EmbeddingLayer, f"EmbeddingLayer({shown})", *args, **kwargs), f"EmbeddingLayer({shown})"


def positions_of(layer, kind):
    if kind == "learned":
        return np.asarray(layer.pos_encoding.position_embeddings.data)
    if kind == "sinusoidal":
        return np.asarray(layer.pos_encoding.data)
    return None


# ---------------------------------------------------------------- construction

@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_construction_stores_its_parts(kind):
    layer, what = made(11, 6, max_seq_len=9, pos_encoding=kind, scale_embeddings=True)
    if not isinstance(layer, Layer):
        checks.fail("EmbeddingLayer must subclass kata 03's Layer.", f"its bases are {type(layer).__mro__[1:]}",
                    hint="class EmbeddingLayer(Layer), and call super().__init__() first")
    for name, want in (("vocab_size", 11), ("embed_dim", 6), ("max_seq_len", 9),
                       ("pos_encoding_type", kind), ("scale_embeddings", True)):
        if getattr(layer, name, "<missing>") != want:
            checks.fail(f"{what} must store {name} = {want!r}.",
                        f"got {getattr(layer, name, '<missing>')!r}")
    tok = getattr(layer, "token_embedding", None)
    if not isinstance(tok, Embedding) or (tok.vocab_size, tok.embed_dim) != (11, 6):
        checks.fail(f"{what}.token_embedding must be an Embedding(11, 6).", f"got {tok!r}")
    pos = getattr(layer, "pos_encoding", "<missing>")
    if kind == "learned":
        if not isinstance(pos, PositionalEncoding) or (pos.max_seq_len, pos.embed_dim) != (9, 6):
            checks.fail(f"{what}.pos_encoding must be a PositionalEncoding(9, 6).", f"got {pos!r}")
    elif kind == "sinusoidal":
        checks.check_array(pos, sinusoidal(9, 6), f"{what}.pos_encoding", type_=Tensor, dtype=F32,
                           atol=1e-5, rtol=1e-5, type_hint="for 'sinusoidal', pos_encoding is the "
                           "Tensor create_sinusoidal_embeddings(max_seq_len, embed_dim)")
    elif pos is not None:
        checks.fail(f"{what}.pos_encoding must be None.", f"got {pos!r}")


def test_defaults_are_tinytorchs():
    layer, what = made(7, 4)
    for name, want in (("max_seq_len", 512), ("pos_encoding_type", "learned"), ("scale_embeddings", False)):
        if getattr(layer, name, "<missing>") != want:
            checks.fail(f"{what}: the default {name} is {want!r}, as in TinyTorch.",
                        f"got {getattr(layer, name, '<missing>')!r}")
    if not isinstance(getattr(layer, "pos_encoding", None), PositionalEncoding) or \
            layer.pos_encoding.max_seq_len != 512:
        checks.fail(f"{what}.pos_encoding must be a PositionalEncoding(512, 4) by default.",
                    f"got {getattr(layer, 'pos_encoding', None)!r}")


@pytest.mark.parametrize("bad", ["rope", "Learned", "", "none", 0])
def test_unknown_pos_encoding_raises_value_error_naming_the_choices(bad):
    expect_value_error(lambda: EmbeddingLayer(5, 4, pos_encoding=bad),
                       f"EmbeddingLayer(5, 4, pos_encoding={bad!r})",
                       must_contain=("learned", "sinusoidal", "None"),
                       hint="only 'learned', 'sinusoidal' and None are known: anything else "
                            "(a typo, another case) must be refused, not treated as no positions",
                       missing_hint="list the three choices: 'learned', 'sinusoidal' or None")


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_parameters_are_the_token_table_then_learned_positions(kind):
    layer, what = made(6, 3, max_seq_len=5, pos_encoding=kind)
    want = [layer.token_embedding.weight]
    if kind == "learned":
        want.append(layer.pos_encoding.position_embeddings)
    got = call(layer.parameters, f"{what}.parameters()")
    names = {id(layer.token_embedding.weight): "token_embedding.weight"}
    if kind == "learned":
        names[id(layer.pos_encoding.position_embeddings)] = "pos_encoding.position_embeddings"
    if not (isinstance(got, list) and len(got) == len(want) and all(a is b for a, b in zip(got, want))):
        shown = [names.get(id(p), f"<a {type(p).__name__} of shape {getattr(p, 'shape', '?')}>")
                 for p in (got if isinstance(got, (list, tuple)) else [])]
        checks.fail(f"{what}.parameters() must be [{', '.join(names.values())}].", f"got {shown}",
                    hint="the sinusoidal table is fixed (requires_grad=False): it is no parameter"
                    if kind == "sinusoidal" else "")


# ---------------------------------------------------------------- forward

cases = st.tuples(st.sampled_from(KINDS), st.booleans(), st.sampled_from([1, 2]), st.integers(1, 3),
                  st.integers(1, 4), st.integers(0, 3), st.integers(0, 2**32 - 1))


@settings(max_examples=30)
@given(case=cases)
@example(case=("learned", True, 2, 2, 3, 1, 0))
@example(case=("sinusoidal", True, 2, 2, 4, 2, 1))
@example(case=("sinusoidal", False, 1, 1, 3, 0, 2))
@example(case=(None, True, 1, 3, 2, 4, 3))
@example(case=("learned", False, 1, 1, 4, 2, 4))
def test_forward_is_scaled_tokens_plus_positions(case):
    kind, scale, ndim, batch, seq, start, seed = case
    v, d, m = 7, 4, start + seq + 1
    layer, what = made(v, d, max_seq_len=m, pos_encoding=kind, scale_embeddings=scale)
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, v, size=(batch, seq) if ndim == 2 else (seq,))
    tokens = Tensor(ids) if seed % 2 else ids
    w = np.asarray(layer.token_embedding.weight.data)
    pos = positions_of(layer, kind)
    s = math.sqrt(d) if scale else 1.0
    tok = w[ids]
    want = tok * s + (pos[start:start + seq] if pos is not None else 0.0)
    inputs = {"ids": ids, "start_pos": start}
    call_what = f"{what}(tokens, start_pos={start})"
    out = call(layer, call_what, tokens, start, inputs=inputs)
    wrong = []
    if pos is not None:
        p = pos[start:start + seq]
        if scale:
            wrong += [(tok + p, "scale_embeddings multiplies the token vectors by sqrt(embed_dim)"),
                      (tok * d + p, "the scale is sqrt(embed_dim), not embed_dim"),
                      ((tok + p) * s, "scale only the token vectors, then add the positions")]
        if start:
            wrong.append((tok * s + pos[:seq], "positions start at row start_pos: add rows "
                                               "start_pos .. start_pos + seq_len - 1"))
    elif scale:
        wrong.append((tok, "scale_embeddings multiplies the token vectors by sqrt(embed_dim)"))
    checks.check_array(out, want, call_what, inputs=inputs, type_=Tensor, dtype=F32, wrong=wrong,
                       shape_hint="(batch, seq_len) tokens give (batch, seq_len, embed_dim); 1-D "
                                  "(seq_len,) tokens give (seq_len, embed_dim), without a batch axis",
                       hint="token_embedding(tokens) * sqrt(embed_dim) if scale_embeddings, plus "
                            "position rows start_pos .. start_pos + seq_len - 1")


@pytest.mark.parametrize("shape", [(), (1, 2, 3)])
def test_tokens_must_be_1d_or_2d(shape):
    ids = np.zeros(shape, dtype=np.int64)
    for kind in KINDS:
        layer, what = made(5, 2, max_seq_len=8, pos_encoding=kind)
        expect_value_error(lambda: layer(ids), f"{what}(tokens of shape {shape})",
                           hint="tokens are (seq_len,) or (batch, seq_len): check their number of "
                                "dimensions first and refuse other shapes, whatever pos_encoding")


@pytest.mark.parametrize("kind", ["learned", "sinusoidal"])
def test_too_long_sequences_raise_value_error_naming_max_seq_len(kind):
    layer, what = made(5, 2, max_seq_len=4, pos_encoding=kind)
    call(layer, f"{what}(tokens of length 4)", np.array([[1, 2, 3, 4]]),
         hint="start_pos + seq_len == max_seq_len fits")
    call(layer, f"{what}(tokens of length 2, start_pos=2)", np.array([1, 2]), 2,
         hint="start_pos + seq_len == max_seq_len fits")
    for ids, start in ((np.array([[1, 2, 3, 4, 0]]), 0), (np.array([1, 2]), 3), (np.array([0]), 4)):
        expect_value_error(lambda: layer(ids, start), f"{what}(tokens of length {ids.shape[-1]}, "
                           f"start_pos={start})", must_contain=("max_seq_len=4",),
                           hint="start_pos + seq_len > max_seq_len: there is no position row for "
                                "the last tokens (check before slicing: a short slice, or one row, "
                                "may broadcast silently)",
                           missing_hint="check start_pos + seq_len against max_seq_len before "
                                        "slicing, and name the limit as max_seq_len=4 in your own "
                                        "ValueError")


def test_without_positions_any_length_and_start_pos_work():
    layer, what = made(5, 3, max_seq_len=2, pos_encoding=None)
    ids = np.array([[0, 1, 2, 3, 4, 0]])
    for start in (0, 7):
        out = call(layer, f"{what}(tokens of length 6, start_pos={start})", ids, start,
                   hint="with pos_encoding=None there are no positions: no length limit, and "
                        "start_pos is ignored")
        checks.check_array(out, layer.token_embedding.weight.data[ids], f"{what}(tokens, start_pos={start})",
                           type_=Tensor)


@pytest.mark.parametrize("kind", KINDS, ids=str)
@pytest.mark.parametrize("scale", [False, True], ids=["unscaled", "scaled"])
def test_gradients_reach_the_token_table_and_learned_positions(kind, scale):
    rng = np.random.default_rng(7)
    layer, what = made(4, 3, max_seq_len=5, pos_encoding=kind, scale_embeddings=scale)
    ids = np.array([[1, 3, 1], [0, 1, 2]])
    tables = [rng.uniform(-1, 1, (4, 3))]
    if kind == "learned":
        tables.append(rng.uniform(-1, 1, (5, 3)))

    def f(w, p=None):
        layer.token_embedding.weight = w
        if p is not None:
            layer.pos_encoding.position_embeddings = p
        return layer(ids, 1)

    checks.check_grad(f, tables, Tensor=Tensor, seed=3,
                      what=f"{what}(tokens, start_pos=1) (x0 = the token table"
                           + (", x1 = the position table)" if kind == "learned" else ")"),
                      hint=GRAPH_HINT)


# ---------------------------------------------------------------- provenance

def test_the_code_under_test_comes_from_your_kata():
    layer, what = made(3, 2, max_seq_len=4)
    out = call(layer, f"{what}([0, 2])", np.array([0, 2]))  # runs your code: the stub fails here
    checks.check_shape(out, (2, 2), f"{what}([0, 2])")
    for obj in (Embedding, EmbeddingFunction, PositionalEncoding, create_sinusoidal_embeddings,
                EmbeddingLayer):
        checks.assert_from_kata(obj, KATA)
