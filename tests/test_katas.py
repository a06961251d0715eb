"""Every written kata is proven: its hidden tests fail on the pristine stubs (no free
points), pass on the reference (several hypothesis seeds, and the derandomized grading
profile), and reject every mutant with a message that points at the bug."""
from __future__ import annotations

import re

import pytest

from pytest_tinytorch.curriculum import KATAS
from tests.mutants import mutants_of
from tests.runner import copy_of, green_base, pytest_in, solve

WRITTEN = [k for k in KATAS if k.written]
MUTANTS = [(k, m) for k in WRITTEN for m in mutants_of(k.id)]


def prepared(sandboxes, tmp_path, kata):
    """A copy with the kata's prerequisites green and the kata itself pristine."""
    return copy_of(green_base(sandboxes, list(kata.requires)), tmp_path / "repo")


@pytest.mark.parametrize("kata", WRITTEN, ids=lambda k: k.id)
def test_stubs_fail_every_hidden_test(sandboxes, tmp_path, kata):
    repo = prepared(sandboxes, tmp_path, kata)
    run = pytest_in(repo, f"katas/{kata.id}")
    outcomes = run.hidden(kata.id)
    assert run.code != 0, run.output[-2000:]
    assert outcomes, f"no hidden tests of {kata.id} ran:\n{run.output[-2000:]}"
    free = [n for n, o in outcomes.items() if o == "passed"]
    assert not free, f"hidden tests passing on the pristine stub (free points): {free}"
    assert run.status(kata.id) != "done"


@pytest.mark.parametrize("seed", ["grade", "1", "2", "3"])
@pytest.mark.parametrize("kata", WRITTEN, ids=lambda k: k.id)
def test_reference_passes(sandboxes, tmp_path, kata, seed):
    repo = prepared(sandboxes, tmp_path, kata)
    solve(repo, kata.id)
    args = [] if seed == "grade" else [f"--hypothesis-seed={seed}"]
    run = pytest_in(repo, f"katas/{kata.id}", *args, grade=seed == "grade")
    outcomes = run.hidden(kata.id)
    failed = {n: o for n, o in outcomes.items() if o != "passed"}
    assert run.code == 0 and outcomes and not failed, f"{failed}\n{run.output[-4000:]}"
    assert run.status(kata.id) == "done"


@pytest.mark.parametrize("kata", WRITTEN, ids=lambda k: k.id)
def test_kata_has_enough_mutants(kata):
    assert len(mutants_of(kata.id)) >= 6, f"{kata.id} needs at least six mutants in tests/mutants"


@pytest.mark.parametrize(("kata", "mutant"), MUTANTS, ids=[f"{k.id}:{m.name}" for k, m in MUTANTS])
def test_mutant_is_rejected_with_a_pointed_message(sandboxes, tmp_path, kata, mutant):
    repo = prepared(sandboxes, tmp_path, kata)
    solve(repo, kata.id)
    target = repo / "katas" / kata.id / mutant.file
    target.write_text(mutant.apply((kata.reference / mutant.file).read_text()))
    run = pytest_in(repo, f"katas/{kata.id}")
    failed = [n for n, o in run.hidden(kata.id).items() if o != "passed"]
    assert run.code != 0 and failed, f"mutant {mutant.name!r} was not rejected:\n{run.output[-3000:]}"
    assert re.search(mutant.expect, run.output), (
        f"mutant {mutant.name!r} was rejected, but no message matches {mutant.expect!r}:\n"
        f"{run.output[-5000:]}")
