"""Hidden tests for the measurements: memory (tracemalloc), latency, the `with` block,
profile_layer and quick_profile, all timed on a fake clock that moves only while a model
runs, by amounts the test chose."""
from __future__ import annotations

import inspect
import time
import tracemalloc

import numpy as np
import pytest

from pytest_tinytorch import checks
from tinytorch.core.layers import Layer, Linear
from tinytorch.core.tensor import Tensor

import profiling_kit as kit
from profiling_kit import MB, FakeClock, TimedModel, check_float, profiler

TEMP = 2 ** 20  # float64 elements of the temporary an allocating model makes: 8 MB


class Allocating(Layer):
    """Allocates an 8 MB temporary during its forward, then returns a small output."""

    def forward(self, x):
        temporary = np.ones(TEMP, dtype=np.float64)
        return Tensor(np.zeros(4, np.float32) + float(temporary[0]))


class Tied(Layer):
    """A layer whose parameters() lists the same weight twice, as tied weights do."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def parameters(self):
        return [self.inner.weight, self.inner.bias, self.inner.weight]

    def forward(self, x):
        return self.inner(x)


def memory(model, shape, what):
    p = profiler()
    out = kit.run(lambda: p.measure_memory(model, shape), what)
    if not isinstance(out, dict):
        checks.fail(f"{what} must return a dict.", f"got {type(out).__name__}: {out!r}")
    missing = [k for k in ("parameter_memory_mb", "activation_memory_mb", "peak_memory_mb") if k not in out]
    if missing:
        checks.fail(f"{what} must return the keys parameter_memory_mb, activation_memory_mb, "
                    "peak_memory_mb.", f"missing: {missing}; got keys {sorted(out)}")
    return out


# ---------------------------------------------------------------- measure_memory

def test_parameter_memory_counts_the_real_bytes():
    layer = Linear(5, 7)
    what = "measure_memory(Linear(5, 7), (2, 5))['parameter_memory_mb']"
    check_float(memory(layer, (2, 5), what)["parameter_memory_mb"], 42 * 4 / MB, what,
                wrong=[(42 * 4 / 1e6, "a megabyte here is 2**20 bytes (TinyTorch's MB), not 10**6"),
                       (42 * 4, "report megabytes (bytes / 2**20), not bytes")],
                hint="42 float32 parameters take 168 bytes: 168 / 2**20 MB")
    layer.weight = Tensor(np.zeros((5, 7)), requires_grad=True)  # float64 now
    what = "measure_memory of a Linear(5, 7) whose weight is float64"
    check_float(memory(layer, (2, 5), what)["parameter_memory_mb"], (35 * 8 + 7 * 4) / MB, what,
                wrong=[(42 * 4 / MB, "you assumed 4 bytes per parameter: read each Tensor's "
                                     ".data.nbytes (float64 takes 8 bytes)")],
                hint="35 float64 weights (8 bytes each) and 7 float32 biases (4 bytes each)")
    what = "measure_memory of a Linear(4, 4) whose parameters() lists its weight twice (a tied weight)"
    check_float(memory(Tied(Linear(4, 4)), (2, 4), what)["parameter_memory_mb"], 20 * 4 / MB, what,
                wrong=[(36 * 4 / MB, "a Tensor listed twice was counted twice: count each Tensor "
                                     "once (compare by identity, id(t))")],
                hint="20 float32 parameters, each Tensor counted once")


def test_activation_memory_is_the_output_of_the_call():
    layer = Linear(3, 50)
    what = "measure_memory(Linear(3, 50), (7, 3))['activation_memory_mb']"
    check_float(memory(layer, (7, 3), what)["activation_memory_mb"], 7 * 50 * 4 / MB, what,
                wrong=[(7 * 3 * 4 / MB, "that is the input's size: report the bytes of model(x)'s output"),
                       (2 * 7 * 3 * 4 / MB, "twice the input is TinyTorch's estimate: measure the "
                                            "output itself")],
                hint="the (7, 50) float32 output takes 1,400 bytes")
    from tinytorch.models.transformer import GPT
    what = "measure_memory(GPT(7, 4, 1, 2, 8), (2, 5))['activation_memory_mb'] (zeros are token ids)"
    check_float(memory(GPT(7, 4, 1, 2, 8), (2, 5), what)["activation_memory_mb"], 2 * 5 * 7 * 4 / MB, what,
                hint="the (2, 5, 7) float32 logits take 280 bytes")


def test_the_input_is_float32_zeros_of_the_shape_and_runs_under_no_grad():
    clock = FakeClock()
    model = TimedModel(clock, [0.0])
    memory(model, (2, 3, 4), "measure_memory(model, (2, 3, 4))")
    if model.calls != 1:
        checks.fail("measure_memory must call model(x) exactly once.", f"it was called {model.calls} times")
    x = model.inputs[0]
    if not isinstance(x, Tensor):
        checks.fail("measure_memory must call the model on a Tensor.", f"got {type(x).__name__}")
    checks.check_array(x, np.zeros((2, 3, 4), np.float32), "the input measure_memory built",
                       dtype=np.float32, hint="x = Tensor(np.zeros(input_shape, np.float32))",
                       shape_hint="x has the shape input_shape",
                       dtype_hint="the input is float32: Tensor(np.zeros(input_shape, np.float32))")
    if model.grad_modes[0]:
        checks.fail("measure_memory must run the model under no_grad().",
                    "grad mode was on during the call", hint="with no_grad(): out = model(x)")


def test_the_peak_is_the_largest_allocation_during_the_call():
    what = "measure_memory of a model that allocates an 8 MB temporary inside its forward"
    peak = memory(Allocating(), (1,), what)["peak_memory_mb"]
    if not 8.0 <= peak <= 8.5:
        hint = ("you reported the memory still allocated after the call: tracemalloc's peak "
                "(get_traced_memory()[1]) is what the call needed at most") if peak < 1 else \
            "start tracemalloc just before the call and read its peak right after"
        checks.fail(f"{what}: peak_memory_mb is wrong.", f"got {peak!r}, expected about 8.0",
                    hint=hint)
    if tracemalloc.is_tracing():
        tracemalloc.stop()
        checks.fail("measure_memory left tracemalloc running.", "it was off before the call",
                    hint="stop tracemalloc again if you started it")


def test_tracemalloc_is_left_as_it_was_found():
    what = "measure_memory while tracemalloc was already tracing (4 MB in use, an old peak of 20 MB)"
    tracemalloc.start()
    try:
        kept = np.ones(TEMP // 2)  # 4 MB in use before the call
        stale = np.ones(2 * TEMP)  # a 16 MB peak before the call
        del stale
        peak = memory(Allocating(), (1,), what)["peak_memory_mb"]
        still = tracemalloc.is_tracing()
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
    del kept
    if not still:
        checks.fail(f"{what}: tracemalloc must still be tracing afterwards.",
                    "you stopped a trace someone else started",
                    hint="stop tracemalloc only if it was off when measure_memory began "
                         "(tracemalloc.is_tracing())")
    if not 8.0 <= peak <= 8.5:
        hint = ""
        if 11.5 <= peak <= 13:
            hint = ("the 4 MB already allocated before the call were counted: subtract "
                    "get_traced_memory()[0] read just before the call")
        elif peak > 13:
            hint = ("the peak from before the call was kept: tracemalloc.reset_peak() starts a "
                    "fresh one")
        checks.fail(f"{what}: peak_memory_mb is wrong.", f"got {peak!r}, expected about 8.0",
                    hint=hint)


# ---------------------------------------------------------------- measure_latency

WARM = 1.0  # seconds per warm-up call: big enough to move any statistic that includes it
TIMED = [0.004, 0.001, 0.003, 0.100, 0.002]  # median 3 ms, mean 22 ms


def latency(model, x, what, **kwargs):
    p = profiler(model.clock)
    return kit.run(lambda: p.measure_latency(model, x, **kwargs), what)


def latency_wrong(warmup, timed):
    ms = [1000 * t for t in timed]
    allcalls = [1000 * WARM] * warmup + ms
    out = [(float(np.mean(ms)), "that is the mean: return the median (np.median), which one slow "
                                "run cannot drag"),
           (float(np.median(ms)) / 1000, "that is in seconds: return milliseconds (* 1000)"),
           (float(np.median(allcalls)), "the warm-up calls were timed too: time only the "
                                        "`iterations` calls after them"),
           (float(np.sum(ms)), "that is the total: return the median of the separate durations"),
           (float(np.median(allcalls[:len(ms)])), "the warm-up calls were not made (or were "
                                                  "timed): first `warmup` untimed calls")]
    if len(ms) % 2 == 0:
        out.append((sorted(ms)[len(ms) // 2], "for an even count the median is the mean of the two "
                                              "middle values (np.median), not the upper one"))
    return out


@pytest.mark.parametrize("timed", [TIMED, TIMED[:4]], ids=["odd", "even"])
def test_latency_is_the_median_of_separately_timed_calls(timed):
    clock = FakeClock()
    model = TimedModel(clock, [WARM] * 4 + timed)
    x = kit.zero_input((2, 3))
    what = f"measure_latency(model, x, warmup=4, iterations={len(timed)}) with call durations {timed} s"
    got = latency(model, x, what, warmup=4, iterations=len(timed))
    check_float(got, float(np.median(timed)) * 1000, what, wrong=latency_wrong(4, timed),
                hint="the median of the `iterations` durations, each measured with self.clock() "
                     "just before and after its call, in milliseconds")
    if model.calls != 4 + len(timed):
        checks.fail(f"{what} must call the model warmup + iterations = {4 + len(timed)} times.",
                    f"it was called {model.calls} times")
    if any(t is not x for t in model.inputs):
        checks.fail(f"{what} must call model(x) with x itself.", "some call got another input")
    if any(model.grad_modes):
        checks.fail(f"{what} must run the model under no_grad().", "grad mode was on during a call",
                    hint="wrap the warm-up and timed calls in `with no_grad():`")


def test_latency_defaults_are_10_warmup_and_100_timed_calls():
    clock = FakeClock()
    timed = [0.001 * (1 + (7 * i) % 13) for i in range(100)]
    model = TimedModel(clock, [WARM] * 10 + timed)
    what = "measure_latency(model, x) with its defaults"
    got = latency(model, kit.zero_input((1,)), what)
    check_float(got, float(np.median(timed)) * 1000, what, wrong=latency_wrong(10, timed))
    if model.calls != 110:
        checks.fail(f"{what} must call the model 10 + 100 times.", f"it was called {model.calls} times",
                    hint="the defaults are warmup=10, iterations=100")
    from tinytorch.perf.profiling import Profiler
    defaults = {k: v.default for k, v in inspect.signature(Profiler.measure_latency).parameters.items()}
    if defaults.get("warmup") != 10 or defaults.get("iterations") != 100:
        checks.fail("measure_latency's defaults must be warmup=10, iterations=100.", f"got {defaults}")


@pytest.mark.parametrize("bad", [{"warmup": -1}, {"iterations": 0}], ids=["warmup-1", "iterations0"])
def test_latency_rejects_impossible_counts(bad):
    clock = FakeClock()
    model = TimedModel(clock, [0.001])
    p = profiler(clock)
    args = {"warmup": 2, "iterations": 3, **bad}
    result = []
    exc = kit.raised(lambda: result.append(p.measure_latency(model, kit.zero_input((1,)), **args)))
    if not isinstance(exc, ValueError):
        checks.fail(f"measure_latency(model, x, **{args}) must raise ValueError.",
                    f"got {type(exc).__name__}: {exc}" if exc else f"it returned {result[0]!r}",
                    hint="warmup must be >= 0 and iterations >= 1 (a median of nothing is NaN)")


# ---------------------------------------------------------------- the `with` block

def test_a_with_block_is_timed_in_milliseconds():
    from tinytorch.perf.profiling import Profiler
    default = kit.run(lambda: Profiler(), "Profiler()")
    if default.clock is not time.perf_counter:
        checks.fail("Profiler()'s default clock must be time.perf_counter.", f"got {default.clock!r}",
                    hint="time.perf_counter is monotonic and precise; time.time can jump")
    if default.elapsed is not None:
        checks.fail("Profiler().elapsed must be None before any `with` block.", f"got {default.elapsed!r}")
    clock = FakeClock()
    p = profiler(clock)
    if p.clock is not clock:
        checks.fail("Profiler(clock=c) must store c as .clock.", f"got {p.clock!r}")
    with p as bound:
        clock.advance(0.25)
    if bound is not p:
        checks.fail("`with Profiler() as p:` must bind p to the profiler itself.",
                    f"got {bound!r}", hint="__enter__ returns self")
    check_float(p.elapsed, 250.0, "elapsed after a block of 0.25 s",
                wrong=[(0.25, "that is in seconds: elapsed is in milliseconds (* 1000)")])


def test_a_block_that_raises_is_timed_and_the_error_goes_on():
    clock = FakeClock()
    p = profiler(clock)
    swallowed = True
    try:
        with p:
            clock.advance(0.5)
            raise KeyError("from the block")
    except KeyError:
        swallowed = False
    if swallowed:
        checks.fail("An exception raised inside `with Profiler():` must propagate.",
                    "it was swallowed", hint="__exit__ must return False (or None), not True")
    check_float(p.elapsed, 500.0, "elapsed after a block of 0.5 s that raised",
                hint="set elapsed in __exit__ whatever the exception: it is called either way")


# ---------------------------------------------------------------- profile_layer and quick_profile

KEYS = ("layer_type", "parameters", "flops", "latency_ms", "gflops_per_second",
        "parameter_memory_mb", "activation_memory_mb", "peak_memory_mb")


def check_profile(got, layer, shape, step, calls, what):
    if not isinstance(got, dict):
        checks.fail(f"{what} must return a dict.", f"got {type(got).__name__}: {got!r}")
    missing = [k for k in KEYS if k not in got]
    if missing:
        checks.fail(f"{what} must return the keys {', '.join(KEYS)}.", f"missing: {missing}")
    if got["layer_type"] != type(layer).__name__:
        checks.fail(f"{what}: layer_type must be the class name.", f"got {got['layer_type']!r}",
                    hint="type(layer).__name__")
    flops = kit.linear_flops(kit.prod(shape[:-1]), layer.in_features, layer.out_features, True)
    kit.check_count(got["parameters"], layer.in_features * layer.out_features + layer.out_features,
                    f"{what}['parameters']")
    kit.check_count(got["flops"], flops, f"{what}['flops']")
    check_float(got["latency_ms"], step * 1000, f"{what}['latency_ms'] (every call takes {step} s)",
                wrong=[(step, "that is in seconds: latency_ms is in milliseconds")])
    check_float(got["gflops_per_second"], flops / (step * 1000 * 1e6), f"{what}['gflops_per_second']",
                wrong=[(flops / (step * 1000), "divide by latency_ms * 1e6: that is flops / 1e9 per second"),
                       (flops / step, "that is FLOPs per second: gflops_per_second is flops / 1e9 "
                                      "per second, flops / (latency_ms * 1e6)")],
                hint="flops / (latency_ms * 1e6)")
    check_float(got["parameter_memory_mb"], (layer.in_features + 1) * layer.out_features * 4 / MB,
                f"{what}['parameter_memory_mb']")
    check_float(got["activation_memory_mb"], kit.prod(shape[:-1]) * layer.out_features * 4 / MB,
                f"{what}['activation_memory_mb']")
    if len(calls) != 14:
        checks.fail(f"{what} must call the layer 14 times.", f"it was called {len(calls)} times",
                    hint="once for measure_memory, then measure_latency with warmup=3, iterations=10")
    for args in calls:
        checks.check_array(args[0], np.zeros(shape, np.float32), f"{what}: the input of every call",
                           dtype=np.float32, hint="a float32 Tensor of zeros of input_shape",
                           shape_hint="every call gets a Tensor of zeros of input_shape",
                           dtype_hint="the input is float32: Tensor(np.zeros(input_shape, np.float32))")


def test_profile_layer_combines_the_counts_and_measurements():
    clock = FakeClock()
    layer = Linear(6, 5)
    before = [p.data.copy() for p in layer.parameters()]
    calls = kit.timed(layer, clock, 0.002)
    p = profiler(clock)
    got = kit.run(lambda: p.profile_layer(layer, (3, 6)), "profile_layer(Linear(6, 5), (3, 6))")
    check_profile(got, layer, (3, 6), 0.002, calls, "profile_layer(Linear(6, 5), (3, 6))")
    if not layer.training or any(not np.array_equal(a, b.data) for a, b in zip(before, layer.parameters())):
        checks.fail("profile_layer must leave the layer as it was: its parameters and its mode.",
                    f"training={layer.training}", hint="measure, do not modify: no eval(), no "
                                                       "writes into the parameters")


def test_quick_profile_prints_and_returns_the_profile(capsys):
    from tinytorch.perf.profiling import quick_profile
    clock = FakeClock()
    layer = Linear(128, 64)
    calls = kit.timed(layer, clock, 0.004)
    x = kit.zero_input((32, 128))
    what = "quick_profile(Linear(128, 64), x of shape (32, 128), profiler=Profiler(clock))"
    got = kit.run(lambda: quick_profile(layer, x, profiler=profiler(clock)), what)
    printed = capsys.readouterr().out
    check_profile(got, layer, (32, 128), 0.004, calls, what)
    lines = [line.strip() for line in printed.splitlines()]
    for key in KEYS:
        if not any(line.startswith(f"{key}: ") for line in lines):
            checks.fail(f"{what} must print every entry as `key: value` on its own line.",
                        f"no line starts with {key + ': '!r}; printed:\n{printed}")
    for line in ("parameters: 8,256", "flops: 526,336"):
        if line not in lines:
            checks.fail(f"{what} must print integers with thousands separators.",
                        f"expected the line {line!r}; printed:\n{printed}", hint="f'{value:,}'")
    plain = Linear(3, 2)
    got = kit.run(lambda: quick_profile(plain, kit.zero_input((1, 3))),
                  "quick_profile(Linear(3, 2), x) without a profiler")
    capsys.readouterr()
    if not isinstance(got, dict) or got.get("flops") != kit.linear_flops(1, 3, 2, True):
        checks.fail("quick_profile(model, x) without a profiler must make its own Profiler() and "
                    "return the profile.", f"got {got!r}")
