"""Hidden tests for kata 01 (Tensor), part 1: construction, dtypes, properties, arithmetic.

Oracle: NumPy, computed inside each test on the same arrays. Every check names the
property in words; known wrong answers (operands swapped, float64 leaks...) get a hint.
"""
from __future__ import annotations

import functools
import operator

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


_BROADCASTABLE = checks.broadcastable_shapes()

UFUNC_HINT = ("with a NumPy scalar or array on the left, NumPy only hands the operation to your "
              "reverse operator if Tensor keeps the class attribute `__array_ufunc__ = None`")
DTYPE_HINT = ("results follow NumPy's dtype rules: a float32 Tensor combined with a Python "
              "number stays float32 and a float64 Tensor stays float64; do not route values "
              "through np.array(python_float) or np.float64(...), which are float64")


def _away_from_zero(a: np.ndarray) -> np.ndarray:
    """Shift values out of (-1, 1) so that they can divide (keeps the dtype)."""
    return np.where(a >= 0, a + 1, a - 1).astype(a.dtype)


# ---------------------------------------------------------------- provenance

def test_tensor_comes_from_your_kata_folder():
    t = Tensor([1.0, 2.0])  # runs your constructor first: the empty stub does not pass
    checks.check_array(t, np.array([1.0, 2.0], dtype=F32), "Tensor([1.0, 2.0])", type_=Tensor,
                       dtype=F32)
    checks.assert_from_kata(Tensor, "01_tensor")


# ---------------------------------------------------------------- construction

NON_FLOAT_FORMS = ["list of ints", "list of floats", "nested tuple", "int64 array", "int32 array",
                   "bool array", "python int", "python float", "numpy int scalar"]


def _non_float_input(a: np.ndarray, form: str):
    ints = np.round(a).astype(np.int64)
    return {
        "list of ints": ints.tolist(),
        "list of floats": a.tolist(),
        "nested tuple": tuple(tuple(r) if isinstance(r, list) else r for r in a.tolist()),
        "int64 array": ints,
        "int32 array": ints.astype(np.int32),
        "bool array": ints > 0,
        "python int": int(ints.flat[0]),
        "python float": float(a.flat[0]),
        "numpy int scalar": np.int64(ints.flat[0]),
    }[form]


@given(a=checks.arrays(dtype=F64, lo=-100, hi=100), form=st.sampled_from(NON_FLOAT_FORMS))
@example(a=np.array([[1.0, 2.0], [3.0, 4.0]]), form="list of ints")
@example(a=np.array([1.5, -2.0]), form="list of floats")
@example(a=np.array([3.0]), form="python float")
@example(a=np.array([7.0, -1.0]), form="int64 array")
def test_non_floating_input_becomes_float32(a, form):
    data = _non_float_input(a, form)
    inputs = {f"data ({form})": data}
    t = Tensor(data)
    if not isinstance(t.data, np.ndarray):
        checks.fail("Tensor(data).data must be a NumPy ndarray.",
                    f"got {type(t.data).__name__}", inputs=inputs,
                    hint="convert the input to an np.ndarray, also for a single number (a 0-d array)")
    checks.check_array(t, np.asarray(data, dtype=F32), f"Tensor({form})", type_=Tensor, dtype=F32,
                       inputs=inputs,
                       dtype_hint="lists, tuples, Python numbers and integer/bool arrays must become "
                            "float32 (NumPy alone would give int64 or float64 here)")
    if t.requires_grad is not False or t.grad is not None:
        checks.fail("A new Tensor must have requires_grad=False and grad=None by default.",
                    f"got requires_grad={t.requires_grad!r}, grad={checks.fmt(t.grad)}", inputs=inputs)
    g = Tensor(data, requires_grad=True)
    if g.requires_grad is not True or g.grad is not None:
        checks.fail("Tensor(data, requires_grad=True) must have requires_grad=True and grad=None.",
                    f"got requires_grad={g.requires_grad!r}, grad={checks.fmt(g.grad)}",
                    inputs=inputs, hint="store requires_grad as a bool")


FLOAT_FORMS = ["float array", "numpy float scalar", "Tensor"]


@given(a=st.one_of(checks.arrays(dtype=F32), checks.arrays(dtype=F64)),
       form=st.sampled_from(FLOAT_FORMS))
@example(a=np.array([1.0, 2.0], dtype=F64), form="float array")
@example(a=np.array([0.1], dtype=F64), form="numpy float scalar")
@example(a=np.array([0.1, 0.2], dtype=F64), form="Tensor")
@example(a=np.array([0.5, 2.0], dtype=F32), form="float array")
def test_floating_input_keeps_its_dtype(a, form):
    if form == "float array":
        data, expected = a, a
    elif form == "numpy float scalar":
        data = a.dtype.type(a.flat[0])
        expected = np.asarray(data)
    else:
        data, expected = Tensor(a), a
    inputs = {f"data ({form}, {a.dtype})": data if form == "numpy float scalar" else a}
    t = Tensor(data)
    if not isinstance(t.data, np.ndarray):
        checks.fail("Tensor(data).data must be a NumPy ndarray.", f"got {type(t.data).__name__}",
                    inputs=inputs,
                    hint="given a Tensor, take its .data; a NumPy scalar becomes a 0-d array")
    checks.check_array(t, expected, f"Tensor({form} of dtype {a.dtype})", type_=Tensor,
                       dtype=a.dtype, inputs=inputs,
                       dtype_hint=f"a {a.dtype} input must keep its dtype (float64 must stay float64: "
                            "kata 06 checks gradients in float64); convert only non-floating "
                            "inputs to float32")


@given(shape=checks.shapes(min_dims=0), dtype=FLOAT_DTYPES)
@example(shape=(2, 3), dtype=F32)
def test_properties_and_repr(shape, dtype):
    a = np.asarray(np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape) / 2)
    t = Tensor(a)
    inputs = {"x": a}
    for name, expected, typ in (("shape", a.shape, tuple), ("size", a.size, int),
                                ("ndim", a.ndim, int)):
        got = getattr(t, name)
        if not isinstance(got, typ) or isinstance(got, bool) or got != expected:
            checks.fail(f"x.{name} is wrong.", f"got {got!r} ({type(got).__name__}), "
                        f"expected {expected!r} ({typ.__name__})", inputs=inputs,
                        hint=f"x.{name} is a property (no call) returning a Python {typ.__name__}")
    if not isinstance(t.dtype, np.dtype) or t.dtype != a.dtype:
        checks.fail("x.dtype is wrong.", f"got {t.dtype!r}, expected {a.dtype!r} (an np.dtype)",
                    inputs=inputs, hint="x.dtype is the dtype of the underlying array")
    arr = t.numpy()
    if not isinstance(arr, np.ndarray) or arr.shape != a.shape or not np.array_equal(arr, a):
        checks.fail("x.numpy() must return the underlying ndarray (x.data).",
                    f"got {checks.fmt(arr)}", inputs=inputs)
    if a.ndim >= 1 and len(t) != a.shape[0]:
        checks.fail("len(x) must be the size of the first dimension.",
                    f"got {len(t)}, expected {a.shape[0]}", inputs=inputs)
    text = repr(t)
    if not isinstance(text, str) or not text.startswith("Tensor(") or f"dtype={a.dtype}" not in text:
        checks.fail("repr(x) must look like Tensor([1., 2.], dtype=float32).",
                    f"got {text!r}", inputs=inputs,
                    hint=f"start with 'Tensor(' and include 'dtype={a.dtype}'")


# ---------------------------------------------------------------- arithmetic

BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
REVERSE = {"+": "__radd__", "-": "__rsub__", "*": "__rmul__", "/": "__rtruediv__"}


def _swapped_hint(sym: str, left: str, right: str, dunder: str) -> str:
    return (f"operand order swapped: you computed {right} {sym} {left} instead of "
            f"{left} {sym} {right}; {dunder}")


@st.composite
def operand_pairs(draw):
    sa, sb = draw(_BROADCASTABLE)
    dt = draw(FLOAT_DTYPES)
    a = draw(_arrays(sa, dtype=dt))
    b = _away_from_zero(draw(_arrays(sb, dtype=dt)))  # divisors stay away from zero
    return a, b


@given(pair=operand_pairs(), sym=st.sampled_from(list(BINARY)))
@example(pair=(np.array([[1.0, 2.0], [3.0, 4.0]], F32), np.array([10.0, 20.0], F32)), sym="-")
@example(pair=(np.array([[1.0, 2.0], [3.0, 4.0]], F32), np.array([10.0, 20.0], F32)), sym="/")
@example(pair=(np.array([[1.0], [2.0]], F64), np.array([3.0, -4.0, 5.0], F64)), sym="*")
@example(pair=(np.array(2.0, F32), np.array([[1.5], [-2.0]], F32)), sym="+")
@example(pair=(np.array([1.0, -2.0], F32), np.array([[1.5], [-2.0]], F32)), sym="*")
def test_binary_ops_broadcast_like_numpy(pair, sym):
    a, b = pair
    op = BINARY[sym]
    a0, b0 = a.copy(), b.copy()
    x, y = Tensor(a), Tensor(b)
    expected = op(a0, b0)
    if np.broadcast_shapes(a.shape, b.shape) != expected.shape:  # guard on the oracle itself
        raise AssertionError("NumPy disagrees with np.broadcast_shapes")
    with np.errstate(all="ignore"):
        swapped = op(b0, a0)
    forms = (
        (f"x {sym} y (two Tensors)", lambda: op(x, y), (x, y),
         [(swapped, _swapped_hint(sym, "x", "y", f"in __{'sub' if sym == '-' else 'truediv'}__ "
                                  "self is the left operand"))] if sym in "-/" else []),
        (f"x {sym} b (Tensor {sym} ndarray)", lambda: op(x, b), (x,), []),
        (f"a {sym} y (ndarray {sym} Tensor, calls y.{REVERSE[sym]}(a))", lambda: op(a, y), (y,),
         [(swapped, _swapped_hint(sym, "a", "y", f"{REVERSE[sym]}(self, other) receives the "
                                  "LEFT operand as `other`"))] if sym in "-/" else []),
    )
    inputs = {"a (x = Tensor(a))": a0, "b (y = Tensor(b))": b0}
    for what, run, operands, wrong in forms:
        out = run()
        checks.check_array(
            out, expected, what, inputs=inputs, type_=Tensor, dtype=expected.dtype, wrong=wrong,
            type_hint=("with a NumPy array on the left, NumPy only hands the operation to your "
                       f"{REVERSE[sym]} if Tensor keeps the class attribute `__array_ufunc__ = None`"
                       if isinstance(out, np.ndarray) else ""),
            shape_hint="the result shape is np.broadcast_shapes(x.shape, y.shape), as in NumPy",
            dtype_hint=DTYPE_HINT)
        check_new(out, operands, what, inputs)
        check_untouched(a0, x, what, inputs)
        check_untouched(b0, y, what, inputs)
        if not np.array_equal(a, a0) or not np.array_equal(b, b0):
            checks.fail(f"{what} changed the arrays the Tensors were built from.", inputs=inputs,
                        hint="never write into self.data or into an operand's array")


SCALAR_FORMS = {
    "x + c": lambda x, c: x + c, "c + x": lambda x, c: c + x,
    "x - c": lambda x, c: x - c, "c - x": lambda x, c: c - x,
    "x * c": lambda x, c: x * c, "c * x": lambda x, c: c * x,
    "x / c": lambda x, c: x / c, "c / x": lambda x, c: c / x,
}
SCALAR_WRONG = {
    "x - c": ("c - x", "x - c came out as c - x: in __sub__, self is the left operand"),
    "c - x": ("x - c", "c - x came out as x - c: __rsub__(self, other) is called for "
                       "`other - self`, so the scalar is the LEFT operand (operand order swapped)"),
    "x / c": ("c / x", "x / c came out as c / x: in __truediv__, self is the numerator"),
    "c / x": ("x / c", "c / x came out as x / c: __rtruediv__(self, other) is called for "
                       "`other / self`, so the scalar is the numerator (operand order swapped)"),
}


@st.composite
def tensor_and_scalar(draw):
    dt = draw(FLOAT_DTYPES)
    a = _away_from_zero(draw(_arrays(dtype=dt, min_dims=0)))
    kind = draw(st.sampled_from(["python float", "python int", "numpy float32", "numpy float64"]))
    v = draw(st.floats(1.0, 5.0, allow_nan=False)) * draw(st.sampled_from([1, -1]))
    c = {"python float": float(v), "python int": int(round(v)),
         "numpy float32": np.float32(v), "numpy float64": np.float64(v)}[kind]
    return a, c


@given(case=tensor_and_scalar(), form=st.sampled_from(list(SCALAR_FORMS)))
@example(case=(np.array([1.0, 2.0, 3.0], F32), 10.0), form="c - x")
@example(case=(np.array([1.0, 2.0, 4.0], F32), 8.0), form="c / x")
@example(case=(np.array([1.0, 2.0, 3.0], F32), 10), form="x - c")
@example(case=(np.array([1.0, 2.0, 4.0], F32), 2.5), form="x * c")
@example(case=(np.array([1.0, 2.0], F64), 0.5), form="c + x")
def test_scalar_ops_and_reverse_ops(case, form):
    a, c = case
    a0 = a.copy()
    x = Tensor(a)
    f = SCALAR_FORMS[form]
    expected = f(a0, c)
    wrong = []
    if form in SCALAR_WRONG:
        other, why = SCALAR_WRONG[form]
        wrong.append((SCALAR_FORMS[other](a0, c), why))
    inputs = {"x": a0, "c": c}
    out = f(x, c)
    checks.check_array(out, expected, form, inputs=inputs, type_=Tensor, dtype=expected.dtype,
                       wrong=wrong, dtype_hint=DTYPE_HINT, type_hint=UFUNC_HINT)
    check_new(out, (x,), form, inputs)
    check_untouched(a0, x, form, inputs)


POWERS = ["-x", "x ** 2", "x ** 3", "x ** 0", "x ** 0.5", "x ** -1", "x ** 1.5", "x ** np.float32(2)"]


@given(a=st.one_of(checks.arrays(dtype=F32, min_dims=0), checks.arrays(dtype=F64, min_dims=0)),
       form=st.sampled_from(POWERS))
@example(a=np.array([1.0, 2.0, 3.0], F32), form="x ** 2")
@example(a=np.array([1.0, 2.0, 3.0], F32), form="x ** 3")
@example(a=np.array([-1.5, 0.0, 2.0], F32), form="-x")
@example(a=np.array([4.0, 9.0], F64), form="x ** 0.5")
def test_neg_and_pow(a, form):
    if form == "-x":
        base, p = a, None
    else:
        p = eval(form.split("** ", 1)[1], {"np": np})  # a Python or NumPy scalar exponent
        base = a if float(p) == round(float(p)) and float(p) >= 0 else _away_from_zero(np.abs(a))
    base0 = base.copy()
    x = Tensor(base)
    if p is None:
        out, expected = -x, -base0
        wrong = [(base0, "-x returned x unchanged: negate every element")]
    else:
        out, expected = x ** p, base0 ** p
        with np.errstate(all="ignore"):
            wrong = [(base0 * p, f"x ** {p} looks like x * {p}: ** raises each element to a power"),
                     (np.power(float(p), base0.astype(np.float64)), "base and exponent swapped: "
                      "x ** p raises x (the Tensor) to the power p")]
    inputs = {"x": base0}
    checks.check_array(out, expected, form, inputs=inputs, type_=Tensor, dtype=expected.dtype,
                       wrong=wrong, rtol=1e-5, atol=1e-4)
    check_new(out, (x,), form, inputs)
    check_untouched(base0, x, form, inputs)
