"""Running the grader the way a learner does: `python -m pytest ...` in a disposable copy."""
from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pytest_tinytorch import state
from pytest_tinytorch.curriculum import BY_ID, closure
from tests.sandbox import make_sandbox

RESULTS = "results.json"
FORKSERVER = Path(__file__).with_name("forkserver.py")

try:
    import fcntl
except ImportError:  # not POSIX: bases are then built per process
    fcntl = None


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


class _ForkServer:
    """One warm helper per test process (see tests/forkserver.py), started on first use."""

    def __init__(self):
        self.proc = None

    def close(self) -> None:
        """End the helper on EOF and wait for it, so its children's CPU time is accounted."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def run(self, request: dict) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([sys.executable, str(FORKSERVER)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, env=_clean_env())
            atexit.register(self.close)
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the fork server died")
        return json.loads(line)


_SERVER = _ForkServer()


def _clean_env() -> dict:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "HYPOTHESIS_")) and k not in ("CI", "GITHUB_ACTIONS")}


def pytest_in(repo: Path, *args: str, grade: bool = False, timeout: float = 300,
              env: dict | None = None, cwd: Path | None = None, warm: bool = True) -> Run:
    """Run pytest in `repo`, with results written to JSON. `grade` sets CI, as graders do
    (a supervised grading run: see pytest_tinytorch/supervise.py).

    `warm` forks the run from the warm helper instead of starting a new interpreter: the
    same command, minus ~0.7 s of imports. Tests about the process itself (start-up,
    crashes) pass warm=False.
    """
    environ = _clean_env()
    if grade:
        environ["CI"] = "1"
    environ.update(env or {})
    results = Path(repo) / RESULTS
    if results.exists():
        results.unlink()
    argv = ["-p", "no:cacheprovider", "--color=no", f"--tinytorch-json={results}", *args]
    where = str(cwd or repo)
    if warm and hasattr(os, "fork"):
        reply = _SERVER.run({"cwd": where, "args": argv, "env": environ, "timeout": timeout})
        if reply["timed_out"]:
            raise subprocess.TimeoutExpired(["pytest", *argv], timeout, reply["output"])
        code, output = reply["code"], reply["output"]
    else:
        proc = subprocess.run([sys.executable, "-m", "pytest", *argv], cwd=where, env=environ,
                              capture_output=True, text=True, timeout=timeout)
        code, output = proc.returncode, proc.stdout + proc.stderr
    data = json.loads(results.read_text()) if results.exists() else None
    return Run(code, output, data)


@contextmanager
def _locked(path: Path):
    """An exclusive lock shared by every xdist worker (they share the temp root)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        if fcntl is not None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fh, fcntl.LOCK_UN)


def green_base(cache: Path, kata_ids: list[str]) -> Path:
    """A sandbox in which `kata_ids` (with their prerequisites) are solved and green.

    Built once per set of katas for the whole session, whichever worker asks first
    (links are relative, so copies stay valid; fingerprints match because the files are
    identical). Building it is itself a proof: each reference kata passes the graded run.
    """
    ids = [k.id for k in closure(kata_ids)]
    base = cache / ("green-" + "-".join(i[:2] for i in ids) if ids else "pristine")
    with _locked(cache / f"{base.name}.lock"):
        if not base.exists():
            tmp = base.with_name(base.name + f".{os.getpid()}.tmp")
            make_sandbox(tmp, solve=ids)
            if ids:
                run = pytest_in(tmp, *[f"katas/{i}" for i in ids])
                data = state.load(tmp / ".tinytorch" / "progress.json")[0]
                not_green = [i for i in ids if data["katas"].get(i, {}).get("status") != "done"]
                if not_green:
                    raise RuntimeError(f"reference katas {not_green} did not go green:\n{run.output[-3000:]}")
            os.replace(tmp, base)
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
