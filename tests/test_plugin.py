"""The grader itself: gating, linking, progress state, runaway code, selections, output."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from pytest_tinytorch import publish
from pytest_tinytorch.curriculum import KATAS, MILESTONES
from tests.runner import copy_of, green_base, pytest_in, solve

KATA = "katas/01_tensor"
LINK = "tinytorch/core/tensor.py"


@pytest.fixture
def pristine(sandboxes, tmp_path):
    return copy_of(green_base(sandboxes, []), tmp_path / "repo")


@pytest.fixture
def green01(sandboxes, tmp_path):
    return copy_of(green_base(sandboxes, ["01_tensor"]), tmp_path / "repo")


def progress(repo):
    return json.loads((repo / ".tinytorch" / "progress.json").read_text())


def python_in(repo, code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True)


# ------------------------------------------------------------------ linking

def test_green_kata_is_linked_relatively_and_importable(green01):
    link = green01 / LINK
    assert link.is_symlink() and os.readlink(link) == "../../katas/01_tensor/tensor.py"
    proc = python_in(green01, "import inspect, os; from tinytorch import Tensor;"
                              "print(os.path.realpath(inspect.getfile(Tensor)))")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str((green01 / KATA / "tensor.py").resolve())


def test_names_of_unfinished_katas_say_which_kata_provides_them(green01):
    proc = python_in(green01, "from tinytorch import Linear")
    assert proc.returncode != 0 and "03_layers" in proc.stderr and "pytest katas/03_layers" in proc.stderr


def test_failing_full_run_removes_the_link_but_never_the_learners_file(green01):
    kata_file = green01 / KATA / "tensor.py"
    broken = kata_file.read_text().replace("return Tensor(self.data + _data(other))",
                                           "return Tensor(self.data - _data(other))")
    kata_file.write_text(broken)
    run = pytest_in(green01, KATA)
    assert run.code != 0 and run.status("01_tensor") == "failing"
    assert not (green01 / LINK).exists() and not (green01 / LINK).is_symlink()
    assert kata_file.read_text() == broken


def test_a_regular_file_where_the_link_goes_survives(pristine):
    solve(pristine, "01_tensor")
    (pristine / LINK).write_text("# my own notes\n")
    run = pytest_in(pristine, KATA)
    assert run.code == 0
    assert (pristine / LINK).read_text() == "# my own notes\n"
    assert "left alone" in run.output


def test_shim_fallback_imports_the_kata_file_and_is_removed_on_failure(pristine):
    solve(pristine, "01_tensor")
    run = pytest_in(pristine, KATA, "--tinytorch-link=shim")
    assert run.code == 0, run.output[-2000:]
    shim = pristine / LINK
    assert not shim.is_symlink() and publish.is_ours(shim)
    proc = python_in(pristine, "from pytest_tinytorch.checks import assert_from_kata;"
                               "from tinytorch.core.tensor import Tensor;"
                               "assert_from_kata(Tensor, '01_tensor'); print(Tensor([1, 2]).data)")
    assert proc.returncode == 0 and "[1. 2.]" in proc.stdout, proc.stderr
    (pristine / KATA / "tensor.py").write_text("raise SystemExit(3)\n")
    assert pytest_in(pristine, KATA).code != 0
    assert not shim.exists()


def test_link_file_replaces_our_link_atomically_and_leaves_no_temporary(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("A = 1\n"), b.write_text("B = 1\n")
    target = tmp_path / "pkg" / "mod.py"
    assert publish.link_file(a, target) == "symlink"
    publish.link_file(b, target)
    assert os.readlink(target) == "../b.py"
    assert sorted(p.name for p in target.parent.iterdir()) == ["mod.py"]
    assert a.read_text() == "A = 1\n" and b.read_text() == "B = 1\n"
    target.unlink()
    target.write_text("mine\n")
    with pytest.raises(publish.Refused):
        publish.link_file(a, target)
    assert target.read_text() == "mine\n"


# ------------------------------------------------------------------ state

def test_corrupted_progress_file_is_recovered_with_a_warning(green01):
    path = green01 / ".tinytorch" / "progress.json"
    path.write_text("{ this is not json")
    run = pytest_in(green01, KATA)
    assert run.code == 0
    assert "could not be read" in run.output
    assert progress(green01)["katas"]["01_tensor"]["status"] == "done"
    assert list(path.parent.glob("progress.json.corrupt-*"))


def test_edit_after_green_is_noticed(green01):
    with open(green01 / KATA / "tensor.py", "a") as fh:
        fh.write("\n# an edit\n")
    run = pytest_in(green01, "--tinytorch-progress")
    assert run.code == 0 and "changed" in run.output
    run = pytest_in(green01, "--milestone=perceptron")
    assert run.code != 0 and "changed since it went green" in run.output


def test_progress_table_prints_without_running_tests(pristine):
    run = pytest_in(pristine, "--tinytorch-progress")
    assert run.code == 0
    assert "Foundation" in run.output and "Capstone" in run.output
    written = sum(k.points for k in KATAS if k.written) + sum(m.points for m in MILESTONES if m.written)
    assert f"tinytorch progress: 0/{written} points" in run.output, run.output
    assert ("coming" in run.output) == (not all(k.written for k in KATAS)), run.output
    assert not (pristine / ".tinytorch" / "progress.json").exists()


# ------------------------------------------------------------------ gating and selection

def test_blocked_kata_fails_fast_naming_its_prerequisite(pristine):
    run = pytest_in(pristine, "katas/02_activations")
    assert run.code != 0
    assert list(run.hidden("02_activations").values()) == ["failed"]
    assert "needs 01_tensor" in run.output and "pytest katas/01_tensor" in run.output
    assert "ImportError" not in run.output


def test_locked_milestone_fails_naming_katas(pristine):
    run = pytest_in(pristine, "--milestone=perceptron")
    assert run.code != 0
    assert "01_tensor" in run.output and "pytest katas/01_tensor" in run.output


def _first_test_name(path):
    return re.search(r"^def (test_\w+)", path.read_text(), re.M).group(1)


def _first_hidden_file(repo):
    return str(sorted((repo / KATA / ".tests").glob("test_*.py"))[0].relative_to(repo))


def test_a_milestone_not_written_yet_is_a_usage_error(pristine):
    (pristine / "milestones" / "test_mlperf.py").unlink()  # as before the milestone was written
    run = pytest_in(pristine, "--milestone=mlperf")
    assert run.code == pytest.ExitCode.USAGE_ERROR and "not written yet" in run.output


@pytest.mark.parametrize("selection", ["-k", "file", "node id", "--deselect"])
def test_narrow_selections_never_mark_a_kata_done(pristine, selection):
    solve(pristine, "01_tensor")
    first = _first_hidden_file(pristine)
    args = {"-k": ["-k", "matmul", KATA],
            "file": [first],
            "node id": [f"{first}::{_first_test_name(pristine / first)}"],
            "--deselect": ["--deselect", f"{first}::no_such_test", KATA]}[selection]
    run = pytest_in(pristine, *args)
    assert run.code == 0 and run.results["tests"], run.output[-2000:]
    assert "01_tensor" not in progress(pristine)["katas"]
    assert not (pristine / LINK).exists()


def test_bare_pytest_continues_with_the_first_kata_not_done(green01):
    run = pytest_in(green01)
    assert "continuing with kata 02_activations" in run.output
    assert run.hidden("02_activations") and not run.hidden("01_tensor")


def test_running_from_inside_the_kata_folder(pristine):
    solve(pristine, "01_tensor")
    run = pytest_in(pristine, cwd=pristine / KATA)
    assert run.code == 0 and run.status("01_tensor") == "done", run.output[-2000:]
    assert not (pristine / KATA / ".hypothesis").exists()


def test_prerequisites_run_in_the_same_command(pristine):
    for kid in ("01_tensor", "02_activations"):
        solve(pristine, kid)
    run = pytest_in(pristine, KATA, "katas/02_activations")
    assert run.code == 0, run.output[-3000:]
    assert run.status("01_tensor") == run.status("02_activations") == "done"


# ------------------------------------------------------------------ untrusted code

ENDLESS = "    def __add__(self, other):\n        while True:\n            pass\n\n    def _old_add(self, other):"


def test_endless_loop_fails_its_tests_quickly_and_the_rest_still_pass(pristine):
    solve(pristine, "01_tensor")
    path = pristine / KATA / "tensor.py"
    path.write_text(path.read_text().replace("    def __add__(self, other):", ENDLESS, 1))
    start = time.monotonic()
    run = pytest_in(pristine, KATA, timeout=240)
    elapsed = time.monotonic() - start
    outcomes = run.hidden("01_tensor")
    assert run.code != 0 and "runaway" in outcomes.values(), run.output[-3000:]
    assert "passed" in outcomes.values()
    assert "endless loop" in run.output and "tensor.py" in run.output
    assert elapsed < 120, f"took {elapsed:.0f} s"


def test_huge_allocation_fails_its_tests_at_once_and_the_rest_still_pass(pristine):
    solve(pristine, "01_tensor")
    path = pristine / KATA / "tensor.py"
    eight_gb = "    def __mul__(self, other):\n        np.ones(1 << 30)  # 8 GB of float64\n"
    path.write_text(path.read_text().replace("    def __mul__(self, other):\n", eight_gb, 1))
    start = time.monotonic()
    run = pytest_in(pristine, KATA, timeout=240)
    outcomes = run.hidden("01_tensor")
    assert run.code != 0 and "failed" in outcomes.values() and "passed" in outcomes.values()
    assert "far more memory than this test needs" in run.output and "tensor.py" in run.output
    assert time.monotonic() - start < 120


@pytest.mark.parametrize("poison,expect", [
    ("import sys\nsys.exit(0)\n", "sys.exit(0)"),
    ("def broken(:\n", "SyntaxError"),
    ("raise RuntimeError('boom at import')\n", "boom at import"),
])
def test_import_failures_are_attributed_and_the_run_goes_on(green01, poison, expect):
    solve(green01, "02_activations")
    path = green01 / "katas/02_activations/activations.py"
    path.write_text(path.read_text() + "\n" + poison)
    run = pytest_in(green01, KATA, "katas/02_activations")
    assert run.code != 0
    assert run.status("01_tensor") == "done" and set(run.hidden("01_tensor").values()) == {"passed"}
    assert set(run.hidden("02_activations").values()) == {"failed"}
    assert expect in run.output and "could not be imported" in run.output


def test_skipped_work_never_counts(pristine):
    solve(pristine, "01_tensor")
    path = pristine / KATA / "tensor.py"
    path.write_text(path.read_text().replace(
        "    def __neg__(self):", "    def __neg__(self):\n        import pytest; pytest.skip('later')", 1))
    run = pytest_in(pristine, KATA)
    assert run.code != 0 and run.status("01_tensor") != "done"


# ------------------------------------------------------------------ parallel runs

def test_xdist_gives_the_same_outcomes_as_a_serial_run(pristine):
    for kid in ("01_tensor", "02_activations", "03_layers"):
        solve(pristine, kid)
    args = [KATA, "katas/02_activations", "katas/03_layers"]
    serial = pytest_in(pristine, *args)
    (pristine / ".tinytorch" / "progress.json").unlink()
    parallel = pytest_in(pristine, *args, "-n", "2")
    assert serial.code == parallel.code == 0, parallel.output[-3000:]
    outcomes = lambda run: {t["nodeid"]: t["outcome"] for t in run.results["tests"]}
    assert outcomes(serial) == outcomes(parallel) and len(outcomes(serial)) > 20
    assert all(parallel.status(k) == "done" for k in ("01_tensor", "02_activations", "03_layers"))


def test_results_json_lists_every_test_with_kata_and_points(green01):
    run = pytest_in(green01, KATA)
    res = run.results
    assert res["katas"]["01_tensor"]["points"] == res["katas"]["01_tensor"]["max_points"] > 0
    assert all({"nodeid", "kata", "outcome", "duration", "message"} <= set(t) for t in res["tests"])
    assert isinstance(res["points"], int) and isinstance(res["max_points"], int)


FAN_IN = """
import tinytorch
from tinytorch import Tensor
x = Tensor(2.0, requires_grad=True)
y = x * 3
(y * 2 + y * 5).sum().backward()
print(float(x.grad))
"""


def test_import_tinytorch_switches_autograd_on_once_kata_06_is_done(sandboxes, tmp_path):
    """As in TinyTorch, a script needs no enable_autograd() call: `import tinytorch` makes
    the call (quietly) once kata 06 is green, from the root and from a subfolder; the
    grader's TINYTORCH_AUTOGRAD=off keeps it off."""
    repo = copy_of(green_base(sandboxes, ["06_autograd"]), tmp_path / "repo")
    env = {k: v for k, v in os.environ.items() if k != "TINYTORCH_AUTOGRAD"}
    (repo / "scripts").mkdir()
    (repo / "scripts" / "fan_in.py").write_text(FAN_IN)
    # From a subfolder the learner's `pip install -e .` finds the package; PYTHONPATH stands in.
    for cwd, argv, extra in ((repo, ["-c", FAN_IN], {}),
                             (repo / "scripts", ["fan_in.py"], {"PYTHONPATH": str(repo)})):
        proc = subprocess.run([sys.executable, *argv], cwd=cwd, env={**env, **extra},
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["21.0"] and not proc.stderr, proc.stdout + proc.stderr
    off = subprocess.run([sys.executable, "-c", FAN_IN], cwd=repo, capture_output=True, text=True,
                         env={**env, "TINYTORCH_AUTOGRAD": "off"})
    assert off.returncode != 0 and "backward" in off.stderr, off.stdout + off.stderr


def test_a_bug_that_leaks_global_state_fails_its_own_test_only(sandboxes, tmp_path):
    """Grad mode left off after an exception (a no_grad that does not restore on error)
    must not cascade: the harness restores the learner's module state around each test."""
    from tests.mutants import mutants_of

    repo = copy_of(green_base(sandboxes, ["04_losses", "03_layers"]), tmp_path / "repo")
    solve(repo, "06_autograd")
    mutant = next(m for m in mutants_of("06_autograd") if m.name.startswith("no_grad exit skips"))
    target = repo / "katas/06_autograd" / mutant.file
    target.write_text(mutant.apply(target.read_text()))
    run = pytest_in(repo, "katas/06_autograd")
    failed = [n for n, o in run.hidden("06_autograd").items() if o != "passed"]
    assert failed and len(failed) <= 2, failed  # only the tests of no_grad, not the 150 after it
    assert all("no_grad" in n for n in failed), failed
