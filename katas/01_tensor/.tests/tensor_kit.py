"""Shared by the kata 01 tests: every operation returns a new Tensor and leaves its
operands untouched (kata 06 records each operation on its own result)."""
from __future__ import annotations

import numpy as np

from pytest_tinytorch import checks


def check_untouched(before: np.ndarray, tensor, what: str, inputs: dict) -> None:
    data = getattr(tensor, "data", None)
    if not isinstance(data, np.ndarray) or data.shape != before.shape or not np.array_equal(data, before):
        checks.fail(f"{what} changed its input: operations must not modify their operands.",
                    f"the operand's data is now {checks.fmt(data)}", inputs=inputs,
                    hint="compute the result into a new array and wrap it in a new Tensor; "
                         "never assign to self.data or write into it (no +=, no out=self.data)")


def check_new(out, operands, what: str, inputs: dict) -> None:
    if any(out is t for t in operands):
        checks.fail(f"{what} returned one of its operands instead of a new Tensor.", inputs=inputs,
                    hint="every operation returns a NEW Tensor, even when nothing changes "
                         "(kata 06 records each operation on its result)")
