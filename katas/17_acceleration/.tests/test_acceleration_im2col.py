"""Hidden tests for im2col and col2im: entries against loop oracles (row and column order,
stride, padding, pairs), shapes, dtypes, the copy, the recorded gradient, adjointness,
overlaps and gaps, and the errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

import acceleration_kit as kit
from acceleration_kit import EXAMPLES, F32, F64, Case


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def with_examples(test):
    for case in EXAMPLES:
        test = example(case=case)(test)
    return test


HINT_KERNEL_MAJOR = ("the columns are in (kernel row, kernel column, channel) order: column "
                     "(c*kh + i)*kw + j holds channel c at offset (i, j), so that "
                     "weight.reshape(O, -1) lines up with it")
HINT_ROWS = ("the rows are in the wrong order: row (n*Ho + y)*Wo + x is output position (y, x) "
             "of image n (image first, then rows, then columns)")


def im2col(case, x):
    acc = kit.acceleration()
    tx = Tensor(x)
    out = kit.run(lambda: acc.im2col(tx, case.arg(case.k), case.arg(case.s), case.arg(case.p)),
                  case.describe(), inputs={"x": x})
    kit.check_tensor(out, case.describe())
    if not np.array_equal(tx.data, x):
        checks.fail(f"{case.describe()} modified x.", "x changed during the call")
    return out


def col2im(case, y, as_tensor=True):
    acc = kit.acceleration()
    what = case.describe("col2im") + f", cols of shape {y.shape}"
    arg = Tensor(y) if as_tensor else y.copy()
    out = kit.run(lambda: acc.col2im(arg, case.x_shape, case.arg(case.k), case.arg(case.s),
                                     case.arg(case.p)), what, inputs={"cols": y})
    kit.check_tensor(out, what)
    return out, what


# ---------------------------------------------------------------- im2col

@settings(max_examples=15)
@given(case=kit.cases())
@with_examples
def test_im2col_holds_every_window(case):
    x = case.x()
    got = im2col(case, x)
    wrong = [(kit.im2col_loop(x, case.k, case.s, case.p, order="ijc"), HINT_KERNEL_MAJOR),
             (kit.im2col_loop(x, case.k, case.s, case.p, rows="yxn"), HINT_ROWS)]
    checks.check_array(got, kit.im2col_loop(x, case.k, case.s, case.p), case.describe(),
                       inputs={"x": x}, type_=Tensor, dtype=F64, wrong=wrong,
                       shape_hint=(f"(N*Ho*Wo, C*kh*kw) = {case.cols_shape}: one row per output "
                                   "position of every image, one column per (channel, kernel "
                                   "offset); not the transpose, and Ho, Wo by kata 09's formula"),
                       hint="row (n*Ho + y)*Wo + x, column (c*kh + i)*kw + j holds "
                            "xp[n, c, y*sh + i, x*sw + j], xp the zero-padded input")


@pytest.mark.parametrize("dtype", [F32, F64])
def test_im2col_keeps_the_dtype_and_copies(dtype):
    case = Case(1, 1, 1, (3, 3), (1, 1), (1, 1), (0, 0), False, 9, as_int=True)
    x = case.x().astype(dtype)
    got = im2col(case, x)
    checks.check_array(got, kit.im2col_loop(x, case.k, case.s, case.p).astype(dtype),
                       case.describe(), type_=Tensor, dtype=dtype)
    got.data[...] = 99.0
    xt = Tensor(x)
    again = kit.run(lambda: kit.acceleration().im2col(xt, 1), "im2col(x, 1)")
    again.data[...] = 99.0
    if np.any(xt.data == 99.0):
        checks.fail("Writing into im2col's result changed x: the result must be a copy.",
                    "a 1x1 kernel's windows are the input itself", inputs={"x": x},
                    hint="reshape the windows into a new array (np.ascontiguousarray or .copy())")


@given(case=kit.cases(max_side=5))
@with_examples
def test_im2col_is_recorded_and_its_gradient_is_col2im(case):
    acc = kit.acceleration()
    x = kit.leaf(case.x())
    out = kit.run(lambda: acc.im2col(x, case.arg(case.k), case.arg(case.s), case.arg(case.p)),
                  case.describe())
    fn = getattr(out, "_grad_fn", None)
    if not isinstance(fn, acc.Im2colFunction) or tuple(getattr(fn, "inputs", ())) != (x,) \
            or fn.inputs[0] is not x:
        checks.fail(f"{case.describe()} must record one Im2colFunction node whose inputs are (x,).",
                    f"its output's _grad_fn is {type(fn).__name__ if fn is not None else None}",
                    hint="return record(Tensor(cols), Im2colFunction, (x,), kernel_size=..., "
                         "stride=..., padding=...)")
    y = case.y()
    kit.run(lambda: out.backward(y), f"backward of {case.describe()}")
    g = kit.grad_of(x, case.describe(), "x")
    checks.check_array(g, kit.col2im_loop(y, case.x_shape, case.k, case.s, case.p),
                       f"{case.describe()}: the gradient of x", inputs={"upstream": y},
                       wrong=[(kit.col2im_loop(y, case.x_shape, case.k, case.s, case.p, add=False),
                               "overlapping windows overwrote each other: their gradients ADD UP")],
                       hint="Im2colFunction.backward(grad) returns (col2im(grad, x.shape, ...).data,)")
    checks.check_grad(lambda t: acc.im2col(t, case.arg(case.k), case.arg(case.s), case.arg(case.p)),
                      [case.x()], Tensor=Tensor, what=case.describe(), seed=case.seed % 1000)


# ---------------------------------------------------------------- col2im

@settings(max_examples=15)
@given(case=kit.cases())
@with_examples
def test_col2im_adds_every_entry_back_where_it_came_from(case):
    y = case.y()
    got, what = col2im(case, y)
    checks.check_array(got, kit.col2im_loop(y, case.x_shape, case.k, case.s, case.p), what,
                       inputs={"cols": y}, type_=Tensor, dtype=F64,
                       wrong=[(kit.col2im_loop(y, case.x_shape, case.k, case.s, case.p, add=False),
                               "overlapping windows overwrote each other: use += so that every "
                               "window's entry adds up")],
                       shape_hint=f"the shape of x, {case.x_shape}: cut the padding off at the end",
                       hint="entry (row of (n, y, x), column of (c, i, j)) goes to "
                            "xp[n, c, y*sh + i, x*sw + j]; then drop the padding")


@settings(max_examples=20)
@given(case=kit.cases())
@with_examples
def test_col2im_is_the_adjoint_of_im2col(case):
    x, y = case.x(), case.y()
    cols = im2col(case, x)
    back, _ = col2im(case, y)
    left = float(np.sum(np.asarray(cols.data, F64) * y))
    right = float(np.sum(x * np.asarray(back.data, F64)))
    if not np.isclose(left, right, rtol=1e-9, atol=1e-9 * max(1.0, float(np.abs(y).sum()))):
        checks.fail(f"{case.describe()}: <im2col(x), y> must equal <x, col2im(y)>.",
                    f"sum(im2col(x) * y) = {left!r}, sum(x * col2im(y)) = {right!r}",
                    inputs={"x": x, "y": y},
                    hint="col2im must put every entry exactly where im2col took it from, adding "
                         "up overlaps and dropping the padding")


def test_col2im_counts_overlaps_and_leaves_gaps():
    case = Case(1, 1, 1, (3, 3), (2, 2), (1, 1), (0, 0), False, as_int=True)
    got, what = col2im(case, np.ones((4, 4)), as_tensor=False)
    checks.check_array(got, np.array([[[[1, 2, 1], [2, 4, 2], [1, 2, 1]]]], F64),
                       what + " of ones (an ndarray): how many windows cover each pixel",
                       type_=Tensor, dtype=F64,
                       wrong=[(np.ones((1, 1, 3, 3)), "overlapping windows overwrote each other: "
                                                      "use += so that the windows add up")])
    gaps = Case(1, 1, 1, (5, 5), (1, 1), (3, 3), (0, 0), False, as_int=True)
    got, what = col2im(gaps, np.ones((4, 1)).astype(F32))
    expected = np.zeros((1, 1, 5, 5), F32)
    expected[0, 0, ::3, ::3] = 1.0
    checks.check_array(got, expected, what + " of float32 ones: stride 3 leaves gaps of zeros",
                       type_=Tensor, dtype=F32)


def test_im2col_and_col2im_errors():
    acc = kit.acceleration()
    x = Tensor(np.ones((1, 2, 4, 4), F32))
    kit.expect_value_error(lambda: acc.im2col(Tensor(np.ones((2, 4, 4), F32)), 3),
                           "im2col of a 3-D input (2, 4, 4)")
    kit.expect_value_error(lambda: acc.im2col(x, 5), "im2col(x, 5) of a 4x4 image")
    kit.expect_value_error(lambda: acc.col2im(np.ones((5, 18)), (1, 2, 4, 4), 3),
                           "col2im of cols (5, 18) for x_shape (1, 2, 4, 4), kernel 3 (im2col gives "
                           "(4, 18))", names=("(5, 18)", "(4, 18)"),
                           hint="compare cols' shape with (N*Ho*Wo, C*kh*kw) and name both")
    kit.expect_value_error(lambda: acc.col2im(np.ones((8, 9)), (1, 2, 4, 4), 3),
                           "col2im of cols (8, 9) for x_shape (1, 2, 4, 4), kernel 3 (im2col gives "
                           "(4, 18): the same number of entries)", names=("(8, 9)", "(4, 18)"),
                           hint="compare the shape of cols, not only its size: a reshape of the "
                                "wrong layout succeeds silently")
    kit.expect_value_error(lambda: acc.col2im(np.ones((4, 9)), (2, 4, 4), 3),
                           "col2im with x_shape (2, 4, 4), not 4 numbers")
