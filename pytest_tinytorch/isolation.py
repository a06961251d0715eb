"""Global state restored around every graded test.

A learner bug that leaves global state behind (grad mode switched off after an exception,
a raised recursion limit, NumPy's error settings) must fail its own test only, not the
forty tests after it. Before each graded test the learner's modules are recorded (the
names they bind, the attributes of the classes they define, the contents of their
module-level lists, dicts and sets) with a few process-wide settings; afterwards all of
it is put back.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager

import numpy as np

_MISSING = object()
_CONTAINERS = (list, dict, set)


def _learner_modules(served: dict[str, str]) -> list:
    return [m for name in served if (m := sys.modules.get(name)) is not None]


def _record(module) -> tuple:
    names = dict(vars(module))
    classes = [(v, dict(vars(v))) for v in names.values()
               if isinstance(v, type) and v.__module__ == module.__name__]
    contents = [(v, v.copy()) for k, v in names.items()  # not __builtins__, which is a dict
                if type(v) in _CONTAINERS and not k.startswith("__")]
    return module, names, classes, contents


def _put_back(owner_dict_setter, current: dict, saved: dict) -> None:
    for key in [k for k in current if k not in saved]:
        owner_dict_setter(key, _MISSING)
    for key, value in saved.items():
        if current.get(key, _MISSING) is not value:
            owner_dict_setter(key, value)


def _restore(record: tuple) -> None:
    module, names, classes, contents = record
    space = vars(module)
    _put_back(lambda k, v: space.pop(k, None) if v is _MISSING else space.__setitem__(k, v), space, names)
    for cls, saved in classes:
        def set_attr(key, value, cls=cls):
            if value is _MISSING:
                delattr(cls, key)
            else:
                setattr(cls, key, value)
        _put_back(set_attr, dict(vars(cls)), saved)
    for container, saved in contents:  # refilled in place: other code holds references to it
        container.clear()
        container.extend(saved) if isinstance(container, list) else container.update(saved)


@contextmanager
def restored(served: dict[str, str]):
    """Record, run the test, then restore the learner's modules and process settings."""
    records = [_record(m) for m in _learner_modules(served)]
    err = np.geterr()
    printing = np.get_printoptions()
    recursion = sys.getrecursionlimit()
    try:
        yield
    finally:
        for record in records:
            _restore(record)
        np.seterr(**err)
        np.set_printoptions(**printing)
        sys.setrecursionlimit(recursion)
