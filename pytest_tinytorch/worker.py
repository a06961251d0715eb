"""The worker side of a supervised (grading) run: one pytest process per kata or
milestone, started by `supervise`, streaming what happens as JSON lines on a pipe.

The worker runs learner code, so nothing it says is trusted blindly: the parent keeps
the clock (and kills), checks that every expected test reported, and treats a missing
report as a failure. In here, a snapshot of what judging depends on (`integrity`) is
verified after collection, after every test and at the end; any change is reported as
tampering. The learner's KeyboardInterrupt is that test's failure (the worker has no
terminal: a real Ctrl-C reaches the parent, which stops everything).
"""
from __future__ import annotations

import json
import os

import pytest

from .integrity import Snapshot

ENV = "TINYTORCH_WORKER"  # set by the parent: the fd of the event pipe
MAX_MESSAGE = 20_000  # characters of one failure message sent to the parent


def active() -> bool:
    return bool(os.environ.get(ENV))


class Worker:
    def __init__(self, config, profile: str):
        self.config = config
        self.fd = int(os.environ[ENV])
        self.profile = profile
        self.snapshot: Snapshot | None = None
        self.pid = os.getpid()

    def send(self, event: dict) -> None:
        if os.getpid() != self.pid:  # a forked child of learner code speaks for no one
            return
        data = (json.dumps(event) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def verify(self, where: str) -> None:
        changes = self.snapshot.changes() if self.snapshot is not None else []
        if changes:
            self.send({"event": "tamper", "where": where, "changes": changes[:10]})
            self.snapshot = Snapshot(self.config.pluginmanager, self.profile)  # report each change once

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session):
        import tinytorch  # noqa: F401 - the package's own import hook is part of the baseline

        self.snapshot = Snapshot(self.config.pluginmanager, self.profile)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session, config, items):
        """Tell the parent every test there is, then leave out those it has already seen
        (a worker started again after a kill runs only what is left)."""
        self.send({"event": "collected", "ids": [item.nodeid for item in items]})
        skip_file = os.environ.get("TINYTORCH_SKIP", "")
        skip = set(open(skip_file, encoding="utf-8").read().split("\n")) if skip_file else set()
        if skip:
            config.hook.pytest_deselected(items=[i for i in items if i.nodeid in skip])
            items[:] = [i for i in items if i.nodeid not in skip]

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session):
        self.verify("while your kata code was imported")

    def pytest_runtest_logstart(self, nodeid, location):
        self.send({"event": "start", "nodeid": nodeid})

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item):
        from hypothesis import settings

        settings.load_profile(self.profile)  # whatever learner code loaded, grading uses ours
        return (yield)

    def pytest_runtest_logreport(self, report):
        props = dict(report.user_properties or [])
        text = (getattr(report, "longreprtext", "") or "")
        if report.skipped and isinstance(report.longrepr, tuple):
            text = str(report.longrepr[2])
        self.send({"event": "report", "nodeid": report.nodeid, "when": report.when,
                   "outcome": report.outcome, "message": text[:MAX_MESSAGE],
                   "duration": report.duration, "location": list(report.location or ()),
                   "kind": props.get("tinytorch_outcome", ""), "todo": props.get("tinytorch_todo", ""),
                   "panel": props.get("tinytorch_panel", "")})

    def pytest_runtest_logfinish(self, nodeid, location):
        self.verify(f"during {nodeid}")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        self.verify("at the end of the run")
        self.send({"event": "finish", "exitstatus": int(exitstatus)})
