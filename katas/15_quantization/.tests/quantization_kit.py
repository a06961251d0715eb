"""Shared by kata 15's hidden tests (not collected: the name is not test_*): data drawn
from seeds (random floats, so exact rounding ties do not occur by accident), the min-max
rule computed here in float64, and the staged check of a (q, scale, zero_point) triple."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.layers import Linear

KATA = "15_quantization"
F32, F64 = np.float32, np.float64
LO, HI = -128, 127
TIE = 1e-3  # a value this close to k + 0.5 may round either way (README: ties are free)

HINT_255 = ("256 codes have 255 steps between them: scale = (hi - lo) / 255, not / 256")
HINT_WIDEN = ("widen the range to include 0.0 first: lo = min(min, 0), hi = max(max, 0); "
              "otherwise an all-positive or all-negative tensor gets a zero point outside "
              "[-128, 127], and clamping it breaks every value")
HINT_SYMMETRIC = ("that is symmetric quantization (scale from max |x|); this kata is "
                  "asymmetric min-max: scale = (hi - lo) / 255 of the widened range")
HINT_CONSTANT = ("a constant tensor needs no special case: its widened range is [0, c] "
                 "(or [c, 0]), so scale = |c| / 255; only the all-zero tensor has no range")
HINT_ZP_SIGN = "zero_point = round(-128 - lo / scale): check the signs"
HINT_ZP_NOT_ROUNDED = "zero_point is the integer round(-128 - lo / scale)"
HINT_TRUNC = ("the codes look truncated (toward zero or down), not rounded: use np.round, "
              "so the error stays within half a step")
HINT_WRAP = ("a code of -128 stands where the value is at the top of the range: a code "
             "above 127 wrapped around when cast to int8; clip to [-128, 127] before the cast")
HINT_BOUND = "q = clip(round(x / scale + zero_point), -128, 127) with the scale and zero point you return"


# ---------------------------------------------------------------- data

KINDS = ("mixed", "positive", "negative", "zeros", "offset")


def make_data(shape, kind, magnitude, seed, dtype=F32) -> np.ndarray:
    """Random floats of one sign pattern: mixed, all positive, all negative, mixed with
    exact zeros, or a narrow band away from 0 (all positive)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, shape)
    if kind == "positive":
        x = np.abs(x) + 0.01
    elif kind == "negative":
        x = -np.abs(x) - 0.01
    elif kind == "zeros":
        x = np.where(rng.random(shape) < 0.3, 0.0, x)
        x.flat[rng.integers(x.size)] = 0.0
    elif kind == "offset":
        x = 3.0 + 0.5 * x
    return (x * magnitude).astype(dtype)


def data(min_dims=1, max_dims=3, max_side=5, dtypes=(F32, F64), kinds=KINDS):
    """A strategy of arrays from make_data."""
    return st.builds(make_data, checks.shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side),
                     st.sampled_from(kinds), st.sampled_from([1e-3, 1.0, 50.0]),
                     st.integers(0, 2**32 - 1), st.sampled_from(dtypes))


# ---------------------------------------------------------------- the rule, in float64

def widened(x) -> tuple[float, float]:
    x = np.asarray(x, F64)
    return min(float(x.min()), 0.0), max(float(x.max()), 0.0)


def expected_scale(lo: float, hi: float) -> float:
    return 1.0 if hi == lo else (hi - lo) / 255


def zero_points(lo: float, hi: float) -> set:
    """The zero points the rule allows: round(-128 - lo / scale), either side at a tie."""
    if hi == lo:
        return {0}
    t = -128 - lo / expected_scale(lo, hi)
    near = {int(np.floor(t)), int(np.ceil(t))} if abs(t - np.floor(t) - 0.5) < TIE else {int(round(t))}
    return {min(max(z, LO), HI) for z in near}


def pre_round(x, scale, zero_point) -> np.ndarray:
    """x / scale + zero_point in float64, the value that rounding turns into a code."""
    return np.asarray(x, F64) / scale + zero_point


def codes_ok(q, x, scale, zero_point) -> np.ndarray:
    """Elementwise: q is clip(round(x / scale + zero_point)), either neighbour at a tie."""
    v = np.clip(pre_round(x, scale, zero_point), LO - 0.5, HI + 0.5)
    return np.abs(q.astype(F64) - v) <= 0.5 + TIE


raised = checks.raised  # the shared helper: NotImplementedError propagates, other crashes are returned


def call(fn, what, inputs=None, hint=""):
    """fn(), a crash turned into a message naming the property."""
    try:
        return fn()
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001
        err = exc
    checks.fail(f"{what} raised {type(err).__name__}: {err}", inputs=inputs, hint=hint)


# ---------------------------------------------------------------- staged checks

def check_types(result, x, what, inputs):
    """(q, scale, zero_point): an int8 ndarray of x's shape, a float, an int."""
    if not isinstance(result, tuple) or len(result) != 3:
        checks.fail(f"{what} must return a tuple (q, scale, zero_point).",
                    f"got {type(result).__name__}: {checks.fmt(result)}", inputs=inputs)
    q, scale, zero_point = result
    if type(q) is not np.ndarray:
        checks.fail(f"{what}: q must be an np.ndarray of int8 codes.", f"got {type(q).__name__}",
                    inputs=inputs, hint="return the codes themselves, an int8 array (one byte "
                    "each), not a Tensor: kata 01's Tensor turns integers into float32")
    if q.dtype != np.int8:
        checks.fail(f"{what}: q must have dtype int8.", f"got {q.dtype}", inputs=inputs,
                    hint="cast the clipped codes with .astype(np.int8)")
    if q.shape != np.shape(x):
        checks.fail(f"{what}: q must have the tensor's shape.", f"got {q.shape}, expected {np.shape(x)}",
                    inputs=inputs)
    if not isinstance(scale, float):
        checks.fail(f"{what}: scale must be a Python float.",
                    f"got {type(scale).__name__}: {scale!r}", inputs=inputs, hint="use float(...)")
    if not isinstance(zero_point, int) or isinstance(zero_point, bool):
        checks.fail(f"{what}: zero_point must be a Python int.",
                    f"got {type(zero_point).__name__}: {zero_point!r}", inputs=inputs,
                    hint="int(round(...)): np.round returns a float, and a NumPy integer is not an int")
    return q, scale, zero_point


def check_params(scale, zero_point, lo_hi, raw_range, what, inputs, constant=None):
    """scale and zero_point by the min-max rule of the widened range lo_hi."""
    lo, hi = lo_hi
    exp = expected_scale(lo, hi)
    if not np.isfinite(scale) or not np.isclose(scale, exp, rtol=1e-6, atol=0):
        rmin, rmax = raw_range
        wrong = [((hi - lo) / 256, HINT_255), (2 * max(abs(lo), abs(hi)) / 255, HINT_SYMMETRIC),
                 (max(abs(lo), abs(hi)) / 127, HINT_SYMMETRIC),
                 (max(abs(lo), abs(hi)) / 127.5, HINT_SYMMETRIC)]
        if rmax > rmin and (rmin > 0 or rmax < 0):
            wrong.insert(0, ((rmax - rmin) / 255, HINT_WIDEN))
        if constant is not None and constant != 0:
            wrong.insert(0, (abs(constant), HINT_CONSTANT))
        hint = next((h for v, h in wrong if np.isclose(scale, v, rtol=1e-6, atol=0)), "")
        if not hint and exp == 1.0 and lo == hi:
            hint = "a tensor of zeros has no range: return scale = 1.0 and zero_point = 0"
        checks.fail(f"{what}: scale must be (hi - lo) / 255 with lo = min(min, 0), hi = max(max, 0).",
                    f"got {scale!r}, expected {exp!r} (range [{lo!r}, {hi!r}])", inputs=inputs,
                    hint=hint)
    allowed = zero_points(lo, hi)
    if zero_point not in allowed:
        t = None if hi == lo else -128 - lo / exp
        hint = ""
        if t is not None and min(max(int(round(-128 + lo / exp)), LO), HI) == zero_point and t != -128:
            hint = HINT_ZP_SIGN
        elif not (LO <= zero_point <= HI):
            hint = "the zero point must be an int8 code, in [-128, 127]: " + HINT_WIDEN
        elif constant is not None and constant != 0 and zero_point in (-1, 1):
            hint = HINT_CONSTANT
        elif zero_point == 0 and t is not None:
            hint = HINT_SYMMETRIC
        elif raw_range[1] > raw_range[0] and (raw_range[0] > 0 or raw_range[1] < 0):
            hint = HINT_WIDEN
        checks.fail(f"{what}: zero_point must be round(-128 - lo / scale).",
                    f"got {zero_point!r}, expected {sorted(allowed)[0] if len(allowed) == 1 else sorted(allowed)}",
                    inputs=inputs, hint=hint)


def check_codes(q, x, scale, zero_point, what, inputs):
    """q = clip(round(x / scale + zero_point)), judged with the learner's own scale and
    zero point, then the half-step bound it implies."""
    good = codes_ok(q, x, scale, zero_point)
    if np.all(good):
        return
    v = pre_round(x, scale, zero_point)
    i = tuple(int(k) for k in np.argwhere(~good)[0])
    hint = HINT_BOUND
    near = np.abs(v - np.round(v)) < TIE  # float noise decides which integer these truncate to
    rounded = np.clip(np.round(v), LO, HI)
    for cut in (np.trunc, np.floor):
        like = (q == np.clip(cut(v), LO, HI)) | (near & (np.abs(q.astype(F64) - rounded) <= 1))
        if np.all(like):
            hint = HINT_TRUNC
    if np.any((q == LO) & (v > HI)):
        hint = HINT_WRAP
    back = (q.astype(F64) - zero_point) * scale
    err = np.abs(back - np.asarray(x, F64))
    checks.fail(f"{what}: every value must come back within half a step, "
                f"|dequantize(q) - x| <= scale / 2.",
                f"at index {i}: x = {float(np.asarray(x)[i])!r}, code {int(q[i])}, which stands "
                f"for {float(back[i])!r}, an error of {float(err[i]):.4g} (half a step is "
                f"{scale / 2:.4g}); round(x / scale + zero_point) = {float(np.round(v[i]))!r}",
                inputs=inputs, hint=hint)


def check_quantized(result, x, what, inputs):
    """The whole verdict on quantize_int8(x): types, scale, zero point, codes."""
    q, scale, zero_point = check_types(result, x, what, inputs)
    arr = np.asarray(x, F64)
    constant = float(arr.flat[0]) if arr.size and np.all(arr == arr.flat[0]) else None
    check_params(scale, zero_point, widened(arr), (float(arr.min()), float(arr.max())), what,
                 inputs, constant=constant)
    check_codes(q, x, scale, zero_point, what, inputs)
    return q, scale, zero_point


# ---------------------------------------------------------------- layers

def make_linear(n_in, n_out, bias, seed, magnitude=1.0, dtype=F32):
    """A kata-03 Linear with weights (and a bias) drawn from a seed."""
    rng = np.random.default_rng(seed)
    layer = Linear(n_in, n_out, bias=bias)
    layer.weight.data = (rng.uniform(-1, 1, (n_in, n_out)) * magnitude).astype(dtype)
    if bias:
        layer.bias.data = (rng.uniform(-1, 1, n_out) * magnitude / 2).astype(dtype)
    return layer


def input_params(layer, x):
    """[(scale, zero_point)] the forward pass may use: the calibrated ones, or the rule's
    choice for x's own range (both zero points at an exact tie)."""
    if getattr(layer, "input_scale", None) is not None:
        return [(layer.input_scale, layer.input_zero_point)]
    lo, hi = widened(x)
    return [(expected_scale(lo, hi), z) for z in sorted(zero_points(lo, hi))]


def integer_forward(layer, x, scale, zero_point, clip=True, wrap8=False, bias=True, wzp=True, xzp=True):
    """The exact integer product in float64, rescaled, plus the dequantized bias; options
    give the known wrong versions."""
    v = np.round(np.asarray(x, F64) / scale + zero_point)
    qx = np.clip(v, -128, 127) if clip else ((v + 128) % 256) - 128
    dx = qx - (zero_point if xzp else 0)
    dw = layer.q_weight.astype(F64) - (layer.weight_zero_point if wzp else 0)
    if wrap8:
        dx, dw = ((dx + 128) % 256) - 128, ((dw + 128) % 256) - 128
    out = (dx @ dw) * (scale * layer.weight_scale)
    if bias and layer.q_bias is not None:
        out = out + (layer.q_bias.astype(F64) - layer.bias_zero_point) * layer.bias_scale
    return out


