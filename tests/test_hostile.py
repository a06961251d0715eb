"""The grader against hostile and broken learner code (each case in a disposable copy).

Every attack runs in grading mode (supervised workers, as CI and graders run it) on kata
01's file: appended to the pristine stub it must earn 0 points; where it could pass on
a solved kata it must be caught (tampering, a refused option, a failed kata). Every run
must end within its limits with a complete JSON and a non-zero exit status.
"""
from __future__ import annotations

import json
import os
import stat
import time

import pytest

from tests.runner import copy_of, green_base, pytest_in, solve

KATA = "katas/01_tensor"
FILE = f"{KATA}/tensor.py"
FAST = ["--tinytorch-test-wall=4", "--tinytorch-kata-wall=40"]

# name -> code appended to the kata file
ATTACKS = {
    "Function.runtest replaced": (
        "import _pytest.python\n_pytest.python.Function.runtest = lambda self: None\n"),
    "np.isclose answers True": (
        "import numpy as _np\n_np.isclose = lambda a, b, **k: _np.ones(_np.broadcast_shapes(_np.shape(a), _np.shape(b)), bool)\n"
        "_np.allclose = lambda *a, **k: True\n"),
    "the plugin's checks replaced": (
        "import pytest_tinytorch.checks as _c\n_c.check_array = lambda *a, **k: None\n_c.fail = lambda *a, **k: None\n"),
    "hypothesis profile re-registered": (
        "from hypothesis import settings as _s, Phase as _P\n"
        "_s.register_profile('tinytorch', max_examples=1, phases=[_P.explicit], database=None)\n"
        "_s.load_profile('tinytorch')\n"),
    "an import hook rewrites the hidden tests": (
        "import sys as _sys\nclass _Hook:\n    def find_spec(self, *a, **k):\n        return None\n"
        "_sys.meta_path.insert(0, _Hook())\n"),
    "isinstance replaced": "import builtins as _b\n_b.isinstance = lambda *a: True\n",
    "memory limit raised": (
        "import resource as _r\n_r.setrlimit(_r.RLIMIT_AS, (_r.RLIM_INFINITY, _r.RLIM_INFINITY))\n"),
    "the reference executed": (
        "import os as _os\nexec(open(_os.path.join(_os.path.dirname(__file__), '..', '..', 'reference',"
        " '01_tensor', 'tensor.py')).read())\n"),
    "os._exit at import": "import os as _os\n_os._exit(0)\n",
    "sleep at import": "import time as _t\n_t.sleep(3600)\n",
}


@pytest.fixture
def pristine(sandboxes, tmp_path):
    return copy_of(green_base(sandboxes, []), tmp_path / "repo")


def append(repo, code: str, path: str = FILE) -> None:
    target = repo / path
    target.write_text(target.read_text() + "\n" + code)


def graded(repo, *args, timeout=240):
    start = time.monotonic()
    run = pytest_in(repo, KATA, *FAST, *args, grade=True, timeout=timeout)
    run.seconds = time.monotonic() - start
    assert run.results is not None, f"no JSON was written:\n{run.output[-3000:]}"
    assert set(run.results["katas"]) >= {"01_tensor", "08_training"}, "the JSON is incomplete"
    assert run.code != 0, run.output[-3000:]
    return run


@pytest.mark.parametrize("name", list(ATTACKS))
def test_an_attack_on_a_pristine_stub_earns_nothing(pristine, name):
    append(pristine, ATTACKS[name])
    run = graded(pristine)
    assert run.results["katas"]["01_tensor"]["points"] == 0, run.output[-3000:]
    assert run.results["points"] == 0
    assert run.seconds < 120, f"took {run.seconds:.0f} s"


@pytest.mark.parametrize("name", ["Function.runtest replaced", "np.isclose answers True",
                                  "the plugin's checks replaced", "hypothesis profile re-registered",
                                  "an import hook rewrites the hidden tests", "isinstance replaced"])
def test_tampering_on_a_solved_kata_fails_it_and_is_named(pristine, name):
    solve(pristine, "01_tensor")
    append(pristine, ATTACKS[name])
    run = graded(pristine)
    assert run.results["katas"]["01_tensor"]["points"] == 0
    if name != "isinstance replaced":  # that one breaks pytest itself before any test runs
        assert "grader tampering detected" in run.output, run.output[-3000:]
    assert run.results["katas"]["01_tensor"]["flags"], "the static audit names the file too"


def test_a_sneaky_ndarray_subclass_is_refused(pristine):
    solve(pristine, "01_tensor")
    append(pristine, (
        "class _Always(np.ndarray):\n"
        "    def __array_function__(self, func, types, args, kwargs):\n"
        "        return True\n"
        "    def __eq__(self, other):\n        return True\n"
        "_plain = _to_array\n"
        "def _to_array(data):\n    return _plain(data).view(_Always)\n"))
    run = graded(pristine)
    assert run.results["katas"]["01_tensor"]["points"] == 0
    assert "must hold a plain NumPy array" in run.output


@pytest.mark.parametrize("option", ["--hypothesis-profile=tinytorch-explore", "-k=matmul",
                                    "-o=python_functions=test_tensor_comes*", "--deselect=x"])
def test_options_that_narrow_a_grading_run_are_refused_with_a_json(pristine, option):
    solve(pristine, "01_tensor")
    run = pytest_in(pristine, KATA, option, grade=True)
    assert run.code == pytest.ExitCode.USAGE_ERROR
    assert "grading run" in run.output
    assert run.results is not None and run.results["points"] == 0 and run.results["error"]


def test_a_conftest_inside_a_kata_is_flagged_and_earns_nothing(pristine):
    (pristine / KATA / "conftest.py").write_text(
        "import pytest\n@pytest.hookimpl(tryfirst=True)\ndef pytest_runtest_call(item):\n    return True\n"
        "import _pytest.python\n_pytest.python.Function.runtest = lambda self: None\n")
    run = graded(pristine)
    kata = run.results["katas"]["01_tensor"]
    assert kata["points"] == 0
    assert any("conftest.py inside a kata" in f for f in kata["flags"])


@pytest.mark.parametrize("body,expect", [
    ("import time\n        time.sleep(3600)", "wall-clock"),
    ("import threading\n        threading.Event().wait()", "wall-clock"),
    ("import signal\n        signal.setitimer(signal.ITIMER_PROF, 0)\n        while True:\n            pass",
     "wall-clock"),
    ("import os\n        os._exit(0)", "os._exit"),
    ("raise KeyboardInterrupt", "KeyboardInterrupt"),
])
def test_a_test_that_hangs_or_dies_costs_that_test_and_the_run_completes(pristine, body, expect):
    solve(pristine, "01_tensor")
    path = pristine / FILE
    path.write_text(path.read_text().replace(
        "    def __neg__(self):\n", f"    def __neg__(self):\n        {body}\n", 1))
    run = graded(pristine)
    outcomes = run.hidden("01_tensor")
    bad = [n for n, o in outcomes.items() if o != "passed"]
    assert bad and len(bad) < len(outcomes), run.output[-3000:]  # the other tests still ran
    assert expect in run.output
    assert run.results["katas"]["01_tensor"]["points"] == 0
    assert run.seconds < 90, f"took {run.seconds:.0f} s"


def test_deep_recursion_with_a_raised_limit_is_bounded(pristine):
    solve(pristine, "01_tensor")
    path = pristine / FILE
    path.write_text(path.read_text().replace(
        "    def __neg__(self):\n",
        "    def __neg__(self):\n        import sys\n        sys.setrecursionlimit(10**6)\n"
        "        def down(n):\n            return down(n + 1)\n        return down(0)\n", 1))
    run = graded(pristine)
    assert run.results["katas"]["01_tensor"]["points"] == 0
    assert len(run.output) < 200_000 and run.seconds < 90


@pytest.mark.parametrize("grading", [True, False])
def test_a_busy_non_daemon_thread_cannot_keep_the_run_alive(pristine, grading):
    solve(pristine, "01_tensor")
    append(pristine, "import threading as _th\n_th.Thread(target=lambda: [None for _ in iter(int, 1)]).start()\n")
    start = time.monotonic()
    run = pytest_in(pristine, KATA, *(FAST if grading else []), grade=grading, timeout=120)
    assert run.results is not None and time.monotonic() - start < 90, run.output[-2000:]
    if grading:
        assert run.results["katas"]["01_tensor"]["flags"]  # the audit names the thread import


def test_a_broken_progress_folder_still_gives_a_complete_json(pristine):
    solve(pristine, "01_tensor")
    (pristine / ".tinytorch").write_text("not a folder")
    run = pytest_in(pristine, KATA)
    assert run.results is not None and run.results["katas"]["01_tensor"]["status"] == "done"
    assert "progress could not be saved" in run.output


def test_a_progress_file_with_wrong_types_is_repaired(pristine):
    solve(pristine, "01_tensor")
    state = pristine / ".tinytorch" / "progress.json"
    state.parent.mkdir()
    state.write_text(json.dumps({"version": 1, "katas": {"01_tensor": {"status": 3, "fingerprint": []},
                                                         "02_activations": "done"},
                                 "milestones": {"xor": None}}))
    run = pytest_in(pristine, KATA)
    assert "INTERNALERROR" not in run.output and run.results["katas"]["01_tensor"]["status"] == "done"
    assert "damaged and dropped" in run.output


def test_results_and_progress_are_readable_by_others(pristine):
    solve(pristine, "01_tensor")
    run = pytest_in(pristine, KATA)
    assert run.code == 0
    for path in (pristine / "results.json", pristine / ".tinytorch" / "progress.json"):
        assert stat.S_IMODE(os.stat(path).st_mode) & 0o044, f"{path} is not readable by others"


def test_an_endless_loop_at_import_is_paid_once_per_kata(pristine):
    append(pristine, "while True:\n    pass\n")
    start = time.monotonic()
    run = pytest_in(pristine, KATA, timeout=240)
    assert time.monotonic() - start < 40  # one import budget, not one per hidden module
    assert run.code != 0 and "CPU time" in run.output


def test_learner_keyboard_interrupt_fails_its_test_only(pristine):
    solve(pristine, "01_tensor")
    path = pristine / FILE
    path.write_text(path.read_text().replace(
        "    def __neg__(self):\n", "    def __neg__(self):\n        raise KeyboardInterrupt\n", 1))
    run = pytest_in(pristine, KATA)
    outcomes = run.hidden("01_tensor")
    assert run.code == 1 and "passed" in outcomes.values() and "failed" in outcomes.values()
    assert "KeyboardInterrupt" in run.output


def test_nondeterministic_code_is_named_as_such(pristine):
    solve(pristine, "01_tensor")
    path = pristine / FILE
    path.write_text(path.read_text().replace(
        "        return Tensor(-self.data)\n",
        "        import random\n        return Tensor(-self.data * (1 if random.random() < 0.5 else 2))\n", 1))
    run = pytest_in(pristine, KATA)
    assert run.code != 0
    assert "different results for the same input" in run.output or "has wrong values" in run.output


def test_megabytes_of_prints_are_capped(pristine):
    solve(pristine, "01_tensor")
    path = pristine / FILE
    path.write_text(path.read_text().replace(
        "    def __neg__(self):\n", "    def __neg__(self):\n        print('x' * 10_000_000)\n        1 / 0\n", 1))
    run = pytest_in(pristine, KATA)
    assert run.code != 0 and len(run.output) < 1_000_000
    assert all(len(t["message"]) < 100_000 for t in run.results["tests"])


def test_a_forked_child_does_not_write_a_second_result(pristine):
    solve(pristine, "01_tensor")
    path = pristine / FILE
    path.write_text(path.read_text().replace(
        "    def __neg__(self):\n", "    def __neg__(self):\n        import os\n        os.fork()\n", 1))
    run = pytest_in(pristine, KATA)
    assert run.code != 0 and "os.fork" in run.output
    assert run.results is not None


def test_a_link_is_withdrawn_as_soon_as_its_kata_changes(sandboxes, tmp_path):
    repo = copy_of(green_base(sandboxes, ["01_tensor"]), tmp_path / "repo")
    link = repo / "tinytorch/core/tensor.py"
    assert link.is_symlink()
    (repo / FILE).write_text((repo / FILE).read_text() + "\n# edited\n")
    pytest_in(repo, "katas/02_activations")  # any run notices
    assert not link.exists() and not link.is_symlink()


def test_tampering_in_a_learner_run_fails_the_kata_too(pristine):
    solve(pristine, "01_tensor")
    append(pristine, ATTACKS["Function.runtest replaced"])
    run = pytest_in(pristine, KATA)
    assert run.code != 0 and run.results["katas"]["01_tensor"]["status"] != "done"
    assert "grader tampering detected" in run.output
    assert not (pristine / "tinytorch/core/tensor.py").exists()
