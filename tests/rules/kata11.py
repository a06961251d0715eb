"""Kata 11 (embeddings): README rule -> hidden tests that enforce it -> mutants that prove it."""
from tests.rules import rule

L = "test_embeddings_lookup.py::"
P = "test_embeddings_positions.py::"
Y = "test_embeddings_layer.py::"

SECTIONS = ["The API", "Conventions"]

RULES = [
    # ------------------------------------------------------------ the code block
    rule("class EmbeddingFunction(Function): # kata 06's Function: the recorded lookup",
         L + "test_lookup_records_embedding_function",
         mutants=["lookup recorded through Tensor indexing instead of EmbeddingFunction"]),
    rule("def backward(self, grad) -> tuple # (dweight,)", L + "test_embedding_function_backward_scatter_adds",
         mutants=["backward returns the array, not a 1-tuple"]),
    rule("class Embedding(Layer):", L + "test_embedding_table_shape_dtype_bounds_and_parameters",
         mutants=["Embedding is not a Layer"]),
    rule("def __init__(self, vocab_size: int, embed_dim: int)",
         L + "test_embedding_table_shape_dtype_bounds_and_parameters", Y + "test_construction_stores_its_parts",
         mutants=["token embedding sizes swapped"]),
    rule("vocab_size: int; embed_dim: int", L + "test_embedding_table_shape_dtype_bounds_and_parameters",
         Y + "test_construction_stores_its_parts",
         mutants=["token embedding sizes swapped"]),
    rule("weight: Tensor # (vocab_size, embed_dim), float32, requires_grad=True",
         L + "test_embedding_table_shape_dtype_bounds_and_parameters",
         mutants=["token table without requires_grad", "token table in float64"]),
    rule("def forward(self, indices) -> Tensor # indices.shape + (embed_dim,)",
         L + "test_lookup_gathers_one_row_per_id", mutants=["lookup flattens the ids"]),
    rule("class PositionalEncoding(Layer):", P + "test_position_table_shape_dtype_bounds_and_parameters",
         why_no_mutant="the same slip as 'Embedding is not a Layer', checked the same way for this class"),
    rule("def __init__(self, max_seq_len: int, embed_dim: int)",
         P + "test_position_table_shape_dtype_bounds_and_parameters", Y + "test_construction_stores_its_parts",
         mutants=["learned positions sized by vocab_size"]),
    rule("max_seq_len: int; embed_dim: int", P + "test_position_table_shape_dtype_bounds_and_parameters",
         Y + "test_construction_stores_its_parts",
         mutants=["learned positions sized by vocab_size"]),
    rule("position_embeddings: Tensor # (max_seq_len, embed_dim), float32, requires_grad=True",
         P + "test_position_table_shape_dtype_bounds_and_parameters",
         mutants=["position table not trainable"]),
    rule("def forward(self, x: Tensor, start_pos: int = 0) -> Tensor # (batch, seq_len, embed_dim), same shape",
         P + "test_forward_adds_rows_start_pos_onward_to_every_sequence",
         mutants=["PositionalEncoding forward without a default start_pos"]),
    rule("def create_sinusoidal_embeddings(max_seq_len: int, embed_dim: int) -> Tensor # (max_seq_len, embed_dim)",
         P + "test_sinusoidal_table_matches_the_formula", mutants=["sinusoidal: sin and cos swapped"]),
    rule("class EmbeddingLayer(Layer):", Y + "test_construction_stores_its_parts",
         why_no_mutant="the same slip as 'Embedding is not a Layer', checked the same way for this class"),
    rule("def __init__(self, vocab_size: int, embed_dim: int, max_seq_len: int = 512,",
         Y + "test_defaults_are_tinytorchs", mutants=["default max_seq_len 256"]),
    rule('pos_encoding: str | None = "learned", scale_embeddings: bool = False)',
         Y + "test_defaults_are_tinytorchs", mutants=["scale_embeddings defaults to True"]),
    rule("token_embedding: Embedding", Y + "test_construction_stores_its_parts",
         mutants=["token embedding sizes swapped"]),
    rule("pos_encoding: PositionalEncoding | Tensor | None", Y + "test_construction_stores_its_parts",
         mutants=["learned positions sized by vocab_size"]),
    rule("def forward(self, tokens, start_pos: int = 0) -> Tensor",
         Y + "test_forward_is_scaled_tokens_plus_positions", Y + "test_the_code_under_test_comes_from_your_kata",
         mutants=["EmbeddingLayer forward without a default start_pos"]),
    rule("All three layers subclass kata 03's `Layer`: calling one calls `forward`, and `parameters()` "
         "finds their tables.", L + "test_embedding_table_shape_dtype_bounds_and_parameters",
         P + "test_position_table_shape_dtype_bounds_and_parameters", Y + "test_construction_stores_its_parts",
         mutants=["Embedding is not a Layer"]),
    # ------------------------------------------------------------ Embedding
    rule("`Embedding(vocab_size, embed_dim)` stores both sizes as attributes and a `weight` Tensor of "
         "shape `(vocab_size, embed_dim)`, float32, `requires_grad=True`",
         L + "test_embedding_table_shape_dtype_bounds_and_parameters",
         mutants=["token table without requires_grad", "token table in float64"]),
    rule("drawn uniformly from `[-a, a]` with `a = sqrt(6 / (vocab_size + embed_dim))` (Xavier)",
         L + "test_embedding_table_shape_dtype_bounds_and_parameters",
         mutants=["Xavier bound sqrt(1 / (V + D))"]),
    rule("with `np.random`, so that `np.random.seed` makes it reproducible.",
         L + "test_embedding_table_follows_np_random_seed",
         mutants=["token table from a fixed private generator"]),
    rule("`parameters()` returns `[weight]`.", L + "test_embedding_table_shape_dtype_bounds_and_parameters",
         mutants=["Embedding is not a Layer"]),
    rule("`forward(indices)`: `indices` is a Tensor (kata 01 stores whole numbers as float32), an "
         "np.ndarray of integers or of whole floats, a (nested) list, or a single int.",
         L + "test_lookup_gathers_one_row_per_id", L + "test_lookup_of_one_int_gives_one_row",
         mutants=["a single id gives a (1, embed_dim) output"]),
    rule("It returns a new Tensor of shape `indices.shape + (embed_dim,)` whose entry `[..., :]` is the "
         "row `weight[id]` of the id at that place, in the weight's dtype.",
         L + "test_lookup_gathers_one_row_per_id", L + "test_lookup_leaves_ids_and_table_unchanged",
         mutants=["lookup flattens the ids", "lookup always float32"]),
    rule("An empty `indices` (shape `(0,)`) gives shape `(0, embed_dim)`; a single int gives `(embed_dim,)`.",
         L + "test_lookup_gathers_one_row_per_id", L + "test_lookup_of_one_int_gives_one_row",
         L + "test_out_of_range_ids_raise_value_error_naming_vocab_size",
         mutants=["a single id gives a (1, embed_dim) output", "range check with min/max crashes on empty ids"]),
    rule("It reads `self.weight` at every call: assigning a new Tensor to `weight` changes the next lookup.",
         L + "test_lookup_reads_the_current_weight", mutants=["table cached at the first lookup"]),
    rule("Ids must be whole numbers: `1.5`, NaN or a bool array raises `ValueError`.",
         L + "test_non_integral_ids_raise_value_error", mutants=["non-integral ids truncated by astype"]),
    rule("An id below 0 or at least `vocab_size` raises `ValueError` whose message contains "
         "`vocab_size=<V>` and one offending id.",
         L + "test_out_of_range_ids_raise_value_error_naming_vocab_size",
         mutants=["id == vocab_size not caught (off by one)", "range error does not name vocab_size"]),
    rule("Negative ids are errors, not Python's \"count from the end\".",
         L + "test_out_of_range_ids_raise_value_error_naming_vocab_size",
         mutants=["negative ids accepted (NumPy wraps them)"]),
    rule("The lookup enters the graph through kata 06's `record`: `record(out, EmbeddingFunction, "
         "(self.weight,), indices=ids)`, where `ids` is an `np.int64` array of the indices' shape.",
         L + "test_lookup_records_embedding_function",
         mutants=["lookup recorded through Tensor indexing instead of EmbeddingFunction",
                  "indices recorded flat", "indices recorded as floats"]),
    rule("`EmbeddingFunction.backward(grad)` returns the 1-tuple `(dweight,)`: an array of the weight's "
         "shape, zero in every row no id looked up, and in row `v` the sum of `grad` over every position "
         "whose id is `v`.", L + "test_embedding_function_backward_scatter_adds",
         L + "test_embedding_gradients_match_finite_differences",
         mutants=["backward assigns rows instead of adding them",
                  "backward adds with buffered fancy indexing (dw[ids] += g)",
                  "backward returns the array, not a 1-tuple"]),
    rule("It does not modify `grad`.", L + "test_embedding_function_backward_scatter_adds",
         mutants=["backward flattens grad in place"]),
    # ------------------------------------------------------------ PositionalEncoding
    rule("`PositionalEncoding(max_seq_len, embed_dim)` stores both sizes and a `position_embeddings` "
         "Tensor of shape `(max_seq_len, embed_dim)`, float32, `requires_grad=True`",
         P + "test_position_table_shape_dtype_bounds_and_parameters",
         mutants=["position table not trainable"]),
    rule("drawn uniformly from `[-b, b]` with `b = sqrt(2 / embed_dim)` with `np.random`.",
         P + "test_position_table_shape_dtype_bounds_and_parameters",
         mutants=["position table with Xavier's bound"]),
    rule("`parameters()` returns `[position_embeddings]`.",
         P + "test_position_table_shape_dtype_bounds_and_parameters", mutants=["position table not trainable"]),
    rule("`forward(x, start_pos=0)` returns `x + position_embeddings[start_pos : start_pos + seq_len]` for "
         "`x` of shape `(batch, seq_len, embed_dim)`: row `start_pos + t` is added at position `t` of every "
         "sequence in the batch.", P + "test_forward_adds_rows_start_pos_onward_to_every_sequence",
         mutants=["start_pos ignored", "PositionalEncoding forward without a default start_pos"]),
    rule("It is built from Tensor operations, so the gradient reaches both `x` and the table: a row of the "
         "table collects the gradient summed over the batch, and the rows outside the slice get zero.",
         P + "test_gradients_reach_x_and_the_table",
         mutants=["positions re-wrapped from .data (cut from the graph)"]),
    rule("`x` that is not 3-D raises `ValueError` naming its shape",
         P + "test_bad_inputs_raise_value_error", mutants=["x of the wrong number of dimensions not checked"]),
    rule("`x.shape[-1] != embed_dim` raises `ValueError` naming `embed_dim` and both sizes.",
         P + "test_bad_inputs_raise_value_error", mutants=["embed_dim mismatch not checked"]),
    rule("`start_pos` must be a non-negative int (Python or NumPy), else `ValueError` naming `start_pos`.",
         P + "test_bad_inputs_raise_value_error", mutants=["negative start_pos accepted"]),
    rule("`start_pos + seq_len > max_seq_len` raises `ValueError` whose message contains `max_seq_len=<M>`",
         P + "test_too_long_sequences_raise_value_error_naming_max_seq_len",
         mutants=["no length check (a one-row slice broadcasts)"]),
    rule("`start_pos + seq_len == max_seq_len` fits.", P + "test_a_sequence_that_ends_at_max_seq_len_fits",
         mutants=["length check off by one (== max_seq_len refused)"]),
    # ------------------------------------------------------------ sinusoidal
    rule("Returns a float32 Tensor of shape `(max_seq_len, embed_dim)` with `requires_grad=False`: "
         "`PE[p, 2i] = sin(p * w_i)` and `PE[p, 2i + 1] = cos(p * w_i)`, with `w_i = 10000 ** (-2i / embed_dim)`.",
         P + "test_sinusoidal_table_matches_the_formula",
         mutants=["sinusoidal: sin and cos swapped", "sinusoidal: exponent uses i instead of 2i",
                  "sinusoidal: positions start at 1", "sinusoidal: sines then cosines in two halves",
                  "sinusoidal table left in float64"]),
    rule("An odd `embed_dim` ends with a sine column (there is no cosine partner for the last frequency).",
         P + "test_sinusoidal_table_matches_the_formula", mutants=["sinusoidal: odd embed_dim rounded up to even"]),
    # ------------------------------------------------------------ EmbeddingLayer
    rule("Stores `vocab_size`, `embed_dim`, `max_seq_len`, `scale_embeddings`, and `pos_encoding_type` "
         "(the `pos_encoding` argument).", Y + "test_construction_stores_its_parts",
         mutants=["pos_encoding_type stored as a string"]),
    rule("`token_embedding` is an `Embedding(vocab_size, embed_dim)`.", Y + "test_construction_stores_its_parts",
         mutants=["token embedding sizes swapped"]),
    rule("`pos_encoding` is a `PositionalEncoding(max_seq_len, embed_dim)` for `\"learned\"`, the Tensor "
         "`create_sinusoidal_embeddings(max_seq_len, embed_dim)` for `\"sinusoidal\"`, and `None` for `None`.",
         Y + "test_construction_stores_its_parts", Y + "test_defaults_are_tinytorchs",
         mutants=["learned positions sized by vocab_size"]),
    rule("Any other value raises `ValueError` naming the three choices.",
         Y + "test_unknown_pos_encoding_raises_value_error_naming_the_choices",
         mutants=["unknown pos_encoding treated as None"]),
    rule("`parameters()` is the token table, then the learned positions if any: the sinusoidal table is "
         "not a parameter.", Y + "test_parameters_are_the_token_table_then_learned_positions",
         mutants=["sinusoidal table made trainable"]),
    rule("`forward(tokens, start_pos=0)`: `tokens` of shape `(batch, seq_len)` gives `(batch, seq_len, "
         "embed_dim)`; a 1-D `(seq_len,)` gives `(seq_len, embed_dim)`.",
         Y + "test_forward_is_scaled_tokens_plus_positions", mutants=["1-D tokens keep the batch axis"]),
    rule("Any other number of dimensions raises `ValueError`.", Y + "test_tokens_must_be_1d_or_2d",
         mutants=["token dimensions not checked"]),
    rule("The output is `token_embedding(tokens)`, times `sqrt(embed_dim)` if `scale_embeddings`, plus the "
         "position rows `start_pos .. start_pos + seq_len - 1` of the learned or sinusoidal table.",
         Y + "test_forward_is_scaled_tokens_plus_positions",
         mutants=["scale_embeddings ignored", "scaled by embed_dim, not its square root",
                  "scaled after adding the positions", "sinusoidal rows ignore start_pos"]),
    rule("Gradients reach the token table and the learned positions.",
         Y + "test_gradients_reach_the_token_table_and_learned_positions",
         mutants=["scaling rebuilt from .data (token table cut from the graph)"]),
    rule("With positions, `start_pos + seq_len > max_seq_len` raises `ValueError` whose message contains "
         "`max_seq_len=<M>`, for both kinds.",
         Y + "test_too_long_sequences_raise_value_error_naming_max_seq_len",
         mutants=["sinusoidal length not checked"]),
    rule("With `pos_encoding=None` there are no positions: `start_pos` is ignored and any length works.",
         Y + "test_without_positions_any_length_and_start_pos_work",
         mutants=["length limit enforced without positions"]),
    rule("Every size argument (`vocab_size`, `embed_dim`, `max_seq_len`) must be a positive int: otherwise "
         "the constructor (or `create_sinusoidal_embeddings`) raises `ValueError`.",
         L + "test_sizes_must_be_positive_ints", mutants=["sizes not validated"]),
    rule("ours are `Layer`s (so `Sequential` and optimizers see them) and draw from `np.random` like "
         "kata 03's `Linear`.", L + "test_embedding_table_follows_np_random_seed",
         L + "test_embedding_table_shape_dtype_bounds_and_parameters",
         mutants=["token table from a fixed private generator", "Embedding is not a Layer"]),
    # ------------------------------------------------------------ conventions
    rule("Float32 tables.", L + "test_embedding_table_shape_dtype_bounds_and_parameters",
         P + "test_position_table_shape_dtype_bounds_and_parameters", P + "test_sinusoidal_table_matches_the_formula",
         mutants=["token table in float64", "sinusoidal table left in float64"]),
    rule("The output of a lookup has the weight's dtype", L + "test_lookup_gathers_one_row_per_id",
         L + "test_lookup_reads_the_current_weight", mutants=["lookup always float32"]),
    rule("the sum `x + positions` follows kata 01's promotion rules.",
         P + "test_forward_adds_rows_start_pos_onward_to_every_sequence",
         why_no_mutant="the sum is kata 01's Tensor addition, already proven there; a forward that "
                       "bypasses it (re-wrapping .data) is caught by the gradient rule first"),
    rule("The sinusoidal table is computed to float32 accuracy: within `1e-5` of the float64 formula for "
         "the sizes graded here.", P + "test_sinusoidal_table_matches_the_formula",
         why_no_mutant="states the tolerance: float32 arithmetic already meets it at the graded sizes, "
                       "so only a wrong formula (the sinusoidal mutants) can break it"),
    rule("No forward modifies its input, and no lookup modifies the table.",
         P + "test_forward_adds_rows_start_pos_onward_to_every_sequence",
         L + "test_lookup_leaves_ids_and_table_unchanged", L + "test_out_of_range_ids_raise_value_error_naming_vocab_size",
         mutants=["positions added into x in place"]),
]

PROSE = [
    "Where we differ from TinyTorch: its `Embedding` and `PositionalEncoding` are not `Layer`s and draw "
    "from a private generator seeded at import;",
]
