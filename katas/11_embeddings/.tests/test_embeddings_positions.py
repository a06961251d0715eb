"""Hidden tests for PositionalEncoding (learned) and create_sinusoidal_embeddings (fixed).

Oracles: NumPy slices and additions, a float64 sin/cos table built column by column, and
finite differences.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from embeddings_kit import F32, F64, GRAPH_HINT, call, expect_value_error, sinusoidal
from pytest_tinytorch import checks
from tinytorch.core.embeddings import PositionalEncoding, create_sinusoidal_embeddings
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor

START_HINT = ("position t of the sequence gets row start_pos + t: slice the table as "
              "[start_pos : start_pos + seq_len]")


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def made(max_seq_len, embed_dim, table=None):
    pe = call(PositionalEncoding, f"PositionalEncoding({max_seq_len}, {embed_dim})", max_seq_len, embed_dim)
    if table is not None:
        pe.position_embeddings = Tensor(table, requires_grad=True)
    return pe


def rows(seed, *shape, dtype=F32):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


# ---------------------------------------------------------------- the table

def test_position_table_shape_dtype_bounds_and_parameters():
    for m, d in ((128, 8), (1, 1), (5, 3)):
        pe = made(m, d)
        if not isinstance(pe, Layer):
            checks.fail("PositionalEncoding must subclass kata 03's Layer.", f"its bases are {type(pe).__mro__[1:]}",
                        hint="class PositionalEncoding(Layer), and call super().__init__() first")
        for name, want in (("max_seq_len", m), ("embed_dim", d)):
            if getattr(pe, name, None) != want:
                checks.fail(f"PositionalEncoding({m}, {d}) must store {name} = {want}.",
                            f"got {getattr(pe, name, '<missing>')!r}")
        p = getattr(pe, "position_embeddings", None)
        if not isinstance(p, Tensor):
            checks.fail(f"PositionalEncoding({m}, {d}).position_embeddings must be a Tensor.",
                        f"got {type(p).__name__}")
        checks.check_shape(p, (m, d), f"PositionalEncoding({m}, {d}).position_embeddings",
                           hint="one row per position: (max_seq_len, embed_dim)")
        if p.data.dtype != F32:
            checks.fail(f"PositionalEncoding({m}, {d}).position_embeddings must be float32.",
                        f"got {p.data.dtype}")
        if p.requires_grad is not True:
            checks.fail(f"PositionalEncoding({m}, {d}).position_embeddings must have "
                        f"requires_grad=True.", f"requires_grad is {p.requires_grad!r}",
                        hint="learned positions are parameters: they need gradients (only the "
                             "sinusoidal table is fixed)")
        bound = math.sqrt(2.0 / d)
        biggest = float(np.max(np.abs(p.data)))
        if biggest > bound * (1 + 1e-6) or (m * d >= 1000 and biggest < 0.9 * bound):
            checks.fail(f"PositionalEncoding({m}, {d}).position_embeddings must be drawn uniformly "
                        f"from [-b, b], b = sqrt(2 / embed_dim) = {bound:.4f}.",
                        f"the largest |value| among {m * d} is {biggest:.4f}",
                        hint="np.random.uniform(-b, b, size=(max_seq_len, embed_dim)) with "
                             "b = sqrt(2 / embed_dim) (not Xavier's sqrt(6 / (fan_in + fan_out)))")
        params = call(pe.parameters, f"PositionalEncoding({m}, {d}).parameters()")
        if not (isinstance(params, list) and len(params) == 1 and params[0] is p):
            checks.fail(f"PositionalEncoding({m}, {d}).parameters() must be [position_embeddings].",
                        f"got {params!r}")
    np.random.seed(3)
    a = made(6, 4).position_embeddings.data.copy()
    np.random.seed(3)
    b = made(6, 4).position_embeddings.data.copy()
    if not np.array_equal(a, b):
        checks.fail("PositionalEncoding must be reproducible under np.random.seed: two tables "
                    "drawn after np.random.seed(3) differ.", hint="draw with np.random.uniform")


# ---------------------------------------------------------------- forward

cases = st.tuples(st.integers(1, 3), st.integers(1, 5), st.integers(1, 4), st.integers(0, 4),
                  st.integers(0, 3), st.sampled_from([F32, F64]), st.integers(0, 2**32 - 1))


@settings(max_examples=25)
@given(case=cases)
@example(case=(2, 3, 2, 1, 0, F32, 0))
@example(case=(1, 2, 3, 3, 0, F64, 1))
@example(case=(3, 1, 2, 0, 0, F32, 2))
@example(case=(2, 4, 1, 0, 2, F32, 3))
def test_forward_adds_rows_start_pos_onward_to_every_sequence(case):
    batch, seq, d, start, spare, dtype, seed = case
    m = start + seq + spare
    table = rows(seed, m, d)
    pe = made(m, d, table)
    x = rows(seed + 1, batch, seq, d, dtype=dtype)
    keep = x.copy()
    xt = Tensor(x)
    inputs = {"x": x, "position_embeddings": table, "start_pos": start}
    what = f"PositionalEncoding({m}, {d})(x, start_pos={start})"
    out = call(pe, what, xt, start, inputs=inputs)
    want = x + table[start:start + seq]
    wrong = [(x + table[:seq], START_HINT)] if start else []
    if start + seq <= m and seq > 1:
        wrong.append((x + table[start:start + 1], "add a different row at each position, not "
                                                  "the first one everywhere"))
    checks.check_array(out, want, what, inputs=inputs, type_=Tensor, dtype=want.dtype,
                       wrong=wrong, hint=START_HINT + ", and add it to every sequence of the batch",
                       shape_hint="the output has x's shape: the (seq_len, embed_dim) slice "
                                  "broadcasts over the batch")
    if not np.array_equal(xt.data, keep):
        checks.fail(f"{what} must not modify x.", inputs=inputs,
                    hint="return x + positions as a new Tensor; do not add into x.data")
    if start == 0 and seq == m:
        out2 = call(pe, f"PositionalEncoding({m}, {d})(x) with the default start_pos", xt)
        checks.check_array(out2, x + table, f"PositionalEncoding({m}, {d})(x)", inputs=inputs,
                           type_=Tensor, hint="start_pos defaults to 0")


@settings(max_examples=10)
@given(case=cases)
@example(case=(3, 2, 2, 1, 1, F64, 0))
def test_gradients_reach_x_and_the_table(case):
    batch, seq, d, start, spare, _, seed = case
    m = start + seq + spare
    pe = made(m, d)
    rng = np.random.default_rng(seed)

    def f(x, table):
        pe.position_embeddings = table
        return pe(x, start)

    checks.check_grad(f, [rng.uniform(-1, 1, (batch, seq, d)), rng.uniform(-1, 1, (m, d))],
                      Tensor=Tensor, seed=seed % 1000,
                      what=f"PositionalEncoding({m}, {d})(x, start_pos={start}) (x0 = x, x1 = the table)",
                      hint=GRAPH_HINT)
    # the table's gradient: the upstream gradient summed over the batch, zero outside the slice
    table = Tensor(rng.uniform(-1, 1, (m, d)), requires_grad=True)
    pe.position_embeddings = table
    g = rng.standard_normal((batch, seq, d))
    out = pe(Tensor(rng.uniform(-1, 1, (batch, seq, d))), start)
    out.backward(g)
    want = np.zeros((m, d))
    want[start:start + seq] = g.sum(axis=0)
    checks.check_array(table.grad, want, f"the table's gradient after PositionalEncoding({m}, {d})"
                       f"(x, start_pos={start}).backward(g)", inputs={"g": g}, atol=1e-12, rtol=1e-12,
                       hint="row start_pos + t collects g[:, t] summed over the batch; other rows get 0")


@pytest.mark.parametrize(("m", "start", "seq"), [(5, 0, 5), (5, 2, 3), (5, 4, 1), (1, 0, 1)])
def test_a_sequence_that_ends_at_max_seq_len_fits(m, start, seq):
    table = rows(m, m, 2)
    pe = made(m, 2, table)
    x = rows(1, 2, seq, 2)
    out = call(pe, f"PositionalEncoding({m}, 2)(x of seq_len {seq}, start_pos={start})", Tensor(x), start,
               hint="start_pos + seq_len == max_seq_len uses the last row of the table: it fits")
    checks.check_array(out, x + table[start:start + seq], f"PositionalEncoding({m}, 2)(x, start_pos={start})",
                       type_=Tensor)


@pytest.mark.parametrize(("m", "start", "seq"), [(5, 0, 6), (5, 3, 3), (5, 4, 3), (5, 5, 1), (2, 9, 1)])
def test_too_long_sequences_raise_value_error_naming_max_seq_len(m, start, seq):
    pe = made(m, 2)
    x = Tensor(rows(0, 1, seq, 2))
    expect_value_error(lambda: pe(x, start), f"PositionalEncoding({m}, 2)(x of seq_len {seq}, "
                       f"start_pos={start})", must_contain=(f"max_seq_len={m}",),
                       hint=f"start_pos + seq_len = {start + seq} > max_seq_len = {m}: check it "
                            f"before slicing (a slice past the end is shorter, or a single row "
                            f"that broadcasts silently)",
                       missing_hint=f"check start_pos + seq_len against max_seq_len before slicing, "
                                    f"and name the limit as max_seq_len={m} in your own ValueError")


@pytest.mark.parametrize("bad", ["2-D x", "4-D x", "embed_dim 3 instead of 2", "start_pos -1",
                                 "start_pos 1.0", "start_pos '1'"])
def test_bad_inputs_raise_value_error(bad):
    pe = made(8, 2)
    x = Tensor(rows(0, 1, 3, 2))
    args = {"2-D x": (Tensor(rows(0, 3, 2)), 0), "4-D x": (Tensor(rows(0, 1, 1, 3, 2)), 0),
            "embed_dim 3 instead of 2": (Tensor(rows(0, 1, 3, 3)), 0),
            "start_pos -1": (x, -1), "start_pos 1.0": (x, 1.0), "start_pos '1'": (x, "1")}[bad]
    shape = args[0].shape
    must = {"2-D x": (str(shape),), "4-D x": (str(shape),), "embed_dim 3 instead of 2": ("embed_dim", "3", "2"),
            "start_pos -1": ("start_pos",), "start_pos 1.0": ("start_pos",), "start_pos '1'": ("start_pos",)}
    shape_hint = "x must be (batch, seq_len, embed_dim): check its number of dimensions first"
    start_hint = "start_pos must be a non-negative int (Python or NumPy)"
    hints = {"2-D x": shape_hint, "4-D x": shape_hint,
             "embed_dim 3 instead of 2": "x's last axis must equal embed_dim: check it before adding "
                                         "and raise a ValueError naming embed_dim and both sizes",
             "start_pos -1": "start_pos must be >= 0: a negative slice start counts from the end "
                             "of the table and adds the wrong rows",
             "start_pos 1.0": start_hint, "start_pos '1'": start_hint}
    expect_value_error(lambda: pe(*args), f"PositionalEncoding(8, 2)(x of shape {shape}, "
                       f"start_pos={args[1]!r})", must_contain=must.get(bad, ()), hint=hints[bad],
                       missing_hint=hints[bad] + (" (a ValueError of your own, naming start_pos, "
                                                  "raised before slicing)" if "start" in bad else ""))
    call(pe, "PositionalEncoding(8, 2)(x, start_pos=np.int64(2))", x, np.int64(2),
         hint="a NumPy integer is a valid start_pos")


# ---------------------------------------------------------------- sinusoidal

def _wrong_tables(m, d):
    """Known wrong tables, each with the hint that explains it."""
    pos = np.arange(m, dtype=F64)[:, None]
    out = []
    j = np.arange(d)
    two_i = j - j % 2
    for name, freq, trig in (
        ("sin and cos swapped", 10000.0 ** (-two_i / d), lambda a: np.where(j % 2 == 0, np.cos(a), np.sin(a))),
        ("the exponent uses i, not 2i", 10000.0 ** (-(j // 2) / d),
         lambda a: np.where(j % 2 == 0, np.sin(a), np.cos(a))),
        ("each column its own frequency", 10000.0 ** (-j / d),
         lambda a: np.where(j % 2 == 0, np.sin(a), np.cos(a))),
    ):
        out.append((trig(pos * freq), name))
    half = (d + 1) // 2
    freq_half = 10000.0 ** (-2 * np.arange(half) / d)
    blocks = np.concatenate([np.sin(pos * freq_half), np.cos(pos * freq_half)[:, : d - half]], axis=1)
    out.append((blocks, "sines in the first half and cosines in the second"))
    if d % 2 == 1:
        last = sinusoidal(m, d).copy()
        last[:, -1] = np.cos(pos[:, 0] * 10000.0 ** (-(d - 1) / d))
        out.append((last, "odd embed_dim"))
    if d % 2 == 1:
        out.append((sinusoidal(m, d + 1)[:, :d], "rounded up to an even embed_dim"))
    out.append((sinusoidal(m + 1, d)[1:], "positions start at 1"))
    return out


WRONG_HINTS = {
    "sin and cos swapped": "even columns (0, 2, ...) hold sines, odd columns cosines",
    "the exponent uses i, not 2i": "w_i = 10000 ** (-2i / embed_dim): the exponent is the even "
                                   "column index 2i, not the pair index i",
    "each column its own frequency": "a sin column and the cos column after it share one "
                                     "frequency: use 2i (the even column) for both",
    "sines in the first half and cosines in the second": "interleave: sines in columns 0::2, "
                                                         "cosines in columns 1::2",
    "odd embed_dim": "with an odd embed_dim the last column (an even index) is a sine",
    "positions start at 1": "positions count from 0: row 0 is sin(0) = 0, cos(0) = 1",
    "rounded up to an even embed_dim": "divide the exponent by embed_dim itself, also when it is "
                                       "odd (do not build an even table and drop its last column)",
}


@settings(max_examples=15)
@given(m=st.integers(1, 48), d=st.integers(1, 12))
@example(m=4, d=8)
@example(m=6, d=5)
@example(m=1, d=1)
@example(m=48, d=2)
@example(m=10, d=6)
def test_sinusoidal_table_matches_the_formula(m, d):
    what = f"create_sinusoidal_embeddings({m}, {d})"
    got = call(create_sinusoidal_embeddings, what, m, d)
    want = sinusoidal(m, d)
    wrong = [(t, WRONG_HINTS[name]) for t, name in _wrong_tables(m, d)]
    checks.check_array(got, want, what, type_=Tensor, dtype=F32, atol=1e-5, rtol=1e-5, wrong=wrong,
                       hint="PE[p, 2i] = sin(p * w_i), PE[p, 2i + 1] = cos(p * w_i), "
                            "w_i = 10000 ** (-2i / embed_dim)",
                       dtype_hint="store the table as float32 (compute in float64, then cast)")
    if got.requires_grad is not False:
        checks.fail(f"{what} must have requires_grad=False.", f"requires_grad is {got.requires_grad!r}",
                    hint="the sinusoidal table is fixed: it is not a parameter")
