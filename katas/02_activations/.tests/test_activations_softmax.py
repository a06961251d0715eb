"""Hidden tests of kata 02: Softmax(dim) and Softmax.forward(x, dim=None).

Oracles: a float64 NumPy softmax computed here (differential), normalisation along `dim`
(invariant), softmax(x + c) = softmax(x) (metamorphic), and finiteness at logits of
+-1000 with every warning turned into an error. Tolerances grow with the inputs'
magnitude (a few ulps of max|x|): x - c is rounded there in every correct formulation.
"""
from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.activations import Softmax
from tinytorch.core.tensor import Tensor

from activations_kit import F32, check_softmax, float_arrays, run, softmax_np

KATA = "02_activations"
DIMS = st.sampled_from([0, 1, -1])
OVERFLOW = ("exp of a large logit overflows to inf (and inf/inf or 0/0 is NaN); "
            "softmax(x - c) = softmax(x) for any constant c along `dim`, so choose c to keep "
            "every exponent <= 0")

ROWS = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 4.0]])  # non-square: a wrong axis shows
CUBE = np.arange(24, dtype=np.float64).reshape(2, 3, 4) % 7 / 2.0 - 1.0
LARGE = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0], [1000.0, 1000.0, 999.0]])
# Logits of magnitude ~1000 a few ulps apart: x - lse(x) rounds where x - max(x) does not.
NEAR_1000 = np.array([[1000.0, 999.5, 998.25, 999.0], [-997.0, -998.5, -996.75, -1000.0]])

ALL_ELEMENTS = ("you divided by the sum over ALL elements; each slice along `dim` must be "
                "normalised on its own (keepdims=True helps)")


def softmax_sm(dim, x):
    return run(Softmax(dim=dim), x, OVERFLOW)


def check_finite(got, what, inputs):
    data = getattr(got, "data", None)
    if isinstance(data, np.ndarray) and not np.all(np.isfinite(data)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(data))[0])
        checks.fail(f"{what} contains NaN or inf.", f"first at index {bad}: {data[bad]}",
                    inputs=inputs, hint=OVERFLOW)


def softmax_wrong(x, dim, call=None):
    """Known wrong answers: another axis, or one sum over every element."""
    call = call or f"Softmax(dim={dim})"
    axis = dim % x.ndim
    wrong = []
    for k in sorted({x.ndim - 1, 0, *range(1, x.ndim - 1)} - {axis}, reverse=True):
        where = "the last axis" if k == x.ndim - 1 else f"axis {k}"
        wrong.append((softmax_np(x, k), f"you normalised along {where}, but {call} must "
                                        f"normalise along axis {dim}"))
    z = np.asarray(x, dtype=np.float64)
    for e in (np.exp(z - z.max()), np.exp(z - z.max(axis=dim, keepdims=True))):
        wrong.append((e / e.sum(), ALL_ELEMENTS))
    return wrong


@given(x=float_arrays(min_dims=2), dim=DIMS)
@example(x=ROWS, dim=0)
@example(x=ROWS.astype(F32), dim=1)
@example(x=ROWS, dim=-1)
@example(x=CUBE.astype(F32), dim=1)
@example(x=CUBE, dim=0)
def test_softmax_matches_numpy(x, dim):
    check_softmax(softmax_sm(dim, x), x, dim, f"Softmax(dim={dim})(x)", wrong=softmax_wrong(x, dim))


def test_softmax_of_a_vector():
    x = np.array([0.0, 1.0, 2.0, -1.5], dtype=F32)
    check_softmax(Softmax().forward(Tensor(x)), x, -1, "Softmax()(x) for a 1-D x",
                  wrong=softmax_wrong(x, -1, "Softmax()"))


@given(x=float_arrays(min_dims=2), dim=DIMS)
@example(x=ROWS.astype(F32), dim=0)
@example(x=ROWS, dim=1)
@example(x=CUBE, dim=-1)
def test_softmax_slices_along_dim_sum_to_one(x, dim):
    got = softmax_sm(dim, x)
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
@example(x=ROWS.astype(F32), c=1000, dim=0)
@example(x=ROWS.astype(F32), c=-1000, dim=1)
def test_softmax_is_shift_invariant(x, c, dim):
    if x.ndim == 1:
        dim = -1 if dim == 1 else dim
    # Values on a 1/64 grid plus an integer: x + c is exact in float32 and float64.
    x = (np.round(x * 64) / 64).astype(x.dtype)
    shifted = (x + c).astype(x.dtype)
    base = softmax_sm(dim, x)
    check_softmax(base, x, dim, f"Softmax(dim={dim})(x)", wrong=softmax_wrong(x, dim))
    got = softmax_sm(dim, shifted)
    what = f"softmax(x + c) must equal softmax(x) (c = {c}); Softmax(dim={dim})(x + c)"
    check_finite(got, what, {"x": x, "c": c})
    check_softmax(got, shifted, dim, what, inputs={"x": x, "c": c}, expected=base.data)


@given(x=float_arrays(-1000.0, 1000.0, min_dims=1), dim=DIMS)
@example(x=LARGE.astype(F32), dim=-1)
@example(x=LARGE, dim=-1)
@example(x=LARGE.astype(F32), dim=0)
@example(x=LARGE, dim=0)
@example(x=NEAR_1000.astype(F32), dim=-1)
@example(x=NEAR_1000.astype(F32), dim=0)
def test_softmax_finite_at_logits_of_1000(x, dim):
    if x.ndim == 1:
        dim = -1 if dim == 1 else dim
    got = softmax_sm(dim, x)
    what = f"Softmax(dim={dim})(x) at logits up to +-1000"
    check_finite(got, what, {"x": x})
    check_softmax(got, x, dim, what, wrong=softmax_wrong(x, dim))


KEPT_DIM = ("forward(x, dim=d) normalises along d for this call only: use a local axis "
            "(self.dim if dim is None else dim) and never assign to self.dim")


NONE_IS_SELF_DIM = ("with dim=None you normalised over ALL elements (NumPy reads axis=None as "
                    "every axis): dim=None must mean self.dim")


def _over_all(x):
    e = np.exp(np.asarray(x, np.float64) - np.max(x))
    return e / e.sum()


def _dim_ignored_hint(own, dim):
    zero = (" 0 is a valid axis but falsy: test `dim is None`, not `if dim` or `dim or "
            "self.dim`" if dim == 0 else "")
    return (f"you normalised along self.dim = {own}: the dim given to forward must win for "
            f"this call.{zero}")


def test_softmax_forward_dim_overrides_self_dim_for_one_call():
    cases = [(-1, 0, CUBE.astype(F32)), (0, 1, ROWS), (1, -1, CUBE), (0, -1, ROWS.astype(F32)),
             (-1, 0, ROWS)]
    for own, dim, x in cases:
        act = Softmax(dim=own)
        call = f"Softmax(dim={own}).forward(x, dim={dim})"
        wrong = [(softmax_np(x, own), _dim_ignored_hint(own, dim))] + softmax_wrong(x, dim, call)
        check_softmax(run(act, x, OVERFLOW, dim=dim), x, dim, call, wrong=wrong)
        if act.dim != own:
            checks.fail(f"{call} must leave self.dim unchanged.",
                        f"self.dim is now {act.dim!r}, expected {own!r}", inputs={"x": x},
                        hint=KEPT_DIM)
        again = f"Softmax(dim={own}).forward(x) after a call with dim={dim}"
        check_softmax(run(act, x, OVERFLOW), x, own, again,
                      wrong=[(softmax_np(x, dim), KEPT_DIM), (_over_all(x), NONE_IS_SELF_DIM)]
                      + softmax_wrong(x, own, again))
        call = f"Softmax(dim={own}).forward(x, dim=None)"
        check_softmax(run(act, x, OVERFLOW, dim=None), x, own, call,
                      wrong=[(_over_all(x), NONE_IS_SELF_DIM)] + softmax_wrong(x, own, call))
        called = f"Softmax(dim={own})(x, dim={dim}) (via __call__)"
        check_softmax(act(Tensor(x), dim=dim), x, dim, called,
                      wrong=[(softmax_np(x, own), "__call__ must pass dim on to forward: "
                              "return self.forward(x, *args, **kwargs)")]
                      + softmax_wrong(x, dim, called))


def test_default_dim_is_last_and_code_comes_from_the_kata():
    x = ROWS.astype(F32)
    act = Softmax()
    if act.dim != -1:
        checks.fail("Softmax().dim must be -1 (the last axis) by default.", f"got {act.dim!r}")
    check_softmax(act.forward(Tensor(x)), x, -1, "Softmax()(x) (default dim=-1)",
                  wrong=softmax_wrong(x, -1, "Softmax()"))
    checks.assert_from_kata(Softmax, KATA)
