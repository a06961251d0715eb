"""Hidden tests for kata 01 (Tensor), part 2: matmul, reshape, transpose, indexing, reductions.

Oracle: NumPy on the same arrays, plus invariants (reshape round trip, transpose is an
involution). Known wrong answers (elementwise product, all axes reversed, wrong reduction
axis, keepdims ignored, argmax...) get a hint that names the bug.
"""
from __future__ import annotations

import functools

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

from tensor_kit import check_new, check_untouched

F32, F64 = np.float32, np.float64
FLOAT_DTYPES = st.sampled_from([F32, F64])


@functools.lru_cache(maxsize=None)
def _arrays(shape=None, dtype=F32, **kw):
    """checks.arrays, built once per argument set (building strategies is the slow part)."""
    return checks.arrays(shape, dtype=dtype, **kw)


_SHAPES = {0: checks.shapes(min_dims=0), 1: checks.shapes(min_dims=1)}


def _try(f):
    """A known wrong answer, or None when it cannot even be formed for these shapes."""
    try:
        with np.errstate(all="ignore"):
            return f()
    except Exception:
        return None


@st.composite
def ramps(draw, min_dims=1, dtypes=FLOAT_DTYPES):
    """Arrays of distinct values (a shifted, scaled ramp): cheap to draw, and any misplaced
    element shows. For structural ops (reshape, transpose, indexing) values hardly matter."""
    shape = draw(_SHAPES[min_dims])
    dt = draw(dtypes)
    start = draw(st.integers(-20, 20))
    step = draw(st.sampled_from([0.5, 1.0, -1.5]))
    return (start + step * np.arange(int(np.prod(shape)))).reshape(shape).astype(dt)


def _wrong(*pairs):
    return [(v, why) for v, why in pairs if v is not None]


def _expect_value_error(run, what: str, inputs: dict, hint: str) -> str:
    """Run `run()`, which must raise ValueError; return the message."""
    try:
        out = run()
    except ValueError as err:
        return str(err)
    except NotImplementedError:
        raise
    except Exception as err:  # noqa: BLE001 - the learner's code raised the wrong kind
        checks.fail(f"{what} must raise ValueError.",
                    f"it raised {type(err).__name__}: {err}", inputs=inputs, hint=hint)
    checks.fail(f"{what} must raise ValueError.", f"it returned {checks.fmt(out)}",
                inputs=inputs, hint=hint)
    return ""


# ---------------------------------------------------------------- provenance

def test_tensor_shapes_come_from_your_kata_folder():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]]).transpose()  # runs your code: the stub does not pass
    checks.check_array(t, np.array([[1.0, 3.0], [2.0, 4.0]], F32), "x.transpose()", type_=Tensor)
    checks.assert_from_kata(Tensor, "01_tensor")


# ---------------------------------------------------------------- matmul

MATMUL_KINDS = ["1-D @ 1-D", "2-D @ 2-D", "2-D @ 1-D", "1-D @ 2-D", "3-D @ 3-D (batched)",
                "3-D @ 2-D (batched)", "(1, n, k) @ (b, k, m) (batch broadcast)"]


def _matmul_shapes(kind, b, n, k, m):
    return {
        MATMUL_KINDS[0]: ((k,), (k,)),
        MATMUL_KINDS[1]: ((n, k), (k, m)),
        MATMUL_KINDS[2]: ((n, k), (k,)),
        MATMUL_KINDS[3]: ((k,), (k, m)),
        MATMUL_KINDS[4]: ((b, n, k), (b, k, m)),
        MATMUL_KINDS[5]: ((b, n, k), (k, m)),
        MATMUL_KINDS[6]: ((1, n, k), (b, k, m)),
    }[kind]


@st.composite
def matmul_operands(draw):
    kind = draw(st.sampled_from(MATMUL_KINDS))
    b, n, k, m = (draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4)),
                  draw(st.integers(1, 4)))
    sa, sb = _matmul_shapes(kind, b, n, k, m)
    dt = draw(FLOAT_DTYPES)
    return kind, draw(_arrays(sa, dtype=dt)), draw(_arrays(sb, dtype=dt))


_SQ_A = np.array([[1.0, 2.0], [3.0, 4.0]], F32)
_SQ_B = np.array([[5.0, -6.0], [7.0, 8.0]], F32)


@given(case=matmul_operands())
@example(case=("2-D @ 2-D", _SQ_A, _SQ_B))
@example(case=("2-D @ 2-D", np.arange(6, dtype=F32).reshape(2, 3), np.arange(6, dtype=F32).reshape(3, 2) - 2))
@example(case=("3-D @ 3-D (batched)", np.arange(12, dtype=F64).reshape(2, 2, 3) / 3,
               np.arange(6, dtype=F64).reshape(2, 3, 1) - 2.5))
@example(case=("1-D @ 1-D", np.array([1.0, 2.0, 3.0], F32), np.array([4.0, -5.0, 6.0], F32)))
def test_matmul_agrees_with_numpy(case):
    kind, a, b = case
    a0, b0 = a.copy(), b.copy()
    x, y = Tensor(a), Tensor(b)
    expected = np.matmul(a0, b0)
    tr = lambda v: np.swapaxes(v, -1, -2)  # noqa: E731
    wrong = _wrong(
        (_try(lambda: a0 * b0), "looks like the elementwise product x * y: x @ y is the matrix "
                                "product, which sums products over the inner dimension"),
        (_try(lambda: tr(expected)), "looks like the transpose of x @ y (rows and columns swapped)"),
        (_try(lambda: np.matmul(b0, a0)), "looks like y @ x: the matrix product is not "
                                          "commutative, keep the operand order"),
        (_try(lambda: np.matmul(tr(a0), b0)), "looks like x.T @ y: do not transpose x"),
        (_try(lambda: np.matmul(a0, tr(b0))), "looks like x @ y.T: do not transpose y"),
    )
    inputs = {"x": a0, "y": b0}
    atol = 1e-3 if expected.dtype == F32 else 1e-9
    for what, run in ((f"x @ y ({kind})", lambda: x @ y),
                      (f"x.matmul(y) ({kind})", lambda: x.matmul(y)),
                      (f"x @ b with b an ndarray ({kind})", lambda: x @ b)):
        out = run()
        checks.check_array(out, expected, what, inputs=inputs, type_=Tensor, dtype=expected.dtype,
                           wrong=wrong, rtol=1e-5, atol=atol,
                           hint="x @ y follows np.matmul: 1-D operands act as a row/column "
                                "vector, leading axes are batch axes and broadcast")
        check_new(out, (x, y), what, inputs)
        check_untouched(a0, x, what, inputs)
        check_untouched(b0, y, what, inputs)


@st.composite
def mismatched_operands(draw):
    kind = draw(st.sampled_from(MATMUL_KINDS))
    b, n, k, m = (draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4)),
                  draw(st.integers(1, 4)))
    k2 = k + draw(st.integers(1, 3))  # the inner dimensions differ
    sa, _ = _matmul_shapes(kind, b, n, k, m)
    _, sb = _matmul_shapes(kind, b, n, k2, m)
    return kind, np.ones(sa, F32), np.ones(sb, F32)


@given(case=mismatched_operands())
@example(case=("2-D @ 2-D", np.ones((2, 3), F32), np.ones((4, 5), F32)))
@example(case=("2-D @ 1-D", np.ones((2, 3), F32), np.ones((2,), F32)))
def test_matmul_mismatch_raises_value_error_naming_shapes(case):
    kind, a, b = case
    x, y = Tensor(a), Tensor(b)
    inputs = {"x.shape": a.shape, "y.shape": b.shape}
    hint = ("check that the inner dimensions agree (x.shape[-1] and y's second-to-last axis, "
            "or its only axis for 1-D) and raise ValueError naming both shapes")
    msg = _expect_value_error(lambda: x @ y, f"x @ y with mismatched inner dimensions ({kind})",
                              inputs, hint)
    if str(a.shape) not in msg or str(b.shape) not in msg:
        checks.fail("The ValueError for mismatched matmul shapes must name both shapes.",
                    f"message was: {msg!r}\nit should contain {a.shape} and {b.shape}",
                    inputs=inputs,
                    hint="name both shapes as Python prints them, e.g. "
                         "'matmul: shapes (2, 3) and (4, 5) do not align'")


# ---------------------------------------------------------------- reshape

def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def reshape_cases(draw):
    a = draw(ramps())
    rest, target = a.size, []
    for _ in range(draw(st.integers(0, 2))):  # a random factorisation of the size
        d = draw(st.sampled_from(_divisors(rest)))
        target.append(d)
        rest //= d
    target.append(rest)
    target = draw(st.permutations(target))
    infer = draw(st.integers(0, len(target) - 1))  # which axis to write as -1
    return a, tuple(target), infer


@given(case=reshape_cases())
@example(case=(np.arange(6, dtype=F32).reshape(2, 3), (3, 2), 1))
@example(case=(np.arange(12, dtype=F32).reshape(2, 3, 2), (4, 3), 0))
@example(case=(np.arange(8, dtype=F64).reshape(2, 4), (2, 2, 2), 2))
def test_reshape_matches_numpy_and_round_trips(case):
    a, target, infer = case
    a0 = a.copy()
    x = Tensor(a)
    expected = a0.reshape(target)
    with_infer = tuple(-1 if i == infer else s for i, s in enumerate(target))
    inputs = {"x": a0}
    wrong = [(a0.reshape(target[::-1]), "the dimensions came out in reverse order"),
             (a0.reshape(target, order="F"), "filled in column-major (Fortran) order: reshape "
                                             "keeps NumPy's row-major (C) element order")]
    forms = ((f"x.reshape{target}", lambda: x.reshape(*target), "ints"),
             (f"x.reshape({target},)", lambda: x.reshape(target), "one tuple"),
             (f"x.reshape{with_infer}", lambda: x.reshape(*with_infer), "-1"))
    for what, run, kind in forms:
        try:
            out = run()
        except ValueError as err:
            checks.fail(f"{what} raised ValueError but the sizes agree.", f"message: {err}",
                        inputs=inputs,
                        hint=("-1 stands for the one dimension you infer from the size "
                              "(size // product of the others)") if kind == "-1" else
                        "reshape accepts the new shape as separate ints or as one tuple")
        checks.check_array(out, expected, what, inputs=inputs, type_=Tensor, dtype=a0.dtype,
                           wrong=wrong)
        check_new(out, (x,), what, inputs)
        back = out.reshape(*a0.shape) if a0.ndim else out.reshape(())
        checks.check_array(back, a0, f"{what}.reshape{a0.shape} (round trip back to x)",
                           inputs=inputs, type_=Tensor, dtype=a0.dtype,
                           hint="reshaping there and back must give x itself")
        check_untouched(a0, x, what, inputs)


@st.composite
def bad_reshapes(draw):
    a = np.zeros(draw(_SHAPES[1]), F32)
    kind = draw(st.sampled_from(["too many", "too few", "-1 does not divide"]))
    if kind == "too many":
        target = (a.size + draw(st.integers(1, 3)),)
        target = draw(st.permutations(target + (draw(st.integers(1, 2)),)))
    elif kind == "too few" and a.size > 1:
        target = (a.size - 1,)
    else:
        target = (a.size + 1, -1)  # never divides the size
    return a, tuple(target)


@given(case=bad_reshapes())
@example(case=(np.zeros((2, 3), F32), (4, 2)))
@example(case=(np.zeros((2, 3), F32), (4, -1)))
def test_reshape_to_wrong_size_raises_value_error(case):
    a, target = case
    x = Tensor(a)
    _expect_value_error(lambda: x.reshape(*target),
                        f"x.reshape{target} for x of shape {a.shape} ({a.size} elements)",
                        {"x.shape": a.shape},
                        "the new shape must hold exactly x.size elements; raise ValueError "
                        "(naming both shapes) otherwise")


# ---------------------------------------------------------------- transpose

@st.composite
def transpose_cases(draw):
    a = draw(ramps(min_dims=0))
    nd = max(a.ndim, 1)
    d0 = draw(st.integers(-nd, nd - 1)) if a.ndim else None
    d1 = draw(st.integers(-nd, nd - 1)) if a.ndim else None
    return a, d0, d1


_A3 = np.arange(24, dtype=F32).reshape(2, 3, 4)


@given(case=transpose_cases())
@example(case=(_A3, 0, 2))
@example(case=(_A3, 0, 1))
@example(case=(np.arange(6, dtype=F64).reshape(2, 3), -1, 0))
@example(case=(np.array([1.0, 2.0, 3.0], F32), 0, 0))
@example(case=(np.arange(16, dtype=F32).reshape(2, 2, 2, 2), 1, 3))
def test_transpose(case):
    a, d0, d1 = case
    a0 = a.copy()
    x = Tensor(a)
    inputs = {"x": a0}
    reverse_all = ("reversed ALL axes (like x.data.T): with no arguments, transpose swaps only "
                   "the last two axes, so a (2, 3, 4) tensor becomes (2, 4, 3)")
    default = np.swapaxes(a0, -1, -2) if a0.ndim >= 2 else a0
    out = x.transpose()
    checks.check_array(out, default, "x.transpose() (no arguments)", inputs=inputs, type_=Tensor,
                       dtype=a0.dtype, wrong=_wrong((a0.T, reverse_all)),
                       hint="no arguments: swap the last two axes; 0-D and 1-D tensors are "
                            "returned unchanged (as a new Tensor)")
    check_new(out, (x,), "x.transpose()", inputs)
    check_untouched(a0, x, "x.transpose()", inputs)
    twice = out.transpose()
    checks.check_array(twice, a0, "x.transpose().transpose() must equal x (an involution)",
                       inputs=inputs, type_=Tensor, dtype=a0.dtype,
                       wrong=_wrong((_try(lambda: np.transpose(a0, (1, 2, 0))) if a0.ndim == 3 else None,
                                     "the axes got rotated, not swapped")))
    if d0 is not None:
        what = f"x.transpose({d0}, {d1})"
        out = x.transpose(d0, d1)
        checks.check_array(out, np.swapaxes(a0, d0, d1), what, inputs=inputs, type_=Tensor,
                           dtype=a0.dtype,
                           wrong=_wrong((a0.T, "reversed all axes: transpose(dim0, dim1) swaps "
                                               "exactly those two axes (negative ones count "
                                               "from the end)"),
                                        (default, "ignored dim0 and dim1 and swapped the last two "
                                                  "axes")))
        check_new(out, (x,), what, inputs)
        check_untouched(a0, x, what, inputs)


# ---------------------------------------------------------------- indexing

@st.composite
def index_cases(draw):
    a = draw(ramps())
    n0 = a.shape[0]
    kind = draw(st.sampled_from(["int", "negative int", "slice", "tuple", "ellipsis",
                                 "bool mask", "int list"]))
    if kind == "int":
        key = draw(st.integers(0, n0 - 1))
    elif kind == "negative int":
        key = draw(st.integers(-n0, -1))
    elif kind == "slice":
        key = slice(draw(st.none() | st.integers(-n0, n0)), draw(st.none() | st.integers(-n0, n0)),
                    draw(st.none() | st.sampled_from([1, 2, -1])))
    elif kind == "tuple":
        key = tuple(draw(st.integers(-s, s - 1)) if draw(st.booleans())
                    else slice(None, None, draw(st.sampled_from([1, -1]))) for s in a.shape)
    elif kind == "ellipsis":
        key = (Ellipsis, draw(st.integers(0, a.shape[-1] - 1)))
    elif kind == "bool mask":
        key = np.asarray(draw(st.lists(st.booleans(), min_size=a.size, max_size=a.size))).reshape(a.shape)
    else:
        key = draw(st.lists(st.integers(-n0, n0 - 1), min_size=1, max_size=4))
    return a, key


@given(case=index_cases())
@example(case=(np.arange(6, dtype=F32).reshape(2, 3), 1))
@example(case=(np.arange(6, dtype=F32).reshape(2, 3), (slice(None), 2)))
@example(case=(np.arange(4, dtype=F64), -1))
def test_getitem_matches_numpy(case):
    a, key = case
    a0 = a.copy()
    x = Tensor(a)
    what = f"x[{key!r}]"
    inputs = {"x": a0}
    out = x[key]
    expected = a0[key]
    if isinstance(out, Tensor) and not isinstance(out.data, np.ndarray):
        checks.fail(f"{what} must hold an ndarray, also for a single element.",
                    f"got .data of type {type(out.data).__name__}", inputs=inputs,
                    hint="a single element is a 0-d array; build the result with Tensor(...)")
    checks.check_array(out, np.asarray(expected), what, inputs=inputs, type_=Tensor,
                       dtype=a0.dtype, hint="x[key] is the Tensor of x.data[key]")
    check_new(out, (x,), what, inputs)
    check_untouched(a0, x, what, inputs)


# ---------------------------------------------------------------- reductions

@st.composite
def reduction_cases(draw):
    dt = draw(FLOAT_DTYPES)
    a = draw(_arrays(dtype=dt, unique=True))  # no ties, so max is unambiguous
    nd = a.ndim
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-nd, nd - 1))
    else:
        axes = draw(st.permutations(range(nd)))[: draw(st.integers(1, nd))]
        axis = tuple(ax - nd if draw(st.booleans()) else ax for ax in axes)
    return a, axis, draw(st.booleans())


def _reduction_wrong(op: str, a: np.ndarray, axis, keepdims: bool):
    f = getattr(np, op)
    nd = a.ndim
    wrong = [
        (f(a, axis=axis, keepdims=not keepdims),
         "keepdims ignored: with keepdims=True each reduced axis stays as a size-1 axis"
         if keepdims else "keepdims=False must drop the reduced axes"),
        (f(a, keepdims=keepdims) if axis is not None else None,
         "axis ignored: you reduced over ALL elements instead of only the given axis"),
    ]
    if isinstance(axis, int):
        for other in range(nd):
            if other != axis % nd:
                wrong.append((f(a, axis=other, keepdims=keepdims),
                              f"reduced over the wrong axis ({other} instead of {axis}); "
                              "negative axes count from the end"))
    if op == "max" and not isinstance(axis, tuple):
        wrong.append((np.argmax(a, axis=axis, keepdims=keepdims),
                      "returned the index of the maximum (argmax), not the maximum value"))
        wrong.append((np.min(a, axis=axis, keepdims=keepdims), "returned the minimum"))
    if op == "mean":
        wrong.append((np.sum(a, axis=axis, keepdims=keepdims),
                      "returned the sum: the mean divides the sum by the number of elements reduced"))
        wrong.append((np.sum(a, axis=axis, keepdims=keepdims) / a.size,
                      "divided by the total size: the mean divides by the number of elements "
                      "along the reduced axes only"))
    return _wrong(*[(v, why) for v, why in wrong if v is not None])


_R = np.array([[3.0, -1.0, 2.0], [0.5, 4.0, -2.5]], F32)
_R3 = (np.arange(24, dtype=F32).reshape(2, 3, 4) * 7 % 24) - 10


@given(case=reduction_cases(), op=st.sampled_from(["sum", "mean", "max"]))
@example(case=(_R, 1, False), op="sum")
@example(case=(_R, 0, True), op="sum")
@example(case=(_R, -1, True), op="mean")
@example(case=(_R, 0, False), op="mean")
@example(case=(_R, None, False), op="mean")
@example(case=(_R, 1, False), op="max")
@example(case=(_R, None, True), op="max")
@example(case=(_R3, (0, 2), False), op="sum")
@example(case=(_R3, (2, -3), True), op="max")
@example(case=(_R3.astype(F64), (1,), False), op="mean")
def test_reductions_match_numpy(case, op):
    a, axis, keepdims = case
    a0 = a.copy()
    x = Tensor(a)
    expected = np.asarray(getattr(np, op)(a0, axis=axis, keepdims=keepdims))
    args = [] if axis is None and not keepdims else [f"axis={axis!r}", f"keepdims={keepdims}"]
    what = f"x.{op}({', '.join(args)})"
    inputs = {"x": a0}
    out = getattr(x, op)() if not args else getattr(x, op)(axis=axis, keepdims=keepdims)
    atol = 1e-4 if expected.dtype == F32 else 1e-9
    checks.check_array(out, expected, what, inputs=inputs, type_=Tensor, dtype=expected.dtype,
                       wrong=_reduction_wrong(op, a0, axis, keepdims), rtol=1e-5, atol=atol,
                       hint=f"{op} over axis None (all elements), an int (negative counts from "
                            "the end) or a tuple of axes, like NumPy")
    check_new(out, (x,), what, inputs)
    check_untouched(a0, x, what, inputs)
