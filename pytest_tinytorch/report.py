"""What the learner reads: the progress table and the teaching form of failures."""
from __future__ import annotations

import io
import os
import traceback

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import state
from .curriculum import KATAS, KATAS_DIR, MILESTONES, TIERS, closure

STYLE = {"done": "bold green", "failing": "yellow", "not started": "dim", "blocked": "red",
         "coming": "dim italic", "changed": "magenta", "unlocked": "cyan", "locked": "red",
         "passed": "bold green"}


def kata_status(kata, data: dict) -> tuple[str, str]:
    """(status, detail) of a kata for the table, from the progress file and its files."""
    if not kata.written:
        return "coming", ""
    if state.is_green(kata, data):
        return "done", ""
    if state.changed_since_green(kata, data):
        return "changed", f"edited after going green: run pytest katas/{kata.id}"
    missing = [p.id for p in closure(kata.requires) if p.id != kata.id and not state.is_green(p, data)]
    rec = data["katas"].get(kata.id)
    if missing and not (rec and rec.get("passed")):
        return "blocked", _needs(missing)
    if not rec:
        return "not started", ""
    passed, total, fresh = rec.get("passed", 0), rec.get("total", 0), rec.get("not_started", 0)
    if passed == 0 and fresh == total:
        return "not started", f"0 of {total}"
    detail = f"{passed} of {total}"
    if missing:
        detail += ", waiting for " + ", ".join(missing)
    return "failing", detail


def _needs(missing: list[str]) -> str:
    more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
    return f"needs {missing[0]}{more}"


def milestone_status(m, data: dict) -> tuple[str, str]:
    if not m.written:
        return "coming", ""
    missing = [k.id for k in closure(m.requires) if not state.is_green(k, data)]
    if missing:
        return "locked", _needs(missing)
    if data["milestones"].get(m.name, {}).get("status") == "passed":
        return "passed", ""
    return "unlocked", f"pytest --milestone={m.name}"


def progress_table(data: dict) -> Table:
    table = Table(title="tinytorch progress", box=box.SIMPLE_HEAD, title_justify="left",
                  show_edge=False, pad_edge=False)
    table.add_column("#", justify="right")
    table.add_column("kata / milestone")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    table.add_column("points", justify="right")
    for tier in TIERS:
        katas = [k for k in KATAS if k.tier == tier]
        done = sum(1 for k in katas if state.is_green(k, data))
        table.add_row("", Text(f"{tier} ({done}/{len(katas)})", style="bold"), "", "", "")
        for k in katas:
            status, detail = kata_status(k, data)
            pts = f"{k.points if status == 'done' else 0}/{k.points}"
            table.add_row(f"{k.number:02d}", k.title, Text(status, style=STYLE[status]), detail, pts)
    table.add_row("", Text("Milestones", style="bold"), "", "", "")
    for m in MILESTONES:
        status, detail = milestone_status(m, data)
        pts = f"{m.points if status == 'passed' else 0}/{m.points}"
        table.add_row(str(m.year), m.name, Text(status, style=STYLE[status]), detail or m.title, pts)
    return table


def next_step(data: dict) -> str:
    for k in KATAS:
        if k.written and not state.is_green(k, data):
            files = ", ".join(f"katas/{k.id}/{f.name}" for f in k.files)
            return f"Next: {k.id}: read katas/{k.id}/README.md, fill in {files}, run pytest katas/{k.id}"
    unlocked = [m.name for m in MILESTONES if milestone_status(m, data)[0] == "unlocked"]
    if unlocked:
        return f"Next: a milestone is waiting: pytest --milestone={unlocked[0]}"
    return "Every written kata is done."


def render(renderable, width: int = 100, color: bool = False) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=max(width, 60), force_terminal=color,
                      color_system="standard" if color else None, no_color=not color,
                      highlight=False, soft_wrap=False)
    console.print(renderable)
    return buf.getvalue()


def runaway_message(excinfo) -> str:
    """The teaching form of a RunawayCode failure: what happened and where it was stopped."""
    where = learner_frames(excinfo.tb)
    return f"{excinfo.value}\nIt was stopped here:\n{where}" if where else str(excinfo.value)


def memory_message(excinfo) -> str:
    """A MemoryError explained: which allocation, and that the test was bounded on purpose."""
    return (f"{excinfo.value or 'MemoryError'}\n{learner_frames(excinfo.tb)}"
            "Your code asked for far more memory than this test needs (a test may use a few "
            "GB at most): is a shape wrong, e.g. an outer product where an elementwise op "
            "was meant, or an array that grows in a loop?")


def learner_frames(tb) -> str:
    """The last few frames of a traceback that lie in the learner's kata files."""
    frames = [f for f in traceback.extract_tb(tb)
              if os.path.realpath(f.filename).startswith(str(KATAS_DIR)) and "/.tests/" not in f.filename]
    return "".join(traceback.format_list(frames[-3:]))


def not_started_message(excinfo) -> str:
    return (f"not started: {excinfo.value}\n"
            "hint: replace the `raise NotImplementedError` with your implementation "
            "(see the kata README).")
