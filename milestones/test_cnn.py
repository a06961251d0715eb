"""Milestone 1998: a convolutional network (LeCun, Bottou, Bengio and Haffner's LeNet) reads
digits wherever they are, with your own framework.

TinyDigits are placed inside a 16x16 canvas; training uses half of the 81 possible
positions (a checkerboard of offsets), testing the other half, which the networks never
saw. A LeNet-style CNN (your Conv2d, BatchNorm2d, MaxPool2d, Flatten and Linear, trained
by your Adam and Trainer) and an MLP of about the same size are trained the same way.
The CNN's filters are shared over all positions, so what it learns at one offset it
knows at the next, seen or not; the MLP must learn every position separately, and with
the same parameter budget and data it stays far behind, at the offsets it trained on and
further still at the others. Gates run first, so a subtly wrong layer fails with a
reason instead of hiding behind an accuracy figure.
"""
import time

import numpy as np
import pytest

from datasets.shifted_digits import CANVAS, load_shifted_digits
from milestones.common import panel, require
from pytest_tinytorch.checks import fail
from tinytorch import (
    Adam,
    BatchNorm2d,
    Conv2d,
    CosineSchedule,
    CrossEntropyLoss,
    DataLoader,
    Flatten,
    Layer,
    Linear,
    MaxPool2d,
    ReLU,
    Tensor,
    TensorDataset,
    Trainer,
    enable_autograd,
)

CNN_THRESHOLD = 0.90  # test accuracy at unseen offsets
MARGIN = 0.20  # the CNN must beat the MLP by this much there
EPOCHS = 10
LR = 0.005
BATCH = 32
MLP_HIDDEN = 38  # 256*38 + 38 + 38*10 + 10 = 10,156 parameters; the CNN has 10,026


@pytest.fixture(scope="module", autouse=True)
def autograd():
    enable_autograd()


class LeNet(Layer):
    """conv 3x3 (16) -> BN -> ReLU -> pool 2 -> conv 3x3 (32) -> BN -> ReLU -> pool 2 -> Linear.
    One MaxPool2d serves both stages: a pool must not keep a call's state on itself."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = Conv2d(1, 16, 3, padding=1), BatchNorm2d(16)
        self.conv2, self.bn2 = Conv2d(16, 32, 3, padding=1), BatchNorm2d(32)
        self.pool, self.relu, self.flatten = MaxPool2d(2), ReLU(), Flatten()
        self.fc = Linear(32 * (CANVAS // 4) ** 2, 10)

    def forward(self, x):
        x = self.pool(self.relu(self.bn1(self.conv1(x))))
        x = self.pool(self.relu(self.bn2(self.conv2(x))))
        return self.fc(self.flatten(x))


class MLP(Layer):
    def __init__(self, hidden: int = MLP_HIDDEN):
        super().__init__()
        self.flatten, self.hidden = Flatten(), Linear(CANVAS * CANVAS, hidden)
        self.relu, self.out = ReLU(), Linear(hidden, 10)

    def forward(self, x):
        return self.out(self.relu(self.hidden(self.flatten(x))))


def count(model) -> int:
    return int(sum(p.data.size for p in model.parameters()))


# ---------------------------------------------------------------- gates

def _arr(g):
    return None if g is None else np.asarray(getattr(g, "data", g), dtype=np.float64)


def _xcorr(x, w, b, stride, padding):
    """The cross-correlation out[n, o, y, x] = b[o] + sum xp[n, c, y*sh + i, x*sw + j] w[o, c, i, j]."""
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = w.shape[2:]
    ho, wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for y in range(ho):
        for xx in range(wo):
            out[:, :, y, xx] = np.einsum("ncij,ocij->no", xp[:, :, y * sh:y * sh + kh, xx * sw:xx * sw + kw], w)
    return out + b[None, :, None, None]


def _directional(f, tensors, grads, rng, eps=1e-6):
    """Per tensor: (backward's <u, grad>, the central difference of f along u)."""
    pairs = []
    for t, g in zip(tensors, grads):
        u, base = rng.standard_normal(t.shape), t.data.copy()
        t.data = base + eps * u
        plus = f()
        t.data = base - eps * u
        minus = f()
        t.data = base
        pairs.append((float(np.sum(u * g)), (plus - minus) / (2 * eps)))
    return pairs


def gate_conv():
    """Conv2d is a cross-correlation, and its three gradients match finite differences."""
    rng = np.random.default_rng(1998)
    conv = Conv2d(2, 3, 3, stride=(1, 2), padding=1)
    x = Tensor(rng.standard_normal((2, 2, 5, 6)), requires_grad=True)
    w, b = rng.standard_normal(conv.weight.shape), rng.standard_normal(3)
    conv.weight, conv.bias = Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)
    out = conv(x)
    expected = _xcorr(x.data, w, b, (1, 2), (1, 1))
    got = np.asarray(out.data, dtype=np.float64)
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=1e-6, atol=1e-8):
        flipped = _xcorr(x.data, w[:, :, ::-1, ::-1], b, (1, 2), (1, 1))
        fail("Gate (Conv2d): Conv2d(2, 3, 3, stride=(1, 2), padding=1) must compute the "
             "cross-correlation of kata 09.", f"got shape {got.shape}, expected {expected.shape}",
             hint="the kernel is flipped in forward: Conv2d does not flip it (as PyTorch)"
             if got.shape == flipped.shape and np.allclose(got, flipped, rtol=1e-6, atol=1e-8)
             else "out[n, o, y, x] = bias[o] + sum over c, i, j of xpad[n, c, y*sh + i, x*sw + j] * weight[o, c, i, j]")
    g = rng.standard_normal(got.shape)
    out.backward(g)
    tensors = {"input": x, "weight": conv.weight, "bias": conv.bias}
    grads = {}
    for name, t in tensors.items():
        grads[name] = _arr(t.grad)
        if grads[name] is None or not np.any(grads[name]):
            fail(f"Gate (Conv2d): the {name} must receive a non-zero gradient.",
                 f"its .grad is {'None' if grads[name] is None else 'all zeros'} after backward()",
                 hint="is Conv2dFn.backward returning zeros, or is the output not recorded with "
                      "record(..., (x, weight, bias))?")

    def loss():
        return float(np.sum(np.asarray(conv(x).data, dtype=np.float64) * g))

    for name, (analytic, numeric) in zip(tensors, _directional(loss, tensors.values(), grads.values(), rng)):
        if not np.isclose(analytic, numeric, rtol=1e-5, atol=1e-8):
            fail(f"Gate (Conv2d): the gradient of the {name} must match finite differences.",
                 f"along a random direction: backward gives {analytic:.6g}, finite differences give {numeric:.6g}",
                 hint="Conv2dFn.backward must be the gradient of the forward: the weight that "
                      "multiplied xpad[y*sh + i, x*sw + j] carries the gradient back there, unflipped")


def gate_max_pool():
    """Each window's gradient goes to its maximum (distinct values, overlapping windows too)."""
    rng = np.random.default_rng(1998)
    for pool, shape in ((MaxPool2d(2), (2, 2, 4, 6)), (MaxPool2d(3, stride=2, padding=1), (1, 2, 5, 5))):
        k, s, p = pool.kernel_size, pool.stride, pool.padding
        data = (rng.permutation(int(np.prod(shape))) / 7.0 - 3.0).reshape(shape)
        x = Tensor(data, requires_grad=True)
        out = pool(x)
        g = rng.standard_normal(np.shape(out.data))
        out.backward(g)
        xp = np.pad(data, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=-np.inf)
        expected = np.zeros_like(xp)
        for n in range(shape[0]):
            for c in range(shape[1]):
                for y in range(g.shape[2]):
                    for xx in range(g.shape[3]):
                        win = xp[n, c, y * s[0]:y * s[0] + k[0], xx * s[1]:xx * s[1] + k[1]]
                        i, j = np.unravel_index(np.argmax(win), win.shape)
                        expected[n, c, y * s[0] + i, xx * s[1] + j] += g[n, c, y, xx]
        expected = expected[:, :, p[0]:p[0] + shape[2], p[1]:p[1] + shape[3]]
        got = _arr(x.grad)
        if got is None or got.shape != expected.shape or not np.allclose(got, expected, atol=1e-9):
            fail(f"Gate (MaxPool2d): MaxPool2d(kernel_size={k}, stride={s}, padding={p}) must send each "
                 "window's gradient to the element holding its maximum.",
                 "its gradient is None" if got is None else
                 f"the gradient reached {int(np.count_nonzero(got))} elements of x, the maxima are "
                 f"{int(np.count_nonzero(expected))}; first wrong at "
                 f"{tuple(int(v) for v in np.argwhere(~np.isclose(got, expected, atol=1e-9))[0]) if got.shape == expected.shape else 'shape ' + str(got.shape)}",
                 hint="keep each window's argmax from forward and add g there in backward "
                      "(row = index // kw, column = index % kw, offset by the window's corner)")


def gate_flatten():
    x = Tensor(np.arange(24, dtype=np.float64).reshape(2, 3, 2, 2), requires_grad=True)
    out = Flatten()(x)
    g = np.random.default_rng(1998).standard_normal((2, 12))
    if tuple(np.shape(out.data)) != (2, 12):
        fail("Gate (Flatten): Flatten() must turn (2, 3, 2, 2) into (2, 12).", f"got {np.shape(out.data)}")
    out.backward(g)
    if x.grad is None or not np.allclose(_arr(x.grad), g.reshape(x.shape)):
        fail("Gate (Flatten): the gradient must flow back through Flatten to its input.",
             "its input's .grad is " + ("None: the graph is cut" if x.grad is None else "wrong"),
             hint="Flatten must reshape the Tensor itself (x.reshape(N, -1)); a Tensor re-wrapped from "
                  "x.data has no graph behind it, and every layer before it stops learning")


def gate_batchnorm():
    """Eval mode normalizes with the running statistics that training mode accumulated."""
    rng = np.random.default_rng(1998)
    bn = BatchNorm2d(3)
    for _ in range(3):
        bn(Tensor((rng.standard_normal((4, 3, 3, 3)) * 2 + 1).astype(np.float32)))
    bn.eval()
    x = (rng.standard_normal((2, 3, 3, 3)) * 5 - 2).astype(np.float32)
    out = np.asarray(bn(Tensor(x)).data, dtype=np.float64)
    rm, rv = np.asarray(bn.running_mean, np.float64), np.asarray(bn.running_var, np.float64)
    expected = (x - rm[None, :, None, None]) / np.sqrt(rv[None, :, None, None] + bn.eps)
    bn.train()
    if out.shape != expected.shape or not np.allclose(out, expected, rtol=1e-4, atol=1e-4):
        mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        batch = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + bn.eps)
        fail("Gate (BatchNorm2d): in eval mode BatchNorm2d must normalize with its running statistics.",
             f"got {out.reshape(-1)[:4].round(4).tolist()}..., expected {expected.reshape(-1)[:4].round(4).tolist()}...",
             hint="this used the batch's own mean and variance in eval mode: after model.eval() "
                  "(self.training False) use running_mean and running_var"
             if out.shape == batch.shape and np.allclose(out, batch, rtol=1e-4, atol=1e-4) else
             "eval mode: y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta")


def gate_network(model, x, y):
    """Every parameter of the CNN gets a non-zero gradient, and backward agrees with finite
    differences of the whole network's loss (float64, one random direction)."""
    ce = CrossEntropyLoss()
    params = model.parameters()
    require(len(params) == 10, "Gate (LeNet): the CNN must have 10 parameter tensors.",
            f"parameters() found {len(params)}",
            hint="Conv2d has weight and bias, BatchNorm2d gamma and beta, Linear weight and bias")
    saved = [p.data for p in params]
    means = [(b.running_mean.copy(), b.running_var.copy()) for b in (model.bn1, model.bn2)]
    try:
        for p in params:
            p.data, p.grad = p.data.astype(np.float64), None
        x64 = Tensor(x.astype(np.float64))
        ce(model(x64), y).backward()
        grads = [_arr(p.grad) for p in params]
        for i, (p, g) in enumerate(zip(params, grads)):
            if g is None or not np.any(g):
                fail("Gate (LeNet): every parameter must receive a non-zero gradient.",
                     f"parameter {i} (shape {tuple(p.shape)}) got {'no gradient' if g is None else 'an all-zero gradient'}",
                     hint="is the graph cut somewhere (a Tensor re-wrapped from .data, in Flatten or a "
                          "layer's forward), or does a backward return zeros?")
        rng = np.random.default_rng(1998)
        directions = [rng.standard_normal(p.shape) for p in params]
        base = [p.data.copy() for p in params]

        def loss_at(sign):
            for p, b, u in zip(params, base, directions):
                p.data = b + sign * 1e-6 * u
            return float(ce(model(x64), y).data)

        numeric = (loss_at(1) - loss_at(-1)) / 2e-6
        analytic = float(sum(np.sum(g * u) for g, u in zip(grads, directions)))
        if not np.isclose(analytic, numeric, rtol=1e-4, atol=1e-7):
            fail("Gate (LeNet): backpropagated gradients must match finite differences.",
                 f"along a random direction: backward gives {analytic:.6g}, finite differences give {numeric:.6g}",
                 hint="check each kata-09 backward against finite differences on its own")
    finally:
        for p, s in zip(params, saved):
            p.data, p.grad = s, None
        for b, (m, v) in zip((model.bn1, model.bn2), means):  # the gate's batch is not training
            b.running_mean, b.running_var = m, v


# ---------------------------------------------------------------- training

def train(model, data, seed: int):
    """(train losses, accuracy at unseen offsets per epoch, accuracy at seen offsets)."""
    loader = DataLoader(TensorDataset(Tensor(data.x_train), Tensor(data.y_train)), batch_size=BATCH,
                        shuffle=True, seed=seed)
    unseen = DataLoader(TensorDataset(Tensor(data.x_test), Tensor(data.y_test)), batch_size=200)
    seen = DataLoader(TensorDataset(Tensor(data.x_seen), Tensor(data.y_seen)), batch_size=200)
    trainer = Trainer(model, Adam(model.parameters(), lr=LR), CrossEntropyLoss(),
                      scheduler=CosineSchedule(LR, LR / 20, EPOCHS))
    losses, accuracies = [], []
    for _ in range(EPOCHS):
        losses.append(trainer.train_epoch(loader))
        accuracies.append(trainer.evaluate(unseen)[1])
    return losses, accuracies, trainer.evaluate(seen)[1]


def cnn_run(seed: int = 1998, gate: bool = True) -> dict:
    """Train the CNN and the MLP under `seed` (initial weights, batch order); their figures."""
    data = load_shifted_digits()
    np.random.seed(seed)
    cnn = LeNet()
    if gate:
        gate_conv()
        gate_max_pool()
        gate_flatten()
        gate_batchnorm()
        gate_network(cnn, data.x_train[:8], data.y_train[:8])
    start = time.perf_counter()
    losses, accuracies, seen = train(cnn, data, seed)
    cnn_seconds = time.perf_counter() - start
    np.random.seed(seed)
    mlp = MLP()
    mlp_losses, mlp_accuracies, mlp_seen = train(mlp, data, seed)
    return {"cnn_losses": losses, "cnn_accuracies": accuracies, "cnn": accuracies[-1], "cnn_seen": seen,
            "mlp_losses": mlp_losses, "mlp_accuracies": mlp_accuracies, "mlp": mlp_accuracies[-1],
            "mlp_seen": mlp_seen, "cnn_params": count(cnn), "mlp_params": count(mlp),
            "cnn_seconds": cnn_seconds, "filters": np.array(cnn.conv1.weight.data, dtype=np.float64),
            "sizes": (len(data.x_train), len(data.x_test), len(data.train_offsets), len(data.test_offsets))}


SHADES = " ░▒▓█"


def filter_maps(weights, shown: int = 8) -> str:
    """The first `shown` 3x3 filters of the first layer as character maps, side by side
    (dark = negative, bright = positive, each filter on its own scale)."""
    rows = []
    maps = [w[0] for w in weights[:shown]]
    for r in range(maps[0].shape[0]):
        cells = []
        for m in maps:
            lo, hi = m.min(), m.max()
            scaled = (m[r] - lo) / (hi - lo) if hi > lo else np.zeros_like(m[r])
            cells.append("".join(SHADES[int(round(v * (len(SHADES) - 1)))] * 2 for v in scaled))
        rows.append(" ".join(cells))
    return "\n".join(rows)


def test_cnn_reads_digits_at_unseen_positions(record_property):
    start = time.perf_counter()
    r = cnn_run()
    n_train, n_test, k_train, k_test = r["sizes"]
    panel(record_property, "Milestone 1998: a convolutional network reads digits anywhere",
          {"data": f"TinyDigits in a {CANVAS}x{CANVAS} canvas: {n_train} training images at {k_train} "
                   f"offsets, {n_test} test images at the {k_test} others",
           "CNN": f"LeNet-style: conv 3x3 (16) + BN + ReLU + max-pool, conv 3x3 (32) + BN + ReLU + "
                  f"max-pool, Flatten, Linear: {r['cnn_params']:,} parameters",
           "MLP": f"Flatten, Linear(256, {MLP_HIDDEN}), ReLU, Linear({MLP_HIDDEN}, 10): {r['mlp_params']:,} parameters",
           "training": f"both: Adam lr {LR} with a cosine schedule, batch {BATCH}, {EPOCHS} epochs, your Trainer",
           "CNN accuracy": f"{r['cnn']:.1%} at unseen offsets (threshold {CNN_THRESHOLD:.0%}), "
                           f"{r['cnn_seen']:.1%} at training offsets",
           "MLP accuracy": f"{r['mlp']:.1%} at unseen offsets, {r['mlp_seen']:.1%} at training offsets",
           "CNN - MLP": f"{r['cnn'] - r['mlp']:+.1%} at unseen offsets (at least +{MARGIN:.0%})",
           "first-layer filters": filter_maps(r["filters"]),
           "time": f"{time.perf_counter() - start:.1f} s ({r['cnn_seconds']:.1f} s training the CNN)"},
          {"CNN train loss": r["cnn_losses"], "CNN accuracy": r["cnn_accuracies"],
           "MLP accuracy": r["mlp_accuracies"]}, bounds=None)
    require(r["cnn_losses"][-1] <= r["cnn_losses"][0] / 2, "Milestone: the CNN's training loss must fall by at least half.",
            f"loss per epoch: {[round(v, 4) for v in r['cnn_losses']]}",
            hint="the gates passed: look at the optimizer, the Trainer loop and BatchNorm's running statistics")
    require(r["cnn"] >= CNN_THRESHOLD,
            f"Milestone: the CNN must reach {CNN_THRESHOLD:.0%} test accuracy at unseen offsets.",
            f"it reached {r['cnn']:.1%}; per epoch: {[round(a, 3) for a in r['cnn_accuracies']]}",
            hint="a CNN that learns well at training offsets but not at unseen ones points at padding or "
                 "stride handling; one that learns slowly everywhere at the gradients")
    require(r["cnn"] - r["mlp"] >= MARGIN,
            f"Milestone: the CNN must beat the MLP by {MARGIN:.0%} at unseen offsets.",
            f"CNN {r['cnn']:.1%}, MLP {r['mlp']:.1%}",
            hint="both train on the same data with the same optimizer: compare their accuracies at "
                 "training offsets too")
