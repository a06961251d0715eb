"""What quantization and pruning buy on the milestone MLP, measured with the references.

    python benchmarks/compression.py [--seeds 1986 1 2] [--repeat 20]

Solves a temporary copy of the repository (katas 01-08, 15 and 16, the solutions in
reference/), trains the TinyDigits MLP of the mlp milestone (milestones/test_mlp.py
DigitsNet, trained exactly as there: SGD momentum 0.9, lr 0.1, batch 32, 15 epochs) once
per seed, then measures:
- int8: `quantize_model` calibrated on the training images; the bytes the model holds
  (its arrays, counted by walking it) and the bytes `memory_usage()` reports, before and
  after; test accuracy before and after (goal: at least 3.9x smaller, at most 1 point lost);
- pruning: `magnitude_prune` to 80% sparsity, then a short fine-tune (3 epochs, SGD lr
  0.01 momentum 0.9, wrapped in `keep_pruned`); sparsity and test accuracy before and after
  the fine-tune (goal: at most 2 points lost against the float model, sparsity still 80%);
- the forward pass over the test set, float against int8 (NumPy has no fast int8 matrix
  product: expect the int8 path to be slower here), and, when PyTorch is installed, the
  same model in PyTorch (one thread) with `torch.ao.quantization.quantize_dynamic`, for
  reference: its accuracy and the ratio of the forward times.
Nothing is asserted: the figures are printed, with the goals beside them.
"""
from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread for both frameworks, set before NumPy loads

import copy  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KATAS = ["01_tensor", "02_activations", "03_layers", "04_losses", "05_dataloader", "06_autograd",
         "07_optimizers", "08_training", "15_quantization", "16_compression"]
SIZE_GOAL, QUANT_LOSS_GOAL, PRUNE_LOSS_GOAL, SPARSITY = 3.9, 1.0, 2.0, 0.8


def solved_copy(dest: Path) -> Path:
    """A copy of the repository with the katas solved and green (so `tinytorch` has them)."""
    from tests.sandbox import make_sandbox

    repo = make_sandbox(dest, solve=KATAS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HYPOTHESIS_"))}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
                    *[f"katas/{k}" for k in KATAS]], cwd=repo, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return repo


def held_bytes(obj, seen=None) -> int:
    """Bytes of every distinct ndarray a model holds: in its Tensors, its attributes, its
    lists and tuples and its sub-layers (what really stays in memory)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes)
    if isinstance(obj, (list, tuple)):
        return sum(held_bytes(v, seen) for v in obj)
    if isinstance(obj, dict):
        return sum(held_bytes(v, seen) for v in obj.values())
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        return sum(held_bytes(v, seen) for k, v in vars(obj).items() if k != "grad")
    return 0


def reported_bytes(tt, model) -> int:
    """The bytes memory_usage() reports for each QuantizedLinear, plus the nbytes of any
    float parameter left (none in an MLP)."""
    quantized = [m for m in walk(model) if isinstance(m, tt.QuantizedLinear)]
    return (sum(q.memory_usage()["quantized_bytes"] for q in quantized)
            + sum(int(p.data.nbytes) for p in model.parameters()))


def walk(layer, seen=None):
    seen = set() if seen is None else seen
    if id(layer) in seen or not hasattr(layer, "__dict__"):
        return
    seen.add(id(layer))
    yield layer
    for value in vars(layer).values():
        for item in (value if isinstance(value, (list, tuple)) else [value]):
            if hasattr(item, "forward"):
                yield from walk(item, seen)


def accuracy(tt, model, x, y) -> float:
    with tt.no_grad():
        out = model(tt.Tensor(x))
    return float(np.mean(np.argmax(np.asarray(out.data), axis=-1) == y))


def best_time(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def train_digits(tt, DigitsNet, data, seed: int):
    """The mlp milestone's digits run (milestones/test_mlp.py, digits_run) without its gates."""
    x_train, y_train, x_test, y_test = data
    np.random.seed(seed)
    model = DigitsNet()
    ce = tt.CrossEntropyLoss()
    train = tt.DataLoader(tt.TensorDataset(tt.Tensor(x_train), tt.Tensor(y_train)), batch_size=32,
                          shuffle=True, seed=seed)
    test = tt.DataLoader(tt.TensorDataset(tt.Tensor(x_test), tt.Tensor(y_test)), batch_size=100)
    trainer = tt.Trainer(model, tt.SGD(model.parameters(), lr=0.1, momentum=0.9), ce)
    trainer.evaluate(train)  # as the milestone does: it uses up one pass of the shuffled loader
    for _ in range(15):
        trainer.train_epoch(train)
        trainer.evaluate(test)
    return model, train


def torch_figures(model, data, repeat: int):
    """The same trained weights in PyTorch, float and dynamically quantized (qint8)."""
    try:
        import torch
    except ImportError:
        return None
    import warnings

    warnings.filterwarnings("ignore", module="torch")  # quantize_dynamic is deprecated in favour of torchao
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    torch.set_num_threads(1)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inp, self.mid, self.out = (torch.nn.Linear(64, 64), torch.nn.Linear(64, 64),
                                            torch.nn.Linear(64, 10))

        def forward(self, x):
            h = torch.relu(self.inp(x))
            h = h + torch.relu(self.mid(h))
            return self.out(h)

    net = Net()
    with torch.no_grad():
        for name in ("inp", "mid", "out"):
            ours, theirs = getattr(model, name), getattr(net, name)
            theirs.weight.copy_(torch.tensor(np.asarray(ours.weight.data).T))  # PyTorch stores (out, in)
            theirs.bias.copy_(torch.tensor(np.asarray(ours.bias.data)))
    q = torch.ao.quantization.quantize_dynamic(net, {torch.nn.Linear}, dtype=torch.qint8)
    x = torch.tensor(data[2])

    def acc(m):
        with torch.no_grad():
            return float((m(x).argmax(-1).numpy() == data[3]).mean())

    def fwd(m):
        with torch.no_grad():
            m(x)
    return {"float acc": acc(net), "int8 acc": acc(q), "float s": best_time(lambda: fwd(net), repeat),
            "int8 s": best_time(lambda: fwd(q), repeat)}


def run(tt, DigitsNet, data, seed: int, repeat: int) -> dict:
    x_train, y_train, x_test, y_test = data
    model, train = train_digits(tt, DigitsNet, data, seed)
    r = {"seed": seed, "float acc": accuracy(tt, model, x_test, y_test),
         "float held": held_bytes(model), "float params": sum(int(p.data.nbytes) for p in model.parameters())}

    quantized = copy.deepcopy(model)
    calibration = [tt.Tensor(x_train[i:i + 100]) for i in range(0, len(x_train), 100)]
    tt.quantize_model(quantized, calibration)
    r["int8 held"] = held_bytes(quantized)
    r["int8 reported"] = reported_bytes(tt, quantized)
    r["int8 acc"] = accuracy(tt, quantized, x_test, y_test)
    dynamic = tt.quantize_model(copy.deepcopy(model))
    r["int8 dynamic acc"] = accuracy(tt, dynamic, x_test, y_test)
    xt = tt.Tensor(x_test)
    with tt.no_grad():
        r["float s"] = best_time(lambda: model(xt), repeat)
        r["int8 s"] = best_time(lambda: quantized(xt), repeat)

    pruned = copy.deepcopy(model)
    tt.magnitude_prune(pruned, SPARSITY)
    r["pruned acc"] = accuracy(tt, pruned, x_test, y_test)
    optimizer = tt.keep_pruned(tt.SGD(pruned.parameters(), lr=0.01, momentum=0.9))
    trainer = tt.Trainer(pruned, optimizer, tt.CrossEntropyLoss())
    for _ in range(3):
        trainer.train_epoch(train)
    r["tuned acc"] = accuracy(tt, pruned, x_test, y_test)
    r["tuned sparsity"] = tt.measure_sparsity(pruned)
    r["torch"] = torch_figures(model, data, repeat)
    return r


def report(results: list) -> None:
    def pts(a, b):
        return round(100 * (a - b), 6)  # accuracies are multiples of 1/200: no float fuzz at the goal

    print(f"{'seed':>6} {'float acc':>10} {'int8 acc':>9} {'dyn acc':>8} {'size x (held)':>14} "
          f"{'size x (memory_usage)':>22} {'80% pruned':>11} {'+fine-tune':>11} {'sparsity':>9}")
    for r in results:
        print(f"{r['seed']:>6} {r['float acc']:>10.1%} {r['int8 acc']:>9.1%} {r['int8 dynamic acc']:>8.1%} "
              f"{r['float held'] / r['int8 held']:>14.3f} {r['float params'] / r['int8 reported']:>22.3f} "
              f"{r['pruned acc']:>11.1%} {r['tuned acc']:>11.1%} {r['tuned sparsity']:>8.1f}%")
    worst_size = min(r["float params"] / r["int8 reported"] for r in results)
    worst_q = max(pts(r["float acc"], r["int8 acc"]) for r in results)
    worst_p = max(pts(r["float acc"], r["tuned acc"]) for r in results)
    print()
    print(f"int8 size reduction (memory_usage, worst seed): {worst_size:.3f}x   goal >= {SIZE_GOAL}x   "
          f"{'met' if worst_size >= SIZE_GOAL else 'MISSED'}")
    print(f"int8 accuracy loss (worst seed): {worst_q:+.1f} points   goal <= {QUANT_LOSS_GOAL}   "
          f"{'met' if worst_q <= QUANT_LOSS_GOAL else 'MISSED'}")
    print(f"80% pruning + fine-tune accuracy loss (worst seed): {worst_p:+.1f} points   goal <= {PRUNE_LOSS_GOAL}   "
          f"{'met' if worst_p <= PRUNE_LOSS_GOAL else 'MISSED'}")
    print(f"sparsity after fine-tuning: {min(r['tuned sparsity'] for r in results):.1f}% "
          f"(pruned weights held at zero by keep_pruned)")
    r = results[0]
    print()
    print(f"forward over the {200} test images (seed {r['seed']}): float {r['float s'] * 1e3:.3f} ms, "
          f"int8 {r['int8 s'] * 1e3:.3f} ms ({r['int8 s'] / r['float s']:.2f}x the float time: "
          f"NumPy's integer matmul is not BLAS)")
    t = r["torch"]
    if t is None:
        print("PyTorch is not installed: no reference figures (pip install torch).")
    else:
        print(f"PyTorch (one thread), same weights: float acc {t['float acc']:.1%}, quantize_dynamic "
              f"int8 acc {t['int8 acc']:.1%}; forward time ratio tinytorch / torch: float "
              f"{r['float s'] / t['float s']:.2f}, int8 {r['int8 s'] / t['int8 s']:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="*", default=[1986, 1, 2, 3, 4])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="compression-") as tmp:
        repo = solved_copy(Path(tmp) / "repo")
        sys.path.insert(0, str(repo))
        os.environ.pop("TINYTORCH_AUTOGRAD", None)
        import tinytorch as tt
        from datasets import load_tinydigits
        from milestones.test_mlp import DigitsNet

        tt.enable_autograd(quiet=True)
        x_train, y_train, x_test, y_test = load_tinydigits()
        data = (x_train.reshape(len(x_train), 64), y_train, x_test.reshape(len(x_test), 64), y_test)
        results = [run(tt, DigitsNet, data, seed, args.repeat) for seed in args.seeds]
        report(results)


if __name__ == "__main__":
    main()
