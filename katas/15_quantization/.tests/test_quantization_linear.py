"""Hidden tests for QuantizedLinear: what it stores (and what it must not keep), calibration,
the integer forward pass (equal to the exact integer product, rescaled once; saturating;
without overflow), the error bound against the float layer, and exact byte counts."""
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor
from tinytorch.perf.quantization import QuantizedLinear, quantize_int8

import quantization_kit as kit
from quantization_kit import F32, F64, KATA, input_params, integer_forward, make_linear


# ---------------------------------------------------------------- helpers

def make_input(lead, n_in, kind, seed, dtype=F32):
    return kit.make_data(tuple(lead) + (n_in,), kind, 2.0, seed, dtype)


def build(linear, inputs):
    return kit.call(lambda: QuantizedLinear(linear), "QuantizedLinear(linear)", inputs)


def check_stored(layer, linear, inputs):
    """The weight and bias codes are quantize_int8's, under the documented names."""
    w = linear.weight.data
    got = tuple(getattr(layer, n, None) for n in ("q_weight", "weight_scale", "weight_zero_point"))
    kit.check_quantized(got, w, "QuantizedLinear: (q_weight, weight_scale, weight_zero_point)",
                        {**inputs, "weight": w})
    names = ("q_bias", "bias_scale", "bias_zero_point")
    got = tuple(getattr(layer, n, "missing") for n in names)
    if linear.bias is None:
        if any(v is not None for v in got):
            checks.fail("QuantizedLinear of a Linear without bias: q_bias, bias_scale and "
                        "bias_zero_point must be None.", f"got {got!r}", inputs=inputs)
    else:
        kit.check_quantized(got, linear.bias.data, "QuantizedLinear: (q_bias, bias_scale, bias_zero_point)",
                            {**inputs, "bias": linear.bias.data})


def float_forward(linear, x):
    out = np.asarray(x, F64) @ linear.weight.data.astype(F64)
    return out if linear.bias is None else out + linear.bias.data.astype(F64)


def check_forward(layer, linear, x, inputs, extra_wrong=()):
    """forward(x) equals the exact integer product rescaled once (float32 rounding apart)."""
    got = kit.call(lambda: layer.forward(Tensor(x)), "QuantizedLinear.forward(x)", inputs)
    options = input_params(layer, x)
    data = np.asarray(getattr(got, "data", np.nan), F64)

    def distance(option):
        exp = integer_forward(layer, x, *option)
        return float(np.max(np.abs(data - exp))) if data.shape == exp.shape else np.inf
    scale, zero_point = min(options, key=distance)  # at an exact tie either zero point is right
    expected = integer_forward(layer, x, scale, zero_point)
    dequant_b = 0.0 if linear.bias is None else (layer.q_bias.astype(F64) - layer.bias_zero_point) * layer.bias_scale
    dequant_w = (layer.q_weight.astype(F64) - layer.weight_zero_point) * layer.weight_scale
    wrong = [
        (np.asarray(x, F64) @ dequant_w + dequant_b,
         "your output matches the float input times the dequantized weights: quantize the input "
         "too (x -> codes with the input's scale and zero point), then multiply integers"),
        (integer_forward(layer, x, scale, zero_point, wrap8=True),
         "int8 overflow: subtracting a zero point from int8 codes wraps around (127 - (-128) = "
         "255 does not fit); cast the codes to int32 first"),
        (integer_forward(layer, x, scale, zero_point, wzp=False),
         "subtract weight_zero_point from the weight codes before multiplying"),
        (integer_forward(layer, x, scale, zero_point, xzp=False),
         "subtract the input's zero point from the input codes before multiplying"),
        *extra_wrong,
    ]
    if linear.bias is not None:
        wrong.append((integer_forward(layer, x, scale, zero_point, bias=False),
                      "add the dequantized bias, (q_bias - bias_zero_point) * bias_scale"))
    acc = expected - dequant_b
    unit = scale * layer.weight_scale
    for bits in (8, 16):  # sums that wrapped around in a too narrow accumulator
        half = 2.0 ** (bits - 1)
        exact = np.round(acc / unit)
        wrapped = ((exact + half) % (2 * half)) - half
        if not np.array_equal(wrapped, exact):
            wrong.append((wrapped * unit + dequant_b,
                          f"the integer sums overflowed int{bits}: accumulate "
                          f"(qx - zx) @ (qw - zw) in int32"))
    checks.check_array(got, expected.astype(F32), "QuantizedLinear.forward(x)", type_=Tensor, dtype=F32,
                       rtol=1e-5, atol=1e-5 * max(float(np.max(np.abs(expected))), 1e-6),
                       inputs=inputs, wrong=wrong,
                       hint="forward = (qx - zx) @ (q_weight - weight_zero_point), exactly in "
                            "integers, times input_scale * weight_scale, plus the dequantized bias",
                       dtype_hint="forward returns float32: an int32 array times a Python float is "
                                  "float64 (cast the accumulator with .astype(np.float32))")
    return got


linears = st.tuples(st.integers(1, 6), st.integers(1, 5), st.booleans(), st.integers(0, 2**32 - 1),
                    st.sampled_from([0.05, 1.0, 20.0]))


# ---------------------------------------------------------------- tests

def test_quantized_linear_comes_from_your_kata():
    linear = make_linear(3, 2, True, 0)
    layer = build(linear, {"weight": linear.weight.data})
    check_stored(layer, linear, {})
    checks.assert_from_kata(QuantizedLinear, KATA)


@given(spec=linears, dtype=st.sampled_from([F32, F64]))
@example(spec=(3, 2, True, 0, 1.0), dtype=F32)
@example(spec=(4, 3, False, 1, 20.0), dtype=F32)
@example(spec=(2, 2, True, 2, 0.05), dtype=F64)
def test_quantized_linear_stores_codes_and_keeps_nothing_of_the_float_layer(spec, dtype):
    """q_weight, weight_scale, weight_zero_point (and the bias's) are quantize_int8's;
    in_features and out_features; input_scale and input_zero_point None; no reference to
    the float layer, its Tensors, their arrays or another copy of the weights; no trainable
    parameters; the float layer unchanged."""
    n_in, n_out, bias, seed, magnitude = spec
    linear = make_linear(n_in, n_out, bias, seed, magnitude, dtype)
    before = [p.data.copy() for p in linear.parameters()]
    tensors = (linear.weight, linear.bias)
    inputs = {"weight": linear.weight.data}
    layer = build(linear, inputs)
    check_stored(layer, linear, inputs)
    for name, want in (("in_features", n_in), ("out_features", n_out)):
        got = getattr(layer, name, None)
        if type(got) is not int or got != want:
            checks.fail(f"QuantizedLinear.{name} must be the int {want}.", f"got {got!r}", inputs=inputs)
    for name in ("input_scale", "input_zero_point"):
        if getattr(layer, name, "missing") is not None:
            checks.fail(f"QuantizedLinear.{name} must be None until calibrate() is called.",
                        f"got {getattr(layer, name, 'no such attribute')!r}", inputs=inputs)
    float_arrays = [p.data for p in linear.parameters()]
    for name, value in vars(layer).items():
        items = value if isinstance(value, (list, tuple)) else list(value.values()) if isinstance(value, dict) else [value]
        for item in items:
            data = item.data if isinstance(item, Tensor) else item
            if item is linear or any(item is t for t in tensors if t is not None) or (
                    isinstance(data, np.ndarray) and any(np.shares_memory(data, a) for a in float_arrays)):
                checks.fail("QuantizedLinear must keep no reference to the float layer, its Tensors or "
                            "their arrays.", f"attribute {name!r} holds {type(item).__name__}", inputs=inputs,
                            hint="keep only the codes and their scales: while the float weights are "
                                 "referenced they stay in memory, and nothing was saved")
            if (isinstance(data, np.ndarray) and name not in ("q_weight", "q_bias")
                    and data.nbytes > layer.q_weight.nbytes):
                checks.fail("QuantizedLinear must not hold another copy of the weights.",
                            f"attribute {name!r} is an array of {data.nbytes} bytes ({data.dtype}), "
                            f"more than the {layer.q_weight.nbytes} bytes of q_weight", inputs=inputs,
                            hint="compute q_weight.astype(np.int32) - weight_zero_point inside forward: "
                                 "stored, it costs 4 bytes per weight again")
    params = layer.parameters()
    if params != []:
        checks.fail("QuantizedLinear has no trainable parameters: parameters() must be [].",
                    f"got {len(params)} Tensors of shapes {[tuple(p.shape) for p in params]}", inputs=inputs,
                    hint="store the codes as int8 arrays, not as Tensors with requires_grad=True, "
                         "and keep no float layer inside")
    after = [p.data for p in linear.parameters()]
    if linear.weight is not tensors[0] or any(not np.array_equal(a, b) for a, b in zip(before, after)):
        checks.fail("QuantizedLinear(linear) must leave the float layer unchanged.", inputs=inputs)


@settings(max_examples=15)
@given(spec=linears, lead=st.sampled_from([(1,), (3,), (2, 2), ()]),
       kind=st.sampled_from(kit.KINDS), seed=st.integers(0, 2**32 - 1), calibrated=st.booleans(),
       dtype=st.sampled_from([F32, F64]))
@example(spec=(4, 3, True, 0, 1.0), lead=(3,), kind="positive", seed=1, calibrated=False, dtype=F32)
@example(spec=(4, 3, True, 0, 1.0), lead=(3,), kind="mixed", seed=2, calibrated=True, dtype=F32)
@example(spec=(6, 2, False, 3, 20.0), lead=(2, 2), kind="negative", seed=4, calibrated=True, dtype=F64)
@example(spec=(5, 3, True, 5, 0.05), lead=(2,), kind="zeros", seed=6, calibrated=False, dtype=F32)
def test_forward_is_the_exact_integer_product_rescaled(spec, lead, kind, seed, calibrated, dtype):
    """forward(x) = (qx - zx) @ (q_weight - weight_zero_point) in exact integers, times
    input_scale * weight_scale, plus the dequantized bias: a float32 Tensor of shape
    (..., out_features). Calibrated on x, or dynamic (x's own range)."""
    n_in, n_out, bias, wseed, magnitude = spec
    linear = make_linear(n_in, n_out, bias, wseed, magnitude)
    x = make_input(lead, n_in, kind, seed, dtype)
    inputs = {"x": x, "weight": linear.weight.data}
    layer = build(linear, inputs)
    check_stored(layer, linear, inputs)
    if calibrated:
        kit.call(lambda: layer.calibrate([Tensor(x)]), "QuantizedLinear.calibrate([x])", inputs)
    check_forward(layer, linear, x, inputs)


@settings(max_examples=6)
@given(n_in=st.integers(8, 40), seed=st.integers(0, 2**32 - 1))
@example(n_in=40, seed=0)
def test_forward_does_not_overflow_with_extreme_codes(n_in, seed):
    """Codes at both ends of int8, far from both zero points: the products reach 255 * 255
    and their sums exceed int16; an int32 accumulator holds them exactly."""
    rng = np.random.default_rng(seed)
    linear = make_linear(n_in, 2, True, seed)
    linear.weight.data = np.where(rng.random((n_in, 2)) < 0.5, 0.0, 1.0).astype(F32)
    linear.weight.data[0, 0] = 0.0
    linear.weight.data[1, 0] = 1.0  # codes -128 and 127, zero point -128
    x = np.where(rng.random((2, n_in)) < 0.5, 0.0, 3.0).astype(F32)
    x[0, :] = 3.0
    inputs = {"x": x, "weight": linear.weight.data}
    layer = build(linear, inputs)
    check_forward(layer, linear, x, inputs)


@given(spec=linears, lead=st.sampled_from([(1,), (4,), (2, 3)]), kind=st.sampled_from(kit.KINDS),
       seed=st.integers(0, 2**32 - 1), calibrated=st.booleans())
@example(spec=(5, 3, True, 0, 1.0), lead=(4,), kind="mixed", seed=0, calibrated=True)
@example(spec=(6, 4, True, 1, 20.0), lead=(2, 3), kind="offset", seed=1, calibrated=False)
def test_forward_stays_within_the_derived_error_bound(spec, lead, kind, seed, calibrated):
    """|forward(x) - (x @ W + b)| <= sum_k (dx/2 |W_kj| + |x_k| dw/2 + dx dw/4) + db/2 for x
    inside the input range: the rounding errors of input, weight and bias, propagated."""
    n_in, n_out, bias, wseed, magnitude = spec
    linear = make_linear(n_in, n_out, bias, wseed, magnitude)
    x = make_input(lead, n_in, kind, seed)
    inputs = {"x": x, "weight": linear.weight.data}
    layer = build(linear, inputs)
    check_stored(layer, linear, inputs)
    if calibrated:
        wider = x * 1.5
        kit.call(lambda: layer.calibrate([Tensor(x), Tensor(wider)]), "QuantizedLinear.calibrate(samples)", inputs)
        dx = kit.expected_scale(*kit.widened(np.concatenate([x.ravel(), wider.ravel()])))
    else:
        dx = kit.expected_scale(*kit.widened(x))
    got = kit.call(lambda: layer.forward(Tensor(x)), "QuantizedLinear.forward(x)", inputs)
    checks.check_shape(got, lead + (n_out,), "QuantizedLinear.forward(x)", inputs=inputs)
    w = linear.weight.data.astype(F64)
    dw = kit.expected_scale(*kit.widened(w))
    db = 0.0 if linear.bias is None else kit.expected_scale(*kit.widened(linear.bias.data))
    bound = (dx / 2) * np.abs(w).sum(axis=0) + (np.abs(x.astype(F64)) @ np.full((n_in, n_out), dw / 2)) \
        + n_in * dx * dw / 4 + db / 2
    exact = float_forward(linear, x)
    err = np.abs(np.asarray(got.data, F64) - exact)
    slack = 1e-5 * (np.abs(exact) + bound) + 1e-7
    if np.any(err > bound + slack):
        i = tuple(int(k) for k in np.argwhere(err > bound + slack)[0])
        checks.fail("QuantizedLinear.forward must stay within the derived bound of the float layer.",
                    f"at index {i}: quantized {float(got.data[i])!r}, float layer {float(exact[i])!r}, "
                    f"error {float(err[i]):.4g} > bound {float(bound[i]):.4g} "
                    f"(input step {dx:.4g}, weight step {dw:.4g}, bias step {db:.4g})",
                    inputs=inputs,
                    hint="round to the nearest code (do not truncate), and quantize the input with "
                         "its own range or the calibrated one")


@settings(max_examples=12)
@given(n=st.integers(1, 4), kinds=st.lists(st.sampled_from(kit.KINDS), min_size=4, max_size=4),
       seed=st.integers(0, 2**32 - 1), as_tensor=st.booleans())
@example(n=3, kinds=["positive", "offset", "positive", "positive"], seed=0, as_tensor=True)
@example(n=2, kinds=["negative", "mixed", "mixed", "mixed"], seed=1, as_tensor=False)
@example(n=3, kinds=["mixed", "negative", "positive", "mixed"], seed=2, as_tensor=True)
def test_calibrate_uses_the_range_of_all_samples(n, kinds, seed, as_tensor):
    """input_scale and input_zero_point follow quantize_int8's rule on the overall minimum
    and maximum of every sample together, widened to include 0.0."""
    rng = np.random.default_rng(seed)
    samples = [kit.make_data((int(rng.integers(1, 4)), 3), kinds[i], float(rng.choice([0.5, 2.0, 9.0])),
                             int(rng.integers(2**31))) for i in range(n)]
    linear = make_linear(3, 2, True, seed)
    inputs = {f"sample{i}": s for i, s in enumerate(samples)}
    layer = build(linear, inputs)
    given_samples = [Tensor(s) if as_tensor else s for s in samples]
    result = kit.call(lambda: layer.calibrate(given_samples), "QuantizedLinear.calibrate(samples)", inputs)
    if result is not None:
        checks.fail("calibrate(samples) returns None (it sets input_scale and input_zero_point).",
                    f"got {type(result).__name__}", inputs=inputs)
    scale, zero_point = layer.input_scale, layer.input_zero_point
    if not isinstance(scale, float) or not isinstance(zero_point, int) or isinstance(zero_point, bool):
        checks.fail("calibrate must set input_scale to a Python float and input_zero_point to a Python int.",
                    f"got {scale!r} ({type(scale).__name__}), {zero_point!r} ({type(zero_point).__name__})",
                    inputs=inputs)
    every = np.concatenate([s.ravel() for s in samples]).astype(F64)
    lo_hi = kit.widened(every)
    exp = kit.expected_scale(*lo_hi)
    if not np.isclose(scale, exp, rtol=1e-6, atol=0):
        wrong = [(kit.expected_scale(*kit.widened(samples[-1])), "you calibrated on the last sample only: "
                  "use the minimum and maximum over all samples together"),
                 (kit.expected_scale(*kit.widened(samples[0])), "you calibrated on the first sample only: "
                  "use the minimum and maximum over all samples together"),
                 (float(np.mean([kit.expected_scale(*kit.widened(s)) for s in samples])),
                  "you averaged the samples' scales: take the range of all samples together"),
                 ((every.max() - every.min()) / 255, kit.HINT_WIDEN)]
        hint = next((h for v, h in wrong if np.isclose(scale, v, rtol=1e-6, atol=0)), "")
        checks.fail("calibrate: input_scale must be (hi - lo) / 255 of all samples' range, widened to 0.",
                    f"got {scale!r}, expected {exp!r} (range [{lo_hi[0]!r}, {lo_hi[1]!r}])", inputs=inputs,
                    hint=hint)
    kit.check_params(scale, zero_point, lo_hi, (float(every.min()), float(every.max())),
                     "calibrate: (input_scale, input_zero_point)", inputs)
    err = kit.raised(lambda: make_empty_calibration(linear))
    if not isinstance(err, ValueError):
        checks.fail("calibrate([]) must raise ValueError: there is no range to calibrate.",
                    "it did not raise" if err is None else f"it raised {type(err).__name__}: {err}")


def make_empty_calibration(linear):
    QuantizedLinear(linear).calibrate([])


@settings(max_examples=10)
@given(spec=linears, seed=st.integers(0, 2**32 - 1), factor=st.sampled_from([2.0, 4.0]))
@example(spec=(4, 3, True, 0, 1.0), seed=0, factor=3.0)
@example(spec=(3, 2, False, 1, 1.0), seed=1, factor=2.0)
def test_calibrated_forward_saturates_outside_the_range(spec, seed, factor):
    """After calibrate(samples), inputs beyond the calibrated range clip to codes -128 or
    127 (they do not wrap around, and the calibration is not replaced by x's own range)."""
    n_in, n_out, bias, wseed, magnitude = spec
    linear = make_linear(n_in, n_out, bias, wseed, magnitude)
    rng = np.random.default_rng(seed)
    sample = rng.uniform(-1, 1, (3, n_in)).astype(F32)
    x = (rng.uniform(-1, 1, (2, n_in)) * factor).astype(F32)
    x[0, 0], x[1, 0] = factor, -factor  # well outside [-1, 1] on both sides
    inputs = {"calibration sample": sample, "x": x, "weight": linear.weight.data}
    layer = build(linear, inputs)
    kit.call(lambda: layer.calibrate([Tensor(sample)]), "QuantizedLinear.calibrate([sample])", inputs)
    s, z = layer.input_scale, layer.input_zero_point
    lo, hi = kit.widened(x)
    dyn = [(integer_forward(layer, x, kit.expected_scale(lo, hi), zp),
            "after calibrate(), quantize the input with input_scale and input_zero_point, not with "
            "its own range") for zp in kit.zero_points(lo, hi)]
    check_forward(layer, linear, x, inputs, extra_wrong=[
        (integer_forward(layer, x, s, z, clip=False),
         "values outside the calibrated range must saturate at -128 and 127: clip the codes "
         "before casting to int8 (a code of 128 wraps around to -128)"), *dyn])


@given(n_in=st.integers(1, 20), n_out=st.integers(1, 20), bias=st.booleans(),
       dtype=st.sampled_from([F32, F64]))
@example(n_in=64, n_out=64, bias=True, dtype=F32)
@example(n_in=4, n_out=3, bias=False, dtype=F32)
@example(n_in=3, n_out=2, bias=True, dtype=F64)
def test_memory_usage_counts_bytes_exactly(n_in, n_out, bias, dtype):
    """original_bytes = nbytes of the float weight and bias; quantized_bytes = nbytes of the
    codes + 8 per quantized tensor (a float32 scale, an int32 zero point);
    compression_ratio = original / quantized."""
    linear = make_linear(n_in, n_out, bias, n_in * 31 + n_out, 1.0, dtype)
    inputs = {"layer": f"Linear({n_in}, {n_out}, bias={bias}), {np.dtype(dtype).name} weights"}
    layer = build(linear, inputs)
    got = kit.call(layer.memory_usage, "QuantizedLinear.memory_usage()", inputs)
    item = np.dtype(dtype).itemsize
    original = item * (n_in * n_out + (n_out if bias else 0))
    codes = n_in * n_out + (n_out if bias else 0)
    quantized = codes + 8 * (2 if bias else 1)
    expected = {"original_bytes": original, "quantized_bytes": quantized,
                "compression_ratio": original / quantized}
    if not isinstance(got, dict) or set(got) != set(expected):
        checks.fail("memory_usage() must return a dict with the keys original_bytes, quantized_bytes "
                    "and compression_ratio.", f"got {got!r}", inputs=inputs)
    for key in ("original_bytes", "quantized_bytes"):
        if type(got[key]) is not int:
            checks.fail(f"memory_usage()[{key!r}] must be a Python int.",
                        f"got {type(got[key]).__name__}: {got[key]!r}", inputs=inputs, hint="use int(...)")
    if got["original_bytes"] != original:
        hint = ("count the float layer's real bytes (its arrays' nbytes): a float64 layer takes 8 "
                "bytes per value" if got["original_bytes"] == 4 * codes else
                "count the bias too" if bias and got["original_bytes"] == item * n_in * n_out else "")
        checks.fail("memory_usage()['original_bytes'] must be the nbytes of the float weight and bias.",
                    f"got {got['original_bytes']}, expected {original}", inputs=inputs, hint=hint)
    if got["quantized_bytes"] != quantized:
        wrong = {codes: "add 8 bytes for each quantized tensor's scale and zero point",
                 codes + 8: "8 bytes for EACH quantized tensor: the weight's and the bias's",
                 4 * codes + 8 * (2 if bias else 1): "an int8 code takes one byte, not four",
                 n_in * n_out + 8: "count the bias codes too"}
        checks.fail("memory_usage()['quantized_bytes'] must be the bytes of the codes plus 8 per "
                    "quantized tensor.", f"got {got['quantized_bytes']}, expected {quantized}",
                    inputs=inputs, hint=wrong.get(got["quantized_bytes"], ""))
    ratio = got["compression_ratio"]
    if not isinstance(ratio, float) or not np.isclose(ratio, original / quantized, rtol=1e-12):
        checks.fail("memory_usage()['compression_ratio'] must be original_bytes / quantized_bytes, a float.",
                    f"got {ratio!r}, expected {original / quantized!r}", inputs=inputs,
                    hint="divide original by quantized, not the reverse"
                    if isinstance(ratio, float) and np.isclose(ratio, quantized / original) else "")


def test_quantize_int8_of_the_weight_matches_the_stored_codes():
    """The stored weight codes are exactly what your quantize_int8 gives for the weight."""
    linear = make_linear(5, 4, True, 9, 3.0)
    layer = build(linear, {"weight": linear.weight.data})
    q, scale, zero_point = quantize_int8(linear.weight)
    if not (np.array_equal(layer.q_weight, q) and layer.weight_scale == scale
            and layer.weight_zero_point == zero_point):
        checks.fail("QuantizedLinear must store quantize_int8(linear.weight) as (q_weight, "
                    "weight_scale, weight_zero_point).", inputs={"weight": linear.weight.data},
                    hint="call your quantize_int8 on the weight; do not re-implement it differently")
