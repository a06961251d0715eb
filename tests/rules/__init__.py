"""Rule tables: every rule a kata README states, and the hidden tests that enforce it.

One module per kata (`kataNN.py`) holds
- SECTIONS: the `##` headings of the README whose text is the contract (the API and the
  conventions; every heading naming either must be listed);
- RULES: each rule, quoted from those sections, with the hidden tests that fail when it
  is broken and the mutants (tests/mutants/kataNN.py) that prove they do;
- PROSE: quotes of sentences in those sections that explain rather than state a rule.

tests/test_rules.py splits the contract sections into units (code lines, bullets, table
rows, sentences) and fails when a unit is claimed by no rule and no prose entry, when a
rule names no test or a test that does not exist, or when a mutant is listed by no rule.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    quote: str  # a fragment of the README, found in one unit after normalisation
    tests: tuple[str, ...]  # "test_file.py::test_name" of the hidden tests that enforce it
    mutants: tuple[str, ...] = ()  # names in tests/mutants/kataNN.py that break it
    why_no_mutant: str = ""  # when no plausible wrong solution can break it alone


def rule(quote: str, *tests: str, mutants: tuple[str, ...] | list[str] = (), why_no_mutant: str = "") -> Rule:
    return Rule(quote, tuple(tests), tuple(mutants), why_no_mutant)


@dataclass
class Table:
    sections: list[str]
    rules: list[Rule]
    prose: list[str] = field(default_factory=list)


def table_of(kata_id: str) -> Table | None:
    try:
        module = importlib.import_module(f"tests.rules.kata{kata_id[:2]}")
    except ModuleNotFoundError:
        return None
    return Table(list(module.SECTIONS), list(module.RULES), list(getattr(module, "PROSE", [])))


def normalise(text: str) -> str:
    """Markdown emphasis and line breaks do not change what a sentence says."""
    text = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"\1", text).replace("\\|", "|")
    return re.sub(r"\s+", " ", text).strip()


_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"'*_\[0-9])")


def _sentences(paragraph: str) -> list[str]:
    protected = paragraph
    for i, abbr in enumerate(_ABBREVIATIONS):
        protected = protected.replace(abbr, f"\0{i}\0")
    parts = _SENTENCE_END.split(protected)
    out = []
    for part in parts:
        for i, abbr in enumerate(_ABBREVIATIONS):
            part = part.replace(f"\0{i}\0", abbr)
        if part.strip():
            out.append(normalise(part))
    return out


def contract_units(readme: str, sections: list[str]) -> list[str]:
    """The units of the README's contract sections, normalised."""
    units: list[str] = []
    inside = False
    fence = False
    paragraph: list[str] = []
    bullet: list[str] = []

    def flush():
        if bullet:
            units.extend(_sentences(" ".join(bullet)))
            bullet.clear()
        if paragraph:
            units.extend(_sentences(" ".join(paragraph)))
            paragraph.clear()

    for line in readme.splitlines():
        if line.startswith("```"):
            flush()
            fence = not fence
            continue
        if fence:
            if inside:
                code = line.strip()
                if code and not code.startswith("#") and re.search(r"\w", code):
                    units.append(normalise(code))
            continue
        if line.startswith("## "):
            flush()
            title = line[3:].strip()
            inside = any(title.startswith(s) for s in sections)
            continue
        if not inside:
            continue
        stripped = line.strip()
        if line.startswith("#"):  # a ### subsection title
            flush()
            continue
        if not stripped:
            flush()
        elif stripped.startswith("|"):
            flush()
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", stripped.strip("|"))]
            if all(re.fullmatch(r":?-+:?", c) for c in cells if c):
                units.pop()  # the row above a separator is the header
            else:
                units.append(normalise(" | ".join(cells)))
        elif re.match(r"([-*]|\d+\.) ", stripped):
            flush()
            bullet.append(re.sub(r"^([-*]|\d+\.) ", "", stripped))
        elif stripped.startswith(">"):
            flush()
        elif bullet:
            bullet.append(stripped)
        else:
            paragraph.append(stripped)
    flush()
    return units


def headings(readme: str) -> list[str]:
    return [line[3:].strip() for line in readme.splitlines() if line.startswith("## ")]
