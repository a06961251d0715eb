"""Shared by the loss tests: a loss is one number, a Tensor of shape (), whose dtype is
the dtype of its first input (predictions or logits)."""
from __future__ import annotations

import numpy as np

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor


def checked_loss(out, call: str, first: np.ndarray, inputs: dict, *, over: str,
                 dtype_of: str, dtype_hint: str):
    """Stage the checks of a loss's output: Tensor, then shape (), then dtype."""
    if not isinstance(out, Tensor):
        checks.fail(f"{call} must return a Tensor.", f"got {type(out).__name__}: {checks.fmt(out)}",
                    inputs=inputs)
    checks.check_shape(out, (), call, inputs=inputs,
                       hint=f"the loss is one number: a Tensor of shape () (mean over {over})")
    if out.data.dtype != first.dtype:
        checks.fail(f"{call} has the wrong dtype.",
                    f"got {out.data.dtype}, expected {first.dtype} ({dtype_of})",
                    inputs=inputs, hint=dtype_hint)
    return out
