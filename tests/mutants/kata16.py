"""Plausible wrong solutions of kata 16 (compression)."""
from tests.mutants import Mutant

P = "test_compression_prune.py::"
F = "test_compression_finetune.py::"
S = "test_compression_structured.py::"
L = "test_compression_lowrank.py::"
D = "test_compression_distill.py::"
C = "compression.py"

GLOBAL = P + "test_magnitude_prune_zeroes_exactly_the_smallest_weights_globally"
STRUCT = S + "test_structured_prune_removes_the_weakest_neurons"
FORMULA = D + "test_distillation_loss_matches_the_formula"

MUTANTS = [
    # measure_sparsity
    Mutant(name="measure_sparsity counts the biases", file=C, test=P + "test_measure_sparsity_counts_zero_weights_exactly",
           old="    weights = _weights(model)\n    total = sum(",
           new="    weights = list(model.parameters())\n    total = sum(",
           expect=r"count only the weights \(parameters with 2\+ dimensions\)"),
    Mutant(name="measure_sparsity returns a fraction", file=C,
           test=P + "test_measure_sparsity_counts_zero_weights_exactly",
           old="    return 100.0 * zeros / total", new="    return zeros / total",
           expect=r"return a percentage"),
    Mutant(name="measure_sparsity divides by zero without weights", file=C,
           test=P + "test_measure_sparsity_of_a_model_without_weights_is_zero",
           old="    if total == 0:\n        return 0.0\n", new="",
           expect=r"raised ZeroDivisionError[\s\S]*guard the division"),
    # magnitude_prune
    Mutant(name="magnitude_prune counts with int()", file=C, test=GLOBAL,
           old="        k = round(sparsity * magnitudes.size)", new="        k = int(sparsity * magnitudes.size)",
           expect=r"int\(\) truncates"),
    Mutant(name="magnitude_prune thresholds at np.percentile (TinyTorch)", file=C,
           test=P + "test_magnitude_prune_cuts_ties_to_exactly_k",
           old="        pruned = np.zeros(magnitudes.size, bool)\n"
               "        pruned[np.argpartition(magnitudes, k - 1)[:k]] = True  # exactly k, ties cut anywhere\n",
           new="        pruned = magnitudes < np.percentile(magnitudes, sparsity * 100)\n",
           expect=r"a threshold keeps every weight tied with it"),
    Mutant(name="magnitude_prune prunes every weight tied at the cut", file=C,
           test=P + "test_magnitude_prune_cuts_ties_to_exactly_k",
           old="        pruned = np.zeros(magnitudes.size, bool)\n"
               "        pruned[np.argpartition(magnitudes, k - 1)[:k]] = True  # exactly k, ties cut anywhere\n",
           new="        pruned = magnitudes <= np.partition(magnitudes, k - 1)[k - 1]\n",
           expect=r"a threshold test \|w\| <= t prunes every weight tied"),
    Mutant(name="magnitude_prune ranks each layer alone when global is asked", file=C, test=GLOBAL,
           old='    groups = [weights] if scope == "global" else [[p] for p in weights]',
           new='    groups = [[p] for p in weights]',
           expect=r"scope='global' ranks all weights of the model together"),
    Mutant(name="magnitude_prune ranks globally when per layer is asked", file=C,
           test=P + "test_magnitude_prune_per_layer_prunes_each_matrix_on_its_own",
           old='    groups = [weights] if scope == "global" else [[p] for p in weights]',
           new='    groups = [weights]',
           expect=r"scope='layer' prunes each weight matrix on its own"),
    Mutant(name="magnitude_prune ranks by signed value", file=C, test=GLOBAL,
           old="        magnitudes = np.concatenate([np.abs(p.data).ravel() for p in group])",
           new="        magnitudes = np.concatenate([p.data.ravel() for p in group])",
           expect=r"rank by magnitude \|w\|"),
    Mutant(name="magnitude_prune prunes the biases too", file=C, test=GLOBAL,
           old="    weights = _weights(model)\n    groups =",
           new="    weights = list(model.parameters())\n    groups =",
           expect=r"must leave the biases untouched"),
    Mutant(name="magnitude_prune skips the weights already zero", file=C,
           test=P + "test_magnitude_prune_counts_zeros_already_there",
           old="        k = round(sparsity * magnitudes.size)\n",
           new="        k = round(sparsity * magnitudes.size)\n"
               "        magnitudes = np.where(magnitudes == 0, np.inf, magnitudes)\n",
           expect=r"weights that were zero already have the smallest magnitude"),
    Mutant(name="magnitude_prune does not check the sparsity", file=C, test=P + "test_magnitude_prune_rejects_bad_arguments",
           old="    if not 0.0 <= sparsity <= 1.0:\n", new="    if False:\n",
           expect=r"magnitude_prune\(model, -0\.1\) must raise ValueError"),
    Mutant(name="magnitude_prune does not check the scope", file=C, test=P + "test_magnitude_prune_rejects_bad_arguments",
           old='    if scope not in ("global", "layer"):\n', new="    if False:\n",
           expect=r"scope='per_layer'\) must raise ValueError"),
    # keep_pruned
    Mutant(name="keep_pruned masks the gradients instead of the weights", file=C,
           test=F + "test_pruned_weights_stay_zero_through_fine_tuning[sgd-after-an-epoch]",
           old="    def step_and_reprune():\n        step(optimizer)\n        for p, pruned in masks:\n"
               "            p.data[pruned] = 0\n",
           new="    def step_and_reprune():\n        for p, pruned in masks:\n            if p.grad is not None:\n"
               "                p.grad = np.where(pruned, 0, p.grad)\n        step(optimizer)\n",
           expect=r"Pruned weights must stay exactly zero[\s\S]*momentum"),
    Mutant(name="keep_pruned zeroes the weights before the step", file=C,
           test=F + "test_pruned_weights_stay_zero_through_fine_tuning[sgd-fresh]",
           old="    def step_and_reprune():\n        step(optimizer)\n        for p, pruned in masks:\n"
               "            p.data[pruned] = 0\n",
           new="    def step_and_reprune():\n        for p, pruned in masks:\n            p.data[pruned] = 0\n"
               "        step(optimizer)\n",
           expect=r"Pruned weights must stay exactly zero"),
    Mutant(name="keep_pruned freezes the biases too", file=C,
           test=F + "test_pruned_weights_stay_zero_through_fine_tuning[adam-fresh]",
           old="    masks = [(p, p.data == 0) for p in optimizer.params if p.data.ndim >= 2]",
           new="    masks = [(p, p.data == 0) for p in optimizer.params]",
           expect=r"bias \d+ differs[\s\S]*they must train"),
    Mutant(name="keep_pruned returns None", file=C, test=F + "test_pruned_weights_stay_zero_through_fine_tuning[adamw-fresh]",
           old="    optimizer.step = step_and_reprune  # an instance attribute shadows the class's method\n"
               "    return optimizer\n",
           new="    optimizer.step = step_and_reprune  # an instance attribute shadows the class's method\n"
               "    return None\n",
           expect=r"must return the same optimizer object"),
    # structured_prune
    Mutant(name="structured_prune zeroes the columns (TinyTorch)", file=C, test=STRUCT,
           old="    for layer, _, keep in plans:\n        layer.weight.data = layer.weight.data[:, keep]\n"
               "        if layer.bias is not None:\n            layer.bias.data = layer.bias.data[keep]\n"
               "        layer.out_features = int(keep.size)\n"
               "    for _, after, keep in plans:\n        after.weight.data = after.weight.data[keep, :]\n"
               "        after.in_features = int(keep.size)\n",
           new="    for layer, _, keep in plans:\n"
               "        gone = np.setdiff1d(np.arange(layer.weight.data.shape[1]), keep)\n"
               "        layer.weight.data[:, gone] = 0\n"
               "        if layer.bias is not None:\n            layer.bias.data[gone] = 0\n",
           expect=r"delete the columns[\s\S]*TinyTorch zeroes them"),
    Mutant(name="structured_prune leaves the next layer's rows", file=C, test=STRUCT,
           old="    for _, after, keep in plans:\n        after.weight.data = after.weight.data[keep, :]\n"
               "        after.in_features = int(keep.size)\n",
           new="",
           expect=r"deletes the matching ROW of the next Linear"),
    Mutant(name="structured_prune scores neurons by their outgoing weights", file=C, test=STRUCT,
           old="        norms = np.sqrt(np.square(w, dtype=np.float64).sum(axis=0))",
           new="        norms = np.sqrt(np.square(after.weight.data, dtype=np.float64).sum(axis=1))",
           expect=r"smallest incoming L2 norm"),
    Mutant(name="structured_prune removes the strongest neurons", file=C, test=STRUCT,
           old="        dropped = np.argpartition(norms, k - 1)[:k] if k else np.array([], int)",
           new="        dropped = np.argsort(norms)[::-1][:k]",
           expect=r"remove the neurons of SMALLEST norm"),
    Mutant(name="structured_prune prunes the output layer too", file=C,
           test=S + "test_structured_prune_leaves_a_single_layer_and_ratio_zero_alone",
           old="    for layer, after in zip(linears, linears[1:]):  # the last Linear (the output) stays whole\n",
           new="    for layer, after in zip(linears, linears[1:] + [Linear(linears[-1].weight.data.shape[1], 1)]):\n",
           expect=r"single Linear unchanged"),
    Mutant(name="structured_prune scores each layer after the previous one shrank", file=C,
           test=S + "test_scores_come_from_the_model_as_given",
           old="        plans.append((layer, after, np.setdiff1d(np.arange(n), dropped)))  # sorted: order kept\n"
               "    for layer, _, keep in plans:\n        layer.weight.data = layer.weight.data[:, keep]\n"
               "        if layer.bias is not None:\n            layer.bias.data = layer.bias.data[keep]\n"
               "        layer.out_features = int(keep.size)\n"
               "    for _, after, keep in plans:\n        after.weight.data = after.weight.data[keep, :]\n"
               "        after.in_features = int(keep.size)\n",
           new="        keep = np.setdiff1d(np.arange(n), dropped)\n"
               "        layer.weight.data = layer.weight.data[:, keep]\n"
               "        if layer.bias is not None:\n            layer.bias.data = layer.bias.data[keep]\n"
               "        layer.out_features = int(keep.size)\n"
               "        after.weight.data = after.weight.data[keep, :]\n"
               "        after.in_features = int(keep.size)\n",
           expect=r"score every neuron on the model as it was given"),
    Mutant(name="structured_prune reorders the kept neurons by norm", file=C, test=STRUCT,
           old="        plans.append((layer, after, np.setdiff1d(np.arange(n), dropped)))",
           new="        plans.append((layer, after, np.array([j for j in np.argsort(-norms) "
               "if j not in set(dropped.tolist())], int)))",
           expect=r"keep the remaining neurons in their original order"),
    Mutant(name="structured_prune may remove every neuron", file=C, test=STRUCT,
           old="        k = min(round(prune_ratio * n), n - 1)", new="        k = round(prune_ratio * n)",
           expect=r"a layer always keeps at least one neuron"),
    Mutant(name="structured_prune does not update the features", file=C, test=STRUCT,
           old="        layer.out_features = int(keep.size)\n", new="",
           expect=r"must update in_features and out_features"),
    Mutant(name="structured_prune builds new Tensors", file=C, test=STRUCT,
           old="        layer.weight.data = layer.weight.data[:, keep]\n",
           new="        layer.weight = Tensor(layer.weight.data[:, keep], requires_grad=True)\n",
           expect=r"must keep each Linear's weight and bias Tensors"),
    Mutant(name="structured_prune accepts any item between the Linears", file=C,
           test=S + "test_structured_prune_rejects_bad_models_and_ratios",
           old="        if not isinstance(item, Linear) and isinstance(item, Layer) and item.parameters():\n",
           new="        if False:\n",
           expect=r"holding a Sequential with parameters must raise ValueError"),
    # low_rank_approximate
    Mutant(name="low_rank_approximate returns V transposed", file=C,
           test=L + "test_factors_are_orthonormal_with_the_top_singular_values",
           old="    return u[:, :rank], s[:rank], vt[:rank, :]", new="    return u[:, :rank], s[:rank], vt[:rank, :].T",
           expect=r"V holds the right singular vectors as ROWS"),
    Mutant(name="low_rank_approximate keeps the smallest singular values", file=C,
           test=L + "test_factors_are_orthonormal_with_the_top_singular_values",
           old="    return u[:, :rank], s[:rank], vt[:rank, :]",
           new="    return u[:, -rank:], s[-rank:], vt[-rank:, :]",
           expect=r"keep the LARGEST singular values"),
    Mutant(name="low_rank_approximate folds S into U", file=C,
           test=L + "test_factors_are_orthonormal_with_the_top_singular_values",
           old="    return u[:, :rank], s[:rank], vt[:rank, :]",
           new="    return u[:, :rank] * s[:rank], s[:rank], vt[:rank, :]",
           expect=r"U must not have the singular values folded in"),
    Mutant(name="low_rank_approximate truncates the rank with int()", file=C,
           test=L + "test_rank_from_rank_ratio_is_rounded_and_at_least_one",
           old="        rank = max(1, round(rank_ratio * full))", new="        rank = max(1, int(rank_ratio * full))",
           expect=r"not int\(\): int\(\) truncates 1\.5 to 1"),
    Mutant(name="low_rank_approximate allows a rank of 0 from the ratio", file=C,
           test=L + "test_rank_from_rank_ratio_is_rounded_and_at_least_one",
           old="        rank = max(1, round(rank_ratio * full))", new="        rank = round(rank_ratio * full)",
           expect=r"rank_ratio=0\.01\) raised ValueError.*got 0"),
    Mutant(name="low_rank_approximate does not check the rank", file=C,
           test=L + "test_bad_ranks_and_matrices_raise_value_error",
           old="    if isinstance(rank, bool) or not isinstance(rank, (int, np.integer)) or not 1 <= rank <= full:\n",
           new="    if False:\n",
           expect=r"rank=0\) must raise ValueError"),
    Mutant(name="low_rank_approximate computes in float64", file=C,
           test=L + "test_factors_are_orthonormal_with_the_top_singular_values",
           old="    u, s, vt = np.linalg.svd(w, full_matrices=False)",
           new="    u, s, vt = np.linalg.svd(w.astype(np.float64), full_matrices=False)",
           expect=r"must keep the matrix's dtype"),
    # KnowledgeDistillation
    Mutant(name="distillation without the T^2 factor (TinyTorch)", file=C, test=FORMULA,
           old="        return soft * (self.alpha * temp * temp) + hard * (1.0 - self.alpha)",
           new="        return soft * self.alpha + hard * (1.0 - self.alpha)",
           expect=r"multiply the soft term by T\*\*2"),
    Mutant(name="distillation KL in the wrong direction", file=C, test=FORMULA,
           old="        soft = (teacher_p * (Tensor(teacher_log_p) - student_log_p)).sum(axis=-1).mean()",
           new="        from tinytorch.core.activations import Softmax\n"
               "        soft = (Softmax()(s / temp) * (student_log_p - Tensor(teacher_log_p))).sum(axis=-1).mean()",
           expect=r"the KL divergence goes FROM the teacher"),
    Mutant(name="distillation cross-entropy instead of KL", file=C, test=FORMULA,
           old="        soft = (teacher_p * (Tensor(teacher_log_p) - student_log_p)).sum(axis=-1).mean()",
           new="        soft = (teacher_p * (student_log_p * -1.0)).sum(axis=-1).mean()",
           expect=r"that is the cross-entropy"),
    Mutant(name="distillation teacher not softened", file=C, test=FORMULA,
           old="        teacher_log_p = losses.log_softmax(Tensor(t.astype(s.data.dtype) / temp)).data",
           new="        teacher_log_p = losses.log_softmax(Tensor(t.astype(s.data.dtype))).data",
           expect=r"divide the teacher's logits by the temperature"),
    Mutant(name="distillation alpha on the hard term", file=C, test=FORMULA,
           old="        return soft * (self.alpha * temp * temp) + hard * (1.0 - self.alpha)",
           new="        return soft * ((1.0 - self.alpha) * temp * temp) + hard * self.alpha",
           expect=r"alpha weighs the soft \(teacher\) term"),
    Mutant(name="distillation hard loss at temperature T", file=C, test=FORMULA,
           old="        hard = losses.CrossEntropyLoss()(s, true_labels)",
           new="        hard = losses.CrossEntropyLoss()(s / temp, true_labels)",
           expect=r"the hard term is the plain cross-entropy at temperature 1"),
    Mutant(name="distillation soft term summed over the batch", file=C, test=FORMULA,
           old="        soft = (teacher_p * (Tensor(teacher_log_p) - student_log_p)).sum(axis=-1).mean()",
           new="        soft = (teacher_p * (Tensor(teacher_log_p) - student_log_p)).sum()",
           expect=r"average the soft term over the batch"),
    Mutant(name="distillation soft term averaged over the classes", file=C, test=FORMULA,
           old="        soft = (teacher_p * (Tensor(teacher_log_p) - student_log_p)).sum(axis=-1).mean()",
           new="        soft = (teacher_p * (Tensor(teacher_log_p) - student_log_p)).mean()",
           expect=r"sum over the classes, then average"),
    Mutant(name="distillation loss rebuilt from .data (graph cut)", file=C,
           test=D + "test_distillation_loss_gradient_agrees_with_finite_differences",
           old="        return soft * (self.alpha * temp * temp) + hard * (1.0 - self.alpha)",
           new="        return Tensor((soft * (self.alpha * temp * temp) + hard * (1.0 - self.alpha)).data)",
           expect=r"received no gradient"),
    Mutant(name="distillation teacher left in the graph", file=C, test=D + "test_teacher_logits_receive_no_gradient",
           old="        teacher_log_p = losses.log_softmax(Tensor(t.astype(s.data.dtype) / temp)).data\n"
               "        teacher_p = Tensor(np.exp(teacher_log_p))\n"
               "        student_log_p = losses.log_softmax(s / temp)  # recorded: gradients reach the student\n"
               "        soft = (teacher_p * (Tensor(teacher_log_p) - student_log_p)).sum(axis=-1).mean()",
           new="        teacher_graph = losses.log_softmax(teacher_logits / temp)\n"
               "        teacher_log_p = teacher_graph.data\n"
               "        teacher_p = Tensor(np.exp(teacher_log_p))\n"
               "        student_log_p = losses.log_softmax(s / temp)\n"
               "        soft = (teacher_p * (teacher_graph - student_log_p)).sum(axis=-1).mean()",
           expect=r"teacher's logits must receive no gradient"),
    Mutant(name="distillation loss takes the teacher's dtype", file=C,
           test=D + "test_distillation_loss_keeps_the_dtype_and_checks_shapes[float32]",
           old="        teacher_log_p = losses.log_softmax(Tensor(t.astype(s.data.dtype) / temp)).data",
           new="        teacher_log_p = losses.log_softmax(Tensor(t / temp)).data",
           expect=r"the loss has the student logits' dtype"),
    Mutant(name="distillation accepts a zero temperature", file=C,
           test=D + "test_knowledge_distillation_stores_its_arguments_and_validates_them",
           old="        if not (math.isfinite(temperature) and temperature > 0):",
           new="        if temperature < 0:",
           expect=r"temperature=0\.0\) must raise ValueError"),
    Mutant(name="distillation with other defaults", file=C,
           test=D + "test_knowledge_distillation_stores_its_arguments_and_validates_them",
           old="temperature: float = 3.0, alpha: float = 0.7", new="temperature: float = 4.0, alpha: float = 0.5",
           expect=r"the defaults are TinyTorch's"),
]
