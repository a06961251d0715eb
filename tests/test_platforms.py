"""Platforms the README promises: Windows, simulated by removing what it lacks."""
from __future__ import annotations

import time
from pathlib import Path

from pytest_tinytorch import publish
from tests.runner import copy_of, green_base, pytest_in, solve

# A sitecustomize that removes SIGALRM, SIGPROF, setitimer, `resource` and symlinks.
WINDOWS = {"PYTHONPATH": str(Path(__file__).with_name("simulated_windows"))}
ENDLESS = "    def __add__(self, other):\n        while True:\n            pass\n"


def test_simulated_windows_passes_a_solved_kata_through_the_shim(sandboxes, tmp_path):
    repo = copy_of(green_base(sandboxes, []), tmp_path / "repo")
    solve(repo, "01_tensor")
    run = pytest_in(repo, "katas/01_tensor", env=WINDOWS, warm=False)
    assert run.code == 0 and run.status("01_tensor") == "done", run.output[-3000:]
    link = repo / "tinytorch/core/tensor.py"
    assert not link.is_symlink() and publish.is_ours(link)
    assert "INTERNALERROR" not in run.output


def test_simulated_windows_stops_an_endless_loop_within_seconds(sandboxes, tmp_path):
    repo = copy_of(green_base(sandboxes, []), tmp_path / "repo")
    solve(repo, "01_tensor")
    path = repo / "katas/01_tensor/tensor.py"
    path.write_text(path.read_text().replace("    def __add__(self, other):\n", ENDLESS, 1))
    start = time.monotonic()
    run = pytest_in(repo, "katas/01_tensor", env=WINDOWS, warm=False, timeout=240)
    elapsed = time.monotonic() - start
    outcomes = run.hidden("01_tensor")
    assert "runaway" in outcomes.values() and "passed" in outcomes.values(), run.output[-3000:]
    assert "endless loop" in run.output and "tensor.py" in run.output
    assert elapsed < 60, f"took {elapsed:.0f} s"

# `from tinytorch import ...` after a real `pip install -e .`, from another folder, on every
# supported Python: .ci/smoke_pythons.py (run by .ci/run).
