"""Collecting a kata's hidden tests, and failing loudly where they cannot run.

`katas/NN_slug/` is collected by KataDirectory: the learner's own test files in the folder,
then the hidden modules in `.tests/`. A blocked kata yields one failing item naming the
missing prerequisites; a hidden module whose import fails (a syntax error in the kata
file, an exception or sys.exit at import, a loop at module level) yields one failing item
instead of aborting the whole run. Nothing here ever passes by default.
"""
from __future__ import annotations

import os

import pytest

from .curriculum import HIDDEN_TESTS, Kata, kata_of_path
from .guard import RunawayCode, cpu_budget, no_process_tricks
from .messages import import_problem

IMPORT_BUDGET = 10.0  # CPU seconds allowed for importing a hidden module and the kata code


class ProblemItem(pytest.Item):
    """A test that always fails with a prepared message (no traceback)."""

    def __init__(self, *, message: str, **kwargs):
        super().__init__(**kwargs)
        self.message = message

    def runtest(self):
        pytest.fail(self.message, pytrace=False)

    def reportinfo(self):
        return self.path, None, self.name


class KataDirectory(pytest.Directory):
    def __init__(self, *, kata: Kata, plan, **kwargs):
        super().__init__(**kwargs)
        self.kata = kata
        self.plan = plan

    def collect(self):
        why = self.plan.blocked.get(self.kata.id)
        if why:
            yield ProblemItem.from_parent(self, name="prerequisites", message=why)
            return
        ihook = self.ihook
        for entry in sorted(os.scandir(self.path), key=lambda e: e.name):
            if entry.is_file() and entry.name.startswith("test_") and entry.name.endswith(".py"):
                yield from ihook.pytest_collect_file(file_path=self.path / entry.name, parent=self)
        if not any(self.kata.tests_dir.glob("test_*.py")):
            yield ProblemItem.from_parent(
                self, name="hidden-tests",
                message=f"No hidden tests were found in katas/{self.kata.id}/{HIDDEN_TESTS}/. "
                        f"Restore the folder from the repository (git checkout -- katas/{self.kata.id}).")
            return
        yield HiddenTests.from_parent(self, path=self.kata.tests_dir)


class HiddenTests(pytest.Directory):
    """The kata's `.tests/` folder: a node of its own so `pytest katas/NN/.tests/x.py` works."""

    def collect(self):
        for path in sorted(self.path.glob("test_*.py")):
            yield KataModule.from_parent(self, path=path)


class KataModule(pytest.Module):
    """A hidden test module (or a milestone): a failed import becomes one failing item.

    A kata's failed import is remembered for the rest of the run: its other modules fail
    at once with the same message instead of spending the same endless loop again.
    """

    problem = ""  # set for a locked milestone: collect one failing item, import nothing
    failed_imports: dict[str, str] = {}  # kata id (or milestone file) -> the message

    def collect(self):
        if self.problem:
            return [ProblemItem.from_parent(self, name="locked", message=self.problem)]
        kata = kata_of_path(self.path)
        key = kata.id if kata is not None else str(self.path)
        if key in self.failed_imports:
            return [ProblemItem.from_parent(self, name="import", message=self.failed_imports[key])]
        try:
            with cpu_budget(IMPORT_BUDGET, "Importing your kata code"), no_process_tricks():
                return list(super().collect())
        except (KeyboardInterrupt, pytest.exit.Exception):
            raise
        except BaseException as exc:  # SystemExit, RunawayCode, SyntaxError, anything
            message = import_problem(exc, RunawayCode)
            self.failed_imports[key] = message
            return [ProblemItem.from_parent(self, name="import", message=message)]


def collect_directory(path, parent, plan):
    """pytest_collect_directory for kata folders; None elsewhere."""
    kata = kata_of_path(path)
    if kata is None or path.resolve() != kata.path.resolve() or not kata.written:
        return None
    return KataDirectory.from_parent(parent, path=path, kata=kata, plan=plan)
