"""Plausible wrong solutions of kata 08 (training)."""
from tests.mutants import Mutant

MUTANTS = [
    Mutant(
        name="clip factor inverted (norm / max_norm)",
        file="training.py",
        old="scale = max_norm / (total + CLIP_EPS)",
        new="scale = (total + CLIP_EPS) / max_norm",
        expect=r"the clipping factor is upside down",
    ),
    Mutant(
        name="clip each parameter by its own norm",
        file="training.py",
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
        file="training.py",
        old="    if total > max_norm:\n",
        new="    if total > 0:\n",
        expect=r"only clip when the global norm is above max_norm",
    ),
    Mutant(
        name="clip returns the norm after clipping",
        file="training.py",
        old="            p.grad = (g * scale).astype(g.dtype, copy=False)\n    return total",
        new="            p.grad = (g * scale).astype(g.dtype, copy=False)\n"
            "        return max_norm\n    return total",
        expect=r"return the norm measured BEFORE clipping",
    ),
    Mutant(
        name="clip iterates a generator twice",
        file="training.py",
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
        file="training.py",
        old="cosine = math.cos(math.pi * t / self.total_epochs)",
        new="cosine = math.sin(math.pi * t / self.total_epochs)",
        expect=r"the schedule follows a cosine",
    ),
    Mutant(
        name="cosine schedule without the 0.5 factor",
        file="training.py",
        old="return self.min_lr + 0.5 * (self.max_lr - self.min_lr) * (1.0 + cosine)",
        new="return self.min_lr + (self.max_lr - self.min_lr) * (1.0 + cosine)",
        expect=r"the factor 0\.5 is missing",
    ),
    Mutant(
        name="cosine schedule does not clip the epoch",
        file="training.py",
        old="t = min(max(float(epoch), 0.0), float(self.total_epochs))",
        new="t = float(epoch)",
        expect=r"clip epoch to \[0, total_epochs\]",
    ),
    Mutant(
        name="load assigns before validating every shape",
        file="training.py",
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
        file="training.py",
        old="        p.data = arrays[_key(i)].astype(p.data.dtype)",
        new="        p.data = arrays[_key(i)]",
        expect=r"a float64 checkpoint loaded into a float32 model: parameter \d has the wrong dtype",
    ),
    Mutant(
        name="load lets np.load errors escape",
        file="training.py",
        old="    except Exception as exc:  # truncated zip, not a zip, a bad member...",
        new="    except KeyError as exc:",
        expect=r"raise ValueError\('\.\.\. not a valid checkpoint \.\.\.'\) instead",
    ),
    Mutant(
        name="train_epoch never zeroes gradients",
        file="training.py",
        old="            self.optimizer.zero_grad()\n",
        new="",
        expect=r"backward\(\) ADDS to \.grad, so call optimizer\.zero_grad\(\) before every backward",
    ),
    Mutant(
        name="train_epoch returns the last batch loss",
        file="training.py",
        old="        return float(np.mean(losses))\n\n    def evaluate",
        new="        return losses[-1]\n\n    def evaluate",
        expect=r"not the last batch's loss",
    ),
    Mutant(
        name="scheduler off by one epoch",
        file="training.py",
        old="self.optimizer.lr = self.scheduler(self.epoch)",
        new="self.optimizer.lr = self.scheduler(self.epoch + 1)",
        expect=r"epoch e \(counting from 0\) must train with lr = scheduler\(e\)",
    ),
    Mutant(
        name="clipping applied after step",
        file="training.py",
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
        file="training.py",
        old="            if was_training:\n                self.model.train()",
        new="            pass",
        expect=r"a model that was in training mode must be in training mode again",
    ),
    Mutant(
        name="evaluate always switches back to training mode",
        file="training.py",
        old="            if was_training:\n                self.model.train()",
        new="            self.model.train()",
        expect=r"a model that was in eval mode must still be in eval mode",
    ),
    Mutant(
        name="evaluate records a graph (no no_grad)",
        file="training.py",
        old="            with no_grad():\n",
        new="            if True:\n",
        expect=r"evaluate must not record a graph: run the loop under no_grad\(\)",
    ),
    Mutant(
        name="accuracy counts instead of a fraction",
        file="training.py",
        old="return float(np.mean(losses)), correct / total",
        new="return float(np.mean(losses)), float(correct)",
        expect=r"accuracy is a FRACTION of the samples, not a count",
    ),
]
