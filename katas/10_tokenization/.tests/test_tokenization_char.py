"""Hidden tests for CharTokenizer: the vocabulary, lossless round trips, <UNK>, errors.

Oracles: sorted(set(...)) of the corpus and the text itself (a round trip must give it back).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tokenization import CharTokenizer
from tokenization_kit import KATA, UNK, call, expect_error, int_list, texts_of

corpora = st.one_of(st.text(max_size=30), st.lists(st.text(max_size=12), min_size=1, max_size=4))


def built(corpus):
    tok = call(CharTokenizer, "CharTokenizer()")
    call(tok.build_vocab, "CharTokenizer().build_vocab(corpus)", corpus, inputs={"corpus": corpus})
    return tok


def check_tables(tok, what, inputs=None):
    vocab = tok.vocab
    if tok.vocab_size != len(vocab):
        checks.fail(f"{what}: vocab_size must be len(vocab) = {len(vocab)}.", f"got {tok.vocab_size!r}",
                    inputs=inputs, hint="update vocab_size whenever the vocabulary changes")
    want_ids = dict(enumerate(vocab))
    if tok.id_to_char != want_ids:
        checks.fail(f"{what}: id_to_char must map each id to vocab[id].",
                    f"got {tok.id_to_char!r}\nexpected {want_ids!r}", inputs=inputs,
                    hint="rebuild both mappings from the new vocabulary")
    for i, c in enumerate(vocab[1:], start=1):
        if tok.char_to_id.get(c) != i:
            checks.fail(f"{what}: char_to_id[{c!r}] must be {i}.", f"got {tok.char_to_id.get(c)!r}",
                        inputs=inputs, hint="rebuild char_to_id from the new vocabulary (old "
                                            "characters must not keep their old ids)")


def test_init_puts_unk_first_then_the_given_characters():
    tok = call(CharTokenizer, "CharTokenizer(['h', 'e', 'l', 'o'])", ["h", "e", "l", "o"])
    if tok.vocab != [UNK, "h", "e", "l", "o"]:
        checks.fail("CharTokenizer(['h', 'e', 'l', 'o']).vocab must be ['<UNK>', 'h', 'e', 'l', 'o'].",
                    f"got {tok.vocab!r}", hint="\"<UNK>\" is id 0; the given characters follow in their order")
    check_tables(tok, "CharTokenizer(['h', 'e', 'l', 'o'])")
    if CharTokenizer.unk_id != 0 or tok.unk_id != 0:
        checks.fail("CharTokenizer.unk_id must be 0.", f"got {getattr(tok, 'unk_id', None)!r}")
    got = int_list(call(tok.encode, "encode('hello')", "hello"), "CharTokenizer(['h', 'e', 'l', 'o']).encode('hello')")
    if got != [1, 2, 3, 3, 4]:
        checks.fail("CharTokenizer(['h', 'e', 'l', 'o']).encode('hello') must be [1, 2, 3, 3, 4].",
                    f"got {got}")
    empty = call(CharTokenizer, "CharTokenizer()")
    if empty.vocab != [UNK] or empty.vocab_size != 1:
        checks.fail("CharTokenizer() must hold only '<UNK>' (vocab_size 1).",
                    f"vocab {empty.vocab!r}, vocab_size {empty.vocab_size!r}")


@settings(max_examples=20)
@given(corpus=corpora)
@example(corpus=["hola mundo", "test text"])
@example(corpus="ba\nab")
@example(corpus=("zé", "😀a", "A"))
def test_build_vocab_is_unk_then_the_sorted_characters(corpus):
    if not "".join(texts_of(corpus)):
        corpus = [*texts_of(corpus), "x"]
    tok = call(CharTokenizer, "CharTokenizer(['w', 'q'])", ["w", "q"])
    call(tok.build_vocab, "build_vocab(corpus)", corpus, inputs={"corpus": corpus})
    want = [UNK] + sorted(set("".join(texts_of(corpus))))
    if tok.vocab != want:
        seen = list(dict.fromkeys("".join(texts_of(corpus))))
        hint = ("build_vocab replaces the vocabulary: the characters given to __init__ are gone"
                if set(tok.vocab) - set(want) else
                "sort the distinct characters by code point: sorted(set(...)), not in order of appearance"
                if tok.vocab == [UNK] + seen else
                "\"<UNK>\" first, then every distinct character of the corpus once, sorted by code point")
        checks.fail("build_vocab(corpus) must set vocab to ['<UNK>'] + the sorted distinct characters.",
                    f"got {tok.vocab!r}\nexpected {want!r}", inputs={"corpus": corpus}, hint=hint)
    check_tables(tok, "after build_vocab(corpus)", {"corpus": corpus})


@settings(max_examples=25)
@given(corpus=corpora, text=st.text(max_size=25))
@example(corpus="", text="tab\tand  two spaces\nnew line")
@example(corpus=["abc"], text="é😀\r\n")
def test_decode_of_encode_gives_the_text_back(corpus, text):
    corpus = [*texts_of(corpus), text, "x"]  # every character of the text is known
    tok = built(corpus)
    inputs = {"corpus": corpus, "text": text}
    ids = int_list(call(tok.encode, "encode(text)", text, inputs=inputs), "encode(text)", inputs)
    if len(ids) != len(text):
        checks.fail("CharTokenizer.encode(text) must give one id per character.",
                    f"{len(text)} characters, {len(ids)} ids: {ids}", inputs=inputs)
    bad = [i for i in ids if not 0 < i < tok.vocab_size]
    if bad:
        checks.fail("encode(text) of known characters must give ids in [1, vocab_size).",
                    f"got {ids}", inputs=inputs)
    back = call(tok.decode, "decode(encode(text))", ids, inputs=inputs)
    if back != text:
        checks.fail("decode(encode(text)) must give the text back.", f"got {back!r}", inputs=inputs,
                    hint="decode joins vocab[id] for each id; nothing may be added, dropped or stripped")


@settings(max_examples=10)
@given(text=st.text(alphabet="abcxyz!\n", max_size=15))
@example(text="hello!")
@example(text="!!")
def test_unknown_characters_encode_to_unk_and_decode_to_the_unk_text(text):
    tok = built("abc\n")
    inputs = {"vocabulary": "<UNK> + '\\n', 'a', 'b', 'c'", "text": text}
    ids = int_list(call(tok.encode, "encode(text)", text, inputs=inputs,
                        hint="look up each character with char_to_id.get(c, unk_id): an unknown "
                             "character encodes to 0, it is not an error"), "encode(text)", inputs)
    want = [tok.vocab.index(c) if c in "abc\n" else 0 for c in text]
    if ids != want:
        checks.fail("CharTokenizer.encode: each character not in the vocabulary must encode to "
                    "unk_id (0).", f"got {ids}\nexpected {want}", inputs=inputs,
                    hint="look up each character with char_to_id.get(c, unk_id): an unknown character "
                         "is not skipped and not an error")
    back = call(tok.decode, "decode(ids)", want, inputs=inputs)
    expected = "".join(c if c in "abc\n" else UNK for c in text)
    if back != expected:
        checks.fail("decode must turn id 0 into the text '<UNK>'.", f"got {back!r}, expected {expected!r}",
                    inputs=inputs)


@pytest.mark.parametrize("bad", [3, 4, 99, -1, -3])
def test_decode_rejects_ids_out_of_range(bad):
    tok = built("ab")  # vocab_size 3
    expect_error(lambda: tok.decode([1, bad, 2]), ValueError, f"decode([1, {bad}, 2]) with vocab_size 3",
                 must_contain=("vocab_size=3", str(bad)),
                 hint="ids are in [0, vocab_size); a negative id must not count from the end of "
                      "the vocabulary" if bad < 0 else "ids are in [0, vocab_size)",
                 missing_hint="name the limit as vocab_size=3 and the bad id")


def test_decode_accepts_tuples_and_integer_arrays():
    tok = built("abc")
    for ids, kind in (((1, 2, 3), "a tuple"), (np.array([1, 2, 3]), "an int64 array"),
                      (np.array([1, 2, 3], np.int32), "an int32 array"), ([np.int64(1), 2, 3], "NumPy ints"),
                      ([], "an empty list"), (np.array([], np.int64), "an empty array")):
        want = "abc" if len(ids) else ""
        got = call(tok.decode, f"decode of {kind}", ids,
                   hint="iterate over ids (no `if not ids`: an array has no truth value)")
        if got != want:
            checks.fail(f"decode of {kind} must give {want!r}.", f"got {got!r}")


@pytest.mark.parametrize("corpus", [[], "", ["", ""], ()], ids=["empty list", "empty str", "empty texts",
                                                              "empty tuple"])
def test_build_vocab_of_an_empty_corpus_raises_value_error(corpus):
    tok = call(CharTokenizer, "CharTokenizer()")
    expect_error(lambda: tok.build_vocab(corpus), ValueError, f"build_vocab({corpus!r})",
                 hint="a corpus without a single character gives no vocabulary: raise ValueError")


def test_build_vocab_leaves_the_corpus_unchanged():
    corpus = ["cab", "ba"]
    tok = call(CharTokenizer, "CharTokenizer()")
    call(tok.build_vocab, "build_vocab(['cab', 'ba'])", corpus)
    if corpus != ["cab", "ba"]:
        checks.fail("build_vocab must not modify the corpus.", f"the list is now {corpus!r}",
                    hint="work on a copy (or on sets of characters); never sort the list in place")
    checks.assert_from_kata(CharTokenizer, KATA)
