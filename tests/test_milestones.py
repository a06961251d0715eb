"""Milestones fail on subtly broken katas, not only on crashes.

A kata whose hidden tests missed a bug is simulated by appending a patch to the
reference and marking the kata green with its new fingerprint.
"""
from __future__ import annotations

import re

import pytest

from pytest_tinytorch.curriculum import BY_ID
from tests.runner import copy_of, force_green, green_base, pytest_in

# patch appended to the reference layers.py -> message the milestone must show
SABOTAGE = {
    "bias ignored": (
        "def _no_bias(self, x):\n"
        "    return x @ self.weight\n"
        "Linear.forward = _no_bias\n",
        r"does forward add self\.bias"),
    "weight transposed": (
        "_init = Linear.__init__\n"
        "def _transposed(self, in_features, out_features, bias=True):\n"
        "    _init(self, in_features, out_features, bias)\n"
        "    self.weight = Tensor(self.weight.data.T.copy(), requires_grad=True)\n"
        "def _forward_t(self, x):\n"
        "    out = x @ self.weight.transpose()\n"
        "    return out + self.bias if self.bias is not None else out\n"
        "Linear.__init__ = _transposed\n"
        "Linear.forward = _forward_t\n",
        r"weight must have shape \(in_features, out_features\)"),
}


@pytest.mark.parametrize("milestone", ["perceptron", "xor"])
@pytest.mark.parametrize("kind", list(SABOTAGE))
def test_milestone_fails_on_a_subtly_broken_linear(sandboxes, tmp_path, milestone, kind):
    repo = copy_of(green_base(sandboxes, ["03_layers"]), tmp_path / "repo")
    patch, expect = SABOTAGE[kind]
    layers = repo / "katas/03_layers/layers.py"
    layers.write_text((BY_ID["03_layers"].reference / "layers.py").read_text() + "\n\n" + patch)
    force_green(repo, ["03_layers"])
    run = pytest_in(repo, f"--milestone={milestone}")
    assert run.code != 0, run.output[-3000:]
    assert re.search(expect, run.output), run.output[-3000:]


def test_locked_milestone_never_exits_zero(sandboxes, tmp_path):
    repo = copy_of(green_base(sandboxes, ["01_tensor"]), tmp_path / "repo")
    run = pytest_in(repo, "--milestone=all")
    assert run.code != 0
    assert all(m["status"] != "passed" for m in run.results["milestones"].values())
