"""Shared by the kata 03 tests: crash-to-message calls, a spy on Tensor methods, and the
parameter-list check that names the mistake it sees."""
from __future__ import annotations

import contextlib

import numpy as np

from pytest_tinytorch import checks

AUTOGRAD_HINT = (
    "kata 06 autograd records Tensor operations (@, +, * on Tensors) to compute gradients; "
    "a result rebuilt from .data with NumPy is invisible to kata 06 autograd, so the "
    "layer (and every layer before it) would never learn")
MISSING = object()


def call(layer, x, what, inputs=None, hint="", **kwargs):
    """layer(x, **kwargs), turning an unexpected crash into a message (NotImplementedError passes)."""
    try:
        return layer(x, **kwargs)
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001 - any crash becomes a teaching message
        err = e  # fail outside the except block: no chained traceback for the learner
    checks.fail(f"{what} raised {type(err).__name__}: {err}", inputs=inputs, hint=hint)


def build(factory, what, hint=""):
    """factory(), turning an unexpected crash into a message (NotImplementedError passes)."""
    try:
        return factory()
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001
        err = e
    checks.fail(f"{what} raised {type(err).__name__}: {err}", hint=hint)


@contextlib.contextmanager
def spy(cls, names):
    """Temporarily wrap methods of `cls` to record (name, self, args) of every call."""
    calls, saved = [], []

    def wrap(name, func):
        def wrapper(self, *args, **kwargs):
            calls.append((name, self, args))
            return func(self, *args, **kwargs)
        return wrapper

    try:
        for name in names:
            func = getattr(cls, name, None)
            if not callable(func):
                continue
            saved.append((name, cls.__dict__.get(name), name in cls.__dict__))
            setattr(cls, name, wrap(name, func))
        yield calls
    finally:
        for name, original, own in reversed(saved):
            if own:
                setattr(cls, name, original)
            else:
                delattr(cls, name)


def involves(calls, names, obj):
    return any(n in names and (s is obj or any(a is obj for a in args)) for n, s, args in calls)


def _names(params, named):
    return [named.get(id(p), f"<unknown {type(p).__name__}>") for p in params]


def _same(a, b):
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def check_params(got, expected, named, what, hint, wrong=()):
    """got must be a list holding exactly the `expected` Tensors, by identity, in order.

    `wrong` lists (list of Tensors, hint) for known wrong walks, matched by identity.
    """
    if not isinstance(got, list):
        checks.fail(f"{what} must return a list.", f"got {type(got).__name__}", hint=hint)
    if _same(got, expected):
        return
    detail = f"got      {_names(got, named)}\nexpected {_names(expected, named)}"
    if len({id(p) for p in got}) < len(got):
        why = ("a Tensor appears twice: every parameter must be listed once, even when the "
               "same layer or Tensor is used twice (deduplicate by identity)")
    else:
        why = next((h for cand, h in wrong if _same(got, cand)), "")
        lost = [p for p in expected if not any(p is g for g in got)]
        if not why and lost and all(any(np.array_equal(np.asarray(p.data), np.asarray(g.data))
                                        and p.data.shape == g.data.shape for g in got) for p in lost):
            why = (f"{', '.join(_names(lost, named))} is missing although it is a Tensor of its "
                   f"own: it only has the same values as one already listed. Deduplicate by "
                   f"identity (id(t) or `is`), never by value (==, np.array_equal)")
    checks.fail(f"{what} lists the wrong Tensors.", detail, hint=why or hint)


def check_unchanged(x, original, what, inputs):
    if not np.array_equal(x, original):
        checks.fail(f"{what} must not modify its input x.",
                    f"x before: {checks.fmt(original)}\nx after:  {checks.fmt(x)}", inputs=inputs,
                    hint="build and return a new Tensor; never write into x.data in place")


def set_bias(layer, b):
    layer.bias.data[...] = b
    return layer


def modes(layers: dict) -> str:
    return ", ".join(f"{n}: {getattr(l, 'training', '<no training attribute>')}"
                     for n, l in layers.items())


def raised(func, *args, **kwargs):
    """(result, None) or (None, the exception); NotImplementedError passes (not started)."""
    try:
        return func(*args, **kwargs), None
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001
        return None, e
