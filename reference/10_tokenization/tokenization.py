"""Kata 10: tokenization, from text to integer ids and back.

CharTokenizer - one id per character seen in a corpus, id 0 for everything else
BPETokenizer  - byte-pair encoding over characters: start from the characters, merge the
                most frequent adjacent pair into a new token, repeat up to vocab_size

Read README.md in this folder for the exact contract.
"""
from __future__ import annotations

import numbers

import numpy as np

UNK = "<UNK>"  # id 0 in both tokenizers: every character the corpus never showed


def _texts(corpus) -> list[str]:
    """A corpus is one string or an iterable of strings; a string is ONE text."""
    if isinstance(corpus, str):
        return [corpus]
    texts = list(corpus)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"corpus item {i} is a {type(t).__name__}, not a str")
    return texts


def _alphabet(texts: list[str]) -> list[str]:
    chars = sorted(set().union(*map(set, texts)))  # sorted by code point
    if not chars:
        raise ValueError("the corpus is empty: it holds no character to build a vocabulary from")
    return chars


def _check_ids(ids, vocab_size: int) -> list[int]:
    ids = [int(i) for i in (ids.tolist() if isinstance(ids, np.ndarray) else ids)]
    bad = [i for i in ids if not 0 <= i < vocab_size]
    if bad:  # negative ids too: Python would quietly count them from the end
        raise ValueError(f"token id {bad[0]} is out of range for vocab_size={vocab_size} "
                         f"(valid ids: 0 to {vocab_size - 1})")
    return ids


class CharTokenizer:
    """One token per character: id 0 is <UNK>, then the characters in code-point order."""

    unk_id = 0

    def __init__(self, vocab: list[str] | None = None):
        self._set([UNK] + list(vocab or []))

    def _set(self, vocab: list[str]) -> None:
        self.vocab = vocab
        self.vocab_size = len(vocab)
        self.char_to_id = {c: i for i, c in enumerate(vocab) if i != self.unk_id}
        self.id_to_char = dict(enumerate(vocab))

    def build_vocab(self, corpus) -> None:
        """Replace the vocabulary by <UNK> + the corpus's distinct characters, sorted."""
        self._set([UNK] + _alphabet(_texts(corpus)))

    def encode(self, text: str) -> list[int]:
        get = self.char_to_id.get
        return [get(c, self.unk_id) for c in text]

    def decode(self, ids) -> str:
        return "".join(self.vocab[i] for i in _check_ids(ids, self.vocab_size))


class BPETokenizer:
    """Byte-pair encoding over the characters of each text.

    Training starts from <UNK> + the sorted alphabet of the corpus and repeats: count every
    adjacent pair of tokens inside each text, merge the most frequent pair (ties: the
    smallest (left id, right id)) into a new token with the next id, until vocab_size
    tokens exist or no pair is left.
    """

    unk_id = 0

    def __init__(self, vocab_size: int = 1000):
        self.target_vocab_size = _positive(vocab_size)
        self.vocab: list[str] = []
        self.merges: list[tuple[int, int]] = []
        self.char_to_id: dict[str, int] = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def train(self, corpus, vocab_size: int | None = None) -> None:
        target = self.target_vocab_size if vocab_size is None else _positive(vocab_size)
        texts = _texts(corpus)
        chars = _alphabet(texts)
        if target < len(chars) + 1:
            raise ValueError(f"vocab_size={target} is below the {len(chars) + 1} base tokens "
                             f"(<UNK> and the corpus's {len(chars)} distinct characters)")
        vocab = [UNK] + chars
        char_to_id = {c: i + 1 for i, c in enumerate(chars)}
        # All texts in one int array, separated by -1 so that no pair spans two texts.
        parts = []
        for t in texts:
            parts += [char_to_id[c] for c in t] + [-1]
        seq = np.array(parts, dtype=np.int64)
        merges = []
        while len(vocab) < target:
            left, right = seq[:-1], seq[1:]
            valid = (left >= 0) & (right >= 0)
            if not valid.any():
                break  # every text is a single token
            codes = left[valid] * len(vocab) + right[valid]  # lexicographic order of (left, right)
            uniq, counts = np.unique(codes, return_counts=True)
            best = int(uniq[np.argmax(counts)])  # the first maximum: the smallest pair
            a, b = divmod(best, len(vocab))
            new = len(vocab)
            seq = _merge(seq, a, b, new)
            merges.append((a, b))
            vocab.append(vocab[a] + vocab[b])
        self.target_vocab_size = target
        self.vocab, self.merges, self.char_to_id = vocab, merges, char_to_id

    def encode(self, text: str) -> list[int]:
        if not self.vocab:
            raise RuntimeError("BPETokenizer.encode: call train(corpus) first")
        get = self.char_to_id.get
        seq = np.array([get(c, self.unk_id) for c in text], dtype=np.int64)
        first = len(self.vocab) - len(self.merges)
        for k, (a, b) in enumerate(self.merges):  # replay the merges in training order
            seq = _merge(seq, a, b, first + k)
        return seq.tolist()

    def decode(self, ids) -> str:
        if not self.vocab:
            raise RuntimeError("BPETokenizer.decode: call train(corpus) first")
        return "".join(self.vocab[i] for i in _check_ids(ids, len(self.vocab)))


def _positive(vocab_size) -> int:
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, numbers.Integral) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive int, got {vocab_size!r}")
    return int(vocab_size)


def _merge(seq: np.ndarray, a: int, b: int, new: int) -> np.ndarray:
    """Replace every occurrence of the pair (a, b), left to right without overlaps, by `new`."""
    hits = np.flatnonzero((seq[:-1] == a) & (seq[1:] == b))
    if hits.size == 0:
        return seq
    if a == b:  # in a run "a a a" only the first two merge: drop hits that overlap the previous
        keep, last = [], -2
        for h in hits.tolist():
            if h > last + 1:
                keep.append(h)
                last = h
        hits = np.array(keep, dtype=np.int64)
    out = seq.copy()
    out[hits] = new
    drop = np.ones(seq.size, dtype=bool)
    drop[hits + 1] = False
    return out[drop]
