"""Hidden tests for the cache inside a model: CachedAttention against your kata-12 attention,
enable/disable on a kata-13 GPT, cached steps against the full forward, and generate_cached
against model.generate (tokens, work per step, the model left as found, no graph, limits)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

import memoization_kit as kit
from memoization_kit import F32, F64, KATA


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def originals(model):
    return [block.attention for block in model.blocks]


def enabled(model, *args, what="enable_kv_cache(model)"):
    from tinytorch.perf.memoization import KVCache, enable_kv_cache
    cache = kit.call(lambda: enable_kv_cache(model, *args), what=what, tensor=False)
    if not isinstance(cache, KVCache):
        checks.fail(f"{what} must return the KVCache it made.", f"got {checks.fmt(cache)}")
    return cache


def as_found(model, attentions, what):
    """The model carries no trace of the cache: its attention objects, no forward of its own."""
    if len(model.blocks) != len(attentions) or any(b.attention is not a for b, a in zip(model.blocks, attentions)):
        checks.fail(f"{what} must leave every block with its original attention object.",
                    f"block.attention is now {[type(b.attention).__name__ for b in model.blocks]}",
                    hint="put the originals back (also when generation raises: try/finally)")
    if "forward" in vars(model):
        checks.fail(f"{what} must leave model.forward as it was.",
                    "the model still has a forward attribute of its own",
                    hint="del model.forward in a finally block")
    if getattr(model, "_kv_cache", None) is not None:
        checks.fail(f"{what} must leave a model without a cache without one.",
                    f"model._kv_cache is {checks.fmt(model._kv_cache)}", hint="disable the cache it enabled")


# ---------------------------------------------------------------- CachedAttention

@settings(max_examples=10)
@given(b=st.integers(1, 2), heads=st.sampled_from([1, 2, 3]), hd=st.integers(1, 3), prompt=st.integers(1, 3),
       steps=st.integers(1, 3), seed=kit.seeds)
@example(b=2, heads=2, hd=3, prompt=3, steps=2, seed=2)  # a prompt in one call, then steps
@example(b=1, heads=2, hd=2, prompt=1, steps=3, seed=1)  # one token at a time from the start
def test_cached_attention_matches_full_attention(b, heads, hd, prompt, steps, seed):
    from tinytorch.perf.memoization import CachedAttention, KVCache
    rng = np.random.default_rng(seed)
    embed, total = heads * hd, prompt + steps
    att = kit.mha(seed, embed, heads)
    x = kit.normal(rng, (b, total, embed))
    cache = KVCache(b, total, 1, heads, hd)
    wrapped = kit.call(lambda: CachedAttention(att, cache, 0), what="CachedAttention(attention, cache, 0)",
                       tensor=False)
    if getattr(wrapped, "attention", None) is not att or getattr(wrapped, "cache", None) is not cache \
            or getattr(wrapped, "layer_idx", None) != 0:
        checks.fail("CachedAttention(attention, cache, layer_idx) must keep its three arguments as "
                    ".attention, .cache and .layer_idx.")
    checks.assert_from_kata(CachedAttention, KATA)
    start = 0
    for length in [prompt] + [1] * steps:
        what = (f"CachedAttention.forward on {length} new token(s) at positions {start}..{start + length - 1} "
                f"(embed_dim={embed}, num_heads={heads}, batch={b})")
        chunk = Tensor(x[:, start:start + length])
        out = kit.call(lambda: wrapped(chunk), what=what, inputs={"x": x})
        want = kit.attention(att, x, start, length)
        checks.check_array(out, want.astype(F32), f"{what}: equals your kata-12 attention on the whole "
                           f"sequence (causal) at those positions", inputs={"x": x}, dtype=F32, rtol=1e-4, atol=1e-5,
                           wrong=kit.wrong_attention(att, x, start, length),
                           hint="project the new tokens, update the cache, attend over EVERY key update "
                                "returns (history and new, causally), merge the heads, out_proj")
        if cache.seq_pos != start:
            checks.fail(f"{what} must not advance the cache.", f"seq_pos moved from {start} to {cache.seq_pos}",
                        hint="the caller advances once every layer has written (cache.advance(T))")
        cache.advance(length)
        start += length


def test_cached_attention_builds_no_graph():
    from tinytorch.perf.memoization import CachedAttention, KVCache
    att = kit.mha(3, 4, 2)
    cache = KVCache(1, 4, 1, 2, 2)
    wrapped = CachedAttention(att, cache, 0)
    x = Tensor(np.ones((1, 2, 4), F32), requires_grad=True)
    out = kit.call(lambda: wrapped(x), what="CachedAttention.forward(x requiring grad) in grad mode")
    if out.requires_grad:
        checks.fail("CachedAttention.forward must build no graph (its output must not require grad), "
                    "even in grad mode.", "got requires_grad=True",
                    hint="run the cached attention under no_grad(): the cache is for inference only")


# ---------------------------------------------------------------- enable / disable

def test_enable_kv_cache_wraps_every_block_of_that_model_only():
    from tinytorch.core.attention import MultiHeadAttention
    from tinytorch.core.transformers import TransformerBlock
    from tinytorch.models.transformer import GPT
    from tinytorch.perf.memoization import CachedAttention, enable_kv_cache
    checks.assert_from_kata(enable_kv_cache, KATA)
    model, other = kit.gpt(1, embed=6, layers=3, heads=3, max_seq_len=9), kit.gpt(2)
    before, params = originals(model), [id(p) for p in model.parameters()]
    classes = [GPT.forward, TransformerBlock.forward, MultiHeadAttention.forward]
    cache = enabled(model)
    sizes = tuple(getattr(cache, n, None) for n in ("batch_size", "max_seq_len", "num_layers", "num_heads", "head_dim"))
    if sizes != (1, 9, 3, 3, 2):
        checks.fail("enable_kv_cache(GPT(7, 6, 3, 3, 9)) must make KVCache(1, 9, 3, 3, 2).",
                    f"(batch_size, max_seq_len, num_layers, num_heads, head_dim) = {sizes}",
                    hint="batch_size (default 1), model.max_seq_len, len(model.blocks), model.num_heads, "
                         "model.embed_dim // model.num_heads")
    if getattr(model, "_kv_cache", None) is not cache:
        checks.fail("enable_kv_cache(model) must keep the cache it returns as model._kv_cache.")
    for i, (block, att) in enumerate(zip(model.blocks, before)):
        w = block.attention
        if not isinstance(w, CachedAttention) or w.attention is not att or w.cache is not cache or w.layer_idx != i:
            checks.fail(f"enable_kv_cache(model): block {i}'s attention must be CachedAttention(its original "
                        f"attention, the cache, {i}).",
                        f"got {type(w).__name__} with attention={type(getattr(w, 'attention', None)).__name__}, "
                        f"layer_idx={getattr(w, 'layer_idx', None)!r}",
                        hint="one stand-in per block, with the block's index: each layer writes its own "
                             "part of the cache")
    if [id(p) for p in model.parameters()] != params:
        checks.fail("With the cache enabled, model.parameters() must list the same Tensors in the same order.",
                    hint="CachedAttention is a Layer holding the original attention as .attention")
    if any(type(b.attention) is not MultiHeadAttention for b in other.blocks):
        checks.fail("enable_kv_cache(model) must change that model only: another GPT's blocks changed.")
    if [GPT.forward, TransformerBlock.forward, MultiHeadAttention.forward] != classes:
        checks.fail("enable_kv_cache(model) must not patch the classes (GPT, TransformerBlock, "
                    "MultiHeadAttention): wrap the attention of this model's blocks.")
    big = enabled(model, 3, what="enable_kv_cache(model, 3) on a model whose cache is enabled")
    if big.batch_size != 3 or model._kv_cache is not big:
        checks.fail("enable_kv_cache(model, 3) must make and keep a cache of batch_size 3.")
    for i, (block, att) in enumerate(zip(model.blocks, before)):
        if not isinstance(block.attention, CachedAttention) or block.attention.attention is not att \
                or block.attention.cache is not big:
            checks.fail("Enabling a model whose cache is enabled must start again from its original attention.",
                        f"block {i}: attention.attention is {type(getattr(block.attention, 'attention', None)).__name__}",
                        hint="no stand-in inside a stand-in: unwrap (or disable) first, then wrap the originals "
                             "with the new cache")


def test_disable_kv_cache_restores_the_original_objects():
    from tinytorch.perf.memoization import disable_kv_cache
    model = kit.gpt(4)
    tokens = np.array([[1, 2, 3]])
    before_logits = np.array(model(Tensor(tokens)).data)
    before = originals(model)
    kit.call(lambda: disable_kv_cache(model), what="disable_kv_cache(model) on a model without a cache", tensor=False)
    enabled(model)
    kit.call(lambda: disable_kv_cache(model), what="disable_kv_cache(model)", tensor=False)
    as_found(model, before, "disable_kv_cache(model)")
    checks.check_array(model(Tensor(tokens)), before_logits, "model(tokens) after enable_kv_cache then "
                       "disable_kv_cache: the logits of the untouched model",
                       hint="disable must give back the original attention, untouched")


# ---------------------------------------------------------------- cached steps

@settings(max_examples=8, deadline=None)
@given(b=st.integers(1, 2), layers=st.integers(1, 2), heads=st.sampled_from([1, 2]), hd=st.integers(1, 3),
       prompt=st.integers(1, 4), steps=st.integers(1, 4), extra=st.integers(0, 2), seed=kit.seeds)
@example(b=1, layers=2, heads=2, hd=2, prompt=1, steps=4, extra=0, seed=1)
@example(b=2, layers=2, heads=2, hd=2, prompt=3, steps=3, extra=1, seed=2)
def test_cached_steps_give_the_logits_of_the_full_forward(b, layers, heads, hd, prompt, steps, extra, seed):
    rng = np.random.default_rng(seed)
    size = dict(vocab=7, embed=heads * hd, layers=layers, heads=heads, max_seq_len=prompt + steps + extra)
    model, twin = kit.gpt(seed, **size), kit.gpt(seed, **size)
    tokens = rng.integers(0, 7, (b, prompt + steps))
    full = np.asarray(twin(Tensor(tokens)).data, F64)
    cache = enabled(model, b, what=f"enable_kv_cache(model, {b})")
    start = 0
    for step, length in enumerate([prompt] + [1] * steps):
        new = tokens[:, start:start + length]
        what = (f"step {step} with the cache enabled: model(tokens[:, {start}:{start + length}], "
                f"start_pos={start}) (GPT({size['vocab']}, {size['embed']}, {layers}, {heads}, "
                f"{size['max_seq_len']}), batch {b})")
        out = kit.call(lambda: model(Tensor(new), start_pos=cache.seq_pos), what=what, inputs={"tokens": tokens})
        checks.check_array(out, full[:, start:start + length].astype(F32),
                           f"{what}: the logits of the full forward at positions {start}..{start + length - 1}",
                           inputs={"tokens": tokens}, dtype=F32, rtol=1e-4, atol=1e-5,
                           hint="the prompt step matches only if the new tokens attend causally to each "
                                "other; later steps only if the current token attends to itself and to "
                                "every cached one, at the right positions (start_pos = seq_pos)"
                                if step else "a prompt of T tokens: causal attention among them")
        kit.call(lambda: cache.advance(length), what=f"cache.advance({length})", tensor=False)
        start += length


# ---------------------------------------------------------------- generate_cached

def run_cached(model, prompt, *args, what, hint="", overflow_hint="", **kwargs):
    """generate_cached's ids; `overflow_hint` explains a crash whose message names max_seq_len
    (the cache's overflow error) when the tokens do fit."""
    from tinytorch.perf.memoization import generate_cached
    inputs = {"prompt": np.asarray(getattr(prompt, "data", prompt))}
    out = [None]

    def run():
        out[0] = generate_cached(model, prompt, *args, **kwargs)

    exc = kit.raised(run)
    if exc is not None:
        checks.fail(f"{what} raised {type(exc).__name__}.", str(exc), inputs=inputs,
                    hint=overflow_hint if overflow_hint and "max_seq_len" in str(exc) else hint)
    if not isinstance(out[0], Tensor):
        checks.fail(f"{what} must return a Tensor.", f"got {type(out[0]).__name__}: {checks.fmt(out[0])}",
                    inputs=inputs)
    return np.asarray(out[0].data)


@settings(max_examples=8, deadline=None)
@given(b=st.integers(1, 2), prompt=st.integers(1, 4), n=st.integers(1, 5), extra=st.integers(0, 2),
       temperature=st.sampled_from([0, 0, 0.7, 1.5]), seed=kit.seeds)
@example(b=1, prompt=3, n=6, extra=0, temperature=0, seed=1)  # uses exactly max_seq_len positions
@example(b=2, prompt=2, n=4, extra=1, temperature=0.8, seed=2)
@example(b=1, prompt=1, n=5, extra=0, temperature=0, seed=3)
def test_generate_cached_gives_the_tokens_of_generate(b, prompt, n, extra, temperature, seed):
    from tinytorch.perf.memoization import generate_cached
    rng = np.random.default_rng(seed)
    max_seq_len = prompt + n - 1 + extra
    model, twin = kit.gpt(seed, max_seq_len=max_seq_len), kit.gpt(seed, max_seq_len=max_seq_len)
    p = rng.integers(0, 7, (b, prompt))
    what = (f"generate_cached(model, prompt of shape {p.shape}, {n}, temperature={temperature}, seed={seed % 97}) "
            f"with max_seq_len={max_seq_len}")
    checks.assert_from_kata(generate_cached, KATA)
    want = np.asarray(twin.generate(Tensor(p), n, temperature, seed % 97).data)
    got = run_cached(model, Tensor(p), n, temperature, seed % 97, what=what,
                     overflow_hint=f"the cache overflowed although the tokens fit (P + max_new_tokens - 1 = "
                                   f"{prompt + n - 1} <= max_seq_len): positions were skipped; advance AFTER "
                                   f"the forward that wrote them, once per step")
    checks.check_shape(got, want.shape, what, inputs={"prompt": p},
                       hint="the result is what model.generate returns: (B, P + max_new_tokens)")
    if not np.array_equal(got, want):
        col = int(np.argwhere(np.any(got != want, axis=0))[0, 0])
        checks.fail(f"{what} must give the tokens of model.generate, token for token.",
                    f"first difference at column {col} (new token {col - prompt}): got {got[:, col]}, "
                    f"model.generate gave {want[:, col]}\nyours  {got.astype(int).tolist()}\n"
                    f"theirs {want.astype(int).tolist()}", inputs={"prompt": p},
                    hint="the same logits give the same tokens: check each cached step against the full "
                         "forward (the current token included, the positions, the advance after each step)")


def test_generate_cached_feeds_every_token_once():
    model = kit.gpt(5, max_seq_len=12)
    spy = kit.Spy(model.embedding_layer, lambda tokens, start_pos=0: (
        np.asarray(getattr(tokens, "data", tokens)).shape[-1], start_pos))
    try:
        run_cached(model, Tensor(np.array([[1, 2, 3]])), 6, 0, what="generate_cached(model, prompt of 3, 6)")
    finally:
        spy.remove()
    want = [(3, 0)] + [(1, p) for p in range(3, 8)]
    if spy.calls != want:
        total = sum(c[0] for c in spy.calls)
        checks.fail("generate_cached(model, a prompt of 3 tokens, 6 new) must feed every token once: the prompt "
                    "in one forward, then each new token alone at its position.",
                    f"(tokens, start_pos) of each forward: {spy.calls}\nexpected {want} (8 token positions in "
                    f"all; yours {total})",
                    hint="this recomputes the whole window at every step: that is model.generate without the "
                         "cache" if total > 8 else "feed the tokens the cache does not hold yet, at "
                         "start_pos=cache.seq_pos, and advance after each forward")


def test_generate_cached_leaves_the_model_as_found():
    model = kit.gpt(6)
    before = originals(model)
    run_cached(model, Tensor(np.array([[1, 2]])), 3, 0, what="generate_cached(model, prompt, 3)")
    as_found(model, before, "generate_cached(model, ...)")
    from tinytorch.perf.memoization import generate_cached
    kit.expect_value_error(lambda: generate_cached(model, Tensor(np.array([[1, 2]])), 3, -1.0),
                           "generate_cached(model, prompt, 3, temperature=-1)",
                           hint="the arguments of model.generate, with its checks")
    as_found(model, before, "generate_cached(model, ...) that raised")


def test_generate_cached_keeps_an_enabled_cache():
    from tinytorch.perf.memoization import CachedAttention, generate_cached
    model, twin = kit.gpt(7, max_seq_len=9), kit.gpt(7, max_seq_len=9)
    cache = enabled(model, 2, what="enable_kv_cache(model, 2)")
    model(Tensor(np.array([[4, 5, 6], [1, 1, 1]])), start_pos=0)
    cache.advance(3)  # a sequence left in the cache: generate_cached must start from scratch
    p = np.array([[1, 2, 3], [3, 2, 1]])
    want = np.asarray(twin.generate(Tensor(p), 4, 0).data)
    got = run_cached(model, Tensor(p), 4, 0, what="generate_cached(model with an enabled cache of batch 2 that "
                     "still holds 3 positions of another sequence, prompt of shape (2, 3), 4)",
                     hint="the cache held 3 positions of another sequence when generate_cached started: reset the "
                          "cache first (its keys and seq_pos belong to the last sequence)")
    if not np.array_equal(got, want):
        checks.fail("generate_cached on a model whose cache is enabled (and not empty) must give the tokens "
                    "of model.generate.",
                    f"got {got.astype(int).tolist()}, expected {want.astype(int).tolist()}",
                    hint="the cache held 3 positions of another sequence when generate_cached started: reset the "
                          "cache first (its keys and seq_pos belong to the last sequence)")
    if getattr(model, "_kv_cache", None) is not cache or not all(
            isinstance(b.attention, CachedAttention) and b.attention.cache is cache for b in model.blocks):
        checks.fail("generate_cached must leave an enabled cache enabled (the same cache object).")
    kit.expect_value_error(lambda: generate_cached(model, Tensor(np.array([[1, 2]])), 2, 0),
                           "generate_cached(model with a cache of batch_size=2, a prompt of 1 row)",
                           hint="the enabled cache's batch_size must equal the prompt's rows")


def test_generate_cached_builds_no_graph():
    from tinytorch.core.autograd import is_grad_enabled
    model = kit.gpt(8)
    spy = kit.Spy(model.lm_head, lambda x: is_grad_enabled())
    try:
        run_cached(model, Tensor(np.array([[1, 2]])), 3, 0, what="generate_cached(model, prompt, 3)")
    finally:
        spy.remove()
    if not spy.calls or any(spy.calls):
        checks.fail("generate_cached must build no graph: every forward runs with grad mode off.",
                    f"grad mode at each call of lm_head: {spy.calls}",
                    hint="run the steps under no_grad() (model.generate does)")


@pytest.mark.parametrize("prompt,n", [(3, 5), (1, 7), (6, 2)])
def test_generate_cached_raises_past_max_seq_len(prompt, n):
    from tinytorch.perf.memoization import generate_cached
    model = kit.gpt(9, max_seq_len=6)
    p = Tensor(np.arange(prompt)[None] % 7)
    what = f"generate_cached(model, prompt of {prompt}, {n}) with max_seq_len=6"
    before = originals(model)
    ok = run_cached(model, p, n - 1, 0, what=f"generate_cached(model, prompt of {prompt}, {n - 1}) with "
                    f"max_seq_len=6 ({prompt} + {n - 1} - 1 = {prompt + n - 2} positions: it fits)")
    checks.check_shape(ok, (1, prompt + n - 1), "generate_cached at exactly max_seq_len positions")
    spy = kit.Spy(model.embedding_layer, lambda *a, **k: 1)
    try:
        kit.expect_value_error(lambda: generate_cached(model, p, n, 0),
                               f"{what} ({prompt} + {n} - 1 = {prompt + n - 1} positions needed)",
                               names="max_seq_len=6",
                               hint="the cache cannot slide: check P + max_new_tokens - 1 <= max_seq_len "
                                    "before generating")
    finally:
        spy.remove()
    if spy.calls:
        checks.fail(f"{what} must raise before generating anything.", f"the model ran {len(spy.calls)} forwards first")
    as_found(model, before, f"{what} (it raised)")
