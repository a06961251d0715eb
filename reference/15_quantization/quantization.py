"""Kata 15: int8 quantization, four times less memory per weight, with a bound on the cost.

A float tensor is mapped affinely onto the 256 integer codes -128..127: `scale` is the
width of one step and `zero_point` the code that stands for 0.0. The codes live in real
int8 arrays (one byte each), and `QuantizedLinear` multiplies them as integers, with
int32 accumulators, and rescales the sums once at the end.
"""
from __future__ import annotations

import numpy as np

from tinytorch.core.autograd import no_grad
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor

INT8_MIN, INT8_MAX = -128, 127
STEPS = INT8_MAX - INT8_MIN  # 255 steps between the lowest and the highest code
PARAM_BYTES = 8  # a float32 scale and an int32 zero point per quantized tensor


def _values(x) -> np.ndarray:
    """The NumPy array of a Tensor, or of anything np.asarray takes."""
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _params(lo: float, hi: float) -> tuple[float, int]:
    """(scale, zero_point) for values in [lo, hi], the range first widened to hold 0.0."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi == lo:  # only zeros: there is no range to divide, any step will do
        return 1.0, 0
    scale = (hi - lo) / STEPS
    zero_point = round(INT8_MIN - lo / scale)  # lo lands on -128, hi on 127
    return scale, min(max(zero_point, INT8_MIN), INT8_MAX)  # only rounding could leave the range


def _codes(data: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """round(x / scale + zero_point), saturated to the int8 range, as int8."""
    q = np.round(data / scale + zero_point)
    return np.clip(q, INT8_MIN, INT8_MAX).astype(np.int8)


def quantize_int8(tensor) -> tuple[np.ndarray, float, int]:
    """(codes, scale, zero_point): asymmetric min-max quantization of a whole tensor."""
    data = _values(tensor)
    if not np.all(np.isfinite(data)):
        raise ValueError("quantize_int8: the tensor holds NaN or inf, which have no int8 code "
                         "and no finite range")
    scale, zero_point = _params(float(data.min()), float(data.max()))
    return _codes(data, scale, zero_point), scale, zero_point


def dequantize_int8(q, scale: float, zero_point: int) -> Tensor:
    """(q - zero_point) * scale as a float32 Tensor."""
    codes = _values(q).astype(np.float32)  # widen first: int8 arithmetic would wrap around
    return Tensor((codes - zero_point) * scale)


class QuantizedLinear(Layer):
    """A Linear layer held as int8 codes; forward multiplies integers and rescales once."""

    def __init__(self, linear):
        super().__init__()
        weight = _values(linear.weight)
        self.in_features, self.out_features = weight.shape
        self.q_weight, self.weight_scale, self.weight_zero_point = quantize_int8(weight)
        self.original_bytes = int(weight.nbytes)
        if linear.bias is None:
            self.q_bias = self.bias_scale = self.bias_zero_point = None
        else:
            bias = _values(linear.bias)
            self.q_bias, self.bias_scale, self.bias_zero_point = quantize_int8(bias)
            self.original_bytes += int(bias.nbytes)
        self.input_scale = self.input_zero_point = None  # set by calibrate()

    def calibrate(self, samples) -> None:
        """Fix the input's scale and zero point from the range of every sample together."""
        arrays = [_values(s) for s in samples]
        if not arrays:
            raise ValueError("calibrate: give at least one sample input")
        lo = min(float(a.min()) for a in arrays)
        hi = max(float(a.max()) for a in arrays)
        self.input_scale, self.input_zero_point = _params(lo, hi)

    def forward(self, x) -> Tensor:
        data = _values(x)
        if self.input_scale is None:  # dynamic: each input brings its own range
            scale, zero_point = _params(float(data.min()), float(data.max()))
        else:
            scale, zero_point = self.input_scale, self.input_zero_point
        # Widen to int32 before subtracting the zero points: a difference of two int8
        # codes needs 9 bits, a product 17, a sum of in_features products more still.
        qx = _codes(data, scale, zero_point).astype(np.int32) - zero_point
        qw = self.q_weight.astype(np.int32) - self.weight_zero_point
        acc = qx @ qw  # exact integer sums
        out = acc.astype(np.float32) * np.float32(scale * self.weight_scale)
        if self.q_bias is not None:
            out += dequantize_int8(self.q_bias, self.bias_scale, self.bias_zero_point).data
        return Tensor(out)

    def memory_usage(self) -> dict:
        quantized = self.q_weight.nbytes + PARAM_BYTES
        if self.q_bias is not None:
            quantized += self.q_bias.nbytes + PARAM_BYTES
        return {"original_bytes": self.original_bytes, "quantized_bytes": int(quantized),
                "compression_ratio": self.original_bytes / quantized}

    def __repr__(self) -> str:
        return (f"QuantizedLinear(in_features={self.in_features}, "
                f"out_features={self.out_features}, bias={self.q_bias is not None})")


# ---------------------------------------------------------------------- whole models

def _slots(layer):
    """(holder, key, value) for every attribute of a layer, list and tuple items one level deep."""
    for name, value in list(vars(layer).items()):
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                yield value, i, item
        else:
            yield layer, name, value


def _linears(model) -> list:
    """Every distinct Linear reachable from the model, in attribute order."""
    found, seen, todo = [], set(), [model]
    while todo:
        layer = todo.pop(0)
        for _, _, value in _slots(layer):
            if isinstance(value, Linear):
                if id(value) not in seen:
                    seen.add(id(value))
                    found.append(value)
            elif isinstance(value, Layer) and id(value) not in seen:
                seen.add(id(value))
                todo.append(value)
    return found


def _replace(layer, swap: dict, seen: set) -> None:
    """Put swap[id(linear)] wherever a Linear it names sits, in this layer and below."""
    seen.add(id(layer))
    for name, value in list(vars(layer).items()):
        if isinstance(value, list):
            value[:] = [swap.get(id(v), v) for v in value]
        elif isinstance(value, tuple):
            setattr(layer, name, tuple(swap.get(id(v), v) for v in value))
        elif id(value) in swap:
            setattr(layer, name, swap[id(value)])
    for _, _, value in _slots(layer):
        if isinstance(value, Layer) and not isinstance(value, QuantizedLinear) and id(value) not in seen:
            _replace(value, swap, seen)


def _inputs_seen(model, linears: list, batches) -> dict:
    """id(linear) -> the inputs it received while the float model ran on `batches`."""
    seen = {id(layer): [] for layer in linears}
    for layer in linears:
        def watch(x, *args, _layer=layer, **kwargs):
            seen[id(_layer)].append(_values(x))
            return type(_layer).forward(_layer, x, *args, **kwargs)
        layer.forward = watch  # an instance attribute shadows the class's forward
    try:
        with no_grad():
            for batch in batches:
                model(batch if isinstance(batch, Tensor) else Tensor(batch))
    finally:
        for layer in linears:
            del layer.forward
    return seen


def quantize_model(model, calibration_data=None):
    """Replace every Linear inside `model` with a QuantizedLinear, in place; return model."""
    if isinstance(model, Linear):
        raise ValueError("quantize_model replaces the Linear layers inside a model, and a "
                         "Linear alone has nothing to hold its replacement: use "
                         "QuantizedLinear(linear)")
    linears = _linears(model)
    inputs = None if calibration_data is None else _inputs_seen(model, linears, calibration_data)
    swap = {}
    for layer in linears:
        quantized = QuantizedLinear(layer)
        if inputs is not None and inputs[id(layer)]:
            quantized.calibrate(inputs[id(layer)])
        swap[id(layer)] = quantized
    _replace(model, swap, set())
    return model
