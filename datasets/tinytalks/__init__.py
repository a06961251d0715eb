"""TinyTalks: templated questions whose answers must be read back from earlier words.

    from datasets.tinytalks import load_tinytalks, bigram_nll
    talks = load_tinytalks()              # sha256 of every file verified
    talks.train[0]     # 'the map is lime. the net is blue. what color is the net? blue.'
    talks.questions[0] # ('the jar is pink. the box is tan. what color is the box? ', 'tan.')
    ids = talks.encode(talks.train[0] + "\\n")   # int64 ids into talks.alphabet

Only NumPy and the standard library; nothing is downloaded. See README.md (the data card)
for how the lines are built and split, and generate.py for the generator.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

__all__ = ["load_tinytalks", "TinyTalks", "bigram_counts", "bigram_nll", "bigram_answer",
           "TINYTALKS_DIR", "TINYTALKS_SHA256", "ALPHABET"]

TINYTALKS_DIR = Path(__file__).resolve().parent
# sha256 of each file with "\n" line ends (a checkout that turned them into "\r\n" still
# verifies: the loader hashes the bytes after turning "\r\n" back into "\n").
TINYTALKS_SHA256 = {
    "train.txt": "afea05b2872b00770c33adcb27a61cffdde2f30e97f9289bc195761836d898dc",
    "valid.txt": "847780fdcfbcdc1e6b8cff67a0a41154bbcf4e47ebdb6e808f0db223e7a54c64",
    "questions.txt": "c26006d0cc73c192eb72462d6ce8c0bcce81f977e34ef7ca280e398b95ba8b01",
}
# Every character of every split, "\n" (the end of a line) first: id 0.
ALPHABET = "\n .?abcdefghijklmnopqrstuvwxy"
QUESTION_END = "? "  # a prompt ends here; the answer follows and ends with "."


class TinyTalks(NamedTuple):
    train: list[str]  # 3000 lines (no "\n"), every one a whole talk: facts, question, answer
    valid: list[str]  # 198 lines about names never seen in training (a validation loss)
    questions: list[tuple[str, str]]  # 198 (prompt, answer) of other such lines
    alphabet: str  # ALPHABET: the characters, in id order

    def encode(self, text: str) -> np.ndarray:
        """Character ids (int64) of `text` in `alphabet`; an unknown character raises ValueError."""
        return encode(text, self.alphabet)

    def decode(self, ids) -> str:
        return "".join(self.alphabet[int(i)] for i in np.asarray(ids).reshape(-1))


def encode(text: str, alphabet: str = ALPHABET) -> np.ndarray:
    index = {c: i for i, c in enumerate(alphabet)}
    try:
        return np.array([index[c] for c in text], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the TinyTalks alphabet") from None


def _read(name: str) -> list[str]:
    path = TINYTALKS_DIR / name
    restore = (f"Restore it with `git checkout -- datasets/tinytalks/{name}` or re-clone, or "
               f"regenerate it with `python datasets/tinytalks/generate.py` (standard library only).")
    if not path.is_file():
        raise RuntimeError(f"TinyTalks file not found: {path}. It ships with the repository. {restore}")
    data = path.read_bytes().replace(b"\r\n", b"\n")
    digest = hashlib.sha256(data).hexdigest()
    if digest != TINYTALKS_SHA256[name]:
        raise RuntimeError(f"TinyTalks checksum mismatch for {path}:\n  sha256 {digest}\n  expected "
                           f"{TINYTALKS_SHA256[name]}\nThe file is corrupt or was changed. {restore}")
    return data.decode("ascii").splitlines()


def load_tinytalks() -> TinyTalks:
    """The three splits, each file checked against its sha256 (RuntimeError if missing or changed)."""
    train, valid, held = (_read(n) for n in ("train.txt", "valid.txt", "questions.txt"))
    questions = []
    for text in held:
        cut = text.rindex(QUESTION_END) + len(QUESTION_END)
        questions.append((text[:cut], text[cut:]))
    return TinyTalks(train, valid, questions, ALPHABET)


# ---------------------------------------------------------------- the bigram baseline

def _sequences(seqs) -> list[np.ndarray]:
    """A 2-D int array (one row per sequence) or a list of 1-D int arrays, as a list."""
    if isinstance(seqs, np.ndarray) and seqs.ndim == 2:
        return list(seqs)
    return [np.asarray(s, dtype=np.int64).reshape(-1) for s in seqs]


def bigram_counts(seqs, vocab_size: int) -> np.ndarray:
    """counts[a, b] = how often id b follows id a inside a sequence (float64, (V, V))."""
    counts = np.zeros((vocab_size, vocab_size), dtype=np.float64)
    for s in _sequences(seqs):
        s = np.asarray(s, dtype=np.int64)
        if s.size > 1:
            np.add.at(counts, (s[:-1], s[1:]), 1.0)
    return counts


def bigram_nll(train_seqs, eval_seqs, vocab_size: int, alpha: float = 0.1) -> float:
    """Mean negative log-likelihood (nats per predicted token) of an add-`alpha` bigram model.

    Fit on the transitions inside `train_seqs`, scored on every transition inside
    `eval_seqs` (each sequence's first token is context only: it is never predicted, as
    for a language model trained on the same sequences). Sequences: a list of 1-D int
    arrays, or a 2-D int array with one sequence per row. NumPy only.
    """
    counts = bigram_counts(train_seqs, vocab_size) + alpha
    logp = np.log(counts / counts.sum(axis=1, keepdims=True))
    total, n = 0.0, 0
    for s in _sequences(eval_seqs):
        s = np.asarray(s, dtype=np.int64)
        if s.size > 1:
            total -= float(logp[s[:-1], s[1:]].sum())
            n += s.size - 1
    if n == 0:
        raise ValueError("bigram_nll: the evaluation sequences hold no transition (all shorter than 2)")
    return total / n


def bigram_answer(train_seqs, prompt_ids, vocab_size: int, stop_id: int, max_len: int = 16) -> np.ndarray:
    """The bigram model's greedy continuation of `prompt_ids` up to `stop_id` (included) or
    `max_len` ids: what a model without attention answers (for the milestone's panel)."""
    best = bigram_counts(train_seqs, vocab_size).argmax(axis=1)
    out, last = [], int(np.asarray(prompt_ids).reshape(-1)[-1])
    for _ in range(max_len):
        last = int(best[last])
        out.append(last)
        if last == stop_id:
            break
    return np.array(out, dtype=np.int64)
