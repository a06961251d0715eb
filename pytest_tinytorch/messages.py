"""The teaching form of failures that the hidden tests' own checks did not phrase.

A check in `checks` fails with a message in words. Everything else that can stop a test
(an exception raised by the learner's code or by a library it called, a stub's
NotImplementedError, runaway CPU, a huge allocation, a failed import) is explained here:
which property was being checked, on which input, what was raised, and the learner's
own lines. Frames of NumPy, hypothesis, pytest and this plugin are never shown.
"""
from __future__ import annotations

import os
import re
import textwrap
import traceback

from .curriculum import HIDDEN_TESTS, KATAS_DIR, ROOT

MAX_FRAMES = 3  # of the learner's own code, innermost last
MAX_INPUT_LINES = 12
MAX_LINE = 160

_LIBRARIES = {"numpy": "NumPy", "hypothesis": "hypothesis", "_pytest": "pytest",
              "pytest": "pytest", "pytest_tinytorch": "the grader"}


def is_learner_file(filename: str) -> bool:
    """A kata file the learner writes (any kata's), not a hidden test."""
    real = os.path.realpath(filename)
    return real.startswith(str(KATAS_DIR) + os.sep) and f"{os.sep}{HIDDEN_TESTS}{os.sep}" not in real


def is_hidden_test_file(filename: str) -> bool:
    real = os.path.realpath(filename)
    return real.startswith(str(KATAS_DIR) + os.sep) and f"{os.sep}{HIDDEN_TESTS}{os.sep}" in real


def _short(path: str) -> str:
    real = os.path.realpath(path)
    try:
        return os.path.relpath(real, ROOT) if real.startswith(str(ROOT) + os.sep) else path
    except ValueError:  # another drive (Windows)
        return path


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."


def format_frames(frames) -> str:
    lines = []
    for f in frames:
        lines.append(f"  {_short(f.filename)}:{f.lineno}, in {f.name}")
        if f.line:
            lines.append(f"      {_clip(f.line.strip())}")
    return "\n".join(lines) + ("\n" if lines else "")


def learner_frames(tb, limit: int = MAX_FRAMES) -> str:
    """The innermost few frames of a traceback that lie in the learner's kata files."""
    frames = [f for f in traceback.extract_tb(tb) if is_learner_file(f.filename)]
    return format_frames(frames[-limit:])


def exception_text(exc: BaseException, max_lines: int = 6) -> str:
    """`Type: message`, without the notes hypothesis attaches (the input is shown apart)."""
    lines = "".join(traceback.format_exception_only(type(exc), exc)).rstrip().splitlines()
    notes = sum(len(str(n).splitlines()) for n in getattr(exc, "__notes__", None) or ())
    if notes:
        lines = lines[:-notes]
    if len(lines) > max_lines:
        lines = lines[:max_lines] + ["..."]
    return "\n".join(_clip(line) for line in lines)


def property_of(item) -> str:
    """The property a test checks, in words: its docstring's first line, else its name."""
    func = getattr(item, "function", None)
    doc = (getattr(func, "__doc__", None) or "").strip()
    if doc:
        return doc.splitlines()[0].strip().rstrip(".")
    name = getattr(item, "originalname", None) or item.name.split("[")[0]
    words = name.removeprefix("test_").replace("_", " ")
    return words[:1].upper() + words[1:]


# hypothesis 6.170 writes "Failing test case: test_x(...)" / "Failing explicit example: ...";
# older versions wrote "Falsifying example: ...".
_FAILING = ("Failing test case", "Failing explicit example", "Falsifying")
_PREFIX = re.compile(r"^(?:Falsifying|Failing) (?:explicit example|example|test case): \w+\(\s*", re.S)


def falsifying_input(item, exc: BaseException | None = None) -> str:
    """The small input hypothesis failed on, as `name=value` lines (or '').

    hypothesis attaches it to the exception as a note, and to the item when it reports.
    """
    notes = [str(n) for n in getattr(exc, "__notes__", None) or ()]
    info = getattr(item, "hypothesis_report_information", "") or ""
    text = next((n for n in notes if n.startswith(_FAILING)), "")
    text = text or next((b for b in info.split("\n\n") if b.startswith(_FAILING)), "")
    if not text:
        return ""
    body = _PREFIX.sub("", text).rstrip()
    body = body[:-1].rstrip() if body.endswith(")") else body
    body = body.rstrip(",")
    lines = [line.rstrip() for line in body.splitlines() if line.strip()]
    rest = textwrap.dedent("\n".join(lines[1:])).splitlines() if len(lines) > 1 else []
    lines = [_clip(line) for line in lines[:1] + rest]
    if len(lines) > MAX_INPUT_LINES:
        lines = lines[:MAX_INPUT_LINES] + ["..."]
    return "\n".join("  " + line for line in lines)


def _library_of(filename: str, name: str) -> str:
    real = os.path.realpath(filename)
    for part in reversed(real.split(os.sep)[:-1]):
        if part in _LIBRARIES:
            return f"{_LIBRARIES[part]} ({name})"
    return f"{os.path.basename(filename)} ({name})"


def crash(item, excinfo) -> str:
    """An exception escaped while the test ran the learner's code."""
    exc = excinfo.value
    frames = traceback.extract_tb(excinfo.tb)
    mine = [i for i, f in enumerate(frames) if is_learner_file(f.filename)]
    lines = [f"{property_of(item)}: the test stopped with {type(exc).__name__}."]
    shown = falsifying_input(item, exc)
    if shown:
        lines += ["on this input:", shown]
    lines.append(exception_text(exc))
    if mine:
        last = mine[-1]
        if last == len(frames) - 1:
            lines.append("raised in your code:")
        else:
            inner = frames[last + 1]
            lines.append(f"raised inside {_library_of(inner.filename, inner.name)}, "
                         "called from your code:")
        lines.append(format_frames([frames[i] for i in mine][-MAX_FRAMES:]).rstrip())
        hint = ("hint: read the error and the line above; the test's input is shown, so you "
                "can reproduce it in a Python shell")
        if last != len(frames) - 1:
            hint = ("hint: the library rejected what your line passed it: print the shapes and "
                    "dtypes of its arguments for the input above")
        lines.append(hint)
    else:
        test_frames = [f for f in frames if is_hidden_test_file(f.filename)]
        if test_frames:
            lines.append("raised in the test, while it used what your code returned:")
            lines.append(format_frames(test_frames[-1:]).rstrip())
        lines.append("hint: check the type and shape of what your code returns for the input "
                     "above (see the kata README)")
    return "\n".join(lines)


MAX_SECTION = 4_000  # characters of captured output kept per test


def cap_sections(sections) -> list:
    """Captured output kept per test: enough to read, never 100 MB."""
    out = []
    for name, text in sections:
        if len(text) > MAX_SECTION:
            text = text[:MAX_SECTION] + f"\n... ({len(text) - MAX_SECTION} more characters not shown)"
        out.append((name, text))
    return out


def nondeterministic(item, excinfo) -> str:
    """hypothesis ran the same input twice and your code did not give the same result."""
    return (f"{property_of(item)}: your code gave different results for the same input in two "
            "calls, so no verdict is stable.\n"
            "hint: look for an unseeded random generator (np.random.default_rng() without a seed, "
            "random.random()), state kept between calls (a global, a class attribute, a cache), "
            "or an input your code modifies in place")


def not_started(excinfo) -> str:
    where = learner_frames(excinfo.tb, limit=1).strip()
    return (f"not started: {excinfo.value}" + (f"\n  {where.splitlines()[0].strip()}" if where else "")
            + "\nhint: replace the `raise NotImplementedError` with your implementation "
              "(see the kata README).")


def runaway(excinfo) -> str:
    """A RunawayCode failure: what happened and where it was stopped."""
    where = learner_frames(excinfo.tb)
    return f"{excinfo.value}\nIt was stopped here:\n{where}" if where else str(excinfo.value)


def memory(excinfo) -> str:
    """A MemoryError explained: which allocation, and that the test was bounded on purpose."""
    return (f"{excinfo.value or 'MemoryError'}\n{learner_frames(excinfo.tb)}"
            "Your code asked for far more memory than this test needs (a test may use a few "
            "GB at most): is a shape wrong, e.g. an outer product where an elementwise op "
            "was meant, or an array that grows in a loop?")


def import_problem(exc: BaseException, runaway_type: type) -> str:
    """A failed import of a hidden module, pointing at the learner's file, not at pytest."""
    import pytest

    cause = exc
    while True:
        nxt = getattr(cause, "__cause__", None) or getattr(cause, "__context__", None)
        if nxt is None:
            break
        cause = nxt
    if isinstance(exc, pytest.Collector.CollectError) and cause is exc:
        return f"Your kata code could not be imported:\n{exc}"
    where = learner_frames(cause.__traceback__)
    what = exception_text(cause)
    if isinstance(cause, SystemExit):
        what = f"sys.exit({cause.code!r}) was called while importing"
    elif isinstance(cause, runaway_type):
        what = str(cause)
    return ("Your kata code could not be imported, so none of this module's tests could run.\n"
            f"{where}{what}\n"
            "hint: fix the error above; code at module level runs on import, so keep "
            "experiments inside functions or under `if __name__ == \"__main__\":`.")
