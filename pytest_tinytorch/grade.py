"""Results for machines: one JSON file per run (`--tinytorch-json PATH`).

One record per test (kata, milestone, outcome, duration, message, file and line) plus a
status per kata and per milestone with whole-number points. Grader adapters (GitHub
Classroom, Gradescope) build on this file.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from . import state
from .curriculum import KATAS, MILESTONES
from .report import kata_status, milestone_status

SCHEMA = 1


def results(tally, data: dict, plan, exitstatus: int) -> dict:
    katas = {}
    for k in KATAS:
        status, detail = kata_status(k, data)
        passed, total, not_started = tally.counts(k.id)
        katas[k.id] = {
            "title": k.title, "tier": k.tier, "status": status, "detail": detail,
            "selected": k.id in plan.whole + plan.partial,
            "passed": passed, "total": total, "not_started": not_started,
            "points": k.points if status == "done" else 0, "max_points": k.points,
        }
    milestones = {}
    for m in MILESTONES:
        status, detail = milestone_status(m, data)
        milestones[m.name] = {"year": m.year, "status": status, "detail": detail,
                              "selected": m.name in plan.milestones,
                              "points": m.points if status == "passed" else 0,
                              "max_points": m.points}
    points = sum(v["points"] for v in katas.values()) + sum(v["points"] for v in milestones.values())
    max_points = sum(k.points for k in KATAS) + sum(m.points for m in MILESTONES)
    return {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "exit_status": int(exitstatus),
        "points": points, "max_points": max_points,
        "katas": katas, "milestones": milestones,
        "tests": [asdict(r) for r in sorted(tally.records.values(), key=lambda r: r.nodeid)],
    }


def write(path: str | Path, payload: dict) -> None:
    state.write_atomic(Path(path), json.dumps(payload, indent=2) + "\n")
