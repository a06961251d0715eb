"""One learner's walk through a fresh copy: pristine, then katas 01-03 green, then the
first two milestones, checking what the learner sees at each step; and the whole journey,
every written kata in curriculum order and then every milestone."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

from pytest_tinytorch.curriculum import KATAS, MILESTONES
from tests.runner import copy_of, green_base, pytest_in, solve

FIRST_THREE = ["katas/01_tensor", "katas/02_activations", "katas/03_layers"]


def test_pristine_to_green_katas_and_milestones(sandboxes, tmp_path):
    repo = copy_of(green_base(sandboxes, []), tmp_path / "repo")

    run = pytest_in(repo, *FIRST_THREE)
    assert run.code != 0
    outcomes = [o for t in run.results["tests"] if t["hidden"] for o in [t["outcome"]]]
    assert outcomes and "passed" not in outcomes, "a hidden test passed on a pristine stub"
    assert "not started" in run.output

    run = pytest_in(repo, "--milestone=perceptron")
    assert run.code != 0 and "01_tensor" in run.output

    solve(repo, "01_tensor")
    run = pytest_in(repo, "katas/01_tensor")
    assert run.code == 0 and run.status("01_tensor") == "done"
    probe = subprocess.run([sys.executable, "-c", "from tinytorch import Tensor; print(Tensor([1, 2]) * 2)"],
                           cwd=repo, capture_output=True, text=True)
    assert probe.returncode == 0 and "2., 4." in probe.stdout, probe.stderr

    run = pytest_in(repo, "--milestone=xor")
    assert run.code != 0 and "02_activations" in run.output and "03_layers" in run.output

    solve(repo, "02_activations")
    solve(repo, "03_layers")
    run = pytest_in(repo, "katas/02_activations", "katas/03_layers", "-n", "2")
    assert run.code == 0 and run.status("03_layers") == "done", run.output[-3000:]
    probe = subprocess.run(
        [sys.executable, "-c", "import os, inspect, tinytorch.core.layers as m, tinytorch.core.tensor as t;"
                               "print(os.path.realpath(m.__file__)); print(os.path.realpath(t.__file__))"],
        cwd=repo, capture_output=True, text=True)
    assert probe.stdout.split() == [str((repo / "katas/03_layers/layers.py").resolve()),
                                    str((repo / "katas/01_tensor/tensor.py").resolve())], probe.stderr

    for name in ("perceptron", "xor"):
        run = pytest_in(repo, f"--milestone={name}")
        assert run.code == 0, run.output[-3000:]
        assert run.results["milestones"][name]["status"] == "passed"
        assert "Milestone" in run.output and "accuracy" in run.output  # the panel is shown


WRITTEN = [k for k in KATAS if k.written]


def test_pristine_to_every_kata_and_milestone_green(sandboxes, tmp_path):
    """One `pytest katas/NN_slug` at a time, following the `Next:` line, then
    `--milestone=all`: at the end every kata and milestone is green, with full points."""
    repo = copy_of(green_base(sandboxes, []), tmp_path / "repo")
    first = pytest_in(repo, "--tinytorch-progress")
    assert f"Next: pytest katas/{WRITTEN[0].id}" in first.output, first.output[-2000:]

    for i, kata in enumerate(WRITTEN):
        solve(repo, kata.id)
        run = pytest_in(repo, f"katas/{kata.id}", timeout=600)
        assert run.code == 0 and run.status(kata.id) == "done", run.output[-3000:]
        last = run.output.rstrip().splitlines()[-1]
        if i + 1 < len(WRITTEN):
            assert f"pytest katas/{WRITTEN[i + 1].id}" in last, last

    start = time.monotonic()
    run = pytest_in(repo, "--milestone=all", timeout=900)
    seconds = time.monotonic() - start
    written = [m for m in MILESTONES if m.written]
    statuses = {m.name: run.results["milestones"][m.name]["status"] for m in written}
    assert run.code == 0 and set(statuses.values()) == {"passed"}, (statuses, run.output[-4000:])
    print(f"--milestone=all ({len(written)} milestones): {seconds:.0f} s")

    final = pytest_in(repo, "--tinytorch-progress")  # the learner's table, from the progress file
    earned, most = map(int, re.search(r"tinytorch progress: (\d+)/(\d+) points", final.output).groups())
    assert earned == most > 0, final.output[-2000:]
    if len(WRITTEN) == len(KATAS) and len(written) == len(MILESTONES):
        assert "every kata and milestone is done" in final.output.rstrip().splitlines()[-1]


def test_the_readme_journey_names_every_kata_and_milestone():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    journey = readme.split("## The journey", 1)[1].split("\n## ", 1)[0]
    missing = [k.id for k in KATAS if f"`{k.id}`" not in journey]
    missing += [m.name for m in MILESTONES if f"`{m.name}`" not in journey]
    assert not missing, f"README's journey does not name {missing}"
