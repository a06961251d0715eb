"""Hidden tests for KVCache: sizes and buffers, update/get/advance, overflow, reset,
layers with storage of their own, memory_usage, and values without graph."""
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


GET_HINT = ("get returns what earlier steps advanced past: positions 0 .. seq_pos - 1 (the tokens "
            "written since the last advance are not in it)")


def make(b, s, layers, h, d):
    from tinytorch.perf.memoization import KVCache
    what = f"KVCache({b}, {s}, {layers}, {h}, {d})"
    return kit.call(lambda: KVCache(b, s, layers, h, d), what=what, tensor=False), what


sizes = st.tuples(st.integers(1, 2), st.integers(1, 6), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))


def buffers(cache, what):
    caches = getattr(cache, "caches", None)
    if not isinstance(caches, list) or len(caches) != cache.num_layers:
        checks.fail(f"{what}.caches must be a list of num_layers={cache.num_layers} pairs.",
                    f"got {checks.fmt(caches)}")
    for layer, entry in enumerate(caches):
        if not isinstance(entry, (tuple, list)) or len(entry) != 2 \
                or not all(isinstance(t, Tensor) for t in entry):
            checks.fail(f"{what}.caches[{layer}] must be a pair (key_cache, value_cache) of Tensors.",
                        f"got {checks.fmt(entry)}")
    return caches


@settings(max_examples=10)
@given(size=sizes)
@example(size=(2, 5, 3, 2, 3))
def test_kvcache_sizes_and_buffers(size):
    from tinytorch.perf.memoization import KVCache
    b, s, layers, h, d = size
    cache, what = make(*size)
    checks.assert_from_kata(KVCache, KATA)
    got = tuple(getattr(cache, n, None) for n in ("batch_size", "max_seq_len", "num_layers", "num_heads", "head_dim"))
    if got != size:
        checks.fail(f"{what} must store its five sizes as given.",
                    f"(batch_size, max_seq_len, num_layers, num_heads, head_dim) = {got}, expected {size}")
    if getattr(cache, "seq_pos", None) != 0:
        checks.fail(f"{what}.seq_pos must start at 0.", f"got {getattr(cache, 'seq_pos', None)!r}")
    caches = buffers(cache, what)
    arrays = []
    for layer, (k, v) in enumerate(caches):
        for name, t in (("key_cache", k), ("value_cache", v)):
            checks.check_array(t, np.zeros((b, h, s, d), F32), f"{what}.caches[{layer}] {name}",
                               dtype=F32, shape_hint="(batch_size, num_heads, max_seq_len, head_dim): "
                               "preallocated for every position")
            arrays.append((f"caches[{layer}] {name}", t.data))
    for i, (n1, a1) in enumerate(arrays):
        for n2, a2 in arrays[i + 1:]:
            if np.shares_memory(a1, a2):
                checks.fail(f"{what}: every buffer must have storage of its own.",
                            f"{n1} and {n2} share memory",
                            hint="this matches a cache shared by the layers ([(k, v)] * num_layers "
                                 "repeats ONE pair): allocate a new pair for every layer, and separate "
                                 "arrays for keys and values")


@pytest.mark.parametrize("index,value", [(0, 0), (1, 0), (2, -1), (3, 0), (4, 2.5)])
def test_kvcache_rejects_sizes_that_are_not_positive_ints(index, value):
    from tinytorch.perf.memoization import KVCache
    args = [1, 4, 2, 2, 3]
    args[index] = value
    kit.expect_value_error(lambda: KVCache(*args), f"KVCache{tuple(args)}",
                           hint="the five sizes must be positive ints")


@settings(max_examples=10)
@given(b=st.integers(1, 2), layers=st.integers(1, 3), h=st.integers(1, 2), d=st.integers(1, 3),
       chunks=st.lists(st.integers(1, 3), min_size=1, max_size=4), extra=st.integers(0, 2),
       dtype=st.sampled_from([F32, F64]), seed=kit.seeds)
@example(b=1, layers=2, h=2, d=2, chunks=[1, 1, 1], extra=0, dtype=F32, seed=1)  # one token per step
@example(b=2, layers=1, h=1, d=3, chunks=[3, 1, 2], extra=1, dtype=F64, seed=2)  # a prompt, then steps
def test_update_returns_the_history_and_the_new_tokens(b, layers, h, d, chunks, extra, dtype, seed):
    rng = np.random.default_rng(seed)
    s = sum(chunks) + extra
    cache, what = make(b, s, layers, h, d)
    buffers(cache, what)
    held = [cache.caches[layer][0].data for layer in range(layers)]
    hist_k = [np.zeros((b, h, 0, d)) for _ in range(layers)]
    hist_v = [np.zeros((b, h, 0, d)) for _ in range(layers)]
    pos = 0
    for step, t in enumerate(chunks):
        for layer in range(layers):
            k, v = kit.normal(rng, (b, h, t, d), dtype=dtype), kit.normal(rng, (b, h, t, d), dtype=dtype)
            call = f"{what}: step {step}, seq_pos={pos}, update({layer}, key, value) with T={t} new tokens"
            out = kit.pair(kit.call(lambda: cache.update(layer, Tensor(k), Tensor(v)), what=call, tensor=False), call)
            want_k = np.concatenate([hist_k[layer], k], axis=2)
            want_v = np.concatenate([hist_v[layer], v], axis=2)
            for name, got, want, hist, new in (("keys", out[0], want_k, hist_k[layer], k),
                                               ("values", out[1], want_v, hist_v[layer], v)):
                wrong = [(hist, "this matches the history WITHOUT the new tokens: update must return "
                                "positions 0 .. seq_pos + T - 1, the current tokens included"),
                         (new, "this matches the new tokens alone: update returns the cached history "
                               "followed by the new tokens")]
                checks.check_array(got, want.astype(F32), f"{call}: the returned {name}", dtype=F32,
                                   wrong=wrong, shape_hint="(batch, heads, seq_pos + T, head_dim)",
                                   dtype_hint="the cache stores float32: cast keys and values when written")
            if getattr(cache, "seq_pos", None) != pos:
                checks.fail(f"{call} must not move seq_pos.", f"seq_pos is {cache.seq_pos}, expected {pos}",
                            hint="every layer writes at the same positions; advance() moves on, once")
            hist_k[layer], hist_v[layer] = want_k, want_v
        for layer in range(layers):
            got = kit.pair(kit.call(lambda: cache.get(layer), what=f"get({layer})", tensor=False), f"get({layer})")
            checks.check_array(got[0], hist_k[layer][:, :, :pos].astype(F32),
                               f"{what}: step {step}, get({layer}) keys before advance (positions 0 .. seq_pos-1)",
                               hint=GET_HINT, shape_hint=GET_HINT)
        kit.call(lambda: cache.advance(t), what=f"{what}: advance({t})", tensor=False)
        pos += t
        if cache.seq_pos != pos:
            checks.fail(f"{what}: advance({t}) must add {t} to seq_pos.", f"seq_pos is {cache.seq_pos}, expected {pos}",
                        hint="advance(num_tokens) adds num_tokens (a prompt of T tokens advances T at once)")
    for layer in range(layers):
        got = kit.pair(kit.call(lambda: cache.get(layer), what=f"get({layer})", tensor=False), f"get({layer})")
        for name, g, want in (("keys", got[0], hist_k[layer]), ("values", got[1], hist_v[layer])):
            checks.check_array(g, want.astype(F32), f"{what}: get({layer}) {name} after {len(chunks)} steps",
                               dtype=F32, shape_hint="(batch, heads, seq_pos, head_dim)")
        if cache.caches[layer][0].data is not held[layer]:
            checks.fail(f"{what}: the buffers are allocated once and written in place.",
                        f"caches[{layer}] key_cache holds a new array after the updates",
                        hint="write with slice assignment, key_cache.data[:, :, a:b] = key; never "
                             "concatenate or replace the buffer")
        full = np.zeros((b, h, s, d))
        full[:, :, :pos] = hist_k[layer]
        checks.check_array(cache.caches[layer][0], full.astype(F32),
                           f"{what}: caches[{layer}] key_cache after the updates (positions past seq_pos stay 0)",
                           hint="position p of the sequence is index p of the third axis")


def test_layers_do_not_share_storage():
    cache, what = make(1, 4, 3, 2, 2)
    k = np.ones((1, 2, 1, 2), F32)
    kit.call(lambda: cache.update(0, Tensor(k), Tensor(2 * k)), what=f"{what}.update(0, ...)", tensor=False)
    cache.advance(1)
    for layer in (1, 2):
        got = kit.pair(kit.call(lambda: cache.get(layer), what=f"get({layer})", tensor=False), f"get({layer})")
        checks.check_array(got[0], np.zeros((1, 2, 1, 2), F32),
                           f"{what}: after update(0, ...) and advance(), get({layer}) keys (never written)",
                           hint="this matches a cache shared by the layers: layer l reads back what layer 0 "
                                "wrote. Give every layer a (key_cache, value_cache) pair of its own")
    got = cache.get(0)
    checks.check_array(got[1], 2 * k, f"{what}: get(0) values after update(0, key, 2 * key)",
                       hint="keys and values go to separate buffers")


@pytest.mark.parametrize("case", ["layer -1", "layer num_layers", "layer 1.0", "T = 0", "heads", "head_dim",
                                  "batch", "3-D", "value shape"])
def test_update_and_get_reject_bad_arguments(case):
    cache, what = make(2, 4, 2, 3, 2)
    good = np.zeros((2, 3, 1, 2), F32)
    layer, key, value = 0, good, good
    if case.startswith("layer"):
        layer = {"layer -1": -1, "layer num_layers": 2, "layer 1.0": 1.0}[case]
    else:
        key = {"T = 0": np.zeros((2, 3, 0, 2)), "heads": np.zeros((2, 2, 1, 2)), "head_dim": np.zeros((2, 3, 1, 3)),
               "batch": np.zeros((1, 3, 1, 2)), "3-D": np.zeros((2, 3, 2)), "value shape": good}[case]
        value = np.zeros((2, 3, 2, 2)) if case == "value shape" else key
    kit.expect_value_error(lambda: cache.update(layer, Tensor(key), Tensor(value)),
                           f"{what}.update({layer!r}, key {key.shape}, value {value.shape})",
                           hint="layer_idx in [0, num_layers); key and value of shape "
                                "(batch_size, num_heads, T >= 1, head_dim)")
    if case.startswith("layer"):
        kit.expect_value_error(lambda: cache.get(layer), f"{what}.get({layer!r})",
                               hint="layer_idx must be an int in [0, num_layers)")
    if cache.seq_pos != 0 or np.any(cache.caches[0][0].data) or np.any(cache.caches[1][0].data):
        checks.fail(f"{what}: a refused update must change nothing.", "seq_pos or a buffer changed")


@pytest.mark.parametrize("chunks", [[4], [1, 1, 1, 1], [3, 1], [2, 2]])
def test_update_overflow_raises_naming_the_limit(chunks):
    cache, what = make(1, 4, 2, 1, 2)
    rng = np.random.default_rng(sum(chunks))
    for t in chunks:  # exactly max_seq_len = 4 positions: all of them fit
        for layer in (0, 1):
            k = kit.normal(rng, (1, 1, t, 2))
            kit.call(lambda: cache.update(layer, Tensor(k), Tensor(k)),
                     what=f"{what}: update({layer}, ...) with T={t} at seq_pos={cache.seq_pos} (it fits: "
                          f"{cache.seq_pos + t} <= max_seq_len=4)", tensor=False,
                     hint="an update fits while seq_pos + T <= max_seq_len")
        kit.call(lambda: cache.advance(t), what=f"{what}: advance({t}) at seq_pos={cache.seq_pos}", tensor=False,
                 hint="advancing up to seq_pos == max_seq_len is allowed")
    before = [c[0].data.copy() for c in cache.caches]
    one = np.ones((1, 1, 1, 2), F32)
    kit.expect_value_error(lambda: cache.update(0, Tensor(one), Tensor(one)),
                           f"{what}: update(0, one more token) with all 4 positions cached",
                           names="max_seq_len=4",
                           hint="check seq_pos + T > max_seq_len before writing (NumPy's own slice error "
                                "or a silently dropped token are not it)")
    if cache.seq_pos != 4 or any(not np.array_equal(c[0].data, b0) for c, b0 in zip(cache.caches, before)):
        checks.fail(f"{what}: a refused update must change nothing.", "seq_pos or a buffer changed")


def test_update_crossing_the_end_raises():
    cache, what = make(1, 3, 1, 1, 1)
    one = np.ones((1, 1, 2, 1), F32)
    cache.update(0, Tensor(one), Tensor(one))
    cache.advance(2)
    kit.expect_value_error(lambda: cache.update(0, Tensor(one), Tensor(one)),
                           f"{what}: update of T=2 tokens at seq_pos=2 (only 1 position left)",
                           names="max_seq_len=3", hint="the whole chunk must fit: seq_pos + T <= max_seq_len")
    checks.check_array(cache.caches[0][0], np.array([[[[1.0], [1.0], [0.0]]]], F32),
                       f"{what}: key_cache after the refused update", hint="check before writing: nothing changes")


def test_advance_overflow_raises_naming_the_limit():
    cache, what = make(1, 3, 1, 1, 1)
    kit.call(lambda: cache.advance(3), what=f"{what}.advance(3)", tensor=False,
             hint="advancing to seq_pos == max_seq_len is allowed")
    kit.expect_value_error(lambda: cache.advance(), f"{what}: advance() at seq_pos=3", names="max_seq_len=3",
                           hint="advance must refuse to move past max_seq_len")
    if cache.seq_pos != 3:
        checks.fail(f"{what}: a refused advance must not move seq_pos.", f"seq_pos is {cache.seq_pos}")


def test_reset_really_resets():
    rng = np.random.default_rng(5)
    cache, what = make(2, 5, 2, 2, 3)
    for layer in (0, 1):
        k = kit.normal(rng, (2, 2, 3, 3))
        cache.update(layer, Tensor(k), Tensor(k + 1))
    cache.advance(3)
    kit.call(lambda: cache.reset(), what=f"{what}.reset()", tensor=False)
    if cache.seq_pos != 0:
        checks.fail(f"{what}.reset() must set seq_pos back to 0.", f"seq_pos is {cache.seq_pos}")
    for layer, (k, v) in enumerate(buffers(cache, what)):
        for name, t in (("key_cache", k), ("value_cache", v)):
            checks.check_array(t, np.zeros((2, 2, 5, 3), F32), f"{what}.reset(): caches[{layer}] {name}",
                               hint="reset must zero every buffer (keys AND values of every layer): no key of "
                                    "the last sequence may survive")
    got = kit.pair(cache.get(0), "get(0)")
    checks.check_shape(got[0], (2, 2, 0, 3), f"{what}: get(0) after reset()")


@settings(max_examples=10)
@given(size=sizes)
@example(size=(1, 4, 3, 3, 2))
@example(size=(2, 6, 2, 1, 1))
def test_memory_usage_is_what_the_shapes_say(size):
    b, s, layers, h, d = size
    cache, what = make(*size)
    got = kit.call(lambda: cache.memory_usage(), what=f"{what}.memory_usage()", tensor=False)
    want = 2 * layers * b * h * s * d * 4
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        checks.fail(f"{what}.memory_usage() must return the bytes as an int.", f"got {got!r}",
                    hint="bytes, not megabytes (TinyTorch's get_memory_usage() returns a dict in MB)")
    if got != want:
        known = [(want // 2, "this matches ONE buffer per layer: keys and values are two buffers (the factor 2)"),
                 (want * 2, "this matches 8 bytes per number: the cache stores float32, 4 bytes"),
                 (want // 4, "this matches a count of numbers: memory_usage() is in bytes (x 4 for float32)"),
                 (want // layers, "this matches one layer: every layer has its own pair of buffers")]
        hint = "; or ".join(why for value, why in known if value == got and (value != want))
        checks.fail(f"{what}.memory_usage() must be 2 * num_layers * batch * heads * max_seq_len * head_dim * 4.",
                    f"got {got}, expected {want}", hint=hint)
    nbytes = sum(t.data.nbytes for pair_ in buffers(cache, what) for t in pair_)
    if nbytes != want:
        checks.fail(f"{what}: the buffers must take the bytes memory_usage() reports.",
                    f"their nbytes add up to {nbytes}, memory_usage() says {want}")


def test_the_cache_holds_values_not_graph():
    cache, what = make(1, 3, 1, 1, 2)
    k = Tensor(np.ones((1, 1, 1, 2)), requires_grad=True) * 2.0
    if not k.requires_grad:
        checks.fail("kata 06 must be enabled for this test (k = x * 2 with x requiring grad).")
    out = kit.pair(kit.call(lambda: cache.update(0, k, k), what=f"{what}.update(0, key requiring grad, ...)",
                            tensor=False), "update")
    cache.advance()
    got = kit.pair(cache.get(0), "get(0)")
    for name, t in (("update's keys", out[0]), ("update's values", out[1]), ("get's keys", got[0])):
        if getattr(t, "requires_grad", False):
            checks.fail(f"{what}: {name} must not require grad (the cache holds values, never graph).",
                        "got requires_grad=True",
                        hint="return new Tensors of the buffers' data: Tensor(key_cache.data[...]); the "
                             "cache is for inference")
