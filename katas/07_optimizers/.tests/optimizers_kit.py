"""Helpers shared by kata 07's hidden test modules (not collected: the name is not test_*).

Strategies and fixed examples for a parameter and its per-step gradients, and the
step-by-step comparison of a parameter with its expected trajectory.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

P0 = np.array([[1.5, -2.0, 0.25], [3.0, -0.5, 4.0]])
G3 = np.array([[[0.5, 1.0, -1.5], [2.0, -0.25, 1.0]],
               [[-1.0, 0.75, 0.5], [1.0, 1.5, -2.0]],
               [[0.25, -0.5, 1.25], [-1.5, 0.5, 0.75]]])

decays = st.floats(0.01, 0.5)


def problems(min_steps: int = 1, max_steps: int = 4, dtype=np.float64, lo=-5.0, hi=5.0):
    """(p0, grads): a parameter and one gradient per step (grads[i] has p0's shape, values
    in [lo, hi])."""
    def for_shape(shape):
        return st.integers(min_steps, max_steps).flatmap(lambda k: st.tuples(
            checks.arrays(shape, dtype=dtype, lo=-5.0, hi=5.0),
            checks.arrays((k,) + shape, dtype=dtype, lo=lo, hi=hi)))
    return checks.shapes().flatmap(for_shape)


def check_param(p, expected, *, what, inputs, wrong=(), hint="", nan_hint="", dtype=np.float64,
                rtol=1e-7, atol=1e-9):
    """Compare a parameter's data with the expected array, with pointed hints.

    A NaN or inf is explained by nan_hint, else by hint, else by a generic hint."""
    if not isinstance(p.data, np.ndarray):
        checks.fail(f"{what}: p.data must stay an np.ndarray.",
                    f"got {type(p.data).__name__}", inputs=inputs,
                    hint="write the new values into p.data (a NumPy array), not a Tensor")
    data = p.data
    if data.shape == np.shape(expected) and np.issubdtype(data.dtype, np.floating) \
            and not np.all(np.isfinite(data)):
        checks.fail(f"{what} contains NaN or inf.", f"got {checks.fmt(data)}", inputs=inputs,
                    hint=nan_hint or hint or "the update must stay finite for finite inputs")
    distinct = [(w, h) for w, h in wrong
                if not np.allclose(w, expected, rtol=1e-4, atol=1e-5)]
    checks.check_array(p, expected, what=what, inputs=inputs, type_=Tensor, dtype=dtype,
                       rtol=rtol, atol=atol, wrong=distinct, hint=hint)


def run_and_check(opt, p, grads, expected, wrong, *, hints, label, inputs, lrs=None, hint="",
                  nan_hint=""):
    """Feed grads[i] to p.grad, step, and compare p after every step; `wrong` maps a bug's
    name (a key of hints) to its trajectory."""
    for i, g in enumerate(grads):
        if lrs is not None:
            opt.lr = lrs[i]
        p.grad = g.copy()
        opt.step()
        check_param(p, expected[i], what=f"{label}: the parameter after step {i + 1}",
                    inputs=inputs, wrong=[(w[i], hints[n]) for n, w in wrong.items()],
                    hint=hint, nan_hint=nan_hint)


raised = checks.raised  # the shared helper: NotImplementedError propagates, other crashes are returned
