"""Milestone 2018: MLPerf. Measure, then optimize, with your own framework.

Part one: a small CNN reads TinyDigits. Your profiler counts its parameters and FLOPs,
your quantizer makes it about four times smaller, your pruner zeroes most of its weights
and a short fine-tune with the zeros held keeps its accuracy, and your im2col runs its
convolution many times faster than the seven-loop one, with the same outputs. Part two:
a GPT writes 128 tokens with and without your KV cache: the same tokens, many times faster.

Every win is measured in the same run against its own baseline: speed as a ratio, the
median of interleaved repeats (baseline, fast path, baseline, ...), so a busy machine slows
both sides alike and cannot flip a gate. Accuracy and memory come from your kata-19
Benchmark, timings from your precise_timer and BenchmarkResult. Gates run first, so a
quantizer that never rounds, a pruner that prunes nothing or a cache that drops the
current token fails with a reason instead of hiding behind a figure.
"""
import copy
import time

import numpy as np
import pytest

from datasets import load_tinydigits
from milestones.common import panel, require
from pytest_tinytorch.checks import fail
from tinytorch import (
    GPT,
    Adam,
    Conv2d,
    CosineSchedule,
    CrossEntropyLoss,
    DataLoader,
    Flatten,
    Linear,
    MaxPool2d,
    ReLU,
    Sequential,
    Tensor,
    TensorDataset,
    Trainer,
    create_causal_mask,
    enable_autograd,
    no_grad,
)
from tinytorch.perf.acceleration import im2col_conv2d, naive_conv2d
from tinytorch.perf.benchmarking import Benchmark, BenchmarkResult, precise_timer
from tinytorch.perf.compression import keep_pruned, magnitude_prune, measure_sparsity
from tinytorch.perf.memoization import CachedAttention, KVCache, generate_cached
from tinytorch.perf.profiling import Profiler
from tinytorch.perf.quantization import QuantizedLinear, quantize_model

# Part one: conv 3x3 (4) -> ReLU -> pool 2 -> Flatten -> Linear(64, 128) -> ReLU -> Linear(128, 10).
CHANNELS, HIDDEN = 4, 128
EPOCHS, LR, BATCH = 15, 0.01, 32
SPARSITY, FINE_TUNE_EPOCHS, FINE_TUNE_LR = 0.85, 20, 0.003
CALIBRATION_IMAGES = 256
CONV_BATCH, CONV_REPEATS = 16, 7
# Part two: GPT(vocab 32, embed 128, 1 layer, 4 heads), a 96-token prompt, 128 new tokens.
# A long prompt is where a cache pays (each uncached step reruns the whole window); with a
# short one both paths are dominated by per-step Python overhead.
VOCAB, EMBED, LAYERS, HEADS, PROMPT, NEW_TOKENS = 32, 128, 1, 4, 96, 128
GENERATE_REPEATS = 3
# Thresholds (calibrated over ten seeds: tests/test_milestone_mlperf.py).
QUANT_RATIO = 3.9  # at least this many times smaller
QUANT_LOSS = 0.01  # at most one point of test accuracy lost
PRUNE_SPARSITY = 80.0  # percent of the weights at zero after the fine-tune, at least
PRUNE_LOSS = 0.02  # at most two points lost
IM2COL_SPEEDUP = 10.0  # im2col_conv2d against naive_conv2d, at least
KV_SPEEDUP = 5.0  # generate_cached against generate, at least


@pytest.fixture(scope="module", autouse=True)
def autograd():
    enable_autograd()


def _arr(t):
    return np.asarray(getattr(t, "data", t))


class DigitsNet(Sequential):
    """A Sequential, so your profiler counts it layer by layer and quantize_model finds its
    Linears in `layers`. `name` and `memory_bytes()` are what your Benchmark reads."""

    def __init__(self):
        super().__init__(Conv2d(1, CHANNELS, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(),
                         Linear(CHANNELS * 16, HIDDEN), ReLU(), Linear(HIDDEN, 10))
        self.name = "float32"

    def memory_bytes(self) -> int:
        """Bytes stored: float parameters as they are; a QuantizedLinear's int8 codes plus a
        float32 scale and an int32 zero point per quantized tensor (counted here, from its
        arrays, not from its own report)."""
        total = 0
        for layer in self.layers:
            if isinstance(layer, QuantizedLinear):
                for q in (layer.q_weight, layer.q_bias):
                    total += 0 if q is None else _arr(q).nbytes + 8
            else:
                total += sum(_arr(p).nbytes for p in layer.parameters())
        return total


def weights_of(model) -> list:
    return [p for p in model.parameters() if _arr(p).ndim >= 2]


def predictions(model, x) -> np.ndarray:
    with no_grad():
        return _arr(model(Tensor(x))).argmax(axis=-1)


def interleaved(name: str, baseline, fast, repeats: int) -> BenchmarkResult:
    """Speedups of `fast` over `baseline`, one per pair of back-to-back calls, with your
    precise_timer; their median is the figure (a busy moment slows one pair, not all)."""
    ratios, slow_s, fast_s = [], [], []
    for _ in range(repeats):
        with precise_timer() as t_slow:
            baseline()
        with precise_timer() as t_fast:
            fast()
        if not (t_slow.elapsed > 0 and t_fast.elapsed > 0):
            fail("Milestone: precise_timer must measure the time a block took.",
                 f"it measured {t_slow.elapsed!r} s and {t_fast.elapsed!r} s for calls that took time",
                 hint="timer.elapsed is clock() at the exit minus clock() at the entry, in seconds")
        ratios.append(t_slow.elapsed / t_fast.elapsed)
        slow_s.append(t_slow.elapsed)
        fast_s.append(t_fast.elapsed)
    return BenchmarkResult(name, ratios, metadata={"baseline_s": float(np.median(slow_s)),
                                                   "fast_s": float(np.median(fast_s))})


# ---------------------------------------------------------------- gates, part one

def expected_flops(n: int) -> int:
    """kata 14's table for DigitsNet on (n, 1, 8, 8): conv with bias, pool comparisons, two Linears."""
    conv = 2 * n * CHANNELS * 64 * 1 * 9 + n * CHANNELS * 64
    pool = n * CHANNELS * 16 * (4 - 1)
    dense = 2 * n * CHANNELS * 16 * HIDDEN + n * HIDDEN + 2 * n * HIDDEN * 10 + n * 10
    return conv + pool + dense


def gate_profiler(profiler, model, n_test: int) -> tuple[int, int]:
    params = int(sum(_arr(p).size for p in model.parameters()))
    got = profiler.count_parameters(model)
    require(got == params, "Gate (Profiler): count_parameters must count every parameter element.",
            f"count_parameters(DigitsNet) = {got!r}, its parameters hold {params:,} elements",
            hint="sum .data.size over model.parameters(), each Tensor once")
    for n in (1, n_test):
        flops, expected = profiler.count_flops(model, (n, 1, 8, 8)), expected_flops(n)
        if flops != expected:
            fail("Gate (Profiler): count_flops must follow kata 14's table.",
                 f"count_flops(DigitsNet, ({n}, 1, 8, 8)) = {flops!r}, the table gives {expected:,} "
                 f"(conv {2 * n * CHANNELS * 64 * 9 + n * CHANNELS * 64:,}, pool {n * CHANNELS * 48:,}, "
                 f"Linears {expected - n * CHANNELS * (64 * 19 + 48):,})",
                 hint="the count covers the whole batch" if n > 1 and flops == expected_flops(1)
                 else "2 FLOPs per multiply-add, 1 per bias add and per pool comparison, 0 for ReLU and Flatten")
    return params, expected_flops(1)


def gate_quantized(float_model, q_model, x) -> None:
    """Every Linear became a QuantizedLinear whose codes are the nearest int8 codes of its
    weights, and the quantized model's logits show that rounding happened."""
    left = [type(l).__name__ for l in q_model.layers if isinstance(l, Linear)]
    quantized = [(l, f) for l, f in zip(q_model.layers, float_model.layers) if isinstance(l, QuantizedLinear)]
    require(not left and len(quantized) == 2,
            "Gate (quantize_model): every Linear of the model must become a QuantizedLinear.",
            f"after quantize_model the layers are {[type(l).__name__ for l in q_model.layers]}",
            hint="replace each Linear found in the model's attributes and in `layers` lists, in place")
    for i, (ql, lin) in enumerate(quantized):
        q = ql.q_weight
        require(isinstance(q, np.ndarray) and q.dtype == np.int8,
                "Gate (QuantizedLinear): q_weight must hold int8 codes (one byte per weight).",
                f"Linear {i}: q_weight is {type(q).__name__} of dtype {getattr(q, 'dtype', None)}",
                hint="keep the np.int8 array quantize_int8 returns; a float32 Tensor of codes saves nothing")
        w = _arr(lin.weight).astype(np.float64)
        scale, zp = float(ql.weight_scale), int(ql.weight_zero_point)
        err = np.abs((q.astype(np.float64) - zp) * scale - w)
        if err.max() > scale / 2 * (1 + 1e-4) + 1e-12:
            truncated = np.clip(np.trunc(w / scale + zp), -128, 127).astype(np.int8)
            fail("Gate (QuantizedLinear): each weight's code must be the nearest one: "
                 "|dequantize(q) - w| <= scale / 2.",
                 f"Linear {i}: the largest error is {err.max():.4g}, {err.max() / scale:.2f} steps of scale "
                 f"{scale:.4g}; {int(np.sum(err > scale / 2 * (1 + 1e-4)))} of {w.size} weights are off",
                 hint="the codes are truncated toward zero, never rounded: round(w / scale + zero_point) "
                      "before clipping and casting to int8" if np.array_equal(q, truncated)
                 else "q = clip(round(w / scale + zero_point), -128, 127), with scale and zero point from the range")
    with no_grad():
        exact, approx = _arr(float_model(Tensor(x))), _arr(q_model(Tensor(x)))
    if approx.shape == exact.shape and np.allclose(approx, exact, rtol=1e-6, atol=1e-7):
        fail("Gate (QuantizedLinear): the quantized model must compute with its int8 codes.",
             f"its logits on {len(x)} test images equal the float model's to within 1e-6: the "
             f"quantization never rounds anything",
             hint="forward must quantize the input and multiply the int8 codes (q_weight), not a float "
                  "copy of the original weights")


def gate_pruned(before, after, target: float) -> np.ndarray:
    """magnitude_prune zeroed exactly round(target * n) weights, the smallest ones, in place,
    and measure_sparsity reports it. Returns the mask of pruned weights."""
    w0 = np.concatenate([_arr(p).ravel() for p in weights_of(before)])
    w1 = np.concatenate([_arr(p).ravel() for p in weights_of(after)])
    k, zeros0, zeros1 = round(target * w0.size), int(np.sum(w0 == 0)), int(np.sum(w1 == 0))
    if zeros1 <= zeros0:
        fail(f"Gate (magnitude_prune): magnitude_prune(model, sparsity={target}) must set weights to zero.",
             f"the model's {w0.size:,} weights had {zeros0} zeros before and {zeros1} after: it pruned nothing",
             hint="zero the round(sparsity * n) weights of smallest |w| in the model's own weight Tensors, "
                  "in place (their .data), and return the model")
    require(zeros1 == k, f"Gate (magnitude_prune): sparsity={target} must prune exactly round({target} * n) weights.",
            f"{zeros1:,} of the {w0.size:,} weights are zero, expected {k:,}",
            hint="rank all weights together by |w| and zero the k smallest; a threshold test prunes too few or too many")
    kept = w1 != 0
    require(np.array_equal(w1[kept], w0[kept]), "Gate (magnitude_prune): every kept weight must be unchanged.",
            f"{int(np.sum(w1[kept] != w0[kept]))} kept weights changed value")
    require(np.abs(w0[~kept]).max() <= np.abs(w0[kept]).min(),
            "Gate (magnitude_prune): the pruned weights must be the smallest in magnitude.",
            f"a pruned weight had |w| = {np.abs(w0[~kept]).max():.4g}, a kept one {np.abs(w0[kept]).min():.4g}",
            hint="global scope: one ranking over every weight of the model")
    reported, actual = measure_sparsity(after), 100.0 * zeros1 / w1.size
    require(isinstance(reported, float) and abs(reported - actual) < 1e-6,
            "Gate (measure_sparsity): it must report the percentage of weights equal to zero.",
            f"measure_sparsity = {reported!r}, {actual:.4f}% of the weights are zero",
            hint="100 * zeros / entries over the parameters with two or more dimensions (biases excluded)")
    return ~kept


def gate_fine_tuned(model, pruned_mask: np.ndarray) -> None:
    w = np.concatenate([_arr(p).ravel() for p in weights_of(model)])
    revived = int(np.sum(w[pruned_mask] != 0))
    require(revived == 0, "Gate (keep_pruned): fine-tuning must keep the pruned weights at zero.",
            f"after the fine-tune {revived:,} of the {int(pruned_mask.sum()):,} pruned weights are non-zero again",
            hint="keep_pruned(optimizer) records the zeros and sets them back to zero right after every step()")
    require(np.any(w[~pruned_mask] != 0), "Gate (keep_pruned): the kept weights must still train.",
            "every weight is zero after the fine-tune")


def gate_im2col(conv, x) -> None:
    stride, padding = conv.stride, conv.padding
    with no_grad():
        ref = _arr(conv(Tensor(x))).astype(np.float64)
    for name, fn in (("naive_conv2d", naive_conv2d), ("im2col_conv2d", im2col_conv2d)):
        out = _arr(fn(Tensor(x), conv.weight, conv.bias, stride, padding)).astype(np.float64)
        if out.shape != ref.shape or not np.allclose(out, ref, rtol=1e-4, atol=1e-5):
            fail(f"Gate ({name}): it must return what your Conv2d returns for the same weight and input.",
                 f"on {x.shape}: got shape {out.shape}, Conv2d gives {ref.shape}"
                 + (f"; largest difference {np.abs(out - ref).max():.4g}" if out.shape == ref.shape else ""),
                 hint="row (n*Ho + y)*Wo + x of im2col is the window of output (y, x); its column "
                      "(c*kh + i)*kw + j holds xpad[n, c, y*sh + i, x*sw + j]")


# ---------------------------------------------------------------- part one

def digits_run(seed: int = 2018, gate: bool = True) -> dict:
    """Train the CNN under `seed`, then profile, quantize, prune and accelerate it; the figures."""
    start = time.perf_counter()
    x_train, y_train, x_test, y_test = load_tinydigits()
    x_train, x_test = x_train[:, None], x_test[:, None]
    np.random.seed(seed)
    model = DigitsNet()
    loader = DataLoader(TensorDataset(Tensor(x_train), Tensor(y_train)), batch_size=BATCH, shuffle=True, seed=seed)
    trainer = Trainer(model, Adam(model.parameters(), lr=LR), CrossEntropyLoss(),
                      scheduler=CosineSchedule(LR, LR / 20, EPOCHS))
    for _ in range(EPOCHS):
        trainer.train_epoch(loader)
    model.eval()
    train_seconds = time.perf_counter() - start

    profiler = Profiler()
    if gate:
        params, flops = gate_profiler(profiler, model, len(x_test))
    else:
        params, flops = profiler.count_parameters(model), profiler.count_flops(model, (1, 1, 8, 8))

    quantized = quantize_model(copy.deepcopy(model), [Tensor(x_train[:CALIBRATION_IMAGES])])
    quantized.name = "int8"
    if gate:
        gate_quantized(model, quantized, x_test)

    pruned = copy.deepcopy(model)
    pruned.train()
    magnitude_prune(pruned, SPARSITY)
    pruned.name = "pruned"
    mask = gate_pruned(model, pruned, SPARSITY) if gate else None
    pruned_before = float(np.mean(predictions(pruned, x_test) == y_test))
    tuner = Trainer(pruned, keep_pruned(Adam(pruned.parameters(), lr=FINE_TUNE_LR)), CrossEntropyLoss(),
                    scheduler=CosineSchedule(FINE_TUNE_LR, FINE_TUNE_LR / 10, FINE_TUNE_EPOCHS))
    for _ in range(FINE_TUNE_EPOCHS):
        tuner.train_epoch(loader)
    pruned.eval()
    if gate:
        gate_fine_tuned(pruned, mask)
    w = np.concatenate([_arr(p).ravel() for p in weights_of(pruned)])
    sparsity = 100.0 * float(np.mean(w == 0))

    # Accuracy and memory by your Benchmark, accuracy checked against the models' own argmax.
    models = [model, quantized, pruned]
    bench = Benchmark(models, [(x_test, y_test)], warmup_runs=1, measurement_runs=5)
    accuracy = {m.name: r.mean for m, r in zip(models, bench.run_accuracy_benchmark().values())}
    memory = {m.name: r.metadata["bytes"] for m, r in zip(models, bench.run_memory_benchmark().values())}
    latency = {m.name: r.median for m, r in
               zip(models, bench.run_latency_benchmark(input_shape=(len(x_test), 1, 8, 8)).values())}
    for m in models:
        own = float(np.mean(predictions(m, x_test) == y_test))
        require(abs(accuracy[m.name] - own) < 1e-9,
                "Gate (Benchmark): run_accuracy_benchmark must report the fraction of samples classified right.",
                f"it reports {accuracy[m.name]!r} for the {m.name} model, whose argmax gets {own:.3f} right",
                hint="compare argmax over the last axis of the output with the labels, sample by sample")

    conv, x_conv = model.layers[0], x_test[:CONV_BATCH]
    if gate:
        gate_im2col(conv, x_conv)
    args = (Tensor(x_conv), conv.weight, conv.bias, conv.stride, conv.padding)
    im2col = interleaved("im2col speedup", lambda: naive_conv2d(*args), lambda: im2col_conv2d(*args), CONV_REPEATS)
    return {"params": params, "flops": flops, "accuracy": accuracy, "memory": memory, "latency": latency,
            "quant_ratio": memory["float32"] / memory["int8"],
            "quant_loss": accuracy["float32"] - accuracy["int8"],
            "prune_loss": accuracy["float32"] - accuracy["pruned"], "pruned_before_fine_tune": pruned_before,
            "sparsity": sparsity, "im2col": im2col.median, "im2col_range": (im2col.min_val, im2col.max_val),
            "conv_seconds": (im2col.metadata["baseline_s"], im2col.metadata["fast_s"]),
            "train_seconds": train_seconds, "sizes": (len(x_train), len(x_test))}


def table(r: dict) -> str:
    acc, mem, lat = r["accuracy"], r["memory"], r["latency"]
    rows = [f"{'model':<26}{'stored':>10}{'accuracy':>10}{'latency':>10}",
            f"{'float32 (trained)':<26}{mem['float32']:>8,} B{acc['float32']:>10.1%}{lat['float32']:>7.2f} ms",
            f"{'int8 (quantize_model)':<26}{mem['int8']:>8,} B{acc['int8']:>10.1%}{lat['int8']:>7.2f} ms",
            (f"{f'pruned {SPARSITY:.0%} + fine-tune':<26}{mem['pruned']:>8,} B{acc['pruned']:>10.1%}"
             f"{lat['pruned']:>7.2f} ms")]
    return "\n".join(rows)


def test_measure_then_shrink_and_speed_up_a_digits_cnn(record_property):
    start = time.perf_counter()
    r = digits_run()
    n_train, n_test = r["sizes"]
    slow, fast = r["conv_seconds"]
    panel(record_property, "Milestone 2018, part one: measure a digits CNN, then make it smaller and faster",
          {"data": f"TinyDigits: {n_train} train, {n_test} test, 8x8 pixels",
           "model": f"conv 3x3 ({CHANNELS}) + ReLU + max-pool, Flatten, Linear(64, {HIDDEN}), ReLU, "
                    f"Linear({HIDDEN}, 10); Adam {LR} cosine, {EPOCHS} epochs",
           "profile": f"{r['params']:,} parameters, {r['flops']:,} FLOPs per image (your Profiler)",
           "before / after": table(r),
           "quantized": f"{r['quant_ratio']:.2f}x smaller (at least {QUANT_RATIO}x), "
                        f"{r['quant_loss']:+.1%} accuracy lost (at most {QUANT_LOSS:.0%})",
           "pruned": f"{r['sparsity']:.1f}% of the weights zero (at least {PRUNE_SPARSITY:.0f}%), "
                     f"{r['pruned_before_fine_tune']:.1%} before the {FINE_TUNE_EPOCHS}-epoch fine-tune, "
                     f"{r['prune_loss']:+.1%} lost after (at most {PRUNE_LOSS:.0%})",
           "im2col": f"{r['im2col']:.0f}x faster than naive_conv2d on {CONV_BATCH} images "
                     f"(median of {CONV_REPEATS} interleaved pairs, which ranged "
                     f"{r['im2col_range'][0]:.0f}-{r['im2col_range'][1]:.0f}x; {slow * 1e3:.1f} ms -> {fast * 1e3:.2f} ms; at least "
                     f"{IM2COL_SPEEDUP:.0f}x)",
           "time": f"{time.perf_counter() - start:.1f} s ({r['train_seconds']:.1f} s training)"},
          note="latency (not gated): your Benchmark, median of 5 calls on the 200 test images. NumPy has "
               "no int8 matrix product, so the integer path is emulated and quantization wins memory here, "
               "not time; pruned weights are still stored dense (sparsity pays with sparse kernels).")
    require(r["quant_ratio"] >= QUANT_RATIO, f"Milestone: quantization must make the model {QUANT_RATIO}x smaller.",
            f"{r['memory']['float32']:,} bytes -> {r['memory']['int8']:,} bytes: {r['quant_ratio']:.2f}x",
            hint="one int8 code per weight and bias, plus a scale and a zero point per tensor")
    require(r["quant_loss"] <= QUANT_LOSS + 1e-9,
            f"Milestone: quantization may cost at most {QUANT_LOSS:.0%} of test accuracy.",
            f"{r['accuracy']['float32']:.1%} -> {r['accuracy']['int8']:.1%}",
            hint="the gates passed: check the calibration (each layer's own inputs) and the rescale "
                 "acc * input_scale * weight_scale")
    require(r["sparsity"] >= PRUNE_SPARSITY, f"Milestone: at least {PRUNE_SPARSITY:.0f}% of the weights must be zero.",
            f"{r['sparsity']:.1f}% are zero after the fine-tune")
    require(r["prune_loss"] <= PRUNE_LOSS + 1e-9,
            f"Milestone: pruning and fine-tuning may cost at most {PRUNE_LOSS:.0%} of test accuracy.",
            f"{r['accuracy']['float32']:.1%} -> {r['accuracy']['pruned']:.1%} "
            f"({r['pruned_before_fine_tune']:.1%} before the fine-tune)",
            hint="the kept weights and the biases must train freely during the fine-tune")
    require(r["im2col"] >= IM2COL_SPEEDUP, f"Milestone: im2col_conv2d must be {IM2COL_SPEEDUP:.0f}x faster than naive_conv2d.",
            f"median speedup {r['im2col']:.1f}x ({slow * 1e3:.1f} ms -> {fast * 1e3:.2f} ms)",
            hint="im2col must build the windows with array slicing (a loop over kernel offsets at most), "
                 "then one matrix product")


# ---------------------------------------------------------------- part two

def gate_cache_update() -> None:
    """KVCache.update returns the cached history followed by the tokens just written."""
    rng = np.random.default_rng(2018)
    cache = KVCache(1, 8, 1, 2, 3)
    for new in (3, 1):
        before = cache.seq_pos
        k, v = (rng.standard_normal((1, 2, new, 3)).astype(np.float32) for _ in range(2))
        keys, values = cache.update(0, Tensor(k), Tensor(v))
        keys, values = _arr(keys), _arr(values)
        if keys.shape[2] == before and keys.shape[2] != before + new:
            fail("Gate (KVCache): update must return the cached keys and values followed by the new ones.",
                 f"after {before} cached tokens and {new} new, it returned {keys.shape[2]} positions: the "
                 f"history without the tokens just written, so the current token never sees itself",
                 hint="return positions 0 .. seq_pos + T - 1, the new tokens included (TinyTorch's bug "
                      "until v0.1.14)")
        require(keys.shape == (1, 2, before + new, 3) and np.allclose(keys[:, :, before:], k)
                and np.allclose(values[:, :, before:], v),
                "Gate (KVCache): update must return the cached keys and values followed by the new ones.",
                f"after {before} cached tokens and {new} new: keys of shape {keys.shape}, expected "
                f"(1, 2, {before + new}, 3) ending with the new keys")
        cache.advance(new)


def gate_cached_attention(gpt, rng) -> None:
    """One block's CachedAttention, fed the prompt then one token, gives what the full
    attention gives at those positions."""
    att = gpt.blocks[0].attention
    n = 6
    x = rng.standard_normal((1, n, EMBED)).astype(np.float32)
    with no_grad():
        full = _arr(att(Tensor(x), create_causal_mask(n)))
        cache = KVCache(1, n, 1, HEADS, EMBED // HEADS)
        cached = CachedAttention(att, cache, 0)
        first = _arr(cached(Tensor(x[:, :n - 1]), create_causal_mask(n - 1)))
        cache.advance(n - 1)
        step = _arr(cached(Tensor(x[:, n - 1:]), create_causal_mask(1)))
        blind = np.tril(np.ones((n, n), np.float32))
        blind[n - 1, n - 1] = 0  # the last query sees the earlier keys only
        dropped = _arr(att(Tensor(x), Tensor(blind[None])))
    require(first.shape == (1, n - 1, EMBED) and np.allclose(first, full[:, :n - 1], rtol=1e-4, atol=1e-5),
            "Gate (CachedAttention): on the prompt it must give what the attention gives on the whole prompt.",
            f"{n - 1} prompt tokens: got shape {first.shape}"
            + (f", largest difference {np.abs(first - full[:, :n - 1]).max():.3g}" if first.shape == (1, n - 1, EMBED) else ""),
            hint="causal over all positions: the token at position p sees keys 0 .. p, itself included")
    if step.shape == (1, 1, EMBED) and not np.allclose(step, full[:, n - 1:], rtol=1e-4, atol=1e-5):
        hint = ("it equals attention that leaves out the current token's own key: the new token must "
                "attend to every cached key and to its own (what update returns)"
                if np.allclose(step, dropped[:, n - 1:], rtol=1e-4, atol=1e-5)
                else "the new token's query attends over the keys update returns: the history and its own")
        fail("Gate (CachedAttention): a cached step must give what the full attention gives at that position.",
             f"token {n - 1} after {n - 1} cached: largest difference {np.abs(step - full[:, n - 1:]).max():.3g}",
             hint=hint)
    require(step.shape == (1, 1, EMBED), "Gate (CachedAttention): a step of one token returns (1, 1, embed_dim).",
            f"got shape {step.shape}")


def cache_run(seed: int = 2018, gate: bool = True) -> dict:
    """A GPT under `seed` (untrained: speed and agreement need no training) writes NEW_TOKENS
    greedy tokens with generate and with generate_cached, interleaved."""
    np.random.seed(seed)
    gpt = GPT(VOCAB, EMBED, LAYERS, HEADS, max_seq_len=PROMPT + NEW_TOKENS)
    rng = np.random.default_rng(seed)
    prompt = Tensor(rng.integers(0, VOCAB, (1, PROMPT)))
    if gate:
        gate_cache_update()
        gate_cached_attention(gpt, rng)
    out = {}

    def plain():
        out["plain"] = _arr(gpt.generate(prompt, NEW_TOKENS, temperature=0)).copy()

    def cached():
        out["cached"] = _arr(generate_cached(gpt, prompt, NEW_TOKENS, temperature=0)).copy()

    speed = interleaved("KV cache speedup", plain, cached, GENERATE_REPEATS)
    plain_tokens, cached_tokens = out["plain"], out["cached"]
    same = plain_tokens.shape == cached_tokens.shape and np.array_equal(plain_tokens, cached_tokens)
    if gate and not same:
        differ = [i for i in range(min(plain_tokens.shape[1], cached_tokens.shape[1]))
                  if plain_tokens[0, i] != cached_tokens[0, i]]
        fail("Gate (generate_cached): it must return the tokens model.generate returns.",
             f"generate gives shape {plain_tokens.shape}, generate_cached {cached_tokens.shape}"
             + (f"; first different token at position {differ[0]} (the prompt has {PROMPT})" if differ else ""),
             hint="feed the prompt once, then one forward per new token with that token alone at "
                  "start_pos = cache.seq_pos, advancing the cache after each forward")
    return {"speedup": speed.median, "range": (speed.min_val, speed.max_val), "same": same,
            "seconds": (speed.metadata["baseline_s"], speed.metadata["fast_s"]),
            "cache_bytes": KVCache(1, PROMPT + NEW_TOKENS, LAYERS, HEADS, EMBED // HEADS).memory_usage(),
            "params": int(sum(_arr(p).size for p in gpt.parameters())),
            "distinct": len(set(plain_tokens[0, PROMPT:].tolist()))}


def test_kv_cache_writes_the_same_tokens_faster(record_property):
    start = time.perf_counter()
    r = cache_run()
    slow, fast = r["seconds"]
    panel(record_property, "Milestone 2018, part two: generation with a KV cache",
          {"model": f"GPT(vocab {VOCAB}, embed {EMBED}, {LAYERS} layer, {HEADS} heads), {r['params']:,} "
                    f"parameters, untrained, greedy",
           "task": f"a {PROMPT}-token prompt, {NEW_TOKENS} new tokens ({r['distinct']} distinct)",
           "generate": f"{slow:.3f} s (every step recomputes the whole window)",
           "generate_cached": f"{fast:.3f} s (one token of work per step; cache {r['cache_bytes']:,} bytes)",
           "same tokens": "yes" if r["same"] else "NO",
           "speedup": f"{r['speedup']:.1f}x (median of {GENERATE_REPEATS} interleaved pairs, which ranged "
                      f"{r['range'][0]:.1f}-{r['range'][1]:.1f}x; at least {KV_SPEEDUP:.0f}x)",
           "time": f"{time.perf_counter() - start:.1f} s"})
    require(r["speedup"] >= KV_SPEEDUP, f"Milestone: generate_cached must be {KV_SPEEDUP:.0f}x faster than generate.",
            f"median speedup {r['speedup']:.1f}x ({slow:.3f} s -> {fast:.3f} s for {NEW_TOKENS} tokens)",
            hint="a cached step must project only the new token and write into preallocated buffers, "
                 "not recompute or concatenate the history")
