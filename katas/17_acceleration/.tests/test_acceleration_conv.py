"""Hidden tests for the three convolutions: each equals your kata-09 Conv2d forward (values,
shape, dtype) over drawn geometries; im2col_conv2d's gradients equal Conv2d's and finite
differences; the errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings

from pytest_tinytorch import checks
from tinytorch.core.spatial import Conv2d
from tinytorch.core.tensor import Tensor

import acceleration_kit as kit
from acceleration_kit import EXAMPLES, F32, F64, Case

NAMES = ["naive_conv2d", "shift_add_conv2d", "im2col_conv2d"]


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def with_examples(test):
    for case in EXAMPLES:
        test = example(case=case)(test)
    return test


def make_conv(case: Case, dtype=F32, leaves=False):
    """Your kata-09 Conv2d for `case`, holding the case's weight and bias."""
    conv = Conv2d(case.c, case.o, case.arg(case.k), stride=case.arg(case.s),
                  padding=case.arg(case.p), bias=case.bias)
    if leaves:
        conv.weight = kit.leaf(case.weight())
        if case.bias:
            conv.bias = kit.leaf(case.bias_values())
    else:
        conv.weight.data = case.weight().astype(dtype)
        if case.bias:
            conv.bias.data = case.bias_values().astype(dtype)
    return conv


def fast(name, case, x, weight, bias, what):
    fn = getattr(kit.acceleration(), name)
    before = [None if t is None else t.data.copy() for t in (x, weight, bias)]
    out = kit.run(lambda: fn(x, weight, bias, case.arg(case.s), case.arg(case.p)), what)
    kit.check_tensor(out, what)
    for label, t, old in zip(("x", "weight", "bias"), (x, weight, bias), before, strict=True):
        if t is not None and not np.array_equal(t.data, old):
            checks.fail(f"{what} modified {label}.", f"{label} changed during the call",
                        hint="write the result into a new array; pad a copy, never the input")
    return out


def describe(name, case, dtype):
    return (f"{name}(x, conv.weight, conv.bias, stride={case.arg(case.s)}, padding={case.arg(case.p)}) "
            f"with x {case.x_shape} {np.dtype(dtype).name}, weight {(case.o, case.c, *case.k)}, "
            f"bias={'(%d,)' % case.o if case.bias else None}")


HINT_FLIPPED = ("the kernel was flipped: this is a cross-correlation, as kata 09's Conv2d: "
                "offset (i, j) multiplies xp[y*sh + i, x*sw + j], with no [::-1]")
HINT_NO_BIAS = "the bias is missing: add bias[o] to every position of output channel o"
HINT_ORDER = ("the output's axes are mixed up: the matrix product gives rows (n, y, x) and "
              "columns o; reshape to (N, Ho, Wo, O), then move O to axis 1")


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=12)
@given(case=kit.cases())
@with_examples
def test_convolutions_equal_your_conv2d(name, case):
    conv = make_conv(case)
    x = case.x().astype(F32)
    what = describe(name, case, F32)
    expected = conv(Tensor(x))
    got = fast(name, case, Tensor(x), conv.weight, conv.bias, what)
    w = conv.weight.data.astype(F64)
    b = conv.bias.data.astype(F64) if case.bias else None
    wrong = [(kit.conv_loop(x, w[:, :, ::-1, ::-1], b, case.s, case.p), HINT_FLIPPED)]
    if case.bias:
        wrong.append((kit.conv_loop(x, w, None, case.s, case.p), HINT_NO_BIAS))
    ref = np.asarray(expected.data)
    ho, wo = ref.shape[2:]
    if ho * wo > 1:
        scrambled = ref.transpose(0, 2, 3, 1).reshape(ref.shape)
        wrong.append((scrambled, HINT_ORDER))
    scale = kit.conv_scale(x, w, case.s, case.p)
    checks.check_array(got, ref, f"{what}: the output (expected: your Conv2d's)", inputs={"x": x},
                       type_=Tensor, dtype=ref.dtype, rtol=1e-5, atol=1e-5 * scale, wrong=wrong,
                       shape_hint=f"the shape of conv(x), {ref.shape}: (N, O, Ho, Wo)",
                       dtype_hint="np.zeros(shape) is float64: give the output "
                                  "dtype=np.result_type(x.data, weight.data)",
                       hint="out[n, o, y, x] = bias[o] + sum over c, i, j of "
                            "xp[n, c, y*sh + i, x*sw + j] * weight[o, c, i, j]")


@pytest.mark.parametrize("name", NAMES)
def test_convolutions_follow_numpy_dtypes(name):
    case = EXAMPLES[1]
    conv = make_conv(case)
    x = case.x()  # float64 input, float32 parameters: float64 out, as your Conv2d
    what = describe(name, case, F64)
    expected = conv(Tensor(x))
    got = fast(name, case, Tensor(x), conv.weight, conv.bias, what)
    checks.check_array(got, expected, what, type_=Tensor, dtype=np.asarray(expected.data).dtype,
                       rtol=1e-6, atol=1e-6)
    no_bias = case._replace(bias=False, seed=11)
    conv = make_conv(no_bias)
    x = no_bias.x().astype(F32)
    what = describe(name, no_bias, F32)
    got = fast(name, no_bias, Tensor(x), conv.weight, None, what)
    checks.check_array(got, conv(Tensor(x)), what, type_=Tensor, dtype=F32, rtol=1e-5, atol=1e-5)


@given(case=kit.cases(max_side=5))
@with_examples
def test_im2col_conv2d_gradients_equal_your_conv2d(case):
    conv = make_conv(case, leaves=True)
    x = case.x()
    g = case.upstream()
    what = describe("im2col_conv2d", case, F64)
    x_ref = kit.leaf(x)
    conv(x_ref).backward(g)
    expected = {"x": x_ref.grad, "weight": conv.weight.grad,
                "bias": conv.bias.grad if case.bias else None}
    xt = kit.leaf(x)
    wt = kit.leaf(conv.weight.data)
    bt = kit.leaf(conv.bias.data) if case.bias else None
    out = fast("im2col_conv2d", case, xt, wt, bt, what)
    kit.run(lambda: out.backward(g), f"backward of {what}")
    for name, t in (("x", xt), ("weight", wt), ("bias", bt)):
        if t is None:
            continue
        got = kit.grad_of(t, what, name)
        checks.check_array(got, np.asarray(getattr(expected[name], "data", expected[name]), F64),
                           f"{what}: the gradient of {name} (expected: your Conv2d's)",
                           inputs={"upstream": g}, rtol=1e-9, atol=1e-9,
                           hint={"x": "col2im of g @ W: im2col's backward sends each window's "
                                      "gradient back onto the pixels it read",
                                 "weight": "cols^T @ g, reshaped to the weight's shape",
                                 "bias": "g summed over N, Ho and Wo"}[name])


@settings(max_examples=6)
@given(case=kit.cases(max_side=4))
@example(case=EXAMPLES[1])
def test_im2col_conv2d_gradients_match_finite_differences(case):
    acc = kit.acceleration()
    s, p = case.arg(case.s), case.arg(case.p)
    inputs = [case.x(), case.weight()] + ([case.bias_values()] if case.bias else [])
    checks.check_grad(lambda x, w, b=None: acc.im2col_conv2d(x, w, b, s, p), inputs, Tensor=Tensor,
                      what=describe("im2col_conv2d", case, F64), seed=case.seed % 1000)


@pytest.mark.parametrize("name", NAMES)
def test_convolution_errors(name):
    fn = getattr(kit.acceleration(), name)
    w = Tensor(np.ones((2, 3, 3, 3), F32))
    kit.expect_value_error(lambda: fn(Tensor(np.ones((3, 5, 5), F32)), w), f"{name} of a 3-D x (3, 5, 5)")
    kit.expect_value_error(lambda: fn(Tensor(np.ones((1, 3, 5, 5), F32)), Tensor(np.ones((2, 3, 3), F32))),
                           f"{name} of a 3-D weight (2, 3, 3)")
    kit.expect_value_error(lambda: fn(Tensor(np.ones((1, 2, 5, 5), F32)), w),
                           f"{name} of x with 2 channels and a weight for 3",
                           hint="check x.shape[1] == weight.shape[1]")
    kit.expect_value_error(lambda: fn(Tensor(np.ones((1, 3, 2, 2), F32)), w),
                           f"{name} of a 2x2 image with a 3x3 kernel and no padding")
