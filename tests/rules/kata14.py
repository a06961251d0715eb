"""Kata 14 (Profiling): README rule -> hidden tests that enforce it -> mutants that prove it."""
from tests.rules import rule

FL = "test_profiling_flops.py::"
PA = "test_profiling_params.py::"
ME = "test_profiling_measure.py::"

SHAPES = FL + "test_a_shape_the_layer_cannot_take_raises_value_error"
FEED = FL + "test_each_layer_passes_its_output_shape_to_the_next"
SEQ = FL + "test_sequential_counts_each_layer_on_the_shape_before_it"
MEDIAN = ME + "test_latency_is_the_median_of_separately_timed_calls"
WITH = ME + "test_a_with_block_is_timed_in_milliseconds"
RAISES = ME + "test_a_block_that_raises_is_timed_and_the_error_goes_on"
PROFILE = ME + "test_profile_layer_combines_the_counts_and_measurements"
QUICK = ME + "test_quick_profile_prints_and_returns_the_profile"
ZEROS = ME + "test_the_input_is_float32_zeros_of_the_shape_and_runs_under_no_grad"
TRACE = ME + "test_tracemalloc_is_left_as_it_was_found"
PEAK = ME + "test_the_peak_is_the_largest_allocation_during_the_call"

SECTIONS = ["The API", "Conventions"]

RULES = [
    # ------------------------------------------------------------ the API block
    rule("def __init__(self, clock=time.perf_counter)", WITH, mutants=["default clock time.time"]),
    rule("clock # as given: a function returning seconds", WITH, MEDIAN,
         mutants=["latency in seconds"]),
    rule("elapsed # milliseconds the last `with` block took; None before", WITH,
         mutants=["elapsed starts at 0.0", "elapsed in seconds"]),
    rule("__enter__() -> Profiler; __exit__(...) # `with Profiler() as p:` times the block", WITH, RAISES,
         mutants=["__enter__ returns None", "exception swallowed by __exit__"]),
    rule("count_parameters(model) -> int", PA + "test_linear_parameters",
         mutants=["count_parameters counts Tensors"]),
    rule("count_flops(model, input_shape) -> int # one forward call on input_shape, batch included",
         FL + "test_linear_flops", FL + "test_conv2d_flops",
         mutants=["Linear counted per sample (TinyTorch's convention)", "conv counted per sample"]),
    rule("measure_memory(model, input_shape) -> dict # parameter_memory_mb, activation_memory_mb, peak_memory_mb",
         ME + "test_parameter_memory_counts_the_real_bytes", ME + "test_activation_memory_is_the_output_of_the_call",
         PEAK, mutants=["activation memory of the input", "peak reported as the memory left after the call"]),
    rule("measure_latency(model, x, warmup=10, iterations=100) -> float # median, milliseconds",
         ME + "test_latency_defaults_are_10_warmup_and_100_timed_calls", MEDIAN,
         mutants=["latency defaults of TinyTorch's profile_forward_pass (5, 20)", "latency: the mean"]),
    rule("profile_layer(layer, input_shape) -> dict", PROFILE, mutants=["layer_type not the class name"]),
    rule("def quick_profile(model, input_tensor, profiler=None) -> dict", QUICK,
         mutants=["quick_profile ignores the profiler given"]),
    # ------------------------------------------------------------ count_parameters
    rule("`count_parameters(model)` is the total number of elements of the Tensors that "
         "`model.parameters()` lists, each Tensor counted once even if it is listed twice",
         PA + "test_linear_parameters", PA + "test_conv2d_parameters",
         PA + "test_attention_and_layer_norm_parameters", PA + "test_gpt_parameters",
         PA + "test_a_shared_tensor_counts_once",
         mutants=["count_parameters counts Tensors", "a shared Tensor counted twice"]),
    rule("An object without a `parameters()` method has 0 parameters.",
         PA + "test_objects_without_parameters_have_none",
         mutants=["count_parameters crashes without parameters()"]),
    # ------------------------------------------------------------ count_flops: the table
    rule("is the number of floating-point operations of one call `model(x)` on an input of shape "
         "`input_shape`, batch included, by this table",
         FL + "test_linear_flops", FL + "test_conv2d_flops", FL + "test_pool_flops",
         mutants=["Linear counted per sample (TinyTorch's convention)", "conv counted per sample",
                  "conv padding ignored", "conv stride ignored", "height and width swapped"]),
    rule("`Linear(i, o)` | `(..., i)`, `M` rows: the product of the leading sides | `2*M*i*o`, plus "
         "`M*o` with a bias | `(..., o)`", FL + "test_linear_flops",
         mutants=["Linear bias additions not counted", "bias counted for a Linear without one",
                  "Linear rows = the first axis only", "2i - 1 FLOPs per output"]),
    rule("`Conv2d(C, O, (kh, kw))` | `(N, C, H, W)` | `2*N*O*Ho*Wo*C*kh*kw`, plus `N*O*Ho*Wo` with a "
         "bias | `(N, O, Ho, Wo)`", FL + "test_conv2d_flops", SEQ,
         mutants=["conv bias additions not counted", "kernel taken as square", "height and width swapped",
                  "conv stride ignored"]),
    rule("`MaxPool2d((kh, kw))` | `(N, C, H, W)` | `N*C*Ho*Wo*(kh*kw - 1)`: the comparisons",
         FL + "test_pool_flops[MaxPool2d]", SEQ, mutants=["max pool counts kh*kw comparisons"]),
    rule("`AvgPool2d((kh, kw))` | `(N, C, H, W)` | `N*C*Ho*Wo*kh*kw`: `kh*kw - 1` additions and a "
         "division per output | `(N, C, Ho, Wo)`", FL + "test_pool_flops[AvgPool2d]", FEED,
         mutants=["average pool forgets the division", "average pool passes on its input shape"]),
    rule("`MultiHeadAttention(D, heads)` | `(B, S, D)` | its four projections by the `Linear` rule, plus "
         "`4*B*S*S*D` for `Q Kᵀ` and `weights @ V` | `(B, S, D)`",
         FL + "test_multi_head_attention_flops", FEED,
         mutants=["attention products not counted", "attention products counted for one head",
                  "out_proj not counted"]),
    rule("`MLP` | `(..., D)` | `linear1` plus `linear2`, by the `Linear` rule | `(..., D)`",
         FL + "test_mlp_flops", FEED,
         mutants=["MLP second linear not counted", "MLP passes on its hidden shape"]),
    rule("`TransformerBlock` | `(B, S, D)` | its `attention` plus its `mlp` | `(B, S, D)`",
         FL + "test_transformer_block_flops", FEED, mutants=["block without its MLP"]),
    rule("`GPT` | token ids `(B, T)` | every block on `(B, T, embed_dim)`, plus `lm_head` | "
         "`(B, T, vocab_size)`", FL + "test_gpt_flops", FEED,
         mutants=["GPT lm_head not counted", "GPT counts one block", "GPT passes on (B, T, embed_dim)"]),
    rule("`Sequential` | its first layer's | the sum over `layers`, each counted on the previous "
         "layer's output shape | its last layer's", SEQ, FEED,
         mutants=["Sequential counts every layer on the input shape"]),
    rule("`Flatten` | `(N, ...)` | 0 | `(N, product of the other sides)`", SEQ,
         FL + "test_elementwise_and_normalising_layers_count_zero",
         mutants=["Flatten passes on its input shape"]),
    rule("`Embedding`, `EmbeddingLayer` | ids of any shape | 0 | the ids' shape `+ (embed_dim,)`",
         FEED, FL + "test_elementwise_and_normalising_layers_count_zero",
         mutants=["Embedding passes on the ids' shape"]),
    rule("`Sigmoid`, `ReLU`, `Tanh`, `GELU`, `Softmax`, `Dropout`, `BatchNorm2d`, `LayerNorm`, "
         "`PositionalEncoding` | any | 0 | unchanged",
         FL + "test_elementwise_and_normalising_layers_count_zero", SEQ, FEED,
         mutants=["elementwise layers counted one FLOP per element"]),
    # ------------------------------------------------------------ count_flops: recognition, errors
    rule("A layer is recognised by its class or any of its base classes: a subclass of `Linear` counts "
         "as a `Linear`.", FL + "test_a_subclass_counts_like_its_base_class",
         mutants=["exact class-name dispatch (subclasses unknown)"]),
    rule("Any other object raises `ValueError` whose message names its class, also when it sits inside "
         "a `Sequential`.", FL + "test_an_unknown_layer_raises_value_error_naming_it",
         mutants=["unknown layer counted as 0", "unknown layer's error does not name it",
                  "unknown layer: one FLOP per input element (TinyTorch's fallback)"]),
    rule("An `input_shape` the layer cannot take raises `ValueError`: a last axis other than "
         "`in_features` (`Linear`) or `embed_dim` (`MultiHeadAttention`), an input that is not 4-D or "
         "has the wrong channel count (`Conv2d`), a pool input that is not 4-D, a kernel larger than "
         "the padded input, token ids that are not 2-D (`GPT`).", SHAPES,
         mutants=["Linear input shape not checked", "conv channels not checked",
                  "kernel larger than the padded input not checked", "pool input not checked for 4-D",
                  "attention projections by formula, embed_dim unchecked",
                  "GPT reads (batch, seq) as the first and last axes"]),
    rule("It works from shapes and the layers' attributes alone and never calls the model",
         FL + "test_count_flops_never_calls_the_model",
         mutants=["count_flops runs the model to find shapes"]),
    rule("It returns a Python `int`, exact however large (past `2**63`).",
         FL + "test_a_count_is_a_python_int_exact_past_2_63",
         mutants=["count overflows: np.prod (np.int64)"]),
    rule("here every count covers the whole call (divide by the batch for a per-sample figure)",
         FL + "test_linear_flops", FL + "test_conv2d_flops",
         mutants=["Linear counted per sample (TinyTorch's convention)", "conv counted per sample"]),
    # ------------------------------------------------------------ measure_memory
    rule("`measure_memory(model, input_shape)` creates `x`, a float32 Tensor of zeros of `input_shape`",
         ZEROS, mutants=["memory input drawn at random (TinyTorch)"]),
    rule("then calls `model(x)` once under kata 06's `no_grad()`", ZEROS,
         mutants=["memory measured with grad mode on", "memory: a warm-up call before the measured one"]),
    rule("returns three floats in megabytes of `2**20` bytes", ME + "test_parameter_memory_counts_the_real_bytes",
         mutants=["a megabyte of 10**6 bytes"]),
    rule("`\"parameter_memory_mb\"`: the bytes (`nbytes`) of the model's parameter Tensors, each counted "
         "once, in their own dtype", ME + "test_parameter_memory_counts_the_real_bytes",
         mutants=["parameter memory assumes 4 bytes per parameter",
                  "parameter memory counts a shared Tensor twice"]),
    rule("`\"activation_memory_mb\"`: the bytes of the output of `model(x)`.",
         ME + "test_activation_memory_is_the_output_of_the_call", mutants=["activation memory of the input"]),
    rule("`\"peak_memory_mb\"`: the peak of the memory allocated during the call, as `tracemalloc` "
         "measures it, minus what was already allocated when the call began.", PEAK, TRACE,
         mutants=["peak reported as the memory left after the call", "memory in use before the call counted",
                  "old peak not reset"]),
    rule("It leaves `tracemalloc` as it found it: started and stopped again if it was off, still tracing "
         "if it was on", PEAK, TRACE,
         mutants=["tracemalloc left running", "tracemalloc stopped though it was running", "old peak not reset"]),
    # ------------------------------------------------------------ measure_latency
    rule("calls `model(x)` `warmup` times untimed, then `iterations` times, each timed on its own: "
         "`self.clock()` just before and just after the call.", MEDIAN,
         ME + "test_latency_defaults_are_10_warmup_and_100_timed_calls",
         mutants=["latency: warm-up calls timed too", "latency: no warm-up",
                  "latency: one timer around the whole loop"]),
    rule("It returns the median of those `iterations` durations (`np.median`: the mean of the two middle "
         "values for an even count), in milliseconds, as a Python `float`.", MEDIAN,
         mutants=["latency: the mean", "latency: the upper middle value for an even count",
                  "latency in seconds", "latency returned as a 1-element array"]),
    rule("Every call runs under `no_grad()`.", MEDIAN, mutants=["latency measured with grad mode on"]),
    rule("`warmup < 0` or `iterations < 1` raises `ValueError`.", ME + "test_latency_rejects_impossible_counts",
         mutants=["latency accepts zero iterations", "latency accepts a negative warmup"]),
    # ------------------------------------------------------------ the with block
    rule("`with Profiler(clock=c) as p:` binds `p` to the profiler itself.", WITH,
         mutants=["__enter__ returns None"]),
    rule("When the block ends, `p.elapsed` is `(c() at the end - c() at the start) * 1000`, in "
         "milliseconds, also when the block raises; the exception goes on (it is not swallowed).",
         WITH, RAISES,
         mutants=["elapsed in seconds", "elapsed set only when the block succeeds",
                  "exception swallowed by __exit__"]),
    # ------------------------------------------------------------ profile_layer, quick_profile
    rule("`profile_layer(layer, input_shape)` returns a dict with `\"layer_type\"` (the class name)",
         PROFILE, QUICK,
         mutants=["layer_type not the class name", "GFLOP/s without the 1e6",
                  "profile_layer with measure_latency's defaults", "profile_layer times on float64 zeros"]),
    rule("`quick_profile(model, input_tensor, profiler=None)` is `profile_layer(model, "
         "input_tensor.shape)` of `profiler` (a new `Profiler()` when it is `None`).", QUICK,
         mutants=["quick_profile ignores the profiler given"]),
    rule("It prints every entry of that dict on a line of its own, `key: value`, integers with thousands "
         "separators (`flops: 526,336`), and returns the dict.", QUICK,
         mutants=["quick_profile prints integers without separators"]),
    # ------------------------------------------------------------ conventions
    rule("A multiply-add counts 2 FLOPs (one MAC); adding a bias counts 1 FLOP per output, and so does a "
         "comparison.", FL + "test_linear_flops", FL + "test_pool_flops[MaxPool2d]",
         mutants=["multiply-adds counted as 1 FLOP (MACs)", "Linear bias additions not counted",
                  "max pool counts kh*kw comparisons"]),
    rule("Padding zeros are multiplied like any other input", FL + "test_conv2d_flops",
         mutants=["conv padding ignored"]),
    rule("Elementwise and normalising work (activations, the softmax, the attention scale and mask, "
         "LayerNorm, BatchNorm, residual additions, embedding lookups) counts 0 FLOPs.",
         FL + "test_elementwise_and_normalising_layers_count_zero", FL + "test_multi_head_attention_flops",
         FL + "test_transformer_block_flops",
         mutants=["elementwise layers counted one FLOP per element", "attention scale counted",
                  "residual additions counted"]),
    rule("Counts are pure functions of shapes: the same model and shape give the same count, whatever "
         "the weights.", FL + "test_a_count_depends_on_shapes_not_on_weight_values",
         mutants=["zero weights not counted (a sparse count)"]),
    rule("Nothing the profiler does changes the model's parameters or its training mode.", PROFILE,
         mutants=["profile_layer switches the layer to eval mode"]),
]

PROSE = [
    "class Profiler:",
    "A silent guess is how TinyTorch's profiler reports 4,096 FLOPs for a custom dense layer that does 524,288.",
    "TinyTorch counts `Linear`, `Conv2d` and a GPT per sample but layers it does not know over the "
    "whole input, so its totals mix units;",
    "TinyTorch assumes 4 bytes per parameter and estimates the activations as twice the input; here both "
    "come from the arrays themselves.",
    "PyTorch's `FlopCounterMode` makes the same choice: such work is limited by memory traffic, and a FLOP "
    "count is a measure of the arithmetic in products.",
    "as im2col's matrix product does.",
]
