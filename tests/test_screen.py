"""What the learner sees: a calm screen (rustlings is the model), teaching messages for
crashes, and honest notes when a run records nothing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.runner import copy_of, green_base, pytest_in, solve

NARROW = {"COLUMNS": "80"}
KATA = "katas/01_tensor"


def _lines(output: str) -> list[str]:
    return output.rstrip("\n").splitlines()


def test_a_pristine_kata_fits_on_one_screen_and_ends_with_next(sandboxes, tmp_path):
    repo = copy_of(green_base(sandboxes, []), tmp_path / "repo")
    run = pytest_in(repo, KATA, env=NARROW, warm=False)
    lines = _lines(run.output)
    assert run.code != 0
    assert len(lines) <= 40, "\n".join(lines)
    ours = [l for l in lines if not l.startswith("rootdir:")]  # pytest's, as long as the path
    assert all(len(line) <= 80 for line in ours), "\n".join(l for l in ours if len(l) > 80)
    assert lines[-1].startswith("Next: pytest katas/01_tensor"), lines[-1]
    assert sum("not started" in line for line in lines) <= 3  # one summary line, not one per test
    assert "begin with Tensor.__init__" in run.output
    assert not any(line.startswith("timeout") for line in lines)  # pytest-timeout's header
    tests = len(run.hidden("01_tensor"))
    assert tests > 10 and f"{tests} failed" in run.output  # all still counted


def test_the_table_degrades_cleanly_at_40_columns(sandboxes, tmp_path):
    repo = copy_of(green_base(sandboxes, []), tmp_path / "repo")
    run = pytest_in(repo, "--tinytorch-progress", env={"COLUMNS": "40"}, warm=False)
    assert run.code == 0
    table = [l for l in _lines(run.output) if l.strip()]
    assert all(len(line) <= 40 for line in table[:-1]), "\n".join(table)
    assert "Tensor" in run.output and "Foundation" in run.output


def test_quiet_shrinks_the_table_to_one_line_per_tier(sandboxes, tmp_path):
    repo = copy_of(green_base(sandboxes, []), tmp_path / "repo")
    loud = pytest_in(repo, "--tinytorch-progress")
    quiet = pytest_in(repo, "--tinytorch-progress", "-q")
    assert len(_lines(quiet.output)) < len(_lines(loud.output)) <= 30
    assert "Tensor" not in quiet.output and "Foundation" in quiet.output


def test_real_failures_beyond_the_first_few_take_one_line_each(sandboxes, tmp_path):
    repo = copy_of(green_base(sandboxes, []), tmp_path / "repo")
    solve(repo, "01_tensor")
    path = repo / KATA / "tensor.py"
    source = path.read_text()
    for old, new in (("self.data + _data(other)", "self.data - _data(other)"),
                     ("self.data * _data(other)", "self.data + _data(other)"),
                     ("self.data.sum(axis=axis, keepdims=keepdims)", "self.data.sum(keepdims=keepdims)"),
                     ("self.data.mean(axis=axis, keepdims=keepdims)", "self.data.sum()"),
                     ("np.swapaxes(self.data, dim0, dim1)", "self.data.T"),
                     ("return int(self.data.nbytes)", "return 0")):
        source = source.replace(old, new)
    path.write_text(source)
    run = pytest_in(repo, KATA, env=NARROW)
    failed = [n for n, o in run.hidden("01_tensor").items() if o != "passed"]
    assert len(failed) > 4, run.output
    assert run.output.count("has wrong values") + run.output.count("has the wrong shape") >= 3
    assert f"{len(failed) - 3} more failures (pytest -v shows them in full):" in run.output
    assert f"{len(failed)} failed" in run.output
    assert _lines(run.output)[-1].startswith("Next:")
    verbose = pytest_in(repo, KATA, "-v", env=NARROW)
    assert "more failure" not in verbose.output


def test_a_crash_inside_numpy_is_a_short_message_naming_the_property_and_the_line(sandboxes, tmp_path):
    repo = copy_of(green_base(sandboxes, []), tmp_path / "repo")
    solve(repo, "01_tensor")
    path = repo / KATA / "tensor.py"
    path.write_text(path.read_text().replace("return Tensor(np.matmul(a, b))",
                                             "return Tensor(np.einsum('ij,jk->ik', a, b))"))
    node = f"{KATA}/.tests/test_tensor_shapes.py::test_matmul_agrees_with_numpy"
    run = pytest_in(repo, node)
    message = next(t["message"] for t in run.results["tests"] if t["nodeid"] == node)
    assert len(message.splitlines()) < 40, message
    assert message.startswith("Matmul agrees with numpy")
    assert "inside NumPy (einsum)" in message and "tensor.py:" in message and "np.einsum('ij" in message
    assert "on this input" in message
    for noise in ("@given", "@example", "site-packages", "def einsum", "_pytest", "hypothesis/core"):
        assert noise not in message and noise not in run.output, noise


def test_a_narrow_run_that_passes_says_it_recorded_nothing(sandboxes, tmp_path):
    repo = copy_of(green_base(sandboxes, []), tmp_path / "repo")
    solve(repo, "01_tensor")
    run = pytest_in(repo, KATA, "-k", "matmul")
    assert run.code == 0
    notes = [l for l in _lines(run.output) if "does not record the kata" in l]
    assert len(notes) == 1 and "run pytest katas/01_tensor" in notes[0] and "-k" in notes[0]
    assert not (repo / ".tinytorch" / "progress.json").exists() or \
        "01_tensor" not in json.loads((repo / ".tinytorch" / "progress.json").read_text())["katas"]


def test_a_file_of_a_blocked_kata_shows_its_prerequisites(sandboxes, tmp_path):
    repo = copy_of(green_base(sandboxes, []), tmp_path / "repo")
    for target in ("katas/02_activations/.tests/test_activations.py",
                   "katas/02_activations/.tests/test_activations.py::test_relu_at_zero_is_zero"):
        run = pytest_in(repo, target)
        assert run.code != 0
        assert "needs 01_tensor" in run.output and "not found" not in run.output, run.output[-2000:]


def test_ctrl_c_records_nothing(sandboxes, tmp_path):
    repo = copy_of(green_base(sandboxes, []), tmp_path / "repo")
    solve(repo, "01_tensor")
    path = repo / KATA / "tensor.py"
    path.write_text(path.read_text().replace(
        "    def __add__(self, other):\n",
        "    def __add__(self, other):\n        import time; time.sleep(0.2)\n", 1))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "HYPOTHESIS_")) and k not in ("CI", "GITHUB_ACTIONS")}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", KATA], cwd=repo,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = ""
    while ".tests/test_" not in seen:  # the tests have started (a progress line is printing)
        char = proc.stdout.read(1)
        assert char, f"pytest ended before any test ran:\n{seen[-2000:]}"
        seen += char
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    output = seen + output
    assert proc.returncode == 2, output[-2000:]
    assert "interrupted, so nothing was recorded" in output
    state = repo / ".tinytorch" / "progress.json"
    assert not state.exists() or "01_tensor" not in json.loads(state.read_text())["katas"]
