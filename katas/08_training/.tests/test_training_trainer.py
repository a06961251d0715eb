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
    checks.assert_from_kata(Trainer, KATA)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**16), batches=st.integers(1, 4), batch_size=st.integers(1, 4))
@example(seed=0, batches=3, batch_size=4)
def test_train_epoch_returns_mean_batch_loss_and_counts_epochs(seed, batches, batch_size):
    x, y, w, b = problem(seed, batches * batch_size)
    model = linear(w, b)
    trainer = Trainer(model, SpySGD(model.parameters(), lr=0.0), CrossEntropyLoss())
    inputs = {"x": x, "y": y, "weight": w, "bias": b, "batch_size": batch_size}
    per_batch = batch_losses(x, y, w, b, batch_size)
    for epoch in (1, 2):
        got = as_float(trainer.train_epoch(loader(x, y, batch_size)), "train_epoch(loader)", inputs)
        expected = float(np.mean(per_batch))
        if not np.isclose(got, expected, rtol=1e-5, atol=1e-6):
            wrong = [(per_batch[-1], "return the mean over ALL batches, not the last batch's loss"),
                     (per_batch[0], "return the mean over ALL batches, not the first batch's loss"),
                     (sum(per_batch), "return the MEAN of the batch losses, not their sum")]
            hint = next((h for v, h in wrong if np.isclose(got, v, rtol=1e-5, atol=1e-6)),
                        "average float(loss.data) over the batches of the epoch")
            checks.fail("train_epoch(loader) must return the mean of the per-batch losses "
                        "(lr = 0 here, so nothing moves).",
                        f"got {got!r}, expected {expected!r}\nper-batch losses: {per_batch}",
                        inputs=inputs, hint=hint)
        if trainer.epoch != epoch:
            checks.fail(f"After {epoch} call(s) of train_epoch, trainer.epoch must be {epoch}.",
                        f"got {trainer.epoch!r}", hint="increment self.epoch at the end of "
                                                        "train_epoch")


@settings(max_examples=10)
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


@settings(max_examples=10)
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


@settings(max_examples=10)
@given(seed=st.integers(0, 2**16), batches=st.integers(1, 3), batch_size=st.integers(1, 4))
@example(seed=0, batches=3, batch_size=4)
def test_evaluate_returns_mean_loss_and_accuracy_and_changes_nothing(seed, batches, batch_size):
    x, y, w, b = problem(seed, batches * batch_size)
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
    checks.check_close(loss, float(np.mean(per_batch)), "the loss returned by evaluate (mean of "
                       "the per-batch losses)", rtol=1e-5, inputs=inputs,
                       hint="average float(loss.data) over all the batches")
    hits = (np.argmax(x @ w + b, axis=1) == y)  # float32, as the model computes it
    expected = float(hits.mean())
    if not np.isclose(accuracy, expected, rtol=1e-9, atol=1e-12):
        wrong = [(float(hits.sum()), "accuracy is a FRACTION of the samples, not a count"),
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
