"""Results for machines: one JSON file per run (`--tinytorch-json PATH`).

One record per test (kata, milestone, outcome, duration, message, file and line) plus a
status per kata and per milestone with whole-number points. Points come from this run
only, never from the progress file a learner can write: a kata earns its points when
every one of its hidden tests passed in this run (and the katas it needs did too), a
milestone when it passed in this run. `max_points` counts what is written; katas and
milestones not written yet are listed as such. Grader adapters (GitHub Classroom,
Gradescope) build on this file.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from . import state
from .curriculum import KATAS, MILESTONES
from .report import kata_status, milestone_status
from .tally import NOT_STARTED, PASSED

SCHEMA = 2


def run_status(tally, kata_id: str, ran: bool, done: bool) -> str:
    if not ran:
        return "not run"
    if done:
        return "done"
    recs = tally.of_kata(kata_id)
    if any(r.nodeid.endswith("::prerequisites") for r in recs):
        return "blocked"
    if recs and all(r.outcome == NOT_STARTED for r in recs):
        return "not started"
    return "failing"


def kata_points(kata, status: str, passed: int, total: int, partial: bool) -> int:
    if status == "done":
        return kata.points
    if partial and total and status in ("failing", "not started"):
        return int(kata.points * passed // total)  # whole points, rounded down
    return 0


def build(tally, exitstatus: int, *, katas_run, done, milestones_run, milestones_passed,
            data: dict | None = None, findings: dict | None = None, mode: str = "learning",
            trusted: bool = False, partial: bool = False, seconds: float | None = None) -> dict:
    findings = findings or {}
    katas = {}
    for k in KATAS:
        passed, total, not_started = tally.counts(k.id)
        status = run_status(tally, k.id, k.id in katas_run, k.id in done) if k.written else "not written"
        katas[k.id] = {
            "title": k.title, "tier": k.tier, "written": k.written, "status": status,
            "progress": kata_status(k, data)[0] if data is not None else None,
            "passed": passed, "total": total, "not_started": not_started,
            "points": kata_points(k, status, passed, total, partial) if k.written else 0,
            "max_points": k.points if k.written else 0, "flags": findings.get(k.id, []),
        }
    milestones = {}
    for m in MILESTONES:
        if not m.written:
            status = "not written"
        elif m.name not in milestones_run:
            status = "not run"
        else:
            status = "passed" if m.name in milestones_passed else "failed"
        milestones[m.name] = {"year": m.year, "written": m.written, "status": status,
                              "progress": milestone_status(m, data)[0] if data is not None else None,
                              "points": m.points if status == "passed" else 0,
                              "max_points": m.points if m.written else 0}
    points = sum(v["points"] for v in katas.values()) + sum(v["points"] for v in milestones.values())
    max_points = sum(v["max_points"] for v in katas.values()) + sum(v["max_points"] for v in milestones.values())
    return {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": mode, "trusted": trusted, "partial_credit": partial,
        "exit_status": int(exitstatus),
        "seconds": round(seconds, 2) if seconds is not None else None,
        "points": points, "max_points": max_points,
        "not_written": [k.id for k in KATAS if not k.written] + [m.name for m in MILESTONES if not m.written],
        "katas": katas, "milestones": milestones,
        "tests": [asdict(r) for r in sorted(tally.records.values(), key=lambda r: r.nodeid)],
    }


def passed_all(tally, prefix: str) -> bool:
    recs = [r for r in tally.records.values() if r.nodeid.startswith(prefix)]
    return bool(recs) and all(r.outcome == PASSED for r in recs)


def write(path: str | Path, payload: dict) -> None:
    state.write_atomic(Path(path), json.dumps(payload, indent=2) + "\n")
