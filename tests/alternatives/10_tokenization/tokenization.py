"""An independent kata 10 solution making other legitimate choices than the reference:
plain Python lists and dicts (no NumPy), a shared base class, pairs counted incrementally
per text with a dict, and GPT-2-style encoding (repeatedly merge the lowest-rank pair
present) instead of replaying the merge list in order."""
from __future__ import annotations


class _Base:
    unk_id = 0
    UNK = "<UNK>"

    def decode(self, ids) -> str:
        if not self.vocab:
            raise RuntimeError(f"{type(self).__name__} has no vocabulary yet: train it first")
        n = len(self.vocab)
        pieces = []
        for raw in list(ids):
            i = int(raw)
            if i < 0 or i >= n:
                raise ValueError(f"cannot decode id {i}: ids go from 0 to {n - 1} (vocab_size={n})")
            pieces.append(self.vocab[i])
        return "".join(pieces)

    @staticmethod
    def _corpus(corpus) -> list:
        texts = [corpus] if isinstance(corpus, str) else [t for t in corpus]
        if not any(texts):
            raise ValueError("cannot build a vocabulary from an empty corpus")
        return texts


class CharTokenizer(_Base):
    def __init__(self, vocab=None):
        self._use([self.UNK, *(vocab if vocab is not None else [])])

    def _use(self, vocab):
        self.vocab = vocab
        self.vocab_size = len(vocab)
        self.id_to_char = {i: ch for i, ch in enumerate(vocab)}
        self.char_to_id = {ch: i for i, ch in reversed(list(enumerate(vocab)))}

    def build_vocab(self, corpus) -> None:
        seen = set()
        for text in self._corpus(corpus):
            seen.update(text)
        self._use([self.UNK] + sorted(seen))

    def encode(self, text: str) -> list:
        return [self.char_to_id.get(ch, self.unk_id) for ch in text]


class BPETokenizer(_Base):
    def __init__(self, vocab_size=1000):
        self.target_vocab_size = self._check(vocab_size)
        self.vocab, self.merges, self._ranks, self._char_ids = [], [], {}, {}

    @staticmethod
    def _check(n):
        if type(n) is bool or not hasattr(n, "__index__") or n.__index__() <= 0:
            raise ValueError(f"vocab_size must be a positive integer, got {n!r}")
        return n.__index__()

    @property
    def vocab_size(self):
        return len(self.vocab)

    def train(self, corpus, vocab_size=None):
        if vocab_size is not None:
            target = self._check(vocab_size)
        else:
            target = self.target_vocab_size
        texts = self._corpus(corpus)
        alphabet = sorted({ch for t in texts for ch in t})
        if 1 + len(alphabet) > target:
            raise ValueError(f"vocab_size {target} is too small: the corpus alone needs "
                             f"{1 + len(alphabet)} tokens")
        vocab = [self.UNK] + alphabet
        char_ids = {ch: k for k, ch in enumerate(vocab) if k > 0}
        words = [[char_ids[ch] for ch in t] for t in texts]
        merges = []
        while len(vocab) < target:
            counts = {}
            for w in words:
                for p in zip(w, w[1:]):
                    counts[p] = counts.get(p, 0) + 1
            if not counts:
                break
            top = max(counts.values())
            pair = min(p for p, c in counts.items() if c == top)
            new_id = len(vocab)
            words = [self._join(w, pair, new_id) for w in words]
            merges.append(pair)
            vocab.append(vocab[pair[0]] + vocab[pair[1]])
        self.target_vocab_size = target
        self.vocab, self.merges, self._char_ids = vocab, merges, char_ids
        self._ranks = {p: r for r, p in enumerate(merges)}

    @staticmethod
    def _join(word, pair, new_id):
        out, i = [], 0
        while i < len(word):
            if word[i] == pair[0] and i + 1 < len(word) and word[i + 1] == pair[1]:
                out.append(new_id)
                i += 2
            else:
                out.append(word[i])
                i += 1
        return out

    def encode(self, text):
        if not self.vocab:
            raise RuntimeError("BPETokenizer must be trained before encoding")
        word = [self._char_ids.get(ch, self.unk_id) for ch in text]
        first = len(self.vocab) - len(self.merges)
        while len(word) > 1:
            ranked = [(self._ranks[p], p) for p in zip(word, word[1:]) if p in self._ranks]
            if not ranked:
                break
            rank, pair = min(ranked)
            word = self._join(word, pair, first + rank)
        return word
