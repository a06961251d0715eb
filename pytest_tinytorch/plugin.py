"""pytest hooks of the tinytorch grader: small and flat, each delegating to one role."""
from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from _pytest.reports import TestReport

from . import collect, guard, imports, messages, publish, report, results, state, supervise, worker
from .curriculum import BY_ID, KATAS, MILESTONES, MILESTONES_BY_NAME, MILESTONES_DIR, ROOT, closure
from .plan import Plan, make_plan, run_command
from .screen import Screen
from .tally import NOT_STARTED, RUNAWAY, SKIPPED, Tally

PLAN = pytest.StashKey[Plan]()
PLAIN_TEST_BUDGET = 10.0  # CPU seconds for a kata test without @given
MILESTONE_BUDGET = 180.0  # a milestone is a real training run


def pytest_addoption(parser):
    group = parser.getgroup("tinytorch", "tinytorch katas")
    group.addoption("--milestone", dest="tinytorch_milestone", metavar="NAME",
                    choices=[m.name for m in MILESTONES] + ["all"],
                    help="run milestone NAME (or all) on your own tinytorch; locked until its katas are green")
    group.addoption("--tinytorch-progress", action="store_true",
                    help="print the progress table and exit without running tests")
    group.addoption("--tinytorch-json", metavar="PATH",
                    help="write every test's outcome and each kata's status to PATH as JSON")
    group.addoption("--tinytorch-grade", action="store_true",
                    help="grading mode (automatic when CI is set): each kata and milestone runs in a "
                         "supervised worker process, points come only from this run")
    group.addoption("--tinytorch-audit", choices=["flag", "zero"], default="flag",
                    help="grading mode: a kata whose files the static audit flags is only flagged "
                         "(default) or scores zero")
    group.addoption("--tinytorch-test-wall", type=float, metavar="SECONDS",
                    help="grading mode: wall-clock seconds one test may take before it is killed "
                         "(default 60; 600 for a milestone)")
    group.addoption("--tinytorch-kata-wall", type=float, metavar="SECONDS",
                    help="grading mode: wall-clock seconds for a whole kata (default 300; 900 for a milestone)")
    group.addoption("--tinytorch-partial-credit", action="store_true",
                    help="points for a failing kata in proportion to its passing tests "
                         "(default: all or nothing)")
    group.addoption("--tinytorch-budget", type=float, default=2.0, metavar="SECONDS",
                    help="CPU seconds one hypothesis example may use before it is stopped (default 2)")
    group.addoption("--tinytorch-link", choices=["auto", "symlink", "shim"], default="auto",
                    help="how green katas are linked into tinytorch/ (default: symlink, else shim)")


def _ours(config) -> bool:
    return Path(str(config.rootpath)).resolve() == ROOT


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config):
    if config.option.tinytorch_progress:
        data = state.load_quietly()
        width = _width()
        print(report.render(report.progress_table(data, width=width, quiet=config.get_verbosity() < 0),
                            width=width), end="")
        print(report.next_step(data))
        return 0
    if (_ours(config) and supervise.grading(config) and not worker.active()
            and not config.option.collectonly and not hasattr(config, "workerinput")):
        return supervise.run(config)  # this process never runs learner code
    return None


def _width() -> int:
    return shutil.get_terminal_size(fallback=(80, 24)).columns  # honours COLUMNS


@pytest.hookimpl(tryfirst=True)  # before hypothesis loads a profile named on the command line
def pytest_configure(config):
    if not _ours(config):
        return
    # `import tinytorch` switches autograd on once kata 06 is done (as TinyTorch does), but
    # hidden tests of katas 01-05 must see their katas as written: they run with it off,
    # and kata 06's tests and the milestones switch it on themselves.
    os.environ["TINYTORCH_AUTOGRAD"] = "off"
    guard.watch_interrupts()
    from . import profiles  # hypothesis and NumPy load only for runs that test something

    profiles.load(config)
    xdist_worker = hasattr(config, "workerinput")
    if xdist_worker:
        plan = Plan.loads(config.workerinput["tinytorch_plan"])
    else:
        plan = make_plan(config, data=state.green_only(os.environ["TINYTORCH_GREEN"].split(","))
                         if worker.active() else None)
    config.stash[PLAN] = plan
    config.args[:] = plan.args
    if plan.serve:
        imports.install(plan.serve)
    config.pluginmanager.register(ReportGuard(config), "tinytorch-report-guard")
    if worker.active():  # a supervised grading worker: it reports, the parent records
        config.pluginmanager.register(worker.Worker(config, profiles.GRADING), "tinytorch-worker")
    elif not xdist_worker:
        controller = Controller(config, plan)
        config.pluginmanager.register(controller, "tinytorch-controller")
        config.pluginmanager.register(Screen(config, controller), "tinytorch-screen")
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(XdistHooks(plan, controller.tally), "tinytorch-xdist")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    imports.uninstall()
    controller = config.pluginmanager.get_plugin("tinytorch-controller")
    if controller is not None and controller.pid == os.getpid():
        guard.exit_despite_threads(controller.exitstatus, controller.threads_before)


@pytest.hookimpl(wrapper=True)
def pytest_report_header(config):
    lines = yield
    plan = config.stash.get(PLAN, None)
    if plan is None:
        return lines
    # pytest-timeout is only our outer backstop: its settings are noise for a learner.
    flat = [[l for l in ([x] if isinstance(x, str) else x) if not l.startswith("timeout")]
            for x in lines]
    extra = list(plan.notes)
    if plan.chosen:
        extra.append(f"tinytorch: continuing with kata {plan.chosen} "
                     "(plain `pytest` runs the first kata not done yet)")
    return [x for x in flat if x] + ([extra] if extra else [])


@pytest.hookimpl(tryfirst=True)
def pytest_ignore_collect(collection_path, config):
    plan = config.stash.get(PLAN, None)
    if plan is None or not collection_path.is_file():
        return None
    path = Path(collection_path).resolve()
    if path.parent == MILESTONES_DIR:  # milestones run only when asked for
        return not any(m.path == path for n in plan.milestones for m in [MILESTONES_BY_NAME[n]])
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path, parent):
    plan = parent.config.stash.get(PLAN, None)
    return None if plan is None else collect.collect_directory(path, parent, plan)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path, parent):
    plan = parent.config.stash.get(PLAN, None)
    if plan is None or Path(module_path).resolve().parent != MILESTONES_DIR:
        return None
    module = collect.KataModule.from_parent(parent, path=module_path)
    for name in plan.milestones:
        if MILESTONES_BY_NAME[name].path == Path(module_path).resolve():
            module.problem = plan.locked.get(name, "")
    return module


def _graded(item) -> bool:
    return item.nodeid.startswith(("katas/", "milestones/"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if not _graded(item):
        return (yield)
    from . import isolation

    plan = item.config.stash[PLAN]
    try:
        with isolation.restored(plan.serve), guard.memory_budget(), guard.no_process_tricks():
            if guard.guard_item(item, item.config.option.tinytorch_budget):
                return (yield)
            seconds = MILESTONE_BUDGET if item.nodeid.startswith("milestones/") else PLAIN_TEST_BUDGET
            with guard.cpu_budget(seconds, "This test"):
                return (yield)
    except KeyboardInterrupt as exc:
        if guard.real_interrupt():
            raise
        raise guard.LearnerInterrupt("your code raised KeyboardInterrupt during this test; only "
                                     "a real Ctrl-C stops the run") from exc


def _explained(item, excinfo) -> tuple[str, str] | None:
    """(outcome, message) for failures the hidden tests' checks did not phrase."""
    if excinfo.errisinstance((pytest.fail.Exception, pytest.skip.Exception)):
        return None
    if excinfo.errisinstance(guard.RunawayCode):
        return RUNAWAY, messages.runaway(excinfo)
    if excinfo.errisinstance(guard.LearnerExit):
        return "", f"{excinfo.value}\n{messages.learner_frames(excinfo.tb)}".rstrip()
    if _flaky(excinfo):
        return "", messages.nondeterministic(item, excinfo)
    if excinfo.errisinstance(MemoryError):
        return "", messages.memory(excinfo)
    if excinfo.errisinstance(NotImplementedError):
        return NOT_STARTED, messages.not_started(excinfo)
    if excinfo.errisinstance(Exception):
        return "", messages.crash(item, excinfo)
    return None


def _flaky(excinfo) -> bool:
    """hypothesis saw the same input pass once and fail once (or fail differently)."""
    try:
        from hypothesis.errors import Flaky
    except ImportError:
        return False
    return excinfo.errisinstance(Flaky)


def _todo(excinfo) -> str:
    """What a stub asks for first, e.g. 'Tensor.__init__ (katas/01_tensor/tensor.py:38)'."""
    text = str(excinfo.value)
    what = text.split("write ", 1)[1] if "write " in text else text
    where = messages.learner_frames(excinfo.tb, limit=1).strip().splitlines()
    place = where[0].split(", in ")[0] if where else ""
    return f"{what}\n  at {place}" if place else what


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item, call):
    """A learner exception becomes its teaching message before pytest formats a traceback
    (which for NumPy code is hundreds of lines, and for deep recursion millions)."""
    if call.excinfo is None or call.when == "teardown" or not _graded(item):
        return None  # a fixture (setup) that runs learner code is explained like the test
    explained = _explained(item, call.excinfo)
    if explained is None:
        return None
    outcome, text = explained
    props = list(item.user_properties)
    if outcome:
        props.append(("tinytorch_outcome", outcome))
    if outcome == NOT_STARTED:
        props.append(("tinytorch_todo", _todo(call.excinfo)))
    sections = messages.cap_sections((f"Captured {key} {when}", content)
                                     for when, key, content in item._report_sections)
    return TestReport(getattr(item, "id", item.nodeid), item.location, dict.fromkeys(item.keywords, 1),
                      "failed", text, call.when, sections, call.duration, call.start, call.stop,
                      user_properties=props)


class ReportGuard:
    """Registered in every process that runs tests: a test's captured output is kept
    short, and after each graded test what judging depends on is verified (`integrity`);
    a change fails that test's teardown, so its kata cannot go green."""

    def __init__(self, config):
        self.config, self.snapshot = config, None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session):
        if not worker.active():  # a supervised worker verifies for itself
            from .integrity import Snapshot

            import tinytorch  # noqa: F401 - the package's own import hook is part of the baseline
            self.snapshot = Snapshot(self.config.pluginmanager, profiles_name(self.config))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        rep = yield
        if not _graded(item):
            return rep
        if rep.sections:
            rep.sections = messages.cap_sections(rep.sections)
        if call.when == "teardown" and self.snapshot is not None:
            changes = self.snapshot.changes()
            if changes:
                from .integrity import Snapshot

                self.snapshot = Snapshot(self.config.pluginmanager, profiles_name(self.config))
                rep.outcome = "failed"
                rep.longrepr = ("grader tampering detected: code run by this kata changed what the "
                                "grader relies on:\n  " + "\n  ".join(changes[:10]))
        return rep


def profiles_name(config) -> str | None:
    from . import profiles

    return profiles.GRADING if profiles.records(config) else None


class XdistHooks:
    """Registered on the controller only when xdist is installed."""

    def __init__(self, plan: Plan, tally: Tally):
        self.plan, self.tally = plan, tally

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node):
        node.workerinput["tinytorch_plan"] = self.plan.dumps()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids):
        self.tally.collection_finished(ids)


class Controller:
    """Aggregates and writes: one per run, in the controller process only."""

    def __init__(self, config, plan: Plan):
        self.config, self.plan, self.tally = config, plan, Tally()
        self.fingerprints = {k: state.fingerprint(BY_ID[k]) for k in plan.whole}
        self.data = None
        self.problems: list[str] = []
        self.done: list[str] = []  # katas this run marked done
        self.passed_milestones: list[str] = []
        self.pid = os.getpid()  # a forked child of learner code must not write results
        self.exitstatus = 1
        self.threads_before = set(threading.enumerate())
        self._withdraw_stale_links()

    def _withdraw_stale_links(self) -> None:
        """A link must never point at a file edited after its kata went green."""
        data = state.load_quietly()
        for kata in KATAS:
            if state.changed_since_green(kata, data) and publish.is_published(kata):
                try:
                    publish.withdraw(kata)
                except OSError:
                    pass

    def pytest_collection_finish(self, session):
        self.tally.collection_finished(item.nodeid for item in session.items)

    def pytest_runtest_logreport(self, report):
        self.tally.add(report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        if not self.plan.active or self.config.option.collectonly or os.getpid() != self.pid:
            return
        data, warning = state.load()
        if warning:
            self.problems.append(warning)
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            self.problems.append("tinytorch: the run was interrupted, so nothing was recorded.")
        else:
            try:
                self._record_katas(data)
                self._record_milestones(data)
                state.save(data)
                for kata in KATAS:  # repair: every green kata is linked (links are per learner)
                    if state.is_green(kata, data) and not publish.is_published(kata):
                        self.problems += publish.publish(kata, self.config.option.tinytorch_link)
            except OSError as exc:  # a read-only or broken .tinytorch must not cost the results
                self.problems.append(f"tinytorch: progress could not be saved ({exc}); the results "
                                     "below are still complete")
            self._note_narrowed()
        self.data = data
        if session.exitstatus == 0 and self._unfinished():
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self.exitstatus = int(session.exitstatus)
        if self.config.option.tinytorch_json:
            payload = results.build(
                self.tally, session.exitstatus, katas_run=self.plan.whole + self.plan.partial,
                done=self.done, milestones_run=self.plan.milestones,
                milestones_passed=self.passed_milestones, data=data,
                partial=self.config.option.tinytorch_partial_credit)
            try:
                results.write(self.config.option.tinytorch_json, payload)
            except OSError as exc:
                self.problems.append(f"tinytorch: could not write {self.config.option.tinytorch_json}: {exc}")

    def _record_katas(self, data: dict) -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        for kata in KATAS:  # curriculum order: prerequisites are settled first
            if kata.id not in self.plan.whole or kata.id in self.plan.blocked:
                continue
            passed, total, fresh = self.tally.counts(kata.id)
            ready = all(state.is_green(p, data) for p in closure(kata.requires))
            done = self.tally.complete(kata) and ready and self.fingerprints[kata.id] == state.fingerprint(kata)
            data["katas"][kata.id] = {"status": "done" if done else "failing", "passed": passed,
                                      "total": total, "not_started": fresh, "updated": now,
                                      "fingerprint": self.fingerprints[kata.id]}
            if done:
                self.done.append(kata.id)
                self.problems += publish.publish(kata, self.config.option.tinytorch_link)
            else:
                publish.withdraw(kata)

    def _record_milestones(self, data: dict) -> None:
        for name in self.plan.milestones:
            if name in self.plan.locked:
                continue
            passed = self.tally.milestone_passed(name)
            if passed:
                self.passed_milestones.append(name)
            data["milestones"][name] = {"status": "passed" if passed else "failed",
                                        "updated": time.strftime("%Y-%m-%dT%H:%M:%S")}

    def _note_narrowed(self) -> None:
        """A narrower run that passes says once that it recorded nothing, and what would."""
        for kid in self.plan.partial:
            if kid in self.plan.blocked:
                continue
            recs = self.tally.of_kata(kid)
            if recs and all(r.outcome == "passed" for r in recs):
                self.problems.append(f"{kid}: these tests pass, but a run narrowed by "
                                     f"{self.plan.narrowed} does not record the kata: "
                                     f"run {run_command(kid)}")

    def _unfinished(self) -> bool:
        """A grading run never exits 0 on skipped, blocked or unfinished work."""
        if any(r.outcome == SKIPPED and (r.hidden or r.milestone) for r in self.tally.records.values()):
            self.problems.append("Some graded tests were skipped: skipped work never counts as done.")
            return True
        unfinished = [k for k in self.plan.whole if not self.tally.complete(BY_ID[k])]
        return bool(unfinished or self.plan.locked)
