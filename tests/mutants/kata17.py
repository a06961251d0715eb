"""Plausible wrong solutions of kata 17 (acceleration), each rejected with a message naming the bug."""
from tests.mutants import Mutant

F = "acceleration.py"
M = "test_acceleration_matmul.py::"
I = "test_acceleration_im2col.py::"  # noqa: E741
C = "test_acceleration_conv.py::"
G = "test_acceleration_gelu.py::"
B = "test_acceleration_benchmark.py::"

TILE_LOOPS = '''    for i in range(0, m, tile_size):
        for j in range(0, n, tile_size):
            block = out[i:i + tile_size, j:j + tile_size]  # a view: += writes into out
            for t in range(0, k, tile_size):'''
WARM_UP = '''        value = _values(fn(*args))  # untimed: the warm-up call, and the check'''
TIMES = '''        if first is None:
            first = value
        elif value.shape != first.shape or not np.allclose(value, first, rtol=1e-4, atol=1e-4):
            raise ValueError(f"benchmark: {name!r} does not agree with {next(iter(methods))!r}: "
                             "a faster wrong answer is no speedup")
        times = []
        for _ in range(repeats):
'''
TIMED_WARM_UP = "        start = clock()\n" + WARM_UP + "\n" + TIMES.replace("[]", "[clock() - start]")

MUTANTS = [
    # ------------------------------------------------------------ matrix products
    Mutant(name="naive_matmul accumulates into float64 (np.zeros without dtype)", file=F,
           test=M + "test_products_match_np_matmul[naive_matmul]",
           old="    out = np.zeros((m, n), dtype=np.result_type(A, B))\n    for i in range(m):",
           new="    out = np.zeros((m, n))\n    for i in range(m):",
           expect=r"(?s)wrong dtype.*np\.zeros\(\(M, N\)\) is float64"),
    Mutant(name="naive_matmul keeps the first operand's dtype", file=F,
           test=M + "test_products_follow_numpy_with_mixed_dtypes[naive_matmul]",
           old="    out = np.zeros((m, n), dtype=np.result_type(A, B))\n    for i in range(m):",
           new="    out = np.zeros((m, n), dtype=A.dtype)\n    for i in range(m):",
           expect=r"(?s)wrong dtype.*float32 @ float64 is float64 in NumPy.*not one operand.s dtype"),
    Mutant(name="naive_matmul does not reset the running sum", file=F,
           test=M + "test_products_match_np_matmul[naive_matmul]",
           old="        for j in range(n):\n            acc = 0.0\n",
           new="        acc = 0.0\n        for j in range(n):\n",
           expect=r"the running sum was not reset"),
    Mutant(name="tiled_matmul skips the last partial tile", file=F,
           test=M + "test_products_match_np_matmul[tiled_matmul]",
           old=TILE_LOOPS,
           new=TILE_LOOPS.replace("range(0, m,", "range(0, m - tile_size,")
                         .replace("range(0, n,", "range(0, n - tile_size,")
                         .replace("range(0, k,", "range(0, k - tile_size,"),
           expect=r"the last partial tile was skipped"),
    Mutant(name="tiled_matmul assigns each inner tile instead of adding it", file=F,
           test=M + "test_products_are_exact_on_integer_values[tiled_matmul]",
           old="                block += A[i:i + tile_size, t:t + tile_size]",
           new="                block[...] = A[i:i + tile_size, t:t + tile_size]",
           expect=r"each inner tile overwrote the block instead of adding to it"),
    Mutant(name="tiled_matmul default tile of 32", file=F,
           test=M + "test_tiled_matmul_default_tile_is_64_and_covers_a_partial_tile",
           old="def tiled_matmul(a: Tensor, b: Tensor, tile_size: int = 64)",
           new="def tiled_matmul(a: Tensor, b: Tensor, tile_size: int = 32)",
           expect=r"default tile_size must be 64"),
    Mutant(name="tiled_matmul accepts True as a tile of 1", file=F,
           test=M + "test_tile_size_must_be_a_positive_int[bool]",
           old="    if isinstance(tile_size, bool) or not isinstance(tile_size, (int, np.integer)) or tile_size < 1:",
           new="    if not isinstance(tile_size, (int, np.integer)) or tile_size < 1:",
           expect=r"(?s)tile_size=True\) must raise ValueError.*not a bool"),
    Mutant(name="tiled_matmul does not check the tile's type (a float reaches range)", file=F,
           test=M + "test_tile_size_must_be_a_positive_int[float]",
           old="    if isinstance(tile_size, bool) or not isinstance(tile_size, (int, np.integer)) or tile_size < 1:",
           new="    if tile_size < 1:",
           expect=r"(?s)tile_size=2\.5\) must raise ValueError.*got TypeError"),
    Mutant(name="vectorized_matmul with np.dot (no broadcasting of the batch axes)", file=F,
           test=M + "test_vectorized_matmul_batches_and_broadcasts",
           old="    return Tensor(np.matmul(a.data, b.data))",
           new="    return Tensor(np.dot(a.data, b.data))",
           expect=r"(?s)wrong shape.*np\.dot pairs every matrix of a with every matrix of b"),
    Mutant(name="shape error names neither shape", file=F,
           test=M + "test_mismatched_shapes_raise_value_error[tiled_matmul]",
           old='''        raise ValueError(f"{who}: shapes {a.shape} and {b.shape} do not align "
                         f"({a.shape[-1]} != {b.shape[-2]})")''',
           new='''        raise ValueError(f"{who}: inner dimensions do not align")''',
           expect=r"message must contain \(2, 3\)"),
    # ------------------------------------------------------------ im2col / col2im
    Mutant(name="im2col columns in (kernel offset, channel) order", file=F,
           test=I + "test_im2col_holds_every_window",
           old="cols = windows.transpose(0, 2, 3, 1, 4, 5)", new="cols = windows.transpose(0, 2, 3, 4, 5, 1)",
           expect=r"columns are in \(kernel row, kernel column, channel\) order"),
    Mutant(name="im2col rows in (position, image) order", file=F,
           test=I + "test_im2col_holds_every_window",
           old="cols = windows.transpose(0, 2, 3, 1, 4, 5)", new="cols = windows.transpose(2, 3, 0, 1, 4, 5)",
           expect=r"the rows are in the wrong order"),
    Mutant(name="im2col returns the transpose (C*kh*kw, N*Ho*Wo)", file=F,
           test=I + "test_im2col_holds_every_window",
           old="    return record(Tensor(cols), Im2colFunction,", new="    return record(Tensor(cols.T), Im2colFunction,",
           expect=r"(?s)wrong shape.*not the transpose"),
    Mutant(name="im2col not recorded (a plain Tensor)", file=F,
           test=I + "test_im2col_is_recorded_and_its_gradient_is_col2im",
           old="    return record(Tensor(cols), Im2colFunction, (x,), kernel_size=k, stride=s, padding=p)",
           new="    return Tensor(cols)",
           expect=r"must record one Im2colFunction node"),
    Mutant(name="col2im overwrites overlapping windows instead of adding", file=F,
           test=I + "test_col2im_adds_every_entry_back_where_it_came_from",
           old="j:j + s[1] * wo:s[1]] += per_offset[:, :, i, j]", new="j:j + s[1] * wo:s[1]] = per_offset[:, :, i, j]",
           expect=r"overlapping windows overwrote each other"),
    Mutant(name="col2im keeps the padding", file=F,
           test=I + "test_col2im_adds_every_entry_back_where_it_came_from",
           old="    return Tensor(out[:, :, p[0]:p[0] + h, p[1]:p[1] + w].copy())", new="    return Tensor(out)",
           expect=r"(?s)wrong shape.*cut the padding off"),
    Mutant(name="col2im cuts the padding off one side only", file=F,
           test=I + "test_col2im_is_the_adjoint_of_im2col",
           old="    return Tensor(out[:, :, p[0]:p[0] + h, p[1]:p[1] + w].copy())",
           new="    return Tensor(out[:, :, :h, :w].copy())",
           expect=r"<im2col\(x\), y> must equal <x, col2im\(y\)>"),
    Mutant(name="col2im does not check the shape of cols", file=F,
           test=I + "test_im2col_and_col2im_errors",
           old='''    if data.shape != expected:
        raise''', new='''    if False:
        raise''',
           expect=r"(?s)col2im of cols \(5, 18\).*must contain \(5, 18\)"),
    Mutant(name="col2im checks only the number of entries of cols", file=F,
           test=I + "test_im2col_and_col2im_errors",
           old='''    if data.shape != expected:
        raise''', new='''    if data.size != int(np.prod(expected)):
        raise''',
           expect=r"(?s)col2im of cols \(8, 9\).*must raise ValueError.*not only its size"),
    # ------------------------------------------------------------ convolutions
    Mutant(name="naive_conv2d flips the kernel (a true convolution)", file=F,
           test=C + "test_convolutions_equal_your_conv2d[naive_conv2d]",
           old="acc += xp[n, c, y * sh + i, xx * sw + j] * w[o, c, i, j]",
           new="acc += xp[n, c, y * sh + i, xx * sw + j] * w[o, c, kh - 1 - i, kw - 1 - j]",
           expect=r"the kernel was flipped"),
    Mutant(name="naive_conv2d output in float64", file=F,
           test=C + "test_convolutions_equal_your_conv2d[naive_conv2d]",
           old="    out = np.zeros((x.shape[0], o_ch, ho, wo), dtype=np.result_type(xp, w))\n    for n in range",
           new="    out = np.zeros((x.shape[0], o_ch, ho, wo))\n    for n in range",
           expect=r"(?s)wrong dtype.*np\.zeros\(shape\) is float64"),
    Mutant(name="shift_add_conv2d forgets the bias", file=F,
           test=C + "test_convolutions_equal_your_conv2d[shift_add_conv2d]",
           old="        out += bias.data.reshape(1, o_ch, 1, 1)\n", new="        pass\n",
           expect=r"the bias is missing"),
    Mutant(name="im2col_conv2d reshapes (N*Ho*Wo, O) straight to (N, O, Ho, Wo)", file=F,
           test=C + "test_convolutions_equal_your_conv2d[im2col_conv2d]",
           old="    return out.reshape(x.shape[0], ho, wo, o_ch).transpose(1, 3).transpose(2, 3)",
           new="    return out.reshape(x.shape[0], o_ch, ho, wo)",
           expect=r"the output's axes are mixed up"),
    Mutant(name="im2col_conv2d multiplies im2col's .data (the graph is cut)", file=F,
           test=C + "test_im2col_conv2d_gradients_equal_your_conv2d",
           old="    cols = im2col(x, (kh, kw), stride, padding)\n",
           new="    cols = Tensor(im2col(x, (kh, kw), stride, padding).data)\n",
           expect=r"x received no gradient"),
    Mutant(name="im2col_conv2d multiplies by weight.data (the weight gets no gradient)", file=F,
           test=C + "test_im2col_conv2d_gradients_equal_your_conv2d",
           old="    out = cols @ weight.reshape(o_ch, c_ch * kh * kw).transpose()",
           new="    out = cols @ Tensor(weight.data.reshape(o_ch, c_ch * kh * kw).T)",
           expect=r"weight received no gradient"),
    Mutant(name="Im2colFunction.backward overwrites overlapping windows", file=F,
           test=I + "test_im2col_is_recorded_and_its_gradient_is_col2im",
           old='''        return (col2im(grad, self.inputs[0].shape, self.kernel_size, self.stride,
                       self.padding).data,)''',
           new='''        shape, (kh, kw), (sh, sw), (ph, pw) = self.inputs[0].shape, self.kernel_size, self.stride, self.padding
        n, c, h, w = shape
        ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        per = np.asarray(grad).reshape(n, ho, wo, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
        out = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
        for i in range(kh):
            for j in range(kw):
                out[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] = per[:, :, i, j]
        return (out[:, :, ph:ph + h, pw:pw + w],)''',
           expect=r"overlapping windows overwrote each other: their gradients ADD UP"),
    Mutant(name="convolutions do not compare the channel counts", file=F,
           test=C + "test_convolution_errors[naive_conv2d]",
           old='''    if x.shape[1] != weight.shape[1]:
        raise''', new='''    if False:
        raise''',
           expect=r"(?s)2 channels and a weight for 3 must raise ValueError.*x\.shape\[1\] == weight\.shape\[1\]"),
    # ------------------------------------------------------------ fused GELU
    Mutant(name="fused_gelu is the exact (erf) GELU", file=F,
           test=G + "test_fused_gelu_equals_your_gelu",
           old="    return record(Tensor(out), FusedGELUFunction, (x,))",
           new=("    out = (0.5 * z * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))).astype(z.dtype)\n"
                "    return record(Tensor(out), FusedGELUFunction, (x,))"),
           expect=r"that is the exact \(erf\) GELU"),
    Mutant(name="fused_gelu allocates its buffer in float64", file=F,
           test=G + "test_fused_gelu_equals_your_gelu",
           old="    out = np.empty_like(z)  # the one allocation", new="    out = np.empty(z.shape)  # the one allocation",
           expect=r"(?s)wrong dtype.*np\.empty_like\(x\.data\) keeps x's dtype"),
    Mutant(name="fused_gelu computes in x's own buffer", file=F,
           test=G + "test_fused_gelu_equals_your_gelu",
           old="    out = np.empty_like(z)  # the one allocation; everything after writes into it\n"
               "    np.multiply(z, z, out=out)\n    out *= z\n",
           new="    out = z\n    np.multiply(z, z, out=out)\n",
           expect=r"modified x"),
    Mutant(name="fused_gelu as a one-line NumPy formula (temporaries)", file=F,
           test=G + "test_fused_gelu_computes_in_one_buffer[float32]",
           old="    return record(Tensor(out), FusedGELUFunction, (x,))",
           new=("    out = 0.5 * z * (1.0 + np.tanh(SQRT_2_OVER_PI * (z + CUBIC * z * z * z)))\n"
                "    return record(Tensor(out), FusedGELUFunction, (x,))"),
           expect=r"allocated too much memory"),
    Mutant(name="fused_gelu not recorded (a plain Tensor)", file=F,
           test=G + "test_fused_gelu_records_one_node",
           old="    return record(Tensor(out), FusedGELUFunction, (x,))",
           new="    return Tensor(out)",
           expect=r"must record one FusedGELUFunction node"),
    Mutant(name="FusedGELUFunction.backward forgets the 3 of d(x^3)/dx", file=F,
           test=G + "test_fused_gelu_gradient_equals_your_gelus",
           old="(1.0 + 3 * CUBIC * x * x)", new="(1.0 + CUBIC * x * x)",
           expect=r"the gradient of x \(expected: your GELU's\)"),
    # ------------------------------------------------------------ benchmark
    Mutant(name="benchmark reports the mean", file=F,
           test=B + "test_benchmark_times_each_method_after_one_untimed_call[3]",
           old="        seconds = float(np.median(times))", new="        seconds = float(np.mean(times))",
           expect=r"that is the mean: use the median"),
    Mutant(name="benchmark times the warm-up call too", file=F,
           test=B + "test_benchmark_times_each_method_after_one_untimed_call[3]",
           old=WARM_UP + "\n" + TIMES, new=TIMED_WARM_UP,
           expect=r"the warm-up call was timed too"),
    Mutant(name="benchmark has no warm-up call (the first timed call is checked)", file=F,
           test=B + "test_benchmark_times_each_method_after_one_untimed_call[3]",
           old=WARM_UP + "\n" + TIMES, new=TIMED_WARM_UP.replace("range(repeats)", "range(repeats - 1)"),
           expect=r"there was no untimed warm-up call"),
    Mutant(name="benchmark inverts the speedup", file=F,
           test=B + "test_benchmark_times_each_method_after_one_untimed_call[3]",
           old='results[name] = {"seconds": seconds, "speedup": baseline / seconds}',
           new='results[name] = {"seconds": seconds, "speedup": seconds / baseline}',
           expect=r"the speedup is inverted"),
    Mutant(name="benchmark does not check the methods agree", file=F,
           test=B + "test_benchmark_checks_every_method_against_the_first",
           old="        elif value.shape != first.shape or not np.allclose(value, first, rtol=1e-4, atol=1e-4):",
           new="        elif False:",
           expect=r"(?s)must raise ValueError.*a faster wrong answer is no speedup"),
    Mutant(name="benchmark demands bitwise equality", file=F,
           test=B + "test_benchmark_checks_every_method_against_the_first",
           old="not np.allclose(value, first, rtol=1e-4, atol=1e-4)", new="not np.array_equal(value, first)",
           expect=r"a result within rounding \(1e-6 relative\) must be accepted"),
    Mutant(name="benchmark prints even with show=False", file=F,
           test=B + "test_benchmark_prints_only_when_asked",
           old='''    if show:
        show_results(results, "")''', new='''    show_results(results, "")''',
           expect=r"show=False\) must print nothing"),
    Mutant(name="benchmark accepts repeats=0", file=F, test=B + "test_benchmark_errors",
           old='''    if repeats < 1:
        raise''', new='''    if repeats < 0:
        raise''',
           expect=r"repeats=0\) must raise ValueError"),
    Mutant(name="benchmark_matmul does not pass its clock on", file=F,
           test=B + "test_the_ready_made_benchmarks[matmul]",
           old="    results = benchmark(methods, a, b, repeats=repeats, clock=clock, show=False)",
           new="    results = benchmark(methods, a, b, repeats=repeats, show=False)",
           expect=r"(?s)must read the clock twice per timed call.*pass repeats and clock on"),
    Mutant(name="benchmark_conv2d without padding (the image shrinks)", file=F,
           test=B + "test_the_ready_made_benchmarks_pass_their_sizes_on[conv2d]",
           old="    results = benchmark(methods, x, w, b, 1, kernel_size // 2,",
           new="    results = benchmark(methods, x, w, b, 1, 0,",
           expect=r"(?s)stride 1 and padding kernel_size // 2 = 1.*'same' padding"),
    Mutant(name="benchmark_matmul tiles with the default tile_size", file=F,
           test=B + "test_the_ready_made_benchmarks_pass_their_sizes_on[matmul]",
           old='''"tiled": lambda p, q: tiled_matmul(p, q, tile_size),''',
           new='''"tiled": tiled_matmul,''',
           expect=r"(?s)tiled_matmul must be called with tile_size=2.*pass tile_size on"),
    Mutant(name="benchmark times with time.perf_counter, not the clock given", file=F,
           test=B + "test_benchmark_times_each_method_after_one_untimed_call[3]",
           old="""            start = clock()
            fn(*args)
            times.append(clock() - start)""",
           new="""            start = time.perf_counter()
            fn(*args)
            times.append(time.perf_counter() - start)""",
           expect=r"(?s)never read the clock it was given.*never time\.perf_counter directly"),
]
