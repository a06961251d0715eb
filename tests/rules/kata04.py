"""Kata 04 (losses): README rule -> hidden tests that enforce it -> mutants that prove it."""
from tests.rules import rule

A = "test_losses_api.py::"
L = "test_losses_log_softmax.py::"
M = "test_losses_mse.py::"
C = "test_losses_cross_entropy.py::"
B = "test_losses_bce.py::"

SECTIONS = ["API", "Numerical conventions"]

RULES = [
    rule("from tinytorch.core.losses import log_softmax, MSELoss, CrossEntropyLoss, BinaryCrossEntropyLoss",
         L + "test_log_softmax_comes_from_your_kata", M + "test_mse_comes_from_your_kata",
         C + "test_cross_entropy_comes_from_your_kata", B + "test_bce_comes_from_your_kata",
         why_no_mutant="the names come with the stub; a solution that renames one fails to "
                       "import, which the plugin reports for every test of the kata "
                       "(tests/test_plugin.py proves that path)"),
    rule("targets may also be NumPy arrays of any dtype (float32, float64, integers)",
         M + "test_mse_matches_numpy", B + "test_bce_matches_numpy",
         C + "test_cross_entropy_accepts_tensor_and_other_integer_targets",
         mutants=["MSE casts only float64 targets (integer targets promote)",
                  "BCE casts only floating targets (integer targets promote)"]),
    rule("for predictions of shape `()`, NumPy scalars (`np.float64(0.5)`, `np.int64(1)`)",
         A + "test_a_single_prediction_with_a_numpy_scalar_target",
         mutants=["MSE casts only ndarray and Tensor targets (NumPy scalars promote)"]),
    rule("Nothing mutates its inputs.", A + "test_loss_does_not_change_its_inputs",
         A + "test_log_softmax_does_not_change_its_input",
         mutants=["log_softmax shifts its input in place", "BCE clips the predictions in place"]),
    rule("Each loss is a class with `forward(predictions, targets)` and `__call__(self, *args)` "
         "returning `self.forward(*args)`", A + "test_loss_call_goes_through_forward",
         mutants=["MSE __call__ bypasses forward"]),
    rule("A loss returns a Tensor of shape `()` (a 0-d tensor: `loss.shape == ()`)",
         C + "test_cross_entropy_matches_numpy", M + "test_mse_matches_numpy",
         mutants=["cross-entropy returns shape (1,)"]),
    rule("the mean over the batch", C + "test_cross_entropy_is_a_mean_over_the_batch",
         C + "test_cross_entropy_accepts_tensor_and_other_integer_targets",
         M + "test_mse_comes_from_your_kata",
         mutants=["cross-entropy sums over the batch", "MSE sums instead of averaging"]),
    rule("with the dtype of the predictions (float32 in, float32 out; float64 in, float64 out",
         M + "test_mse_matches_numpy", B + "test_bce_comes_from_your_kata",
         C + "test_cross_entropy_matches_numpy",
         mutants=["MSE leaks float64 from the targets", "BCE leaks float64 from the targets",
                  "cross-entropy through a float64 one-hot matrix"]),
    rule("float64 targets must not promote float32 predictions, and float32 or integer targets "
         "must not demote float64 ones", M + "test_mse_matches_numpy",
         mutants=["MSE casts the predictions to the targets' dtype",
                  "MSE returns a Python float (float64 lost)"]),
    rule("`log_softmax(x)_i = x_i - log(sum_j exp(x_j))`", L + "test_log_softmax_matches_numpy",
         L + "test_log_softmax_equals_log_of_your_softmax",
         mutants=["log_softmax forgets the log-sum-exp"]),
    rule("the sums running along axis `dim`", L + "test_exp_of_log_softmax_sums_to_one_along_dim",
         L + "test_log_softmax_is_shift_invariant",
         mutants=["log_softmax sums over the last axis whatever dim is"]),
    rule("negative `dim` counts from the end, as in NumPy", L + "test_log_softmax_matches_numpy",
         mutants=["log_softmax off by one for negative dims"]),
    rule("Same shape and dtype as `x`.", L + "test_log_softmax_matches_numpy",
         mutants=["log_softmax sums in float64 (float64 leak)"]),
    rule("Stable: finite, with no NaN, no inf and no overflow/divide/invalid warning from NumPy, "
         "for logits as large as `+1000` or as small as `-1000`",
         L + "test_log_softmax_is_stable_at_huge_logits", C + "test_cross_entropy_is_stable_at_huge_logits",
         mutants=["log_softmax without max subtraction", "log_softmax takes the log of the softmax"]),
    rule("`mean((predictions - targets) ** 2)` over every element", M + "test_mse_comes_from_your_kata",
         M + "test_mse_matches_numpy", M + "test_mse_is_zero_exactly_when_equal", M + "test_mse_is_symmetric",
         mutants=["MSE is the mean absolute error", "MSE sums instead of averaging"]),
    rule("`targets` is a Tensor or an ndarray of the same shape as `predictions`; a different shape "
         "raises `ValueError` (no silent broadcasting)", M + "test_mse_rejects_different_shapes",
         mutants=["MSE broadcasts mismatched shapes"]),
    rule("also when the two shapes have the same number of axes or the same size",
         M + "test_mse_rejects_different_shapes",
         mutants=["MSE checks only the number of dimensions", "MSE compares sizes, then flattens"]),
    rule("`logits` is a Tensor `(N, C)` of raw scores (not probabilities)",
         C + "test_cross_entropy_accepts_tensor_and_other_integer_targets",
         mutants=["cross-entropy on raw logits"]),
    rule("`targets` holds `N` integer class indices, as an ndarray (any integer dtype) or a Tensor "
         "(whose data is float32: cast it to int)",
         C + "test_cross_entropy_accepts_tensor_and_other_integer_targets",
         mutants=["cross-entropy does not cast Tensor targets to int"]),
    rule("Loss = `mean over n of -log_softmax(logits)[n, targets[n]]`.",
         C + "test_cross_entropy_matches_numpy", C + "test_cross_entropy_is_never_negative",
         C + "test_cross_entropy_is_shift_invariant",
         C + "test_cross_entropy_accepts_tensor_and_other_integer_targets",
         mutants=["cross-entropy indexes logits[:, targets]",
                  "cross-entropy uses the probability, not its log"]),
    rule("Stable for logits of `+-1000` (use your `log_softmax`).",
         C + "test_cross_entropy_is_stable_at_huge_logits",
         mutants=["log_softmax without max subtraction"]),
    rule("A target outside `[0, C)` (including a negative one) raises `ValueError`.",
         C + "test_cross_entropy_rejects_out_of_range_targets",
         mutants=["cross-entropy lets negative targets wrap around"]),
    rule("`targets` of any shape other than `(N,)`", C + "test_cross_entropy_rejects_targets_of_the_wrong_shape",
         mutants=["cross-entropy without a targets shape check",
                  "cross-entropy checks only that targets are 1-D"]),
    rule("`predictions` are probabilities in `[0, 1]` (the output of a sigmoid), `targets` are in "
         "`[0, 1]` (hard 0/1 labels or soft labels)", B + "test_bce_matches_numpy",
         B + "test_bce_clips_near_0_and_1_at_exactly_1e_minus_7",
         mutants=["BCE terms swapped"]),
    rule("a different shape raises `ValueError`, as for `MSELoss`", B + "test_bce_rejects_different_shapes",
         mutants=["BCE broadcasts mismatched shapes"]),
    rule("Predictions are first clipped to `[1e-7, 1 - 1e-7]` (exactly these bounds",
         B + "test_bce_clips_near_0_and_1_at_exactly_1e_minus_7",
         B + "test_bce_is_finite_at_predictions_of_exactly_0_and_1",
         mutants=["BCE clips with a smaller epsilon", "BCE clips only the lower bound"]),
    rule("then loss = `mean(-(t * log(p) + (1 - t) * log(1 - p)))` over every element",
         B + "test_bce_clips_near_0_and_1_at_exactly_1e_minus_7", B + "test_bce_matches_numpy",
         mutants=["BCE sign flipped", "BCE terms swapped"]),
    rule("A prediction exactly at a bound, or between the bounds, is used as it is.",
         B + "test_bce_clips_near_0_and_1_at_exactly_1e_minus_7",
         mutants=["BCE adds EPS inside the logs instead of clipping"]),
    rule("Finite, and without a NumPy warning, at predictions of exactly 0 and 1.",
         B + "test_bce_is_finite_at_predictions_of_exactly_0_and_1",
         B + "test_bce_is_finite_at_predictions_of_exactly_0_and_1_in_float32",
         mutants=["BCE without clipping"]),
    rule("Values are compared with NumPy computed in float64", M + "test_mse_matches_numpy",
         mutants=["MSE rounds ndarray targets to float32"]),
    rule("At logits of `+-1000` (float32) a result may also be off by a few float32 units in the "
         "last place of the logits' magnitude", L + "test_log_softmax_is_stable_at_huge_logits",
         C + "test_cross_entropy_is_stable_at_huge_logits",
         why_no_mutant="a tolerance granted, not a duty: tests/alternatives/04_losses follows the "
                       "hint literally (x - (m + log s)), is off by about half an ulp of 1000 "
                       "there, and must pass"),
    rule("A failure that small is reported as a precision problem.",
         L + "test_log_softmax_is_stable_at_huge_logits", C + "test_cross_entropy_is_stable_at_huge_logits",
         why_no_mutant="a diagnosis, not a duty: the mistakes a learner makes at +-1000 are gross "
                       "(inf, NaN, -inf, an error of 1000); no plausible formula errs by 5 to 64 "
                       "ulps only"),
    rule("float32 tests at exactly 0/1 allow for that.",
         B + "test_bce_is_finite_at_predictions_of_exactly_0_and_1_in_float32",
         why_no_mutant="a tolerance granted: the reference clips in float32 (15.9) and "
                       "tests/alternatives/04_losses in float64 (16.1); both must pass"),
    rule("In float64 the value must match the formula.",
         B + "test_bce_is_finite_at_predictions_of_exactly_0_and_1",
         B + "test_bce_clips_near_0_and_1_at_exactly_1e_minus_7",
         mutants=["BCE clips with a smaller epsilon"]),
]

PROSE = [
    "Conventions for everything below:",
    "You may compute on `.data` with NumPy; kata 06 gives these functions their own backward rules.",
]
