"""Kata 17's reference fast paths against its slow ones (and PyTorch CPU), one thread each.

    python benchmarks/acceleration.py [--repeat 5]

Built with the solutions in reference/ (solved into a temporary copy of the repository,
katas 01-09 and 17), then timed interleaved so that machine noise hits every method alike:
- a convolution's forward, batch 32, 8 -> 8 channels, 8x8 images, 3x3 kernel, padding 1:
  seven Python loops vs shift-and-add vs im2col + one matmul (goal: im2col at least 20x
  faster than the loops), and torch.nn.functional.conv2d;
- a (64, 64) @ (64, 64) float32 product: three Python loops vs tiles of 16 vs one
  np.matmul, and torch.matmul;
- GELU (tanh form) of 1,000,000 float32s: the one-line formula vs fused_gelu, and
  torch.nn.functional.gelu(approximate="tanh"), for information.
Printed: the median time of each and its speedup over the slowest path (and the ratio
tinytorch time / torch time). PyTorch is optional: without it its columns are left out.
"""
from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread for both frameworks, set before NumPy loads

import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from framework import solved_copy  # noqa: E402

KATAS = ["01_tensor", "02_activations", "03_layers", "04_losses", "05_dataloader", "06_autograd",
         "07_optimizers", "08_training", "09_convolutions", "17_acceleration"]
CONV = dict(batch=32, channels=8, size=8, kernel=3)
MATMUL_N, TILE = 64, 16
GELU_N = 1_000_000
GOAL = 20.0  # im2col vs the seven loops


def once(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cases(torch):
    from tinytorch.core.tensor import Tensor
    from tinytorch.perf import acceleration as acc

    rng = np.random.default_rng(0)
    b, c, s, k = CONV["batch"], CONV["channels"], CONV["size"], CONV["kernel"]
    x = rng.standard_normal((b, c, s, s)).astype(np.float32)
    w = rng.standard_normal((c, c, k, k)).astype(np.float32)
    bias = rng.standard_normal(c).astype(np.float32)
    tx, tw, tb = Tensor(x), Tensor(w), Tensor(bias)
    conv = {"naive loops": lambda: acc.naive_conv2d(tx, tw, tb, 1, k // 2),
            "shift-and-add": lambda: acc.shift_add_conv2d(tx, tw, tb, 1, k // 2),
            "im2col": lambda: acc.im2col_conv2d(tx, tw, tb, 1, k // 2)}
    a = rng.standard_normal((MATMUL_N, MATMUL_N)).astype(np.float32)
    m = rng.standard_normal((MATMUL_N, MATMUL_N)).astype(np.float32)
    ta, tm = Tensor(a), Tensor(m)
    matmul = {"naive loops": lambda: acc.naive_matmul(ta, tm),
              f"tiled ({TILE})": lambda: acc.tiled_matmul(ta, tm, TILE),
              "vectorized": lambda: acc.vectorized_matmul(ta, tm)}
    z = rng.standard_normal(GELU_N).astype(np.float32)
    tz = Tensor(z)
    r = acc.SQRT_2_OVER_PI
    # z * z * z, not z ** 3: NumPy's float power is far slower and would flatter the fused path
    gelu = {"one-line formula": lambda: 0.5 * z * (1.0 + np.tanh(r * (z + 0.044715 * z * z * z))),
            "fused_gelu": lambda: acc.fused_gelu(tz)}
    torch_cases = {}
    if torch is not None:
        torch.set_num_threads(1)
        F = torch.nn.functional
        px, pw, pb = torch.tensor(x), torch.tensor(w), torch.tensor(bias)
        pa, pm, pz = torch.tensor(a), torch.tensor(m), torch.tensor(z)
        torch_cases = {"conv": lambda: F.conv2d(px, pw, pb, 1, k // 2),
                       "matmul": lambda: torch.matmul(pa, pm),
                       "gelu": lambda: F.gelu(pz, approximate="tanh")}
        with torch.no_grad():  # the same numbers, before any timing
            np.testing.assert_allclose(conv["im2col"]().data, torch_cases["conv"]().numpy(), rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(matmul["vectorized"]().data, torch_cases["matmul"]().numpy(),
                                       rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(conv["naive loops"]().data, conv["im2col"]().data, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(matmul["naive loops"]().data, matmul[f"tiled ({TILE})"]().data,
                               rtol=1e-4, atol=1e-4)
    return {"conv": conv, "matmul": matmul, "gelu": gelu}, torch_cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
        print("PyTorch is not installed: its columns are left out (pip install torch==2.13.0).")
    with tempfile.TemporaryDirectory(prefix="acceleration-") as tmp:
        repo = solved_copy(Path(tmp) / "repo", KATAS)
        sys.path.insert(0, str(repo))
        os.environ.pop("TINYTORCH_AUTOGRAD", None)
        groups, theirs = cases(torch)
        times = {g: {n: [] for n in methods} for g, methods in groups.items()}
        torch_times = {g: [] for g in theirs}
        for methods in groups.values():  # warm up every path
            for fn in methods.values():
                fn()
        for _ in range(args.repeat):
            for g, methods in groups.items():
                for n, fn in methods.items():
                    times[g][n].append(once(fn))
                if g in theirs:
                    torch_times[g].append(statistics.median(once(theirs[g]) for _ in range(5)))
    titles = {"conv": (f"conv2d forward: batch {CONV['batch']}, {CONV['channels']} -> {CONV['channels']} "
                       f"channels, {CONV['size']}x{CONV['size']}, {CONV['kernel']}x{CONV['kernel']}, padding 1"),
              "matmul": f"matmul ({MATMUL_N}, {MATMUL_N}) @ ({MATMUL_N}, {MATMUL_N}) float32",
              "gelu": f"GELU (tanh) of {GELU_N:,} float32s"}
    print(f"one thread; medians of {args.repeat} interleaved runs")
    for g, per in times.items():
        med = {n: statistics.median(v) for n, v in per.items()}
        slowest = max(med.values())
        ref = statistics.median(torch_times[g]) if g in torch_times else None
        print(f"\n{titles[g]}")
        print(f"{'method':<20}{'ms':>12}{'speedup':>10}" + (f"{'time / torch':>14}" if ref else ""))
        for n, t in med.items():
            line = f"{n:<20}{t * 1e3:>12.3f}{slowest / t:>9.1f}x"
            print(line + (f"{t / ref:>13.1f}x" if ref else ""))
        if ref:
            print(f"{'torch':<20}{ref * 1e3:>12.3f}{slowest / ref:>9.1f}x")
        if g == "conv":
            ratio = med["naive loops"] / med["im2col"]
            print(f"im2col vs naive loops: {ratio:.0f}x (goal >= {GOAL:g}x: "
                  f"{'met' if ratio >= GOAL else 'NOT met'})")


if __name__ == "__main__":
    main()
