"""Kata 09's reference Conv2d against PyTorch CPU, one thread each, measured in one run.

    python benchmarks/conv.py [--repeat 30]

The case is a convolution's forward and backward (batch 64, 3 -> 16 channels, 32x32,
3x3 kernel, padding 1; gradients of the input, the weight and the bias for a fixed
upstream gradient), built once in the reference tinytorch (the solutions in reference/,
solved into a temporary copy of the repository) and once in PyTorch, then timed
interleaved so that machine noise hits both alike. Printed: the median time of each and
their ratio (tinytorch / torch; goal at most 3). Max pooling and BatchNorm2d are timed
alongside for information. PyTorch is never a dependency: without it the script says so
and exits.
"""
from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread for both frameworks, set before NumPy loads

import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from framework import median_time, solved_copy

KATAS = ["01_tensor", "02_activations", "03_layers", "04_losses", "05_dataloader", "06_autograd",
         "07_optimizers", "08_training", "09_convolutions"]
SHAPE, OUT, KERNEL = (64, 3, 32, 32), 16, 3
GOAL = 3.0


def tinytorch_cases(rng):
    from tinytorch import BatchNorm2d, Conv2d, MaxPool2d, Tensor, enable_autograd
    enable_autograd(quiet=True)
    x = Tensor(rng.standard_normal(SHAPE).astype(np.float32), requires_grad=True)
    conv = Conv2d(SHAPE[1], OUT, KERNEL, padding=1)
    g = rng.standard_normal((SHAPE[0], OUT, *SHAPE[2:])).astype(np.float32)
    h = Tensor(rng.standard_normal((SHAPE[0], OUT, *SHAPE[2:])).astype(np.float32), requires_grad=True)
    pool, bn = MaxPool2d(2), BatchNorm2d(OUT)
    gp = rng.standard_normal((SHAPE[0], OUT, SHAPE[2] // 2, SHAPE[3] // 2)).astype(np.float32)

    def conv_step():
        x.grad = conv.weight.grad = conv.bias.grad = None
        conv(x).backward(g)

    def pool_step():
        h.grad = None
        pool(h).backward(gp)

    def bn_step():
        h.grad = bn.gamma.grad = bn.beta.grad = None
        bn(h).backward(g)
    return {"conv2d fwd+bwd": conv_step, "maxpool2d fwd+bwd": pool_step, "batchnorm2d fwd+bwd": bn_step}


def torch_cases(torch, rng):
    torch.set_num_threads(1)
    x = torch.tensor(rng.standard_normal(SHAPE).astype(np.float32), requires_grad=True)
    conv = torch.nn.Conv2d(SHAPE[1], OUT, KERNEL, padding=1)
    g = torch.tensor(rng.standard_normal((SHAPE[0], OUT, *SHAPE[2:])).astype(np.float32))
    h = torch.tensor(rng.standard_normal((SHAPE[0], OUT, *SHAPE[2:])).astype(np.float32), requires_grad=True)
    pool, bn = torch.nn.MaxPool2d(2), torch.nn.BatchNorm2d(OUT)
    gp = torch.tensor(rng.standard_normal((SHAPE[0], OUT, SHAPE[2] // 2, SHAPE[3] // 2)).astype(np.float32))

    def conv_step():
        x.grad = None
        conv.zero_grad()
        conv(x).backward(g)

    def pool_step():
        h.grad = None
        pool(h).backward(gp)

    def bn_step():
        h.grad = None
        bn.zero_grad()
        bn(h).backward(g)
    return {"conv2d fwd+bwd": conv_step, "maxpool2d fwd+bwd": pool_step, "batchnorm2d fwd+bwd": bn_step}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: nothing to compare with (pip install torch==2.13.0).")
        return
    with tempfile.TemporaryDirectory(prefix="conv-") as tmp:
        repo = solved_copy(Path(tmp) / "repo", KATAS)
        sys.path.insert(0, str(repo))
        os.environ.pop("TINYTORCH_AUTOGRAD", None)
        ours = tinytorch_cases(np.random.default_rng(0))
        theirs = torch_cases(torch, np.random.default_rng(0))
        results = {n: ([], []) for n in ours}
        for n in ours:  # warm up both
            for _ in range(3):
                ours[n](), theirs[n]()
        for _ in range(args.repeat):
            for n in ours:
                results[n][0].append(median_time(ours[n], 3))
                results[n][1].append(median_time(theirs[n], 3))
        print(f"batch {SHAPE[0]}, {SHAPE[1]} -> {OUT} channels, {SHAPE[2]}x{SHAPE[3]}, "
              f"{KERNEL}x{KERNEL} kernel, padding 1; one thread each")
        print(f"{'case':<22}{'tinytorch ms':>14}{'torch ms':>10}{'ratio':>8}")
        for n, (a, b) in results.items():
            ma, mb = statistics.median(a) * 1e3, statistics.median(b) * 1e3
            goal = f"   (goal <= {GOAL:g})" if n.startswith("conv2d") else ""
            print(f"{n:<22}{ma:>14.3f}{mb:>10.3f}{ma / mb:>8.2f}{goal}")


if __name__ == "__main__":
    main()
