"""Per-test outcomes gathered on the controller, and which katas a run completed.

Everything is derived from node ids and reports, never from collected items, because
under xdist the controller collects nothing and a crashed worker sends a bare report.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .curriculum import HIDDEN_TESTS, Kata, kata_of_nodeid, milestone_of_nodeid

PASSED, FAILED, NOT_STARTED, RUNAWAY, SKIPPED, ERROR = (
    "passed", "failed", "not started", "runaway", "skipped", "error")


@dataclass
class Record:
    nodeid: str
    kata: str | None
    milestone: str | None
    hidden: bool
    outcome: str = ""  # stays empty until a phase reports; a test passes only in its call
    duration: float = 0.0
    message: str = ""
    file: str = ""
    line: int | None = None
    panel: str = ""  # a milestone's figures, printed in the summary


def is_hidden(nodeid: str) -> bool:
    """Hidden tests and the plugin's own problem items count for the grade."""
    return f"/{HIDDEN_TESTS}/" in nodeid or nodeid.endswith(("::prerequisites", "::hidden-tests"))


@dataclass
class Tally:
    expected: set[str] = field(default_factory=set)
    records: dict[str, Record] = field(default_factory=dict)
    collected: bool = False

    def collection_finished(self, nodeids) -> None:
        if not self.collected:  # under xdist every worker reports the same ids
            self.expected = set(nodeids)
            self.collected = True

    def expect(self, nodeids) -> None:
        """More expected tests (a supervised run learns them one unit at a time)."""
        self.expected |= set(nodeids)

    def add(self, report) -> None:
        nodeid = report.nodeid
        rec = self.records.get(nodeid)
        if rec is None:
            m = milestone_of_nodeid(nodeid)
            k = kata_of_nodeid(nodeid)
            rec = Record(nodeid, k.id if k else None, m.name if m else None, is_hidden(nodeid))
            fs = getattr(report, "location", None)
            if fs:
                rec.file, rec.line = fs[0], (fs[1] + 1 if fs[1] is not None else None)
            self.records[nodeid] = rec
        rec.duration += getattr(report, "duration", 0.0) or 0.0
        props = dict(getattr(report, "user_properties", []) or [])
        rec.panel = props.get("tinytorch_panel", rec.panel)
        if report.when == "???":  # xdist: the worker running this test crashed
            self._worse(rec, ERROR, "the test process crashed while running this test "
                                    "(os._exit, a segfault, or memory exhaustion?)")
        elif report.failed:
            kind = props.get("tinytorch_outcome") or (FAILED if report.when == "call" else ERROR)
            self._worse(rec, kind, _text(report))
        elif report.skipped:
            self._worse(rec, SKIPPED, _text(report))
        elif report.when == "call" and rec.outcome == "":
            rec.outcome = PASSED

    @staticmethod
    def _worse(rec: Record, outcome: str, message: str) -> None:
        if rec.outcome in ("", PASSED, SKIPPED):
            rec.outcome, rec.message = outcome, message

    def of_kata(self, kata_id: str) -> list[Record]:
        return [r for r in self.records.values() if r.kata == kata_id and r.hidden]

    def expected_of(self, kata_id: str) -> set[str]:
        return {n for n in self.expected if is_hidden(n) and (k := kata_of_nodeid(n)) and k.id == kata_id}

    def counts(self, kata_id: str) -> tuple[int, int, int]:
        """(passed, total, not started) of a kata's hidden tests in this run."""
        expected = self.expected_of(kata_id)
        recs = {r.nodeid: r for r in self.of_kata(kata_id)}
        total = len(expected | set(recs))
        passed = sum(1 for n in expected if n in recs and recs[n].outcome == PASSED)
        not_started = sum(1 for r in recs.values() if r.outcome == NOT_STARTED)
        return passed, total, not_started

    def complete(self, kata: Kata) -> bool:
        """Every expected hidden test of the kata ran and passed (and there was one)."""
        passed, total, _ = self.counts(kata.id)
        return total > 0 and passed == total

    def milestone_passed(self, name: str) -> bool:
        recs = [r for r in self.records.values() if r.milestone == name]
        expected = {n for n in self.expected if (m := milestone_of_nodeid(n)) and m.name == name}
        return bool(expected) and all(
            any(r.nodeid == n and r.outcome == PASSED for r in recs) for n in expected)


def _text(report) -> str:
    text = getattr(report, "longreprtext", "") or ""
    if report.skipped and isinstance(report.longrepr, tuple):
        text = str(report.longrepr[2])
    return text.strip()
