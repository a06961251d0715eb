"""Grading runs, supervised from a process that never runs learner code.

`pytest --tinytorch-grade` (automatic when CI is set) does not collect or run anything
itself. It runs each kata, then each milestone, in a worker process of its own
(`worker`), reads what the worker reports over a pipe, and keeps the clock: a test that
outlives its wall-clock limit (sleeping, waiting, an endless loop that disabled its CPU
timer) is killed from outside, recorded as a failure, and the worker is started again
for the tests that are left. A worker that dies (os._exit, a segfault, memory) costs
the test it was running. A hard memory limit is set on each worker before it starts.
Results and progress are written here, from what the workers reported, so every run
that starts ends with a complete JSON and an exit status that is non-zero unless every
graded unit passed. Nothing is read from the progress file: a kata counts only when it
passed in this run, and so do the katas it needs.
"""
from __future__ import annotations

import ast
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from _pytest.config import create_terminal_writer

from . import audit, publish, report, results, state
from .curriculum import (BY_ID, KATAS, KATAS_DIR, MILESTONES_BY_NAME, MILESTONES_DIR, ROOT, closure,
                         kata_of_path)
from .tally import ERROR, FAILED, PASSED, RUNAWAY, Tally
from .worker import ENV as WORKER_ENV

TEST_WALL = 60.0  # wall-clock seconds one kata test may take
MILESTONE_TEST_WALL = 600.0  # a milestone test is a training run
COLLECT_WALL = 60.0  # importing the hidden tests and the kata code
UNIT_WALL = {"kata": 300.0, "milestone": 900.0}  # a whole kata or milestone
FINISH_GRACE = 5.0  # after its last report, the worker must exit (or is killed)
RESTARTS = 2  # new workers for the tests left after a kill, per unit
MEMORY_LIMIT = 8 << 30  # address space of one worker (bytes)
LOG_TAIL = 4000  # characters of a dead worker's output shown
GRADE_ENV = ("CI", "GITHUB_ACTIONS")


def grading(config) -> bool:
    """A grading run: asked for (or CI is set) and aimed at katas or milestones only (the
    project's own suite, `pytest tests`, runs as usual under CI)."""
    asked = config.getoption("tinytorch_grade", False) or any(os.environ.get(v) for v in GRADE_ENV)
    return bool(asked) and all(_graded_path(config, arg) for arg in config.args)


def _graded_path(config, arg: str) -> bool:
    path = (Path(config.invocation_params.dir) / arg.partition("::")[0]).resolve()
    return path == ROOT or path.is_relative_to(KATAS_DIR) or path.is_relative_to(MILESTONES_DIR) \
        or KATAS_DIR.is_relative_to(path)


# Options that narrow or re-configure what a grading run judges.
REFUSED = {"keyword": "-k", "markexpr": "-m", "deselect": "--deselect", "lf": "--lf",
           "last_failed": "--lf", "failedfirst": "--ff", "stepwise": "--sw", "exitfirst": "-x",
           "maxfail": "--maxfail", "hypothesis_profile": "--hypothesis-profile",
           "hypothesis_seed": "--hypothesis-seed", "inifilename": "-c", "confcutdir": "--confcutdir",
           "noconftest": "--noconftest", "pyargs": "--pyargs"}
# ini settings that change what is collected or how it is imported (-o key=value).
REFUSED_INI = {"python_functions", "python_files", "python_classes", "norecursedirs", "testpaths",
               "pythonpath", "addopts", "required_plugins", "confcutdir", "consider_namespace_packages"}


@dataclass
class Event:
    """A worker's report, shaped like a pytest report for the Tally."""
    nodeid: str
    when: str
    outcome: str
    longreprtext: str = ""
    duration: float = 0.0
    location: tuple | None = None
    user_properties: list = field(default_factory=list)
    longrepr: object = None

    @property
    def failed(self) -> bool:
        return self.outcome == "failed"

    @property
    def skipped(self) -> bool:
        return self.outcome == "skipped"

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


def failure(nodeid: str, message: str, kind: str = FAILED) -> Event:
    return Event(nodeid, "call", "failed", message,
                 user_properties=[("tinytorch_outcome", kind)] if kind != FAILED else [])


@dataclass
class Unit:
    kind: str  # "kata" or "milestone"
    name: str  # kata id or milestone name

    @property
    def target(self) -> list[str]:
        if self.kind == "kata":
            return [f"katas/{self.name}"]
        return [f"--milestone={self.name}"]

    @property
    def prefix(self) -> str:
        return f"katas/{self.name}/" if self.kind == "kata" else f"milestones/test_{self.name}.py"

    @property
    def requires(self) -> list[str]:
        if self.kind == "kata":
            return [k.id for k in closure(BY_ID[self.name].requires) if k.id != self.name]
        return [k.id for k in closure(MILESTONES_BY_NAME[self.name].requires)]


@dataclass
class UnitResult:
    collected: list[str] = field(default_factory=list)
    reports: list[Event] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)
    log: str = ""


def select_units(config) -> list[Unit]:
    """Katas and milestones the command names, with every kata they need, in order."""
    for dest, flag in REFUSED.items():
        value = config.getoption(dest, None)
        if value not in (None, False, [], 0, ""):
            raise pytest.UsageError(f"{flag} narrows or re-configures what is judged: a grading run "
                                    "runs whole katas under the grading profile only")
    for override in config.getoption("override_ini", None) or []:
        if override.partition("=")[0].strip() in REFUSED_INI:
            raise pytest.UsageError(f"-o {override} changes what is collected: a grading run refuses it")
    milestone = config.getoption("tinytorch_milestone", None)
    invocation = Path(config.invocation_params.dir)
    katas: set[str] = set()
    milestones: list[str] = []
    if milestone:
        milestones = [m for m in MILESTONES_BY_NAME if milestone in ("all", m)]
        milestones = [m for m in milestones if MILESTONES_BY_NAME[m].written]
        for m in milestones:
            katas |= {k.id for k in closure(MILESTONES_BY_NAME[m].requires)}
    for arg in config.args:
        path = (invocation / arg.partition("::")[0]).resolve()
        kata = kata_of_path(path)
        if kata is not None:
            katas.add(kata.id)
        elif path in (ROOT, KATAS_DIR) or KATAS_DIR.is_relative_to(path):
            katas |= {k.id for k in KATAS if k.written}
        elif path == MILESTONES_DIR:
            milestones += [m.name for m in MILESTONES_BY_NAME.values() if m.written]
        elif path.parent == MILESTONES_DIR:
            milestones += [m.name for m in MILESTONES_BY_NAME.values() if m.path == path]
    if milestones:
        for m in milestones:
            katas |= {k.id for k in closure(MILESTONES_BY_NAME[m].requires)}
    if not katas and not milestones:
        katas = {k.id for k in KATAS if k.written}
    katas = {k.id for k in closure(sorted(katas)) if k.written}
    return ([Unit("kata", k.id) for k in KATAS if k.id in katas]
            + [Unit("milestone", m) for m in MILESTONES_BY_NAME if m in milestones])


def hidden_functions(kata_id: str) -> set[str]:
    """`file::test_name` of every test function in a kata's hidden modules (parsed, not run)."""
    names = set()
    for path in sorted(BY_ID[kata_id].tests_dir.glob("test_*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            continue
        names |= {f"katas/{kata_id}/.tests/{path.name}::{n.name}" for n in tree.body
                  if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test_")}
    return names


def _limit_memory() -> None:  # runs in the worker before it execs Python
    os.setsid()
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ImportError, ValueError, OSError):
        pass


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (OSError, AttributeError):
        proc.kill()
    proc.wait()


@dataclass
class Limits:
    test: float = TEST_WALL
    unit: float = UNIT_WALL["kata"]

    @classmethod
    def of(cls, config, kind: str) -> "Limits":
        test = config.getoption("tinytorch_test_wall", None) or (MILESTONE_TEST_WALL if kind == "milestone" else TEST_WALL)
        unit = config.getoption("tinytorch_kata_wall", None) or UNIT_WALL[kind]
        return cls(float(test), float(unit))


def run_worker(unit: Unit, green: list[str], skip: set[str], logdir: Path, deadline: float,
               limits: Limits) -> tuple[UnitResult, str]:
    """One worker: (what it reported, why it ended: 'finished', 'killed <nodeid>', 'died <nodeid>')."""
    result = UnitResult()
    read_fd, write_fd = os.pipe()
    skip_file = logdir / f"{unit.name}.skip"
    skip_file.write_text("\n".join(sorted(skip)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in GRADE_ENV and not k.startswith("PYTEST_")}
    env.update({WORKER_ENV: str(write_fd), "TINYTORCH_GREEN": ",".join(green),
                "TINYTORCH_SKIP": str(skip_file), "PYTHONDONTWRITEBYTECODE": "1"})
    log_path = logdir / f"{unit.name}.log"
    with open(log_path, "wb") as log:
        # --noconftest: no conftest.py runs in a worker (the root one only loads the plugin,
        # given here with -p); a learner's conftest.py would run before any check could.
        proc = subprocess.Popen([sys.executable, "-m", "pytest", "--noconftest", "-p", "pytest_tinytorch.plugin",
                                 "-p", "no:cacheprovider", "-q", "--color=no", "-rN", *unit.target],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, pass_fds=(write_fd,), preexec_fn=_limit_memory)
    os.close(write_fd)
    buffer = b""
    current, started = None, time.monotonic()
    test_wall = limits.test
    finished_at = None
    ended = ""
    try:
        while True:
            now = time.monotonic()
            if finished_at is not None:
                limit = finished_at + FINISH_GRACE
            elif current is None:
                limit = started + max(COLLECT_WALL, test_wall) if not result.collected else started + test_wall
            else:
                limit = started + test_wall
            limit = min(limit, deadline)
            ready, _, _ = select.select([read_fd], [], [], max(0.0, limit - now))
            if not ready:
                if finished_at is not None:
                    ended = "finished"  # reported everything, then would not exit (a thread?)
                else:
                    ended = f"killed {current or ''}"
                _kill(proc)
                break
            chunk = os.read(read_fd, 65536)
            if not chunk:
                proc.wait()
                ended = "finished" if finished_at is not None else f"died {current or ''}"
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    result.tampering.append("the worker's report stream was garbled (learner code "
                                            "wrote to the grader's channel?)")
                    continue
                kind = event.get("event")
                if kind == "collected":
                    result.collected = [str(i) for i in event.get("ids", [])]
                    started = time.monotonic()
                elif kind == "start":
                    current, started = str(event.get("nodeid")), time.monotonic()
                elif kind == "report":
                    result.reports.append(_event(event))
                    if event.get("when") == "teardown":
                        current, started = None, time.monotonic()
                elif kind == "tamper":
                    result.tampering += [f"{event.get('where')}: {c}" for c in event.get("changes", [])]
                elif kind == "finish":
                    finished_at = time.monotonic()
    finally:
        os.close(read_fd)
        if proc.poll() is None:
            _kill(proc)
    result.log = _tail(log_path)
    return result, ended


def _tail(path: Path) -> str:
    with open(path, "rb") as fh:  # learner code may have printed gigabytes
        fh.seek(0, os.SEEK_END)
        fh.seek(max(0, fh.tell() - LOG_TAIL))
        return fh.read().decode("utf-8", errors="replace")


def _event(e: dict) -> Event:
    props = [(k, e[v]) for k, v in (("tinytorch_outcome", "kind"), ("tinytorch_todo", "todo"),
                                    ("tinytorch_panel", "panel")) if e.get(v)]
    loc = tuple(e.get("location") or ()) or None
    text = str(e.get("message", ""))
    return Event(str(e["nodeid"]), str(e["when"]), str(e["outcome"]), text, float(e.get("duration") or 0),
                 loc, props, ("", 0, text) if e.get("outcome") == "skipped" else None)


def run_unit(unit: Unit, green: list[str], logdir: Path, limits: Limits) -> UnitResult:
    """Run a unit to the end, restarting after a kill or a crash, never longer than its limit."""
    total = UnitResult()
    deadline = time.monotonic() + limits.unit
    skip: set[str] = set()
    for attempt in range(RESTARTS + 1):
        result, ended = run_worker(unit, green, skip, logdir, deadline, limits)
        total.collected = total.collected or result.collected
        total.reports += result.reports
        total.tampering += result.tampering
        total.log = result.log
        reported = {r.nodeid for r in result.reports}
        if ended == "finished":
            break
        stuck = ended.split(" ", 1)[1] if " " in ended else ""
        wall = time.monotonic() >= deadline
        if stuck:
            why = (f"the whole {unit.kind} used its {limits.unit:g} s of wall-clock time"
                   if wall else
                   f"this test ran for more than {limits.test:g} s of wall-clock time and was "
                   "stopped from outside")
            if ended.startswith("died"):
                why = ("the test process died while running this test (os._exit, a crash, or more "
                       f"memory than the {MEMORY_LIMIT >> 30} GB limit?)")
            total.reports.append(failure(stuck, f"{why}: is something sleeping, waiting, or looping "
                                                "with its timer switched off?" if not ended.startswith("died")
                                 else why, RUNAWAY if ended.startswith("killed") else ERROR))
        elif not result.collected:
            what = "did not finish importing" if ended.startswith("killed") else "died while importing"
            total.reports.append(failure(f"{unit.prefix}::import", (
                f"Your kata code {what}, so none of its tests could run.\n"
                f"Last output:\n{result.log[-1500:]}"), ERROR))
            break
        skip |= reported | ({stuck} if stuck else set())
        if wall or not total.collected or set(total.collected) <= skip:
            break
    return total


MANIFEST = ROOT / "GRADING-MANIFEST.json"  # written by `release`: what a pristine template holds


def manifest_ids() -> dict[str, list[str]]:
    """The test ids each kata had when the template was released (empty without one)."""
    try:
        data = json.loads(MANIFEST.read_text(encoding="utf-8"))
        return {k: list(v) for k, v in data.get("expected_tests", {}).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def collect_ids(root: Path) -> dict[str, list[str]]:
    """Every hidden test id of every written kata of the tree at `root`, collected by a
    worker that treats all katas as green (the stubs import, and are never called)."""
    read_fd, write_fd = os.pipe()
    env = {k: v for k, v in os.environ.items() if k not in GRADE_ENV and not k.startswith("PYTEST_")}
    env.update({WORKER_ENV: str(write_fd), "TINYTORCH_GREEN": ",".join(k.id for k in KATAS if k.written),
                "TINYTORCH_SKIP": ""})
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "--noconftest", "-p", "pytest_tinytorch.plugin",
                             "-p", "no:cacheprovider", "-q", "--collect-only", "katas"],
                            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, pass_fds=(write_fd,))
    os.close(write_fd)
    data = b""
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    proc.wait(timeout=300)
    ids: list[str] = []
    for line in data.splitlines():
        event = json.loads(line)
        if event.get("event") == "collected":
            ids = event["ids"]
    out: dict[str, list[str]] = {}
    for nodeid in ids:
        parts = nodeid.split("/")
        if len(parts) > 2 and parts[0] == "katas" and "/.tests/" in nodeid:
            out.setdefault(parts[1], []).append(nodeid)
    return out


def record_unit(unit: Unit, result: UnitResult, tally: Tally, manifest: dict | None = None) -> bool:
    """Feed a unit's reports to the tally and say whether it passed, checked from outside:
    every expected test (those collected, those the released template had, and every test
    function of the hidden files) reported a pass, and nothing was tampered with."""
    expected = set(result.collected) | set((manifest or {}).get(unit.name, []))
    if unit.kind == "kata":
        functions = hidden_functions(unit.name)
        seen = {n.split("[", 1)[0] for n in expected}
        for missing in sorted(functions - seen):
            result.reports.append(failure(missing, "this hidden test was never collected: were the "
                                                   "hidden tests or the collection changed?", ERROR))
            expected.add(missing)
    reported = {r.nodeid for r in result.reports}
    for nodeid in sorted(expected - reported):
        result.reports.append(failure(nodeid, "this test never reported a result (the worker "
                                              "stopped before it ran)", ERROR))
    tally.expect(expected | reported)
    for event in result.reports:
        tally.add(event)
    if result.tampering:
        node = f"{unit.prefix}::integrity" if unit.kind == "kata" else f"{unit.prefix}::integrity"
        tally.expect({node})
        tally.add(failure(node, "grader tampering detected:\n  " + "\n  ".join(result.tampering[:10])))
    recs = [r for r in tally.records.values() if r.nodeid.startswith(unit.prefix)]
    return bool(recs) and all(r.outcome == PASSED for r in recs)


def run(config) -> int:
    """The whole grading run; returns the exit status."""
    try:
        units = select_units(config)
    except pytest.UsageError as exc:  # refused: still a complete result, with no points
        path = config.getoption("tinytorch_json", None)
        if path:
            payload = results.build(Tally(), pytest.ExitCode.USAGE_ERROR, katas_run=[], done=[],
                                    milestones_run=[], milestones_passed=[], mode="grading")
            payload["error"] = str(exc)
            results.write(path, payload)
        raise
    tally = Tally()
    tally.collected = True
    done: list[str] = []
    passed_milestones: list[str] = []
    findings = audit.scan([u.name for u in units if u.kind == "kata"])
    manifest = manifest_ids()
    started = time.monotonic()
    tw = create_terminal_writer(config)
    try:
        with tempfile.TemporaryDirectory(prefix="tinytorch-grade-") as tmp:
            for unit in units:
                missing = [k for k in unit.requires if k not in done]
                if missing:
                    node = f"{unit.prefix}::prerequisites"
                    tally.expect({node})
                    tally.add(failure(node, f"needs {', '.join(missing)}, which did not pass in this run"))
                    tw.line(f"{unit.kind} {unit.name}: blocked (needs {report.kata_numbers(missing)})")
                    continue
                result = run_unit(unit, list(done), Path(tmp), Limits.of(config, unit.kind))
                ok = record_unit(unit, result, tally, manifest)
                if unit.kind == "kata" and list(BY_ID[unit.name].path.rglob("conftest.py")):
                    node = f"{unit.prefix}::conftest"
                    tally.expect({node})
                    tally.add(failure(node, "a conftest.py inside the kata folder is not part of the "
                                            "kata: it would run inside the grader. Remove it."))
                    ok = False
                if unit.kind == "kata" and findings.get(unit.name) and audit.zeroes(config):
                    ok = False
                if ok:
                    (done if unit.kind == "kata" else passed_milestones).append(unit.name)
                passed = sum(1 for r in tally.records.values() if r.nodeid.startswith(unit.prefix) and r.outcome == PASSED)
                total = sum(1 for r in tally.records.values() if r.nodeid.startswith(unit.prefix))
                tw.line(f"{unit.kind} {unit.name}: {'passed' if ok else 'failed'} ({passed} of {total} tests)"
                        + (" - grader tampering detected" if result.tampering else ""))
    finally:
        exitstatus = 0 if units and all(_unit_ok(u, done, passed_milestones) for u in units) else 1
        _finish(config, tw, tally, units, done, passed_milestones, findings, exitstatus, time.monotonic() - started)
    return exitstatus


def _unit_ok(unit: Unit, done: list[str], milestones: list[str]) -> bool:
    return unit.name in (done if unit.kind == "kata" else milestones)


def _finish(config, tw, tally, units, done, milestones, findings, exitstatus, seconds) -> None:
    shown = 0
    for rec in tally.records.values():
        if rec.outcome not in (PASSED, "") and shown < 5:
            tw.sep("_", rec.nodeid.rsplit("::", 1)[-1])
            tw.line(rec.message.rstrip())
            shown += 1
    for rec in tally.records.values():
        if rec.panel:
            tw.write(rec.panel)
    payload = results.build(tally, exitstatus, katas_run=[u.name for u in units if u.kind == "kata"],
                            done=done, milestones_run=[u.name for u in units if u.kind == "milestone"],
                            milestones_passed=milestones, findings=findings, mode="grading",
                            partial=config.getoption("tinytorch_partial_credit", False), seconds=seconds)
    path = config.getoption("tinytorch_json", None)
    if path:
        try:
            results.write(path, payload)
        except OSError as exc:
            tw.line(f"tinytorch: could not write {path}: {exc}", yellow=True)
    data = _record_progress(tally, done, milestones, units)
    tw.line(report.render(report.progress_table(data, width=tw.fullwidth), width=tw.fullwidth), )
    tw.line(f"grading run: {payload['points']}/{payload['max_points']} points in {seconds:.1f} s", bold=True)


def _record_progress(tally, done, milestones, units) -> dict:
    """The learner's progress file follows this run (it is never read for a grade)."""
    data, _ = state.load()
    now = time.strftime("%Y-%m-%dT%H:%M:%S")
    for unit in units:
        if unit.kind == "kata":
            kata = BY_ID[unit.name]
            status = "done" if unit.name in done else "failing"
            passed, total, fresh = tally.counts(unit.name)
            data["katas"][unit.name] = {"status": status, "passed": passed, "total": total,
                                        "not_started": fresh, "updated": now,
                                        "fingerprint": state.fingerprint(kata)}
            if status == "done":
                publish.publish(kata)
            else:
                publish.withdraw(kata)
        else:
            data["milestones"][unit.name] = {"status": "passed" if unit.name in milestones else "failed",
                                             "updated": now}
    try:
        state.save(data)
    except OSError:
        pass
    return data
