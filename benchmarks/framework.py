"""The reference framework against PyTorch CPU, one thread each, measured in one run.

    python benchmarks/framework.py [--repeat 30] [--case NAME ...]

Each case is a training step (forward, loss, backward, and for the MLPs an SGD update)
built once in the reference tinytorch (the solutions in reference/, solved into a
temporary copy of the repository) and once in PyTorch, then timed interleaved so that
machine noise hits both alike. Printed: the median time of each and their ratio
(tinytorch / torch; goal at most 1.2). PyTorch is never a dependency: without it the
script says so and exits.
"""
from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread for both frameworks, set before NumPy loads

import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def solved_copy(dest: Path, katas: list[str]) -> Path:
    from tests.sandbox import make_sandbox

    repo = make_sandbox(dest, solve=katas)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "HYPOTHESIS_"))}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
                    *[f"katas/{k}" for k in katas]], cwd=repo, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return repo


def tinytorch_cases(tt, rng):
    from tinytorch import (CrossEntropyLoss, Linear, ReLU, SGD, Sequential, Tensor,
                           enable_autograd)
    enable_autograd()
    cases = {}
    for name, sizes, batch in (("MLP 64-32-10", (64, 32, 10), 64), ("MLP 784-256-128-10", (784, 256, 128, 10), 64)):
        layers = []
        for a, b in zip(sizes, sizes[1:]):
            layers += [Linear(a, b), ReLU()]
        model = Sequential(*layers[:-1])
        opt = SGD(model.parameters(), lr=0.01)
        loss_fn = CrossEntropyLoss()
        x = Tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32))
        y = Tensor(rng.integers(0, sizes[-1], batch))

        def step(model=model, opt=opt, loss_fn=loss_fn, x=x, y=y):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        cases[name] = step

    w = Tensor(rng.standard_normal((64, 64)).astype(np.float32), requires_grad=True)

    def chain(w=w):
        w.grad = None
        y = w
        for _ in range(50):
            y = y * 1.01 + 0.1
        y.sum().backward()
    cases["100-op chain"] = chain

    logits = Tensor(rng.standard_normal((64, 10)).astype(np.float32), requires_grad=True)
    targets = Tensor(rng.integers(0, 10, 64))
    ce = CrossEntropyLoss()

    def softmax_ce(logits=logits, targets=targets, ce=ce):
        logits.grad = None
        ce(logits, targets).backward()
    cases["softmax+CE"] = softmax_ce
    return cases


def torch_cases(torch, rng):
    torch.set_num_threads(1)
    cases = {}
    for name, sizes, batch in (("MLP 64-32-10", (64, 32, 10), 64), ("MLP 784-256-128-10", (784, 256, 128, 10), 64)):
        layers = []
        for a, b in zip(sizes, sizes[1:]):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1])
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        loss_fn = torch.nn.CrossEntropyLoss()
        x = torch.tensor(rng.standard_normal((batch, sizes[0])).astype(np.float32))
        y = torch.tensor(rng.integers(0, sizes[-1], batch))

        def step(model=model, opt=opt, loss_fn=loss_fn, x=x, y=y):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        cases[name] = step

    w = torch.tensor(rng.standard_normal((64, 64)).astype(np.float32), requires_grad=True)

    def chain(w=w):
        w.grad = None
        y = w
        for _ in range(50):
            y = y * 1.01 + 0.1
        y.sum().backward()
    cases["100-op chain"] = chain

    logits = torch.tensor(rng.standard_normal((64, 10)).astype(np.float32), requires_grad=True)
    targets = torch.tensor(rng.integers(0, 10, 64))
    ce = torch.nn.CrossEntropyLoss()

    def softmax_ce(logits=logits, targets=targets, ce=ce):
        logits.grad = None
        ce(logits, targets).backward()
    cases["softmax+CE"] = softmax_ce
    return cases


def median_time(fn, inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--case", nargs="*")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: nothing to compare with (pip install torch==2.13.0).")
        return
    foundation = ["01_tensor", "02_activations", "03_layers", "04_losses", "05_dataloader",
                  "06_autograd", "07_optimizers", "08_training"]
    with tempfile.TemporaryDirectory(prefix="framework-") as tmp:
        repo = solved_copy(Path(tmp) / "repo", foundation)
        sys.path.insert(0, str(repo))
        os.environ.pop("TINYTORCH_AUTOGRAD", None)
        import tinytorch
        ours = tinytorch_cases(tinytorch, np.random.default_rng(0))
        theirs = torch_cases(torch, np.random.default_rng(0))
        names = [n for n in ours if not args.case or n in args.case]
        results = {n: ([], []) for n in names}
        for n in names:  # warm up both
            for _ in range(3):
                ours[n](), theirs[n]()
        for _ in range(args.repeat):
            for n in names:
                inner = 5 if "784" in n else 20
                results[n][0].append(median_time(ours[n], inner))
                results[n][1].append(median_time(theirs[n], inner))
        print(f"{'case':<22}{'tinytorch ms':>14}{'torch ms':>10}{'ratio':>8}")
        for n, (a, b) in results.items():
            ma, mb = statistics.median(a) * 1e3, statistics.median(b) * 1e3
            print(f"{n:<22}{ma:>14.3f}{mb:>10.3f}{ma / mb:>8.2f}")


if __name__ == "__main__":
    main()
