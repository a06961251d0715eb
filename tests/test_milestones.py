"""Milestones fail on subtly broken katas, not only on crashes.

A kata whose hidden tests missed a bug is simulated by appending a patch to the
reference and marking the kata green with its new fingerprint.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

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


FOUNDATION = ["08_training"]  # with its prerequisites: katas 01-08

# kata, reference snippet, its sabotaged replacement, message the mlp milestone must show
MLP_SABOTAGE = {
    "zeroed gradients": (
        "06_autograd", "node.grad = g if node.grad is None else node.grad + g",
        "node.grad = np.zeros_like(g)", r"non-zero gradient"),
    "dropped fan-in": (
        "06_autograd", "grads[key] = grads[key] + inp_grad if key in grads else inp_grad",
        "grads[key] = inp_grad", r"must match finite differences"),
    "graph cut by re-wrapping .data": (
        "03_layers", "out = x @ self.weight  #", "out = Tensor((x @ self.weight).data)  #",
        r"non-zero gradient"),
}


@pytest.mark.parametrize("kind", list(MLP_SABOTAGE))
def test_mlp_milestone_fails_on_subtly_broken_gradients(sandboxes, tmp_path, kind):
    kata_id, old, new, expect = MLP_SABOTAGE[kind]
    repo = copy_of(green_base(sandboxes, FOUNDATION), tmp_path / "repo")
    kata = BY_ID[kata_id]
    source = (kata.reference / kata.files[0].name).read_text()
    assert source.count(old) == 1, f"the reference changed: update the {kind!r} sabotage"
    (repo / "katas" / kata_id / kata.files[0].name).write_text(source.replace(old, new))
    force_green(repo, [kata_id])
    run = pytest_in(repo, "--milestone=mlp")
    assert run.code != 0, run.output[-3000:]
    assert re.search(expect, run.output), run.output[-3000:]


CALIBRATE = """
import json, sys
sys.path.insert(0, ".")
from tinytorch import enable_autograd
enable_autograd()
from milestones import test_perceptron, test_xor, test_mlp
seeds = range(10)
out = {
    "perceptron": [test_perceptron.run(s)[1][-1] for s in seeds],
    "xor_limit": [max(test_xor.train("XOR", 60, seed=s)) for s in seeds],
    "and_or": [min(test_xor.train(g, 60, seed=s)[-1] for g in ("AND", "OR")) for s in seeds],
    "mlp_xor": [test_mlp.xor_run(s, gate=False)[2] for s in seeds],
    "mlp_digits": [test_mlp.digits_run(s, gate=False)[1][-1] for s in seeds],
    "thresholds": {"perceptron": test_perceptron.THRESHOLD, "digits": test_mlp.DIGITS_THRESHOLD},
}
print(json.dumps(out))
"""


def test_milestone_thresholds_hold_over_ten_seeds(sandboxes, tmp_path):
    """No milestone passes or fails by luck with the weight init (PyTorch's U(+-1/sqrt(in))):
    on ten seeds the reference clears every threshold with room to spare."""
    repo = copy_of(green_base(sandboxes, FOUNDATION), tmp_path / "repo")
    env = {k: v for k, v in os.environ.items() if k != "TINYTORCH_AUTOGRAD"}
    proc = subprocess.run([sys.executable, "-c", CALIBRATE], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    limits = figures["thresholds"]
    assert min(figures["perceptron"]) >= limits["perceptron"], figures
    assert max(figures["xor_limit"]) <= 0.75 and min(figures["and_or"]) == 1.0, figures
    assert min(figures["mlp_xor"]) == 1.0, figures
    assert min(figures["mlp_digits"]) >= limits["digits"] + 0.03, figures  # a margin, not a coin toss
