"""Kata 15: int8 quantization. Read katas/15_quantization/README.md first.

A float tensor is mapped onto the codes -128..127 with a `scale` (one step) and a
`zero_point` (the code of 0.0). Replace every `raise NotImplementedError` with your code.
"""
from __future__ import annotations

import numpy as np

from tinytorch.core.autograd import no_grad  # noqa: F401  (for the calibration run)
from tinytorch.core.layers import Layer, Linear  # noqa: F401
from tinytorch.core.tensor import Tensor  # noqa: F401

INT8_MIN, INT8_MAX = -128, 127


def quantize_int8(tensor) -> tuple:
    """(q, scale, zero_point) of a Tensor or ndarray of finite floats.

    lo = min(min, 0), hi = max(max, 0); scale = (hi - lo) / 255 (a Python float);
    zero_point = round(-128 - lo / scale) (a Python int); q = clip(round(x / scale +
    zero_point), -128, 127) as an int8 ndarray of the input's shape. Only zeros:
    scale 1.0, zero_point 0. NaN or inf: ValueError.
    """
    raise NotImplementedError("kata 15_quantization: write quantize_int8")


def dequantize_int8(q, scale, zero_point):
    """(q - zero_point) * scale as a float32 Tensor (subtract in a type wider than int8)."""
    raise NotImplementedError("kata 15_quantization: write dequantize_int8")


class QuantizedLinear(Layer):
    """A Linear layer held as int8 codes.

    Attributes: in_features, out_features, q_weight, weight_scale, weight_zero_point,
    q_bias, bias_scale, bias_zero_point (three None without a bias), input_scale and
    input_zero_point (None until calibrate). Keeps no reference to the float layer.
    """

    def __init__(self, linear):
        super().__init__()
        raise NotImplementedError("kata 15_quantization: write QuantizedLinear.__init__")

    def calibrate(self, samples) -> None:
        """Set input_scale and input_zero_point from the range of all samples together."""
        raise NotImplementedError("kata 15_quantization: write QuantizedLinear.calibrate")

    def forward(self, x):
        """Quantize x (calibrated, or from its own range), accumulate
        (qx - zx) @ (q_weight - zw) in int32, rescale by input_scale * weight_scale, add
        the dequantized bias; a float32 Tensor of shape (..., out_features)."""
        raise NotImplementedError("kata 15_quantization: write QuantizedLinear.forward")

    def memory_usage(self) -> dict:
        """{"original_bytes": int, "quantized_bytes": int, "compression_ratio": float}."""
        raise NotImplementedError("kata 15_quantization: write QuantizedLinear.memory_usage")


def quantize_model(model, calibration_data=None):
    """Replace every Linear inside model (attributes, list items, sub-layers) with a
    QuantizedLinear, in place; calibrate each on the inputs its Linear receives when the
    float model runs on calibration_data; return model. A bare Linear: ValueError."""
    raise NotImplementedError("kata 15_quantization: write quantize_model")
