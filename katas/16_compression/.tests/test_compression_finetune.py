"""Hidden tests for keep_pruned: pruned weights stay exactly zero through fine-tuning
(kata 08 Trainer epochs, SGD with momentum built before pruning and weight decay, Adam,
AdamW) while every other weight and every bias trains exactly as it would without it."""
import numpy as np
import pytest

from pytest_tinytorch import checks
from tinytorch.core.activations import ReLU
from tinytorch.core.dataloader import DataLoader, TensorDataset
from tinytorch.core.layers import Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import SGD, Adam, AdamW
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import Trainer
from tinytorch.perf.compression import keep_pruned

import compression_kit as kit
from compression_kit import F32, KATA


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


OPTIMIZERS = {  # id -> (description, factory)
    "sgd": ("SGD(lr=0.1, momentum=0.9, weight_decay=0.01)", lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01)),
    "adam": ("Adam(lr=0.05)", lambda ps: Adam(ps, lr=0.05)),
    "adamw": ("AdamW(lr=0.05, weight_decay=0.1)", lambda ps: AdamW(ps, lr=0.05, weight_decay=0.1)),
}


def build(seed):
    rng = np.random.default_rng(seed)
    a = kit.linear(4, 6, seed, values=rng.uniform(-1, 1, (4, 6)))
    b = kit.linear(6, 3, seed + 1, values=rng.uniform(-1, 1, (6, 3)))
    for layer in (a, b):
        layer.bias.data[...] = 0  # as kata 03 builds them
    return Sequential(a, ReLU(), b)


def copy_into(src, dst):
    for p, q in zip(src.parameters(), dst.parameters()):
        q.data = p.data.copy()


def prune_smallest(model, fraction):
    """The test's own pruning: the smallest |w| of each weight matrix set to 0."""
    for p in kit.weights_of(model):
        k = int(round(fraction * p.data.size))
        idx = np.argsort(np.abs(p.data), axis=None)[:k]
        p.data.flat[idx] = 0


def loader(seed):
    rng = np.random.default_rng(seed + 100)
    x = rng.uniform(-1, 1, (12, 4)).astype(F32)
    y = rng.integers(0, 3, 12)
    return DataLoader(TensorDataset(Tensor(x), Tensor(y)), batch_size=4)


@pytest.mark.parametrize("when", ["fresh", "after-an-epoch"])
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_pruned_weights_stay_zero_through_fine_tuning(opt, when):
    """After keep_pruned(optimizer), Trainer epochs leave every pruned weight at exactly 0,
    and every other weight and bias ends exactly where it would if the pruned entries were
    set back to zero after each step by hand. keep_pruned returns the optimizer itself."""
    seed = 7
    model, twin = build(seed), build(seed)
    copy_into(model, twin)
    name, make = OPTIMIZERS[opt]
    optimizer, twin_opt = make(model.parameters()), make(twin.parameters())
    ce = CrossEntropyLoss()
    trainer, twin_trainer = Trainer(model, optimizer, ce), Trainer(twin, twin_opt, ce)
    if when == "after-an-epoch":  # momentum and moments built up before pruning
        trainer.train_epoch(loader(seed))
        twin_trainer.train_epoch(loader(seed))
    prune_smallest(model, 0.5)
    prune_smallest(twin, 0.5)
    masks = [(p, p.data == 0) for p in kit.weights_of(twin)]
    inputs = {"optimizer": name, "pruned": "half of each weight matrix, " +
              ("before any training" if when == "fresh" else "after one epoch of training")}
    result = kit.call(lambda: keep_pruned(optimizer), "keep_pruned(optimizer)", inputs)
    if result is not optimizer:
        checks.fail("keep_pruned(optimizer) must return the same optimizer object.",
                    f"got {type(result).__name__}", inputs=inputs,
                    hint="change how this optimizer's step behaves (an instance attribute `step`) and "
                         "return it")
    twin_step = type(twin_opt).step

    def oracle_step():
        twin_step(twin_opt)
        for p, m in masks:
            p.data[m] = 0
    twin_opt.step = oracle_step
    for _ in range(2):
        kit.call(lambda: trainer.train_epoch(loader(seed)), "Trainer.train_epoch with keep_pruned", inputs)
        twin_trainer.train_epoch(loader(seed))
    pruned = [m for _, m in masks]
    for i, (p, m) in enumerate(zip(kit.weights_of(model), pruned)):
        if np.any(p.data[m] != 0):
            j = tuple(int(v) for v in np.argwhere(m & (p.data != 0))[0])
            checks.fail("Pruned weights must stay exactly zero through fine-tuning.",
                        f"weight {i} at {j}, pruned before training, is now {float(p.data[j])!r}",
                        inputs=inputs,
                        hint="after every optimizer step, set the recorded entries back to zero; zeroing "
                             "the gradient (or the weights before the step) is not enough: momentum, "
                             "weight decay and Adam's moments still move them")
    pairs = list(enumerate(zip(model.parameters(), twin.parameters())))
    for i, (p, q) in sorted(pairs, key=lambda item: item[1][0].data.ndim):  # biases first: the likelier cause
        if not np.allclose(p.data, q.data, rtol=1e-5, atol=1e-6):
            bias = p.data.ndim < 2
            checks.fail(f"keep_pruned must not change how the other parameters train ({'bias' if bias else 'weight'} "
                        f"{i} differs).", f"got {checks.fmt(p.data)}\nexpected {checks.fmt(q.data)}", inputs=inputs,
                        hint=("only parameters with 2 or more dimensions are held: kata 03 starts the biases "
                              "at zero, and they must train") if bias else
                             "hold only the entries that were zero; let the optimizer update the others")
    checks.assert_from_kata(keep_pruned, KATA)
