"""Hidden tests for BPETokenizer: training against a plain-Python oracle of the README's
rules, replayed encodings, lossless round trips, growth by one merge, and the errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tokenization import BPETokenizer
from tokenization_kit import (KATA, UNK, Oracle, call, diagnose_encoding, diagnose_training,
                              expect_error, int_list, merges_of, texts_of)

# Few characters, so that pairs repeat, tie and overlap (runs like "aaaa").
small_texts = st.text(alphabet="aab c\n", min_size=0, max_size=12)
small_corpora = st.one_of(small_texts.filter(bool),
                          st.lists(small_texts, min_size=1, max_size=4).filter(lambda c: "".join(c)))


def trained(corpus, vocab_size, what=None):
    what = what or f"BPETokenizer({vocab_size}).train(corpus)"
    tok = call(BPETokenizer, f"BPETokenizer({vocab_size})", vocab_size)
    call(tok.train, what, corpus, inputs={"corpus": corpus, "vocab_size": vocab_size})
    return tok


def base_size(corpus):
    return 1 + len(set("".join(texts_of(corpus))))


# ---------------------------------------------------------------- construction

def test_new_tokenizer_stores_its_target_and_starts_empty():
    for args, want in (((), 1000), ((37,), 37), ((np.int64(5),), 5)):
        tok = call(BPETokenizer, f"BPETokenizer{args}", *args)
        if tok.target_vocab_size != want:
            checks.fail(f"BPETokenizer{args}.target_vocab_size must be {want}.",
                        f"got {tok.target_vocab_size!r}",
                        hint="the default vocab_size is 1000, as in TinyTorch" if not args else "")
        if tok.vocab != [] or tok.merges != [] or tok.vocab_size != 0:
            checks.fail(f"A new BPETokenizer{args} must have vocab == [], merges == [] and vocab_size 0.",
                        f"vocab {tok.vocab!r}, merges {tok.merges!r}, vocab_size {tok.vocab_size!r}",
                        hint="vocab_size is the size of the learned vocabulary (len(vocab)), "
                             "target_vocab_size the size asked for")
    if BPETokenizer.unk_id != 0:
        checks.fail("BPETokenizer.unk_id must be 0.", f"got {BPETokenizer.unk_id!r}")


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10"])
def test_vocab_size_must_be_a_positive_int(bad):
    expect_error(lambda: BPETokenizer(bad), ValueError, f"BPETokenizer({bad!r})",
                 hint="vocab_size must be a positive int: check it and raise ValueError")
    tok = call(BPETokenizer, "BPETokenizer(10)", 10)
    expect_error(lambda: tok.train("abab", bad), ValueError, f"train('abab', vocab_size={bad!r})",
                 hint="train's vocab_size argument is checked like the constructor's")


# ---------------------------------------------------------------- training

@settings(max_examples=40)
@given(corpus=small_corpora, extra=st.integers(0, 12))
@example(corpus="aab", extra=1)  # a tie: (a, a) beats (a, b)
@example(corpus="aba ", extra=1)  # a three-way tie, the first pair met is not the smallest
@example(corpus=["a", " "], extra=1)  # nothing to merge inside the texts
@example(corpus=" aaa", extra=1)  # overlapping (a, a) pairs count twice
@example(corpus="aaa", extra=2)  # a run merges left to right
@example(corpus="ca", extra=1)  # a pair that occurs once merges
@example(corpus="aaaa", extra=3)
@example(corpus=["ab", "ba", "ab"], extra=2)
@example(corpus=["ab", "ab", "ca", "bc", "bc"], extra=3)
@example(corpus=["abc", "abc", "xbcy", "xbcy", "xbcy"], extra=6)
@example(corpus="ab", extra=5)  # stops early: nothing left to merge
@example(corpus="ba ab\nab ba", extra=4)
@example(corpus="abab", extra=0)
def test_training_follows_the_rules(corpus, extra):
    vocab_size = base_size(corpus) + extra
    tok = trained(corpus, vocab_size)
    diagnose_training(tok, Oracle(corpus, vocab_size), corpus, vocab_size,
                      f"BPETokenizer({vocab_size}).train(corpus)")


def test_a_string_corpus_is_one_text():
    one = trained("ab ab", 6)
    many = trained(["ab ab"], 6)
    if merges_of(one, "train('ab ab')") != merges_of(many, "train(['ab ab'])"):
        checks.fail("train('ab ab') must equal train(['ab ab']): a str corpus is one text.",
                    f"merges {one.merges} and {many.merges}",
                    hint="a str is ONE text: wrap it in a list instead of iterating over its characters")
    diagnose_training(one, Oracle("ab ab", 6), "ab ab", 6, "BPETokenizer(6).train('ab ab')")


def test_training_is_deterministic_and_retraining_starts_over():
    corpus = ["the cat sat", "the hat", "a cat"]
    a, b = trained(corpus, 20), trained(corpus, 20)
    if (a.vocab, a.merges) != (b.vocab, b.merges):
        checks.fail("Training twice on the same corpus must give the same vocab and merges.",
                    f"{a.merges}\n{b.merges}", hint="break ties by the stated rule, never by "
                                                    "set or dict iteration order")
    tok = trained(["zzzz yyyy"], 9)
    call(tok.train, "train(corpus) again on another corpus", corpus)
    fresh = trained(corpus, 9)
    if (tok.vocab, tok.merges) != (fresh.vocab, fresh.merges):
        checks.fail("train(corpus) must start from scratch: nothing of an earlier training is kept.",
                    f"after training on 'zzzz yyyy' then on corpus: vocab {tok.vocab}\n"
                    f"fresh training on corpus: vocab {fresh.vocab}",
                    hint="rebuild vocab and merges (new lists) at the start of train")
    if corpus != ["the cat sat", "the hat", "a cat"]:
        checks.fail("train must not modify the corpus.", f"the list is now {corpus!r}")


def test_train_vocab_size_argument_replaces_the_target():
    tok = call(BPETokenizer, "BPETokenizer(1000)", 1000)
    call(tok.train, "train('abcabc', vocab_size=6)", "abcabc", 6)
    if tok.target_vocab_size != 6:
        checks.fail("train(corpus, vocab_size=6) must set target_vocab_size to 6.",
                    f"got {tok.target_vocab_size!r}")
    diagnose_training(tok, Oracle("abcabc", 6), "abcabc", 6, "BPETokenizer(1000).train('abcabc', vocab_size=6)")


@settings(max_examples=15)
@given(corpus=small_corpora, extra=st.integers(0, 8), text=small_texts)
@example(corpus=["aab aab", "ab"], extra=3, text="aab ab aab")
@example(corpus=["ab", "ab", "ba", "ba"], extra=2, text="abab")
def test_one_more_token_adds_at_most_one_merge_and_never_lengthens(corpus, extra, text):
    n = base_size(corpus) + extra
    small, big = trained(corpus, n), trained(corpus, n + 1)
    m_small, m_big = merges_of(small, f"BPETokenizer({n})"), merges_of(big, f"BPETokenizer({n + 1})")
    inputs = {"corpus": corpus, "vocab_size": n}
    if m_big[:len(m_small)] != m_small or len(m_big) > len(m_small) + 1 or len(big.vocab) > n + 1:
        checks.fail(f"Training with vocab_size {n + 1} must give the merges of vocab_size {n} plus "
                    f"at most one more.", f"vocab_size {n}: {m_small}\nvocab_size {n + 1}: {m_big} "
                    f"({len(big.vocab)} tokens)", inputs=inputs,
                    hint="merge one pair per round (recount after every merge), and stop at "
                         "vocab_size tokens")
    known = set("".join(texts_of(corpus)))
    text = "".join(c for c in text if c in known)
    a = int_list(call(small.encode, "encode(text)", text), "encode(text)")
    b = int_list(call(big.encode, "encode(text)", text), "encode(text)")
    if len(b) > len(a):
        checks.fail("Adding a merge must never lengthen an encoding.",
                    f"with vocab_size {n}: {a}\nwith vocab_size {n + 1}: {b}", inputs={**inputs, "text": text})


# ---------------------------------------------------------------- encode and decode

@settings(max_examples=25)
@given(corpus=small_corpora, extra=st.integers(0, 10), text=st.text(alphabet="aab c\nz", max_size=14))
@example(corpus="aba", extra=4, text="abab")  # the longest match would give aba|b
@example(corpus="aaaa", extra=2, text="aaaaa")
@example(corpus=["abc", "abc", "xbcy", "xbcy", "xbcy"], extra=6, text="abcxbcy")
@example(corpus=["ab", "ab", "bc", "bc", "bc"], extra=2, text="abc")  # reverse order gives ab|c
@example(corpus="ab", extra=1, text="zab")
def test_encode_replays_the_merges_in_training_order(corpus, extra, text):
    vocab_size = base_size(corpus) + extra
    tok = trained(corpus, vocab_size)
    oracle = Oracle(corpus, vocab_size)
    diagnose_training(tok, oracle, corpus, vocab_size, f"BPETokenizer({vocab_size}).train(corpus)")
    inputs = {"corpus": corpus, "vocab_size": vocab_size, "text": text}
    got = int_list(call(tok.encode, "encode(text)", text, inputs=inputs), "encode(text)", inputs)
    diagnose_encoding(got, oracle.encode(text), oracle, text, "BPETokenizer.encode(text)", inputs)
    for t, seg in zip(texts_of(corpus), oracle.final):
        again = int_list(call(tok.encode, "encode(a training text)", t), "encode(a training text)")
        diagnose_encoding(again, seg, oracle, t, f"BPETokenizer.encode({t!r}) of a training text (its "
                          f"segmentation at the end of training)", {**inputs, "text": t})


@settings(max_examples=20)
@given(corpus=st.lists(st.text(max_size=15), min_size=1, max_size=3), text=st.text(max_size=20),
       extra=st.integers(0, 20))
@example(corpus=["tab\tand  two spaces\n"], text="  \n\t", extra=10)
@example(corpus=["héllo wörld 😀😀"], text="😀 wörld", extra=8)
def test_decode_of_encode_gives_the_text_back(corpus, text, extra):
    corpus = [*corpus, text, "x"]
    vocab_size = base_size(corpus) + extra
    tok = trained(corpus, vocab_size)
    inputs = {"corpus": corpus, "text": text}
    ids = int_list(call(tok.encode, "encode(text)", text, inputs=inputs), "encode(text)", inputs)
    bad = [i for i in ids if not 0 <= i < tok.vocab_size]
    if bad:
        checks.fail("BPETokenizer.encode must give ids in [0, vocab_size).", f"got {ids}", inputs=inputs)
    back = call(tok.decode, "decode(encode(text))", ids, inputs=inputs)
    if back != text:
        checks.fail("BPETokenizer: decode(encode(text)) must give the text back.", f"got {back!r}",
                    inputs=inputs, hint="decode joins vocab[id]: spaces, tabs and newlines are characters "
                                        "like any other, nothing is stripped or rebuilt")
    unknown = text + "\x00Ω"
    ids = call(tok.encode, "encode(text with unknown characters)", unknown, inputs=inputs)
    back = call(tok.decode, "decode(encode(text with unknown characters))", ids, inputs=inputs)
    want = text + "".join(c if c in set("".join(corpus)) else UNK for c in "\x00Ω")
    if back != want:
        checks.fail("BPETokenizer: an unknown character must encode to unk_id 0 and decode to '<UNK>'.",
                    f"text {unknown!r}: got back {back!r}, expected {want!r}", inputs=inputs,
                    hint="look characters up with .get(c, unk_id): an unknown one is not dropped")


@pytest.mark.parametrize("bad", [6, 50, -1, -6])
def test_decode_rejects_ids_out_of_range(bad):
    tok = trained("ababab", 6)  # 3 base tokens + 3 merges
    if tok.vocab_size != 6:
        diagnose_training(tok, Oracle("ababab", 6), "ababab", 6, "BPETokenizer(6).train('ababab')")
    expect_error(lambda: tok.decode([1, bad]), ValueError, f"decode([1, {bad}]) with vocab_size 6",
                 must_contain=("vocab_size=6", str(bad)),
                 hint="a negative id must not count from the end of the vocabulary" if bad < 0
                 else "ids are in [0, vocab_size)", missing_hint="name the limit as vocab_size=6 and the bad id")
    got = call(tok.decode, "decode(np.array([4, 5]))", np.array([4, 5]))
    if got != tok.vocab[4] + tok.vocab[5]:
        checks.fail("decode must accept an integer ndarray.", f"got {got!r}")


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize(("corpus", "vocab_size"), [("abc", 3), (["ab", "cd"], 4), ("a b", 1)])
def test_vocab_size_below_the_alphabet_raises_value_error(corpus, vocab_size):
    need = base_size(corpus)
    tok = call(BPETokenizer, f"BPETokenizer({vocab_size})", vocab_size)
    expect_error(lambda: tok.train(corpus), ValueError, f"BPETokenizer({vocab_size}).train({corpus!r})",
                 must_contain=(str(need),),
                 hint=f"the base vocabulary alone has {need} tokens (<UNK> and {need - 1} characters): "
                      f"refuse a smaller vocab_size instead of keeping the alphabet silently",
                 missing_hint=f"say how many base tokens are needed ({need})")
    ok = trained(corpus, need)
    if ok.merges != [] or ok.vocab_size != need:
        checks.fail(f"vocab_size equal to the base vocabulary ({need}) trains no merge.",
                    f"merges {ok.merges}, vocab_size {ok.vocab_size}")


@pytest.mark.parametrize("corpus", [[], "", ["", ""], ()], ids=["empty list", "empty str", "empty texts",
                                                              "empty tuple"])
def test_an_empty_corpus_raises_value_error(corpus):
    tok = call(BPETokenizer, "BPETokenizer(10)", 10)
    expect_error(lambda: tok.train(corpus), ValueError, f"BPETokenizer(10).train({corpus!r})",
                 hint="a corpus without a single character cannot be trained on: raise ValueError")


@pytest.mark.parametrize("method", ["encode", "decode"])
def test_an_untrained_tokenizer_raises_runtime_error(method):
    tok = call(BPETokenizer, "BPETokenizer(10)", 10)
    arg = "ab" if method == "encode" else [0]
    expect_error(lambda: getattr(tok, method)(arg), RuntimeError, f"BPETokenizer(10).{method}(...) before train",
                 hint="without train() there is no vocabulary: raise RuntimeError (\"call train first\") "
                      "rather than return something")
    trained("ab", 3)
    checks.assert_from_kata(BPETokenizer, KATA)
