"""pytest hooks of the tinytorch grader: small and flat, each delegating to one role."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from . import collect, grade, guard, imports, publish, report, state
from .curriculum import BY_ID, KATAS, MILESTONES, MILESTONES_BY_NAME, MILESTONES_DIR, ROOT, closure
from .plan import Plan, make_plan
from .tally import NOT_STARTED, RUNAWAY, SKIPPED, Tally

# No `explain` phase: it costs seconds on every failure and learners get a shrunk example.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
# Hypothesis keeps its files at the root, not in whichever kata folder pytest ran from.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(ROOT / ".hypothesis"))
settings.register_profile(
    "tinytorch-learn", deadline=None, max_examples=50, report_multiple_bugs=False, phases=PHASES,
    print_blob=False, database=DirectoryBasedExampleDatabase(str(ROOT / ".hypothesis" / "examples")))
settings.register_profile(  # derived from the built-in `ci` profile, never re-registering it
    "tinytorch-grade", parent=settings.get_profile("ci"), deadline=None, max_examples=50,
    report_multiple_bugs=False, derandomize=True, database=None, phases=PHASES)

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
                    help="use the derandomized grading profile (automatic when CI is set)")
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
        print(report.render(report.progress_table(data), width=_width()), end="")
        print(report.next_step(data))
        return 0
    return None


def _width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 100


def pytest_configure(config):
    if not _ours(config):
        return
    if not config.getoption("hypothesis_profile", None):
        grading = config.option.tinytorch_grade or os.environ.get("CI") or os.environ.get("GITHUB_ACTIONS")
        settings.load_profile("tinytorch-grade" if grading else "tinytorch-learn")
    worker = hasattr(config, "workerinput")
    plan = Plan.loads(config.workerinput["tinytorch_plan"]) if worker else make_plan(config)
    config.stash[PLAN] = plan
    config.args[:] = plan.args
    if plan.serve:
        imports.install(plan.serve)
    if not worker:
        controller = Controller(config, plan)
        config.pluginmanager.register(controller, "tinytorch-controller")
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(XdistHooks(plan, controller.tally), "tinytorch-xdist")


def pytest_unconfigure(config):
    imports.uninstall()


def pytest_report_header(config):
    plan = config.stash.get(PLAN, None)
    if plan is None:
        return None
    lines = list(plan.notes)
    if plan.chosen:
        lines.append(f"tinytorch: continuing with kata {plan.chosen} "
                     "(plain `pytest` runs the first kata not done yet)")
    return lines


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
    nodeid = item.nodeid
    return nodeid.startswith(("katas/", "milestones/"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if not _graded(item):
        return (yield)
    with guard.memory_budget():
        if guard.guard_item(item, item.config.option.tinytorch_budget):
            return (yield)
        seconds = MILESTONE_BUDGET if item.nodeid.startswith("milestones/") else PLAIN_TEST_BUDGET
        with guard.cpu_budget(seconds, "This test"):
            return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    excinfo = call.excinfo
    if rep.failed and excinfo is not None and _graded(item):
        if excinfo.errisinstance(guard.RunawayCode):
            rep.longrepr = report.runaway_message(excinfo)
            rep.user_properties.append(("tinytorch_outcome", RUNAWAY))
        elif excinfo.errisinstance(MemoryError):
            rep.longrepr = report.memory_message(excinfo)
        elif excinfo.errisinstance(NotImplementedError):
            rep.longrepr = report.not_started_message(excinfo)
            rep.user_properties.append(("tinytorch_outcome", NOT_STARTED))
    return rep


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

    def pytest_collection_finish(self, session):
        self.tally.collection_finished(item.nodeid for item in session.items)

    def pytest_runtest_logreport(self, report):
        self.tally.add(report)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        if not self.plan.active or self.config.option.collectonly:
            return
        data, warning = state.load()
        if warning:
            self.problems.append(warning)
        self._record_katas(data)
        self._record_milestones(data)
        state.save(data)
        self.data = data
        for kata in KATAS:  # repair: every green kata is linked (links are per learner)
            if state.is_green(kata, data) and not publish.is_published(kata):
                self.problems += publish.publish(kata, self.config.option.tinytorch_link)
        if session.exitstatus == 0 and self._unfinished():
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.config.option.tinytorch_json:
            grade.write(self.config.option.tinytorch_json,
                        grade.results(self.tally, data, self.plan, session.exitstatus))

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
                self.problems += publish.publish(kata, self.config.option.tinytorch_link)
            else:
                publish.withdraw(kata)

    def _record_milestones(self, data: dict) -> None:
        for name in self.plan.milestones:
            if name in self.plan.locked:
                continue
            passed = self.tally.milestone_passed(name)
            data["milestones"][name] = {"status": "passed" if passed else "failed",
                                        "updated": time.strftime("%Y-%m-%dT%H:%M:%S")}

    def _unfinished(self) -> bool:
        """A grading run never exits 0 on skipped, blocked or unfinished work."""
        if any(r.outcome == SKIPPED and (r.hidden or r.milestone) for r in self.tally.records.values()):
            self.problems.append("Some graded tests were skipped: skipped work never counts as done.")
            return True
        unfinished = [k for k in self.plan.whole if not self.tally.complete(BY_ID[k])]
        return bool(unfinished or self.plan.locked)

    def pytest_terminal_summary(self, terminalreporter):
        if self.data is None:
            return
        tw = self.config.get_terminal_writer()
        text = report.render(report.progress_table(self.data), width=tw.fullwidth, color=tw.hasmarkup)
        terminalreporter.write_sep("=", "tinytorch")
        for rec in self.tally.records.values():
            if rec.panel:
                terminalreporter.write(rec.panel)
        terminalreporter.write(text)
        for line in self.problems + self.plan.notes:
            terminalreporter.write_line(line, yellow=True)
        terminalreporter.write_line(report.next_step(self.data), bold=True)
