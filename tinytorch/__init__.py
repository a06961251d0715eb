"""tinytorch: the framework you build, one kata at a time.

Each kata's files are linked here (e.g. tinytorch/core/tensor.py) when all of its tests
pass. `from tinytorch import Tensor` then works; a name whose kata is not done yet raises
an ImportError that says which kata provides it. Once kata 06 is done, importing tinytorch
switches autograd on (quietly), as TinyTorch does; TINYTORCH_AUTOGRAD=off keeps it off.
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


def _switch_autograd_on() -> None:
    """Once kata 06 is linked, `import tinytorch` turns autograd on, as TinyTorch does, so
    a script can call `loss.backward()` right away. The grader sets TINYTORCH_AUTOGRAD=off:
    the hidden tests of katas 01-05 must see their classes unpatched."""
    import os
    from pathlib import Path

    if os.environ.get("TINYTORCH_AUTOGRAD", "").strip().lower() in ("off", "0", "false", "no"):
        return
    kata, file = kata_of_module("tinytorch.core.autograd")
    link = Path(__file__).parent.joinpath(*file.module.split(".")[1:]).with_suffix(".py")
    if not link.exists():  # kata 06 not done (or its link dangles): nothing to switch on
        return
    try:
        importlib.import_module(file.module).enable_autograd(quiet=True)
    except Exception as exc:  # noqa: BLE001 - a broken kata must not break `import tinytorch`
        import warnings
        warnings.warn(f"tinytorch: autograd stays off, kata {kata.id} could not switch it on "
                      f"({type(exc).__name__}: {exc})", stacklevel=2)


_switch_autograd_on()
del _switch_autograd_on
