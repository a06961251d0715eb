"""Plausible wrong solutions of kata 08 (training)."""
from tests.mutants import Mutant

MUTANTS = [
    Mutant(
        name="clip factor inverted (norm / max_norm)",
        file="training.py", test='test_training_clip.py::test_clip_grad_norm_above_max_norm_scales_all_grads_by_one_factor',
        old="scale = max_norm / (total + CLIP_EPS)",
        new="scale = (total + CLIP_EPS) / max_norm",
        expect=r"the clipping factor is upside down",
    ),
    Mutant(
        name="clip each parameter by its own norm",
        file="training.py", test='test_training_clip.py::test_clip_grad_norm_above_max_norm_scales_all_grads_by_one_factor',
        old="""        for p in with_grad:
            g = _grad_array(p)
            p.grad = (g * scale).astype(g.dtype, copy=False)""",
        new="""        for p in with_grad:
            g = _grad_array(p)
            own = float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))
            if own > max_norm:
                p.grad = (g * (max_norm / (own + CLIP_EPS))).astype(g.dtype, copy=False)""",
        expect=r"clip with ONE global norm over all gradients together",
    ),
    Mutant(
        name="clip always rescales to max_norm",
        file="training.py", test='test_training_clip.py::test_clip_grad_norm_leaves_grads_untouched_below_max_norm',
        old="    if total > max_norm:\n",
        new="    if total > 0:\n",
        expect=r"only clip when the global norm is above max_norm",
    ),
    Mutant(
        name="clip returns the norm after clipping",
        file="training.py", test='test_training_clip.py::test_clip_grad_norm_above_max_norm_scales_all_grads_by_one_factor',
        old="            p.grad = (g * scale).astype(g.dtype, copy=False)\n    return total",
        new="            p.grad = (g * scale).astype(g.dtype, copy=False)\n"
            "        return max_norm\n    return total",
        expect=r"return the norm measured BEFORE clipping",
    ),
    Mutant(
        name="clip iterates a generator twice",
        file="training.py", test='test_training_clip.py::test_clip_grad_norm_accepts_a_generator',
        old="""    with_grad = [p for p in params if p.grad is not None]  # iterate `params` once
    total = math.sqrt(sum(float(np.sum(np.square(_grad_array(p), dtype=np.float64)))
                          for p in with_grad))""",
        new="""    total = math.sqrt(sum(float(np.sum(np.square(_grad_array(p), dtype=np.float64)))
                          for p in params if p.grad is not None))
    with_grad = [p for p in params if p.grad is not None]""",
        expect=r"params may be a generator",
    ),
    Mutant(
        name="cosine schedule uses sin",
        file="training.py", test='test_training_schedule.py::test_cosine_schedule_matches_the_formula_at_every_epoch',
        old="cosine = math.cos(math.pi * t / self.total_epochs)",
        new="cosine = math.sin(math.pi * t / self.total_epochs)",
        expect=r"the schedule follows a cosine",
    ),
    Mutant(
        name="cosine schedule without the 0.5 factor",
        file="training.py", test='test_training_schedule.py::test_cosine_schedule_matches_the_formula_at_every_epoch',
        old="return self.min_lr + 0.5 * (self.max_lr - self.min_lr) * (1.0 + cosine)",
        new="return self.min_lr + (self.max_lr - self.min_lr) * (1.0 + cosine)",
        expect=r"the factor 0\.5 is missing",
    ),
    Mutant(
        name="cosine schedule does not clip the epoch",
        file="training.py", test='test_training_schedule.py::test_cosine_schedule_clips_epochs_outside_the_range',
        old="t = min(max(float(epoch), 0.0), float(self.total_epochs))",
        new="t = float(epoch)",
        expect=r"clip epoch to \[0, total_epochs\]",
    ),
    Mutant(
        name="load assigns before validating every shape",
        file="training.py", test='test_training_checkpoint.py::test_checkpoint_wrong_shape_names_index_and_shapes_and_leaves_model',
        old="""            raise ValueError(f"parameter {i}: checkpoint shape {saved.shape} does not match "
                             f"model shape {p.data.shape}")
    for i, p in enumerate(params):
        p.data = arrays[_key(i)].astype(p.data.dtype)""",
        new="""            raise ValueError(f"parameter {i}: checkpoint shape {saved.shape} does not match "
                             f"model shape {p.data.shape}")
        p.data = saved.astype(p.data.dtype)""",
        expect=r"check the count and every shape BEFORE assigning anything",
    ),
    Mutant(
        name="load replaces the parameter dtype",
        file="training.py", test='test_training_checkpoint.py::test_checkpoint_load_keeps_each_parameters_dtype',
        old="        p.data = arrays[_key(i)].astype(p.data.dtype)",
        new="        p.data = arrays[_key(i)]",
        expect=r"a float64 checkpoint loaded into a float32 model: parameter \d has the wrong dtype",
    ),
    Mutant(
        name="load lets np.load errors escape",
        file="training.py", test='test_training_checkpoint.py::test_checkpoint_invalid_file_raises_value_error_and_leaves_model[a .npy array, not an .npz]',
        old="    except Exception as exc:  # truncated zip, not a zip, a bad member...",
        new="    except KeyError as exc:",
        expect=r"raise ValueError\('\.\.\. not a valid checkpoint \.\.\.'\) instead",
    ),
    Mutant(
        name="train_epoch never zeroes gradients",
        file="training.py", test='test_training_trainer.py::test_train_epoch_steps_with_each_batchs_own_gradient',
        old="            self.optimizer.zero_grad()\n",
        new="",
        expect=r"backward\(\) ADDS to \.grad, so call optimizer\.zero_grad\(\) before every backward",
    ),
    Mutant(
        name="train_epoch returns the last batch loss",
        file="training.py", test='test_training_trainer.py::test_train_epoch_returns_mean_batch_loss_and_counts_epochs',
        old="        return float(np.mean(losses))\n\n    def evaluate",
        new="        return losses[-1]\n\n    def evaluate",
        expect=r"not the last batch's loss",
    ),
    Mutant(
        name="scheduler off by one epoch",
        file="training.py", test='test_training_trainer.py::test_train_epoch_sets_lr_from_scheduler_each_epoch',
        old="self.optimizer.lr = self.scheduler(self.epoch)",
        new="self.optimizer.lr = self.scheduler(self.epoch + 1)",
        expect=r"epoch e \(counting from 0\) must train with lr = scheduler\(e\)",
    ),
    Mutant(
        name="clipping applied after step",
        file="training.py", test='test_training_trainer.py::test_train_epoch_clips_gradients_before_step',
        old="""            if self.grad_clip_norm is not None:
                clip_grad_norm(self.model.parameters(), self.grad_clip_norm)
            self.optimizer.step()""",
        new="""            self.optimizer.step()
            if self.grad_clip_norm is not None:
                clip_grad_norm(self.model.parameters(), self.grad_clip_norm)""",
        expect=r"clip after loss\.backward\(\) and before optimizer\.step\(\)",
    ),
    Mutant(
        name="evaluate leaves the model in eval mode",
        file="training.py", test='test_training_trainer.py::test_evaluate_runs_in_eval_mode_without_graph_and_restores_the_mode',
        old="            if was_training:\n                self.model.train()",
        new="            pass",
        expect=r"a model that was in training mode must be in training mode again",
    ),
    Mutant(
        name="evaluate always switches back to training mode",
        file="training.py", test='test_training_trainer.py::test_evaluate_runs_in_eval_mode_without_graph_and_restores_the_mode',
        old="            if was_training:\n                self.model.train()",
        new="            self.model.train()",
        expect=r"a model that was in eval mode must still be in eval mode",
    ),
    Mutant(
        name="evaluate records a graph (no no_grad)",
        file="training.py", test='test_training_trainer.py::test_evaluate_runs_in_eval_mode_without_graph_and_restores_the_mode',
        old="            with no_grad():\n",
        new="            if True:\n",
        expect=r"evaluate must not record a graph: run the loop under no_grad\(\)",
    ),
    Mutant(
        name="accuracy counts instead of a fraction",
        file="training.py", test='test_training_trainer.py::test_evaluate_returns_mean_loss_and_accuracy_and_changes_nothing',
        old="return float(np.mean(losses)), correct / total",
        new="return float(np.mean(losses)), float(correct)",
        expect=r"accuracy is a FRACTION of the samples, not a count",
    ),
]
