"""Shared by kata 16's hidden tests (not collected: the name is not test_*): models with
weights drawn from seeds, crash-to-message calls, and small NumPy oracles."""
from __future__ import annotations

import numpy as np

from pytest_tinytorch import checks
from tinytorch.core.layers import Linear

KATA = "16_compression"
F32, F64 = np.float32, np.float64


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


def expect_value_error(fn, what, inputs=None, hint=""):
    err = raised(fn)
    if not isinstance(err, ValueError):
        checks.fail(f"{what} must raise ValueError.",
                    "it did not raise" if err is None else f"it raised {type(err).__name__}: {err}",
                    inputs=inputs, hint=hint)


def linear(n_in, n_out, seed, magnitude=1.0, bias=True, dtype=F32, values=None):
    """A kata-03 Linear whose weight is drawn from a seed (or given), bias drawn too."""
    rng = np.random.default_rng(seed)
    layer = Linear(n_in, n_out, bias=bias)
    w = rng.uniform(-1, 1, (n_in, n_out)) * magnitude if values is None else np.asarray(values)
    layer.weight.data = w.astype(dtype)
    if bias:
        layer.bias.data = (rng.uniform(-1, 1, n_out) * 0.1).astype(dtype)
    return layer


def distinct(shape, seed, magnitude=1.0):
    """Values of distinct magnitudes with random signs: no ties by accident."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    mags = (rng.permutation(n) + 1.0) / n * magnitude + rng.uniform(0, 0.1 / n, n) * magnitude
    return (mags * rng.choice([-1.0, 1.0], n)).reshape(shape)


def weights_of(model):
    return [p for p in model.parameters() if p.data.ndim >= 2]


def snapshot(model):
    return [(p, p.data.copy()) for p in model.parameters()]
