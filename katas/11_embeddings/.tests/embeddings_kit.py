"""Shared by kata 11's hidden tests (not collected: the name is not test_*): crash-to-message
calls, expected-error checks, and the float64 oracles."""
from __future__ import annotations

import re

import numpy as np

from pytest_tinytorch import checks

KATA = "11_embeddings"
F32, F64 = np.float32, np.float64
GRAPH_HINT = ("build the result from Tensor operations on the table (slice it with [...], add "
              "with +): a Tensor rebuilt from .data is a new leaf, cut out of the graph, so "
              "the table never receives a gradient")


def call(fn, what, *args, inputs=None, hint="", **kwargs):
    """fn(*args, **kwargs), an unexpected crash turned into a message (NotImplementedError passes)."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001 - any crash in learner code is a verdict
        err = e  # fail outside the except block: no chained traceback for the learner
    checks.fail(f"{what} raised {type(err).__name__}: {err}", inputs=inputs, hint=hint)


raised = checks.raised  # the shared helper: NotImplementedError propagates, other crashes are returned


def expect_value_error(fn, what, *, must_contain=(), inputs=None, hint="", missing_hint=""):
    """fn() must raise ValueError whose message contains every string of must_contain."""
    err = raised(fn)
    if err is None:
        checks.fail(f"{what} must raise ValueError.", "it returned without an error",
                    inputs=inputs, hint=hint)
    if not isinstance(err, ValueError):
        checks.fail(f"{what} must raise ValueError.", f"it raised {type(err).__name__}: {err}",
                    inputs=inputs, hint=hint or "check the input yourself first and raise "
                                                "ValueError with a clear message")
    text = str(err)
    for piece in must_contain:
        found = (re.search(rf"(?<![\w.-]){re.escape(piece)}(?![\w.])", text) is not None
                 if re.fullmatch(r"-?\d+", piece) else piece in text)
        if not found:
            checks.fail(f"{what}: the ValueError's message must contain {piece!r}.",
                        f"the message was: {text!r}", inputs=inputs, hint=missing_hint)
    return err


def sinusoidal(max_seq_len: int, embed_dim: int) -> np.ndarray:
    """The float64 sin/cos table, one column at a time (the test's own oracle)."""
    table = np.zeros((max_seq_len, embed_dim))
    pos = np.arange(max_seq_len, dtype=F64)
    for j in range(embed_dim):
        two_i = j - j % 2
        angle = pos * 10000.0 ** (-two_i / embed_dim)
        table[:, j] = np.sin(angle) if j % 2 == 0 else np.cos(angle)
    return table


def scatter_add(shape, ids, grad) -> np.ndarray:
    """The gradient of a lookup, summed position by position with a Python loop."""
    out = np.zeros(shape)
    ids = np.asarray(ids).reshape(-1)
    rows = np.asarray(grad, dtype=F64).reshape(ids.size, shape[1])
    for k, v in enumerate(ids):
        out[v] += rows[k]
    return out


def scatter_assign(shape, ids, grad) -> np.ndarray:
    """The classic bug: a repeated id keeps one contribution (NumPy's buffered `dw[ids] += g`)."""
    out = np.zeros(shape)
    out[np.asarray(ids)] += np.asarray(grad, dtype=F64)
    return out
