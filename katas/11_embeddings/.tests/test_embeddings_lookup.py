"""Hidden tests for Embedding: the table, the lookup, its errors and its scatter-add backward.

Oracles: NumPy gathers and a Python-loop scatter-add in float64, and finite differences.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from embeddings_kit import (F32, F64, KATA, call, expect_value_error, raised, scatter_add,
                            scatter_assign)
from pytest_tinytorch import checks
from tinytorch.core.embeddings import Embedding, EmbeddingFunction
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor

KINDS = ("Tensor", "int64 array", "int32 array", "whole float64 array", "list")
REPEAT_HINT = ("a repeated id must collect the gradient of EVERY position that looked it up: "
               "`dw[ids] += g` (or `dw[ids] = g`) keeps only one of them; use np.add.at(dw, ids, g)")


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def as_kind(ids: np.ndarray, kind: str):
    return {"Tensor": lambda: Tensor(ids), "int64 array": lambda: ids.astype(np.int64),
            "int32 array": lambda: ids.astype(np.int32),
            "whole float64 array": lambda: ids.astype(F64), "list": lambda: ids.tolist()}[kind]()


def table(vocab_size, embed_dim, dtype=F32, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (vocab_size, embed_dim)).astype(dtype)


def made(vocab_size, embed_dim, weight=None):
    emb = call(Embedding, f"Embedding({vocab_size}, {embed_dim})", vocab_size, embed_dim)
    if weight is not None:
        emb.weight = Tensor(weight, requires_grad=True)
    return emb


def _ids(seed, vocab_size, shape):
    return np.random.default_rng(seed).integers(0, vocab_size, size=shape)


lookups = st.builds(
    lambda v, d, shape, kind, seed: (v, d, _ids(seed, v, tuple(shape)), kind),
    st.integers(1, 7), st.integers(1, 4), st.lists(st.integers(0, 4), min_size=1, max_size=3),
    st.sampled_from(KINDS), st.integers(0, 2**32 - 1))


# ---------------------------------------------------------------- the table

def test_embedding_table_shape_dtype_bounds_and_parameters():
    for v, d in ((40, 60), (1, 1), (7, 3)):
        emb = made(v, d)
        if not isinstance(emb, Layer):
            checks.fail("Embedding must subclass kata 03's Layer.", f"its bases are {type(emb).__mro__[1:]}",
                        hint="class Embedding(Layer), and call super().__init__() first: Layer gives "
                             "__call__, parameters() and train/eval")
        for name, want in (("vocab_size", v), ("embed_dim", d)):
            if getattr(emb, name, None) != want:
                checks.fail(f"Embedding({v}, {d}) must store {name} = {want}.",
                            f"got {getattr(emb, name, '<missing>')!r}")
        w = getattr(emb, "weight", None)
        if not isinstance(w, Tensor):
            checks.fail(f"Embedding({v}, {d}).weight must be a Tensor.", f"got {type(w).__name__}")
        checks.check_shape(w, (v, d), f"Embedding({v}, {d}).weight",
                           hint="one row per token id: (vocab_size, embed_dim)")
        if w.data.dtype != F32:
            checks.fail(f"Embedding({v}, {d}).weight must be float32.", f"got {w.data.dtype}",
                        hint="draw with np.random, then .astype(np.float32)")
        if w.requires_grad is not True:
            checks.fail(f"Embedding({v}, {d}).weight must have requires_grad=True.",
                        f"requires_grad is {w.requires_grad!r}",
                        hint="without it, kata 06 records nothing and the table never learns")
        limit = math.sqrt(6.0 / (v + d))
        biggest = float(np.max(np.abs(w.data)))
        if biggest > limit * (1 + 1e-6):
            checks.fail(f"Embedding({v}, {d}).weight must lie in [-a, a], a = sqrt(6 / (vocab_size "
                        f"+ embed_dim)) = {limit:.4f}.", f"the largest |value| is {biggest:.4f}",
                        hint="Xavier uniform: np.random.uniform(-a, a, size=(vocab_size, embed_dim))")
        if v * d >= 1000 and biggest < 0.9 * limit:
            checks.fail(f"Embedding({v}, {d}).weight must be drawn uniformly from [-a, a], a = "
                        f"sqrt(6 / (vocab_size + embed_dim)) = {limit:.4f}.",
                        f"among {v * d} values the largest |value| is only {biggest:.4f}",
                        hint="the bound is sqrt(6 / (vocab_size + embed_dim)), a uniform draw "
                             "over the whole interval")
        params = call(emb.parameters, f"Embedding({v}, {d}).parameters()")
        if not (isinstance(params, list) and len(params) == 1 and params[0] is w):
            checks.fail(f"Embedding({v}, {d}).parameters() must be [weight].",
                        f"got {params!r}", hint="Embedding subclasses kata 03's Layer, whose "
                                                "parameters() finds the weight Tensor")


def test_embedding_table_follows_np_random_seed():
    np.random.seed(11)
    a = made(9, 5).weight.data.copy()
    np.random.seed(11)
    b = made(9, 5).weight.data.copy()
    np.random.seed(12)
    c = made(9, 5).weight.data.copy()
    if not np.array_equal(a, b):
        checks.fail("Embedding must be reproducible: after np.random.seed(11), two Embedding(9, 5) "
                    "tables must be equal.", f"got\n{checks.fmt(a)}\nand\n{checks.fmt(b)}",
                    hint="draw from np.random (np.random.uniform), not from a generator of your "
                         "own created at import")
    if np.array_equal(a, c):
        checks.fail("Embedding must draw from np.random: the seeds 11 and 12 gave the same table.",
                    hint="a generator with a fixed seed ignores np.random.seed; use np.random.uniform")


SIZE_CASES = [  # (what, bad arguments, good arguments)
    ("Embedding", (0, 3), (3, 3)), ("Embedding", (3, 0), (3, 2)), ("Embedding", (-2, 3), (2, 3)),
    ("Embedding", (2.5, 3), (np.int64(3), 3)), ("PositionalEncoding", (0, 4), (3, 4)),
    ("PositionalEncoding", (4, -1), (4, np.int64(2))), ("create_sinusoidal_embeddings", (0, 4), (1, 4)),
    ("create_sinusoidal_embeddings", (4, 0), (4, 1)), ("EmbeddingLayer", (0, 4), (1, 4)),
    ("EmbeddingLayer", (5, 4, 0), (5, 4, 8)),
]


@pytest.mark.parametrize(("name", "bad", "good"), SIZE_CASES,
                         ids=[f"{n}-" + "-".join(map(str, b)) for n, b, _ in SIZE_CASES])
def test_sizes_must_be_positive_ints(name, bad, good):
    from tinytorch.core import embeddings
    make = getattr(embeddings, name)
    expect_value_error(lambda: make(*bad), f"{name}{bad}",
                       hint="every size (vocab_size, embed_dim, max_seq_len) must be a positive "
                            "int: check it in the constructor and raise ValueError")
    call(make, f"{name}{good}", *good, hint="positive sizes are fine, NumPy integers too")


# ---------------------------------------------------------------- the lookup

@settings(max_examples=30)
@given(case=lookups)
@example(case=(5, 3, np.array([[0, 2, 0], [4, 4, 1]]), "Tensor"))
@example(case=(4, 2, np.zeros((0,), np.int64), "int64 array"))
@example(case=(4, 2, np.zeros((2, 0), np.int64), "Tensor"))
@example(case=(6, 3, np.array([[[5]], [[0]]]), "whole float64 array"))
@example(case=(3, 4, np.array([2, 0, 2, 1]), "list"))
def test_lookup_gathers_one_row_per_id(case):
    v, d, ids, kind = case
    if kind == "list":  # a list cannot hold an empty axis before the last: ids are what it says
        ids = np.array(ids.tolist(), dtype=np.int64)
    weight = table(v, d, F32 if kind != "list" else F64, seed=v * 10 + d)
    emb = made(v, d, weight)
    given_ids = as_kind(ids, kind)
    inputs = {"weight": weight, f"ids ({kind})": ids}
    out = call(emb, f"Embedding({v}, {d})(ids)", given_ids, inputs=inputs)
    flat = weight[ids.reshape(-1)] if ids.size else np.zeros((0, d), weight.dtype)
    checks.check_array(out, weight[ids], f"Embedding({v}, {d})(ids) with ids a {kind}", inputs=inputs,
                       type_=Tensor, dtype=weight.dtype, rtol=0, atol=0,
                       wrong=[(flat, "keep the ids' shape: the output is ids.shape + (embed_dim,)")],
                       shape_hint="the output has shape ids.shape + (embed_dim,): weight.data[ids] "
                                  "with an int array ids of the ids' own shape",
                       dtype_hint="the output has the weight's dtype (a float64 table gives float64)",
                       hint="row k of the output is the row weight[id] of the id at position k")


def test_lookup_of_one_int_gives_one_row():
    weight = table(5, 3)
    emb = made(5, 3, weight)
    for i in (0, 4, np.int64(2)):
        out = call(emb, f"Embedding(5, 3)({i!r})", i, inputs={"weight": weight})
        checks.check_array(out, weight[int(i)], f"Embedding(5, 3)({i!r})", inputs={"weight": weight},
                           type_=Tensor, dtype=F32, rtol=0, atol=0,
                           shape_hint="a single id gives a single row, of shape (embed_dim,)")


def test_lookup_reads_the_current_weight():
    emb = made(4, 3)
    ids = np.array([3, 1])
    call(emb, "Embedding(4, 3)([3, 1])", ids)
    new = table(4, 3, F64, seed=5)
    emb.weight = Tensor(new, requires_grad=True)
    out = call(emb, "Embedding(4, 3)([3, 1]) after emb.weight = a new Tensor", ids)
    checks.check_array(out, new[ids], "Embedding(4, 3)([3, 1]) after emb.weight = Tensor(new)",
                       inputs={"new": new}, type_=Tensor, dtype=F64, rtol=0, atol=0,
                       hint="read self.weight at every call; do not keep a copy of the table",
                       dtype_hint="the new weight is float64, the output float32: read self.weight "
                                  "at every call; do not keep a copy of the table")


@settings(max_examples=10)
@given(v=st.integers(1, 6), shape=st.sampled_from([(1,), (4,), (2, 3)]), seed=st.integers(0, 99),
       bad=st.sampled_from(["vocab_size", "vocab_size + 3", "-1", "-vocab_size"]))
@example(v=5, shape=(4,), seed=0, bad="vocab_size")
@example(v=5, shape=(4,), seed=0, bad="-1")
@example(v=5, shape=(0,), seed=0, bad="none")
def test_out_of_range_ids_raise_value_error_naming_vocab_size(v, shape, seed, bad):
    weight = table(v, 2)
    emb = made(v, 2, weight)
    ids = _ids(seed, v, shape)
    if bad == "none":  # an empty batch has no bad id: a min() or max() of it must not crash
        out = call(emb, f"Embedding({v}, 2) of an empty id array", ids,
                   hint="an empty ids array is valid (no id is out of range): np.min / np.max of "
                        "an empty array raise, so test with np.any(ids < 0) instead")
        checks.check_shape(out, (0, 2), f"Embedding({v}, 2) of an empty id array")
        return
    bad_id = eval(bad, {"vocab_size": v})
    ids.flat[seed % ids.size] = bad_id
    before = weight.copy()
    hint = (f"ids must be in [0, vocab_size - 1]; a negative id is an error too (NumPy would "
            f"quietly read row vocab_size{bad_id})" if bad_id < 0 else
            f"the largest valid id is vocab_size - 1 = {v - 1}")
    for kind in ("Tensor", "int64 array", "list"):
        expect_value_error(lambda: emb(as_kind(ids, kind)), f"Embedding({v}, 2)(ids) with id {bad_id}",
                           must_contain=(f"vocab_size={v}", str(bad_id)), inputs={"ids": ids},
                           hint=hint, missing_hint=f"name the limit as vocab_size={v} and the bad id")
    if not np.array_equal(emb.weight.data, before):
        checks.fail("A failed lookup must not change the table.", inputs={"ids": ids})


@pytest.mark.parametrize("bad", ["1.5", "-0.5", "nan", "inf", "bool array"])
def test_non_integral_ids_raise_value_error(bad):
    emb = made(4, 2)
    ids = (np.array([True, False]) if bad == "bool array"
           else np.array([0.0, float(bad), 2.0]))
    for given_ids, kind in ((ids, "ndarray"), (Tensor(ids.astype(F32)) if bad != "bool array" else None,
                                               "Tensor")):
        if given_ids is None:
            continue
        expect_value_error(lambda: emb(given_ids), f"Embedding(4, 2)(ids) with ids {ids} ({kind})",
                           hint="ids must be whole numbers: check that every value is finite and "
                                "equal to its floor before casting (astype(int) would quietly turn "
                                "1.5 into 1); a bool array is not a list of ids")


def test_lookup_leaves_ids_and_table_unchanged():
    weight = table(6, 3)
    emb = made(6, 3, weight)
    ids = np.array([[5.0, 0.0], [5.0, 2.0]])
    keep_ids, keep_w = ids.copy(), weight.copy()
    t = Tensor(ids.copy())
    for x in (ids, t):
        out = call(emb, "Embedding(6, 3)(ids)", x)
        out.data[...] = 0.0  # the output must be a copy: writing into it must not reach the table
    for name, got, want in (("ids", ids, keep_ids), ("the Tensor ids", t.data, keep_ids),
                            ("the table", emb.weight.data, keep_w)):
        if not np.array_equal(got, want):
            checks.fail(f"A lookup must not modify {name}.", f"now {checks.fmt(got)}, was "
                        f"{checks.fmt(want)}", hint="convert the ids into a new int array, and "
                        "gather into a new array (fancy indexing copies)")


# ---------------------------------------------------------------- the recorded Function

def test_lookup_records_embedding_function():
    weight = table(5, 2)
    emb = made(5, 2, weight)
    ids = np.array([[4.0, 1.0, 4.0]], F32)
    out = call(emb, "Embedding(5, 2)(ids)", Tensor(ids))
    fn = getattr(out, "_grad_fn", None)
    if not isinstance(fn, EmbeddingFunction):
        checks.fail("The lookup must be recorded as an EmbeddingFunction.",
                    f"out._grad_fn is {type(fn).__name__ if fn is not None else None}",
                    hint="record(out, EmbeddingFunction, (self.weight,), indices=ids): write the "
                         "backward yourself instead of going through Tensor indexing")
    if not (isinstance(fn.inputs, tuple) and len(fn.inputs) == 1 and fn.inputs[0] is emb.weight):
        checks.fail("EmbeddingFunction.inputs must be (weight,).", f"got {fn.inputs!r}",
                    hint="the weight is the only input with a gradient; the ids are an attribute")
    got = getattr(fn, "indices", None)
    checks.check_array(got, ids.astype(np.int64), "EmbeddingFunction.indices",
                       dtype=np.int64, rtol=0, atol=0,
                       shape_hint="record the ids with their own shape (indices=ids)",
                       dtype_hint="record the ids as an np.int64 array")
    if out.requires_grad is not True:
        checks.fail("The lookup of a table that requires grad must require grad.",
                    f"out.requires_grad is {out.requires_grad!r}")


@settings(max_examples=25)
@given(v=st.integers(1, 6), d=st.integers(1, 3), shape=st.sampled_from([(3,), (2, 3), (4, 2), (2, 2, 2)]),
       seed=st.integers(0, 2**32 - 1))
@example(v=3, d=2, shape=(3,), seed=0)
@example(v=2, d=1, shape=(2, 3), seed=1)
def test_embedding_function_backward_scatter_adds(v, d, shape, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, v, size=shape)
    ids.flat[-1] = ids.flat[0]  # at least one repeated id, the classic bug
    weight = Tensor(table(v, d, F64, seed), requires_grad=True)
    grad = rng.standard_normal(shape + (d,))
    keep = grad.copy()
    fn = call(EmbeddingFunction, "EmbeddingFunction(weight, indices=ids)", weight, indices=ids)
    inputs = {"ids": ids, "grad": grad}
    got = call(fn.backward, "EmbeddingFunction.backward(grad)", grad, inputs=inputs)
    if not (isinstance(got, tuple) and len(got) == 1):
        checks.fail("EmbeddingFunction.backward(grad) must return a 1-tuple (dweight,).",
                    f"got {type(got).__name__}: {checks.fmt(got)}", inputs=inputs,
                    hint="one gradient per input, and the weight is the only input: return (dw,)")
    if not np.array_equal(grad, keep) or grad.shape != keep.shape:
        checks.fail("EmbeddingFunction.backward must not modify the gradient it is given.",
                    inputs=inputs, hint="reshape into a new name (g = grad.reshape(...)), never "
                                        "grad.shape = ... or grad *= ...")
    checks.check_array(got[0], scatter_add((v, d), ids, keep), "EmbeddingFunction.backward(grad)[0]",
                       inputs=inputs, atol=1e-12, rtol=1e-12,
                       wrong=[(scatter_assign((v, d), ids, keep), REPEAT_HINT)],
                       shape_hint="dweight has the weight's shape (vocab_size, embed_dim)",
                       hint="row v of dweight is the sum of grad over every position whose id is "
                            "v, and rows that no id looked up are 0")


@settings(max_examples=10)
@given(v=st.integers(1, 5), d=st.integers(1, 3), shape=st.sampled_from([(4,), (2, 3), (1, 2, 3)]),
       seed=st.integers(0, 2**32 - 1))
@example(v=2, d=2, shape=(2, 3), seed=3)
def test_embedding_gradients_match_finite_differences(v, d, shape, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, v, size=shape)
    ids.flat[0] = ids.flat[-1]
    emb = made(v, d)

    def f(w):
        emb.weight = w
        return emb(ids) * 1.5

    checks.check_grad(f, [rng.uniform(-1, 1, (v, d))], Tensor=Tensor, seed=seed % 1000,
                      what=f"Embedding({v}, {d})(ids) * 1.5 with ids {ids.tolist()}",
                      hint=REPEAT_HINT)
