"""Milestone 1986: backpropagation (Rumelhart, Hinton and Williams) on your own framework.

Part one: a two-layer network learns XOR, the problem a single layer cannot solve
(milestone xor). Part two: a multi-layer perceptron reads handwritten digits (TinyDigits).
Every piece is yours: Tensor, layers, activations, losses, autograd, optimizers,
DataLoader and Trainer. Gates run first, so a subtly wrong gradient fails with a reason
instead of hiding behind a lucky accuracy figure.
"""
import numpy as np
import pytest

from datasets import load_tinydigits
from milestones.common import panel, require
from pytest_tinytorch.checks import fail
from tinytorch import (Adam, BinaryCrossEntropyLoss, CrossEntropyLoss, DataLoader, Layer, Linear,
                       ReLU, SGD, Sigmoid, Tanh, Tensor, TensorDataset, Trainer, enable_autograd)

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float32)
DIGITS_THRESHOLD = 0.85


@pytest.fixture(scope="module", autouse=True)
def autograd():
    enable_autograd()


class XorNet(Layer):
    def __init__(self, hidden: int = 8):
        super().__init__()
        self.hidden, self.act, self.out, self.squash = Linear(2, hidden), Tanh(), Linear(hidden, 1), Sigmoid()

    def forward(self, x):
        return self.squash(self.out(self.act(self.hidden(x))))


class DigitsNet(Layer):
    """An MLP with one residual connection: `h` is used twice, so a dropped fan-in
    contribution in backward shows up as a wrong gradient."""

    def __init__(self, hidden: int = 64):
        super().__init__()
        self.inp, self.mid, self.out, self.relu = Linear(64, hidden), Linear(hidden, hidden), Linear(hidden, 10), ReLU()

    def forward(self, x):
        h = self.relu(self.inp(x))
        h = h + self.relu(self.mid(h))
        return self.out(h)


def gate_gradients(model, x, loss_of, what: str):
    """Every parameter gets a non-zero gradient, and backward agrees with finite
    differences of the whole network's loss (float64, random direction)."""
    params = model.parameters()
    require(len(params) > 0, f"Gate ({what}): the model must have parameters.", "parameters() is empty",
            hint="Layer.parameters() must find the Linear layers stored as attributes")
    for p in params:
        p.grad = None
    loss = loss_of(model(x))
    loss.backward()
    for i, p in enumerate(params):
        g = p.grad
        if g is None or not np.any(np.asarray(getattr(g, "data", g))):
            fail(f"Gate ({what}): every parameter must receive a non-zero gradient.",
                 f"parameter {i} (shape {tuple(p.shape)}) got {'no gradient' if g is None else 'an all-zero gradient'}",
                 hint="is the graph cut somewhere (a Tensor re-wrapped from .data), or are gradients zeroed?")

    # Finite differences in float64 on a copy of the parameters.
    saved = [p.data for p in params]
    rng = np.random.default_rng(1986)
    try:
        for p in params:
            p.data = p.data.astype(np.float64)
            p.grad = None
        x64 = Tensor(x.data.astype(np.float64))
        loss = loss_of(model(x64))
        loss.backward()
        grads = [np.asarray(getattr(p.grad, "data", p.grad), dtype=np.float64) for p in params]
        directions = [rng.standard_normal(p.shape) for p in params]
        eps = 1e-6
        base = [p.data.copy() for p in params]

        def loss_at(sign):
            for p, b, u in zip(params, base, directions):
                p.data = b + sign * eps * u
            return float(loss_of(model(x64)).data)

        numeric = (loss_at(+1) - loss_at(-1)) / (2 * eps)
        analytic = float(sum(np.sum(g * u) for g, u in zip(grads, directions)))
        if not np.isclose(analytic, numeric, rtol=1e-4, atol=1e-7):
            fail(f"Gate ({what}): backpropagated gradients must match finite differences.",
                 f"directional derivative along a random direction: backward gives {analytic:.6g}, "
                 f"finite differences give {numeric:.6g}",
                 hint="a tensor used twice must accumulate both gradient contributions; "
                      "check Function backward rules and un-broadcasting")
    finally:
        for p, s in zip(params, saved):
            p.data, p.grad = s, None


def xor_run(seed: int = 1986, gate: bool = True):
    """(losses, accuracies, final accuracy) of the XOR network trained under `seed`."""
    np.random.seed(seed)
    model = XorNet()
    bce = BinaryCrossEntropyLoss()
    x, y = Tensor(XOR_X), Tensor(XOR_Y)
    if gate:
        gate_gradients(model, x, lambda out: bce(out, y), "XOR network")
    optimizer = Adam(model.parameters(), lr=0.05)
    losses, accuracies = [], []
    for _ in range(400):
        optimizer.zero_grad()
        out = model(x)
        loss = bce(out, y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.data))
        accuracies.append(float(np.mean((out.data > 0.5) == (XOR_Y > 0.5))))
    return losses, accuracies, float(np.mean((model(x).data > 0.5) == (XOR_Y > 0.5)))


def test_backprop_solves_xor(record_property):
    losses, accuracies, final = xor_run()
    panel(record_property, "Milestone 1986, part one: backprop solves XOR",
          {"network": "Linear(2, 8) -> Tanh -> Linear(8, 1) -> Sigmoid, Adam, BCE",
           "loss first -> last": f"{losses[0]:.4f} -> {losses[-1]:.4f}",
           "accuracy": f"{final:.0%} (a single layer is stuck at 75%)"},
          {"loss": losses, "accuracy": accuracies}, bounds=None)
    require(losses[-1] <= losses[0] / 2, "Milestone: the XOR loss must fall by at least half.",
            f"loss went from {losses[0]:.4f} to {losses[-1]:.4f}",
            hint="does optimizer.step() move parameters against their gradients?")
    require(final == 1.0, "Milestone: backprop must solve XOR (100% accuracy).", f"accuracy {final:.0%}",
            hint="two layers can separate XOR; check gradients through Tanh and Sigmoid")


def digits_run(seed: int = 1986, gate: bool = True):
    """(losses, test accuracies per epoch, sizes) of the digits MLP trained under `seed`."""
    np.random.seed(seed)
    x_train, y_train, x_test, y_test = load_tinydigits()
    x_train, x_test = x_train.reshape(len(x_train), 64), x_test.reshape(len(x_test), 64)
    model = DigitsNet()
    ce = CrossEntropyLoss()
    if gate:
        gate_gradients(model, Tensor(x_train[:16]), lambda out: ce(out, y_train[:16]), "digits MLP")

    train = DataLoader(TensorDataset(Tensor(x_train), Tensor(y_train)), batch_size=32, shuffle=True, seed=seed)
    test = DataLoader(TensorDataset(Tensor(x_test), Tensor(y_test)), batch_size=100)
    trainer = Trainer(model, SGD(model.parameters(), lr=0.1, momentum=0.9), ce)
    first_loss, _ = trainer.evaluate(train)
    losses, accuracies = [first_loss], []
    for _ in range(15):
        losses.append(trainer.train_epoch(train))
        accuracies.append(trainer.evaluate(test)[1])
    return losses, accuracies, (len(x_train), len(x_test))


def test_mlp_reads_handwritten_digits(record_property):
    losses, accuracies, (n_train, n_test) = digits_run()
    final = accuracies[-1]
    panel(record_property, "Milestone 1986, part two: an MLP reads digits",
          {"data": f"TinyDigits: {n_train} train, {n_test} test, 8x8 pixels, 10 classes",
           "network": "Linear(64, 64) -> ReLU -> residual Linear(64, 64) -> ReLU -> Linear(64, 10)",
           "training": "SGD momentum 0.9, lr 0.1, batch 32, 15 epochs, your Trainer and DataLoader",
           "loss first -> last": f"{losses[0]:.4f} -> {losses[-1]:.4f}",
           "test accuracy": f"{final:.1%} (threshold {DIGITS_THRESHOLD:.0%})"},
          {"train loss": losses, "test accuracy": accuracies}, bounds=None)
    require(losses[-1] <= losses[0] / 2, "Milestone: the digits loss must fall by at least half.",
            f"loss went from {losses[0]:.4f} to {losses[-1]:.4f}",
            hint="check Trainer.train_epoch: zero_grad, forward, loss, backward, step for every batch")
    require(final >= DIGITS_THRESHOLD, f"Milestone: the MLP must reach {DIGITS_THRESHOLD:.0%} test accuracy.",
            f"it reached {final:.1%}; per epoch: {[round(a, 3) for a in accuracies]}",
            hint="the gates passed, so look at the optimizer update and the DataLoader batches")
