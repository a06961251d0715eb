"""Every written kata is proven: its hidden tests fail on the pristine stubs (no free
points), pass on the reference (in the grading profile, and on fresh random examples of
several seeds), and reject every mutant with a message that points at the bug."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pytest_tinytorch.curriculum import KATAS
from tests.mutants import mutants_of
from tests.runner import copy_of, green_base, pytest_in, solve

WRITTEN = [k for k in KATAS if k.written]
MUTANTS = [(k, m) for k in WRITTEN for m in mutants_of(k.id)]
ALTERNATIVES = Path(__file__).with_name("alternatives")


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


def test_references_pass_in_the_grading_profile(sandboxes):
    # Building the base runs every written kata on its reference and fails unless each
    # one went green (every hidden test passed under the grading profile).
    base = green_base(sandboxes, [k.id for k in WRITTEN])
    assert (base / ".tinytorch" / "progress.json").is_file()


@pytest.mark.parametrize("seed", ["1", "2", "3"])
def test_references_accept_fresh_random_examples(sandboxes, tmp_path, seed):
    repo = copy_of(green_base(sandboxes, [k.id for k in WRITTEN]), tmp_path / "repo")
    run = pytest_in(repo, "katas", "--hypothesis-profile=tinytorch-explore",
                    f"--hypothesis-seed={seed}", timeout=600)
    failed = {n: o for k in WRITTEN for n, o in run.hidden(k.id).items() if o != "passed"}
    ran = sum(len(run.hidden(k.id)) for k in WRITTEN)
    assert run.code == 0 and ran and not failed, f"{failed}\n{run.output[-4000:]}"
    assert "does not record the kata" in run.output  # an explore run never marks a kata done


@pytest.mark.parametrize("kata", WRITTEN, ids=lambda k: k.id)
def test_an_independent_correct_solution_is_accepted(sandboxes, tmp_path, kata):
    """A solution written apart from the reference, making other legitimate choices
    (tests/alternatives/NN_slug/), passes too: the tests judge the contract, not one way
    of meeting it."""
    folder = ALTERNATIVES / kata.id
    assert all((folder / f.name).is_file() for f in kata.files), f"write {folder}/ with {kata.files[0].name}"
    repo = prepared(sandboxes, tmp_path, kata)
    for f in kata.files:
        shutil.copyfile(folder / f.name, repo / "katas" / kata.id / f.name)
    run = pytest_in(repo, f"katas/{kata.id}")
    failed = {n: o for n, o in run.hidden(kata.id).items() if o != "passed"}
    assert run.code == 0 and run.hidden(kata.id) and not failed, f"{failed}\n{run.output[-4000:]}"
    assert run.status(kata.id) == "done"


@pytest.mark.parametrize("kata", WRITTEN, ids=lambda k: k.id)
def test_kata_has_enough_mutants(kata):
    assert len(mutants_of(kata.id)) >= 8, f"{kata.id} needs at least eight mutants in tests/mutants"


@pytest.mark.parametrize(("kata", "mutant"), MUTANTS, ids=[f"{k.id}:{m.name}" for k, m in MUTANTS])
def test_mutant_is_rejected_with_a_pointed_message(sandboxes, tmp_path, kata, mutant):
    repo = prepared(sandboxes, tmp_path, kata)
    solve(repo, kata.id)
    target = repo / "katas" / kata.id / mutant.file
    target.write_text(mutant.apply((kata.reference / mutant.file).read_text()))
    node = f"katas/{kata.id}/.tests/{mutant.test}"
    run = pytest_in(repo, node)  # its designated test only: a rejection by part of the kata
    records = [t for t in (run.results or {}).get("tests", []) if t["nodeid"] == node]
    assert records, f"{node} did not run:\n{run.output[-3000:]}"
    assert run.code != 0 and records[0]["outcome"] != "passed", (
        f"mutant {mutant.name!r} was not rejected by {mutant.test}:\n{run.output[-3000:]}")
    assert re.search(mutant.expect, records[0]["message"]), (
        f"mutant {mutant.name!r} was rejected, but the message does not match {mutant.expect!r}:\n"
        f"{records[0]['message'][-5000:]}")
