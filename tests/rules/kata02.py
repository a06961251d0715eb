"""Kata 02 (activations): README rule -> hidden tests that enforce it -> mutants that prove it."""
from tests.rules import rule

V = "test_activations.py::"
S = "test_activations_softmax.py::"
A = "test_activations_api.py::"

SECTIONS = ["The API", "Numerical conventions"]

RULES = [
    # ------------------------------------------------------------ the shared contract
    rule("__call__(x, *args, **kwargs) # returns self.forward(x, *args, **kwargs)",
         A + "test_call_goes_through_forward_and_passes_arguments_on",
         S + "test_softmax_forward_dim_overrides_self_dim_for_one_call",
         mutants=["__call__ bound to the original forward", "__call__ drops extra arguments"]),
    rule("parameters() -> list # [], a new empty list on every call", A + "test_parameters_is_a_new_empty_list",
         mutants=["parameters returns one shared list", "parameters returns a tuple"]),
    rule("forward(x: Tensor) -> Tensor", A + "test_forward_returns_a_new_tensor_and_leaves_x_alone",
         mutants=["relu returns the NumPy array"]),
    rule("def __init__(self, dim=-1) # stores self.dim",
         S + "test_default_dim_is_last_and_code_comes_from_the_kata", mutants=["Softmax default dim is 0"]),
    rule("forward(x: Tensor, dim=None) -> Tensor # dim=None: along self.dim",
         S + "test_softmax_forward_dim_overrides_self_dim_for_one_call",
         mutants=["softmax forward passes dim=None to NumPy"]),
    rule("`forward(x)` returns a NEW Tensor of the same shape and dtype as `x`, also when no value changes",
         A + "test_forward_returns_a_new_tensor_and_leaves_x_alone",
         mutants=["relu returns x itself when nothing is negative",
                  "sigmoid result forced to float32 (float64 lost)"]),
    rule("It never modifies `x`", A + "test_forward_returns_a_new_tensor_and_leaves_x_alone",
         mutants=["relu clamps its input in place"]),
    rule("`__call__` always goes through `self.forward`, passing on every extra argument unchanged",
         A + "test_call_goes_through_forward_and_passes_arguments_on",
         S + "test_softmax_forward_dim_overrides_self_dim_for_one_call",
         mutants=["__call__ bound to the original forward", "__call__ drops extra arguments",
                  "Softmax.__call__ always passes dim"]),
    rule("An activation has none.", A + "test_parameters_is_a_new_empty_list",
         mutants=["parameters returns a tuple"]),
    # ------------------------------------------------------------ the table
    rule("`Sigmoid()` | `1 / (1 + exp(-x))` | `[0, 1]`", V + "test_sigmoid_matches_numpy_with_range_and_symmetry",
         V + "test_sigmoid_of_zero_is_one_half", mutants=["sigmoid computed in float32 and cast back"]),
    rule("`ReLU()` | `max(x, 0)`; `relu(0) = 0` | `[0, inf)`", V + "test_relu_matches_numpy",
         V + "test_relu_at_zero_is_zero", mutants=["leaky relu", "relu returns its 0/1 mask"]),
    rule("`Tanh()` | `(exp(x) - exp(-x)) / (exp(x) + exp(-x))` | `[-1, 1]`",
         V + "test_tanh_matches_numpy_with_range_and_oddness", mutants=["tanh computed as 2*sigmoid(x) - 1"]),
    rule("`GELU()` | `0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3)))` | about `[-0.17, inf)`",
         V + "test_gelu_matches_formula", V + "test_gelu_of_zero_is_zero",
         V + "test_gelu_is_identity_for_large_x_and_zero_for_very_negative_x",
         mutants=["gelu missing the 0.5"]),
    rule("`Softmax(dim=-1)` | `exp(x_i) / sum_j exp(x_j)`, the sum taken along axis `dim`",
         S + "test_softmax_matches_numpy", S + "test_softmax_slices_along_dim_sum_to_one",
         S + "test_softmax_of_a_vector", S + "test_default_dim_is_last_and_code_comes_from_the_kata",
         mutants=["softmax divides by the sum over all elements", "softmax always along axis 0"]),
    rule("`GELU` is the tanh approximation", V + "test_gelu_matches_formula", mutants=["gelu with the exact erf"]),
    rule("They differ by up to about 5e-4, which the tests see.", V + "test_gelu_matches_formula",
         mutants=["gelu with the exact erf"]),
    rule("`Softmax(dim)` stores `dim` as `self.dim`.", S + "test_softmax_finite_at_logits_of_1000",
         S + "test_softmax_matches_numpy", mutants=["softmax ignores dim (always the last axis)"]),
    rule("`dim` may be negative, as in NumPy (`-1` is the last axis).", S + "test_softmax_matches_numpy",
         S + "test_softmax_slices_along_dim_sum_to_one",
         why_no_mutant="NumPy takes a negative axis as it is; a solution that mishandles one "
                       "(dim=-1 of a 3-D input) fails the same values test as a wrong axis"),
    rule("Every slice of the output along `dim` sums to 1; the other axes are independent",
         S + "test_softmax_slices_along_dim_sum_to_one", S + "test_default_dim_is_last_and_code_comes_from_the_kata",
         mutants=["softmax divides by the sum over all elements"]),
    rule("`Softmax.forward(x, dim=d)` with an int `d` (`0` included) normalises along axis `d` for this one call; "
         "`self.dim` stays what it was.", S + "test_softmax_forward_dim_overrides_self_dim_for_one_call",
         mutants=["softmax forward ignores its dim argument", "softmax forward treats dim=0 as not given",
                  "softmax forward stores its dim in self.dim"]),
    rule("`dim=None` (the default) means `self.dim`.", S + "test_softmax_forward_dim_overrides_self_dim_for_one_call",
         mutants=["softmax forward passes dim=None to NumPy"]),
    # ------------------------------------------------------------ numerical conventions
    rule("Stable for |x| up to 1000.", V + "test_pointwise_stable_at_large_inputs",
         S + "test_softmax_finite_at_logits_of_1000",
         mutants=["naive sigmoid overflows at -1000", "tanh from exp(x) and exp(-x) overflows",
                  "softmax without max subtraction"]),
    rule("the output is finite (no NaN, no inf), correct, and computing it raises no warning",
         V + "test_pointwise_stable_at_large_inputs", S + "test_softmax_finite_at_logits_of_1000",
         mutants=["sigmoid branches with np.where on both exps"]),
    rule("Underflow to 0 is fine: `sigmoid(-1000)` is 0.0, `softmax([1000, 0])` is `[1, 0]`.",
         V + "test_pointwise_stable_at_large_inputs", S + "test_softmax_finite_at_logits_of_1000",
         why_no_mutant="a permission, not a demand: the explicit examples at +-1000 show that a "
                       "correct solution whose values underflow to 0 passes"),
    rule("dtype: output dtype == input dtype, float32 and float64 alike.",
         A + "test_forward_returns_a_new_tensor_and_leaves_x_alone",
         mutants=["sigmoid result forced to float32 (float64 lost)",
                  "softmax computed in float64 (float32 leaks to float64)"]),
    rule("Under NumPy 2, a NumPy float64 scalar such as `np.sqrt(2 / np.pi)` or `np.float64(0.5)` promotes",
         A + "test_forward_returns_a_new_tensor_and_leaves_x_alone",
         mutants=["gelu constant is np.float64 (float32 leaks to float64)"]),
    rule("precision: a float64 input is computed in float64", V + "test_sigmoid_matches_numpy_with_range_and_symmetry",
         V + "test_tanh_matches_numpy_with_range_and_oddness", V + "test_gelu_matches_formula",
         mutants=["sigmoid computed in float32 and cast back"]),
    rule("`relu(0) = 0` (also for `-0.0`, which compares equal to 0).", V + "test_relu_at_zero_is_zero",
         mutants=["relu returns its 0/1 mask"]),
    rule("Tolerances: values are compared with NumPy computed in float64, at about 1e-5 for float32 and 1e-9 for float64.",
         V + "test_sigmoid_matches_numpy_with_range_and_symmetry", V + "test_gelu_matches_formula",
         mutants=["sigmoid computed in float32 and cast back"]),
    rule("Softmax also allows 4 units in the last place of the largest `|x|`",
         S + "test_softmax_finite_at_logits_of_1000", S + "test_softmax_is_shift_invariant",
         why_no_mutant="a promise to correct solutions, not a bug to catch: the log-sum-exp "
                       "softmax of tests/alternatives/02_activations differs from NumPy by about "
                       "1.5e-5 at logits near 1000 in float32 (NEAR_1000), beyond 1e-5, and passes"),
]

PROSE = [
    "class Activation: # the shared part, written once",
    "class Sigmoid(Activation): # and likewise ReLU, Tanh, GELU",
    "class Softmax(Activation):",
    "`parameters()` lets code that walks a model treat layers and activations alike.",
    "You may compute on the NumPy array `x.data` and wrap the result",
    "Inputs have at least one dimension.",
    "The formulas in the table define the values, not how to compute them",
]
