"""Grading a class: the released template, trusted grades, GitHub Classroom, Gradescope,
and a whole class at once (pytest_tinytorch: release, grading, classroom, gradescope,
roster)."""
from __future__ import annotations

import base64
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # the maintainer extra: pip install -e '.[maintainer]'

from pytest_tinytorch import classroom
from pytest_tinytorch.curriculum import BY_ID, KATAS, MILESTONES, ROOT
from tests.runner import _locked, copy_of, green_base



def cli(*args, cwd=None, timeout=900, env=None):
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTEST_", "HYPOTHESIS_")) and k not in ("CI", "GITHUB_ACTIONS")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "pytest_tinytorch", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=environ)


@pytest.fixture(scope="session")
def template(sandboxes):
    """A released template, made once for the session from a pristine copy."""
    dest = sandboxes / "released"
    with _locked(sandboxes / "released.lock"):
        if not dest.exists():
            source = green_base(sandboxes, [])
            shutil.rmtree(dest.with_name("released.tmp"), ignore_errors=True)
            proc = cli("release", str(dest.with_name("released.tmp")), cwd=source)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            dest.with_name("released.tmp").rename(dest)
    return dest


def student(template, tmp_path, name, solved=(), edit=None) -> Path:
    repo = copy_of(template, tmp_path / "class" / name)
    for kid in solved:
        for f in BY_ID[kid].files:
            (repo / "katas" / kid / f.name).write_text((BY_ID[kid].reference / f.name).read_text())
    if edit:
        edit(repo)
    return repo


def grade(repo, template, tmp_path, *extra):
    out = tmp_path / f"{repo.name}.json"
    proc = cli("grade", str(repo), "--template", str(template), "--out", str(out), *extra)
    assert out.is_file(), proc.stdout + proc.stderr
    return json.loads(out.read_text())


WRITTEN = [k.id for k in KATAS if k.written]


# ---------------------------------------------------------------- the released template

def test_the_release_has_no_solutions_and_a_complete_manifest(template):
    assert not (template / "reference").exists() and not (template / "tests").exists()
    assert not (template / "benchmarks").exists() and not (template / ".ci").exists()
    manifest = json.loads((template / "GRADING-MANIFEST.json").read_text())
    assert set(manifest["expected_tests"]) == set(WRITTEN)
    assert all(manifest["expected_tests"][k] for k in WRITTEN)
    for rel in ("conftest.py", "pyproject.toml", ".github/workflows/classroom.yml", "pytest_tinytorch/plugin.py",
                "milestones/test_mlp.py", "datasets/tinydigits/tinydigits.npz"):
        assert rel in manifest["protected"], rel
    assert any("/.tests/" in rel for rel in manifest["protected"])
    for rel in manifest["learner_files"]:
        ref = ROOT / "reference" / Path(rel).relative_to("katas")
        assert (template / rel).read_text() != ref.read_text(), f"{rel} ships a solution"
    assert not [p for p in (template / "tinytorch").rglob("*.py") if p.name != "__init__.py"]


def test_a_solved_kata_passes_in_the_release_and_imports_as_tinytorch(template, tmp_path):
    repo = student(template, tmp_path, "alice", solved=["01_tensor"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HYPOTHESIS_", "CI"))}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "katas/01_tensor"],
                         cwd=repo, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout[-3000:]
    probe = subprocess.run([sys.executable, "-c", "from tinytorch import Tensor; print((Tensor([1, 2]) * 2).data)"],
                           cwd=repo, capture_output=True, text=True, env=env)
    assert probe.returncode == 0 and "[2. 4.]" in probe.stdout, probe.stderr


# ---------------------------------------------------------------- trusted grades

def test_forgeries_earn_nothing_and_are_named(template, tmp_path):
    def forge(repo):
        for kid in WRITTEN:  # every hidden test replaced by one that passes
            for test in (repo / "katas" / kid / ".tests").glob("test_*.py"):
                test.write_text("def test_ok():\n    pass\n")
        (repo / ".tinytorch").mkdir()
        (repo / ".tinytorch" / "progress.json").write_text(json.dumps(
            {"version": 1, "katas": {k: {"status": "done", "fingerprint": "x", "passed": 1, "total": 1}
                                     for k in WRITTEN},
             "milestones": {m.name: {"status": "passed"} for m in MILESTONES}}))
        (repo / "katas" / "01_tensor" / "conftest.py").write_text(
            "import _pytest.python\n_pytest.python.Function.runtest = lambda self: None\n")
    repo = student(template, tmp_path, "mallory", edit=forge)
    result = grade(repo, template, tmp_path)
    assert result["points"] == 0 and result["trusted"] is True
    found = "\n".join(result["tampering"])
    assert "edited: katas/01_tensor/.tests/" in found
    assert ".tinytorch/progress.json" in found
    assert "added: katas/01_tensor/conftest.py" in found


def test_points_count_what_is_written_and_partial_credit_is_an_option(template, tmp_path):
    repo = student(template, tmp_path, "bob", solved=["01_tensor", "02_activations", "03_layers"])
    result = grade(repo, template, tmp_path)
    written = sum(k.points for k in KATAS if k.written) + sum(m.points for m in MILESTONES if m.written)
    assert result["max_points"] == written
    assert set(result["not_written"]) == {k.id for k in KATAS if not k.written} | {m.name for m in MILESTONES
                                                                                  if not m.written}
    expected = 30 + 20  # three katas and the two milestones they unlock
    assert result["points"] == expected, {k: v["points"] for k, v in result["katas"].items()}
    partial = grade(repo, template, tmp_path, "--partial-credit")
    assert partial["points"] >= expected and partial["partial_credit"] is True


def test_a_kata_importing_another_framework_scores_zero(template, tmp_path):
    def cheat(repo):
        path = repo / "katas" / "01_tensor" / "tensor.py"
        path.write_text("import torch  # noqa\n" + path.read_text())
    repo = student(template, tmp_path, "eve", solved=["01_tensor"], edit=cheat)
    result = grade(repo, template, tmp_path)
    assert result["katas"]["01_tensor"]["points"] == 0
    assert any("another ML framework" in f for f in result["katas"]["01_tensor"]["flags"])


# ---------------------------------------------------------------- GitHub Classroom

def test_the_committed_workflow_is_current():
    committed = ROOT / classroom.WORKFLOW
    assert committed.is_file(), "run: python -m pytest_tinytorch classroom"
    assert committed.read_text() == classroom.workflow(), "stale: run python -m pytest_tinytorch classroom"


def test_the_workflow_replays_as_github_classroom_would(template, tmp_path):
    """Run the grading step, then each command-grader step with only PATH, HOME and
    FORCE_COLOR, build the base64 result each would emit, and feed the reporter."""
    repo = student(template, tmp_path, "carol", solved=["01_tensor", "02_activations", "03_layers"])
    spec = yaml.safe_load((repo / classroom.WORKFLOW).read_text())
    steps = spec["jobs"]["run-autograding-tests"]["steps"]
    grading = next(s for s in steps if "pytest_tinytorch grade" in s.get("run", ""))
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/tmp"),
           "FORCE_COLOR": "1"}
    cmd = grading["run"].replace("python ", f"{sys.executable} ", 1)
    subprocess.run(cmd, shell=True, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    graders = [s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-command-grader")]
    reporter = next(s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-grading-reporter"))
    outputs = {}
    for step in graders:
        w = step["with"]
        proc = subprocess.run(w["command"], shell=True, cwd=repo, env=env, capture_output=True, text=True,
                              timeout=60 * int(w.get("timeout", 10)))
        status = "pass" if proc.returncode == 0 else "fail"
        score = int(w["max-score"]) if status == "pass" else 0
        result = {"version": 1, "status": status, "max_score": int(w["max-score"]),
                  "tests": [{"name": w["test-name"], "status": status, "score": score,
                             "message": proc.stdout[-500:], "test_code": w["command"], "filename": "",
                             "line_no": 0, "duration": 0}]}
        outputs[step["id"]] = base64.b64encode(json.dumps(result).encode()).decode()
    runners = reporter["with"]["runners"].split(",")
    assert runners == [s["id"] for s in graders] and all(r.isalnum() for r in runners)
    total = 0
    for runner in runners:
        ref = reporter["env"][f"{runner.upper()}_RESULTS"]
        assert ref == f"${{{{steps.{runner}.outputs.result}}}}"
        decoded = json.loads(base64.b64decode(outputs[runner]))
        assert decoded["tests"], runner
        total += sum(t["score"] for t in decoded["tests"])
    report = json.loads((repo / classroom.RESULTS).read_text())
    assert total == report["points"] == 50
    assert sum(int(s["with"]["max-score"]) for s in graders) == report["max_points"]


# ---------------------------------------------------------------- Gradescope

def _fake_autograder(template, tmp_path, submission_edit=None, solved=()):
    root = tmp_path / "autograder"
    zip_path = tmp_path / "autograder.zip"
    proc = cli("gradescope", str(zip_path), "--limit", "120", cwd=template)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import zipfile
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root)
    for name in ("run_autograder", "setup.sh"):
        os.chmod(root / name, 0o755)
    (root / "venv" / "bin").mkdir(parents=True)  # what setup.sh would have made: our interpreter
    wrapper = root / "venv" / "bin" / "python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    sub = student(template, tmp_path, "submission", solved=solved, edit=submission_edit)
    os.replace(sub, root / "submission")
    return root


@pytest.mark.parametrize("case", ["solved", "os._exit at import", "endless loop"])
def test_run_autograder_always_writes_results(template, tmp_path, case):
    edit = None
    if case != "solved":
        code = "import os\nos._exit(0)\n" if case == "os._exit at import" else "while True:\n    pass\n"

        def edit(repo):
            path = repo / "katas" / "01_tensor" / "tensor.py"
            path.write_text(path.read_text() + "\n" + code)
    root = _fake_autograder(template, tmp_path, edit, solved=["01_tensor"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HYPOTHESIS_"))}
    env["AUTOGRADER_ROOT"] = str(root)
    proc = subprocess.run(["bash", str(root / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=600)
    results = json.loads((root / "results" / "results.json").read_text())
    tests = {t["name"]: t for t in results["tests"]}
    assert len(tests) == len(WRITTEN) + sum(1 for m in MILESTONES if m.written), proc.stderr[-2000:]
    assert all({"score", "max_score", "status", "name", "output", "visibility"} <= set(t) for t in tests.values())
    kata01 = tests["Kata 01: Tensor"]
    assert kata01["status"] == ("passed" if case == "solved" else "failed")
    assert results["score"] == sum(t["score"] for t in tests.values())


# ---------------------------------------------------------------- a class at once

def test_a_class_is_graded_into_a_csv_and_a_report(template, tmp_path):
    half = [k for k in WRITTEN[: len(WRITTEN) // 2]]

    def tamper(repo):
        (repo / "katas" / "02_activations" / "conftest.py").write_text("# injected\n")
    student(template, tmp_path, "s1-pristine")
    student(template, tmp_path, "s2-half", solved=half)
    student(template, tmp_path, "s3-all", solved=WRITTEN, edit=tamper)
    out = tmp_path / "out" / "grades.csv"
    proc = cli("grade", str(tmp_path / "class"), "--template", str(template), "--out", str(out), timeout=1800)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert int(rows["s1-pristine"]["total"]) == 0
    assert 0 < int(rows["s2-half"]["total"]) < int(rows["s3-all"]["total"])
    full = sum(k.points for k in KATAS if k.written) + sum(m.points for m in MILESTONES if m.written)
    assert int(rows["s3-all"]["total"]) == full == int(rows["s3-all"]["max_points"])
    assert "conftest.py" in rows["s3-all"]["tampering"] and not rows["s1-pristine"]["tampering"]
    assert (out.parent / "grades" / "s2-half.json").is_file()
    page = (out.parent / "report.html").read_text()
    assert "Pass rate per kata" in page and "s3-all" in page and "conftest.py" in page
