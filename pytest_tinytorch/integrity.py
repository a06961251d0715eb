"""What judging depends on, recorded before learner code loads and verified afterwards.

A verdict is computed inside the process that runs the learner's code, so that code
could change how it is computed: replace pytest's runner or report classes, pluggy's
hook calls, the plugin's checks, the NumPy functions the checks use, hypothesis's
decorators or profile, builtins such as isinstance, or register a plugin of its own.
A snapshot of the identity of each of those is taken at start-up; any difference later
is tampering, and the kata it happened in fails (and is flagged in grading mode).
"""
from __future__ import annotations

import importlib
import sys

# module -> attribute paths whose identity must not change ("Class.attr" for methods).
WATCHED = {
    "builtins": ["isinstance", "issubclass", "type", "getattr", "setattr", "len", "bool", "float",
                 "int", "str", "repr", "iter", "next", "all", "any", "sum", "abs", "max", "min",
                 "sorted", "print", "open", "__import__"],
    "_pytest.python": ["Function.runtest", "Function.setup", "pytest_pyfunc_call", "Module.collect",
                       "Module._getobj"],
    "_pytest.runner": ["runtestprotocol", "call_and_report", "call_runtest_hook", "CallInfo.from_call",
                       "pytest_runtest_makereport", "pytest_runtest_protocol", "check_interactive_exception"],
    "_pytest.reports": ["TestReport.__init__", "TestReport.from_item_and_call", "BaseReport.passed",
                        "BaseReport.failed", "BaseReport.skipped", "BaseReport.longreprtext"],
    "_pytest.main": ["pytest_runtestloop", "Session.perform_collect"],
    "_pytest.outcomes": ["fail", "skip", "exit", "Failed", "Skipped"],
    "pytest": ["fail", "skip", "raises", "approx"],
    "pluggy._callers": ["_multicall"],
    "pluggy._hooks": ["HookCaller.__call__", "HookCaller._hookexec", "HookImpl.__init__"],
    "pluggy._manager": ["PluginManager._hookexec", "PluginManager.register"],
    "numpy": ["isclose", "allclose", "array_equal", "asarray", "array", "all", "any", "isfinite",
              "argwhere", "abs", "max", "min", "sum", "where", "shares_memory", "broadcast_shapes",
              "issubdtype", "ndarray", "generic", "dtype", "float32", "float64", "errstate", "seterr"],
    "numpy.testing": ["assert_allclose", "assert_array_equal"],
    "hypothesis": ["given", "example", "settings", "assume", "note", "seed"],
    "hypothesis.core": ["StateForActualGivenExecution.execute_once", "StateForActualGivenExecution.run_engine",
                        "given"],
    "hypothesis.strategies": ["composite", "floats", "integers", "sampled_from", "lists", "booleans", "data"],
    "hypothesis.extra.numpy": ["arrays", "array_shapes"],
    "pytest_tinytorch.checks": ["fail", "check_array", "check_shape", "check_close", "check_grad",
                                "assert_from_kata", "value_difference", "_as_array", "_raw", "raised",
                                "_matching_hint", "autograd_session", "autograd_snapshot", "autograd_restore"],
    "pytest_tinytorch.tally": ["Tally.add", "Tally.counts", "Tally.complete"],
    "pytest_tinytorch.guard": ["cpu_budget", "memory_budget", "guard_item", "RunawayCode"],
    "pytest_tinytorch.isolation": ["restored"],
    "pytest_tinytorch.worker": ["Worker.send", "Worker.pytest_runtest_logreport", "Worker.verify"],
    "sys": ["exit", "meta_path", "path_hooks", "settrace", "setprofile"],
}
_MISSING = object()


def _resolve(module: str, path: str):
    obj = sys.modules.get(module)
    if obj is None:
        return _MISSING
    for part in path.split("."):
        obj = vars(obj).get(part, _MISSING) if isinstance(obj, type) else getattr(obj, part, _MISSING)
        if obj is _MISSING:
            return _MISSING
    return obj


class Snapshot:
    """Identities of what judging depends on, plus state that must keep its value."""

    def __init__(self, pluginmanager=None, profile: str | None = None):
        self.entries = []  # (label, module, attribute path or "", object)
        for module, paths in WATCHED.items():
            self.entries.append((f"sys.modules[{module!r}]", module, "", _module(module)))
            self.entries += [(f"{module}.{path}", module, path, _resolve(module, path)) for path in paths]
        self.meta_path = list(sys.meta_path)
        self.profile = profile
        self.profile_fields = _profile_fields(profile) if profile else None
        self.pluginmanager = pluginmanager
        self.plugins = _plugins(pluginmanager)

    def changes(self) -> list[str]:
        """What differs from the snapshot, in words (an empty list if nothing)."""
        changed = [f"{label} was replaced" for label, module, path, obj in self.entries
                   if (sys.modules.get(module) if not path else _resolve(module, path)) is not obj]
        extra = [f for f in sys.meta_path if f not in self.meta_path]
        if extra:
            changed.append(f"an import hook was added to sys.meta_path: {type(extra[0]).__name__}")
        if self.profile and _profile_fields(self.profile) != self.profile_fields:
            changed.append(f"the hypothesis profile {self.profile!r} was re-registered")
        new = [p for p in _plugins(self.pluginmanager) if p not in self.plugins]
        if new:
            changed.append(f"a pytest plugin was registered: {new[0]}")
        return changed


def _module(name: str):
    return sys.modules.get(name) or importlib.import_module(name)


def _profile_fields(name: str) -> tuple:
    from hypothesis import settings

    try:
        p = settings.get_profile(name)
    except Exception:  # noqa: BLE001 - a profile that vanished is a change
        return ("missing",)
    return (p.max_examples, p.derandomize, p.database, tuple(p.phases), p.deadline,
            p.report_multiple_bugs, tuple(p.suppress_health_check))


def _plugins(pm) -> list[str]:
    if pm is None:
        return []
    return sorted(name for name, _ in pm.list_name_plugin() if name)


def current_profile_is(name: str) -> bool:
    from hypothesis import settings

    return settings.get_current_profile_name() == name


