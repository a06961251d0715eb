"""Plausible wrong solutions, one module per kata (`kataNN.py`), each a list of Mutants.

A mutant is the reference solution with one snippet replaced: small to read, and it fails
loudly (`apply` raises) if the reference changes under it.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    name: str  # what the learner got wrong, in words
    file: str  # file name inside reference/NN_slug/
    test: str  # the hidden test that rejects it: "test_file.py::test_name[param]"
    old: str  # exact snippet of the reference, present exactly once
    new: str  # the buggy replacement
    expect: str  # regex that the failing run's output must match: the message naming the bug

    def apply(self, source: str) -> str:
        count = source.count(self.old)
        if count != 1:
            raise ValueError(f"mutant {self.name!r}: snippet found {count} times in {self.file}")
        return source.replace(self.old, self.new)


def mutants_of(kata_id: str) -> list[Mutant]:
    """The mutants of a kata (empty when none are written)."""
    try:
        module = importlib.import_module(f"tests.mutants.kata{kata_id[:2]}")
    except ModuleNotFoundError:
        return []
    return list(module.MUTANTS)
