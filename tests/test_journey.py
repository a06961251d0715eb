"""One learner's walk through a fresh copy: pristine, then katas 01-03 green, then the
first two milestones, checking what the learner sees at each step."""
from __future__ import annotations

import subprocess
import sys

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
