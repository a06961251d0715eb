"""tinytorch: the framework you build, one kata at a time.

Each kata's files are linked here (e.g. tinytorch/core/tensor.py) when all of its tests
pass. `from tinytorch import Tensor` then works; a name whose kata is not done yet raises
an ImportError that says which kata provides it.
"""
from __future__ import annotations

import importlib
import importlib.abc
import sys

from pytest_tinytorch.curriculum import KATAS, kata_of_module, provider_of


class _MissingKataFinder(importlib.abc.MetaPathFinder):
    """Consulted last: turns 'No module named tinytorch.core.x' into which kata to finish."""

    def find_spec(self, fullname, path=None, target=None):
        found = kata_of_module(fullname)
        if found is None:
            return None
        kata, file = found
        raise ImportError(
            f"{fullname} comes from kata {kata.id}, which is not done yet: "
            f"fill in katas/{kata.id}/{file.name} and run `pytest katas/{kata.id}`.",
            name=fullname,
        )


if not any(isinstance(f, _MissingKataFinder) for f in sys.meta_path):
    sys.meta_path.append(_MissingKataFinder())

__all__ = sorted(name for k in KATAS for f in k.files for name in f.exports)


def __getattr__(name: str):
    found = provider_of(name)
    if found is None:
        raise AttributeError(f"module 'tinytorch' has no attribute {name!r}")
    kata, file = found
    module = importlib.import_module(file.module)  # raises the ImportError above if not done
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
