"""Kata 15 (quantization): README rule -> hidden tests that enforce it -> mutants that prove it."""
from tests.rules import rule

T = "test_quantization_tensor.py::"
L = "test_quantization_linear.py::"
M = "test_quantization_model.py::"

SECTIONS = ["The API", "Conventions"]

RULE_TEST = T + "test_quantize_int8_follows_the_min_max_rule"
FORWARD = L + "test_forward_is_the_exact_integer_product_rescaled"
STORED = L + "test_quantized_linear_stores_codes_and_keeps_nothing_of_the_float_layer"
MEMORY = L + "test_memory_usage_counts_bytes_exactly"

RULES = [
    # the signatures
    rule("INT8_MIN, INT8_MAX = -128, 127 # given in the stub", RULE_TEST, T + "test_codes_are_monotone",
         why_no_mutant="constants given in the stub; the codes' range is proven by the clip and wrap mutants"),
    rule("def quantize_int8(tensor) -> tuple # (q, scale, zero_point)", RULE_TEST,
         mutants=["codes returned as a float32 Tensor (TinyTorch)"]),
    rule("def dequantize_int8(q, scale, zero_point) -> Tensor", T + "test_dequantize_is_q_minus_zero_point_times_scale",
         mutants=["dequantize returns float64"]),
    rule("class QuantizedLinear(Layer): # kata 03's Layer", STORED,
         mutants=["QuantizedLinear keeps the float layer (TinyTorch)"]),
    rule("def __init__(self, linear)", STORED, L + "test_quantize_int8_of_the_weight_matches_the_stored_codes",
         mutants=["QuantizedLinear quantizes its weight in place"]),
    rule("in_features, out_features # ints, from the weight's shape", STORED,
         why_no_mutant="read off the weight's shape in one line; no plausible slip keeps the other "
                       "attributes right and breaks these"),
    rule("q_weight, weight_scale, weight_zero_point # quantize_int8(linear.weight)", STORED,
         L + "test_quantize_int8_of_the_weight_matches_the_stored_codes",
         mutants=["QuantizedLinear quantizes its weight in place"]),
    rule("q_bias, bias_scale, bias_zero_point # quantize_int8(linear.bias), or three None", STORED, FORWARD,
         mutants=["forward forgets the bias"]),
    rule("input_scale, input_zero_point # None until calibrate()", STORED,
         L + "test_calibrated_forward_saturates_outside_the_range",
         mutants=["forward ignores the calibration"]),
    rule("calibrate(samples) -> None", L + "test_calibrate_uses_the_range_of_all_samples",
         mutants=["calibrate uses the last sample only"]),
    rule("forward(x) -> Tensor", FORWARD, mutants=["forward returns float64"]),
    rule("memory_usage() -> dict", MEMORY, mutants=["memory_usage counts 4 bytes per code"]),
    rule("def quantize_model(model, calibration_data=None) -> model",
         M + "test_quantize_model_replaces_every_linear_and_nothing_else",
         M + "test_quantize_model_without_data_quantizes_inputs_dynamically",
         mutants=["quantize_model returns None (TinyTorch)"]),
    # quantize_int8
    rule("`tensor`: a Tensor (or an ndarray) of finite floats.", RULE_TEST,
         why_no_mutant="np.asarray of a Tensor's data and of an ndarray are the same call; a solution "
                       "reading only .data fails the ndarray half of the test"),
    rule("NaN or inf raises `ValueError`.", T + "test_non_finite_values_raise_value_error",
         mutants=["NaN and inf not rejected"]),
    rule("The range is the tensor's minimum and maximum, widened to include 0.0", RULE_TEST,
         mutants=["range not widened to include 0"]),
    rule("`scale = (hi - lo) / 255`: 256 codes have 255 steps between them.", RULE_TEST,
         mutants=["scale divides by 256", "symmetric quantization (max |x| / 127, zero point 0)"]),
    rule("`zero_point = round(-128 - lo / scale)`: `lo` lands on code -128 and `hi` on 127.", RULE_TEST,
         mutants=["zero point with the wrong sign"]),
    rule("It is always inside [-128, 127], because the range holds 0.", RULE_TEST,
         mutants=["range not widened to include 0"]),
    rule("`q = clip(round(tensor / scale + zero_point), -128, 127)`, an `np.ndarray` of dtype `int8`",
         RULE_TEST, T + "test_dequantized_values_are_within_half_a_step",
         mutants=["codes returned as a float32 Tensor (TinyTorch)", "codes truncated instead of rounded"]),
    rule("Returns `(q, scale, zero_point)`: `scale` a Python `float`, `zero_point` a Python `int`.", RULE_TEST,
         mutants=["zero point left as a float (np.round)"]),
    rule("A tensor of zeros only has no range (`hi == lo`): then `scale = 1.0`, `zero_point = 0` and every "
         "code is 0.", T + "test_constant_and_all_zero_tensors", mutants=["all-zero tensor divides by zero"]),
    rule("Any other constant tensor needs no special case", T + "test_constant_and_all_zero_tensors",
         mutants=["every constant tensor special-cased (TinyTorch)"]),
    rule("Here only the all-zero tensor is special, and the codes are a real int8 array", RULE_TEST,
         T + "test_constant_and_all_zero_tensors",
         mutants=["codes returned as a float32 Tensor (TinyTorch)", "every constant tensor special-cased (TinyTorch)"]),
    # dequantize_int8
    rule("`q`: int8 codes (an ndarray, or a Tensor holding codes).", T + "test_dequantize_is_q_minus_zero_point_times_scale",
         mutants=["dequantize subtracts the zero point in int8"]),
    rule("Returns the float32 Tensor `(q - zero_point) * scale`, of `q`'s shape.",
         T + "test_dequantize_is_q_minus_zero_point_times_scale", T + "test_dequantized_values_are_within_half_a_step",
         mutants=["dequantize returns float64"]),
    rule("Subtract in a wider type than int8", T + "test_dequantize_is_q_minus_zero_point_times_scale",
         mutants=["dequantize subtracts the zero point in int8"]),
    # QuantizedLinear
    rule("`linear`: a kata-03 `Linear` (weight `(in_features, out_features)`, bias or `None`).", STORED, FORWARD,
         mutants=["forward forgets the bias"]),
    rule("Stores the codes of its weight and bias as `quantize_int8` gives them, under the attribute names "
         "above", STORED, L + "test_quantize_int8_of_the_weight_matches_the_stored_codes",
         mutants=["QuantizedLinear quantizes its weight in place"]),
    rule("It keeps no reference to `linear`, its Tensors or their arrays, and no other copy of the weights",
         STORED, mutants=["QuantizedLinear keeps the float layer (TinyTorch)", "QuantizedLinear caches int32 weights"]),
    rule("It has no trainable parameters (`parameters()` is `[]`), and `linear` itself is left unchanged.",
         STORED, mutants=["QuantizedLinear keeps the float layer (TinyTorch)",
                          "QuantizedLinear quantizes its weight in place"]),
    rule("`calibrate(samples)`: `samples` is a non-empty list of inputs (Tensors or arrays).",
         L + "test_calibrate_uses_the_range_of_all_samples", mutants=["calibrate uses the last sample only"]),
    rule("Sets `input_scale` and `input_zero_point` by the rule of `quantize_int8` applied to the range of "
         "all the samples together", L + "test_calibrate_uses_the_range_of_all_samples",
         mutants=["calibrate uses the last sample only", "calibrate does not widen the range to 0"]),
    rule("An empty list raises `ValueError`.", L + "test_calibrate_uses_the_range_of_all_samples",
         why_no_mutant="min() of an empty sequence raises ValueError in Python already; only a "
                       "deliberate default could break it"),
    rule("`forward(x)`: `x` of shape `(..., in_features)`, output `(..., out_features)`, a float32 Tensor.",
         FORWARD, L + "test_forward_stays_within_the_derived_error_bound", mutants=["forward returns float64"]),
    rule("Quantize `x`: with the calibrated `input_scale` and `input_zero_point` when `calibrate` was called",
         FORWARD, L + "test_calibrated_forward_saturates_outside_the_range",
         mutants=["forward does not quantize the input", "forward ignores the calibration",
                  "codes not clipped before the int8 cast"]),
    rule("Accumulate in integers: `acc = (qx - input_zero_point) @ (q_weight - weight_zero_point)` with int32 "
         "arithmetic, exactly.", FORWARD, L + "test_forward_does_not_overflow_with_extreme_codes",
         mutants=["forward ignores the weight zero point", "forward subtracts the zero points in int8",
                  "forward accumulates in int16"]),
    rule("Rescale once: `acc * (input_scale * weight_scale)`, plus the dequantized bias.", FORWARD,
         mutants=["forward forgets the bias", "forward returns float64"]),
    rule("The result therefore equals `dequantize(qx) @ dequantize(q_weight) + dequantize(q_bias)` up to "
         "float32 rounding", FORWARD, L + "test_forward_stays_within_the_derived_error_bound",
         mutants=["forward does not quantize the input"]),
    rule("`memory_usage()` returns a dict of three entries:", MEMORY,
         mutants=["memory_usage counts 4 bytes per code"]),
    rule("`\"original_bytes\"`: the bytes of the float layer's weight and bias arrays (their `nbytes`), an `int`;",
         MEMORY, mutants=["memory_usage assumes a float32 layer"]),
    rule("`\"quantized_bytes\"`: `q_weight.nbytes + q_bias.nbytes`, plus 8 bytes for the scale and zero point "
         "of each quantized tensor", MEMORY,
         mutants=["memory_usage without the scale and zero point bytes", "memory_usage counts 4 bytes per code"]),
    rule("`\"compression_ratio\"`: `original_bytes / quantized_bytes`, a `float`.", MEMORY,
         mutants=["memory_usage assumes a float32 layer"]),
    # quantize_model
    rule("Replaces every `Linear` inside `model` with `QuantizedLinear(linear)`, in place, and returns `model`.",
         M + "test_quantize_model_replaces_every_linear_and_nothing_else",
         mutants=["quantize_model returns None (TinyTorch)", "quantize_model walks model.layers only (TinyTorch)"]),
    rule("It finds them as `Layer.parameters()` finds Tensors", M + "test_quantize_model_replaces_every_linear_and_nothing_else",
         mutants=["quantize_model walks model.layers only (TinyTorch)"]),
    rule("Everything else is left as it is.", M + "test_quantize_model_replaces_every_linear_and_nothing_else",
         why_no_mutant="a replacement that touched other layers would have to be written on purpose; "
                       "the test checks every other layer keeps its identity"),
    rule("`calibration_data`: `None`, or a list of input batches (Tensors).",
         M + "test_quantize_model_calibrates_each_layer_on_what_it_receives",
         mutants=["quantize_model ignores the calibration data"]),
    rule("When given, the float model first runs on every batch, and each `QuantizedLinear` is calibrated with "
         "the inputs its `Linear` received during that run", M + "test_quantize_model_calibrates_each_layer_on_what_it_receives",
         mutants=["quantize_model calibrates every layer on the model input", "quantize_model ignores the calibration data"]),
    rule("Without it, every layer quantizes its inputs dynamically.",
         M + "test_quantize_model_without_data_quantizes_inputs_dynamically",
         why_no_mutant="dynamic quantization is QuantizedLinear's own default; its forward mutants "
                       "(forward ignores the calibration, ...) are rejected by the layer tests"),
    rule("A `Linear` given as `model` itself raises `ValueError`", M + "test_quantize_model_refuses_a_bare_linear",
         mutants=["quantize_model accepts a bare Linear"]),
    rule("here any model built from Layers works", M + "test_quantize_model_replaces_every_linear_and_nothing_else",
         mutants=["quantize_model walks model.layers only (TinyTorch)", "quantize_model returns None (TinyTorch)"]),
    # conventions
    rule("Rounding is to the nearest integer.", T + "test_dequantized_values_are_within_half_a_step",
         mutants=["codes truncated instead of rounded"]),
    rule("At an exact tie (a value `k + 0.5`) either neighbour is accepted", RULE_TEST,
         T + "test_dequantized_values_are_within_half_a_step",
         why_no_mutant="a leniency of the checks (both neighbours of a tie are accepted), proven by the "
                       "alternative solution, which rounds halves away from zero"),
    rule("Guarantees that follow from the rule", T + "test_dequantized_values_are_within_half_a_step",
         T + "test_zero_is_represented_exactly", T + "test_codes_are_monotone",
         mutants=["codes truncated instead of rounded"]),
    rule("Idempotence: a tensor whose values already lie on an int8 grid",
         T + "test_quantizing_values_on_a_grid_is_idempotent", RULE_TEST, mutants=["scale divides by 256"]),
    rule("Codes never leave [-128, 127]: clip before casting to int8", L + "test_calibrated_forward_saturates_outside_the_range",
         T + "test_dequantized_values_are_within_half_a_step", mutants=["codes not clipped before the int8 cast"]),
    rule("The error bound of a layer", L + "test_forward_stays_within_the_derived_error_bound", FORWARD,
         mutants=["forward does not quantize the input"]),
]

PROSE = [
    "TinyTorch gives every constant tensor a special case, and stores the codes in a float32 Tensor",
]
