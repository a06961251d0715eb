"""Kata 18 (memoization, the KV cache): README rule -> hidden tests that enforce it -> mutants that prove it."""
from tests.rules import rule

C = "test_memoization_cache.py::"
A = "test_memoization_model.py::"

SECTIONS = ["The API", "Conventions"]

UPD = C + "test_update_returns_the_history_and_the_new_tokens"
ATT = A + "test_cached_attention_matches_full_attention"
STEPS = A + "test_cached_steps_give_the_logits_of_the_full_forward"
GEN = A + "test_generate_cached_gives_the_tokens_of_generate"
ENABLE = A + "test_enable_kv_cache_wraps_every_block_of_that_model_only"
DISABLE = A + "test_disable_kv_cache_restores_the_original_objects"
FOUND = A + "test_generate_cached_leaves_the_model_as_found"
KEEP = A + "test_generate_cached_keeps_an_enabled_cache"
LIMIT = A + "test_generate_cached_raises_past_max_seq_len"
SIZES = C + "test_kvcache_sizes_and_buffers"
OVER = C + "test_update_overflow_raises_naming_the_limit"

RULES = [
    # ------------------------------------------------------------ KVCache: signature lines
    rule("def __init__(self, batch_size, max_seq_len, num_layers, num_heads, head_dim)", SIZES,
         mutants=["buffers in float64"]),
    rule("batch_size, max_seq_len, num_layers, num_heads, head_dim # as given", SIZES,
         why_no_mutant="storing the five arguments has no plausible wrong variant; the test reads all five"),
    rule("seq_pos # int: how many positions are cached, 0 at the start", SIZES, UPD,
         mutants=["advance ignores num_tokens"]),
    rule("caches # list of num_layers pairs (key_cache, value_cache)", SIZES, mutants=["cache shared across layers"]),
    rule("update(layer_idx, key, value) -> (keys, values)", UPD,
         mutants=["update returns the history without the new tokens"]),
    rule("get(layer_idx) -> (keys, values)", UPD, mutants=["get one position too many (off-by-one seq_pos)"]),
    rule("advance(num_tokens=1) -> None", UPD, C + "test_advance_overflow_raises_naming_the_limit",
         mutants=["advance ignores num_tokens"]),
    rule("reset() -> None", C + "test_reset_really_resets", mutants=["reset that keeps the data"]),
    rule("memory_usage() -> int # bytes", C + "test_memory_usage_is_what_the_shapes_say",
         mutants=["memory in float64 bytes"]),
    # ------------------------------------------------------------ KVCache: bullets
    rule("The five sizes must be positive ints, otherwise `ValueError`.",
         C + "test_kvcache_rejects_sizes_that_are_not_positive_ints", mutants=["no size checks"]),
    rule("`caches[l]` is the pair `(key_cache, value_cache)` of layer `l`", SIZES,
         mutants=["cache shared across layers", "buffers in float64"]),
    rule("The buffers are allocated once, in `__init__`", UPD,
         why_no_mutant="a cache that grows by concatenation is a different design, not a one-line slip; the "
                       "test checks the same array is written in place and names slice assignment"),
    rule("`update(layer_idx, key, value)`: `key` and `value` are Tensors (or arrays)", UPD,
         mutants=["get one position too many (off-by-one seq_pos)"]),
    rule("They are written at positions `seq_pos .. seq_pos + T - 1` of layer `layer_idx`.", UPD,
         C + "test_layers_do_not_share_storage", mutants=["update returns the new tokens only"]),
    rule("`update` returns the layer's `(keys, values)` of positions `0 .. seq_pos + T - 1`", UPD,
         mutants=["update returns the history without the new tokens", "update returns the new tokens only"]),
    rule("Both are float32 Tensors of shape", UPD, mutants=["update returns the history without the new tokens"]),
    rule("`update` does not move `seq_pos`", UPD, mutants=["update returns the history without the new tokens"]),
    rule("`get(layer_idx)` returns the layer's `(keys, values)` of positions `0 .. seq_pos - 1`", UPD,
         mutants=["get one position too many (off-by-one seq_pos)"]),
    rule("`advance(num_tokens=1)` adds `num_tokens` to `seq_pos`.", UPD, mutants=["advance ignores num_tokens"]),
    rule("A layer index outside `[0, num_layers)` raises `ValueError`", C + "test_update_and_get_reject_bad_arguments",
         mutants=["no layer index check", "no shape check in update"]),
    rule("Overflow: an `update` whose tokens do not fit", OVER, C + "test_update_crossing_the_end_raises",
         C + "test_advance_overflow_raises_naming_the_limit",
         mutants=["no overflow check in update", "update overflow check off by one", "no overflow check in advance"]),
    rule("`reset()` empties the cache", C + "test_reset_really_resets",
         mutants=["reset that keeps the data", "reset that keeps seq_pos"]),
    rule("`memory_usage()` is the size in bytes of the key and value buffers",
         C + "test_memory_usage_is_what_the_shapes_say", mutants=["memory without the factor 2", "memory in float64 bytes"]),
    rule("What `update` and `get` return are values, never graph", C + "test_the_cache_holds_values_not_graph",
         mutants=["cache results keep requires_grad"]),
    # ------------------------------------------------------------ CachedAttention
    rule("class CachedAttention(Layer):", ENABLE, mutants=["enabling twice wraps the stand-in"]),
    rule("def __init__(self, attention, cache, layer_idx)", ATT, ENABLE, mutants=["attention drops the current token"]),
    rule("attention, cache, layer_idx # as given", ATT, ENABLE,
         why_no_mutant="storing the three arguments; the tests read them and enable_kv_cache's test checks "
                       "each block's index"),
    rule("forward(x, mask=None) -> Tensor", ATT, mutants=["attention drops the current token"]),
    rule("`CachedAttention(attention, cache, layer_idx).forward(x, mask=None)`: `x` is", ATT, STEPS,
         mutants=["causal mask forgets seq_pos"]),
    rule("It projects them with `attention.q_proj`", ATT, STEPS,
         mutants=["wrong head layout", "no causal rule among the new tokens", "attention drops the current token"]),
    rule("It merges the heads back, applies `attention.out_proj`", ATT, STEPS, mutants=["wrong head layout"]),
    rule("It does not advance the cache, and it ignores `mask`", ATT, STEPS,
         mutants=["no causal rule among the new tokens"]),
    rule("It builds no graph: its output does not require grad", A + "test_cached_attention_builds_no_graph",
         mutants=["cached attention builds a graph"]),
    rule("It is a kata-03 `Layer` holding the original attention", ENABLE,
         why_no_mutant="a stand-in that is not a Layer (or keeps the attention elsewhere) is a different "
                       "design; the test compares model.parameters() before and after enabling"),
    # ------------------------------------------------------------ enable / disable
    rule("def enable_kv_cache(model, batch_size=1) -> KVCache", ENABLE, mutants=["enable ignores batch_size"]),
    rule("def disable_kv_cache(model) -> None", DISABLE, mutants=["disable only drops the cache"]),
    rule("`enable_kv_cache(model, batch_size=1)` makes", ENABLE, STEPS, mutants=["enable ignores batch_size"]),
    rule("Only that model instance changes", ENABLE,
         why_no_mutant="patching MultiHeadAttention.forward on the class is a different design; the test "
                       "checks another GPT and the three classes' forwards"),
    rule("Enabling a model that has a cache already starts again from its original attention", ENABLE,
         mutants=["enabling twice wraps the stand-in"]),
    rule("A cached step is `logits = model(tokens, start_pos=cache.seq_pos)`", STEPS, ATT,
         mutants=["attention drops the current token", "causal mask forgets seq_pos", "wrong head layout"]),
    rule("`disable_kv_cache(model)` puts the original attention objects back", DISABLE,
         mutants=["disable only drops the cache"]),
    # ------------------------------------------------------------ generate_cached
    rule("def generate_cached(model, prompt_tokens, max_new_tokens=50, temperature=1.0, seed=None) -> Tensor", GEN,
         mutants=["advance before update"]),
    rule("`generate_cached(model, prompt_tokens, max_new_tokens=50, temperature=1.0, seed=None)`", GEN,
         mutants=["advance before update"]),
    rule("It feeds every token through the model once", A + "test_generate_cached_feeds_every_token_once",
         mutants=["generate_cached without the cache"]),
    rule("A model without a cache gets one for the call", FOUND,
         mutants=["generate_cached restores the model outside finally"]),
    rule("A model whose cache is enabled keeps it", KEEP, mutants=["generate_cached does not reset an enabled cache"]),
    rule("It builds no graph: every forward it makes runs with grad mode off.",
         A + "test_generate_cached_builds_no_graph", mutants=["generate_cached loop with grad mode on"]),
    rule("Past `max_seq_len` it raises.", LIMIT, mutants=["generate_cached without a capacity check"]),
    rule("The last new token is never fed back, so the cache must", LIMIT, GEN,
         mutants=["generate_cached capacity check off by one", "generate_cached without a capacity check"]),
    # ------------------------------------------------------------ conventions
    rule("The cache stores float32 (the model's dtype)", UPD, SIZES, mutants=["buffers in float64"]),
    rule("Cached and full computations round differently", ATT, STEPS,
         why_no_mutant="a tolerance, not a behaviour: the tests compare at rtol 1e-4 and would reject any "
                       "bit-for-bit requirement's alternative only by being too strict, which the "
                       "alternative solution (kata-12 attention) proves they are not"),
    rule("Shapes follow kata 12", ATT, mutants=["wrong head layout"]),
    rule("Inference only: training never goes through the cache.", A + "test_cached_attention_builds_no_graph",
         mutants=["cached attention builds a graph"]),
]

PROSE = [
    "class KVCache:",
    "TinyTorch's `update` returns nothing and its `get` leaves out the tokens just written",
    "Ours returns them; TinyTorch's `get_memory_usage()`",
    "Why not slide like `generate`?",
    "The positions are learned and absolute",
    "Sliding means recomputing the whole window each step",
]
