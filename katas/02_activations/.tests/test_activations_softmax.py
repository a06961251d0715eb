"""Hidden tests of kata 02: Softmax(dim).

Oracles: a float64 NumPy softmax computed here (differential), normalisation along `dim`
(invariant), softmax(x + c) = softmax(x) (metamorphic), and finiteness at logits of
+-1000 with every warning turned into an error.
"""
from __future__ import annotations

import warnings

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.activations import Softmax
from tinytorch.core.tensor import Tensor

KATA = "02_activations"
DIMS = st.sampled_from([0, 1, -1])
OVERFLOW = ("exp of a large logit overflows to inf (and inf/inf or 0/0 is NaN); "
            "softmax(x - c) = softmax(x) for any constant c along `dim`, so choose c to keep "
            "every exponent <= 0")

ROWS = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]])  # non-square: a wrong axis shows
CUBE = np.arange(24, dtype=np.float64).reshape(2, 3, 4) % 7 / 2.0 - 1.0
LARGE = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0], [1000.0, 1000.0, 999.0]])

ALL_ELEMENTS = ("you divided by the sum over ALL elements; each slice along `dim` must be "
                "normalised on its own (keepdims=True helps)")


def float_arrays(lo=-10.0, hi=10.0, **kw):
    return st.sampled_from([np.float32, np.float64]).flatmap(
        lambda dt: checks.arrays(dtype=dt, lo=lo, hi=hi, **kw))


def softmax_np(x, axis=-1):
    z = np.asarray(x, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def run(dim, x):
    """Softmax(dim).forward(Tensor(x)) with every warning turned into a failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return Softmax(dim=dim).forward(Tensor(x))
        except Warning as w:
            caught = w  # fail outside the except block: no chained traceback for the learner
    checks.fail(f"Softmax(dim={dim}).forward must not raise a warning; it raised "
                f"{type(caught).__name__}: {caught}", inputs={"x": x}, hint=OVERFLOW)


def check_finite(got, what, inputs):
    data = getattr(got, "data", None)
    if isinstance(data, np.ndarray) and not np.all(np.isfinite(data)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(data))[0])
        checks.fail(f"{what} contains NaN or inf.", f"first at index {bad}: {data[bad]}",
                    inputs=inputs, hint=OVERFLOW)


def softmax_wrong(x, dim):
    """Known wrong answers: another axis, or one sum over every element."""
    axis = dim % x.ndim
    wrong = []
    if axis != x.ndim - 1:
        wrong.append((softmax_np(x, -1), f"you normalised along the last axis, but "
                                         f"Softmax(dim={dim}) must normalise along axis `dim`"))
    if axis != 0:
        wrong.append((softmax_np(x, 0), f"you normalised along axis 0, but "
                                        f"Softmax(dim={dim}) must normalise along axis `dim`"))
    for k in range(1, x.ndim - 1):
        if k != axis:
            wrong.append((softmax_np(x, k), f"you normalised along axis {k}, but "
                                            f"Softmax(dim={dim}) must normalise along axis `dim`"))
    z = np.asarray(x, dtype=np.float64)
    for e in (np.exp(z - z.max()), np.exp(z - z.max(axis=dim, keepdims=True))):
        wrong.append((e / e.sum(), ALL_ELEMENTS))
    return wrong


@given(x=float_arrays(min_dims=2), dim=DIMS)
@example(x=ROWS, dim=0)
@example(x=ROWS.astype(np.float32), dim=1)
@example(x=ROWS, dim=-1)
@example(x=CUBE.astype(np.float32), dim=1)
@example(x=CUBE, dim=0)
def test_softmax_matches_numpy(x, dim):
    got = run(dim, x)
    checks.check_array(got, softmax_np(x, dim), f"Softmax(dim={dim})(x)", inputs={"x": x},
                       type_=Tensor, dtype=x.dtype, wrong=softmax_wrong(x, dim))


def test_softmax_of_a_vector():
    x = np.array([0.0, 1.0, 2.0, -1.5], dtype=np.float32)
    got = Softmax().forward(Tensor(x))
    checks.check_array(got, softmax_np(x), "Softmax()(x) for a 1-D x", inputs={"x": x},
                       type_=Tensor, dtype=x.dtype, wrong=softmax_wrong(x, -1))


@given(x=float_arrays(min_dims=2), dim=DIMS)
@example(x=ROWS.astype(np.float32), dim=0)
@example(x=ROWS, dim=1)
@example(x=CUBE, dim=-1)
def test_softmax_slices_along_dim_sum_to_one(x, dim):
    got = run(dim, x)
    checks.check_shape(got, x.shape, f"Softmax(dim={dim})(x)", inputs={"x": x})
    p = np.asarray(got.data, dtype=np.float64)
    if np.any(p < 0) or np.any(p > 1) or not np.all(np.isfinite(p)):
        checks.fail(f"Softmax(dim={dim})(x) must hold probabilities in [0, 1].",
                    f"got {checks.fmt(got)}", inputs={"x": x}, hint=OVERFLOW)
    sums = p.sum(axis=dim)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-5):
        others = [k for k in range(x.ndim)
                  if k != dim % x.ndim and np.allclose(p.sum(axis=k), 1.0, rtol=0, atol=1e-5)]
        if others:
            hint = (f"your slices along axis {others[0]} sum to 1 instead: you normalised "
                    f"along the wrong axis")
        elif np.isclose(p.sum(), 1.0, rtol=0, atol=1e-5):
            hint = ALL_ELEMENTS
        else:
            hint = "divide each exp by the sum of the exps along `dim`"
        checks.fail(f"Every slice of Softmax(dim={dim})(x) along axis {dim} must sum to 1.",
                    f"sums along axis {dim}: {checks.fmt(sums)}", inputs={"x": x}, hint=hint)


@given(x=float_arrays(min_dims=1), c=st.integers(-1000, 1000), dim=DIMS)
@example(x=ROWS, c=1000, dim=-1)
@example(x=ROWS.astype(np.float32), c=1000, dim=0)
@example(x=ROWS.astype(np.float32), c=-1000, dim=1)
def test_softmax_is_shift_invariant(x, c, dim):
    if x.ndim == 1:
        dim = -1 if dim == 1 else dim
    # Values on a 1/64 grid plus an integer: x + c is exact in float32 and float64.
    x = (np.round(x * 64) / 64).astype(x.dtype)
    shifted = (x + c).astype(x.dtype)
    base = run(dim, x)
    checks.check_array(base, softmax_np(x, dim), f"Softmax(dim={dim})(x)", inputs={"x": x},
                       type_=Tensor, dtype=x.dtype, wrong=softmax_wrong(x, dim))
    got = run(dim, shifted)
    what = f"softmax(x + c) must equal softmax(x) (c = {c}); Softmax(dim={dim})(x + c)"
    check_finite(got, what, {"x": x, "c": c})
    checks.check_array(got, base.data, what, inputs={"x": x, "c": c}, type_=Tensor, dtype=x.dtype)


@given(x=float_arrays(-1000.0, 1000.0, min_dims=1), dim=DIMS)
@example(x=LARGE.astype(np.float32), dim=-1)
@example(x=LARGE, dim=-1)
@example(x=LARGE.astype(np.float32), dim=0)
@example(x=LARGE, dim=0)
def test_softmax_finite_at_logits_of_1000(x, dim):
    if x.ndim == 1:
        dim = -1 if dim == 1 else dim
    got = run(dim, x)
    what = f"Softmax(dim={dim})(x) at logits up to +-1000"
    check_finite(got, what, {"x": x})
    checks.check_array(got, softmax_np(x, dim), what, inputs={"x": x}, type_=Tensor,
                       dtype=x.dtype, wrong=softmax_wrong(x, dim))


def test_default_dim_is_last_and_code_comes_from_the_kata():
    x = ROWS.astype(np.float32)
    got = Softmax().forward(Tensor(x))
    checks.check_array(got, softmax_np(x, -1), "Softmax()(x) (default dim=-1)", inputs={"x": x},
                       type_=Tensor, dtype=np.float32, wrong=softmax_wrong(x, -1))
    checks.assert_from_kata(Softmax, KATA)
