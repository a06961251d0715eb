"""Hidden tests for the three matrix products: np.matmul's values, shapes and dtypes on
drawn shapes (tiles that do not divide them, tiles of 1 and larger than the matrix), exact
results on integer-valued inputs, batched operands, the errors."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

import acceleration_kit as kit
from acceleration_kit import F32, F64

NAMES = ["naive_matmul", "tiled_matmul", "vectorized_matmul"]


def test_the_products_come_from_your_kata():
    acc = kit.acceleration()
    for name in NAMES + ["im2col", "col2im", "naive_conv2d", "shift_add_conv2d", "im2col_conv2d",
                         "fused_gelu", "benchmark", "benchmark_conv2d", "benchmark_matmul"]:
        checks.assert_from_kata(getattr(acc, name), kit.KATA)
    kit.run(lambda: acc.naive_matmul(Tensor(np.eye(2)), Tensor(np.eye(2))), "naive_matmul(eye, eye)")


def product(name, a, b, tile, hint=""):
    fn = getattr(kit.acceleration(), name)
    ta, tb = Tensor(a), Tensor(b)
    if name == "tiled_matmul":
        what = f"tiled_matmul(a, b, tile_size={tile}) with a {a.shape}, b {b.shape}"
        out = kit.run(lambda: fn(ta, tb, tile), what, inputs={"a": a, "b": b}, hint=hint)
    else:
        what = f"{name}(a, b) with a {a.shape}, b {b.shape}"
        out = kit.run(lambda: fn(ta, tb), what, inputs={"a": a, "b": b}, hint=hint)
    if not (np.array_equal(ta.data, a) and np.array_equal(tb.data, b)):
        checks.fail(f"{what} modified its operands.", "a or b changed during the call",
                    hint="write the product into a new array")
    return out, what


def tile_hints(a, b, tile):
    """Known wrong tiled products: the last partial tile skipped, `=` instead of `+=`."""
    m, k = a.shape
    n = b.shape[1]
    full = lambda size: range(0, size - tile + 1, tile) if size >= tile else range(0)  # noqa: E731
    skipped = np.zeros((m, n))
    for i in full(m):
        for j in full(n):
            for t in full(k):
                skipped[i:i + tile, j:j + tile] += a[i:i + tile, t:t + tile] @ b[t:t + tile, j:j + tile]
    overwritten = np.zeros((m, n))
    for i in range(0, m, tile):
        for j in range(0, n, tile):
            for t in range(0, k, tile):
                overwritten[i:i + tile, j:j + tile] = a[i:i + tile, t:t + tile] @ b[t:t + tile, j:j + tile]
    return [(skipped, "the last partial tile was skipped: range(0, size, tile_size) reaches every "
                      "tile, and a slice past the end simply stops at the end"),
            (overwritten, "each inner tile overwrote the block instead of adding to it: "
                          "C[I, J] += A[I, T] @ B[T, J] over every tile T of the inner axis")]


def check_product(name, got, a, b, tile, what, exact=False, shape_hint=""):
    expected = np.matmul(a, b)
    wrong = [(np.matmul(a, b).T if expected.ndim == 2 and expected.shape[0] == expected.shape[1]
              else np.zeros(0), "that is the transpose of a @ b")]
    if name == "tiled_matmul":
        wrong = tile_hints(a, b, tile) + wrong
    if name == "naive_matmul":
        running = np.cumsum(expected, axis=1)  # acc not reset between the columns of a row
        wrong.append((running, "the running sum was not reset: start acc = 0.0 for every "
                               "output (i, j)"))
    tol = 0.0 if exact else (1e-5 if expected.dtype == F32 else 1e-12)
    scale = max(1.0, float(np.abs(a).max(initial=0) * np.abs(b).max(initial=0) * a.shape[-1]))
    checks.check_array(got, expected, what, type_=Tensor, dtype=expected.dtype, rtol=tol,
                       atol=tol * scale, wrong=wrong, inputs={"a": a, "b": b},
                       dtype_hint=("np.zeros((M, N)) is float64: give the output "
                                   "dtype=np.result_type(a.data, b.data)" if expected.dtype == F32 else
                                   f"{a.dtype} @ {b.dtype} is {expected.dtype} in NumPy: give the output "
                                   "dtype=np.result_type(a.data, b.data), not one operand's dtype"
                                   if a.dtype != b.dtype else ""),
                       shape_hint=shape_hint, hint="out[i, j] = sum over t of a[i, t] * b[t, j]")


two_d = st.tuples(st.integers(1, 7), st.integers(1, 7), st.integers(1, 7))


@pytest.mark.parametrize("name", NAMES)
@given(mkn=two_d, tile=st.integers(1, 8), dtype=st.sampled_from([F32, F64]), seed=st.integers(0, 2**31))
@example(mkn=(5, 7, 3), tile=2, dtype=F32, seed=1)
@example(mkn=(7, 5, 6), tile=3, dtype=F64, seed=2)
@example(mkn=(3, 4, 2), tile=1, dtype=F32, seed=3)
@example(mkn=(2, 3, 4), tile=8, dtype=F32, seed=4)
@example(mkn=(4, 4, 4), tile=3, dtype=F32, seed=5)
def test_products_match_np_matmul(name, mkn, tile, dtype, seed):
    m, k, n = mkn
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    got, what = product(name, a, b, tile)
    check_product(name, got, a, b, tile, what)


@pytest.mark.parametrize("name", NAMES)
@given(mkn=two_d, tile=st.integers(1, 5), seed=st.integers(0, 2**31))
@example(mkn=(7, 5, 6), tile=2, seed=1)
@example(mkn=(5, 7, 3), tile=3, seed=2)
@example(mkn=(6, 6, 6), tile=4, seed=3)
def test_products_are_exact_on_integer_values(name, mkn, tile, seed):
    m, k, n = mkn
    rng = np.random.default_rng(seed)
    a = rng.integers(-4, 5, (m, k)).astype(F32)
    b = rng.integers(-4, 5, (k, n)).astype(F32)
    got, what = product(name, a, b, tile)
    check_product(name, got, a, b, tile, what + " on small integer values (exact)", exact=True)


def test_tiled_matmul_default_tile_is_64_and_covers_a_partial_tile():
    acc = kit.acceleration()
    default = inspect.signature(acc.tiled_matmul).parameters["tile_size"].default
    if default != 64:
        checks.fail("tiled_matmul's default tile_size must be 64.", f"got {default!r}")
    rng = np.random.default_rng(7)
    a = rng.integers(-3, 4, (70, 66)).astype(F32)
    b = rng.integers(-3, 4, (66, 67)).astype(F32)
    got = kit.run(lambda: acc.tiled_matmul(Tensor(a), Tensor(b)), "tiled_matmul(a, b) with a (70, 66)")
    check_product("tiled_matmul", got, a, b, 64, "tiled_matmul(a, b) with a (70, 66), b (66, 67) and "
                  "the default tile_size=64", exact=True)


@pytest.mark.parametrize("bad", [0, -2, 2.5, True], ids=["zero", "negative", "float", "bool"])
def test_tile_size_must_be_a_positive_int(bad):
    acc = kit.acceleration()
    a = Tensor(np.ones((3, 3), F32))
    kit.expect_value_error(lambda: acc.tiled_matmul(a, a, bad), f"tiled_matmul(a, b, tile_size={bad!r})",
                           hint="check isinstance(tile_size, int), not a bool, and tile_size >= 1")


@given(shapes=st.sampled_from([((2, 3, 4), (4, 5)), ((1, 3, 4), (2, 4, 5)), ((2, 2, 3), (2, 3, 1)),
                               ((3, 1, 2, 3), (4, 3, 2))]), seed=st.integers(0, 2**31))
@example(shapes=((1, 3, 4), (2, 4, 5)), seed=1)
def test_vectorized_matmul_batches_and_broadcasts(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(shapes[0]).astype(F32), rng.standard_normal(shapes[1]).astype(F32)
    batched = ("vectorized_matmul takes batched operands: leading axes broadcast as in "
               "np.matmul (np.dot pairs every matrix of a with every matrix of b instead)")
    got, what = product("vectorized_matmul", a, b, None, hint=batched)
    check_product("vectorized_matmul", got, a, b, None, what, shape_hint=batched)


@pytest.mark.parametrize("name", NAMES)
def test_products_follow_numpy_with_mixed_dtypes(name):
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((3, 5)).astype(F32), rng.standard_normal((5, 4))
    for x, y in ((a, b), (b.T.copy(), a.T.copy())):
        got, what = product(name, x, y, 2)
        check_product(name, got, x, y, 2, what + f" ({x.dtype} @ {y.dtype})")


@pytest.mark.parametrize("name", NAMES)
def test_mismatched_shapes_raise_value_error(name):
    fn = getattr(kit.acceleration(), name)
    call = (lambda a, b: fn(a, b, 2)) if name == "tiled_matmul" else fn
    a, b = Tensor(np.ones((2, 3), F32)), Tensor(np.ones((4, 5), F32))
    kit.expect_value_error(lambda: call(a, b), f"{name} of shapes (2, 3) and (4, 5)",
                           names=("(2, 3)", "(4, 5)"),
                           hint="check a.shape[-1] == b.shape[-2] first, naming both shapes")
    one = Tensor(np.ones(3, F32))
    kit.expect_value_error(lambda: call(one, Tensor(np.ones((3, 2), F32))),
                           f"{name} of a 1-D operand (3,) and (3, 2)",
                           hint="matrix products need operands of at least 2 dimensions")
    if name != "vectorized_matmul":
        batched = Tensor(np.ones((2, 2, 3), F32))
        kit.expect_value_error(lambda: call(batched, Tensor(np.ones((3, 2), F32))),
                               f"{name} of a 3-D operand (2, 2, 3)",
                               hint=f"{name} multiplies 2-D matrices only")
