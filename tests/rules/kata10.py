"""Kata 10 (tokenization): README rule -> hidden tests that enforce it -> mutants that prove it."""
from tests.rules import rule

C = "test_tokenization_char.py::"
B = "test_tokenization_bpe.py::"

SECTIONS = ["The API", "Conventions"]

RULES = [
    # ------------------------------------------------------------ the code block
    rule("class CharTokenizer:", C + "test_init_puts_unk_first_then_the_given_characters",
         mutants=["<UNK> appended at the end"]),
    rule("def __init__(self, vocab: list[str] | None = None)",
         C + "test_init_puts_unk_first_then_the_given_characters", mutants=["<UNK> appended at the end"]),
    rule("unk_id = 0 # a class attribute", C + "test_init_puts_unk_first_then_the_given_characters",
         C + "test_unknown_characters_encode_to_unk_and_decode_to_the_unk_text",
         mutants=["unknown characters skipped"]),
    rule('vocab: list[str] # vocab[0] == "<UNK>", then one character per id',
         C + "test_init_puts_unk_first_then_the_given_characters", mutants=["<UNK> appended at the end"]),
    rule("vocab_size: int # len(vocab)", C + "test_build_vocab_is_unk_then_the_sorted_characters",
         mutants=["vocab_size stale after build_vocab"]),
    rule("char_to_id: dict[str, int]; id_to_char: dict[int, str]",
         C + "test_build_vocab_is_unk_then_the_sorted_characters",
         mutants=["build_vocab does not rebuild the mappings"]),
    rule("def build_vocab(self, corpus) -> None", C + "test_build_vocab_is_unk_then_the_sorted_characters",
         mutants=["build_vocab keeps the old vocabulary"]),
    rule("def encode(self, text: str) -> list[int]", C + "test_decode_of_encode_gives_the_text_back",
         B + "test_encode_replays_the_merges_in_training_order",
         mutants=["encode returns NumPy integers", "BPE encode returns NumPy integers"]),
    rule("def decode(self, ids) -> str", C + "test_decode_of_encode_gives_the_text_back",
         B + "test_decode_of_encode_gives_the_text_back",
         mutants=["BPE decode collapses whitespace (as TinyTorch's)"]),
    rule("class BPETokenizer:", B + "test_new_tokenizer_stores_its_target_and_starts_empty",
         mutants=["default vocab_size 256"]),
    rule("def __init__(self, vocab_size: int = 1000)", B + "test_new_tokenizer_stores_its_target_and_starts_empty",
         mutants=["default vocab_size 256"]),
    rule("unk_id = 0", B + "test_new_tokenizer_stores_its_target_and_starts_empty",
         B + "test_decode_of_encode_gives_the_text_back", mutants=["BPE encode drops unknown characters"]),
    rule("target_vocab_size: int # the vocab_size asked for", B + "test_new_tokenizer_stores_its_target_and_starts_empty",
         B + "test_train_vocab_size_argument_replaces_the_target",
         mutants=["train ignores its vocab_size argument"]),
    rule("vocab: list[str] # vocab[id] is the text of token id; [] before train",
         B + "test_training_follows_the_rules", B + "test_new_tokenizer_stores_its_target_and_starts_empty",
         mutants=["merged text joined right before left", "no <UNK> in the BPE vocabulary"]),
    rule("merges: list[tuple[int, int]] # (left id, right id) of each merge, in training order",
         B + "test_training_follows_the_rules", mutants=["merges recorded as texts"]),
    rule("vocab_size -> int # a property: len(vocab)", B + "test_training_follows_the_rules",
         mutants=["vocab_size property counts the merges"]),
    rule("def train(self, corpus, vocab_size: int | None = None) -> None",
         B + "test_train_vocab_size_argument_replaces_the_target",
         mutants=["train ignores its vocab_size argument"]),
    rule("A corpus is a `str` (one text) or a list or tuple of `str` (several texts).",
         B + "test_a_string_corpus_is_one_text", C + "test_build_vocab_is_unk_then_the_sorted_characters",
         mutants=["a str corpus iterated as characters"]),
    # ------------------------------------------------------------ CharTokenizer
    rule('`CharTokenizer(vocab)` sets `vocab = ["<UNK>"] + vocab` (the given characters in their given '
         'order); `CharTokenizer()` has only `"<UNK>"`.',
         C + "test_init_puts_unk_first_then_the_given_characters", mutants=["<UNK> appended at the end"]),
    rule("`vocab_size`, `char_to_id` and `id_to_char` always match `vocab`",
         C + "test_build_vocab_is_unk_then_the_sorted_characters", C + "test_init_puts_unk_first_then_the_given_characters",
         mutants=["build_vocab does not rebuild the mappings", "vocab_size stale after build_vocab"]),
    rule("`build_vocab(corpus)` replaces the vocabulary by `\"<UNK>\"` followed by every distinct character "
         "of the corpus, sorted by code point (`sorted(set(...))`); nothing of the previous vocabulary is kept.",
         C + "test_build_vocab_is_unk_then_the_sorted_characters",
         mutants=["build_vocab keeps the old vocabulary", "characters in order of appearance"]),
    rule("`encode(text)` returns one Python `int` per character: its id, or `unk_id` (0) for a character "
         "not in the vocabulary.", C + "test_unknown_characters_encode_to_unk_and_decode_to_the_unk_text",
         C + "test_decode_of_encode_gives_the_text_back",
         mutants=["unknown characters skipped", "unknown characters raise KeyError",
                  "encode returns NumPy integers"]),
    rule("`decode(ids)` joins `vocab[i]` for each id, so id 0 decodes to `\"<UNK>\"`.",
         C + "test_unknown_characters_encode_to_unk_and_decode_to_the_unk_text",
         mutants=["decode drops <UNK>"]),
    rule("`ids` is a list or tuple of ints or a 1-D integer ndarray (NumPy integers are fine).",
         C + "test_decode_accepts_tuples_and_integer_arrays", B + "test_decode_rejects_ids_out_of_range",
         mutants=["decode truth-tests the ids"]),
    # ------------------------------------------------------------ BPETokenizer
    rule("`BPETokenizer(vocab_size=1000)` stores `target_vocab_size`; `vocab` and `merges` start empty.",
         B + "test_new_tokenizer_stores_its_target_and_starts_empty", mutants=["default vocab_size 256"]),
    rule("`train(corpus, vocab_size=None)` learns from scratch (an earlier training is forgotten)",
         B + "test_training_is_deterministic_and_retraining_starts_over",
         mutants=["retraining keeps the earlier merges"]),
    rule("a `vocab_size` given here replaces `target_vocab_size`.",
         B + "test_train_vocab_size_argument_replaces_the_target", mutants=["train ignores its vocab_size argument"]),
    rule("The base vocabulary is `\"<UNK>\"` (id 0) followed by the distinct characters of the corpus sorted "
         "by code point, as `CharTokenizer.build_vocab` builds it.", B + "test_training_follows_the_rules",
         mutants=["base alphabet in order of appearance", "no <UNK> in the BPE vocabulary"]),
    rule("Then, while `len(vocab) < vocab_size`: count every pair of adjacent tokens inside each text (never "
         "across two texts), take the most frequent pair, append a new token whose text is the two texts "
         "joined, and replace every occurrence of the pair, left to right, by the new token.",
         B + "test_training_follows_the_rules",
         mutants=["pairs counted across texts", "vocab_size counted without <UNK>",
                  "merged text joined right before left"]),
    rule("Ties: among the most frequent pairs, the one with the smallest left id wins, and among those the "
         "smallest right id.", B + "test_training_follows_the_rules",
         mutants=["tie: the largest pair wins", "tie: the first pair met in the text wins"]),
    rule("Each merge adds exactly one token, with the next id (`len(vocab)` before the merge), and records "
         "its pair in `merges`.", B + "test_training_follows_the_rules",
         B + "test_one_more_token_adds_at_most_one_merge_and_never_lengthens",
         mutants=["every tied pair merged in one round", "merges recorded as texts"]),
    rule("Training stops early when no pair is left (every text is a single token).",
         B + "test_training_follows_the_rules", mutants=["training stops when the best pair occurs once"]),
    rule("Occurrences are counted at every position, overlapping ones included: `\"aaa\"` holds the pair "
         "`(a, a)` twice.", B + "test_training_follows_the_rules", mutants=["overlapping pairs counted once"]),
    rule("Replacing is left to right without overlaps: merging `(a, a)` turns `\"aaa\"` into `[\"aa\", \"a\"]`.",
         B + "test_training_follows_the_rules", B + "test_encode_replays_the_merges_in_training_order",
         mutants=["runs merged right to left"]),
    rule("`encode(text)` turns the characters into their base ids (`unk_id` for a character the corpus "
         "never showed) and applies every merge in training order.",
         B + "test_encode_replays_the_merges_in_training_order", B + "test_decode_of_encode_gives_the_text_back",
         mutants=["merges replayed in reverse order", "encode by longest match",
                  "BPE encode drops unknown characters"]),
    rule("It returns a list of Python ints.", B + "test_encode_replays_the_merges_in_training_order",
         mutants=["BPE encode returns NumPy integers"]),
    rule("`decode(ids)` joins `vocab[i]` for each id, as for `CharTokenizer`.",
         B + "test_decode_of_encode_gives_the_text_back",
         mutants=["BPE decode collapses whitespace (as TinyTorch's)"]),
    # ------------------------------------------------------------ errors
    rule("`decode` raises `ValueError` for an id below 0 or at least `vocab_size`; the message contains "
         "`vocab_size=<V>` and the bad id.", C + "test_decode_rejects_ids_out_of_range",
         B + "test_decode_rejects_ids_out_of_range", mutants=["decode error does not name vocab_size"]),
    rule("A negative id is an error, not Python's \"count from the end\".",
         C + "test_decode_rejects_ids_out_of_range", B + "test_decode_rejects_ids_out_of_range",
         mutants=["negative ids decode from the end"]),
    rule("`BPETokenizer(vocab_size)` and `train(corpus, vocab_size)` raise `ValueError` unless `vocab_size` "
         "is a positive int.", B + "test_vocab_size_must_be_a_positive_int", mutants=["vocab_size not validated"]),
    rule("`train` raises `ValueError` when `vocab_size` is below the base vocabulary (`1 + number of distinct "
         "characters`); the message contains that number.",
         B + "test_vocab_size_below_the_alphabet_raises_value_error",
         mutants=["an alphabet larger than vocab_size kept silently",
                  "below-alphabet error without the number needed"]),
    rule("`train` and `build_vocab` raise `ValueError` for an empty corpus: no text, or only empty texts.",
         B + "test_an_empty_corpus_raises_value_error", C + "test_build_vocab_of_an_empty_corpus_raises_value_error",
         mutants=["an empty corpus accepted"]),
    rule("`encode` and `decode` of a `BPETokenizer` that was never trained raise `RuntimeError`.",
         B + "test_an_untrained_tokenizer_raises_runtime_error",
         mutants=["an untrained tokenizer encodes to []", "an untrained tokenizer decodes to ''"]),
    rule("ours works on the characters of the whole text (a space is a character like any other) and is "
         "lossless.", B + "test_decode_of_encode_gives_the_text_back",
         mutants=["BPE decode collapses whitespace (as TinyTorch's)"]),
    rule("Its ties go to whichever pair was counted first; ours follow a stated rule.",
         B + "test_training_follows_the_rules", mutants=["tie: the first pair met in the text wins"]),
    rule("Its training keeps an alphabet larger than `vocab_size` silently; ours raises.",
         B + "test_vocab_size_below_the_alphabet_raises_value_error",
         mutants=["an alphabet larger than vocab_size kept silently"]),
    # ------------------------------------------------------------ conventions
    rule("Ids are Python ints in `[0, vocab_size)`.", C + "test_decode_of_encode_gives_the_text_back",
         B + "test_decode_of_encode_gives_the_text_back", B + "test_encode_replays_the_merges_in_training_order",
         mutants=["encode returns NumPy integers", "BPE encode returns NumPy integers"]),
    rule("`decode(encode(s)) == s` for every text whose characters are all in the vocabulary; otherwise each "
         "unknown character comes back as `\"<UNK>\"`.", C + "test_decode_of_encode_gives_the_text_back",
         B + "test_decode_of_encode_gives_the_text_back",
         C + "test_unknown_characters_encode_to_unk_and_decode_to_the_unk_text",
         mutants=["BPE decode collapses whitespace (as TinyTorch's)", "BPE encode drops unknown characters",
                  "decode drops <UNK>"]),
    rule("Training is deterministic: the same corpus and `vocab_size` give the same `vocab` and `merges`, in "
         "any process.", B + "test_training_is_deterministic_and_retraining_starts_over",
         B + "test_training_follows_the_rules",
         mutants=["tie: the first pair met in the text wins"]),
    rule("Training with `vocab_size = n + 1` gives the merges of `vocab_size = n` plus at most one more, and an "
         "encoding never gets longer when a merge is added.",
         B + "test_one_more_token_adds_at_most_one_merge_and_never_lengthens",
         mutants=["every tied pair merged in one round"]),
    rule("Nothing modifies the corpus or the texts it is given.", C + "test_build_vocab_leaves_the_corpus_unchanged",
         B + "test_training_is_deterministic_and_retraining_starts_over",
         mutants=["the corpus list sorted in place"]),
]

PROSE = [
    "Each text is a sequence of character tokens.",
    "Where we differ from TinyTorch: its BPE splits text on whitespace, marks word ends and rebuilds spaces "
    "when decoding, so `decode(encode(s))` loses repeated spaces, tabs and newlines;",
]
