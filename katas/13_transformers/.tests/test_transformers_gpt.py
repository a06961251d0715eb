"""Hidden tests for GPT (tinytorch.models.transformer): its parts, its logits against its own
parts composed, causality, positions, and gradients (through your kata-06 autograd)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.tensor import Tensor

import transformers_kit as kit
from transformers_kit import F32, F64, KATA

GPT_HINTS = {
    "no ln_f": "the final LayerNorm is missing: logits = lm_head(ln_f(x)) after the last block",
    "no mask": "the blocks ran without the causal mask: pass create_causal_mask(T) to every block",
    "start_pos ignored": "start_pos was not passed on: embedding_layer(tokens, start_pos)",
    "first block only": "only the first block ran: apply every block of self.blocks in order",
    "reversed blocks": "the blocks ran in reverse order: self.blocks[0] comes first",
}


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def gpt_class():
    from tinytorch.models.transformer import GPT
    return GPT


def small_gpt(rng, vocab=7, d=4, layers=2, heads=2, max_seq_len=8, dtype=F32):
    model = gpt_class()(vocab, d, layers, heads, max_seq_len)
    kit.randomize(model, rng, dtype)
    return model


def composed(model, tokens, start_pos=0, variant=""):
    from tinytorch.core.transformers import create_causal_mask
    with no_grad():
        x = model.embedding_layer(tokens, 0 if variant == "start_pos ignored" else start_pos)
        mask = None if variant == "no mask" else create_causal_mask(np.shape(tokens)[-1])
        blocks = {"first block only": model.blocks[:1], "reversed blocks": model.blocks[::-1]}.get(
            variant, model.blocks)
        for block in blocks:
            x = block(x, mask)
        return model.lm_head(x if variant == "no ln_f" else model.ln_f(x)).data


def logits_of(model, tokens, *, what, inputs, start_pos=None):
    return kit.call(lambda: model(Tensor(tokens)) if start_pos is None else model(Tensor(tokens), start_pos),
                    what=what, inputs=inputs)


def test_gpt_has_its_parts():
    from tinytorch.core.embeddings import EmbeddingLayer
    from tinytorch.core.transformers import LayerNorm, TransformerBlock
    GPT = gpt_class()
    model = GPT(11, 8, 3, 2, 16)
    what = "GPT(vocab_size=11, embed_dim=8, num_layers=3, num_heads=2, max_seq_len=16)"
    if not isinstance(model, Layer):
        checks.fail(f"{what} must be a Layer (kata 03).", f"its classes are {type(model).__mro__}")
    for name, value in (("vocab_size", 11), ("embed_dim", 8), ("num_layers", 3), ("num_heads", 2),
                        ("max_seq_len", 16)):
        if getattr(model, name, None) != value:
            checks.fail(f"{what}.{name} must be {value}.", f"got {getattr(model, name, None)!r}")
    emb = getattr(model, "embedding_layer", None)
    if not isinstance(emb, EmbeddingLayer) or (emb.vocab_size, emb.embed_dim, emb.max_seq_len) != (11, 8, 16) \
            or emb.pos_encoding_type != "learned":
        checks.fail(f"{what}.embedding_layer must be EmbeddingLayer(11, 8, 16) with learned positions.",
                    f"got {emb!r}", hint="EmbeddingLayer(vocab_size, embed_dim, max_seq_len): its default "
                                         "pos_encoding is 'learned'")
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, list) or len(blocks) != 3 or not all(isinstance(b, TransformerBlock) for b in blocks):
        checks.fail(f"{what}.blocks must be a list of 3 TransformerBlocks.", f"got {blocks!r}")
    if len({id(b) for b in blocks}) != 3:
        checks.fail(f"{what}.blocks must hold 3 different blocks.", "some are the same object",
                    hint="[TransformerBlock(...)] * n repeats ONE block n times: build each in a loop")
    if any(b.embed_dim != 8 or b.num_heads != 2 for b in blocks):
        checks.fail(f"{what}: every block must be TransformerBlock(8, 2).", "")
    if not isinstance(getattr(model, "ln_f", None), LayerNorm) or model.ln_f.normalized_shape != 8:
        checks.fail(f"{what}.ln_f must be LayerNorm(8).", f"got {getattr(model, 'ln_f', None)!r}")
    head = getattr(model, "lm_head", None)
    if not isinstance(head, Linear) or tuple(head.weight.shape) != (8, 11) or head.bias is not None:
        checks.fail(f"{what}.lm_head must be Linear(8, 11, bias=False).",
                    f"got {head!r}", hint="the head maps each vector to one logit per token, without bias")
    expected = emb.parameters() + [p for b in blocks for p in b.parameters()] + model.ln_f.parameters() \
        + head.parameters()
    got = model.parameters()
    if len(got) != len(expected) or any(a is not b for a, b in zip(got, expected)):
        checks.fail(f"{what}.parameters() must list embedding_layer's, each block's, ln_f's and lm_head's, "
                    "in that order.", f"got {len(got)} tensors, expected {len(expected)}",
                    hint="create embedding_layer, blocks, ln_f and lm_head in this order")
    checks.assert_from_kata(GPT, KATA)


@settings(max_examples=10)
@given(b=st.integers(1, 2), t=st.integers(1, 5), start_pos=st.integers(0, 3), seed=kit.seeds)
@example(b=2, t=4, start_pos=2, seed=1)
@example(b=1, t=3, start_pos=0, seed=2)
def test_gpt_logits_are_its_parts_composed(b, t, start_pos, seed):
    rng = np.random.default_rng(seed)
    model = small_gpt(rng)
    tokens = rng.integers(0, 7, (b, t))
    inputs = {"tokens": tokens, "start_pos": start_pos}
    what = f"GPT(7, 4, 2, 2, 8) on tokens of shape {tokens.shape}, start_pos={start_pos}"
    got = logits_of(model, tokens, what=what, inputs=inputs, start_pos=start_pos)
    expected = composed(model, tokens, start_pos)
    wrong = [(composed(model, tokens, start_pos, v), why) for v, why in GPT_HINTS.items()
             if not (v == "start_pos ignored" and start_pos == 0)]
    checks.check_array(got, expected, f"{what}: the logits must be lm_head(ln_f(blocks(embedding_layer(tokens, "
                                      "start_pos)))) with a causal mask", inputs=inputs, dtype=F32,
                       rtol=1e-4, atol=1e-5, wrong=wrong,
                       shape_hint="one logit per token of the vocabulary at every position: (B, T, vocab_size)")


@settings(max_examples=10)
@given(b=st.integers(1, 2), t=st.integers(2, 6), seed=kit.seeds, data=st.data())
@example(b=1, t=5, seed=3, data=None)
def test_gpt_is_causal(b, t, seed, data):
    cut = 1 if data is None else data.draw(st.integers(0, t - 2), label="cut")
    rng = np.random.default_rng(seed)
    model = small_gpt(rng)
    tokens = rng.integers(0, 7, (b, t))
    later = tokens.copy()
    later[:, cut + 1:] = (tokens[:, cut + 1:] + 1 + rng.integers(0, 6, (b, t - cut - 1))) % 7  # all changed
    inputs = {"tokens": tokens, "tokens with the ones after t changed": later}
    what = "GPT(7, 4, 2, 2, 8)"
    a = np.asarray(logits_of(model, tokens, what=what, inputs=inputs).data, F64)
    c = np.asarray(logits_of(model, later, what=what, inputs=inputs).data, F64)
    if a.shape != (b, t, 7) or not np.allclose(a[:, :cut + 1], c[:, :cut + 1], rtol=1e-5, atol=1e-6):
        hint = GPT_HINTS["no mask"] if a.shape == (b, t, 7) and np.allclose(
            a, composed(model, tokens, 0, "no mask"), rtol=1e-4, atol=1e-5) else \
            "position t may only see tokens 0..t: every block needs the causal mask"
        checks.fail(f"{what}: changing the tokens after position t = {cut} must not change the logits at "
                    f"positions 0..{cut}.", f"before {checks.fmt(a[:, :cut + 1])}\nafter  {checks.fmt(c[:, :cut + 1])}",
                    inputs=inputs, hint=hint)


def test_gpt_uses_positions():
    rng = np.random.default_rng(4)
    model = small_gpt(rng)
    tokens = np.full((1, 5), 3)
    inputs = {"tokens": tokens}
    what = "GPT(7, 4, 2, 2, 8) on one token repeated five times"
    got = np.asarray(logits_of(model, tokens, what=what, inputs=inputs).data, F64)
    if got.shape != (1, 5, 7):
        checks.fail(f"{what}: the logits have the wrong shape.", f"got {got.shape}, expected (1, 5, 7)")
    if np.allclose(got, got[:, :1], rtol=1e-4, atol=1e-5):  # rounding differs with row length
        checks.fail(f"{what}: the logits must differ between positions.",
                    f"every position got the same logits {checks.fmt(got[0, 0])}", inputs=inputs,
                    hint="attention alone is blind to order: the embedding layer must add the learned "
                         "position embeddings (EmbeddingLayer's default pos_encoding='learned')")


def test_every_parameter_gets_a_gradient_from_the_loss():
    rng = np.random.default_rng(5)
    model = small_gpt(rng, layers=2)
    tokens = rng.integers(0, 7, (2, 6))
    targets = rng.integers(0, 7, (2, 6))
    what = "GPT(7, 4, 2, 2, 8): after CrossEntropyLoss(logits, targets).backward()"
    logits = logits_of(model, tokens, what="GPT(7, 4, 2, 2, 8)", inputs={"tokens": tokens})
    loss = CrossEntropyLoss()(logits.reshape(12, 7), Tensor(targets.reshape(12)))
    exc = kit.raised(lambda: loss.backward())
    if exc is not None:
        checks.fail(f"{what}: backward raised {type(exc).__name__}.", str(exc))
    names = kit.names_of(model)
    for i, p in enumerate(model.parameters()):
        g = p.grad
        if g is None or not np.any(np.asarray(g)):
            checks.fail(f"{what}: every parameter must receive a non-zero gradient.",
                        f"{names.get(id(p), f'parameter {i}')} (shape {tuple(p.shape)}) got "
                        f"{'no gradient' if g is None else 'an all-zero gradient'}",
                        inputs={"tokens": tokens, "targets": targets}, hint=kit.GRAPH_HINT)


@settings(max_examples=5)
@given(b=st.integers(1, 2), t=st.integers(1, 4), seed=kit.seeds)
@example(b=2, t=3, seed=6)
def test_gpt_gradients_match_finite_differences(b, t, seed):
    rng = np.random.default_rng(seed)
    model = small_gpt(rng, vocab=5, d=4, layers=1, heads=2, max_seq_len=4, dtype=F64)
    tokens = rng.integers(0, 5, (b, t))
    kit.param_gradcheck(model, lambda: model(Tensor(tokens)), rng=rng, inputs={"tokens": tokens},
                        what="GPT(5, 4, 1, 2, 4): the logits as a function of every parameter")
