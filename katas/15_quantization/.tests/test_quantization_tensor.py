"""Hidden tests for quantize_int8 and dequantize_int8: the min-max rule and the guarantees
that follow from it (half a step of error, 0.0 exact, monotone, idempotent on a grid),
the edge cases, and the dequantization formula without int8 overflow."""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor
from tinytorch.perf.quantization import dequantize_int8, quantize_int8

import quantization_kit as kit
from quantization_kit import F32, F64, KATA

M = kit.make_data


def test_quantize_int8_comes_from_your_kata():
    x = np.array([-1.0, 0.5, 2.0], F32)
    kit.check_quantized(quantize_int8(Tensor(x)), x, "quantize_int8(x)", {"x": x})
    checks.assert_from_kata(quantize_int8, KATA)
    checks.assert_from_kata(dequantize_int8, KATA)


@given(x=kit.data())
@example(x=np.array([0.5, 1.0, 2.0, 4.0], F32))      # all positive: the range widens to [0, 4]
@example(x=np.array([-3.0, -2.0, -0.25], F32))       # all negative: [-3, 0]
@example(x=np.array([[-1.5, 0.2], [2.8, 0.0]], F32))  # mixed, a zero
@example(x=M((3, 4), "offset", 1.0, 7))              # a narrow band far from 0
@example(x=M((2, 3), "mixed", 50.0, 3, F64))
def test_quantize_int8_follows_the_min_max_rule(x):
    """scale = (hi - lo) / 255 of the range widened to 0, zero_point = round(-128 - lo /
    scale), q = clip(round(x / scale + zero_point)): an int8 array, a float, an int."""
    for arg, kind in ((Tensor(x), "a Tensor"), (x.copy(), "an ndarray")):
        result = kit.call(lambda: quantize_int8(arg), f"quantize_int8 of {kind}", {"x": x})
        kit.check_quantized(result, x, f"quantize_int8 of {kind}", {"x": x})


@given(x=kit.data())
@example(x=np.array([0.5, 1.0, 2.0, 4.0], F32))
@example(x=np.array([[-1.0, 0.3], [0.7, 1.0]], F64))  # v = 127.5 at the top: the clip matters
@example(x=M((5,), "mixed", 1e-3, 11))
def test_dequantized_values_are_within_half_a_step(x):
    """|dequantize(quantize(x)) - x| <= scale / 2 for every element, with your
    dequantize_int8, and the input is left as it was."""
    before = x.copy()
    q, scale, zero_point = kit.check_quantized(quantize_int8(Tensor(x)), x, "quantize_int8(x)", {"x": x})
    if not np.array_equal(x, before):
        checks.fail("quantize_int8 must not modify its input.", inputs={"before": before, "after": x})
    back = kit.call(lambda: dequantize_int8(q, scale, zero_point), "dequantize_int8(q, scale, zero_point)")
    checks.check_shape(back, x.shape, "dequantize_int8(q, scale, zero_point)", inputs={"x": x})
    got = np.asarray(getattr(back, "data", back), F64)
    err = np.abs(got - x.astype(F64))
    slack = scale * 1e-4 + 4 * float(np.finfo(F32).eps) * float(np.max(np.abs(x)))
    if not np.all(err <= scale / 2 + slack):
        i = tuple(int(k) for k in np.argwhere(err > scale / 2 + slack)[0])
        checks.fail("dequantize_int8(quantize_int8(x)) must be within scale / 2 of x.",
                    f"scale {scale!r}, zero_point {zero_point}; at index {i}: x = {float(x[i])!r}, "
                    f"code {int(q[i])}, dequantized {float(got[i])!r} (error {float(err[i]):.4g}, "
                    f"half a step {scale / 2:.4g})",
                    inputs={"x": x, "q": q}, hint="dequantize_int8 returns (q - zero_point) * scale")


@given(x=kit.data(kinds=("mixed", "zeros", "positive", "negative")))
@example(x=np.array([0.0, 1.0, 2.0, 3.0], F32))    # zero_point -128
@example(x=np.array([-3.0, -1.0, 0.0], F32))       # zero_point 127
@example(x=np.array([-1.0, 0.0, 0.0, 2.5], F64))
def test_zero_is_represented_exactly(x):
    """An element equal to 0.0 gets the code zero_point and comes back as exactly 0.0."""
    x = x.copy()
    x.flat[0] = 0.0
    q, scale, zero_point = kit.check_quantized(quantize_int8(Tensor(x)), x, "quantize_int8(x)", {"x": x})
    zeros = x == 0
    if np.any(q[zeros] != zero_point):
        checks.fail("0.0 must be quantized to the zero point itself.",
                    f"zero_point {zero_point}, codes of the zeros: {q[zeros].tolist()}", inputs={"x": x},
                    hint="round(0 / scale + zero_point) = zero_point: the zero point is the code of 0.0")
    back = np.asarray(dequantize_int8(q, scale, zero_point).data)
    if np.any(back[zeros] != 0.0):
        checks.fail("0.0 must come back as exactly 0.0.", f"got {back[zeros].tolist()}",
                    inputs={"x": x, "q": q}, hint="(zero_point - zero_point) * scale is exactly 0")


@given(x=kit.data(max_dims=2))
@example(x=np.array([3.0, -1.0, 2.0, -1.0, 0.0], F32))
def test_codes_are_monotone(x):
    """x[i] <= x[j] implies q[i] <= q[j]; equal values get equal codes."""
    q = kit.check_quantized(quantize_int8(Tensor(x)), x, "quantize_int8(x)", {"x": x})[0]
    order = np.argsort(x, axis=None, kind="stable")
    xs, qs = x.reshape(-1)[order], q.reshape(-1)[order].astype(int)
    bad = np.nonzero(np.diff(qs) < 0)[0]
    same = np.nonzero((np.diff(xs) == 0) & (np.diff(qs) != 0))[0]
    if bad.size or same.size:
        k = int((bad if bad.size else same)[0])
        checks.fail("quantize_int8 must preserve order: x[i] <= x[j] implies q[i] <= q[j].",
                    f"{float(xs[k])!r} got code {qs[k]}, {float(xs[k + 1])!r} got code {qs[k + 1]}",
                    inputs={"x": x, "q": q})


def _grid(shape, zero_point, scale, seed, dtype):
    rng = np.random.default_rng(seed)
    k = rng.integers(-128, 128, size=shape)
    k.flat[0], k.flat[-1] = -128, 127  # both end codes are used
    return k.astype(np.int8), ((k - zero_point) * scale).astype(dtype)


@settings(max_examples=15)
@given(shape=checks.shapes(min_dims=1, max_dims=2, max_side=5).filter(lambda s: np.prod(s) >= 2),
       zero_point=st.integers(-128, 127), scale=st.sampled_from([0.001, 0.0173, 0.5, 3.25]),
       seed=st.integers(0, 2**32 - 1), dtype=st.sampled_from([F32, F64]))
@example(shape=(4,), zero_point=-128, scale=0.5, seed=0, dtype=F32)  # all >= 0
@example(shape=(4,), zero_point=127, scale=0.5, seed=0, dtype=F32)   # all <= 0
@example(shape=(2, 3), zero_point=5, scale=0.0173, seed=1, dtype=F64)
def test_quantizing_values_on_a_grid_is_idempotent(shape, zero_point, scale, seed, dtype):
    """Values (k - z) * s with codes k reaching -128 and 127 quantize back to exactly the
    codes k, zero point z and scale s: quantizing what was already quantized loses nothing."""
    k, x = _grid(shape, zero_point, scale, seed, dtype)
    q, got_scale, got_zp = kit.check_quantized(quantize_int8(Tensor(x)), x, "quantize_int8(x)", {"x": x})
    if got_zp != zero_point or not np.isclose(got_scale, scale, rtol=1e-5):
        checks.fail("Quantizing values already on an int8 grid must give back that grid.",
                    f"got scale {got_scale!r}, zero_point {got_zp}; expected {scale!r}, {zero_point}",
                    inputs={"x": x})
    if not np.array_equal(q, k):
        i = tuple(int(j) for j in np.argwhere(q != k)[0])
        checks.fail("Quantizing values already on an int8 grid must return exactly their codes.",
                    f"at index {i}: got {int(q[i])}, expected {int(k[i])}", inputs={"x": x, "codes": k})


@settings(max_examples=12)
@given(c=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3) | st.just(0.0) | st.just(-0.0),
       shape=checks.shapes(max_dims=2), dtype=st.sampled_from([F32, F64]))
@example(c=2.0, shape=(2, 2), dtype=F32)
@example(c=-3.0, shape=(3,), dtype=F32)
@example(c=500.0, shape=(2,), dtype=F64)
@example(c=0.25, shape=(2,), dtype=F32)
@example(c=0.0, shape=(2, 3), dtype=F32)
@example(c=-0.0, shape=(1,), dtype=F64)
def test_constant_and_all_zero_tensors(c, shape, dtype):
    """A tensor of zeros: scale 1.0, zero point 0, every code 0. Any other constant follows
    the general rule (its widened range is [0, c] or [c, 0]): no division by zero."""
    x = np.full(shape, c, dtype)
    result = kit.raised(lambda: quantize_int8(Tensor(x)))
    if result is not None:
        checks.fail(f"quantize_int8 of a constant tensor raised {type(result).__name__}: {result}",
                    inputs={"x": x},
                    hint=("a tensor of zeros has no range (hi == lo): return scale 1.0 and zero "
                          "point 0 instead of dividing by zero") if c == 0 else "")
    q, scale, zero_point = kit.check_quantized(quantize_int8(Tensor(x)), x, "quantize_int8 of a constant", {"x": x})
    if c == 0 and (scale != 1.0 or zero_point != 0 or np.any(q != 0)):
        checks.fail("A tensor of zeros quantizes to scale 1.0, zero point 0 and codes 0.",
                    f"got scale {scale!r}, zero_point {zero_point}, codes {q.reshape(-1)[:4].tolist()}",
                    inputs={"x": x})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_raise_value_error(bad):
    """NaN or inf has no code and no finite range: ValueError."""
    for x in (np.array([1.0, 2.0, bad], F32), np.array([[bad, 0.5]], F64)):
        err = kit.raised(lambda: quantize_int8(Tensor(x)))
        if not isinstance(err, ValueError):
            checks.fail(f"quantize_int8 of a tensor holding {bad} must raise ValueError.",
                        "it returned a result" if err is None else f"it raised {type(err).__name__}: {err}",
                        inputs={"x": x},
                        hint="check np.all(np.isfinite(x)) first: a scale of inf turns every code into garbage")


@given(shape=checks.shapes(max_dims=3), zero_point=st.integers(-128, 127),
       scale=st.floats(1e-4, 10.0), seed=st.integers(0, 2**32 - 1), as_tensor=st.booleans())
@example(shape=(4,), zero_point=-128, scale=0.5, seed=3, as_tensor=False)
@example(shape=(4,), zero_point=127, scale=0.1, seed=5, as_tensor=False)
@example(shape=(2, 2), zero_point=-100, scale=2.0, seed=1, as_tensor=True)
def test_dequantize_is_q_minus_zero_point_times_scale(shape, zero_point, scale, seed, as_tensor):
    """dequantize_int8(q, scale, zero_point) is the float32 Tensor (q - zero_point) * scale,
    for int8 arrays and for Tensors of codes, without int8 overflow."""
    rng = np.random.default_rng(seed)
    q = rng.integers(-128, 128, size=shape).astype(np.int8)
    q.flat[0] = 127 if zero_point < 0 else -128  # the widest difference
    arg = Tensor(q) if as_tensor else q
    got = kit.call(lambda: dequantize_int8(arg, scale, zero_point), "dequantize_int8(q, scale, zero_point)",
                   {"q": q, "scale": scale, "zero_point": zero_point})
    diff = q.astype(np.int64) - zero_point
    expected = (diff * scale).astype(F32)
    wrapped = (((diff + 128) % 256) - 128) * scale
    checks.check_array(got, expected, "dequantize_int8(q, scale, zero_point)", type_=Tensor, dtype=F32,
                       rtol=1e-6, atol=scale * 1e-6,
                       inputs={"q": q, "scale": scale, "zero_point": zero_point},
                       wrong=[(wrapped, "int8 arithmetic wrapped around: q - zero_point can reach "
                                        "255, which needs a wider type; cast q first "
                                        "(q.astype(np.float32) or np.int32)"),
                              ((q.astype(np.int64) + zero_point) * scale, "subtract the zero point, "
                                                                         "do not add it"),
                              (q.astype(F64) * scale, "subtract the zero point before scaling")])
