"""Hidden tests for Conv2d: a NumPy loop oracle, metamorphic properties (linearity,
translation equivariance, delta kernels), exact and finite-difference gradients, fan-in."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from spatial_kit import (
    F32,
    F64,
    HINT_FLIPPED,
    HINT_NO_BIAS,
    HINT_SCATTER,
    HINT_SWAPPED_PAIRS,
    Case,
    check_recorded,
    check_tensor,
    conv_abs_scale,
    conv_cases,
    conv_grads_loop,
    conv_loop,
    grad_of,
    leaf,
    run,
    shape_hint,
    swapped_settings,
)
from tinytorch.core.spatial import Conv2d
from tinytorch.core.tensor import Tensor

from pytest_tinytorch import checks
from tinytorch.core import spatial


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def make_conv(case: Case, dtype=F32, leaves=False):
    """The learner's Conv2d for `case`, with the case's weight and bias as its parameters."""
    conv = run(lambda: Conv2d(**case.conv_args()), f"{case.describe()}: Conv2d(...)")
    w, b = case.weight(), case.bias_values()
    if leaves:  # float64 leaves of the test's own
        conv.weight = leaf(w)
        if case.bias:
            conv.bias = leaf(b)
    else:
        conv.weight.data = w.astype(dtype)
        if case.bias:
            conv.bias.data = b.astype(dtype)
    return conv


def forward(conv, x, case: Case, what=None):
    out = run(lambda: conv(x), what or case.describe())
    check_tensor(out, what or case.describe())
    return out


# Pairs read the right way round, padding that lets a kernel fit, floor division, channels.
EXAMPLES = [
    Case(1, 1, 1, (4, 5), (2, 3), (1, 2), (0, 1), True, 1),
    Case(1, 2, 1, (1, 2), (3, 3), (1, 1), (1, 1), True, 2),
    Case(2, 3, 2, (6, 5), (3, 2), (2, 3), (1, 0), True, 3),
    Case(1, 2, 3, (5, 5), (3, 3), (2, 2), (1, 1), False, 4, as_int=True),
    Case(2, 1, 2, (3, 4), (1, 2), (1, 1), (2, 0), True, 5),
    Case(1, 3, 2, (4, 4), (3, 3), (1, 1), (0, 0), True, 6, as_int=True),
]


def with_examples(test):
    for case in EXAMPLES:
        test = example(case=case)(test)
    return test


def test_conv2d_comes_from_your_kata():
    checks.assert_from_kata(Conv2d, "09_convolutions")
    run(lambda: Conv2d(1, 1, 1), "Conv2d(1, 1, 1)")


# ---------------------------------------------------------------- the oracle

@given(case=conv_cases())
@with_examples
def test_conv2d_matches_the_loop_oracle(case):
    conv = make_conv(case)
    x = case.x().astype(F32)
    w, b = conv.weight.data.astype(F64), (conv.bias.data.astype(F64) if case.bias else None)
    out = forward(conv, Tensor(x), case)
    expected = conv_loop(x, w, b, case.s, case.p)
    wrong = [(conv_loop(x, w[:, :, ::-1, ::-1], b, case.s, case.p), HINT_FLIPPED)]
    if case.bias:
        wrong.append((conv_loop(x, w, None, case.s, case.p), HINT_NO_BIAS))
    wrong += [(conv_loop(x, w, b, s2, p2), HINT_SWAPPED_PAIRS) for s2, p2 in swapped_settings(case)]
    scale = max(1.0, conv_abs_scale(x, w, case.s, case.p))
    checks.check_array(out, expected, f"{case.describe()}: the output", inputs={"x": x},
                       type_=Tensor, dtype=F32, rtol=1e-5, atol=1e-5 * scale, wrong=wrong,
                       shape_hint=shape_hint(out, case, channels=case.o),
                       hint="out[n, o, y, x] = bias[o] + sum over c, i, j of "
                            "xpad[n, c, y*sh + i, x*sw + j] * weight[o, c, i, j]")


@settings(max_examples=40)
@given(case=conv_cases(max_side=12))
@example(case=Case(1, 1, 1, (3, 3), (1, 1), (1, 3), (1, 0)))  # every known mistake gives other sides
@example(case=Case(1, 1, 1, (7, 9), (3, 2), (2, 3), (1, 2)))
@example(case=Case(1, 1, 1, (8, 8), (3, 3), (3, 3), (0, 0)))
@example(case=Case(1, 1, 1, (6, 7), (2, 3), (2, 2), (2, 1)))
def test_conv2d_output_size_formula(case):
    conv = run(lambda: Conv2d(**case.conv_args()), f"{case.describe()}: Conv2d(...)")
    out = forward(conv, Tensor(np.zeros(case.x_shape, F32)), case)
    checks.check_shape(out, (case.n, case.o, *case.out_hw), f"{case.describe()}: the output",
                       hint=shape_hint(out, case, channels=case.o))


# ---------------------------------------------------------------- metamorphic properties

@given(case=conv_cases(), a=st.floats(-2, 2), b=st.floats(-2, 2))
@example(case=EXAMPLES[2]._replace(bias=False), a=2.0, b=-0.5)
def test_conv2d_is_linear_in_its_input(case, a, b):
    case = case._replace(bias=False)
    conv = make_conv(case)
    x1, x2 = case.x(), case._replace(seed=case.seed + 7).x()
    out1, out2 = forward(conv, Tensor(x1), case), forward(conv, Tensor(x2), case)
    mixed = forward(conv, Tensor(a * x1 + b * x2), case)
    checks.check_array(mixed, a * np.asarray(out1.data, F64) + b * np.asarray(out2.data, F64),
                       f"{case.describe()} without bias: conv(a*x1 + b*x2) must equal "
                       f"a*conv(x1) + b*conv(x2) (a={a}, b={b})", inputs={"x1": x1, "x2": x2},
                       type_=Tensor, rtol=1e-7, atol=1e-7,
                       hint="a convolution is linear in its input: each output is a weighted sum "
                            "of input values, nothing else")


@given(case=conv_cases(), a=st.floats(-2, 2), b=st.floats(-2, 2))
@example(case=EXAMPLES[3], a=2.0, b=-0.5)
def test_conv2d_is_linear_in_its_weights(case, a, b):
    case = case._replace(bias=False)
    conv = make_conv(case)
    x = Tensor(case.x())
    w1, w2 = case.weight(), case._replace(seed=case.seed + 7).weight()
    outs = []
    for w in (w1, w2, a * w1 + b * w2):
        conv.weight = Tensor(w)
        outs.append(np.asarray(forward(conv, x, case).data, F64))
    checks.check_array(outs[2], a * outs[0] + b * outs[1],
                       f"{case.describe()} without bias: the output with weight a*w1 + b*w2 must "
                       f"equal a*(output with w1) + b*(output with w2) (a={a}, b={b})",
                       inputs={"x": x}, rtol=1e-7, atol=1e-7,
                       hint="use the layer's current self.weight (it may have been replaced), "
                            "and only multiply-add it with the input")


@given(case=conv_cases(stride=(1, 1), padding=(0, 0)), dy=st.integers(0, 2), dx=st.integers(0, 2))
@example(case=Case(1, 2, 2, (5, 5), (2, 3), (1, 1), (0, 0), False, 8), dy=1, dx=2)
@example(case=Case(1, 1, 1, (4, 4), (2, 2), (1, 1), (0, 0), False, 9), dy=0, dx=1)
def test_conv2d_is_translation_equivariant(case, dy, dx):
    ho, wo = case.out_hw
    dy, dx = min(dy, ho - 1), min(dx, wo - 1)
    h, w = case.hw
    conv = make_conv(case)
    x = case.x()
    shifted = np.zeros_like(x)
    shifted[:, :, dy:, dx:] = x[:, :, :h - dy, :w - dx]
    out = np.asarray(forward(conv, Tensor(x), case).data, F64)
    out_shifted = forward(conv, Tensor(shifted), case)
    checks.check_array(np.asarray(out_shifted.data, F64)[:, :, dy:, dx:], out[:, :, :ho - dy, :wo - dx],
                       f"{case.describe()}: moving the input down by {dy} and right by {dx} "
                       "(stride 1) must move the output by the same amount, away from the borders",
                       inputs={"x": x}, rtol=1e-7, atol=1e-7,
                       hint="output position (y, x) reads the window whose top-left corner is at "
                            "padded input row y*sh, column x*sw, with the same kernel everywhere")


@st.composite
def delta_cases(draw):
    c = draw(st.integers(1, 3))
    same = draw(st.booleans())
    if same:  # an odd kernel with its centre set, and the padding that keeps the size
        k = (draw(st.sampled_from([1, 3])), draw(st.sampled_from([1, 3])))
        i, j, p = k[0] // 2, k[1] // 2, (k[0] // 2, k[1] // 2)
    else:
        k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        i, j, p = draw(st.integers(0, k[0] - 1)), draw(st.integers(0, k[1] - 1)), (0, 0)
    hw = (draw(st.integers(k[0], 5)), draw(st.integers(k[1], 5)))
    return Case(draw(st.integers(1, 2)), c, c, hw, k, (1, 1), p, False,
                draw(st.integers(0, 2**31))), (i, j)


@given(case_ij=delta_cases())
@example(case_ij=(Case(1, 1, 1, (4, 4), (3, 3), (1, 1), (0, 0), False, 10), (0, 2)))
@example(case_ij=(Case(2, 2, 2, (4, 5), (3, 3), (1, 1), (1, 1), False, 11), (1, 1)))
@example(case_ij=(Case(1, 1, 1, (3, 4), (2, 3), (1, 1), (0, 0), False, 12), (1, 0)))
def test_conv2d_delta_kernel_copies_its_input(case_ij):
    case, (i, j) = case_ij
    conv = run(lambda: Conv2d(**case.conv_args()), f"{case.describe()}: Conv2d(...)")
    w = np.zeros((case.o, case.c, *case.k), F32)
    for ch in range(case.c):
        w[ch, ch, i, j] = 1.0
    conv.weight.data = w
    x = case.x().astype(F32)
    out = forward(conv, Tensor(x), case)
    xp = np.pad(x, ((0, 0), (0, 0), (case.p[0],) * 2, (case.p[1],) * 2))
    ho, wo = case.out_hw
    kh, kw = case.k
    expected = xp[:, :, i:i + ho, j:j + wo]
    flipped = xp[:, :, kh - 1 - i:kh - 1 - i + ho, kw - 1 - j:kw - 1 - j + wo]
    what = ("a centred delta kernel with the padding that keeps the size must give back the input"
            if case.p != (0, 0) else
            f"a delta kernel (weight[c, c, {i}, {j}] = 1, zeros elsewhere) must give the input "
            f"cropped from row {i}, column {j}")
    checks.check_array(out, expected, f"{case.describe()}: {what}", inputs={"x": x}, type_=Tensor,
                       wrong=[(flipped, HINT_FLIPPED)], shape_hint=shape_hint(out, case, channels=case.o),
                       hint="kernel offset (i, j) reads the input i rows below and j columns right "
                            "of each window's top-left corner")


# ---------------------------------------------------------------- gradients

def conv_gradients(case):
    """The learner's gradients of x, weight and bias for upstream gradient g (float64)."""
    conv = make_conv(case, leaves=True)
    x = leaf(case.x())
    out = forward(conv, x, case)
    g = case.upstream()
    checks.check_shape(out, g.shape, f"{case.describe()}: the output", hint=shape_hint(out, case, channels=case.o))
    run(lambda: out.backward(g), f"{case.describe()}: out.backward(g)", hint=HINT_SCATTER)
    inputs = {"x": x.data, "upstream g": g}
    grads = {"x": grad_of(x, case.describe(), "x", inputs),
             "weight": grad_of(conv.weight, case.describe(), "the weight", inputs)}
    if case.bias:
        grads["bias"] = grad_of(conv.bias, case.describe(), "the bias", inputs)
    return x.data, conv.weight.data, g, grads, inputs


@given(case=conv_cases())
@with_examples
@example(case=Case(2, 2, 2, (5, 5), (3, 3), (1, 1), (1, 1), True, 13))
@example(case=Case(2, 1, 1, (5, 4), (3, 2), (1, 1), (0, 0), True, 14))
def test_conv2d_gradients_match_the_exact_gradients(case):
    x, w, g, grads, inputs = conv_gradients(case)
    gx, gw, gb = conv_grads_loop(x, w, g, case.s, case.p)
    what = f"{case.describe()}, backward with a random upstream gradient g"
    shape_x = ("the input gradient still has the padding: cut ph rows and pw columns off each "
               "side of the padded gradient" if grads["x"].shape[2:] == tuple(
                   case.hw[a] + 2 * case.p[a] for a in range(2)) else "it has x's shape")
    checks.check_array(grads["x"], gx, f"{what}: the gradient of x", inputs=inputs,
                       shape_hint=shape_x,
                       wrong=[(conv_grads_loop(x, w[:, :, ::-1, ::-1], g, case.s, case.p)[0],
                               "backward uses the kernel flipped: the forward multiplies "
                               "xpad[y*sh + i, x*sw + j] by weight[o, c, i, j], so that same "
                               "weight carries the gradient back to that same position")],
                       hint=HINT_SCATTER)
    wrong_w = [(gw[:, :, ::-1, ::-1], "the weight gradient is flipped: weight[o, c, i, j] "
                "multiplied xpad[n, c, y*sh + i, x*sw + j], so its gradient is the sum of "
                "g[n, o, y, x] * xpad[n, c, y*sh + i, x*sw + j]")]
    if case.n > 1:
        wrong_w += [(gw / case.n, "the weight gradient was AVERAGED over the batch: every sample "
                     "added its products to the loss, so sum them"),
                    (conv_grads_loop(x[:1], w, g[:1], case.s, case.p)[1],
                     "only the first sample's contribution: sum the weight gradient over the batch")]
    checks.check_array(grads["weight"], gw, f"{what}: the gradient of the weight", inputs=inputs,
                       wrong=wrong_w, shape_hint="the weight gradient has the weight's shape "
                       "(out_channels, in_channels, kh, kw)",
                       hint="grad_weight[o, c, i, j] = sum over n, y, x of "
                            "g[n, o, y, x] * xpad[n, c, y*sh + i, x*sw + j]")
    if case.bias:
        checks.check_array(grads["bias"], gb, f"{what}: the gradient of the bias", inputs=inputs,
                           wrong=[(g.mean(axis=(0, 2, 3)), "the bias gradient was AVERAGED: bias[o] "
                                   "was added at every position of every sample, so sum g over N, Ho, Wo"),
                                  (g[0].sum(axis=(1, 2)), "only the first sample: sum the bias "
                                   "gradient over the batch too")],
                           hint="grad_bias[o] = g[:, o].sum()")


@given(case=conv_cases())
@with_examples
def test_conv2d_gradients_match_finite_differences(case):
    conv = make_conv(case, leaves=True)

    def f(x, w, b=None):
        conv.weight = w
        if b is not None:
            conv.bias = b
        return run(lambda: conv(x), case.describe())

    inputs = [case.x(), case.weight()] + ([case.bias_values()] if case.bias else [])
    names = "x0 is the input, x1 the weight" + (", x2 the bias" if case.bias else "")
    checks.check_grad(f, inputs, Tensor=Tensor, what=f"{case.describe()} ({names})",
                      seed=case.seed % 1000, hint=HINT_SCATTER)


# ---------------------------------------------------------------- fan-in and the graph

@given(case=conv_cases())
@example(case=EXAMPLES[2])
def test_conv2d_fan_in_same_input_through_two_convs(case):
    first, second = make_conv(case, leaves=True), make_conv(case._replace(seed=case.seed + 5), leaves=True)
    x = leaf(case.x())
    g = case.upstream()
    out = run(lambda: first(x) + second(x), f"{case.describe()}: conv1(x) + conv2(x)")
    run(lambda: out.backward(g), f"{case.describe()}: (conv1(x) + conv2(x)).backward(g)")
    gx1 = conv_grads_loop(x.data, first.weight.data, g, case.s, case.p)[0]
    gx2 = conv_grads_loop(x.data, second.weight.data, g, case.s, case.p)[0]
    inputs = {"x": x.data, "upstream g": g}
    checks.check_array(grad_of(x, case.describe(), "x", inputs), gx1 + gx2,
                       f"{case.describe()}: x feeds two convolutions; its gradient must be the sum of both",
                       inputs=inputs, wrong=[(gx1, "only the first convolution's contribution arrived"),
                                             (gx2, "only the second convolution's contribution arrived")],
                       hint="each call records its own Conv2dFn node with x among its inputs; "
                            "kata 06's engine adds the two contributions")


@given(case=conv_cases())
@example(case=EXAMPLES[2])
@example(case=Case(1, 1, 1, (3, 3), (2, 2), (1, 1), (0, 0), True, 15))
def test_conv2d_fan_in_one_conv_applied_to_two_inputs(case):
    conv = make_conv(case, leaves=True)
    x1, x2 = leaf(case.x()), leaf(case._replace(seed=case.seed + 9).x())
    g = case.upstream()
    out = run(lambda: conv(x1) + conv(x2), f"{case.describe()}: conv(x1) + conv(x2)")
    run(lambda: out.backward(g), f"{case.describe()}: (conv(x1) + conv(x2)).backward(g)")
    w = conv.weight.data
    _, gw1, _ = conv_grads_loop(x1.data, w, g, case.s, case.p)
    _, gw2, _ = conv_grads_loop(x2.data, w, g, case.s, case.p)
    inputs = {"x1": x1.data, "x2": x2.data, "upstream g": g}
    stale = ("one call's saved data was used for both calls' backward: keep what backward needs "
             "on its Function (record(..., **attrs)), not on the layer, which a second call overwrites")
    checks.check_array(grad_of(conv.weight, case.describe(), "the weight", inputs), gw1 + gw2,
                       f"{case.describe()}: one Conv2d applied to x1 and to x2; its weight gradient "
                       "must be the sum of both uses", inputs=inputs,
                       wrong=[(2 * gw2, stale), (2 * gw1, stale), (gw2, "only the second use arrived"),
                              (gw1, "only the first use arrived")],
                       hint="each call records its own node; the engine adds their weight gradients")


def test_conv2d_records_one_node_with_its_inputs():
    for bias in (True, False):
        case = Case(2, 2, 3, (4, 4), (3, 2), (1, 2), (1, 0), bias, 16)
        conv = make_conv(case, leaves=True)
        x = leaf(case.x())
        out = forward(conv, x, case)
        inputs = (x, conv.weight, conv.bias) if bias else (x, conv.weight)
        check_recorded(out, spatial.Conv2dFn, inputs, case.describe())
        g = case.upstream()
        grads = run(lambda: out._grad_fn.backward(g), f"{case.describe()}: Conv2dFn.backward(g)")
        if not isinstance(grads, tuple) or len(grads) != len(inputs):
            checks.fail(f"{case.describe()}: Conv2dFn.backward must return a tuple of one gradient "
                        f"per input ({len(inputs)}).", f"got {checks.fmt(grads)}",
                        hint="return (grad_x, grad_weight, grad_bias), or (grad_x, grad_weight) "
                             "when the layer has no bias")
