"""The learner's screen at the end of a run: what failed, why, and the next command.

pytest prints every failure in full. On a pristine kata that is fifteen identical "not
started" blocks, and on a half-finished one a wall of messages. Here (rustlings is the
model) not-started tests collapse into one line per kata, the first few real failures
are shown in full and the rest in one line each (all still counted: pytest's own tally
line is untouched), then the progress table, and `Next:` is the very last line.
`-v` shows every real failure in full, `-vv` every not-started test too.
"""
from __future__ import annotations

import os
from collections import Counter

import pytest

from . import report
from .tally import NOT_STARTED

SHOWN_IN_FULL = 3


def _props(rep) -> dict:
    return dict(getattr(rep, "user_properties", []) or [])


def _kata_of(rep) -> str:
    parts = rep.nodeid.split("::", 1)[0].split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "katas" else ""


def _first_line(rep) -> str:
    text = (getattr(rep, "longreprtext", "") or "").strip()
    line = text.splitlines()[0] if text else "failed"
    return line if len(line) <= 100 else line[:97] + "..."


class Screen:
    """Registered on the controller only; `data()` gives the progress state to draw."""

    def __init__(self, config, controller):
        self.config, self.controller = config, controller
        self.hidden: list = []

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter):
        verbosity = self.config.get_verbosity()
        self.hidden = []
        real = 0
        saved = {}
        for key in ("error", "failed"):  # errors: a fixture that ran learner code failed
            reports = terminalreporter.stats.get(key, [])
            keep = []
            for rep in reports:
                graded = rep.nodeid.startswith(("katas/", "milestones/"))
                fresh = _props(rep).get("tinytorch_outcome") == NOT_STARTED
                if graded and fresh and verbosity < 2:
                    self.hidden.append(rep)
                elif graded and not fresh and real >= SHOWN_IN_FULL and verbosity < 1:
                    self.hidden.append(rep)
                else:
                    real += not fresh
                    keep.append(rep)
            if reports:
                saved[key] = reports
                terminalreporter.stats[key] = keep
        try:
            return (yield)
        finally:
            terminalreporter.stats.update(saved)  # pytest's final tally counts them all
            self._write(terminalreporter)

    def _write(self, tr) -> None:
        data = self.controller.data
        if data is None or os.getpid() != self.controller.pid:
            return
        tr.write_sep("=", "tinytorch")
        for line in self.collapsed_lines():
            tr.write_line(line)
        for rec in self.controller.tally.records.values():
            if rec.panel:
                tr.write(rec.panel)
        tw = self.config.get_terminal_writer()
        quiet = self.config.get_verbosity() < 0
        table = report.progress_table(data, width=tw.fullwidth, quiet=quiet)
        tr.write(report.render(table, width=tw.fullwidth, color=tw.hasmarkup))
        for line in self.controller.problems + self.controller.plan.notes:
            tr.write_line(line, yellow=True)

    def collapsed_lines(self) -> list[str]:
        lines = []
        real = [r for r in self.hidden if _props(r).get("tinytorch_outcome") != NOT_STARTED]
        fresh = [r for r in self.hidden if _props(r).get("tinytorch_outcome") == NOT_STARTED]
        if real:
            lines.append(f"{len(real)} more failure{'s' * (len(real) > 1)} "
                         "(pytest -v shows them in full):")
            lines += [f"  {r.nodeid.rsplit('::', 1)[-1]}: {_first_line(r)}" for r in real]
        by_kata: dict[str, list] = {}
        for rep in fresh:
            by_kata.setdefault(_kata_of(rep), []).append(rep)
        for kata_id, reps in by_kata.items():
            todo = Counter(_props(r).get("tinytorch_todo", "") for r in reps).most_common(1)[0][0]
            begin = f"; begin with {todo}" if todo else ""
            n = len(reps)
            lines.append(f"{kata_id}: {n} test{'s' * (n > 1)} not started{begin}")
        return lines

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self, config):
        data = self.controller.data
        tr = config.pluginmanager.get_plugin("terminalreporter")
        if data is not None and tr is not None and os.getpid() == self.controller.pid:
            tr.write_line(report.next_step(data), bold=True)
