"""`python -m pytest_tinytorch grade STUDENT_REPO`: a grade that can be trusted.

A grade is computed only from a run, never from a file a student can write. The student's
repository contributes exactly the learner files the curriculum names (the kata stubs);
they are copied into a fresh copy of the pristine template (a folder made by `release`,
or this repository released on the fly), and every written kata and milestone runs there
in one supervised run (`supervise`: katas before milestones, a milestone counts only if it
passed in that run). Whatever else the student changed or added (edited hidden tests, a
conftest.py inside a kata, an edited workflow, a committed progress file) is reported as
tampering and cannot affect the grade. A kata file that imports another ML framework
scores 0. A per-student wall-clock limit guarantees the grade is always written.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import audit, results
from .curriculum import BY_ID, KATAS, ROOT
from .release import MANIFEST_NAME, learner_files, release, sha256
from .tally import Tally

STUDENT_LIMIT = 1200.0  # wall-clock seconds for one student's whole grading run
SUSPICIOUS_NAMES = ("conftest.py", "sitecustomize.py", "usercustomize.py", "pytest.ini", "tox.ini",
                    "setup.cfg")


def tampering(student: Path, manifest: dict) -> list[str]:
    """Protected files that differ from the manifest, and files added where they do not belong."""
    found = []
    for rel, digest in sorted(manifest.get("protected", {}).items()):
        path = student / rel
        if not path.is_file():
            found.append(f"removed: {rel}")
        elif sha256(path) != digest:
            found.append(f"edited: {rel}")
    for path in sorted(student.rglob("*")):
        rel = str(path.relative_to(student))
        if any(part in (".git", ".venv", "node_modules") for part in path.parts):
            continue
        if path.is_file() and path.name in SUSPICIOUS_NAMES and rel not in manifest.get("protected", {}):
            found.append(f"added: {rel} (it would reconfigure or run inside the grader)")
        elif path.is_file() and "/.tests/" in f"/{rel}" and rel not in manifest.get("protected", {}):
            found.append(f"added: {rel} (a hidden-test folder is not the learner's)")
    if (student / ".tinytorch" / "progress.json").is_file():
        found.append("present: .tinytorch/progress.json (progress files are never read for a grade)")
    return found


def _template(template: Path | None, scratch: Path) -> Path:
    """A released template: the folder given, or this repository released into `scratch`."""
    if template is not None and (Path(template) / MANIFEST_NAME).is_file():
        return Path(template)
    if template is not None and Path(template).resolve() != ROOT:
        raise SystemExit(f"grade: {template} is not a released template (no {MANIFEST_NAME}); "
                         "make one with `python -m pytest_tinytorch release DEST`")
    return release_once(scratch / "template")


def release_once(dest: Path) -> Path:
    if not dest.exists():
        release(dest)
    return dest


def grade_repo(student: Path, template: Path | None = None, *, limit: float = STUDENT_LIMIT,
               partial: bool = False, audit_mode: str = "flag", scratch: Path | None = None) -> dict:
    """Grade one student repository; always returns a complete result dict."""
    student = Path(student).resolve()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tinytorch-grade-") as tmp:
        tmp = Path(tmp)
        source = _template(template, scratch or tmp)
        manifest = json.loads((source / MANIFEST_NAME).read_text(encoding="utf-8"))
        work = tmp / "work"
        shutil.copytree(source, work, symlinks=False)
        copied = []
        for rel in manifest.get("learner_files", learner_files()):
            if (student / rel).is_file():
                shutil.copyfile(student / rel, work / rel)
                copied.append(rel)
        out = tmp / "results.json"
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--color=no", "--tinytorch-grade",
               f"--tinytorch-json={out}", f"--tinytorch-audit={audit_mode}", "katas", "--milestone=all"]
        if partial:
            cmd.append("--tinytorch-partial-credit")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HYPOTHESIS_"))}
        error = ""
        log = ""
        try:
            proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=limit,
                                  start_new_session=True)
            log = proc.stdout[-20000:]
        except subprocess.TimeoutExpired:
            error = f"the grading run exceeded the per-student limit of {limit:g} s"
        try:
            payload = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            error = error or "the grading run wrote no results"
            payload = results.build(Tally(), 1, katas_run=[], done=[], milestones_run=[],
                                    milestones_passed=[], mode="grading")
        for kid in [k.id for k in KATAS if k.written]:
            if audit.foreign(kid, work) and payload["katas"][kid]["points"]:
                payload["katas"][kid]["points"] = 0
                payload["katas"][kid]["status"] = "disqualified"
            if audit.foreign(kid, work):
                payload["katas"][kid]["flags"] = payload["katas"][kid].get("flags", []) + [
                    "imports another ML framework: the kata scores 0"]
        payload["points"] = (sum(v["points"] for v in payload["katas"].values())
                             + sum(v["points"] for v in payload["milestones"].values()))
        payload.update({"trusted": True, "student": student.name, "learner_files_copied": copied,
                        "tampering": tampering(student, manifest), "error": error,
                        "seconds": round(time.monotonic() - started, 1), "log_tail": log[-4000:]})
        return payload


def main(argv: list[str] | None = None) -> int:
    from . import roster

    ap = argparse.ArgumentParser(prog="python -m pytest_tinytorch grade", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path, help="a student repository, or a folder of them (a class)")
    ap.add_argument("--template", type=Path, default=None,
                    help="a released template (default: this repository, released on the fly)")
    ap.add_argument("--out", type=Path, default=None,
                    help="where to write the JSON (one student) or grades.csv (a class)")
    ap.add_argument("--partial-credit", action="store_true",
                    help="points for a failing kata in proportion to its passing tests")
    ap.add_argument("--audit", choices=["flag", "zero"], default="flag",
                    help="a kata flagged by the static audit is only flagged (default) or scores 0")
    ap.add_argument("--limit", type=float, default=STUDENT_LIMIT, metavar="SECONDS",
                    help=f"wall-clock limit per student (default {STUDENT_LIMIT:g})")
    ap.add_argument("--jobs", type=int, default=2, help="students graded at once (a class)")
    args = ap.parse_args(argv)
    if roster.is_class(args.path):
        return roster.grade_class(args.path, args.out or Path("grades.csv"), template=args.template,
                                  limit=args.limit, partial=args.partial_credit, audit_mode=args.audit,
                                  jobs=args.jobs)
    payload = grade_repo(args.path, args.template, limit=args.limit, partial=args.partial_credit,
                         audit_mode=args.audit)
    out = args.out or Path("grade.json")
    results.write(out, payload)
    print(f"{payload['student']}: {payload['points']}/{payload['max_points']} points"
          + (f"; tampering: {len(payload['tampering'])} finding(s)" if payload["tampering"] else "")
          + (f"; {payload['error']}" if payload["error"] else ""))
    return 0 if payload["points"] == payload["max_points"] and not payload["error"] else 1
