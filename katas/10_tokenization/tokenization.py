"""Kata 10: tokenization, from text to integer ids and back.

CharTokenizer - one id per character seen in a corpus, id 0 for everything else
BPETokenizer  - byte-pair encoding over characters: start from the characters, merge the
                most frequent adjacent pair into a new token, repeat up to vocab_size

Read README.md in this folder for the exact contract.
"""
from __future__ import annotations

import numpy as np

UNK = "<UNK>"  # id 0 in both tokenizers: every character the corpus never showed


class CharTokenizer:
    """One token per character: id 0 is <UNK>, then the characters."""

    unk_id = 0

    def __init__(self, vocab: list[str] | None = None):
        """vocab = ["<UNK>"] + the given characters; also vocab_size, char_to_id, id_to_char."""
        raise NotImplementedError("kata 10_tokenization: write CharTokenizer.__init__")

    def build_vocab(self, corpus) -> None:
        """Replace the vocabulary by "<UNK>" + the corpus's distinct characters, sorted by
        code point. corpus: a str (one text) or a list/tuple of str. ValueError if empty."""
        raise NotImplementedError("kata 10_tokenization: write CharTokenizer.build_vocab")

    def encode(self, text: str) -> list[int]:
        """One Python int per character: its id, or unk_id (0) if it is not in the vocabulary."""
        raise NotImplementedError("kata 10_tokenization: write CharTokenizer.encode")

    def decode(self, ids) -> str:
        """"".join(vocab[i] for i in ids); ValueError for an id outside [0, vocab_size)."""
        raise NotImplementedError("kata 10_tokenization: write CharTokenizer.decode")


class BPETokenizer:
    """Byte-pair encoding over the characters of each text (see README.md for the rules)."""

    unk_id = 0

    def __init__(self, vocab_size: int = 1000):
        """Store target_vocab_size (a positive int, else ValueError); vocab = [], merges = []."""
        raise NotImplementedError("kata 10_tokenization: write BPETokenizer.__init__")

    @property
    def vocab_size(self) -> int:
        """len(vocab)"""
        raise NotImplementedError("kata 10_tokenization: write BPETokenizer.vocab_size")

    def train(self, corpus, vocab_size: int | None = None) -> None:
        """Learn the merges from scratch.

        Base vocabulary: "<UNK>" + the sorted distinct characters. While len(vocab) <
        vocab_size: count adjacent pairs inside each text (overlaps included), merge the
        most frequent (ties: smallest left id, then smallest right id) into a new token
        with the next id, replacing occurrences left to right. Stop early when no pair is
        left. ValueError for an empty corpus or a vocab_size below the base vocabulary.
        """
        raise NotImplementedError("kata 10_tokenization: write BPETokenizer.train")

    def encode(self, text: str) -> list[int]:
        """Base ids (unk_id for unknown characters), then every merge in training order."""
        raise NotImplementedError("kata 10_tokenization: write BPETokenizer.encode")

    def decode(self, ids) -> str:
        """"".join(vocab[i] for i in ids); ValueError for an id outside [0, vocab_size)."""
        raise NotImplementedError("kata 10_tokenization: write BPETokenizer.decode")
