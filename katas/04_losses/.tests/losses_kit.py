"""Shared by the loss tests: a loss is one number, a Tensor of shape (), whose dtype is
the dtype of its first input (predictions or logits); tolerances and hints at huge logits;
the forms in which targets may come."""
from __future__ import annotations

import numpy as np

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

F32 = np.float32
ULP32 = float(np.finfo(F32).eps)
HUGE_ULPS = 4  # README: a few float32 ulps of the logits' magnitude at +-1000
WATCH = {"over": "warn", "divide": "warn", "invalid": "warn", "under": "ignore"}


def checked_loss(out, call: str, first: np.ndarray, inputs: dict, *, over: str, first_name: str):
    """Stage the checks of a loss's output: Tensor, then shape (), then dtype."""
    if not isinstance(out, Tensor):
        checks.fail(f"{call} must return a Tensor.", f"got {type(out).__name__}: {checks.fmt(out)}",
                    inputs=inputs)
    checks.check_shape(out, (), call, inputs=inputs,
                       hint=f"the loss is one number: a Tensor of shape () (the mean over {over}), "
                            "not an array of shape (1,) or (1, 1) (no keepdims)")
    if out.data.dtype != first.dtype:
        checks.fail(f"{call} has the wrong dtype.",
                    f"got {out.data.dtype}, expected {first.dtype} (the dtype of the {first_name})",
                    inputs=inputs, hint=dtype_hint(first_name, out.data.dtype, first.dtype))
    return out


def dtype_hint(first: str, got: np.dtype, expected: np.dtype) -> str:
    """Why a loss has the wrong dtype, from the direction of the change."""
    if expected == np.float32 and got == np.float64:
        return (f"float64 leaked into the loss of float32 {first}: a float64 (or integer) "
                "array joined the computation (float64 or integer targets, np.eye / np.zeros "
                "of the default dtype, an np.float64 constant); cast what you combine with "
                f"the {first} to their dtype")
    if expected == np.float64 and got == np.float32:
        return (f"float64 was lost: float64 {first} give a float64 loss, whatever the targets' "
                f"dtype (do not cast the {first} to the targets' dtype, or to float32)")
    return f"the loss has the dtype of the {first}"


def huge_atol(x: np.ndarray) -> float:
    """A few float32 ulps of the inputs' magnitude: rounding at |x| = 1000, not a bug."""
    return HUGE_ULPS * ULP32 * max(1.0, float(np.max(np.abs(x), initial=0.0)))


def rounding_hint(got, expected: np.ndarray, x: np.ndarray, otherwise: str) -> str:
    """A precision diagnosis when the error is a few dozen ulps of the inputs' magnitude."""
    data = np.asarray(getattr(got, "data", got), dtype=np.float64)
    if data.shape != np.shape(expected) or not np.all(np.isfinite(data)):
        return otherwise
    err = float(np.max(np.abs(data - expected), initial=0.0))
    scale = max(1.0, float(np.max(np.abs(x), initial=0.0)))
    if err > 64 * ULP32 * scale:
        return otherwise
    return (f"precision, not logic: your values are off by about {err / (ULP32 * scale):.0f} "
            f"float32 unit(s) in the last place of the logits' magnitude (~{scale:.3g}); keep "
            "the subtraction of the max and of the log-sum-exp in as few rounding steps as "
            "possible, in the input's dtype")


def nonfinite_hint(got, expected: np.ndarray, stable: str) -> str:
    """Name the cause of NaN or inf at huge logits from what came out."""
    data = np.asarray(getattr(got, "data", got), dtype=np.float64)
    if data.shape == np.shape(expected) and np.any(np.isneginf(data) & np.isfinite(expected)):
        return ("-inf: a probability underflowed to 0 and you took its log. Never form "
                "probabilities first: log_softmax(x) = (x - max) - log(sum(exp(x - max))), "
                "computed directly")
    return stable


# The forms a target may come in (README: a Tensor or an ndarray of any dtype).
TARGET_FORMS = ["Tensor", "float32 ndarray", "float64 ndarray", "int64 ndarray", "float64 Tensor"]


def as_form(t: np.ndarray, form: str):
    """The targets (floats) as a Tensor or an ndarray of another dtype (integers rounded)."""
    return {"Tensor": lambda: Tensor(t), "float32 ndarray": lambda: t.astype(F32),
            "float64 ndarray": lambda: t.astype(np.float64),
            "int64 ndarray": lambda: np.round(t).astype(np.int64),
            "float64 Tensor": lambda: Tensor(t.astype(np.float64))}[form]()


def target_values(t: np.ndarray, form: str) -> np.ndarray:
    """The target values the loss sees in `form`, in float64 (for the oracle)."""
    return np.asarray(getattr(as_form(t, form), "data", as_form(t, form)), dtype=np.float64)


def attempt(fn, *args):
    """(fn(*args), None), or (None, the exception it raised): a failure message built
    outside the `except` block does not drag the learner's traceback along."""
    try:
        return fn(*args), None
    except NotImplementedError:
        raise
    except Exception as err:  # noqa: BLE001 - turned into a teaching message by the caller
        return None, err
