"""Plausible wrong solutions of kata 10 (tokenization)."""
from tests.mutants import Mutant

C = "test_tokenization_char.py::"
B = "test_tokenization_bpe.py::"
F = "tokenization.py"

_COUNT = """            codes = left[valid] * len(vocab) + right[valid]  # lexicographic order of (left, right)
            uniq, counts = np.unique(codes, return_counts=True)
            best = int(uniq[np.argmax(counts)])  # the first maximum: the smallest pair
            a, b = divmod(best, len(vocab))
"""
_MERGE_STEP = """            best = int(uniq[np.argmax(counts)])  # the first maximum: the smallest pair
            a, b = divmod(best, len(vocab))
            new = len(vocab)
            seq = _merge(seq, a, b, new)
            merges.append((a, b))
            vocab.append(vocab[a] + vocab[b])
"""
_OVERLAP = """        keep, last = [], -2
        for h in hits.tolist():
            if h > last + 1:
                keep.append(h)
                last = h
        hits = np.array(keep, dtype=np.int64)
"""

MUTANTS = [
    # ------------------------------------------------------------ CharTokenizer
    Mutant(
        name="<UNK> appended at the end",
        file=F, test=C + "test_init_puts_unk_first_then_the_given_characters",
        old="        self._set([UNK] + list(vocab or []))",
        new="        self._set(list(vocab or []) + [UNK])",
        expect=r"\"<UNK>\" is id 0",
    ),
    Mutant(
        name="build_vocab keeps the old vocabulary",
        file=F, test=C + "test_build_vocab_is_unk_then_the_sorted_characters",
        old="        self._set([UNK] + _alphabet(_texts(corpus)))",
        new="        self._set([UNK] + sorted(set(self.vocab[1:]) | set(_alphabet(_texts(corpus)))))",
        expect=r"build_vocab replaces the vocabulary",
    ),
    Mutant(
        name="characters in order of appearance",
        file=F, test=C + "test_build_vocab_is_unk_then_the_sorted_characters",
        old="        self._set([UNK] + _alphabet(_texts(corpus)))",
        new="        _alphabet(_texts(corpus))\n"
            "        self._set([UNK] + list(dict.fromkeys(\"\".join(_texts(corpus)))))",
        expect=r"sort the distinct characters by code point",
    ),
    Mutant(
        name="build_vocab does not rebuild the mappings",
        file=F, test=C + "test_build_vocab_is_unk_then_the_sorted_characters",
        old="        self._set([UNK] + _alphabet(_texts(corpus)))",
        new="        self.vocab = [UNK] + _alphabet(_texts(corpus))\n        self.vocab_size = len(self.vocab)",
        expect=r"rebuild both mappings from the new vocabulary",
    ),
    Mutant(
        name="unknown characters skipped",
        file=F, test=C + "test_unknown_characters_encode_to_unk_and_decode_to_the_unk_text",
        old="        return [get(c, self.unk_id) for c in text]",
        new="        return [get(c) for c in text if c in self.char_to_id]",
        expect=r"is not skipped and not an error",
    ),
    Mutant(
        name="unknown characters raise KeyError",
        file=F, test=C + "test_unknown_characters_encode_to_unk_and_decode_to_the_unk_text",
        old="        return [get(c, self.unk_id) for c in text]",
        new="        return [self.char_to_id[c] for c in text]",
        expect=r"raised KeyError(.|\n)*char_to_id\.get\(c, unk_id\)",
    ),
    Mutant(
        name="encode returns NumPy integers",
        file=F, test=C + "test_decode_of_encode_gives_the_text_back",
        old="        return [get(c, self.unk_id) for c in text]",
        new="        return list(np.array([get(c, self.unk_id) for c in text], dtype=np.int64))",
        expect=r"NumPy integers are not ints",
    ),
    Mutant(
        name="negative ids decode from the end",
        file=F, test=C + "test_decode_rejects_ids_out_of_range[-1]",
        old="    bad = [i for i in ids if not 0 <= i < vocab_size]",
        new="    bad = [i for i in ids if i >= vocab_size]",
        expect=r"must not count from the end",
    ),
    Mutant(
        name="decode error does not name vocab_size",
        file=F, test=C + "test_decode_rejects_ids_out_of_range[3]",
        old='raise ValueError(f"token id {bad[0]} is out of range for vocab_size={vocab_size} "',
        new='raise ValueError(f"token id {bad[0]} is out of range for this vocabulary "',
        expect=r"must contain 'vocab_size=3'",
    ),
    Mutant(
        name="decode truth-tests the ids",
        file=F, test=C + "test_decode_accepts_tuples_and_integer_arrays",
        old='    def decode(self, ids) -> str:\n        return "".join(self.vocab[i] for i in _check_ids(ids, self.vocab_size))',
        new='    def decode(self, ids) -> str:\n        if not ids:\n            return ""\n'
            '        return "".join(self.vocab[i] for i in _check_ids(ids, self.vocab_size))',
        expect=r"no `if not ids`",
    ),
    Mutant(
        name="an empty corpus accepted",
        file=F, test=C + "test_build_vocab_of_an_empty_corpus_raises_value_error[empty list]",
        old='    if not chars:\n        raise ValueError("the corpus is empty: it holds no character to build a vocabulary from")\n',
        new="",
        expect=r"must raise ValueError",
    ),
    Mutant(
        name="the corpus list sorted in place",
        file=F, test=C + "test_build_vocab_leaves_the_corpus_unchanged",
        old="    texts = list(corpus)\n",
        new="    texts = corpus if isinstance(corpus, list) else list(corpus)\n    texts.sort()\n",
        expect=r"never sort the list in place",
    ),
    # ------------------------------------------------------------ BPE construction
    Mutant(
        name="default vocab_size 256",
        file=F, test=B + "test_new_tokenizer_stores_its_target_and_starts_empty",
        old="    def __init__(self, vocab_size: int = 1000):",
        new="    def __init__(self, vocab_size: int = 256):",
        expect=r"the default vocab_size is 1000",
    ),
    Mutant(
        name="vocab_size not validated",
        file=F, test=B + "test_vocab_size_must_be_a_positive_int[0]",
        old='    if isinstance(vocab_size, bool) or not isinstance(vocab_size, numbers.Integral) or vocab_size < 1:\n'
            '        raise ValueError(f"vocab_size must be a positive int, got {vocab_size!r}")\n',
        new="",
        expect=r"must be a positive int",
    ),
    Mutant(
        name="vocab_size property counts the merges",
        file=F, test=B + "test_training_follows_the_rules",
        old="    def vocab_size(self) -> int:\n        return len(self.vocab)",
        new="    def vocab_size(self) -> int:\n        return len(self.merges)",
        expect=r"vocab_size must be len\(vocab\)",
    ),
    # ------------------------------------------------------------ BPE training
    Mutant(
        name="tie: the largest pair wins",
        file=F, test=B + "test_training_follows_the_rules",
        old="            best = int(uniq[np.argmax(counts)])  # the first maximum: the smallest pair",
        new="            best = int(uniq[len(counts) - 1 - np.argmax(counts[::-1])])",
        expect=r"the SMALLEST left id wins",
    ),
    Mutant(
        name="tie: the first pair met in the text wins",
        file=F, test=B + "test_training_follows_the_rules",
        old=_COUNT,
        new="            pairs = {}\n"
            "            for p in zip(left[valid].tolist(), right[valid].tolist()):\n"
            "                pairs[p] = pairs.get(p, 0) + 1\n"
            "            a, b = max(pairs, key=pairs.get)  # ties: the first pair counted\n",
        expect=r"compare the ids, not the order in which pairs were met",
    ),
    Mutant(
        name="pairs counted across texts",
        file=F, test=B + "test_training_follows_the_rules",
        old="            parts += [char_to_id[c] for c in t] + [-1]",
        new="            parts += [char_to_id[c] for c in t]\n        parts.append(-1)",
        expect=r"count pairs inside each text only",
    ),
    Mutant(
        name="overlapping pairs counted once",
        file=F, test=B + "test_training_follows_the_rules",
        old=_COUNT,
        new="            s, pairs, i = seq.tolist(), {}, 0\n"
            "            while i + 1 < len(s):\n"
            "                if s[i] >= 0 and s[i + 1] >= 0:\n"
            "                    pairs[(s[i], s[i + 1])] = pairs.get((s[i], s[i + 1]), 0) + 1\n"
            "                    i += 2 if s[i] == s[i + 1] else 1  # as a merge would\n"
            "                else:\n"
            "                    i += 1\n"
            "            a, b = min(pairs, key=lambda p: (-pairs[p], p))\n",
        expect=r"count overlapping occurrences too",
    ),
    Mutant(
        name="runs merged right to left",
        file=F, test=B + "test_training_follows_the_rules",
        old=_OVERLAP,
        new="        keep, last = [], seq.size + 1\n"
            "        for h in reversed(hits.tolist()):\n"
            "            if h < last - 1:\n"
            "                keep.append(h)\n"
            "                last = h\n"
            "        hits = np.array(sorted(keep), dtype=np.int64)\n",
        expect=r"replace occurrences left to right",
    ),
    Mutant(
        name="training stops when the best pair occurs once",
        file=F, test=B + "test_training_follows_the_rules",
        old="            best = int(uniq[np.argmax(counts)])  # the first maximum: the smallest pair",
        new="            if counts.max() < 2:\n                break\n"
            "            best = int(uniq[np.argmax(counts)])",
        expect=r"a pair that occurs once still merges",
    ),
    Mutant(
        name="vocab_size counted without <UNK>",
        file=F, test=B + "test_training_follows_the_rules",
        old="        while len(vocab) < target:",
        new="        while len(vocab) - 1 < target:",
        expect=r"training must stop after \d+ merges: the vocabulary already had vocab_size",
    ),
    Mutant(
        name="merged text joined right before left",
        file=F, test=B + "test_training_follows_the_rules",
        old="            vocab.append(vocab[a] + vocab[b])",
        new="            vocab.append(vocab[b] + vocab[a])",
        expect=r"the left token's text followed by the right's",
    ),
    Mutant(
        name="merges recorded as texts",
        file=F, test=B + "test_training_follows_the_rules",
        old="            merges.append((a, b))\n            vocab.append(vocab[a] + vocab[b])",
        new="            merges.append((vocab[a], vocab[b]))\n            vocab.append(vocab[a] + vocab[b])",
        expect=r"record the ids of the merged pair",
    ),
    Mutant(
        name="base alphabet in order of appearance",
        file=F, test=B + "test_training_follows_the_rules",
        old="        chars = _alphabet(texts)\n",
        new="        chars = _alphabet(texts) and list(dict.fromkeys(\"\".join(texts)))\n",
        expect=r"sort the distinct characters by code point",
    ),
    Mutant(
        name="no <UNK> in the BPE vocabulary",
        file=F, test=B + "test_training_follows_the_rules",
        old="        vocab = [UNK] + chars\n        char_to_id = {c: i + 1 for i, c in enumerate(chars)}",
        new="        vocab = list(chars)\n        char_to_id = {c: i for i, c in enumerate(chars)}",
        expect=r"the base vocabulary is \"<UNK>\" \(id 0\)",
    ),
    Mutant(
        name="every tied pair merged in one round",
        file=F, test=B + "test_one_more_token_adds_at_most_one_merge_and_never_lengthens",
        old=_MERGE_STEP,
        new="""            size = len(vocab)
            for best in uniq[counts == counts.max()].tolist():  # every tied pair at once
                a, b = divmod(best, size)
                new = len(vocab)
                seq = _merge(seq, a, b, new)
                merges.append((a, b))
                vocab.append(vocab[a] + vocab[b])
""",
        expect=r"merge one pair per round",
    ),
    Mutant(
        name="a str corpus iterated as characters",
        file=F, test=B + "test_a_string_corpus_is_one_text",
        old="    if isinstance(corpus, str):\n        return [corpus]\n",
        new="",
        expect=r"a str is ONE text",
    ),
    Mutant(
        name="retraining keeps the earlier merges",
        file=F, test=B + "test_training_is_deterministic_and_retraining_starts_over",
        old="        merges = []\n        while len(vocab) < target:",
        new="        merges = self.merges  # the list of the previous training\n        while len(vocab) < target:",
        expect=r"must start from scratch",
    ),
    Mutant(
        name="train ignores its vocab_size argument",
        file=F, test=B + "test_train_vocab_size_argument_replaces_the_target",
        old="        target = self.target_vocab_size if vocab_size is None else _positive(vocab_size)",
        new="        target = self.target_vocab_size",
        expect=r"must set target_vocab_size to 6",
    ),
    Mutant(
        name="an alphabet larger than vocab_size kept silently",
        file=F, test=B + "test_vocab_size_below_the_alphabet_raises_value_error[abc-3]",
        old="        if target < len(chars) + 1:",
        new="        if False:",
        expect=r"refuse a smaller vocab_size",
    ),
    Mutant(
        name="below-alphabet error without the number needed",
        file=F, test=B + "test_vocab_size_below_the_alphabet_raises_value_error[abc-3]",
        old='raise ValueError(f"vocab_size={target} is below the {len(chars) + 1} base tokens "\n'
            '                             f"(<UNK> and the corpus\'s {len(chars)} distinct characters)")',
        new='raise ValueError(f"vocab_size={target} is smaller than the alphabet")',
        expect=r"say how many base tokens are needed \(4\)",
    ),
    Mutant(
        name="an untrained tokenizer encodes to []",
        file=F, test=B + "test_an_untrained_tokenizer_raises_runtime_error[encode]",
        old='            raise RuntimeError("BPETokenizer.encode: call train(corpus) first")',
        new="            return []",
        expect=r"raise RuntimeError",
    ),
    # ------------------------------------------------------------ BPE encode
    Mutant(
        name="merges replayed in reverse order",
        file=F, test=B + "test_encode_replays_the_merges_in_training_order",
        old="        for k, (a, b) in enumerate(self.merges):  # replay the merges in training order",
        new="        for k, (a, b) in reversed(list(enumerate(self.merges))):",
        expect=r"not in reverse",
    ),
    Mutant(
        name="encode by longest match",
        file=F, test=B + "test_encode_replays_the_merges_in_training_order",
        old="""        seq = np.array([get(c, self.unk_id) for c in text], dtype=np.int64)
        first = len(self.vocab) - len(self.merges)
        for k, (a, b) in enumerate(self.merges):  # replay the merges in training order
            seq = _merge(seq, a, b, first + k)
        return seq.tolist()""",
        new="""        out, i = [], 0
        while i < len(text):  # the longest vocabulary entry that matches here
            n = max((n for n in range(1, len(text) - i + 1) if text[i:i + n] in self.vocab[1:]), default=0)
            out.append(self.vocab.index(text[i:i + n], 1) if n else self.unk_id)
            i += max(n, 1)
        return out""",
        expect=r"do not match the longest known token",
    ),
    Mutant(
        name="BPE encode drops unknown characters",
        file=F, test=B + "test_decode_of_encode_gives_the_text_back",
        old="        seq = np.array([get(c, self.unk_id) for c in text], dtype=np.int64)",
        new="        seq = np.array([get(c) for c in text if c in self.char_to_id], dtype=np.int64)",
        expect=r"an unknown one is not dropped",
    ),
    Mutant(
        name="an untrained tokenizer decodes to ''",
        file=F, test=B + "test_an_untrained_tokenizer_raises_runtime_error[decode]",
        old='            raise RuntimeError("BPETokenizer.decode: call train(corpus) first")',
        new='            return ""',
        expect=r"raise RuntimeError",
    ),
    Mutant(
        name="decode drops <UNK>",
        file=F, test=C + "test_unknown_characters_encode_to_unk_and_decode_to_the_unk_text",
        old='    def decode(self, ids) -> str:\n        return "".join(self.vocab[i] for i in _check_ids(ids, self.vocab_size))',
        new='    def decode(self, ids) -> str:\n'
            '        return "".join(self.vocab[i] for i in _check_ids(ids, self.vocab_size) if i)',
        expect=r"decode must turn id 0 into the text '<UNK>'",
    ),
    Mutant(
        name="vocab_size stale after build_vocab",
        file=F, test=C + "test_build_vocab_is_unk_then_the_sorted_characters",
        old="        self._set([UNK] + _alphabet(_texts(corpus)))",
        new="        vocab = [UNK] + _alphabet(_texts(corpus))\n"
            "        self.vocab = vocab\n"
            "        self.char_to_id = {c: i for i, c in enumerate(vocab) if i}\n"
            "        self.id_to_char = dict(enumerate(vocab))",
        expect=r"vocab_size must be len\(vocab\)",
    ),
    Mutant(
        name="BPE encode returns NumPy integers",
        file=F, test=B + "test_encode_replays_the_merges_in_training_order",
        old="        return seq.tolist()",
        new="        return list(seq)",
        expect=r"NumPy integers are not ints",
    ),
    Mutant(
        name="BPE decode collapses whitespace (as TinyTorch's)",
        file=F, test=B + "test_decode_of_encode_gives_the_text_back",
        old='        return "".join(self.vocab[i] for i in _check_ids(ids, len(self.vocab)))',
        new='        return " ".join("".join(self.vocab[i] for i in _check_ids(ids, len(self.vocab))).split())',
        expect=r"nothing is stripped or rebuilt",
    ),
]
