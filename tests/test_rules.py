"""Every rule of a kata README's contract sections has a hidden test, and the table that
says so stays current (see tests/rules/__init__.py)."""
from __future__ import annotations

import ast
import re

import pytest

from pytest_tinytorch.curriculum import KATAS
from tests.mutants import mutants_of
from tests.rules import contract_units, headings, normalise, table_of

WRITTEN = [k for k in KATAS if k.written]
CONTRACT_HEADING = re.compile(r"API|[Cc]onvention")


def hidden_test_names(kata) -> set[str]:
    names = set()
    for path in kata.tests_dir.glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {f"{path.name}::{n.name}" for n in tree.body
                  if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}
    return names


def _function(test: str) -> str:
    return test.split("[", 1)[0]


@pytest.fixture(params=WRITTEN, ids=lambda k: k.id)
def kata(request):
    return request.param


def test_every_kata_has_a_rule_table(kata):
    assert table_of(kata.id) is not None, f"write tests/rules/kata{kata.id[:2]}.py"


def test_contract_sections_are_the_api_and_conventions(kata):
    table = table_of(kata.id)
    readme = (kata.path / "README.md").read_text(encoding="utf-8")
    missing = [h for h in headings(readme)
               if CONTRACT_HEADING.search(h) and not any(h.startswith(s) for s in table.sections)]
    assert not missing, f"README sections of {kata.id} stating the contract but not in SECTIONS: {missing}"
    unknown = [s for s in table.sections if not any(h.startswith(s) for h in headings(readme))]
    assert not unknown, f"SECTIONS of {kata.id} naming no README heading: {unknown}"


def test_every_readme_rule_is_in_the_table(kata):
    table = table_of(kata.id)
    units = contract_units((kata.path / "README.md").read_text(encoding="utf-8"), table.sections)
    quotes = [normalise(r.quote) for r in table.rules] + [normalise(p) for p in table.prose]
    unclaimed = [u for u in units if not any(q in u for q in quotes)]
    assert not unclaimed, (f"README sentences of {kata.id} that no rule (and no PROSE entry) claims; "
                           "add each to tests/rules/kata" + kata.id[:2] + ".py:\n  "
                           + "\n  ".join(unclaimed))


def test_every_quote_is_still_in_the_readme(kata):
    table = table_of(kata.id)
    units = contract_units((kata.path / "README.md").read_text(encoding="utf-8"), table.sections)
    stale = [q for q in [r.quote for r in table.rules] + table.prose
             if not any(normalise(q) in u for u in units)]
    assert not stale, f"quotes of {kata.id} no longer in its README's contract sections: {stale}"


def test_every_rule_names_existing_tests(kata):
    table = table_of(kata.id)
    names = hidden_test_names(kata)
    empty = [r.quote for r in table.rules if not r.tests]
    assert not empty, f"rules of {kata.id} without a test: {empty}"
    unknown = sorted({t for r in table.rules for t in r.tests if _function(t) not in names})
    assert not unknown, f"tests named in the rule table of {kata.id} that do not exist: {unknown}"


def test_every_rule_is_proven_by_a_mutant(kata):
    table = table_of(kata.id)
    known = {m.name: m for m in mutants_of(kata.id)}
    unproven = [r.quote for r in table.rules if not r.mutants and not r.why_no_mutant]
    assert not unproven, (f"rules of {kata.id} with no mutant (add one to tests/mutants, or say "
                          f"why none can exist in why_no_mutant): {unproven}")
    unknown = sorted({m for r in table.rules for m in r.mutants if m not in known})
    assert not unknown, f"mutants named in the rule table of {kata.id} that do not exist: {unknown}"
    for r in table.rules:
        for name in r.mutants:
            assert _function(known[name].test) in {_function(t) for t in r.tests}, (
                f"mutant {name!r} is rejected by {known[name].test}, which is not a test of the "
                f"rule it breaks: {r.quote!r}")


def test_every_mutant_breaks_a_listed_rule(kata):
    table = table_of(kata.id)
    listed = {m for r in table.rules for m in r.mutants}
    orphans = [m.name for m in mutants_of(kata.id) if m.name not in listed]
    assert not orphans, f"mutants of {kata.id} that no rule lists: {orphans}"
