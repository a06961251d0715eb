"""Write TinyTalks: templated question-answer lines whose answers must be read back.

    python datasets/tinytalks/generate.py           # (re)write the three .txt files, print sha256
    python datasets/tinytalks/generate.py --check   # compare the shipped files with a fresh run

Every line states one or two facts about made-up names, asks about one of them and
answers it:

    sako has a map. what does sako have? a map.
    bilo is teal. rema is gold. what color is rema? gold.
    fato is in lima. dipa is in oslo. where is fato? in lima.

The answer is a word several positions back, picked by the question: a bigram model
cannot know it, a model that attends to the right earlier word can (and with two facts,
it must know which value came with which name: positions). The names of the validation
lines and held-out questions never occur in training, and every value is as likely with
every name, so an answer can only be read from the line, never remembered.

No randomness from the platform: a fixed splitmix64 generator, so the bytes never change.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 2017
FILES = ("train.txt", "valid.txt", "questions.txt")

# Subjects are made-up two-syllable names (consonant, vowel, consonant, vowel; two
# different syllables; no final e, so fewer English words), split between training and
# held-out lines so that no subject's answer can be remembered. A few that are words with
# an unwanted meaning in some language are left out.
CONSONANTS, VOWELS, FINAL_VOWELS = "bdfklmnprstv", "aeio", "aio"
LEFT_OUT = {"pito", "pedo", "mofo", "sida", "lima", "kaka", "popo", "pipi"}
NAMES = tuple(n for n in (a + v + b + w for a in CONSONANTS for v in VOWELS
                          for b in CONSONANTS for w in FINAL_VOWELS)
              if n[:2] != n[2:] and n not in LEFT_OUT)
OBJECTS = ("cup", "hat", "box", "pen", "key", "bag", "map", "mug", "jar", "fan", "net", "car")
COLORS = ("red", "blue", "pink", "gray", "gold", "tan", "teal", "navy", "rose", "lime")
CITIES = ("rome", "oslo", "lima", "cairo", "paris", "delhi", "tokyo", "perth", "quito", "bern")

# family: (values, fact template, question template, answer template)
FAMILIES = {
    "has": (OBJECTS, "{s} has a {v}.", "what does {s} have?", "a {v}."),
    "color": (COLORS, "{s} is {v}.", "what color is {s}?", "{v}."),
    "place": (CITIES, "{s} is in {v}.", "where is {s}?", "in {v}."),
}
HELD_NAMES = 330  # names used only in valid.txt and questions.txt (about one in five)
TRAIN_LINES = 1000  # per family, half with one fact and half with two
HELD_LINES = 66  # per family for valid.txt, and as many for questions.txt


class SplitMix64:
    """A tiny fixed PRNG (Steele, Lea and Flood's splitmix64): the same numbers everywhere."""

    def __init__(self, seed: int):
        self.state = seed & 0xFFFFFFFFFFFFFFFF

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n  # bias below 2**-50 for these small n: irrelevant here

    def shuffle(self, items: list) -> list:
        for i in range(len(items) - 1, 0, -1):  # Fisher-Yates
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]
        return items


def line(family: str, facts: list[tuple[str, str]], asked: int) -> str:
    _, fact, question, answer = FAMILIES[family]
    s, v = facts[asked]
    said = " ".join(fact.format(s=a, v=b) for a, b in facts)
    return f"{said} {question.format(s=s)} {answer.format(v=v)}"


def talks(rng: SplitMix64, family: str, names: list[str], count: int, seen: set) -> list[str]:
    """`count` new lines of one family, alternately one fact and two facts (different
    names, different values, either one asked), none already in `seen`."""
    values = FAMILIES[family][0]
    out = []
    while len(out) < count:
        n = 1 + len(out) % 2
        facts = [(names[rng.below(len(names))], values[rng.below(len(values))]) for _ in range(n)]
        if n == 2 and (facts[0][0] == facts[1][0] or facts[0][1] == facts[1][1]):
            continue
        text = line(family, facts, rng.below(n))
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def build() -> dict[str, list[str]]:
    rng = SplitMix64(SEED)
    names = rng.shuffle(list(NAMES))
    held, kept = names[:HELD_NAMES], names[HELD_NAMES:]
    train, valid, questions, seen = [], [], [], set()
    for family in FAMILIES:
        train += talks(rng, family, kept, TRAIN_LINES, seen)
        valid += talks(rng, family, held, HELD_LINES, seen)
        questions += talks(rng, family, held, HELD_LINES, seen)
    for split in (train, valid, questions):
        rng.shuffle(split)
    return {"train.txt": train, "valid.txt": valid, "questions.txt": questions}


def contents() -> dict[str, bytes]:
    return {name: ("\n".join(lines) + "\n").encode("ascii") for name, lines in build().items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare the shipped files with a fresh run")
    args = ap.parse_args()
    fresh = contents()
    status = 0
    for name in FILES:
        data = fresh[name]
        path = HERE / name
        if args.check:
            same = path.is_file() and path.read_bytes().replace(b"\r\n", b"\n") == data
            print(f"{name}: {'identical' if same else 'DIFFERENT'}")
            status |= not same
        else:
            path.write_bytes(data)
            lines = data.count(b"\n")
            print(f"{name}: {lines} lines, sha256 {hashlib.sha256(data).hexdigest()}")
    return status


if __name__ == "__main__":
    sys.exit(main())
