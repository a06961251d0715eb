"""Kata 17 (acceleration): README rule -> hidden tests that enforce it -> mutants that prove it."""
from tests.rules import rule

M = "test_acceleration_matmul.py::"
I = "test_acceleration_im2col.py::"  # noqa: E741
C = "test_acceleration_conv.py::"
G = "test_acceleration_gelu.py::"
B = "test_acceleration_benchmark.py::"

SECTIONS = ["The API", "Conventions"]

PRODUCTS = M + "test_products_match_np_matmul"
EXACT = M + "test_products_are_exact_on_integer_values"
MIXED = M + "test_products_follow_numpy_with_mixed_dtypes"
BATCHED = M + "test_vectorized_matmul_batches_and_broadcasts"
SHAPES = M + "test_mismatched_shapes_raise_value_error"
TILE_DEFAULT = M + "test_tiled_matmul_default_tile_is_64_and_covers_a_partial_tile"
TILE_TYPE = M + "test_tile_size_must_be_a_positive_int"
FROM_KATA = M + "test_the_products_come_from_your_kata"
WINDOWS = I + "test_im2col_holds_every_window"
COPY = I + "test_im2col_keeps_the_dtype_and_copies"
IM2COL_GRAD = I + "test_im2col_is_recorded_and_its_gradient_is_col2im"
COL2IM = I + "test_col2im_adds_every_entry_back_where_it_came_from"
ADJOINT = I + "test_col2im_is_the_adjoint_of_im2col"
OVERLAPS = I + "test_col2im_counts_overlaps_and_leaves_gaps"
IM_ERRORS = I + "test_im2col_and_col2im_errors"
CONVS = C + "test_convolutions_equal_your_conv2d"
CONV_DTYPES = C + "test_convolutions_follow_numpy_dtypes"
CONV_GRADS = C + "test_im2col_conv2d_gradients_equal_your_conv2d"
CONV_FD = C + "test_im2col_conv2d_gradients_match_finite_differences"
CONV_ERRORS = C + "test_convolution_errors"
GELU = G + "test_fused_gelu_equals_your_gelu"
GELU_NODE = G + "test_fused_gelu_records_one_node"
GELU_GRAD = G + "test_fused_gelu_gradient_equals_your_gelus"
GELU_MEMORY = G + "test_fused_gelu_computes_in_one_buffer"
TIMING = B + "test_benchmark_times_each_method_after_one_untimed_call"
AGREE = B + "test_benchmark_checks_every_method_against_the_first"
PRINTS = B + "test_benchmark_prints_only_when_asked"
BENCH_ERRORS = B + "test_benchmark_errors"
READY = B + "test_the_ready_made_benchmarks"
READY_ARGS = B + "test_the_ready_made_benchmarks_pass_their_sizes_on"

RULES = [
    # ------------------------------------------------------------ the API block
    rule("def naive_matmul(a, b) -> Tensor # (M, K) @ (K, N) in three Python loops", PRODUCTS, FROM_KATA,
         mutants=["naive_matmul does not reset the running sum"]),
    rule("def vectorized_matmul(a, b) -> Tensor # one np.matmul (BLAS) call, batched", PRODUCTS, BATCHED,
         mutants=["vectorized_matmul with np.dot (no broadcasting of the batch axes)"]),
    rule("def tiled_matmul(a, b, tile_size=64) -> Tensor # (M, K) @ (K, N), tile by tile", TILE_DEFAULT,
         PRODUCTS, mutants=["tiled_matmul default tile of 32"]),
    rule("def im2col(x, kernel_size, stride=1, padding=0) -> Tensor # (N, C, H, W) -> (N*Ho*Wo, C*kh*kw)",
         WINDOWS, mutants=["im2col returns the transpose (C*kh*kw, N*Ho*Wo)"]),
    rule("def col2im(cols, x_shape, kernel_size, stride=1, padding=0) -> Tensor # its adjoint, shape x_shape",
         COL2IM, ADJOINT, mutants=["col2im keeps the padding"]),
    rule("class Im2colFunction(Function) # what im2col records; its backward is col2im", IM2COL_GRAD,
         mutants=["im2col not recorded (a plain Tensor)",
                  "Im2colFunction.backward overwrites overlapping windows"]),
    rule("def naive_conv2d(x, weight, bias=None, stride=1, padding=0) -> Tensor # seven Python loops", CONVS,
         mutants=["naive_conv2d flips the kernel (a true convolution)"]),
    rule("def shift_add_conv2d(x, weight, bias=None, stride=1, padding=0) -> Tensor # a loop over kernel offsets",
         CONVS, CONV_DTYPES, mutants=["shift_add_conv2d forgets the bias"]),
    rule("def im2col_conv2d(x, weight, bias=None, stride=1, padding=0) -> Tensor # im2col + one matmul, "
         "differentiable", CONVS, CONV_GRADS, CONV_FD,
         mutants=["im2col_conv2d reshapes (N*Ho*Wo, O) straight to (N, O, Ho, Wo)",
                  "im2col_conv2d multiplies im2col's .data (the graph is cut)"]),
    rule("def fused_gelu(x) -> Tensor # kata 02's GELU in one buffer, one graph node", GELU, GELU_NODE,
         GELU_MEMORY, mutants=["fused_gelu is the exact (erf) GELU", "fused_gelu not recorded (a plain Tensor)"]),
    rule("class FusedGELUFunction(Function) # what fused_gelu records", GELU_NODE, GELU_GRAD,
         mutants=["fused_gelu not recorded (a plain Tensor)"]),
    rule("def benchmark(methods, *args, repeats=3, clock=time.perf_counter, show=True) -> dict", TIMING, PRINTS,
         mutants=["benchmark reports the mean", "benchmark prints even with show=False"]),
    rule("def benchmark_conv2d(batch=32, channels=8, size=8, kernel_size=3, repeats=3, clock=time.perf_counter, "
         "show=True) -> dict", READY, READY_ARGS,
         mutants=["benchmark_conv2d without padding (the image shrinks)"]),
    rule("def benchmark_matmul(n=64, tile_size=16, repeats=3, clock=time.perf_counter, show=True) -> dict",
         READY, READY_ARGS, mutants=["benchmark_matmul does not pass its clock on",
                                     "benchmark_matmul tiles with the default tile_size"]),
    rule("def show_results(results, title) # given in the stub: prints results as a table", PRINTS, READY,
         why_no_mutant="show_results is given, identical in the stub and the reference; the tests "
                       "check that benchmark and the ready-made benchmarks call it (their mutants)"),
    # ------------------------------------------------------------ matrix products
    rule("`a` and `b` are Tensors.", PRODUCTS,
         why_no_mutant="an input type every test passes; an implementation that refuses Tensors "
                       "fails every product test at once, which no plausible single bug does"),
    rule("Each function returns a new Tensor equal to `np.matmul(a.data, b.data)` in shape, values and dtype",
         PRODUCTS, EXACT, mutants=["naive_matmul accumulates into float64 (np.zeros without dtype)"]),
    rule("(float32 with float32 stays float32; mixed dtypes follow NumPy)", PRODUCTS, MIXED,
         mutants=["naive_matmul accumulates into float64 (np.zeros without dtype)",
                  "naive_matmul keeps the first operand's dtype"]),
    rule("`naive_matmul` and `tiled_matmul` take 2-D operands; `vectorized_matmul` takes operands of at least "
         "2 dimensions whose leading axes broadcast as in `np.matmul`.", BATCHED, SHAPES,
         mutants=["vectorized_matmul with np.dot (no broadcasting of the batch axes)"]),
    rule("An operand with the wrong number of dimensions raises `ValueError`, and so do inner dimensions that "
         "differ, with both shapes in the message.", SHAPES, mutants=["shape error names neither shape"]),
    rule("`tiled_matmul` computes the output one `tile_size x tile_size` block at a time, "
         "`C[I, J] += A[I, T] @ B[T, J]` over the tiles `T` of the inner axis.", PRODUCTS, EXACT,
         mutants=["tiled_matmul assigns each inner tile instead of adding it"]),
    rule("It equals `a @ b` for every shape: the last tile of an axis is smaller when `tile_size` does not "
         "divide it, and a tile larger than the matrix is one tile.", PRODUCTS, EXACT, TILE_DEFAULT,
         mutants=["tiled_matmul skips the last partial tile"]),
    rule("`tile_size` must be a positive int; anything else (0, a negative number, a float, a bool) raises "
         "`ValueError`.", TILE_TYPE,
         mutants=["tiled_matmul accepts True as a tile of 1",
                  "tiled_matmul does not check the tile's type (a float reaches range)"]),
    # ------------------------------------------------------------ im2col / col2im
    rule("`kernel_size`, `stride` and `padding` are an int or a pair `(height, width)`, as in kata 09's "
         "`Conv2d`; `Ho` and `Wo` follow kata 09's output-size formula.", WINDOWS, COL2IM,
         mutants=["col2im keeps the padding"]),
    rule("`im2col(x, ...)` takes a 4-D Tensor `(N, C, H, W)` and returns a Tensor of shape `(N*Ho*Wo, C*kh*kw)` "
         "in `x`'s dtype.", WINDOWS, COPY, mutants=["im2col returns the transpose (C*kh*kw, N*Ho*Wo)"]),
    rule("Row `(n*Ho + y)*Wo + x` is the window of output position `(y, x)` of image `n`", WINDOWS,
         mutants=["im2col rows in (position, image) order"]),
    rule("and its column `(c*kh + i)*kw + j` holds `xp[n, c, y*sh + i, x*sw + j]`, where `xp` is the input "
         "padded with zeros.", WINDOWS, mutants=["im2col columns in (kernel offset, channel) order"]),
    rule("The result is a copy: writing into it leaves `x` unchanged.", COPY,
         why_no_mutant="the reference Tensor copies what it is given (np.array), so an im2col that "
                       "returns a view is caught only under a learner Tensor that keeps views, "
                       "which is what the test guards"),
    rule("`im2col` enters the graph: it returns `record(Tensor(cols), Im2colFunction, (x,), ...)`", IM2COL_GRAD,
         mutants=["im2col not recorded (a plain Tensor)"]),
    rule("and `Im2colFunction.backward(grad)` returns the 1-tuple `(col2im(grad, ...).data,)`, so the "
         "gradient of the windows reaches `x`.", IM2COL_GRAD,
         mutants=["Im2colFunction.backward overwrites overlapping windows"]),
    rule("`col2im(cols, x_shape, ...)` takes a Tensor or an ndarray of shape `(N*Ho*Wo, C*kh*kw)` and returns "
         "a Tensor of shape `x_shape`, in the dtype of `cols`", COL2IM, OVERLAPS,
         mutants=["col2im keeps the padding"]),
    rule("every entry is added onto the input position it came from (entries of overlapping windows add up), "
         "and entries that came from the padding are dropped.", COL2IM, OVERLAPS, ADJOINT,
         mutants=["col2im overwrites overlapping windows instead of adding",
                  "col2im cuts the padding off one side only"]),
    rule("`col2im` is the adjoint of `im2col`: for every `x` and every `y` of the shape of `im2col(x)`, "
         "`sum(im2col(x).data * y)` equals `sum(x.data * col2im(y, x.shape, ...).data)`.", ADJOINT,
         mutants=["col2im cuts the padding off one side only"]),
    rule("`ValueError`: an input that is not 4-D, a kernel larger than the padded input, an `x_shape` that is "
         "not 4 numbers, or `cols` of a shape other than the one `im2col` of `x_shape` gives (the message "
         "names both shapes).", IM_ERRORS,
         mutants=["col2im does not check the shape of cols", "col2im checks only the number of entries of cols"]),
    # ------------------------------------------------------------ convolutions
    rule("`x` is `(N, C, H, W)`, `weight` is `(O, C, kh, kw)` and `bias` is `(O,)` or `None`, all Tensors, "
         "as a kata-09 `Conv2d` holds them; `stride` and `padding` are ints or pairs.", CONVS, CONV_DTYPES,
         mutants=["shift_add_conv2d forgets the bias"]),
    rule("`naive_conv2d`, `shift_add_conv2d` and `im2col_conv2d` each return what kata 09's `Conv2d` with "
         "that weight, bias, stride and padding returns for `x`: same shape, same values (to float "
         "rounding), same dtype.", CONVS, CONV_DTYPES,
         mutants=["naive_conv2d flips the kernel (a true convolution)", "naive_conv2d output in float64",
                  "im2col_conv2d reshapes (N*Ho*Wo, O) straight to (N, O, Ho, Wo)"]),
    rule("`im2col_conv2d` is differentiable: the gradients it gives `x`, `weight` and `bias` equal the ones "
         "your kata-09 `Conv2d` gives, for any upstream gradient.", CONV_GRADS, CONV_FD,
         mutants=["im2col_conv2d multiplies im2col's .data (the graph is cut)",
                  "im2col_conv2d multiplies by weight.data (the weight gets no gradient)"]),
    rule("`ValueError`: `x` or `weight` not 4-D, a channel count of `x` other than `weight`'s, a kernel "
         "larger than the padded input.", CONV_ERRORS,
         mutants=["convolutions do not compare the channel counts"]),
    # ------------------------------------------------------------ fused GELU
    rule("`fused_gelu(x)` equals kata 02's `GELU()(x)` (the tanh approximation) to float rounding, in `x`'s "
         "shape and dtype, also for a 0-d `x`.", GELU,
         mutants=["fused_gelu is the exact (erf) GELU", "fused_gelu allocates its buffer in float64"]),
    rule("It computes into one output array with in-place NumPy operations", GELU_MEMORY, GELU,
         mutants=["fused_gelu as a one-line NumPy formula (temporaries)", "fused_gelu computes in x's own buffer"]),
    rule("while it runs, the memory it allocates peaks at no more than 2.5 times `x.data.nbytes`", GELU_MEMORY,
         mutants=["fused_gelu as a one-line NumPy formula (temporaries)"]),
    rule("It records one node: `record(Tensor(out), FusedGELUFunction, (x,))`", GELU_NODE,
         mutants=["fused_gelu not recorded (a plain Tensor)"]),
    rule("whose backward returns the 1-tuple `(grad * gelu'(x),)`, computed from `x` itself "
         "(`self.inputs[0]`), not from stored intermediates.", GELU_GRAD,
         mutants=["FusedGELUFunction.backward forgets the 3 of d(x^3)/dx"]),
    rule("Its gradient equals the one kata 06 gives `GELU()(x)`.", GELU_GRAD,
         mutants=["FusedGELUFunction.backward forgets the 3 of d(x^3)/dx"]),
    # ------------------------------------------------------------ benchmark
    rule("`methods` is a dict from a name to a function; each is called as `fn(*args)`.", TIMING,
         mutants=["benchmark has no warm-up call (the first timed call is checked)"]),
    rule("For each method in order: one untimed call (the warm-up)", TIMING,
         mutants=["benchmark times the warm-up call too",
                  "benchmark has no warm-up call (the first timed call is checked)"]),
    rule("whose result (a Tensor or an ndarray) must have the shape of the first method's result and agree "
         "with it (`np.allclose(..., rtol=1e-4, atol=1e-4)`), otherwise `ValueError` naming the method.", AGREE,
         mutants=["benchmark does not check the methods agree", "benchmark demands bitwise equality"]),
    rule("Then `repeats` calls, each timed on its own: `clock()` just before and just after the call; the "
         "method's time is the median of those `repeats` durations, in seconds.", TIMING,
         mutants=["benchmark reports the mean", "benchmark times the warm-up call too"]),
    rule("It returns `{name: {\"seconds\": time, \"speedup\": time of the first method / time}}`, in the order "
         "of `methods` (the first method's speedup is 1.0).", TIMING, READY,
         mutants=["benchmark inverts the speedup"]),
    rule("Only `clock` is read for timing.", TIMING, READY,
         mutants=["benchmark times with time.perf_counter, not the clock given"]),
    rule("With `show=True` it prints the results with `show_results` once they are measured; with "
         "`show=False` it prints nothing.", PRINTS, mutants=["benchmark prints even with show=False"]),
    rule("An empty `methods` or `repeats < 1` raises `ValueError`.", BENCH_ERRORS,
         mutants=["benchmark accepts repeats=0"]),
    rule("`benchmark_conv2d(...)` draws `x` of shape `(batch, channels, size, size)`, `weight` `(channels, "
         "channels, kernel_size, kernel_size)` and `bias` `(channels,)`, float32, and returns `benchmark(",
         READY, READY_ARGS, mutants=["benchmark_conv2d without padding (the image shrinks)"]),
    rule("`benchmark_matmul(...)` draws `a` and `b` of shape `(n, n)`, float32, and returns `benchmark(",
         READY, READY_ARGS, mutants=["benchmark_matmul tiles with the default tile_size",
                                     "benchmark_matmul does not pass its clock on"]),
    rule("Both print their results with `show_results` (a title naming the sizes) when `show` is true, and "
         "nothing otherwise.", READY,
         why_no_mutant="both delegate to benchmark(..., show=False) and print once; a print ignoring "
                       "show is the benchmark mutant 'benchmark prints even with show=False', which the "
                       "same check of test_the_ready_made_benchmarks catches through them"),
    # ------------------------------------------------------------ conventions
    rule("No function modifies its inputs.", GELU, PRODUCTS, WINDOWS, CONVS,
         mutants=["fused_gelu computes in x's own buffer"]),
    rule("Tiling and im2col change the order of the additions, so float results agree with the slow path to "
         "rounding, not bit for bit; on inputs whose values are small integers every path is exact.", EXACT,
         mutants=["tiled_matmul assigns each inner tile instead of adding it"]),
]

PROSE = [
    "So `im2col(x) @ weight.reshape(O, -1).T` is a convolution's output, one row per output position.",
    "`naive_conv2d` and `shift_add_conv2d` are forward-only baselines.",
    "(`np.multiply(..., out=...)`, `*=`, `+=`, `np.tanh(t, out=t)`)",
    "(its output, plus the copy your `Tensor` may make of it)",
    "The one-line formula peaks near 4 times.",
    "TinyTorch's `tiled_matmul` calls `np.matmul` and leaves the tiles in a comment; here you write the tiles, "
    "because seeing what BLAS does for you is the point.",
    "TinyTorch's `fused_gelu` is the one-line formula, trusting NumPy to fuse it; NumPy allocates a temporary "
    "for every operator, so here fusing means in-place steps into one buffer.",
    "TinyTorch's `Im2colConv2dFunction` has a forward of its own (its `Function` has `apply`); kata 06's "
    "`Function` has only `backward`, so here `im2col` is the recorded operation and the convolution is built "
    "from it with Tensor operations.",
    "Speed is never graded: the tests check that the fast paths are right and that `benchmark` measures what "
    "it says, with a fake clock.",
]
