"""`python -m pytest_tinytorch release DEST`: the repository a student receives.

Everything a learner needs and nothing a maintainer keeps: no reference solutions, no
mutants or project tests, no benchmarks or CI scripts. The kata files are the pristine
stubs as committed (taken from git when the source is a clone, so a maintainer's local
experiments never leak), `tinytorch/` holds only its package files, maintainer-only
sections of the README are dropped, and two files are added: the GitHub Classroom
workflow (`classroom`) and GRADING-MANIFEST.json, which records the sha256 of every file
a student must not change and the id of every hidden test, for trusted grading.
"""
from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

from .curriculum import KATAS, ROOT

MANIFEST_NAME = "GRADING-MANIFEST.json"
MAINTAINER_ONLY = ("reference", "tests", "benchmarks", ".ci", ".git", ".github", ".venv", ".tinytorch",
                   ".hypothesis", "__pycache__", "*.pyc", ".pytest_cache", "*.egg-info", "results*.json",
                   "build", "dist", ".ruff_cache")
# Files a student must not change: what judges them, and what they are judged with.
PROTECTED = ("katas/*/.tests/*", "pytest_tinytorch/*", "conftest.py", "pyproject.toml", "milestones/*",
             "datasets/*", "tinytorch/*__init__.py", ".github/workflows/classroom.yml")
MAINTAINER_SECTION = re.compile(r"<!-- maintainers -->.*?<!-- /maintainers -->\n?", re.S)


def learner_files() -> list[str]:
    """Paths (relative to the root) of the files learners write: the kata stubs."""
    return [f"katas/{k.id}/{f.name}" for k in KATAS if k.written for f in k.files]


def is_protected(rel: str) -> bool:
    return any(fnmatch.fnmatch(rel, pattern) for pattern in PROTECTED) and rel not in learner_files()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _committed(rel: str) -> bytes | None:
    """A file as committed at HEAD, when the source is a git clone (else None)."""
    try:
        proc = subprocess.run(["git", "show", f"HEAD:{rel}"], cwd=ROOT, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _ignore(folder: str, names: list[str]) -> set[str]:
    rel = Path(folder).resolve().relative_to(ROOT)
    skipped = {n for n in names for pattern in MAINTAINER_ONLY if fnmatch.fnmatch(n, pattern)}
    if rel == Path("tinytorch") or rel.parts[:1] == ("tinytorch",):  # links are per learner
        skipped |= {n for n in names if n.endswith(".py") and n != "__init__.py"}
    return skipped


def release(dest: Path) -> dict:
    """Write the student template to `dest` (which must not exist); return its manifest."""
    from . import classroom, supervise

    dest = Path(dest)
    if dest.exists():
        raise SystemExit(f"release: {dest} exists already; choose a new folder")
    shutil.copytree(ROOT, dest, ignore=_ignore, symlinks=False)
    for rel in learner_files():
        if not (dest / rel).is_file():
            raise SystemExit(f"release: {rel} is missing: a written kata needs its stub")
        committed = _committed(rel)
        if committed is not None:
            (dest / rel).write_bytes(committed)
        ref = ROOT / "reference" / Path(rel).relative_to("katas")
        if ref.is_file() and (dest / rel).read_bytes() == ref.read_bytes():
            raise SystemExit(f"release: {rel} is identical to its reference solution: refusing to ship it")
    readme = dest / "README.md"
    if readme.is_file():
        readme.write_text(MAINTAINER_SECTION.sub("", readme.read_text(encoding="utf-8")), encoding="utf-8")
    workflow = dest / ".github" / "workflows" / "classroom.yml"
    workflow.parent.mkdir(parents=True, exist_ok=True)
    workflow.write_text(classroom.workflow(), encoding="utf-8")
    manifest = {
        "schema": 1,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "learner_files": learner_files(),
        "protected": {rel: sha256(dest / rel) for rel in _all_files(dest) if is_protected(rel)},
        "expected_tests": supervise.collect_ids(dest),  # (leaves a .hypothesis folder: removed below)
        "written": {"katas": [k.id for k in KATAS if k.written]},
    }
    shutil.rmtree(dest / ".hypothesis", ignore_errors=True)
    (dest / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pytest_tinytorch release", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dest", type=Path, help="a new folder for the student template")
    args = ap.parse_args(argv)
    manifest = release(args.dest)
    print(f"release: wrote {args.dest} ({len(manifest['learner_files'])} learner files, "
          f"{len(manifest['protected'])} protected files, "
          f"{sum(len(v) for v in manifest['expected_tests'].values())} hidden tests)")
    return 0
