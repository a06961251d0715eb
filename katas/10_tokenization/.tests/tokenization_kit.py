"""Shared by kata 10's hidden tests (not collected: the name is not test_*): a plain-Python
BPE oracle written from the README's rules, crash-to-message calls, and a diagnosis of the
first merge where a learner's training departs from the rules."""
from __future__ import annotations

import numbers
import re
from collections import Counter

from pytest_tinytorch import checks

KATA = "10_tokenization"
UNK = "<UNK>"


def call(fn, what, *args, hint="", inputs=None, **kwargs):
    """fn(*args, **kwargs), an unexpected crash turned into a message (NotImplementedError passes)."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001 - any crash in learner code is a verdict
        err = e
    checks.fail(f"{what} raised {type(err).__name__}: {err}", inputs=inputs, hint=hint)


raised = checks.raised  # the shared helper: NotImplementedError propagates, other crashes are returned


def expect_error(fn, kind, what, *, must_contain=(), inputs=None, hint="", missing_hint=""):
    """fn() must raise `kind` whose message contains every string of must_contain."""
    err = raised(fn)
    if err is None:
        checks.fail(f"{what} must raise {kind.__name__}.", "it returned without an error",
                    inputs=inputs, hint=hint)
    if not isinstance(err, kind):
        checks.fail(f"{what} must raise {kind.__name__}.", f"it raised {type(err).__name__}: {err}",
                    inputs=inputs, hint=hint)
    for piece in must_contain:
        found = (re.search(rf"(?<![\w.-]){re.escape(piece)}(?![\w.])", str(err)) is not None
                 if re.fullmatch(r"-?\d+", piece) else piece in str(err))
        if not found:
            checks.fail(f"{what}: the {kind.__name__}'s message must contain {piece!r}.",
                        f"the message was: {str(err)!r}", inputs=inputs, hint=missing_hint)


def texts_of(corpus) -> list[str]:
    return [corpus] if isinstance(corpus, str) else list(corpus)


def int_list(got, what, inputs=None):
    """got must be a list of Python ints; returns it."""
    if not isinstance(got, list):
        checks.fail(f"{what} must return a list.", f"got {type(got).__name__}: {checks.fmt(got)}",
                    inputs=inputs, hint="return a list of Python ints (call .tolist() on an array)")
    bad = [x for x in got if type(x) is not int]
    if bad:
        checks.fail(f"{what} must return Python ints.", f"found {bad[0]!r} of type {type(bad[0]).__name__}",
                    inputs=inputs, hint="convert with int(...) or .tolist(): NumPy integers are not ints")
    return got


# ---------------------------------------------------------------- the oracle

def pair_counts(seqs, overlapping=True) -> Counter:
    counts = Counter()
    for s in seqs:
        i = 0
        while i + 1 < len(s):
            counts[(s[i], s[i + 1])] += 1
            i += 2 if (not overlapping and s[i] == s[i + 1]) else 1
    return counts


def merge_seq(s, a, b, new, right_to_left=False):
    if right_to_left:
        return merge_seq(s[::-1], b, a, new)[::-1]
    out, i = [], 0
    while i < len(s):
        if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
            out.append(new)
            i += 2
        else:
            out.append(s[i])
            i += 1
    return out


class Oracle:
    """The README's BPE, step by step, keeping the state before every merge. The keyword
    arguments build the known wrong variants the diagnosis compares a learner with."""

    def __init__(self, corpus, vocab_size, *, tie="smallest", across=False, overlapping=True,
                 right_to_left=False, min_count=1, sort=True):
        texts = texts_of(corpus)
        chars = sorted(set("".join(texts))) if sort else list(dict.fromkeys("".join(texts)))
        self.base = [UNK] + chars
        self.vocab = list(self.base)
        ids = {c: i for i, c in enumerate(self.vocab) if i}
        self.ids = ids
        self.right_to_left = right_to_left
        seqs = [[ids[c] for c in t] for t in texts]
        if across:
            seqs = [sum(seqs, [])]
        self.states, self.merges = [], []
        while len(self.vocab) < vocab_size:
            counts = pair_counts(seqs, overlapping)
            self.states.append((seqs, counts))
            if not counts or max(counts.values()) < min_count:
                break
            if tie == "smallest":
                best = min(counts, key=lambda p: (-counts[p], p))
            elif tie == "largest":
                best = max(counts, key=lambda p: (counts[p], p))
            else:  # the first pair met in the texts
                best = max(counts, key=counts.get)
            new = len(self.vocab)
            seqs = [merge_seq(s, best[0], best[1], new, right_to_left) for s in seqs]
            self.merges.append(best)
            self.vocab.append(self.vocab[best[0]] + self.vocab[best[1]])
        self.final = seqs

    def encode(self, text, order=None, drop_unknown=False):
        s = [self.ids.get(c, 0) for c in text if not drop_unknown or c in self.ids]
        steps = list(enumerate(self.merges))
        for k, (a, b) in (steps if order is None else order(steps)):
            s = merge_seq(s, a, b, len(self.base) + k, self.right_to_left)
        return s


TRAINING_VARIANTS = [  # (keyword arguments, the hint when the learner's training matches them)
    (dict(tie="largest"), "ties: among the most frequent pairs, the SMALLEST left id wins, then the "
                          "smallest right id"),
    (dict(tie="first"), "ties: among the most frequent pairs, the smallest left id wins, then the "
                        "smallest right id (compare the ids, not the order in which pairs were met)"),
    (dict(across=True), "count pairs inside each text only: the last token of one text and the first "
                        "of the next are not adjacent (and never merge)"),
    (dict(overlapping=False), "count overlapping occurrences too: \"aaa\" holds the pair (a, a) twice "
                              "(counting is not merging)"),
    (dict(right_to_left=True), "replace occurrences left to right: merging (a, a) turns \"aaa\" into "
                               "[\"aa\", \"a\"], not [\"a\", \"aa\"]"),
    (dict(min_count=2), "a pair that occurs once still merges: stop only when no adjacent pair is "
                        "left, or at vocab_size tokens"),
]


def merges_of(tok, what):
    merges = getattr(tok, "merges", None)
    if not isinstance(merges, list):
        checks.fail(f"{what}: merges must be a list.", f"got {type(merges).__name__}")
    out = []
    for k, m in enumerate(merges):
        if not (isinstance(m, tuple) and len(m) == 2 and all(isinstance(x, numbers.Integral) for x in m)):
            checks.fail(f"{what}: merges[{k}] must be a tuple (left id, right id) of ints.",
                        f"got {m!r}", hint="record the ids of the merged pair, not their texts")
        out.append((int(m[0]), int(m[1])))
    return out


def _show(vocab, pair):
    return f"({pair[0]}, {pair[1]}) = {vocab[pair[0]]!r} + {vocab[pair[1]]!r}" \
        if max(pair) < len(vocab) and min(pair) >= 0 else repr(pair)


def diagnose_training(tok, oracle: Oracle, corpus, vocab_size, what):
    """Fail with the first departure of tok (trained) from the oracle, explained."""
    inputs = {"corpus": corpus, "vocab_size": vocab_size}
    vocab = getattr(tok, "vocab", None)
    if not isinstance(vocab, list):
        checks.fail(f"{what}: vocab must be a list of str.", f"got {type(vocab).__name__}", inputs=inputs)
    nb = len(oracle.base)
    if vocab[:nb] != oracle.base:
        hint = ("the base vocabulary is \"<UNK>\" (id 0) and then the corpus's distinct characters "
                "sorted by code point")
        if sorted(vocab[:nb]) == sorted(oracle.base) and vocab[:1] == [UNK]:
            hint = "sort the distinct characters by code point (sorted(set(...))), not in order of appearance"
        checks.fail(f"{what}: the base vocabulary is wrong.", f"got {vocab[:nb]!r}\nexpected {oracle.base!r}",
                    inputs=inputs, hint=hint)
    merges = merges_of(tok, what)
    if merges != oracle.merges:  # a known wrong variant explains it, if exactly one does
        hints = {hint for kwargs, hint in TRAINING_VARIANTS
                 if Oracle(corpus, vocab_size, **kwargs).merges == merges}
        if len(hints) == 1:
            checks.fail(f"{what}: the merges do not follow the rules.",
                        f"got merges {merges}\nexpected {oracle.merges}\n"
                        f"base vocabulary {oracle.base}", inputs=inputs, hint=hints.pop())
    for k, want in enumerate(oracle.merges):
        if k >= len(merges):
            counts = oracle.states[k][1]
            checks.fail(f"{what}: training stopped after {k} merges; it must go on until "
                        f"len(vocab) == vocab_size = {vocab_size} or no pair is left.",
                        f"merge {k} should be {_show(oracle.vocab, want)}, which occurs "
                        f"{counts[want]} time(s)", inputs=inputs,
                        hint="stop only when no adjacent pair is left, or at vocab_size tokens "
                             "(<UNK> and the base characters included)")
        got = merges[k]
        if got == want:
            continue
        seqs, counts = oracle.states[k]
        best = counts[want]
        n_got = counts.get(got, 0)
        detail = (f"merge {k} should be {_show(oracle.vocab, want)}, which occurs {best} time(s); "
                  f"you merged {_show(oracle.vocab, got)}, which occurs {n_got} time(s)\n"
                  f"the texts as ids before this merge: {seqs}")
        hint = ("ties: among the most frequent pairs, the smallest left id wins, then the smallest "
                "right id" if n_got == best else
                "merge the most frequent adjacent pair of the current tokens (recount after every merge)")
        checks.fail(f"{what}: merge {k} is not the one the rules give.", detail, inputs=inputs, hint=hint)
    if len(merges) > len(oracle.merges):
        extra = merges[len(oracle.merges)]
        why = ("no adjacent pair was left (every text is one token)" if len(oracle.vocab) < vocab_size
               else f"the vocabulary already had vocab_size = {vocab_size} tokens, <UNK> included")
        checks.fail(f"{what}: training must stop after {len(oracle.merges)} merges: {why}.",
                    f"you made {len(merges)} merges, the next one {extra!r}", inputs=inputs,
                    hint="while len(vocab) < vocab_size (the vocabulary counts <UNK> and the base "
                         "characters) and some pair is left")
    if len(vocab) != len(oracle.vocab):
        checks.fail(f"{what}: every merge must add exactly one token with the next id.",
                    f"{len(oracle.merges)} merges on a base of {nb} tokens give {len(oracle.vocab)} "
                    f"tokens; your vocab has {len(vocab)}", inputs=inputs,
                    hint="append one new token (the pair's texts joined) for every merge, and "
                         "none otherwise")
    for i in range(nb, len(vocab)):
        if vocab[i] != oracle.vocab[i]:
            a, b = oracle.merges[i - nb]
            checks.fail(f"{what}: the text of token {i} is wrong.", f"got {vocab[i]!r}, expected "
                        f"{oracle.vocab[i]!r} (the merge of {a} and {b})", inputs=inputs,
                        hint="a merged token's text is the left token's text followed by the right's")
    size = getattr(tok, "vocab_size", None)
    if size != len(vocab):
        checks.fail(f"{what}: vocab_size must be len(vocab) = {len(vocab)}.", f"got {size!r}",
                    inputs=inputs, hint="vocab_size is a property returning len(self.vocab)")


def diagnose_encoding(got, want, oracle: Oracle, text, what, inputs):
    if got == want:
        return
    texts = [oracle.vocab[i] if 0 <= i < len(oracle.vocab) else None for i in got]
    rtl = Oracle.__new__(Oracle)
    rtl.__dict__.update(oracle.__dict__, right_to_left=True)
    known = [
        (got == oracle.encode(text, order=lambda steps: steps[::-1]),
         "replay the merges in the order they were learned (first merge first), not in reverse"),
        (got == rtl.encode(text), "replace occurrences left to right: merging (a, a) turns \"aaa\" "
                                  "into [\"aa\", \"a\"], not [\"a\", \"aa\"]"),
        (got == oracle.encode(text, drop_unknown=True),
         "an unknown character encodes to unk_id (0): do not drop it"),
        (texts == longest_match(oracle.vocab, text),
         "replay the merges, do not match the longest known token: BPE's segmentation is the one "
         "the merges produce, which is not always the longest match"),
    ]
    hints = [h for matched, h in known if matched]
    hint = hints[0] if len(hints) == 1 else ("turn the characters into base ids, then apply every "
                                             "merge, in training order, to the whole text")
    checks.fail(f"{what} is wrong.", f"got {got}\nexpected {want}\nthe merges (left id, right id): "
                f"{oracle.merges}\nvocab: {oracle.vocab}", inputs=inputs, hint=hint)


def longest_match(vocab, text):
    """The segmentation a greedy longest-prefix matcher over the vocabulary's texts gives."""
    known = {t for t in vocab[1:]}
    out, i = [], 0
    while i < len(text):
        n = max((n for n in range(1, len(text) - i + 1) if text[i:i + n] in known), default=0)
        out.append(text[i:i + n] if n else UNK)
        i += max(n, 1)
    return out
