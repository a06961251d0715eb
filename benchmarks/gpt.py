"""A GPT training step, the reference tinytorch against PyTorch CPU, one thread each.

    python benchmarks/gpt.py [--repeat 15]

The step: GPT(vocab 65, embed 64, 2 layers, 4 heads, context 32) on a batch of 16
sequences of 32 tokens: forward, cross-entropy over every position, backward, one Adam
update. The same architecture is built in PyTorch (pre-norm blocks, tanh GELU, learned
positions, a head without bias) and both are timed interleaved, so machine noise hits both
alike. Printed: the median of each and their ratio (tinytorch / torch; goal at most 3).
The reference files are placed at their package paths in a temporary copy of the
repository (no grading run needed). PyTorch is never a dependency: without it the script
says so and exits.
"""
from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one thread for both frameworks, set before NumPy loads

import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VOCAB, EMBED, LAYERS, HEADS, CONTEXT, BATCH = 65, 64, 2, 4, 32, 16
GOAL = 3.0


def reference_copy(dest: Path) -> Path:
    """A copy of the repository whose tinytorch/ holds the reference of every kata GPT needs."""
    from pytest_tinytorch.curriculum import BY_ID, closure
    from tests.sandbox import make_sandbox

    repo = make_sandbox(dest)
    for kata in closure(["13_transformers"]):
        for f in kata.files:
            target = repo.joinpath(*f.module.split(".")).with_suffix(".py")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(BY_ID[kata.id].reference / f.name, target)
    return repo


def tinytorch_step(rng):
    from tinytorch import GPT, Adam, CrossEntropyLoss, Tensor, enable_autograd
    enable_autograd(quiet=True)
    model = GPT(VOCAB, EMBED, LAYERS, HEADS, CONTEXT)
    opt = Adam(model.parameters(), lr=1e-3)
    ce = CrossEntropyLoss()
    x = Tensor(rng.integers(0, VOCAB, (BATCH, CONTEXT)))
    y = Tensor(rng.integers(0, VOCAB, BATCH * CONTEXT))

    def step():
        opt.zero_grad()
        loss = ce(model(x).reshape(BATCH * CONTEXT, VOCAB), y)
        loss.backward()
        opt.step()
    return step


def torch_step(torch, rng):
    nn = torch.nn
    torch.set_num_threads(1)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(EMBED), nn.LayerNorm(EMBED)
            self.attention = nn.MultiheadAttention(EMBED, HEADS, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(EMBED, 4 * EMBED), nn.GELU(approximate="tanh"),
                                     nn.Linear(4 * EMBED, EMBED))

        def forward(self, x, mask):
            h = self.ln1(x)
            x = x + self.attention(h, h, h, attn_mask=mask, need_weights=False)[0]
            return x + self.mlp(self.ln2(x))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens, self.positions = nn.Embedding(VOCAB, EMBED), nn.Embedding(CONTEXT, EMBED)
            self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
            self.ln_f, self.head = nn.LayerNorm(EMBED), nn.Linear(EMBED, VOCAB, bias=False)

        def forward(self, idx):
            x = self.tokens(idx) + self.positions(torch.arange(idx.shape[1]))
            mask = torch.triu(torch.ones(idx.shape[1], idx.shape[1], dtype=torch.bool), 1)  # True = blocked
            for block in self.blocks:
                x = block(x, mask)
            return self.head(self.ln_f(x))

    model = Model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.tensor(rng.integers(0, VOCAB, (BATCH, CONTEXT)))
    y = torch.tensor(rng.integers(0, VOCAB, BATCH * CONTEXT))

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x).reshape(BATCH * CONTEXT, VOCAB), y)
        loss.backward()
        opt.step()
    return step


def timed(fn, inner: int) -> float:
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - start) / inner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--inner", type=int, default=3)
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: nothing to compare with (pip install torch==2.13.0).")
        return
    with tempfile.TemporaryDirectory(prefix="gpt-bench-") as tmp:
        repo = reference_copy(Path(tmp) / "repo")
        sys.path.insert(0, str(repo))
        os.environ.pop("TINYTORCH_AUTOGRAD", None)
        ours = tinytorch_step(np.random.default_rng(0))
        theirs = torch_step(torch, np.random.default_rng(0))
        for _ in range(3):  # warm up both
            ours(), theirs()
        a, b = [], []
        for _ in range(args.repeat):
            a.append(timed(ours, args.inner))
            b.append(timed(theirs, args.inner))
        ma, mb = statistics.median(a) * 1e3, statistics.median(b) * 1e3
        name = f"GPT step {LAYERS}x{HEADS}h d={EMBED} T={CONTEXT} B={BATCH}"
        print(f"{'case':<34}{'tinytorch ms':>14}{'torch ms':>10}{'ratio':>8}")
        print(f"{name:<34}{ma:>14.2f}{mb:>10.2f}{ma / mb:>8.2f}   (goal <= {GOAL:.0f})")


if __name__ == "__main__":
    main()
