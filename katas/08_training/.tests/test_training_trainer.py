"""Hidden tests for Trainer, end to end with your autograd (kata 06) and optimizers (kata 07).

A spy optimizer (a subclass of your SGD) records the learning rate and the gradients that
each step() sees, so the loop's order (zero_grad, forward, loss, backward, clip, step) is
checked by what reaches the optimizer. With lr = 0 the parameters never move, so every
batch's gradient has a NumPy oracle.
"""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.dataloader import DataLoader, TensorDataset
from tinytorch.core.layers import Layer, Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CosineSchedule, Trainer

KATA = "08_training"
F32, F64 = np.float32, np.float64
EPS = 1e-6

HINT_ZERO_GRAD = ("the gradients grow step after step: backward() ADDS to .grad, so call "
                  "optimizer.zero_grad() before every backward")
HINT_ORDER = ("per batch: zero_grad(), out = model(x), loss = loss_fn(out, y), loss.backward(), "
              "step()")
HINT_OFF_BY_ONE = ("epoch e (counting from 0) must train with lr = scheduler(e): set the lr "
                   "from trainer.epoch BEFORE the first batch, and only then count the epoch")
HINT_PER_SAMPLE = ("this matches the mean over samples (each batch weighted by its size): the "
                   "contract is the plain mean of the per-batch losses, each batch counted once, "
                   "a smaller last batch too")
HINT_PER_BATCH_ACCURACY = ("this matches a mean of per-batch accuracies: accuracy is the fraction "
                           "of ALL samples classified right (count them over the whole loader)")
HINT_LAST_BATCH = ("this matches the last batch's gradient alone: call zero_grad once per group, "
                   "before its first batch, so that backward() adds the group's batches up")
HINT_MODE = ("evaluate must put the model back in the mode it found it in: remember "
             "model.training before calling model.eval()")


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


# ---------------------------------------------------------------- helpers
class SpySGD(SGD):
    """Your SGD, recording what each step() sees."""

    def __init__(self, params, **kwargs):
        super().__init__(params, **kwargs)
        self.seen = []

    def step(self):
        grads = [None if p.grad is None else np.array(getattr(p.grad, "data", p.grad), F64)
                 for p in self.params]
        self.seen.append({"lr": self.lr, "grads": grads})
        super().step()


class Recorder(Layer):
    """Passes x through and notes the mode, the grad mode and whether a graph was built."""

    def __init__(self, log, grad_enabled):
        super().__init__()
        self._log = log
        self._grad_enabled = grad_enabled

    def forward(self, x):
        self._log.append({"training": self.training, "grad_enabled": self._grad_enabled(),
                          "requires_grad": bool(getattr(x, "requires_grad", False)),
                          "graph": getattr(x, "_grad_fn", None) is not None})
        return x

    def parameters(self):
        return []


def problem(seed, n, d=3, c=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(F32)
    y = rng.integers(0, c, size=n)
    w = rng.uniform(-1, 1, size=(d, c)).astype(F32)
    b = rng.uniform(-0.5, 0.5, size=c).astype(F32)
    return x, y, w, b


def linear(w, b):
    layer = Linear(*w.shape)
    layer.weight.data = w.copy()
    layer.bias.data = b.copy()
    return layer


def loader(x, y, batch_size, shuffle=False, seed=None):
    return DataLoader(TensorDataset(Tensor(x), Tensor(y)), batch_size=batch_size,
                      shuffle=shuffle, seed=seed)


def ce(z, y):
    z = np.asarray(z, F64)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def ce_grads(x, y, w, b):
    """d mean CE / d (w, b) for logits x @ w + b."""
    z = np.asarray(x, F64) @ w + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    p /= len(y)
    return [np.asarray(x, F64).T @ p, p.sum(axis=0)]


def batch_losses(x, y, w, b, batch_size):
    z = np.asarray(x, F64) @ w + b
    return [ce(z[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(y), batch_size)]


def as_float(value, what, inputs=None):
    if not isinstance(value, float):
        checks.fail(f"{what} must be a Python float.", f"got {type(value).__name__}: {value!r}",
                    inputs=inputs, hint="convert with float(...)")
    return value


# ---------------------------------------------------------------- tests

def test_trainer_comes_from_your_kata():
    x, y, w, b = problem(0, 4)
    model = linear(w, b)
    opt = SpySGD(model.parameters(), lr=0.1)
    loss = CrossEntropyLoss()
    trainer = Trainer(model, opt, loss)  # runs your code first: the empty stub does not pass
    for name, want in (("model", model), ("optimizer", opt), ("loss_fn", loss),
                       ("scheduler", None), ("grad_clip_norm", None)):
        if getattr(trainer, name, "missing") is not want:
            checks.fail(f"Trainer(model, optimizer, loss_fn) must keep its argument as "
                        f"trainer.{name}.", f"got {getattr(trainer, name, 'no attribute')!r}")
    if getattr(trainer, "epoch", None) != 0:
        checks.fail("A new Trainer must start at trainer.epoch == 0.",
                    f"got {getattr(trainer, 'epoch', 'no attribute')!r}")
    if getattr(trainer, "step", None) != 0:
        checks.fail("A new Trainer must start at trainer.step == 0 (no optimizer step yet).",
                    f"got {getattr(trainer, 'step', 'no attribute')!r}")
    want = {"train_loss": [], "eval_loss": [], "learning_rates": []}
    if getattr(trainer, "history", None) != want:
        checks.fail("A new Trainer must start with trainer.history == "
                    "{'train_loss': [], 'eval_loss': [], 'learning_rates': []}.",
                    f"got {getattr(trainer, 'history', 'no attribute')!r}",
                    hint="TinyTorch's names: three empty lists, filled by train_epoch and evaluate")
    checks.assert_from_kata(Trainer, KATA)


@settings(max_examples=8)
@given(seed=st.integers(0, 2**16), batches=st.integers(1, 4), batch_size=st.integers(1, 4),
       extra=st.integers(0, 3))
@example(seed=0, batches=3, batch_size=4, extra=0)
@example(seed=0, batches=2, batch_size=4, extra=1)  # a last batch of one sample
def test_train_epoch_returns_mean_batch_loss_and_counts_epochs(seed, batches, batch_size, extra):
    extra = extra % batch_size  # 0: every batch full; else a smaller last batch
    x, y, w, b = problem(seed, batches * batch_size + extra)
    model = linear(w, b)
    trainer = Trainer(model, SpySGD(model.parameters(), lr=0.0), CrossEntropyLoss())
    inputs = {"x": x, "y": y, "weight": w, "bias": b, "batch_size": batch_size}
    per_batch = batch_losses(x, y, w, b, batch_size)
    sizes = [len(y[i:i + batch_size]) for i in range(0, len(y), batch_size)]
    for epoch in (1, 2):
        got = as_float(trainer.train_epoch(loader(x, y, batch_size)), "train_epoch(loader)", inputs)
        expected = float(np.mean(per_batch))
        if not np.isclose(got, expected, rtol=1e-5, atol=1e-6):
            wrong = [(float(np.dot(per_batch, sizes) / sum(sizes)), HINT_PER_SAMPLE),
                     (per_batch[-1], "return the mean over ALL batches, not the last batch's loss"),
                     (per_batch[0], "return the mean over ALL batches, not the first batch's loss"),
                     (sum(per_batch), "return the MEAN of the batch losses, not their sum")]
            hint = next((h for v, h in wrong if np.isclose(got, v, rtol=1e-5, atol=1e-6)),
                        "average float(loss.data) over the batches of the epoch")
            checks.fail("train_epoch(loader) must return the mean of the per-batch losses "
                        "(lr = 0 here, so nothing moves).",
                        f"got {got!r}, expected {expected!r}\nper-batch losses: {per_batch}"
                        f"\nbatch sizes: {sizes}",
                        inputs=inputs, hint=hint)
        if trainer.epoch != epoch:
            checks.fail(f"After {epoch} call(s) of train_epoch, trainer.epoch must be {epoch}.",
                        f"got {trainer.epoch!r}", hint="increment self.epoch at the end of "
                                                        "train_epoch")


@settings(max_examples=6)
@given(seed=st.integers(0, 2**16), batch_size=st.integers(1, 4))
@example(seed=0, batch_size=4)
def test_train_epoch_steps_with_each_batchs_own_gradient(seed, batch_size):
    x, y, w, b = problem(seed, batch_size)
    xx, yy = np.concatenate([x, x]), np.concatenate([y, y])  # two identical batches per epoch
    model = linear(w, b)
    opt = SpySGD(model.parameters(), lr=0.0)
    trainer = Trainer(model, opt, CrossEntropyLoss())
    for _ in range(2):
        trainer.train_epoch(loader(xx, yy, batch_size))
    inputs = {"x (each batch)": x, "y": y, "weight": w, "bias": b}
    if len(opt.seen) != 4:
        checks.fail("train_epoch must call optimizer.step() once per batch.",
                    f"2 epochs of 2 batches made {len(opt.seen)} step() calls, expected 4",
                    inputs=inputs, hint=HINT_ORDER)
    expected = ce_grads(x, y, w, b)
    for k, seen in enumerate(opt.seen):
        for name, g, e in zip(("weight", "bias"), seen["grads"], expected):
            if g is None:
                checks.fail(f"At optimizer.step() number {k + 1}, the {name} has no gradient.",
                            inputs=inputs, hint="call loss.backward() before optimizer.step(); "
                                                + HINT_ORDER)
            checks.check_array(g, e, f"the {name} gradient seen by optimizer.step() number "
                               f"{k + 1} (the same batch every step, lr = 0)", inputs=inputs,
                               rtol=1e-4, atol=1e-5,
                               wrong=[((k + 1) * e, HINT_ZERO_GRAD), (k * e, HINT_ORDER)],
                               hint="the gradient at each step must be that batch's own "
                                    "gradient of the mean loss; " + HINT_ORDER)
        if seen["lr"] != 0.0:
            checks.fail("Without a scheduler, train_epoch must leave optimizer.lr alone.",
                        f"lr at step {k + 1}: {seen['lr']!r}, expected 0.0", inputs=inputs)


@settings(max_examples=6)
@given(seed=st.integers(0, 2**16), frac=st.floats(0.05, 0.9))
@example(seed=0, frac=0.1)
def test_train_epoch_clips_gradients_before_step(seed, frac):
    x, y, w, b = problem(seed, 4)
    expected = ce_grads(x, y, w, b)
    norm = float(np.sqrt(sum(np.sum(g ** 2) for g in expected)))
    max_norm = frac * norm
    model = linear(w, b)
    opt = SpySGD(model.parameters(), lr=0.0)
    trainer = Trainer(model, opt, CrossEntropyLoss(), grad_clip_norm=max_norm)
    for _ in range(2):
        trainer.train_epoch(loader(x, y, 4))
    inputs = {"x": x, "y": y, "weight": w, "bias": b, "grad_clip_norm": max_norm}
    for k, seen in enumerate(opt.seen):
        for name, g, e in zip(("weight", "bias"), seen["grads"], expected):
            checks.check_array(g, e * (max_norm / (norm + EPS)),
                               f"the {name} gradient seen by optimizer.step() number {k + 1} "
                               f"with grad_clip_norm={max_norm:.4g} (unclipped norm {norm:.4g})",
                               inputs=inputs, rtol=1e-4, atol=1e-6,
                               wrong=[(e, "clip after loss.backward() and before "
                                          "optimizer.step(): clip_grad_norm(model.parameters(), "
                                          "grad_clip_norm)"),
                                      ((k + 1) * e * (max_norm / (norm + EPS)), HINT_ZERO_GRAD)],
                               hint="with grad_clip_norm set, step() must see the clipped "
                                    "gradients")
    if len(opt.seen) != 2:
        checks.fail("train_epoch must call optimizer.step() once per batch.",
                    f"2 epochs of 1 batch made {len(opt.seen)} step() calls", hint=HINT_ORDER)


def test_train_epoch_sets_lr_from_scheduler_each_epoch():
    x, y, w, b = problem(3, 8)
    calls = []

    def schedule(epoch):
        calls.append(epoch)
        return 0.05 - 0.01 * epoch

    model = linear(w, b)
    opt = SpySGD(model.parameters(), lr=0.5)
    trainer = Trainer(model, opt, CrossEntropyLoss(), scheduler=schedule)
    for _ in range(3):
        trainer.train_epoch(loader(x, y, 4))
    got = np.array([s["lr"] for s in opt.seen], F64)
    expected = np.array([schedule(e) for e in (0, 0, 1, 1, 2, 2)])
    checks.check_array(got, expected, "optimizer.lr at each step of 3 epochs of 2 batches, with "
                       "scheduler(epoch) = 0.05 - 0.01 * epoch",
                       rtol=1e-12, atol=1e-12,
                       wrong=[([schedule(e) for e in (1, 1, 2, 2, 3, 3)], HINT_OFF_BY_ONE),
                              ([0.5, 0.5, schedule(0), schedule(0), schedule(1), schedule(1)],
                               HINT_OFF_BY_ONE)],
                       hint="at the start of each epoch: optimizer.lr = scheduler(trainer.epoch)")
    if trainer.epoch != 3:
        checks.fail("After 3 epochs, trainer.epoch must be 3.", f"got {trainer.epoch!r}",
                    hint="increment self.epoch at the end of train_epoch")

    model = linear(w, b)
    opt = SpySGD(model.parameters(), lr=0.5)
    cosine = CosineSchedule(0.1, 0.0, 3)
    trainer = Trainer(model, opt, CrossEntropyLoss(), scheduler=cosine)
    for _ in range(4):
        trainer.train_epoch(loader(x, y, 8))
    got = np.array([s["lr"] for s in opt.seen], F64)
    expected = np.array([0.0 + 0.05 * (1 + np.cos(np.pi * e / 3)) for e in (0, 1, 2, 3)])
    checks.check_array(got, expected, "optimizer.lr in epochs 0..3 with "
                       "scheduler=CosineSchedule(0.1, 0.0, 3)", rtol=1e-9, atol=1e-12,
                       hint=HINT_OFF_BY_ONE)


def test_trainer_learns_a_linearly_separable_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2))
    direction = np.array([1.0, -2.0]) / np.sqrt(5.0)
    side = np.sign(x @ direction)
    side[side == 0] = 1
    x = (x + 0.5 * side[:, None] * direction).astype(F32)  # a margin of at least 0.5
    y = (side > 0).astype(np.int64)
    np.random.seed(0)
    model = Sequential(Linear(2, 2))
    trainer = Trainer(model, SGD(model.parameters(), lr=0.5), CrossEntropyLoss())
    data = loader(x, y, 16, shuffle=True, seed=0)
    losses = [trainer.train_epoch(data) for _ in range(8)]
    loss, accuracy = trainer.evaluate(loader(x, y, 16))
    inputs = {"x": x, "y": y}
    if not losses[-1] < 0.5 * losses[0]:
        checks.fail("8 epochs of SGD(lr=0.5) on a linearly separable problem must at least "
                    "halve the training loss.", f"epoch losses: {[round(v, 4) for v in losses]}",
                    inputs=inputs, hint=HINT_ORDER)
    if not accuracy >= 0.95:
        checks.fail("After 8 epochs on a linearly separable problem, evaluate must report an "
                    "accuracy of at least 0.95.", f"accuracy {accuracy!r}, loss {loss!r}, epoch "
                    f"losses {[round(v, 4) for v in losses]}", inputs=inputs,
                    hint="accuracy is the fraction of samples whose argmax over the classes "
                         "equals the target; " + HINT_ORDER)


@settings(max_examples=8)
@given(seed=st.integers(0, 2**16), batches=st.integers(1, 3), batch_size=st.integers(1, 4),
       extra=st.integers(0, 3))
@example(seed=0, batches=3, batch_size=4, extra=0)
@example(seed=1, batches=2, batch_size=4, extra=1)  # a last batch of one sample
def test_evaluate_returns_mean_loss_and_accuracy_and_changes_nothing(seed, batches, batch_size,
                                                                      extra):
    extra = extra % batch_size  # 0: every batch full; else a smaller last batch
    x, y, w, b = problem(seed, batches * batch_size + extra)
    model = linear(w, b)
    opt = SpySGD(model.parameters(), lr=0.5)
    marks = [np.full(p.data.shape, 7.0, F32) for p in model.parameters()]
    for p, m in zip(model.parameters(), marks):
        p.grad = m.copy()
    trainer = Trainer(model, opt, CrossEntropyLoss())
    got = trainer.evaluate(loader(x, y, batch_size))
    inputs = {"x": x, "y": y, "weight": w, "bias": b, "batch_size": batch_size}
    if not isinstance(got, tuple) or len(got) != 2:
        checks.fail("evaluate(loader) must return a tuple (loss, accuracy).", f"got {got!r}",
                    inputs=inputs)
    loss = as_float(got[0], "the loss returned by evaluate", inputs)
    accuracy = as_float(got[1], "the accuracy returned by evaluate", inputs)
    per_batch = batch_losses(x, y, w, b, batch_size)
    sizes = [len(y[i:i + batch_size]) for i in range(0, len(y), batch_size)]
    expected_loss = float(np.mean(per_batch))
    if not np.isclose(loss, expected_loss, rtol=1e-5, atol=1e-6):
        per_sample = float(np.dot(per_batch, sizes) / sum(sizes))
        hint = HINT_PER_SAMPLE if np.isclose(loss, per_sample, rtol=1e-5, atol=1e-6) else \
            "average float(loss.data) over all the batches, each batch counted once"
        checks.fail("The loss returned by evaluate must be the mean of the per-batch losses.",
                    f"got {loss!r}, expected {expected_loss!r}\nper-batch losses: {per_batch}"
                    f"\nbatch sizes: {sizes}", inputs=inputs, hint=hint)
    if getattr(trainer, "history", {}).get("eval_loss") != [loss]:
        checks.fail("evaluate must append its loss to trainer.history['eval_loss'].",
                    f"after one evaluate returning {loss!r}: history = "
                    f"{getattr(trainer, 'history', 'no attribute')!r}",
                    inputs=inputs, hint="self.history['eval_loss'].append(loss)")
    hits = (np.argmax(x @ w + b, axis=1) == y)  # float32, as the model computes it
    expected = float(hits.mean())
    if not np.isclose(accuracy, expected, rtol=1e-9, atol=1e-12):
        batch_means = float(np.mean([hits[i:i + batch_size].mean()
                                     for i in range(0, len(y), batch_size)]))
        wrong = [(batch_means, HINT_PER_BATCH_ACCURACY),
                 (float(hits.sum()), "accuracy is a FRACTION of the samples, not a count"),
                 (100 * expected, "accuracy is a fraction in [0, 1], not a percentage")]
        hint = next((h for v, h in wrong if np.isclose(accuracy, v)),
                    "compare argmax over the last axis (classes) of the output with the "
                    "targets as integers, and divide by the number of samples")
        checks.fail("The accuracy returned by evaluate is wrong.",
                    f"got {accuracy!r}, expected {expected!r} ({int(hits.sum())} of {len(y)} "
                    f"samples right)", inputs=inputs, hint=hint)
    if opt.seen:
        checks.fail("evaluate must never call optimizer.step().", inputs=inputs,
                    hint="evaluation only measures; training is train_epoch's job")
    for i, (p, orig, m) in enumerate(zip(model.parameters(), (w, b), marks)):
        if not np.array_equal(p.data, orig):
            checks.fail(f"evaluate changed parameter {i}.", inputs=inputs,
                        hint="evaluation must not update the model")
        g = None if p.grad is None else np.asarray(getattr(p.grad, "data", p.grad))
        if g is None or not np.array_equal(g, m):
            checks.fail(f"evaluate changed the .grad of parameter {i}.",
                        f"before: all 7.0; after: {checks.fmt(g)}", inputs=inputs,
                        hint="evaluate runs under no_grad(): no backward, no zero_grad")


def test_evaluate_runs_in_eval_mode_without_graph_and_restores_the_mode():
    from tinytorch.core.autograd import is_grad_enabled

    x, y, w, b = problem(5, 8)
    log = []
    model = Sequential(linear(w, b), Recorder(log, is_grad_enabled))
    trainer = Trainer(model, SpySGD(model.parameters(), lr=0.0), CrossEntropyLoss())
    data = loader(x, y, 4)

    model.train()
    trainer.evaluate(data)
    if not log:
        checks.fail("evaluate must run the model on every batch.", "the model was never called")
    for entry in log:
        if entry["training"]:
            checks.fail("evaluate must run the model in eval mode.",
                        "a layer saw training == True during evaluate",
                        hint="call model.eval() before the loop (dropout must be off)")
        if entry["grad_enabled"] or entry["requires_grad"] or entry["graph"]:
            checks.fail("evaluate must not record a graph: run the loop under no_grad().",
                        f"inside evaluate: is_grad_enabled() = {entry['grad_enabled']}, the "
                        f"output requires_grad = {entry['requires_grad']}",
                        hint="wrap the evaluation loop in `with no_grad():` from "
                             "tinytorch.core.autograd")
    if not (model.training and model.layers[0].training and model.layers[1].training):
        checks.fail("After evaluate, a model that was in training mode must be in training "
                    "mode again.", f"model.training = {model.training}", hint=HINT_MODE)

    model.eval()
    trainer.evaluate(data)
    if model.training or model.layers[1].training:
        checks.fail("After evaluate, a model that was in eval mode must still be in eval mode.",
                    f"model.training = {model.training}", hint=HINT_MODE)

    log.clear()
    trainer.train_epoch(data)
    if not log or not all(e["training"] for e in log):
        checks.fail("train_epoch must run the model in training mode, even right after "
                    "model.eval().", "a layer saw training == False during train_epoch",
                    hint="call model.train() at the start of train_epoch")
    if not all(e["grad_enabled"] and e["requires_grad"] for e in log):
        checks.fail("train_epoch must record the graph (gradients on).",
                    "the model output did not require grad during train_epoch",
                    hint="do not run the training loop under no_grad()")


def test_train_epoch_records_history_and_counts_optimizer_steps():
    x, y, w, b = problem(4, 10)  # batches of 4, 4 and 2
    other = Trainer(linear(w, b), SpySGD(linear(w, b).parameters(), lr=0.0), CrossEntropyLoss())
    model = linear(w, b)
    trainer = Trainer(model, SpySGD(model.parameters(), lr=0.0), CrossEntropyLoss())
    losses = [trainer.train_epoch(loader(x, y, 4)) for _ in range(2)]
    inputs = {"x": x, "y": y, "batch_size": 4}
    history = getattr(trainer, "history", {})
    if history.get("train_loss") != losses:
        checks.fail("train_epoch must append the loss it returns to trainer.history['train_loss'].",
                    f"returned {losses}, history['train_loss'] = {history.get('train_loss')!r}",
                    inputs=inputs, hint="self.history['train_loss'].append(mean) in every epoch")
    rates = history.get("learning_rates")
    if rates != [0.0, 0.0] or not all(type(r) is float for r in rates):
        checks.fail("train_epoch must append float(optimizer.lr) to "
                    "trainer.history['learning_rates'] in every epoch, also without a scheduler.",
                    f"after 2 epochs at lr 0.0: {rates!r}", inputs=inputs,
                    hint="one entry per epoch keeps it aligned with train_loss (TinyTorch records "
                         "it only when there is a scheduler)")
    if getattr(trainer, "step", None) != 6:
        checks.fail("trainer.step must count optimizer steps: 2 epochs of 3 batches make 6.",
                    f"got {getattr(trainer, 'step', 'no attribute')!r}", inputs=inputs,
                    hint="self.step += 1 after every optimizer.step()")
    trainer.train_epoch(loader(x, y, 4), accumulation_steps=2)
    if trainer.step != 8:
        checks.fail("With accumulation_steps=2, an epoch of 3 batches makes 2 optimizer steps "
                    "(a group of 2, then a last group of 1): trainer.step must go from 6 to 8.",
                    f"got {trainer.step!r}", inputs=inputs,
                    hint="count optimizer steps, not batches; the shorter last group steps too")
    if other.history != {"train_loss": [], "eval_loss": [], "learning_rates": []}:
        checks.fail("Each Trainer must have its own history: training one changed another's.",
                    f"the other Trainer's history: {other.history!r}", inputs=inputs,
                    hint="make the dict and its lists in __init__, not once at class or module "
                         "level")
    model = linear(w, b)
    cosine = CosineSchedule(0.1, 0.0, 3)
    trainer = Trainer(model, SpySGD(model.parameters(), lr=0.5), CrossEntropyLoss(),
                      scheduler=cosine)
    for _ in range(2):
        trainer.train_epoch(loader(x, y, 4))
    checks.check_array(np.array(trainer.history["learning_rates"]),
                       np.array([cosine(0), cosine(1)]),
                       "history['learning_rates'] after 2 epochs with CosineSchedule(0.1, 0.0, 3)",
                       rtol=1e-12, atol=0.0, hint="record the lr each epoch trained with")


@settings(max_examples=8)
@given(seed=st.integers(0, 2**16), k=st.integers(2, 3), groups=st.integers(1, 2),
       rest=st.integers(0, 2), batch_size=st.integers(1, 3), clip=st.booleans(),
       short=st.booleans())
@example(seed=0, k=2, groups=1, rest=1, batch_size=2, clip=False, short=False)  # groups of 2, 1
@example(seed=0, k=3, groups=1, rest=2, batch_size=2, clip=False, short=False)  # 3, then 2 of 3
@example(seed=0, k=2, groups=2, rest=0, batch_size=2, clip=True, short=False)
@example(seed=0, k=2, groups=1, rest=1, batch_size=3, clip=False, short=True)  # last batch of 2
def test_train_epoch_accumulates_the_mean_gradient_of_each_group(seed, k, groups, rest,
                                                                  batch_size, clip, short):
    """Batches of equal size: the mean of a group's gradients is the gradient of one batch
    holding all the group's samples, and that is what each step must see. With a smaller
    last batch (`short`), each batch still counts once in its group's mean."""
    rest = rest % k
    n_batches = groups * k + rest
    short = short and batch_size > 1
    n = n_batches * batch_size - short
    x, y, w, b = problem(seed, n)
    starts = list(range(0, n_batches, k))
    spans = [(g * batch_size, min((g + k) * batch_size, n)) for g in starts]
    if short:  # the mean of the group's per-batch gradients, each batch counted once
        big = [[sum(parts) / len(parts) for parts in zip(*(ce_grads(x[q:q + batch_size],
                                                                    y[q:q + batch_size], w, b)
                                                           for q in range(i, j, batch_size)))]
               for i, j in spans]
    else:  # equal sizes: one big batch per group
        big = [ce_grads(x[i:j], y[i:j], w, b) for i, j in spans]
    norms = [float(np.sqrt(sum(np.sum(g ** 2) for g in gs))) for gs in big]
    max_norm = 0.5 * min(norms) if clip else None
    model = linear(w, b)
    opt = SpySGD(model.parameters(), lr=0.0)
    trainer = Trainer(model, opt, CrossEntropyLoss(), grad_clip_norm=max_norm)
    got = trainer.train_epoch(loader(x, y, batch_size), accumulation_steps=k)
    inputs = {"x": x, "y": y, "weight": w, "bias": b, "batch_size": batch_size,
              "accumulation_steps": k, "grad_clip_norm": max_norm}
    if len(opt.seen) != len(spans):
        hint = {(groups if rest else -1): "a shorter last group still takes its step",
                n_batches: f"with accumulation_steps={k}, step once per group of {k} batches, "
                           "not after every batch"}.get(len(opt.seen), HINT_ORDER)
        checks.fail(f"train_epoch(loader, accumulation_steps={k}) over {n_batches} batches must "
                    f"make {len(spans)} optimizer steps.", f"it made {len(opt.seen)}",
                    inputs=inputs, hint=hint)
    if getattr(trainer, "step", None) != len(spans):
        checks.fail("trainer.step must count the optimizer steps of the epoch.",
                    f"got {getattr(trainer, 'step', 'no attribute')!r}, expected {len(spans)}",
                    inputs=inputs, hint="self.step += 1 per optimizer.step(), not per batch")
    for s_, ((i, j), expected, norm, seen) in enumerate(zip(spans, big, norms, opt.seen)):
        count = -(-(j - i) // batch_size)  # batches in this group
        factor = max_norm / (norm + EPS) if clip else 1.0
        first_of_last = i + (count - 1) * batch_size
        last = ce_grads(x[first_of_last:j], y[first_of_last:j], w, b)
        for name, g, e, e_last in zip(("weight", "bias"), seen["grads"], expected, last):
            wrong = [(count * e * (max_norm / (count * norm + EPS) if clip else 1.0),
                      "this matches the SUM of the group's gradients: divide every gradient by "
                      "the number of batches in the group before the step"),
                     (count / k * e * factor,
                      f"this matches a shorter last group divided by accumulation_steps={k}: "
                      "average over the batches the group really holds (TinyTorch's division "
                      "shrinks that step)"),
                     (e_last, HINT_LAST_BATCH), (e_last / count, HINT_LAST_BATCH)]
            if clip and count > 1:
                summed = count * norm
                scale = max_norm / (summed + EPS) if summed > max_norm else 1.0
                wrong.append((count * e * scale / count,
                              "this matches clipping the summed gradients before averaging them: "
                              "average first, then clip the mean"))
            if g is None:
                checks.fail(f"At optimizer step {s_ + 1}, the {name} has no gradient.",
                            inputs=inputs, hint=HINT_ORDER)
            if short and s_ == len(spans) - 1:
                sizes = [min(batch_size, j - q) for q in range(i, j, batch_size)]
                parts = [ce_grads(x[q:q + batch_size], y[q:q + batch_size], w, b)[name == "bias"]
                         for q in range(i, j, batch_size)]
                wrong.append((sum(p * m for p, m in zip(parts, sizes)) / sum(sizes) * factor,
                              "this matches a mean weighted by batch size: each batch counts "
                              "once in its group's mean, a smaller last batch too"))
            what = ("the mean of the group's per-batch gradients" if short else
                    "the gradient of one batch holding all of the group's samples")
            checks.check_array(g, e * factor, f"the {name} gradient seen by optimizer step "
                               f"{s_ + 1} (group of {count} batch(es); it must equal {what}"
                               + (", clipped" if clip else "") + ")", inputs=inputs,
                               rtol=1e-4, atol=1e-6, wrong=wrong,
                               hint="per group: zero_grad, backward on each batch, divide by the "
                                    "number of batches, clip, step")
    per_batch = batch_losses(x, y, w, b, batch_size)
    checks.check_close(as_float(got, "train_epoch(loader, accumulation_steps)", inputs),
                       float(np.mean(per_batch)), f"train_epoch(loader, accumulation_steps={k}) "
                       "(the mean of the per-batch losses, whatever accumulation_steps is)",
                       rtol=1e-5, inputs=inputs,
                       hint="return the mean of every batch's loss, not one value per group")


class Fixed(Layer):
    """A model with preset outputs: row i of `outputs` for the sample whose x[:, 0] is i."""

    def __init__(self, outputs):
        super().__init__()
        self._outputs = outputs

    def forward(self, x):
        return Tensor(self._outputs[np.asarray(x.data)[:, 0].astype(np.int64)])

    def parameters(self):
        return []


class ConstantLoss:
    def __call__(self, out, y):
        return Tensor(np.array(0.25, F32))


HALF_BELOW = float(np.nextafter(F32(0.5), F32(0)))
PROBS = np.array([0.5, HALF_BELOW, 0.9, 0.1, 0.5, 0.7, 0.2], F32)  # 0.5 itself is class 1
BINARY = np.array([1, 0, 1, 0, 1, 1, 1])
MULTI = np.array([[0.1, 2.0, -1.0], [3.0, 0.5, 0.0], [0.0, 0.2, 0.9], [1.0, -2.0, 0.5],
                  [-0.5, -0.4, -0.6], [0.3, 0.2, 0.1], [2.0, 2.5, 1.0]], F32)
MULTI_Y = np.array([1, 0, 2, 2, 1, 1, 0])


@pytest.mark.parametrize("targets", ["(B,)", "(B, 1)"])
@pytest.mark.parametrize("layout", ["(B, C)", "(B, 1)", "(B,)"])
def test_evaluate_accuracy_for_every_output_layout(layout, targets):
    outputs = {"(B, C)": MULTI, "(B, 1)": PROBS[:, None], "(B,)": PROBS}[layout]
    labels = MULTI_Y if layout == "(B, C)" else BINARY
    idx = np.arange(len(labels), dtype=F32)[:, None]
    y = labels.astype(F32) if targets == "(B,)" else labels.astype(F32)[:, None]
    data = DataLoader(TensorDataset(Tensor(idx), Tensor(y)), batch_size=3)  # 3, 3 and 1
    trainer = Trainer(Fixed(outputs), SpySGD([Tensor(np.zeros(1, F32), requires_grad=True)],
                                             lr=0.0), ConstantLoss())
    got = trainer.evaluate(data)
    accuracy = as_float(got[1], "the accuracy returned by evaluate")

    def score(predict, broadcast=False):
        hits = 0
        for i in range(0, len(labels), 3):
            p, t = predict(outputs[i:i + 3]), labels[i:i + 3]
            hits += np.sum(p[None, :] == t[:, None]) if broadcast else np.sum(p == t)
        return hits / len(labels)

    def argmax(z):
        return np.argmax(z, axis=-1).reshape(-1)

    def threshold(z, strict=False):
        z = z.reshape(-1)
        return (z > 0.5 if strict else z >= 0.5).astype(np.int64)

    right = argmax if layout == "(B, C)" else threshold
    expected = float(score(right))
    inputs = {"model outputs": outputs, "targets": y, "batch_size": 3}
    if np.isclose(accuracy, expected, rtol=0, atol=1e-12):
        return
    wrong = [(score(right, broadcast=True),
              "predictions of shape (B,) were compared with targets of shape (B, 1), which "
              "broadcasts to (B, B): flatten the targets to (B,) and compare sample by sample")]
    if layout != "(B, C)":
        wrong += [(score(argmax, broadcast=True),
                   "argmax over one column is always class 0, and comparing (B,) with (B, 1) "
                   "broadcasts to (B, B): threshold a one-column output at 0.5 and flatten the "
                   "targets"),
                  (score(argmax),
                   "argmax over a single column is always class 0: a one-column output is the "
                   "probability of class 1, class 1 where output >= 0.5"),
                  (score(lambda z: threshold(z, strict=True)),
                   "an output of exactly 0.5 counts as class 1: compare with output >= 0.5, "
                   "not > 0.5")]
    hint = next((h for v, h in wrong if np.isclose(accuracy, v, rtol=0, atol=1e-12)),
                "argmax over the last axis for C > 1 columns, output >= 0.5 for one column; "
                "targets flattened to (B,); count the hits over all samples")
    if accuracy > 1:
        hint = "an accuracy above 1 is impossible: " + hint
    checks.fail(f"evaluate on outputs of shape {layout} with targets of shape {targets} "
                "returns a wrong accuracy.", f"got {accuracy!r}, expected {expected!r}",
                inputs=inputs, hint=hint)
