"""Running the grader the way a learner does: `python -m pytest ...` in a disposable copy."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pytest_tinytorch import state
from pytest_tinytorch.curriculum import BY_ID, closure
from tests.sandbox import make_sandbox

RESULTS = "results.json"


@dataclass
class Run:
    code: int
    output: str
    results: dict | None

    def hidden(self, kata_id: str) -> dict[str, str]:
        """nodeid -> outcome of one kata's graded tests."""
        return {t["nodeid"]: t["outcome"] for t in (self.results or {}).get("tests", [])
                if t["kata"] == kata_id and t["hidden"]}

    def status(self, kata_id: str) -> str:
        return self.results["katas"][kata_id]["status"]


def pytest_in(repo: Path, *args: str, grade: bool = True, timeout: float = 300,
              env: dict | None = None, cwd: Path | None = None) -> Run:
    """Run pytest in `repo`, with results written to JSON. `grade` sets CI (derandomized)."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTEST_", "HYPOTHESIS_")) and k not in ("CI", "GITHUB_ACTIONS")}
    if grade:
        environ["CI"] = "1"
    environ.update(env or {})
    results = Path(repo) / RESULTS
    if results.exists():
        results.unlink()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--color=no",
         f"--tinytorch-json={results}", *args],
        cwd=cwd or repo, env=environ, capture_output=True, text=True, timeout=timeout)
    data = json.loads(results.read_text()) if results.exists() else None
    return Run(proc.returncode, proc.stdout + proc.stderr, data)


def green_base(cache: Path, kata_ids: list[str]) -> Path:
    """A sandbox in which `kata_ids` (with their prerequisites) are solved and green.

    Built once per set of katas and copied for each test (links are relative, so copies
    stay valid; fingerprints match because the files are identical).
    """
    ids = [k.id for k in closure(kata_ids)]
    base = cache / ("green-" + "-".join(i[:2] for i in ids) if ids else "pristine")
    if not base.exists():
        tmp = base.with_name(base.name + f".{os.getpid()}.tmp")
        make_sandbox(tmp, solve=ids)
        if ids:
            run = pytest_in(tmp, *[f"katas/{i}" for i in ids])
            data = state.load(tmp / ".tinytorch" / "progress.json")[0]
            not_green = [i for i in ids if data["katas"].get(i, {}).get("status") != "done"]
            if not_green:
                raise RuntimeError(f"reference katas {not_green} did not go green:\n{run.output[-3000:]}")
        try:
            os.replace(tmp, base)
        except OSError:  # another worker built it first
            shutil.rmtree(tmp, ignore_errors=True)
    return base


def copy_of(base: Path, dest: Path) -> Path:
    shutil.copytree(base, dest, symlinks=True)
    return dest


def solve(repo: Path, kata_id: str, source: str | None = None, file: str | None = None) -> None:
    """Copy a kata's reference files into the repo (or write `source` into `file`)."""
    kata = BY_ID[kata_id]
    if source is not None:
        (repo / "katas" / kata_id / file).write_text(source)
        return
    for f in kata.files:
        shutil.copyfile(kata.reference / f.name, repo / "katas" / kata_id / f.name)


def force_green(repo: Path, kata_ids: list[str]) -> None:
    """Mark katas green with their current files, as if their tests had missed a bug."""
    path = repo / ".tinytorch" / "progress.json"
    data = state.load(path)[0]
    for kid in kata_ids:
        data["katas"][kid] = {"status": "done", "passed": 1, "total": 1, "not_started": 0,
                              "fingerprint": state.fingerprint(BY_ID[kid], repo / "katas" / kid)}
    state.save(data, path)
