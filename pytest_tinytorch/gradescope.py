"""Gradescope: `python -m pytest_tinytorch gradescope DEST.zip` builds the autograder.

The zip holds the released template (Gradescope unpacks it as /autograder/source),
`setup.sh` (installs the dependencies once, when the autograder image is built) and
`run_autograder`, which grades /autograder/submission by the trusted path (`grading`)
and always writes /autograder/results/results.json: one test entry per kata and
milestone (score, max_score, status, name, output, visibility), also after a crash or
a timeout of the grading run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
import zipfile
from pathlib import Path

from .curriculum import KATAS, MILESTONES

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image.
set -euo pipefail
apt-get update -qq && apt-get install -y -qq python3 python3-pip python3-venv > /dev/null
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet -e /autograder/source
"""
RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission. The Python side always writes results.json.
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
cd "$ROOT/source"
PY="$ROOT/venv/bin/python"
[ -x "$PY" ] || PY=python3
exec "$PY" -m pytest_tinytorch gradescope-run --root "$ROOT" --visibility "{visibility}" --limit "{limit}"
"""
MAX_OUTPUT = 8000  # characters of failure messages per test entry


def entries(payload: dict, visibility: str) -> list[dict]:
    tests = []
    for k in KATAS:
        if not k.written:
            continue
        v = payload["katas"][k.id]
        output = _messages(payload, f"katas/{k.id}/") + "".join(f"\nflag: {f}" for f in v.get("flags", []))
        tests.append({"name": f"Kata {k.number:02d}: {k.title}", "score": v["points"], "max_score": v["max_points"],
                      "status": "passed" if v["points"] == v["max_points"] else "failed",
                      "output": f"{v['status']}: {v['passed']} of {v['total']} tests passed\n{output}".strip(),
                      "visibility": visibility})
    for m in MILESTONES:
        if not m.written:
            continue
        v = payload["milestones"][m.name]
        tests.append({"name": f"Milestone {m.year}: {m.name}", "score": v["points"], "max_score": v["max_points"],
                      "status": "passed" if v["points"] == v["max_points"] else "failed",
                      "output": f"{v['status']}\n{_messages(payload, f'milestones/test_{m.name}.py')}".strip(),
                      "visibility": visibility})
    return tests


def _messages(payload: dict, prefix: str) -> str:
    text = "\n\n".join(f"{t['nodeid'].rsplit('::', 1)[-1]}:\n{t['message']}" for t in payload.get("tests", [])
                       if t["nodeid"].startswith(prefix) and t.get("outcome") not in ("passed", "") and t.get("message"))
    return text[:MAX_OUTPUT]


def run(root: Path, visibility: str = "visible", limit: float | None = None) -> int:
    """Grade /autograder/submission into /autograder/results/results.json, whatever happens."""
    from .grading import grade_repo

    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        payload = grade_repo(root / "submission", root / "source", **({"limit": limit} if limit else {}))
        result = {"score": payload["points"], "output": _summary(payload), "visibility": visibility,
                  "tests": entries(payload, visibility),
                  "extra_data": {"tampering": payload["tampering"], "error": payload["error"],
                                 "seconds": payload["seconds"]}}
    except BaseException as exc:  # noqa: BLE001 - a results file is written whatever went wrong
        result = {"score": 0, "visibility": visibility,
                  "output": "The autograder failed before grading finished; please tell your instructor.\n"
                            + "".join(traceback.format_exception_only(type(exc), exc)),
                  "tests": []}
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


def _summary(payload: dict) -> str:
    lines = [f"{payload['points']}/{payload['max_points']} points."]
    if payload["tampering"]:
        lines.append("Files that differ from the template (they did not count): "
                     + "; ".join(payload["tampering"]))
    if payload["error"]:
        lines.append(payload["error"])
    return "\n".join(lines)


def build(dest: Path, visibility: str = "visible", limit: float = 1200.0) -> Path:
    from .release import release

    dest = Path(dest)
    with tempfile.TemporaryDirectory(prefix="tinytorch-gradescope-") as tmp:
        template = Path(tmp) / "source"
        release(template)
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in (("setup.sh", SETUP), ("run_autograder", RUN.format(visibility=visibility, limit=limit))):
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o755 << 16  # executable
                zf.writestr(info, text)
            for path in sorted(template.rglob("*")):
                if path.is_file():
                    zf.write(path, str(Path("source") / path.relative_to(template)))
    return dest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pytest_tinytorch gradescope", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dest", type=Path, help="the autograder zip to write")
    ap.add_argument("--visibility", default="visible",
                    choices=["hidden", "after_due_date", "after_published", "visible"])
    ap.add_argument("--limit", type=float, default=1200.0, metavar="SECONDS",
                    help="wall-clock limit of one submission's grading (default 1200)")
    args = ap.parse_args(argv)
    build(args.dest, args.visibility, args.limit)
    print(f"gradescope: wrote {args.dest}")
    return 0


def run_main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pytest_tinytorch gradescope-run",
                                 description="grade ROOT/submission into ROOT/results/results.json "
                                             "(what run_autograder calls)")
    ap.add_argument("--root", type=Path, default=Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")))
    ap.add_argument("--visibility", default="visible")
    ap.add_argument("--limit", type=float, default=None)
    args = ap.parse_args(argv)
    return run(args.root, args.visibility, args.limit)


if __name__ == "__main__":
    sys.exit(main())
