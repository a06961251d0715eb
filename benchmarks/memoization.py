"""Kata 18's KV cache, measured: cached against uncached generation in the reference tinytorch,
and both against PyTorch CPU (one thread) running the same model with the same weights.

    python benchmarks/memoization.py [--new 128] [--prompt 8] [--repeat 3]

The model is GPT(vocab 64, embed 64, 2 layers, 4 heads, max_seq_len 256), greedy decoding
(temperature 0), so every run must give the same tokens: the script checks it. Printed: the
median time of each way, the speedup of the cache (the mlperf milestone wants at least 5x at
128 new tokens), and tinytorch / torch ratios. Without PyTorch the torch rows are skipped.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KATAS = ["01_tensor", "02_activations", "03_layers", "04_losses", "05_dataloader", "06_autograd",
         "07_optimizers", "08_training", "10_tokenization", "11_embeddings", "12_attention",
         "13_transformers", "18_memoization"]


def timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def torch_generate(torch, model, prompt, new, cached):
    """Greedy decoding of the same GPT in PyTorch, with or without a preallocated KV cache."""
    f = torch.nn.functional
    w = lambda t: torch.from_numpy(np.array(t.data, np.float32))  # noqa: E731
    tok, pos = w(model.embedding_layer.token_embedding.weight), w(model.embedding_layer.pos_encoding.position_embeddings)
    blocks = []
    for b in model.blocks:
        a = b.attention
        blocks.append([w(p) for p in (a.q_proj.weight, a.q_proj.bias, a.k_proj.weight, a.k_proj.bias,
                                      a.v_proj.weight, a.v_proj.bias, a.out_proj.weight, a.out_proj.bias,
                                      b.ln1.gamma, b.ln1.beta, b.ln2.gamma, b.ln2.beta,
                                      b.mlp.linear1.weight, b.mlp.linear1.bias, b.mlp.linear2.weight,
                                      b.mlp.linear2.bias)])
    lnf_g, lnf_b, head = w(model.ln_f.gamma), w(model.ln_f.beta), w(model.lm_head.weight)
    h, d = model.num_heads, model.embed_dim
    hd = d // h
    caches = [[torch.zeros(1, h, model.max_seq_len, hd), torch.zeros(1, h, model.max_seq_len, hd)]
              for _ in blocks]

    def forward(ids, start):
        t = ids.shape[1]
        x = tok[ids] + pos[start:start + t]
        for (qw, qb, kw, kb, vw, vb, ow, ob, g1, b1, g2, b2, w1, c1, w2, c2), (kc, vc) in zip(blocks, caches):
            y = f.layer_norm(x, (d,), g1, b1, 1e-5)
            q, k, v = (((y @ pw + pb).view(1, t, h, hd).transpose(1, 2)) for pw, pb in ((qw, qb), (kw, kb), (vw, vb)))
            if cached:
                kc[:, :, start:start + t], vc[:, :, start:start + t] = k, v
                k, v = kc[:, :, :start + t], vc[:, :, :start + t]
            s = k.shape[2]
            mask = torch.arange(s)[None, :] <= (s - t + torch.arange(t))[:, None]
            att = f.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            x = x + att.transpose(1, 2).reshape(1, t, d) @ ow + ob
            y = f.layer_norm(x, (d,), g2, b2, 1e-5)
            x = x + f.gelu(y @ w1 + c1, approximate="tanh") @ w2 + c2
        return f.layer_norm(x, (d,), lnf_g, lnf_b, 1e-5) @ head

    with torch.no_grad():
        ids = torch.from_numpy(np.asarray(prompt, np.int64))
        fed = 0
        for _ in range(new):
            if cached:
                logits = forward(ids[:, fed:], fed)
                fed = ids.shape[1]
            else:
                logits = forward(ids, 0)
            ids = torch.cat([ids, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    return ids.numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--prompt", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from benchmarks.framework import solved_copy
    with tempfile.TemporaryDirectory() as tmp:
        repo = solved_copy(Path(tmp) / "repo", KATAS)
        sys.path.insert(0, str(repo))
        import tinytorch  # noqa: F401  (turns autograd on, as a learner's run does)
        from tinytorch.core.tensor import Tensor
        from tinytorch.models.transformer import GPT
        from tinytorch.perf.memoization import generate_cached

        np.random.seed(0)
        model = GPT(64, 64, 2, 4, 256)
        prompt = np.random.default_rng(0).integers(0, 64, (1, args.prompt))
        n, r = args.new, args.repeat
        t_full, full = timed(lambda: model.generate(Tensor(prompt), n, temperature=0), r)
        t_cached, cached = timed(lambda: generate_cached(model, Tensor(prompt), n, temperature=0), r)
        if not np.array_equal(full.data, cached.data):
            raise SystemExit("generate_cached gave other tokens than model.generate")
        print(f"GPT(64, 64, 2, 4, 256), prompt {args.prompt}, {n} new tokens, greedy, median of {r}")
        print(f"  tinytorch generate         {t_full * 1e3:8.1f} ms  ({t_full / n * 1e3:.2f} ms/token)")
        print(f"  tinytorch generate_cached  {t_cached * 1e3:8.1f} ms  ({t_cached / n * 1e3:.2f} ms/token)")
        print(f"  speedup of the cache       {t_full / t_cached:8.1f}x  (mlperf wants >= 5x)")
        try:
            import torch
        except ImportError:
            print("  PyTorch is not installed: no torch comparison")
            return
        torch.set_num_threads(1)
        tt_full, tf = timed(lambda: torch_generate(torch, model, prompt, n, cached=False), r)
        tt_cached, tc = timed(lambda: torch_generate(torch, model, prompt, n, cached=True), r)
        same = np.array_equal(tf, full.data.astype(np.int64)) and np.array_equal(tc, tf)
        print(f"  torch uncached             {tt_full * 1e3:8.1f} ms   tinytorch / torch {t_full / tt_full:5.2f}")
        print(f"  torch cached               {tt_cached * 1e3:8.1f} ms   tinytorch / torch {t_cached / tt_cached:5.2f}")
        print(f"  speedup of torch's cache   {tt_full / tt_cached:8.1f}x   same tokens as tinytorch: {same}")


if __name__ == "__main__":
    main()
