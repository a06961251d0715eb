"""What the learner reads at the end of a run: the progress table and the next step.

The table is compact (rustlings is the model): the tier being worked on is expanded,
other tiers are one line each, katas not written yet are collapsed, and it reads at 80
columns and degrades at 40. rich is imported only when something is drawn.
"""
from __future__ import annotations

import io

from . import state
from .curriculum import KATAS, MILESTONES, TIERS, closure

STYLE = {"done": "bold green", "failing": "yellow", "not started": "dim", "blocked": "red",
         "coming": "dim italic", "changed": "magenta", "unlocked": "cyan", "locked": "red",
         "passed": "bold green"}
NARROW = 60  # below this width the detail column is dropped


def kata_numbers(ids) -> str:
    """Kata numbers with runs as ranges ('01-04, 06'): short enough for a table cell."""
    nums = sorted(int(i[:2]) for i in ids)
    runs: list[list[int]] = []
    for n in nums:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]:02d}-{r[-1]:02d}" if len(r) > 2 else ", ".join(f"{n:02d}" for n in r)
                     for r in runs)


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
        return "blocked", f"needs {kata_numbers(missing)}"
    if not rec:
        return "not started", ""
    passed, total, fresh = rec.get("passed", 0), rec.get("total", 0), rec.get("not_started", 0)
    if passed == 0 and fresh == total:
        return "not started", f"0 of {total}"
    detail = f"{passed} of {total} pass"
    if missing:
        detail += f", waiting for {kata_numbers(missing)}"
    return "failing", detail


def milestone_status(m, data: dict) -> tuple[str, str]:
    if not m.written:
        return "coming", ""
    missing = [k.id for k in closure(m.requires) if not state.is_green(k, data)]
    if missing:
        return "locked", f"needs {kata_numbers(missing)}"
    if data["milestones"].get(m.name, {}).get("status") == "passed":
        return "passed", ""
    return "unlocked", f"pytest --milestone={m.name}"


def current_tier(data: dict) -> str:
    """The tier of the first written kata that is not done (the last tier when all are)."""
    for k in KATAS:
        if k.written and not state.is_green(k, data):
            return k.tier
    written = [k.tier for k in KATAS if k.written]
    return written[-1] if written else TIERS[0]


def _points(items, status_of, data) -> tuple[int, int]:
    got = total = 0
    for item, winning in items:
        if item.written:
            total += item.points
            got += item.points if status_of(item, data)[0] == winning else 0
    return got, total


def progress_table(data: dict, width: int = 80, quiet: bool = False):
    from rich import box
    from rich.table import Table
    from rich.text import Text

    wide = width >= NARROW
    k_got, k_total = _points([(k, "done") for k in KATAS], kata_status, data)
    m_got, m_total = _points([(m, "passed") for m in MILESTONES], milestone_status, data)
    table = Table(title=f"tinytorch progress: {k_got + m_got}/{k_total + m_total} points", box=box.SIMPLE_HEAD,
                  title_justify="left", show_edge=False, pad_edge=False, show_header=not quiet)
    table.add_column("#", justify="right")
    table.add_column("kata")
    table.add_column("status", no_wrap=True)
    if wide:
        table.add_column("detail", overflow="fold")
    table.add_column("points", justify="right")

    def row(num, name, status, detail, pts, style=""):
        cells = [num, Text(name, style=style), Text(status, style=STYLE.get(status, ""))]
        if wide:
            cells.append(detail)
        table.add_row(*cells, pts)

    working = current_tier(data)
    for tier in TIERS:
        katas = [k for k in KATAS if k.tier == tier]
        written = [k for k in katas if k.written]
        done = sum(1 for k in written if state.is_green(k, data))
        t_got, t_total = _points([(k, "done") for k in katas], kata_status, data)
        coming = len(katas) - len(written)
        if tier != working or quiet:
            summary = (f"{done}/{len(written)} done" if written else "")
            if coming:
                summary += (", " if summary else "") + f"{coming} coming"
            row("", tier, "", summary, f"{t_got}/{t_total}" if t_total else "", style="bold")
            continue
        row("", tier, "", f"{done}/{len(written)} done", f"{t_got}/{t_total}", style="bold")
        for k in written:
            status, detail = kata_status(k, data)
            row(f"{k.number:02d}", k.title, status, detail, f"{k.points if status == 'done' else 0}/{k.points}")
        if coming:
            ids = [k.id for k in katas if not k.written]
            row(kata_numbers(ids), f"{coming} more", "coming", "", "")
    written = [m for m in MILESTONES if m.written]
    if quiet:
        passed = sum(1 for m in written if milestone_status(m, data)[0] == "passed")
        row("", "Milestones", "", f"{passed}/{len(written)} passed", f"{m_got}/{m_total}", style="bold")
        return table
    row("", "Milestones", "", "", f"{m_got}/{m_total}", style="bold")
    for m in written:
        status, detail = milestone_status(m, data)
        row(str(m.year), m.name, status, detail or m.title, f"{m.points if status == 'passed' else 0}/{m.points}")
    later = [m.name for m in MILESTONES if not m.written]
    if later:
        row("", f"{len(later)} more", "coming", ", ".join(later), "")
    return table


def next_step(data: dict) -> str:
    """One line: the command to run next (and an unlocked milestone, when one waits)."""
    waiting = [m.name for m in MILESTONES if milestone_status(m, data)[0] == "unlocked"]
    milestone = f"pytest --milestone={waiting[0]} (unlocked)" if waiting else ""
    for k in KATAS:
        if k.written and not state.is_green(k, data):
            if state.changed_since_green(k, data):
                what = "edited since it went green: run it again"
            else:
                what = f"read its README.md, fill in {', '.join(f.name for f in k.files)}"
            if milestone:
                return f"Next: {milestone}, then pytest katas/{k.id}"
            return f"Next: pytest katas/{k.id}  ({what})"
    if milestone:
        return f"Next: {milestone}"
    if all(k.written for k in KATAS) and all(m.written for m in MILESTONES):
        return "Next: nothing: every kata and milestone is done. You built tinytorch."
    return "Next: every written kata and milestone is done; more katas are coming."


def render(renderable, width: int = 80, color: bool = False) -> str:
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=max(width, 40), force_terminal=color,
                      color_system="standard" if color else None, no_color=not color,
                      highlight=False, soft_wrap=False)
    console.print(renderable)
    return buf.getvalue()
