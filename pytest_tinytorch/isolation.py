"""Global state restored around every graded test.

A learner bug that leaves global state behind (grad mode switched off after an exception,
a raised recursion limit, NumPy's error settings) must fail its own test only, not the
forty tests after it. Before each graded test the names bound in the learner's modules
and a few process-wide settings are recorded; afterwards they are put back.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager

import numpy as np

_MISSING = object()


def _learner_modules(served: dict[str, str]) -> list:
    return [m for name in served if (m := sys.modules.get(name)) is not None]


@contextmanager
def restored(served: dict[str, str]):
    """Record, run the test, then restore module globals and process settings."""
    modules = [(m, dict(vars(m))) for m in _learner_modules(served)]
    err = np.geterr()
    printing = np.get_printoptions()
    recursion = sys.getrecursionlimit()
    try:
        yield
    finally:
        for module, saved in modules:
            current = vars(module)
            for key in [k for k in current if k not in saved]:
                del current[key]
            for key, value in saved.items():
                if current.get(key, _MISSING) is not value:
                    current[key] = value
        np.seterr(**err)
        np.set_printoptions(**printing)
        sys.setrecursionlimit(recursion)
