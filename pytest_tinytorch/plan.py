"""What one run may do, decided once on the controller and shipped to xdist workers.

Collection must be identical in every worker, so nothing a worker collects may depend on
state that can change during the run (the progress file). The controller reads it once,
decides which katas are selected, which are blocked and which milestones are locked, and
sends this plan to the workers as JSON.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

from . import profiles, state
from .curriculum import (BY_ID, KATAS, KATAS_DIR, MILESTONES_BY_NAME, MILESTONES_DIR, ROOT,
                         closure, kata_of_path)

# Options that select part of a kata: a run with any of them never marks a kata done.
PARTIAL_OPTIONS = {"keyword": "-k", "markexpr": "-m", "deselect": "--deselect", "lf": "--lf",
                   "last_failed": "--lf", "stepwise": "--sw", "stepwise_skip": "--sw-skip"}


@dataclass
class Plan:
    args: list[str]  # what pytest collects (rewritten for --milestone and bare `pytest`)
    whole: list[str] = field(default_factory=list)  # katas selected in full
    partial: list[str] = field(default_factory=list)  # katas touched by a narrower selection
    blocked: dict[str, str] = field(default_factory=dict)  # kata -> why it cannot run
    serve: dict[str, str] = field(default_factory=dict)  # module -> kata file to import it from
    milestones: list[str] = field(default_factory=list)  # milestone run: names selected
    locked: dict[str, str] = field(default_factory=dict)  # milestone -> why it is locked
    chosen: str = ""  # set when bare `pytest` picked the next kata
    narrowed: str = ""  # why katas run in part are not recorded ("-k", "a single file", ...)
    notes: list[str] = field(default_factory=list)  # warnings for the learner

    def dumps(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def loads(cls, text: str) -> "Plan":
        return cls(**json.loads(text))

    @property
    def active(self) -> bool:
        return bool(self.whole or self.partial or self.milestones or self.blocked)


def run_command(kata_id: str) -> str:
    return f"pytest katas/{kata_id}"


def next_kata(data: dict) -> str | None:
    """The first written kata that is not green: where a learner continues."""
    for kata in KATAS:
        if kata.written and not state.is_green(kata, data):
            return kata.id
    return None


def _why_not_green(kid: str, data: dict) -> str:
    if state.changed_since_green(BY_ID[kid], data):
        return f"{kid} (changed since it went green)"
    return f"{kid} (not done yet)"


def _select(args: list[str], invocation_dir: Path) -> tuple[set[str], set[str]]:
    """Katas touched by the command-line paths: (selected whole, selected in part)."""
    whole, partial = set(), set()
    for arg in args:
        text, _, rest = arg.partition("::")
        path = (invocation_dir / text).resolve()
        kata = kata_of_path(path)
        if kata is not None:
            (whole if path == kata.path.resolve() and not rest else partial).add(kata.id)
        elif path in (ROOT, KATAS_DIR) or KATAS_DIR.is_relative_to(path):
            whole.update(k.id for k in KATAS if k.written)
    return {k for k in whole if BY_ID[k].written}, {k for k in partial if BY_ID[k].written} - whole


def _narrowing_option(config) -> str:
    """The option that makes this whole run unable to record a kata ('' if none)."""
    for opt, flag in PARTIAL_OPTIONS.items():
        if config.getoption(opt, None):
            return flag
    if not profiles.records(config):
        return "--hypothesis-profile (only the grading profile records a kata)"
    return ""


def _redirect_blocked(args: list[str], invocation_dir: Path, blocked: dict[str, str]) -> list[str]:
    """A file or test id inside a blocked kata runs as the whole kata, which then shows
    its prerequisites (as an IDE runs one test, it must not just say 'not found')."""
    out = []
    for arg in args:
        kata = kata_of_path((invocation_dir / arg.partition("::")[0]).resolve())
        target = str(kata.path) if kata is not None and kata.id in blocked else arg
        if target not in out:
            out.append(target)
    return out


def make_plan(config, data: dict | None = None) -> Plan:
    """The plan of this run; `data` replaces the progress file (a supervised worker is
    told which katas passed earlier in the same run, and reads nothing from disk)."""
    warning = None
    if data is None:
        data, warning = state.load()
    notes = [warning] if warning else []
    args = list(config.args)
    invocation_dir = Path(config.invocation_params.dir)
    milestone = config.getoption("tinytorch_milestone", None)
    if milestone:
        names = list(MILESTONES_BY_NAME) if milestone == "all" else [milestone]
        args = [str(MILESTONES_BY_NAME[n].path) for n in names if MILESTONES_BY_NAME[n].written]
        if not args:
            raise pytest.UsageError(f"milestone {milestone!r} is declared in the curriculum but not "
                                    "written yet (it shows as 'coming' in pytest --tinytorch-progress)")
    chosen = ""
    if not milestone and config.args_source.name == "INVOCATION_DIR" and invocation_dir.resolve() == ROOT:
        chosen = next_kata(data) or ""
        args = [str(BY_ID[chosen].path)] if chosen else [str(KATAS_DIR)]
    whole, partial = _select(args, invocation_dir)
    option = _narrowing_option(config)
    if option:
        whole, partial = set(), whole | partial
    narrowed = option or ("a file or test id" if partial else "")
    selected = whole | partial
    plan = Plan(args=args, chosen=chosen, notes=notes, milestones=_milestones(args, invocation_dir),
                whole=[k.id for k in KATAS if k.id in whole],
                partial=[k.id for k in KATAS if k.id in partial], narrowed=narrowed)
    for kid in plan.whole + plan.partial:
        missing = [p.id for p in closure(BY_ID[kid].requires)
                   if p.id != kid and p.id not in selected and not state.is_green(p, data)]
        if missing:
            plan.blocked[kid] = missing_message(f"Kata {kid}", missing, data)
    for name in plan.milestones:  # milestones use green katas only, never provisional ones
        missing = [k.id for k in closure(MILESTONES_BY_NAME[name].requires) if not state.is_green(k, data)]
        if missing:
            plan.locked[name] = missing_message(f"Milestone {name!r}", missing, data)
    plan.args = _redirect_blocked(plan.args, invocation_dir, plan.blocked)
    runnable = [k for k in selected if k not in plan.blocked]
    green = [k.id for k in KATAS if state.is_green(k, data)]
    _serve(plan, green + runnable)
    return plan


def _milestones(args: list[str], invocation_dir: Path) -> list[str]:
    """Milestones whose file, or the milestones folder itself, is on the command line."""
    paths = {(invocation_dir / a.partition("::")[0]).resolve() for a in args}
    return [m.name for m in MILESTONES_BY_NAME.values()
            if m.written and (m.path in paths or MILESTONES_DIR in paths)]


def missing_message(what: str, missing: list[str], data: dict) -> str:
    listing = ", ".join(_why_not_green(k, data) for k in missing)
    command = "pytest " + " ".join(f"katas/{k}" for k in missing)
    return (f"{what} needs {listing}.\n"
            f"Finish those first, then run this again. Run: {command}")


def _serve(plan: Plan, kata_ids) -> None:
    for kid in kata_ids:
        for f in BY_ID[kid].files:
            plan.serve[f.module] = str(BY_ID[kid].path / f.name)
