"""Hidden tests for kata 01 (Tensor), part 3: operands of mixed dtypes.

Oracle: NumPy 2's own promotion (NEP 50) on the same values. Every operand kind the
README names is drawn on either side of the operator: float32 and float64 arrays, int
and bool arrays, NumPy float and integer scalars, Python numbers, in `+ - * /`, `@` and
`**`. A result whose dtype NumPy would not give is a bug: float64 lost, or leaked.
"""
from __future__ import annotations

import operator

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

from tensor_kit import check_new, check_untouched

F32, F64 = np.float32, np.float64

OPERAND_KINDS = ["float32 array", "float64 array", "int64 array", "int32 array", "bool array",
                 "np.float32 scalar", "np.float64 scalar", "np.int64 scalar", "python int",
                 "python float", "float32 Tensor", "float64 Tensor"]
BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}
PROMOTION_HINT = ("results follow NumPy's promotion rules: combine the arrays themselves "
                  "(self.data with the operand's value) and let NumPy pick the dtype; do not "
                  "cast either side first")


def operand(kind: str, values: np.ndarray):
    """The other operand, built from small values (never zero, so it can divide)."""
    ints = values.astype(np.int64)
    return {
        "float32 array": values.astype(F32), "float64 array": values.astype(F64),
        "int64 array": ints, "int32 array": ints.astype(np.int32), "bool array": values > 0,
        "np.float32 scalar": F32(values.flat[0]), "np.float64 scalar": F64(values.flat[0]),
        "np.int64 scalar": np.int64(ints.flat[0]), "python int": int(ints.flat[0]),
        "python float": float(values.flat[0]),
        "float32 Tensor": Tensor(values.astype(F32)), "float64 Tensor": Tensor(values.astype(F64)),
    }[kind]


def raw(value):
    return value.data if isinstance(value, Tensor) else value


@st.composite
def mixed_cases(draw):
    dtype = draw(st.sampled_from([F32, F64]))
    shape = draw(st.sampled_from([(3,), (2, 3), (2, 1)]))
    a = draw(checks.arrays(shape, dtype=dtype, lo=1.0, hi=5.0))
    kind = draw(st.sampled_from(OPERAND_KINDS))
    values = np.asarray(draw(checks.arrays((3,), dtype=F64, lo=1.0, hi=4.0))).round() + 1
    return a, kind, values


@given(case=mixed_cases(), sym=st.sampled_from(list(BINARY)), left=st.booleans())
@example(case=(np.array([1.0, 2.0, 3.0], F32), "float64 array", np.array([2.0, 3.0, 4.0])), sym="+", left=False)
@example(case=(np.array([1.0, 2.0, 3.0], F32), "float64 array", np.array([2.0, 3.0, 4.0])), sym="*", left=True)
@example(case=(np.array([1.0, 2.0, 3.0], F32), "np.float64 scalar", F64(2.5)), sym="*", left=False)
@example(case=(np.array([1.0, 2.0, 3.0], F32), "np.float64 scalar", F64(2.5)), sym="-", left=True)
@example(case=(np.array([1.0, 2.0, 3.0], F32), "int64 array", np.array([2, 3, 4])), sym="/", left=False)
@example(case=(np.array([1.0, 2.0, 3.0], F32), "np.int64 scalar", np.int64(2)), sym="*", left=True)
@example(case=(np.array([1.0, 2.0, 3.0], F32), "bool array", np.array([True, False, True])), sym="+", left=True)
@example(case=(np.array([1.0, 2.0, 3.0], F64), "float32 array", np.array([2.0, 3.0, 4.0], F32)), sym="-", left=False)
@example(case=(np.array([1.0, 2.0, 3.0], F64), "python float", 0.5), sym="/", left=True)
@example(case=(np.array([1.0, 2.0, 3.0], F32), "float64 Tensor", np.array([2.0, 3.0, 4.0])), sym="*", left=False)
def test_mixed_dtype_operands_follow_numpy(case, sym, left):
    a, kind, values = case
    other = operand(kind, np.asarray(values))  # built here: the stub's Tensor cannot run at import
    a0 = a.copy()
    x = Tensor(a)
    op = BINARY[sym]
    with np.errstate(all="ignore"):
        expected = np.asarray(op(raw(other), a0) if left else op(a0, raw(other)))
    form = f"({kind}) {sym} x" if left else f"x {sym} ({kind})"
    inputs = {"x": a0, "other": other}
    out = op(other, x) if left else op(x, other)
    checks.check_array(out, expected, form, inputs=inputs, type_=Tensor, dtype=expected.dtype,
                       rtol=1e-6, atol=1e-6, dtype_hint=PROMOTION_HINT)
    check_new(out, (x,) + ((other,) if isinstance(other, Tensor) else ()), form, inputs)
    check_untouched(a0, x, form, inputs)


MATMUL_KINDS = ["float32 array", "float64 array", "int64 array", "float32 Tensor", "float64 Tensor"]


@given(dtype=st.sampled_from([F32, F64]), kind=st.sampled_from(MATMUL_KINDS), left=st.booleans(),
       n=st.integers(1, 3), k=st.integers(1, 3))
@example(dtype=F32, kind="float64 array", left=False, n=2, k=3)
@example(dtype=F32, kind="float64 Tensor", left=True, n=2, k=2)
@example(dtype=F64, kind="float32 array", left=False, n=1, k=2)
def test_matmul_with_mixed_dtypes_follows_numpy(dtype, kind, left, n, k):
    a = (np.arange(n * k).reshape(n, k) - 1.5).astype(dtype)
    other = operand(kind, np.arange(k * n, dtype=F64).reshape(k, n) - 2)  # (k, n) either side
    x = Tensor(a)
    left = left and isinstance(other, Tensor)  # `ndarray @ x` is not part of the API
    expected = np.matmul(raw(other), a) if left else np.matmul(a, raw(other))
    form = f"({kind}) @ x" if left else f"x @ ({kind})"
    out = other @ x if left else x @ other
    checks.check_array(out, expected, form, inputs={"x": a, "other": other}, type_=Tensor,
                       dtype=expected.dtype, rtol=1e-6, atol=1e-6, dtype_hint=PROMOTION_HINT)


POWER_KINDS = {"2": 2, "3": 3, "1": 1, "2.0": 2.0, "np.float32(2)": F32(2), "np.float64(2)": F64(2),
               "np.int64(3)": np.int64(3), "-1": -1}


@given(a=checks.arrays(dtype=F32, lo=-4, hi=4) | checks.arrays(dtype=F64, lo=-4, hi=4),
       p=st.sampled_from(list(POWER_KINDS)))
@example(a=np.array([-2.0, -1.0, 3.0], F32), p="3")
@example(a=np.array([-2.0, -0.5, 3.0], F64), p="3")
@example(a=np.array([-3.0, 2.0], F32), p="1")
@example(a=np.array([-2.0, 1.5], F32), p="np.float64(2)")
@example(a=np.array([-2.0, 1.5], F32), p="np.int64(3)")
@example(a=np.array([0.0, -2.0, 1.0], F64), p="2")
def test_power_keeps_signs_and_follows_numpy(a, p):
    exponent = POWER_KINDS[p]
    # a negative power divides: keep its bases away from zero
    base = a if p != "-1" else np.where(np.abs(a) < 0.5, np.sign(a) + (a == 0), a).astype(a.dtype)
    x = Tensor(base)
    with np.errstate(all="ignore"):
        expected = np.asarray(base ** exponent)
        wrong = [(np.abs(base) ** exponent, f"x ** {p} lost the sign of negative bases: do not "
                                            "take np.abs of the base (an odd power of a "
                                            "negative number is negative)")]
    checks.check_array(x ** exponent, expected, f"x ** {p}", inputs={"x": base}, type_=Tensor,
                       dtype=expected.dtype, rtol=1e-5, atol=1e-5, wrong=wrong,
                       dtype_hint=PROMOTION_HINT)
