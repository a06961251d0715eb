"""Hidden tests for MaxPool2d and AvgPool2d: loop oracles, the default stride, gradients
(exact routing on distinct values, finite differences, explicit ties), overlapping windows."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from spatial_kit import (
    F32,
    F64,
    HINT_SCATTER,
    HINT_SWAPPED_PAIRS,
    Case,
    avgpool_loop,
    check_recorded,
    check_tensor,
    conv_cases,
    grad_of,
    leaf,
    maxpool_loop,
    run,
    shape_hint,
    swapped_settings,
)
from tinytorch.core.spatial import AvgPool2d, MaxPool2d
from tinytorch.core.tensor import Tensor

from pytest_tinytorch import checks
from tinytorch.core import spatial

POOLS = {"MaxPool2d": MaxPool2d, "AvgPool2d": AvgPool2d}


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def make_pool(name, case: Case, default_stride=False):
    stride = None if default_stride else case.arg(case.s)
    what = f"{name}(kernel_size={case.arg(case.k)}, stride={stride}, padding={case.arg(case.p)})"
    return run(lambda: POOLS[name](case.arg(case.k), stride, case.arg(case.p)), what)


def pooled(pool, x, case, name):
    out = run(lambda: pool(x), case.describe(name))
    check_tensor(out, case.describe(name))
    return out


def upstream(case):
    return np.random.default_rng(case.seed + 3).standard_normal((case.n, case.c, *case.out_hw))


EXAMPLES = [
    Case(1, 1, 1, (4, 5), (2, 3), (1, 2), (1, 1), seed=1),  # overlapping rows, padding
    Case(2, 2, 2, (5, 4), (3, 2), (2, 1), (1, 0), seed=2),  # floor division, overlaps
    Case(1, 2, 2, (4, 4), (2, 2), (2, 2), (0, 0), seed=3, as_int=True),
    Case(1, 1, 1, (3, 3), (3, 3), (1, 1), (1, 1), seed=4),  # padding on every side
    Case(1, 1, 1, (2, 6), (1, 3), (1, 3), (0, 1), seed=5),
]


def with_examples(test):
    for case in EXAMPLES:
        test = example(case=case)(test)
    return test


def test_pools_come_from_your_kata():
    checks.assert_from_kata(MaxPool2d, "09_convolutions")
    checks.assert_from_kata(AvgPool2d, "09_convolutions")
    run(lambda: (MaxPool2d(2), AvgPool2d(2)), "MaxPool2d(2), AvgPool2d(2)")


# ---------------------------------------------------------------- forward

@given(case=conv_cases(pool=True))
@with_examples
def test_maxpool2d_matches_the_loop_oracle(case):
    pool = make_pool("MaxPool2d", case)
    x = case.x(unique=True).astype(F32)
    out = pooled(pool, Tensor(x), case, "MaxPool2d")
    expected, _ = maxpool_loop(x, case.k, case.s, case.p)
    wrong = [(maxpool_loop(x, case.k, case.s, case.p, padding_value=0.0)[0],
              "the padding won some windows: pad a max pool with -inf (np.pad(..., "
              "constant_values=-np.inf)), so that only real inputs can be the maximum")]
    wrong += [(maxpool_loop(x, case.k, s2, p2)[0], HINT_SWAPPED_PAIRS) for s2, p2 in swapped_settings(case)]
    checks.check_array(out, expected, f"{case.describe('MaxPool2d')}: the output", inputs={"x": x},
                       type_=Tensor, dtype=F32, wrong=wrong, shape_hint=shape_hint(out, case, "MaxPool2d", case.c),
                       hint="out[n, c, y, x] = the max of xpad[n, c, y*sh : y*sh + kh, x*sw : x*sw + kw]")


@given(case=conv_cases(pool=True))
@with_examples
def test_avgpool2d_matches_the_loop_oracle(case):
    pool = make_pool("AvgPool2d", case)
    x = case.x().astype(F32)
    out = pooled(pool, Tensor(x), case, "AvgPool2d")
    expected, _ = avgpool_loop(x, case.k, case.s, case.p)
    wrong = [(avgpool_loop(x, case.k, case.s, case.p, include_pad=False)[0],
              "the mean was taken over the real cells only: padding cells count as zeros in the "
              "mean, every window is divided by kh * kw (count_include_pad=True)"),
             (expected * (case.k[0] * case.k[1]), "the window was summed, not averaged: divide by kh * kw")]
    checks.check_array(out, expected, f"{case.describe('AvgPool2d')}: the output", inputs={"x": x},
                       type_=Tensor, dtype=F32, wrong=wrong, shape_hint=shape_hint(out, case, "AvgPool2d", case.c),
                       hint="out[n, c, y, x] = the mean of the kh * kw cells of "
                            "xpad[n, c, y*sh : y*sh + kh, x*sw : x*sw + kw]")


@given(case=conv_cases(max_side=12, pool=True), name=st.sampled_from(sorted(POOLS)))
@example(case=Case(1, 1, 1, (7, 9), (3, 2), (2, 3), (1, 1)), name="MaxPool2d")
@example(case=Case(1, 1, 1, (6, 7), (2, 3), (2, 2), (1, 1)), name="AvgPool2d")
def test_pool_output_size_formula(case, name):
    pool = make_pool(name, case)
    out = pooled(pool, Tensor(np.zeros(case.x_shape, F32)), case, name)
    checks.check_shape(out, (case.n, case.c, *case.out_hw), f"{case.describe(name)}: the output",
                       hint=shape_hint(out, case, name, case.c))


@pytest.mark.parametrize("name", sorted(POOLS))
@pytest.mark.parametrize("kernel", [2, 3, (2, 3)], ids=str)
def test_pool_stride_defaults_to_the_kernel_size(name, kernel):
    k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    case = Case(1, 2, 2, (7, 8), k, k, (0, 0), seed=6)
    pool = make_pool(name, case, default_stride=True)
    for attr, value in (("kernel_size", k), ("stride", k), ("padding", (0, 0))):
        got = getattr(pool, attr, None)
        if got != value or not isinstance(got, tuple):
            checks.fail(f"{name}({kernel}).{attr} must be the tuple {value}.", f"got {got!r}",
                        hint="store kernel_size, stride and padding as (height, width) tuples of ints; "
                             "stride=None means stride = kernel_size")
    out = pooled(pool, Tensor(np.zeros(case.x_shape, F32)), case, name)
    checks.check_shape(out, (1, 2, *case.out_hw), f"{name}({kernel}) (stride None) on x of shape "
                       f"{case.x_shape}: the output",
                       hint="stride=None means non-overlapping windows: stride = kernel_size")


# ---------------------------------------------------------------- gradients

def pool_grad(name, case, x, g):
    pool = make_pool(name, case)
    xt = leaf(x)
    out = pooled(pool, xt, case, name)
    checks.check_shape(out, g.shape, f"{case.describe(name)}: the output",
                       hint=shape_hint(out, case, name, case.c))
    run(lambda: out.backward(g), f"{case.describe(name)}: out.backward(g)", hint=HINT_SCATTER)
    return grad_of(xt, case.describe(name), "x", {"x": x, "upstream g": g})


HINT_ROUTE = ("each window's gradient goes to the one input position holding its maximum: "
              "remember each window's winner (its index, from argmax) in forward, and add g there")


@given(case=conv_cases(pool=True))
@with_examples
@example(case=Case(1, 1, 1, (3, 5), (2, 3), (1, 1), (0, 0), seed=7))
def test_maxpool2d_gradient_goes_to_each_windows_maximum(case):
    x, g = case.x(unique=True), upstream(case)
    got = pool_grad("MaxPool2d", case, x, g)
    _, expected = maxpool_loop(x, case.k, case.s, case.p, g)
    kh, kw = case.k
    wrong = [(avgpool_loop(x, case.k, case.s, case.p, g)[1],
              "the gradient was spread over the whole window, as for an average: only the "
              "maximum of each window received it")]
    if kh != kw:
        wrong.append((maxpool_loop(x, case.k, case.s, case.p, g, decode=kh)[1],
                      "the gradient went to the wrong cell of its window: the flat index of a "
                      "(kh, kw) window is row * kw + column, so row = index // kw and "
                      "column = index % kw"))
    checks.check_array(got, expected, f"{case.describe('MaxPool2d')}, backward with a random "
                       "upstream gradient g: the gradient of x", inputs={"x": x, "upstream g": g},
                       wrong=wrong, hint=HINT_ROUTE + "; where windows overlap, the shares add up")


@given(case=conv_cases(pool=True))
@with_examples
def test_maxpool2d_gradient_matches_finite_differences(case):
    pool = make_pool("MaxPool2d", case)
    checks.check_grad(lambda x: run(lambda: pool(x), case.describe("MaxPool2d")), [case.x(unique=True)],
                      Tensor=Tensor, what=f"{case.describe('MaxPool2d')} on distinct values",
                      seed=case.seed % 1000, hint=HINT_ROUTE)


TIES = {
    # name: (x of shape (H, W), kernel, stride, padding)
    "[[1, 3], [3, 2]]: the 3 in row 0": ([[1, 3], [3, 2]], (2, 2), (2, 2), (0, 0)),
    "a constant window: its top-left cell": ([[4, 4], [4, 4]], (2, 2), (2, 2), (0, 0)),
    "overlapping windows over [5, 5, 5, 1]": ([[5, 5, 5, 1]], (1, 3), (1, 1), (0, 0)),
    "padding around equal negative values": ([[-2, -2], [-2, -2]], (3, 3), (1, 1), (1, 1)),
    "a tie in the second row of a 3x3 window": ([[0, 1, 0], [7, 2, 7], [7, 0, 1]], (3, 3), (3, 3), (0, 0)),
}


@pytest.mark.parametrize("tie", list(TIES))
def test_maxpool2d_ties_send_the_gradient_to_the_first_maximum(tie):
    data, k, s, p = TIES[tie]
    x = np.array(data, F64)[None, None]
    case = Case(1, 1, 1, x.shape[2:], k, s, p, seed=8)
    g = np.arange(1.0, 1.0 + np.prod((1, 1, *case.out_hw))).reshape(1, 1, *case.out_hw) * 1.5
    got = pool_grad("MaxPool2d", case, x, g)
    _, first = maxpool_loop(x, k, s, p, g, tie="first")
    _, last = maxpool_loop(x, k, s, p, g, tie="last")
    _, split = maxpool_loop(x, k, s, p, g, tie="split")
    checks.check_array(got, first, f"{case.describe('MaxPool2d')} with tied maxima ({tie}): "
                       "the gradient of x", inputs={"x": x, "upstream g": g},
                       wrong=[(last, "the gradient went to the LAST maximum: a tie goes to the first "
                               "maximum in row-major order within the window (compare with >, not >=, "
                               "or use argmax)"),
                              (split, "the gradient was split among the tied maxima (kata 06's "
                               "Tensor.max rule): a max pool sends all of it to the first maximum")],
                       hint="a window's whole gradient goes to its first maximum in row-major order "
                            "(row by row, left to right); padding never wins")


@given(case=conv_cases(pool=True))
@with_examples
def test_avgpool2d_gradient_is_shared_over_each_window(case):
    x, g = case.x(), upstream(case)
    got = pool_grad("AvgPool2d", case, x, g)
    _, expected = avgpool_loop(x, case.k, case.s, case.p, g)
    checks.check_array(got, expected, f"{case.describe('AvgPool2d')}, backward with a random "
                       "upstream gradient g: the gradient of x", inputs={"x": x, "upstream g": g},
                       wrong=[(expected * (case.k[0] * case.k[1]), "each cell must receive g / (kh * kw): "
                               "the division by the window size is missing"),
                              (avgpool_loop(x, case.k, case.s, case.p, g, include_pad=False)[1],
                               "the gradient was divided by the number of real cells: the forward "
                               "divides every window by kh * kw, so does the gradient")],
                       hint="every cell of a window receives g / (kh * kw), added up where windows "
                            "overlap, with the padding cut off")


@given(case=conv_cases(pool=True))
@with_examples
def test_avgpool2d_gradient_matches_finite_differences(case):
    pool = make_pool("AvgPool2d", case)
    checks.check_grad(lambda x: run(lambda: pool(x), case.describe("AvgPool2d")), [case.x()],
                      Tensor=Tensor, what=case.describe("AvgPool2d"), seed=case.seed % 1000,
                      hint="every cell of a window receives g / (kh * kw)")


@pytest.mark.parametrize("name", sorted(POOLS))
def test_pools_record_one_node_with_their_input(name):
    case = Case(2, 2, 2, (4, 5), (2, 2), (1, 2), (1, 1), seed=9)
    pool = make_pool(name, case)
    x = leaf(case.x(unique=True))
    out = pooled(pool, x, case, name)
    check_recorded(out, getattr(spatial, f"{name}Fn"), (x,), case.describe(name))
    grads = run(lambda: out._grad_fn.backward(upstream(case)), f"{case.describe(name)}: {name}Fn.backward(g)")
    if not isinstance(grads, tuple) or len(grads) != 1:
        checks.fail(f"{case.describe(name)}: {name}Fn.backward must return a tuple with one gradient "
                    "(for x).", f"got {checks.fmt(grads)}", hint="return (grad_x,)")
