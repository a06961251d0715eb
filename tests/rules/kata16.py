"""Kata 16 (compression): README rule -> hidden tests that enforce it -> mutants that prove it."""
from tests.rules import rule

P = "test_compression_prune.py::"
F = "test_compression_finetune.py::"
S = "test_compression_structured.py::"
L = "test_compression_lowrank.py::"
D = "test_compression_distill.py::"

SECTIONS = ["The API", "Conventions"]

SPARSITY = P + "test_measure_sparsity_counts_zero_weights_exactly"
GLOBAL = P + "test_magnitude_prune_zeroes_exactly_the_smallest_weights_globally"
TIES = P + "test_magnitude_prune_cuts_ties_to_exactly_k"
LAYER = P + "test_magnitude_prune_per_layer_prunes_each_matrix_on_its_own"
BAD_PRUNE = P + "test_magnitude_prune_rejects_bad_arguments"
FINETUNE = F + "test_pruned_weights_stay_zero_through_fine_tuning"
STRUCT = S + "test_structured_prune_removes_the_weakest_neurons"
EQUIV = S + "test_pruned_model_equals_the_masked_model"
SINGLE = S + "test_structured_prune_leaves_a_single_layer_and_ratio_zero_alone"
BAD_STRUCT = S + "test_structured_prune_rejects_bad_models_and_ratios"
FACTORS = L + "test_factors_are_orthonormal_with_the_top_singular_values"
EY = L + "test_error_is_exactly_the_discarded_singular_values"
RANK = L + "test_rank_from_rank_ratio_is_rounded_and_at_least_one"
BAD_RANK = L + "test_bad_ranks_and_matrices_raise_value_error"
KD_INIT = D + "test_knowledge_distillation_stores_its_arguments_and_validates_them"
FORMULA = D + "test_distillation_loss_matches_the_formula"
GRAD = D + "test_distillation_loss_gradient_agrees_with_finite_differences"
TEACHER = D + "test_teacher_logits_receive_no_gradient"
DTYPE = D + "test_distillation_loss_keeps_the_dtype_and_checks_shapes"

RULES = [
    # signatures
    rule("def measure_sparsity(model) -> float # percent, 0.0 to 100.0", SPARSITY,
         mutants=["measure_sparsity returns a fraction"]),
    rule('def magnitude_prune(model, sparsity=0.9, scope="global") # -> model', GLOBAL, LAYER,
         mutants=["magnitude_prune ranks each layer alone when global is asked"]),
    rule("def keep_pruned(optimizer) # -> optimizer", FINETUNE, mutants=["keep_pruned returns None"]),
    rule("def structured_prune(model, prune_ratio=0.5) # -> model", STRUCT,
         mutants=["structured_prune builds new Tensors"]),
    rule("def low_rank_approximate(weight_matrix, rank_ratio=0.5, rank=None) -> tuple # (U, S, V)", FACTORS, RANK,
         mutants=["low_rank_approximate returns V transposed"]),
    rule("class KnowledgeDistillation:", KD_INIT, mutants=["distillation with other defaults"]),
    rule("def __init__(self, teacher_model, student_model, temperature=3.0, alpha=0.7)", KD_INIT,
         mutants=["distillation with other defaults"]),
    rule("teacher_model, student_model, temperature, alpha # stored as given", KD_INIT,
         why_no_mutant="four plain assignments; a slip there also breaks the defaults check, which "
                       "reads the same attributes"),
    rule("distillation_loss(student_logits, teacher_logits, true_labels) -> Tensor", FORMULA,
         mutants=["distillation without the T^2 factor (TinyTorch)"]),
    rule("The weights of a model are its parameters (`model.parameters()`) with two or more dimensions; "
         "biases are not weights here.", SPARSITY, GLOBAL,
         mutants=["measure_sparsity counts the biases", "magnitude_prune prunes the biases too"]),
    # measure_sparsity
    rule("Returns `100 * (number of weight entries equal to 0) / (number of weight entries)`, a Python `float`",
         SPARSITY, P + "test_measure_sparsity_of_a_model_without_weights_is_zero",
         mutants=["measure_sparsity returns a fraction", "measure_sparsity divides by zero without weights"]),
    rule("Biases do not count", SPARSITY, mutants=["measure_sparsity counts the biases"]),
    # magnitude_prune
    rule("Sets to zero the `k = round(sparsity * n)` weights of smallest magnitude `|w|`:", GLOBAL,
         mutants=["magnitude_prune counts with int()", "magnitude_prune ranks by signed value"]),
    rule('`scope="global"`: one ranking over all `n` weights of the model together', GLOBAL,
         mutants=["magnitude_prune ranks each layer alone when global is asked"]),
    rule('`scope="layer"`: each weight matrix separately', LAYER,
         mutants=["magnitude_prune ranks globally when per layer is asked"]),
    rule("Ties: exactly `k` weights are pruned even when several share the magnitude at the cut", TIES,
         mutants=["magnitude_prune thresholds at np.percentile (TinyTorch)",
                  "magnitude_prune prunes every weight tied at the cut"]),
    rule("A threshold test (`|w| < t` or `|w| <= t`) prunes too few or too many.", TIES,
         mutants=["magnitude_prune thresholds at np.percentile (TinyTorch)",
                  "magnitude_prune prunes every weight tied at the cut"]),
    rule("Weights that were zero already have the smallest magnitude: they count among the `k`.",
         P + "test_magnitude_prune_counts_zeros_already_there", mutants=["magnitude_prune skips the weights already zero"]),
    rule("Every kept weight is unchanged, and has a magnitude at least as large as every pruned one", GLOBAL,
         mutants=["magnitude_prune ranks by signed value"]),
    rule("In place: each weight Tensor stays the same object", GLOBAL, mutants=["magnitude_prune prunes the biases too"]),
    rule("`sparsity` outside `[0, 1]`, or a `scope` other than", BAD_PRUNE,
         mutants=["magnitude_prune does not check the sparsity", "magnitude_prune does not check the scope"]),
    # keep_pruned
    rule("Records, for every parameter of `optimizer.params` with two or more dimensions, which entries are zero "
         "now", FINETUNE,
         mutants=["keep_pruned zeroes the weights before the step", "keep_pruned freezes the biases too"]),
    rule("Returns the same optimizer object.", FINETUNE, mutants=["keep_pruned returns None"]),
    rule("Call it after pruning, before fine-tuning; it works through kata 08's `Trainer`", FINETUNE,
         mutants=["keep_pruned zeroes the weights before the step"]),
    rule("The other weights and every bias train exactly as without it", FINETUNE,
         mutants=["keep_pruned freezes the biases too"]),
    rule("It holds whatever the optimizer does: momentum built up before pruning", FINETUNE,
         mutants=["keep_pruned masks the gradients instead of the weights"]),
    # structured_prune
    rule("`model`: a `Sequential` whose items are `Linear` layers and parameter-free items", STRUCT, EQUIV,
         why_no_mutant="the activations between the Linears need no handling; the ValueError rule below "
                       "has the mutant"),
    rule("An item with parameters that is not a `Linear` raises `ValueError`", BAD_STRUCT,
         mutants=["structured_prune accepts any item between the Linears"]),
    rule("Every `Linear` but the last (whose outputs are the model's outputs) loses", STRUCT, SINGLE,
         mutants=["structured_prune prunes the output layer too", "structured_prune scores neurons by their outgoing weights",
                  "structured_prune removes the strongest neurons"]),
    rule("A layer always keeps at least one neuron.", STRUCT, mutants=["structured_prune may remove every neuron"]),
    rule("Removing neuron `j` deletes column `j` of the layer's weight", STRUCT, EQUIV,
         mutants=["structured_prune zeroes the columns (TinyTorch)", "structured_prune leaves the next layer's rows",
                  "structured_prune does not update the features"]),
    rule("The kept neurons stay in their original order.", STRUCT,
         mutants=["structured_prune reorders the kept neurons by norm"]),
    rule("Every score is computed on the model as it was given", S + "test_scores_come_from_the_model_as_given",
         mutants=["structured_prune scores each layer after the previous one shrank"]),
    rule("Ties in the norms: exactly `k` neurons go", STRUCT,
         why_no_mutant="np.argpartition cuts ties to exactly k by itself; a threshold version is the same "
                       "bug class as magnitude_prune's, proven there"),
    rule("In place: the weight and bias Tensors stay the same objects", STRUCT,
         mutants=["structured_prune builds new Tensors"]),
    rule("Equivalence: when the activations map 0 to 0", EQUIV, STRUCT,
         mutants=["structured_prune leaves the next layer's rows"]),
    rule("`prune_ratio` outside `[0, 1)` raises `ValueError`.", BAD_STRUCT, STRUCT,
         mutants=["structured_prune may remove every neuron"]),
    rule("here the neurons are removed and the output layer is never pruned", STRUCT, SINGLE,
         mutants=["structured_prune zeroes the columns (TinyTorch)", "structured_prune prunes the output layer too"]),
    rule("TinyTorch zeroes the pruned columns and keeps every shape", STRUCT,
         mutants=["structured_prune zeroes the columns (TinyTorch)"]),
    # low_rank_approximate
    rule("`weight_matrix`: a 2-D ndarray or Tensor, of shape `(m, n)`; anything else raises `ValueError`.",
         BAD_RANK, RANK, mutants=["low_rank_approximate does not check the rank"]),
    rule("The rank: `rank` when given", RANK, BAD_RANK,
         mutants=["low_rank_approximate truncates the rank with int()",
                  "low_rank_approximate allows a rank of 0 from the ratio",
                  "low_rank_approximate does not check the rank"]),
    rule("Returns ndarrays `U` of shape `(m, k)` with orthonormal columns", FACTORS,
         mutants=["low_rank_approximate returns V transposed", "low_rank_approximate keeps the smallest singular values",
                  "low_rank_approximate folds S into U", "low_rank_approximate computes in float64"]),
    rule("`U @ np.diag(S) @ V` is the best rank-`k` approximation (Eckart-Young)", EY, FACTORS,
         mutants=["low_rank_approximate keeps the smallest singular values"]),
    # KnowledgeDistillation
    rule("Stores its four arguments as attributes of the same names.", KD_INIT,
         mutants=["distillation with other defaults"]),
    rule("`temperature` must be a finite number `> 0` and `alpha` a number in `[0, 1]`, else `ValueError`.",
         KD_INIT, mutants=["distillation accepts a zero temperature"]),
    rule("`distillation_loss(student_logits, teacher_logits, true_labels)`: logits of shape `(N, C)`", FORMULA,
         DTYPE, mutants=["distillation loss takes the teacher's dtype"]),
    rule("A teacher of another shape raises `ValueError`.", DTYPE,
         why_no_mutant="a mismatched teacher fails inside the arithmetic already (broadcasting (3, 3) "
                       "against (3, 4) raises ValueError); only a deliberate reshape could break it"),
    rule("With `T = temperature`, `p = softmax(teacher_logits / T)` and `q = softmax(student_logits / T)`:",
         FORMULA, mutants=["distillation teacher not softened"]),
    rule("the KL divergence from the teacher's softened distribution to the student's", FORMULA,
         mutants=["distillation without the T^2 factor (TinyTorch)", "distillation KL in the wrong direction",
                  "distillation cross-entropy instead of KL", "distillation soft term summed over the batch",
                  "distillation soft term averaged over the classes"]),
    rule("`hard = CrossEntropyLoss()(student_logits, true_labels)`, at temperature 1;", FORMULA,
         mutants=["distillation hard loss at temperature T"]),
    rule("returns the 0-d Tensor `alpha * soft + (1 - alpha) * hard`.", FORMULA,
         mutants=["distillation alpha on the hard term"]),
    rule("Differentiable through kata 06", GRAD, mutants=["distillation loss rebuilt from .data (graph cut)"]),
    rule("The teacher's logits are a constant", TEACHER, mutants=["distillation teacher left in the graph"]),
    rule("The loss has the student logits' dtype", DTYPE, mutants=["distillation loss takes the teacher's dtype"]),
    rule("TinyTorch leaves out the `T**2` factor.", FORMULA, mutants=["distillation without the T^2 factor (TinyTorch)"]),
    # conventions
    rule("Counts from fractions are `round(fraction * n)` with Python's `round`, never `int()`", GLOBAL, RANK,
         mutants=["magnitude_prune counts with int()", "low_rank_approximate truncates the rank with int()"]),
    rule("Pruning, `low_rank_approximate` and the distillation loss never modify their inputs beyond what is "
         "stated", FACTORS, FORMULA,
         why_no_mutant="no step of these computations writes into its inputs unless written on purpose; "
                       "the tests compare the inputs before and after"),
]

PROSE = [
    "TinyTorch thresholds at `np.percentile`, which interpolates and keeps every weight tied",
    "Storing `U * S` and `V` takes `k * (m + n)` numbers instead of `m * n`.",
    "Without it the soft term's gradients shrink as",
    "Returns `model`.",
]
