"""Kata 09 (convolutions): README rule -> hidden tests that enforce it -> mutants that prove it."""
from tests.rules import rule

C = "test_spatial_conv.py::"
P = "test_spatial_pool.py::"
B = "test_spatial_batchnorm.py::"
A = "test_spatial_api.py::"

SECTIONS = ["The API", "Conventions"]

CONV_ATTRS = A + "test_conv2d_parameters_and_attributes"
ORACLE = C + "test_conv2d_matches_the_loop_oracle"
CONV_GRADS = C + "test_conv2d_gradients_match_the_exact_gradients"
DTYPES = A + "test_layers_keep_the_input_dtype_and_leave_the_input_unchanged"
ERRORS = A + "test_invalid_uses_raise_value_error"
BN_INIT = B + "test_batchnorm2d_starts_with_identity_parameters_and_neutral_statistics"
POOL_DEFAULT = P + "test_pool_stride_defaults_to_the_kernel_size"

RULES = [
    # ------------------------------------------------------------ the API block
    rule("class Conv2d(Layer):", CONV_ATTRS, A + "test_layers_work_inside_a_sequential",
         mutants=["Conv2d is not a Layer (TinyTorch's)"]),
    rule("def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True)",
         CONV_ATTRS, mutants=["Conv2d pads by default"]),
    rule("in_channels, out_channels: int # as given", CONV_ATTRS,
         why_no_mutant="storing two given ints has no plausible wrong variant a one-snippet change "
                       "can make without breaking forward too (a renamed attribute is read in "
                       "several places); the test reads both attributes back"),
    rule("kernel_size, stride, padding: tuple[int, int] # (height, width): an int n is stored as (n, n)",
         CONV_ATTRS, POOL_DEFAULT, mutants=["pairs stored as given (a list stays a list)"]),
    rule("weight: Tensor # (out_channels, in_channels, kh, kw), float32, requires_grad=True",
         CONV_ATTRS, ORACLE, mutants=["Conv2d weight float64"]),
    rule("bias: Tensor or None # (out_channels,), float32 zeros, requires_grad=True; None if bias=False",
         CONV_ATTRS, mutants=["Conv2d bias drawn like the weight (PyTorch's)", "Conv2d ignores bias=False"]),
    rule("forward(x) -> Tensor # (N, in_channels, H, W) -> (N, out_channels, Ho, Wo)", ORACLE,
         C + "test_conv2d_output_size_formula", mutants=["bias not added"]),
    rule("class MaxPool2d(Layer):", A + "test_layers_work_inside_a_sequential",
         mutants=["pools are not Layers (TinyTorch's)"]),
    rule("def __init__(self, kernel_size, stride=None, padding=0)", POOL_DEFAULT,
         mutants=["max pool stride defaults to 1"]),
    rule("kernel_size, stride, padding: tuple[int, int] # stride=None means stride = kernel_size",
         POOL_DEFAULT, mutants=["max pool stride defaults to 1"]),
    rule("forward(x) -> Tensor # (N, C, H, W) -> (N, C, Ho, Wo)", P + "test_maxpool2d_matches_the_loop_oracle",
         P + "test_pool_output_size_formula", mutants=["max pool pads with zeros"]),
    rule("class AvgPool2d(Layer):", A + "test_layers_work_inside_a_sequential",
         P + "test_avgpool2d_matches_the_loop_oracle",
         why_no_mutant="the same Layer base as MaxPool2d, whose mutant proves the check; a pool "
                       "that is not a Layer fails the same test by the same assertion"),
    rule("def __init__(self, kernel_size, stride=None, padding=0) # the same attributes as MaxPool2d",
         POOL_DEFAULT, mutants=["average pool stride defaults to 1"]),
    rule("forward(x) -> Tensor", P + "test_avgpool2d_matches_the_loop_oracle", A + "test_flatten_joins_every_axis_but_the_first",
         mutants=["average pool leaves the padding out of the mean"]),
    rule("class BatchNorm2d(Layer):", BN_INIT, mutants=["BatchNorm2d is not a Layer (TinyTorch's)"]),
    rule("def __init__(self, num_features, eps=1e-5, momentum=0.1)", BN_INIT,
         mutants=["BatchNorm momentum default 0.9 (Keras's convention)"]),
    rule("num_features: int; eps, momentum: as given", BN_INIT, B + "test_batchnorm2d_training_output_uses_batch_statistics",
         mutants=["BatchNorm ignores the eps given"]),
    rule("gamma: Tensor # (num_features,), float32 ones, requires_grad=True", BN_INIT,
         mutants=["BatchNorm gamma starts at zeros", "BatchNorm gets gamma and beta the wrong way round"]),
    rule("beta: Tensor # (num_features,), float32 zeros, requires_grad=True", BN_INIT,
         mutants=["BatchNorm gets gamma and beta the wrong way round"]),
    rule("running_mean: np.ndarray # (num_features,), float32, starts at zeros", BN_INIT,
         B + "test_batchnorm2d_running_statistics_follow_the_momentum_average",
         mutants=["running statistics turn float64"]),
    rule("running_var: np.ndarray # (num_features,), float32, starts at ones", BN_INIT,
         mutants=["BatchNorm running variance starts at zeros"]),
    rule("forward(x) -> Tensor # (N, num_features, H, W) -> the same shape",
         B + "test_batchnorm2d_training_output_uses_batch_statistics",
         mutants=["BatchNorm normalizes with the unbiased variance"]),
    rule("class Flatten(Layer):", A + "test_layers_work_inside_a_sequential",
         A + "test_flatten_joins_every_axis_but_the_first",
         why_no_mutant="Flatten needs no __init__, so only its base class can differ, and a Flatten "
                       "that is not a Layer still flattens; the Sequential test checks the base"),
    rule("forward(x) -> Tensor # (N, d1, ..., dk) -> (N, d1 * ... * dk)",
         A + "test_flatten_joins_every_axis_but_the_first", mutants=["Flatten merges the batch axis"]),
    rule("class Conv2dFn(Function) # one kata 06 Function per op: its backward beside its forward",
         C + "test_conv2d_records_one_node_with_its_inputs", mutants=["Conv2d output not recorded (a new Tensor)"]),
    rule("class MaxPool2dFn(Function)", P + "test_pools_record_one_node_with_their_input",
         mutants=["max pool records a copy of its input (graph cut)"]),
    rule("class AvgPool2dFn(Function)", P + "test_pools_record_one_node_with_their_input",
         mutants=["average pool records a copy of its input (graph cut)"]),
    rule("class BatchNorm2dFn(Function)", B + "test_batchnorm2d_records_one_node_with_its_inputs",
         mutants=["BatchNorm records a copy of its input (graph cut)"]),
    # ------------------------------------------------------------ every layer
    rule("Each class is a subclass of kata 03's `Layer` and calls `super().__init__()`",
         A + "test_layers_work_inside_a_sequential", CONV_ATTRS, BN_INIT,
         mutants=["pools are not Layers (TinyTorch's)", "Conv2d is not a Layer (TinyTorch's)",
                  "BatchNorm2d is not a Layer (TinyTorch's)"]),
    rule("The forward of `Conv2d`, both pools and `BatchNorm2d` computes its result with NumPy",
         C + "test_conv2d_records_one_node_with_its_inputs", P + "test_pools_record_one_node_with_their_input",
         B + "test_batchnorm2d_records_one_node_with_its_inputs",
         mutants=["Conv2d output not recorded (a new Tensor)", "Conv2d records a copy of its weight",
                  "max pool records a copy of its input (graph cut)",
                  "BatchNorm records a copy of its input (graph cut)"]),
    rule("Its `backward(grad)` returns one gradient per input.", C + "test_conv2d_records_one_node_with_its_inputs",
         P + "test_pools_record_one_node_with_their_input", B + "test_batchnorm2d_records_one_node_with_its_inputs",
         mutants=["Conv2dFn.backward returns a bias gradient without a bias"]),
    rule("A layer may be used more than once in one graph (one `Conv2d` applied to two inputs): each call's "
         "backward works from that call's own data.", C + "test_conv2d_fan_in_one_conv_applied_to_two_inputs",
         C + "test_conv2d_fan_in_same_input_through_two_convs",
         mutants=["im2col matrix kept on the Function class (shared by every call)"]),
    rule("`Flatten` is built from `Tensor.reshape` and needs no Function of its own.",
         A + "test_flatten_joins_every_axis_but_the_first", mutants=["Flatten re-wraps .data (graph cut)"]),
    rule("dtypes: the parameters are float32; a float32 input gives a float32 output and a float64 input "
         "a float64 output", DTYPES, CONV_ATTRS, mutants=["Conv2d casts its output to float32", "Conv2d weight float64"]),
    rule("Nothing casts `x`.", DTYPES, mutants=["Conv2d casts x to float32"]),
    rule("No layer modifies its input.", DTYPES, mutants=["BatchNorm normalizes its input in place"]),
    rule("Errors, all `ValueError`: an input that is not 4-D (to any layer but `Flatten`), with its shape in "
         "the message; a channel count other than `in_channels` (`Conv2d`) or `num_features` (`BatchNorm2d`), "
         "with both counts in the message; a kernel larger than the padded input (`Conv2d` and the pools).",
         ERRORS, A + "test_valid_edge_uses_do_not_raise",
         mutants=["input rank not checked", "Conv2d without a channel check"]),
    # ------------------------------------------------------------ Conv2d
    rule("`weight` is drawn uniformly in `[-k, k]` with `k = 1 / sqrt(in_channels * kh * kw)` from `np.random`",
         A + "test_conv2d_init_is_uniform_within_one_over_sqrt_fan_in",
         mutants=["init from He's normal law", "init bound from in_channels only", "init too narrow (1 / fan_in)"]),
    rule("so `np.random.seed(s)` reproduces it; `bias` starts at zero.",
         A + "test_conv2d_init_is_reproducible_with_np_random_seed", CONV_ATTRS,
         mutants=["init from a private generator seeded at import (TinyTorch's)",
                  "Conv2d bias drawn like the weight (PyTorch's)"]),
    rule("`out[n, o, y, x] = bias[o] + sum over c, i, j of xp[n, c, y*sh + i, x*sw + j] * weight[o, c, i, j]`",
         ORACLE, C + "test_conv2d_is_translation_equivariant", C + "test_conv2d_delta_kernel_copies_its_input",
         CONV_GRADS, C + "test_conv2d_gradients_match_finite_differences",
         mutants=["bias not added", "stride pair read (width, height)",
                  "output rows and columns swapped (im2col rows in (x, y) order)",
                  # its backward is the gradient of this sum: summed over the batch and positions
                  "weight gradient averaged over the batch", "bias gradient averaged",
                  "bias gradient from the first sample only"]),
    rule("With `xp` the input padded by `ph` rows of zeros above and below and `pw` columns of zeros left and right",
         C + "test_conv2d_output_size_formula", ORACLE, mutants=["padding ignored", "padding on one side only"]),
    # ------------------------------------------------------------ output size
    rule("`Ho = floor((H + 2*ph - kh) / sh) + 1` and `Wo = floor((W + 2*pw - kw) / sw) + 1`, for `Conv2d` and "
         "both pools alike", C + "test_conv2d_output_size_formula", P + "test_pool_output_size_formula",
         mutants=["output size without the +1", "padding ignored", "padding on one side only"]),
    # ------------------------------------------------------------ pools
    rule("`MaxPool2d`: `out[n, c, y, x]` is the maximum of the window", P + "test_maxpool2d_matches_the_loop_oracle",
         mutants=["max pool pads with zeros"]),
    rule("`AvgPool2d`: the mean of the same window over all `kh * kw` cells, padding cells (zeros) included",
         P + "test_avgpool2d_matches_the_loop_oracle", P + "test_avgpool2d_gradient_is_shared_over_each_window",
         mutants=["average pool leaves the padding out of the mean",
                  "average pool gradient not divided by the window size"]),
    rule("`padding` may be at most half the kernel size along each axis", ERRORS, A + "test_valid_edge_uses_do_not_raise",
         mutants=["pool padding limit not checked", "pool padding limit off by one (half the kernel refused)"]),
    # ------------------------------------------------------------ BatchNorm2d
    rule("Training mode: per channel, `mean` and `var` over the `n = N * H * W` values of the batch, `var` the "
         "biased variance", B + "test_batchnorm2d_training_output_uses_batch_statistics",
         mutants=["BatchNorm normalizes with the unbiased variance", "BatchNorm eps outside the square root",
                  "BatchNorm ignores the eps given"]),
    rule("Each training-mode call also updates, per channel,",
         B + "test_batchnorm2d_running_statistics_follow_the_momentum_average",
         mutants=["running variance averages the biased variance (TinyTorch's)",
                  "running statistics with the momentum reversed"]),
    rule("The running statistics stay float32 arrays of shape `(num_features,)`.",
         B + "test_batchnorm2d_running_statistics_follow_the_momentum_average", BN_INIT,
         mutants=["running statistics turn float64"]),
    rule("Eval mode: the same formula with `running_mean` and `running_var` in place of the batch's",
         B + "test_batchnorm2d_eval_mode_uses_the_running_statistics",
         mutants=["BatchNorm uses the batch statistics in eval mode",
                  "BatchNorm updates the running statistics in eval mode"]),
    rule("Training mode with `n = 1` (one value per channel) raises `ValueError`", ERRORS,
         A + "test_valid_edge_uses_do_not_raise", mutants=["BatchNorm accepts one value per channel in training"]),
    # ------------------------------------------------------------ Flatten
    rule("`Flatten()(x)` equals `x.reshape(N, -1)`", A + "test_flatten_joins_every_axis_but_the_first",
         mutants=["Flatten merges the batch axis", "Flatten re-wraps .data (graph cut)"]),
    # ------------------------------------------------------------ conventions
    rule("Cross-correlation, as PyTorch's `Conv2d`: the kernel is not flipped.", ORACLE,
         C + "test_conv2d_delta_kernel_copies_its_input", CONV_GRADS,
         mutants=["kernel flipped in forward (a true convolution), not in backward",
                  "kernel flipped in backward only", "weight gradient flipped"]),
    rule("Kernel offset `(i, j)` multiplies the input `i` rows below and `j` columns right",
         C + "test_conv2d_delta_kernel_copies_its_input", ORACLE,
         mutants=["kernel flipped in forward (a true convolution), not in backward"]),
    rule("Max-pool ties: the whole gradient of a window goes to its first maximum in row-major order",
         P + "test_maxpool2d_ties_send_the_gradient_to_the_first_maximum",
         P + "test_maxpool2d_gradient_goes_to_each_windows_maximum",
         P + "test_maxpool2d_gradient_matches_finite_differences",
         mutants=["max pool tie goes to the last maximum", "max pool gradient spread over the window",
                  "max pool winner decoded with the kernel height"]),
    rule("Where windows overlap (stride smaller than the kernel), the gradients that different windows send "
         "to one input element add up", CONV_GRADS, C + "test_conv2d_gradients_match_finite_differences",
         P + "test_maxpool2d_gradient_goes_to_each_windows_maximum", P + "test_avgpool2d_gradient_is_shared_over_each_window",
         mutants=["overlapping windows: input gradient assigned, not added", "input gradient keeps the padding"]),
    rule("`BatchNorm2d` gradients in training mode include the dependence of the batch mean and variance on `x`",
         B + "test_batchnorm2d_gradients_match_the_exact_gradients", B + "test_batchnorm2d_gradients_match_finite_differences",
         mutants=["BatchNorm backward treats the batch statistics as constants"]),
    rule("`gamma` and `beta` get their gradients summed over `N`, `H` and `W`.",
         B + "test_batchnorm2d_gradients_match_the_exact_gradients", mutants=["BatchNorm gamma gradient averaged"]),
]

PROSE = [
    "`x` is a Tensor.",
    "This is `Linear`'s law with the fan-in of one output (PyTorch's default for conv weights).",
    "(TinyTorch draws He-normal weights from a private generator seeded at import",
    "(TinyTorch averages the biased one, so its running statistics and eval outputs differ from PyTorch's.)",
    "(Kata 06's `Tensor.max` splits a tie equally; a pool keeps one index per window instead.)",
]
