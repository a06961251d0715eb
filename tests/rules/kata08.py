"""Kata 08 (training): README rule -> hidden tests that enforce it -> mutants that prove it."""
from tests.rules import rule

C = "test_training_clip.py::"
S = "test_training_schedule.py::"
T = "test_training_trainer.py::"
K = "test_training_checkpoint.py::"

SECTIONS = ["API"]

RULES = [
    # clip_grad_norm
    rule("`params`: an iterable of Tensors (a list, or a generator such as "
         "`iter(model.parameters())`: go through it only once).", C + "test_clip_grad_norm_accepts_a_generator",
         mutants=["clip iterates a generator twice"]),
    rule("Parameters whose `.grad` is `None` are skipped.", C + "test_clip_grad_norm_skips_params_without_grad",
         mutants=["clip gives parameters without a gradient a zero gradient"]),
    rule("A `.grad` may be an np.ndarray or a Tensor (as in kata 07); a clipped one may come back "
         "as either.", C + "test_clip_grad_norm_reads_tensor_grads",
         mutants=["clip_grad_norm does not unwrap Tensor grads"]),
    rule("`norm = sqrt(sum over all parameters of sum(p.grad ** 2))`: ONE norm over all gradients "
         "together", C + "test_clip_grad_norm_above_max_norm_scales_all_grads_by_one_factor",
         C + "test_clip_grad_norm_comes_from_your_kata",
         mutants=["clip_grad_norm returns the sum of the per-parameter norms"]),
    rule("If `norm > max_norm`, every gradient is multiplied by `max_norm / (norm + 1e-6)` (the same "
         "factor for all).", C + "test_clip_grad_norm_above_max_norm_scales_all_grads_by_one_factor",
         mutants=["clip factor inverted (norm / max_norm)", "clip each parameter by its own norm"]),
    rule("Otherwise (`norm <= max_norm`, equality included) nothing changes.",
         C + "test_clip_grad_norm_leaves_grads_untouched_below_max_norm",
         C + "test_clip_grad_norm_at_exactly_max_norm_changes_nothing",
         mutants=["clip always rescales to max_norm", "clip at norm >= max_norm"]),
    rule("Gradients keep their shape and dtype (a float32 grad stays float32).",
         C + "test_clip_grad_norm_above_max_norm_scales_all_grads_by_one_factor",
         mutants=["clipped gradients turn float64"]),
    rule("Returns the norm measured before clipping, as a Python `float`.",
         C + "test_clip_grad_norm_above_max_norm_scales_all_grads_by_one_factor",
         mutants=["clip returns the norm after clipping"]),
    rule("`max_norm` defaults to `1.0`, as in TinyTorch.", C + "test_clip_grad_norm_default_max_norm_is_one",
         mutants=["clip_grad_norm without a default max_norm"]),
    # CosineSchedule
    rule("`get_lr(epoch)` and `__call__(epoch)` (same value) return the Python float "
         "`min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi * epoch / total_epochs))`",
         S + "test_cosine_schedule_matches_the_formula_at_every_epoch", S + "test_cosine_schedule_endpoints",
         mutants=["cosine schedule uses sin", "cosine schedule without the 0.5 factor"]),
    rule("after clipping `epoch` to `[0, total_epochs]`: `max_lr` at epoch 0, `min_lr` at "
         "`total_epochs` and after, `max_lr` for negative epochs.",
         S + "test_cosine_schedule_clips_epochs_outside_the_range",
         mutants=["cosine schedule does not clip the epoch"]),
    rule("The defaults are TinyTorch's.", S + "test_cosine_schedule_defaults_are_tinytorchs",
         mutants=["CosineSchedule without defaults"]),
    rule("`state_dict()` returns `{\"max_lr\": ..., \"min_lr\": ..., \"total_epochs\": ...}` (Python "
         "numbers); `load_state_dict(state)` restores them, also as `np.load` gives them back",
         S + "test_cosine_schedule_state_dict_round_trip",
         mutants=["CosineSchedule.load_state_dict keeps 0-d arrays"]),
    # Trainer
    rule("Stores its arguments as attributes of the same names, and `self.epoch = 0`, `self.step = 0` "
         "(optimizer steps taken so far) and `self.history = {\"train_loss\": [], \"eval_loss\": [], "
         "\"learning_rates\": []}`.", T + "test_trainer_comes_from_your_kata",
         T + "test_train_epoch_records_history_and_counts_optimizer_steps",
         mutants=["history shared between Trainers"]),
    rule("`train_epoch(loader, accumulation_steps=1) -> float`",
         T + "test_train_epoch_accumulates_the_mean_gradient_of_each_group",
         T + "test_train_epoch_returns_mean_batch_loss_and_counts_epochs",
         mutants=["accumulated gradients summed, not averaged"]),
    rule("if `scheduler` is not None: `optimizer.lr = scheduler(self.epoch)` (before the first batch);",
         T + "test_train_epoch_sets_lr_from_scheduler_each_epoch",
         mutants=["scheduler off by one epoch"]),
    rule("`model.train()`;", T + "test_evaluate_runs_in_eval_mode_without_graph_and_restores_the_mode",
         mutants=["train_epoch does not call model.train()"]),
    rule("the batches `(x, y)` of the loader, in order, form groups of `accumulation_steps` batches; "
         "a last group may be shorter (it still takes its step).",
         T + "test_train_epoch_accumulates_the_mean_gradient_of_each_group",
         T + "test_train_epoch_records_history_and_counts_optimizer_steps",
         mutants=["the shorter last group never steps"]),
    rule("For each group: `optimizer.zero_grad()`; for each batch: `out = model(x)`;",
         T + "test_train_epoch_steps_with_each_batchs_own_gradient",
         T + "test_train_epoch_accumulates_the_mean_gradient_of_each_group",
         mutants=["train_epoch never zeroes gradients", "zero_grad before every batch even when accumulating"]),
    rule("then divide every gradient by the number of batches in the group, so that the step sees "
         "their mean", T + "test_train_epoch_accumulates_the_mean_gradient_of_each_group",
         mutants=["accumulated gradients summed, not averaged",
                  "a shorter last group divided by accumulation_steps (TinyTorch's)"]),
    rule("if `grad_clip_norm` is not None: `clip_grad_norm(model.parameters(), grad_clip_norm)`; "
         "`optimizer.step()`; `self.step += 1`.",
         T + "test_train_epoch_clips_gradients_before_step",
         T + "test_train_epoch_accumulates_the_mean_gradient_of_each_group",
         T + "test_train_epoch_records_history_and_counts_optimizer_steps",
         mutants=["clipping applied after step", "clipping the summed gradients before averaging",
                  "step counts batches instead of optimizer steps"]),
    rule("With the default `accumulation_steps=1` every batch is its own group.",
         T + "test_train_epoch_steps_with_each_batchs_own_gradient",
         mutants=["train_epoch never zeroes gradients"]),
    rule("append the epoch's loss (below) to `history[\"train_loss\"]` and `float(optimizer.lr)` to "
         "`history[\"learning_rates\"]` (every epoch, with or without a scheduler), then "
         "`self.epoch += 1`;", T + "test_train_epoch_records_history_and_counts_optimizer_steps",
         T + "test_train_epoch_returns_mean_batch_loss_and_counts_epochs",
         mutants=["learning_rates recorded only with a scheduler (TinyTorch's)"]),
    rule("return the mean of the per-batch loss values (a Python float): every batch counts once, a "
         "smaller last batch too, whatever `accumulation_steps` is.",
         T + "test_train_epoch_returns_mean_batch_loss_and_counts_epochs",
         T + "test_train_epoch_accumulates_the_mean_gradient_of_each_group",
         mutants=["train_epoch returns the last batch loss", "train_epoch weights batch losses by batch size"]),
    rule("With batches of equal size, the mean of a group's gradients is the gradient of the mean "
         "loss over all of their samples", T + "test_train_epoch_accumulates_the_mean_gradient_of_each_group",
         mutants=["accumulated gradients summed, not averaged"]),
    rule("`evaluate(loader) -> (loss, accuracy)`: with the model in eval mode (`model.eval()`) and "
         "inside `no_grad()`", T + "test_evaluate_runs_in_eval_mode_without_graph_and_restores_the_mode",
         T + "test_evaluate_returns_mean_loss_and_accuracy_and_changes_nothing",
         mutants=["evaluate records a graph (no no_grad)"]),
    rule("`loss` is the mean of the per-batch losses (every batch counts once, as in `train_epoch`) and "
         "is appended to `history[\"eval_loss\"]`.",
         T + "test_evaluate_returns_mean_loss_and_accuracy_and_changes_nothing",
         mutants=["evaluate weights batch losses by batch size", "evaluate does not record eval_loss"]),
    rule("`accuracy` is the fraction, in [0, 1], of all samples that are classified right (not a mean "
         "of per-batch accuracies); both are Python floats.",
         T + "test_evaluate_returns_mean_loss_and_accuracy_and_changes_nothing",
         mutants=["accuracy counts instead of a fraction", "accuracy averaged over batches"]),
    rule("Afterwards the model is back in the mode it was in before the call (training or eval).",
         T + "test_evaluate_runs_in_eval_mode_without_graph_and_restores_the_mode",
         mutants=["evaluate leaves the model in eval mode", "evaluate always switches back to training mode"]),
    rule("Accuracy: the targets are class labels, of shape `(B,)` or `(B, 1)`",
         T + "test_evaluate_accuracy_for_every_output_layout",
         T + "test_evaluate_returns_mean_loss_and_accuracy_and_changes_nothing",
         mutants=["targets of shape (B, 1) broadcast against the predictions"]),
    rule("They are compared sample by sample with the predicted classes, never broadcast against them:",
         T + "test_evaluate_accuracy_for_every_output_layout",
         mutants=["targets of shape (B, 1) broadcast against the predictions"]),
    rule("an output of shape `(B, C)` with `C > 1` predicts `argmax` over its last axis;",
         T + "test_evaluate_accuracy_for_every_output_layout",
         T + "test_trainer_learns_a_linearly_separable_problem",
         mutants=["multi-class prediction takes argmax over the batch axis"]),
    rule("a one-column output, of shape `(B, 1)` or `(B,)`, is a binary classifier's probability of "
         "class 1", T + "test_evaluate_accuracy_for_every_output_layout",
         mutants=["one-column outputs use argmax", "binary threshold > 0.5"]),
    rule("`save_checkpoint(path)` / `load_checkpoint(path)`: resumable training.",
         K + "test_trainer_resumes_from_a_checkpoint_exactly", K + "test_trainer_checkpoint_methods_delegate",
         mutants=["Trainer.load_checkpoint does not restore the optimizer"]),
    rule("Save stores the model, `self.optimizer`, `self.scheduler` (when it has a `state_dict()`, as "
         "`CosineSchedule` does) and, as `extra`, `epoch`, `step`, `train_loss`, `eval_loss` and "
         "`learning_rates`", K + "test_trainer_resumes_from_a_checkpoint_exactly",
         K + "test_trainer_checkpoint_methods_delegate",
         mutants=["Trainer.save_checkpoint without the scheduler",
                  "Trainer checkpoints assume the scheduler has a state_dict"]),
    rule("Load restores all of them into this Trainer's own objects (lists of Python floats, int "
         "counters), so that training resumed from a checkpoint continues exactly",
         K + "test_trainer_resumes_from_a_checkpoint_exactly",
         mutants=["Trainer.load_checkpoint does not restore the epoch",
                  "Trainer.load_checkpoint leaves epoch and step as 0-d arrays",
                  "Trainer.load_checkpoint does not restore the history",
                  "Trainer.load_checkpoint does not restore the optimizer"]),
    # save_checkpoint
    rule("The file is an `.npz` written at exactly `path` that `np.load(path, allow_pickle=False)` "
         "reads: `model.parameters()` in order under the keys `param_0, param_1, ...`",
         K + "test_checkpoint_round_trip_restores_every_parameter", K + "test_checkpoints_come_from_your_kata",
         mutants=["parameters saved under other keys"]),
    rule("`optimizer.state_dict()` under `optimizer.<key>`, `scheduler.state_dict()` under "
         "`scheduler.<key>`, and the entries of the dict `extra` (arrays and numbers) under "
         "`extra.<key>`; each part only when it is given.",
         K + "test_checkpoint_with_optimizer_scheduler_and_extra_round_trip",
         K + "test_checkpoint_round_trip_restores_every_parameter",
         mutants=["save without the optimizer state"]),
    rule("Save is atomic: write a temporary file in the same folder as `path`, then `os.replace` it "
         "onto `path`.", K + "test_checkpoint_save_moves_a_temporary_file_from_the_same_folder",
         K + "test_checkpoint_save_interrupted_mid_write_keeps_the_old_file",
         mutants=["temporary file in the system temp folder", "save writes straight to path"]),
    rule("No temporary file is left behind.", K + "test_checkpoint_round_trip_restores_every_parameter",
         mutants=["save copies its temporary file and leaves it"]),
    rule("If the write fails (a full disk, a crash of the array writer), the error propagates, the "
         "file already at `path` (an older checkpoint) is left intact, and the temporary file is removed.",
         K + "test_checkpoint_save_interrupted_mid_write_keeps_the_old_file",
         mutants=["save writes straight to path", "temporary file left behind when the write fails",
                  "a failed save is silenced"]),
    rule("A folder that does not exist raises `FileNotFoundError` whose message contains `path` as "
         "given, and nothing is written.", K + "test_checkpoint_save_into_a_missing_folder_names_the_path",
         mutants=["a missing folder reported by the temporary file's name"]),
    # load_checkpoint
    rule("Loads the parameters into `model`, in place, and, when they are given, the state of "
         "`optimizer` and `scheduler` (through their `load_state_dict`).",
         K + "test_checkpoint_with_optimizer_scheduler_and_extra_round_trip",
         K + "test_checkpoint_round_trip_restores_every_parameter",
         mutants=["load does not hand the state to the optimizer"]),
    rule("Returns the `extra` entries as a dict, keyed without the `extra.` prefix",
         K + "test_checkpoint_with_optimizer_scheduler_and_extra_round_trip",
         mutants=["extra keys returned with their prefix"]),
    rule("missing file: `FileNotFoundError` whose message contains the path;",
         K + "test_checkpoint_missing_file_raises_file_not_found",
         mutants=["a missing file reported as an invalid checkpoint"]),
    rule("truncated, corrupt or not an `.npz`, or not one of ours",
         K + "test_checkpoint_invalid_file_raises_value_error_and_leaves_model",
         mutants=["load lets np.load errors escape", "load ignores unknown keys"]),
    rule("a different number of parameters: `ValueError` naming both counts;",
         K + "test_checkpoint_wrong_count_raises_and_leaves_model",
         mutants=["load without the count check"]),
    rule("a shape mismatch: `ValueError` naming the parameter index and both shapes",
         K + "test_checkpoint_wrong_shape_names_index_and_shapes_and_leaves_model",
         mutants=["shape error without the parameter index"]),
    rule("an `optimizer` (or `scheduler`) given, but the file holds no state for it: `ValueError` whose "
         "message contains `no optimizer state` (or `no scheduler state`)",
         K + "test_checkpoint_load_of_a_state_the_file_lacks_raises_and_changes_nothing",
         mutants=["a missing optimizer state is silently skipped"]),
    rule("an optimizer state that does not fit raises its own `ValueError` (kata 07).",
         K + "test_checkpoint_load_checks_the_optimizer_state_before_touching_the_model",
         mutants=["parameters assigned before the optimizer state is loaded"]),
    rule("Validate everything before assigning anything: a failed load leaves the model, the optimizer "
         "and the scheduler exactly as they were.",
         K + "test_checkpoint_wrong_shape_names_index_and_shapes_and_leaves_model",
         K + "test_checkpoint_load_checks_the_optimizer_state_before_touching_the_model",
         K + "test_checkpoint_load_of_a_state_the_file_lacks_raises_and_changes_nothing",
         mutants=["load assigns before validating every shape",
                  "parameters assigned before the optimizer state is loaded"]),
    rule("Every parameter keeps its Tensor object (an optimizer holds references to them!) and its "
         "dtype: assign into `p.data`, cast to the parameter's dtype",
         K + "test_checkpoint_load_keeps_each_parameters_dtype",
         K + "test_checkpoint_round_trip_restores_every_parameter",
         mutants=["load replaces the parameter dtype", "load casts every parameter to float32 (TinyTorch's)"]),
]

PROSE = [
    "from tinytorch.core.training import (Trainer, CosineSchedule, clip_grad_norm,",
    "save_checkpoint, load_checkpoint)",
    "`total_epochs` is a positive int.",
    "A schedule has no other state: its position is the epoch it is asked about.",
    "Autograd must be enabled (kata 06's `enable_autograd()`) before you train.",
    "(TinyTorch divides by `accumulation_steps` even in a shorter last group",
    "(TinyTorch sets `model.training = False` on the outer model only",
    "A model that outputs logits must apply the sigmoid itself (or threshold them at 0).",
    "The data loader is not part of a checkpoint.",
    "A seeded shuffling `DataLoader` draws a new order at every pass from a generator made once",
    "Randomness outside these objects (NumPy's global generator, which `Dropout` draws from) is not "
    "saved either.",
    "(TinyTorch pickles its checkpoints",
    "Errors:",
    "(TinyTorch's Tensor forces float32; a float64 model, as kata 06's gradient checks use, must stay "
    "float64.)",
]
