"""Hidden tests for precise_timer and Benchmark.run_latency_benchmark, under a fake clock.

The clock's time moves only while a fake model runs, by the amount the test chose for
that call, so every latency has an exact expected value (no real code is timed).
"""
import inspect
import time

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor
from tinytorch.perf.benchmarking import Benchmark, BenchmarkResult, precise_timer
from benchmarking_kit import F32, Fake, FakeClock, check_number, check_values, raised

KATA = "19_benchmarking"

HINT_MS = "latencies are in milliseconds: multiply the elapsed seconds by 1000"
HINT_WARMUP_KEPT = ("the warm-up calls were measured too: warm-up runs prepare the model and "
                    "are thrown away; only the measurement_runs calls after them are values")
HINT_TOGETHER = ("every value is the mean: time each run on its own (one timing per call), not "
                 "all runs at once divided by their number")
HINT_ORDER = ("for each model in turn: its warmup_runs calls, then its measurement_runs timed "
              "calls, then the next model")


# ---------------------------------------------------------------- precise_timer

@pytest.mark.parametrize("seconds", [0.25, 0.001, 3.0])
def test_precise_timer_measures_exit_minus_entry(seconds):
    clock = FakeClock(1000.0)
    with precise_timer(clock) as timer:
        clock.advance(seconds)
    if not hasattr(timer, "elapsed"):
        checks.fail("precise_timer must yield an object with an .elapsed attribute.",
                    f"`with precise_timer(clock) as t` gave t = {timer!r}",
                    hint="yield a small timer object, and set its .elapsed when the block exits")
    check_number(timer.elapsed, seconds,
                 f"timer.elapsed after a block during which the clock advanced {seconds} s",
                 inputs={"clock at entry": 1000.0, "clock at exit": 1000.0 + seconds},
                 wrong=[(seconds * 1000, "elapsed is in seconds, as the clock gives them (the "
                                         "benchmark converts to milliseconds, not the timer)"),
                        (-seconds, "elapsed is the clock at exit MINUS the clock at entry"),
                        (1000.0 + seconds, "that is the clock's value at exit: subtract the value "
                                           "read at entry"),
                        (0.0, "elapsed was never set: read the clock again when the block exits")])
    checks.assert_from_kata(inspect.unwrap(precise_timer), KATA)  # past contextmanager's wrapper


def test_precise_timer_sets_elapsed_when_the_block_raises():
    clock, seen = FakeClock(50.0), {}

    def block():
        with precise_timer(clock) as timer:
            seen["timer"] = timer
            clock.advance(0.5)
            raise KeyError("raised inside the timed block")

    exc = raised(block)
    if not isinstance(exc, KeyError):
        checks.fail("An exception raised inside `with precise_timer(...)` must propagate.",
                    f"got {'no exception' if exc is None else repr(exc)} instead of the KeyError",
                    hint="do not catch the block's exception: use try/finally, not try/except")
    check_number(getattr(seen["timer"], "elapsed", None), 0.5,
                 "timer.elapsed after a block that advanced the clock 0.5 s and then raised",
                 wrong=[(0.0, "elapsed must be set also when the block raises: put the second clock "
                              "reading in a `finally:` around the yield")],
                 hint="set elapsed in a `finally:` around the yield")


def test_precise_timer_defaults_to_perf_counter():
    with precise_timer() as timer:
        pass
    check_number(getattr(timer, "elapsed", None), 0.0, "timer.elapsed of an empty block, with "
                 "the default clock,", rtol=0, atol=60.0)
    if timer.elapsed < 0:
        checks.fail("timer.elapsed with the default clock must not be negative.", f"got {timer.elapsed!r}")
    default = inspect.signature(precise_timer).parameters.get("clock")
    if default is None or default.default is not time.perf_counter:
        checks.fail("precise_timer's clock must default to time.perf_counter.",
                    f"got {None if default is None else default.default!r}",
                    hint="perf_counter is monotonic and high resolution; time.time can jump "
                         "backwards when the system clock is set")


# ---------------------------------------------------------------- run_latency_benchmark

def make_models(n_models, warmup, runs, seed, clock, log=None, names=True, **kw):
    """Fake models whose warm-up calls are slow (0.5 s and more) and whose measured calls
    take 1 to 49 ms, every model and call its own duration."""
    rng = np.random.default_rng(seed)
    models, durations = [], []
    for m in range(n_models):
        durs = [float(d) for d in rng.integers(1, 50, warmup + runs + 4) / 1000.0]
        for k in range(warmup):
            durs[k] = 0.5 + 0.1 * k + 0.01 * m
        durations.append(durs)
        models.append(Fake(f"m{m}" if names else None, clock=clock, durations=durs, log=log, **kw))
    return models, durations


def expected_ms(durs, warmup, runs):
    return [d * 1000.0 for d in durs[warmup:warmup + runs]]


runs_strategy = dict(n_models=st.integers(1, 3), warmup=st.integers(0, 4), runs=st.integers(1, 6),
                     seed=st.integers(0, 2 ** 16))


@settings(max_examples=15)
@given(**runs_strategy)
@example(n_models=2, warmup=3, runs=4, seed=1)
@example(n_models=1, warmup=0, runs=1, seed=2)
@example(n_models=3, warmup=1, runs=2, seed=3)
def test_latency_calls_each_model_warmup_plus_measurement_times(n_models, warmup, runs, seed):
    clock, log = FakeClock(), []
    models, _ = make_models(n_models, warmup, runs, seed, clock, log)
    inputs = {"warmup_runs": warmup, "measurement_runs": runs, "models": n_models}
    Benchmark(models, [], warmup, runs, clock=clock).run_latency_benchmark((2, 3))
    for m, model in enumerate(models):
        calls = len(model.calls)
        if calls != warmup + runs:
            hint = {runs: "the warm-up calls are missing: call each model warmup_runs times "
                          "before the measured calls",
                    warmup + runs - 1: "one call short: range(measurement_runs) gives exactly "
                                       "measurement_runs calls",
                    warmup: "the measured calls are missing"}.get(calls, "")
            checks.fail(f"Each model must be called warmup_runs + measurement_runs = "
                        f"{warmup + runs} times.", f"model m{m} was called {calls} times",
                        inputs=inputs, hint=hint)
    order = [name for name, _ in log]
    expected = [f"m{m}" for m in range(n_models) for _ in range(warmup + runs)]
    if order != expected:
        checks.fail("The models must be benchmarked one after the other.",
                    f"calls in this order: {order}\nexpected {expected}", inputs=inputs, hint=HINT_ORDER)


@settings(max_examples=15)
@given(**runs_strategy)
@example(n_models=2, warmup=3, runs=4, seed=1)
@example(n_models=1, warmup=2, runs=5, seed=5)
@example(n_models=1, warmup=0, runs=3, seed=6)
def test_latency_excludes_warmup_and_times_each_run_in_ms(n_models, warmup, runs, seed):
    clock = FakeClock()
    models, durations = make_models(n_models, warmup, runs, seed, clock)
    inputs = {"warmup_runs": warmup, "measurement_runs": runs}
    results = Benchmark(models, [], warmup, runs, clock=clock).run_latency_benchmark((2, 3))
    if not isinstance(results, dict) or list(results) != [f"m{m}" for m in range(n_models)]:
        checks.fail("run_latency_benchmark must return a dict from model name to result, in "
                    "the order of the models.",
                    f"got {list(results) if isinstance(results, dict) else type(results).__name__}",
                    inputs=inputs)
    for m, durs in enumerate(durations):
        result = results[f"m{m}"]
        if not isinstance(result, BenchmarkResult):
            checks.fail("Each latency result must be a BenchmarkResult.",
                        f"got {type(result).__name__}", inputs=inputs)
        want = expected_ms(durs, warmup, runs)
        mean = float(np.mean(want))
        per_call = {**inputs, f"seconds of m{m}'s calls (warm-up first)": durs[:warmup + runs]}
        got = result.values
        count_hint = ""
        if isinstance(got, list) and len(got) == warmup + runs and warmup:
            count_hint = HINT_WARMUP_KEPT
        elif isinstance(got, list) and len(got) == 1:
            count_hint = "one value per measured run: time every call on its own"
        check_values(got, want, f"the latency values of model m{m} (ms, one per measured run)",
                     inputs=per_call, rtol=1e-9, atol=1e-8,
                     wrong=[([d / 1000.0 for d in want], HINT_MS),
                            ([d * 1000.0 for d in durs[:runs]], HINT_WARMUP_KEPT),
                            ([mean] * runs, HINT_TOGETHER)],
                     hint="each value is (clock after the call - clock before it) * 1000",
                     count_hint=count_hint or "measurement_runs values, the warm-up calls excluded")
        check_number(result.mean, mean, f"the mean latency of model m{m}", inputs=per_call,
                     rtol=1e-9, atol=1e-8)


@pytest.mark.parametrize("seed", [42, 7], ids=["default_seed", "seed_7"])
def test_latency_input_is_the_seeded_tensor_shared_by_every_call(seed):
    clock = FakeClock()
    models, _ = make_models(2, 2, 3, 0, clock)
    kwargs = {} if seed == 42 else {"seed": seed}
    bench = Benchmark(models, [], 2, 3, clock=clock, **kwargs)
    shape = (3, 4)
    bench.run_latency_benchmark(shape)
    expected = np.random.default_rng(seed).standard_normal(shape).astype(F32)
    for model in models:
        for k, call in enumerate(model.calls):
            x = call["x"]
            what = f"the input of call {k} of model {model.name}"
            checks.check_array(
                x, expected, what + f" (np.random.default_rng({seed}).standard_normal({shape}) as float32)",
                type_=Tensor, dtype=F32, rtol=0, atol=0,
                type_hint="wrap the input in a Tensor: models take Tensors",
                dtype_hint="cast the input with .astype(np.float32)",
                wrong=[(np.random.default_rng(0).standard_normal(shape).astype(F32),
                        f"that is seed 0: draw with np.random.default_rng(seed), seed = {seed}")],
                hint=f"draw ONE input with np.random.default_rng(seed).standard_normal(input_shape), "
                     f"seed = {seed}, and give it to every call")
    default_models, _ = make_models(1, 0, 1, 0, clock)
    Benchmark(default_models, [], 0, 1, clock=clock, seed=seed).run_latency_benchmark()
    got = default_models[0].calls[0]["x"]
    checks.check_shape(got, (1, 28, 28), "the input of run_latency_benchmark() (default input_shape)",
                       hint="input_shape defaults to (1, 28, 28)")


@pytest.mark.parametrize("benchmark", ["latency", "accuracy"])
def test_models_run_in_eval_mode_without_a_graph(benchmark):
    def run(models, **kw):
        bench = Benchmark(models, [(np.ones((2, 3), F32), [0, 1])], 1, 2, clock=FakeClock())
        if benchmark == "latency":
            return bench.run_latency_benchmark((2, 3))
        return bench.run_accuracy_benchmark()

    layer = Fake("layer", modes=True, training=True)
    frozen = Fake("frozen", modes=True, training=False)
    plain = Fake("plain")
    run([layer, frozen, plain])
    for model in (layer, frozen, plain):
        for k, call in enumerate(model.calls):
            if call["grad"]:
                checks.fail(f"Every model call of the {benchmark} benchmark must run inside no_grad().",
                            f"call {k} of model {model.name} ran with grad mode on",
                            hint="inference records no graph: wrap the calls in `with no_grad():`")
            if call["training"]:
                checks.fail(f"The {benchmark} benchmark must run a model in eval mode.",
                            f"call {k} of model {model.name} ran with model.training = True",
                            hint="call model.eval() before its first call (dropout is off in eval "
                                 "mode, as in deployment)")
    if not layer.calls or layer.training is not True:
        checks.fail(f"After the {benchmark} benchmark, a model that was training must be back in "
                    "training mode.", f"model.training is {layer.training!r} afterwards",
                    hint="remember model.training before model.eval(), and call model.train() "
                         "after its last call")
    if frozen.training is not False:
        checks.fail(f"After the {benchmark} benchmark, a model that was in eval mode must stay in "
                    "eval mode.", f"model.training is {frozen.training!r} afterwards",
                    hint="call model.train() only if model.training was True before")
    failing = Fake("failing", modes=True, training=True, fail_at=0)
    exc = raised(lambda: run([failing]))
    if not isinstance(exc, RuntimeError):
        checks.fail(f"An exception raised by a model during the {benchmark} benchmark must "
                    "propagate.", f"got {'no exception' if exc is None else repr(exc)}")
    if failing.training is not True:
        checks.fail(f"When a model raises during the {benchmark} benchmark, it must still be put "
                    "back in training mode.", f"model.training is {failing.training!r} afterwards",
                    hint="restore the mode in a `finally:` block")


def test_latency_result_names_and_metadata():
    clock = FakeClock()
    named = Fake("alpha", clock=clock, durations=[0.001] * 10)
    unnamed = Fake(None, clock=clock, durations=[0.002] * 10)
    results = Benchmark([named, unnamed], [], 2, 3, clock=clock).run_latency_benchmark([2, 3])
    if not isinstance(results, dict) or list(results) != ["alpha", "model_1"]:
        checks.fail("Latency results are keyed by model name: its `name`, or f'model_{i}' "
                    "(its position, from 0) when it has none.",
                    f"got keys {list(results) if isinstance(results, dict) else results!r}, "
                    "expected ['alpha', 'model_1']")
    for name in ("alpha", "model_1"):
        result = results[name]
        if result.metric_name != f"{name}_latency_ms":
            checks.fail("A latency result's metric_name must be f'{name}_latency_ms'.",
                        f"got {result.metric_name!r}, expected {name + '_latency_ms'!r}")
        want = {"model": name, "unit": "ms", "warmup_runs": 2, "input_shape": [2, 3]}
        meta = result.metadata if isinstance(result.metadata, dict) else {}
        wrong = {k: meta.get(k, "(missing)") for k, v in want.items()
                 if meta.get(k, "(missing)") != v or type(meta.get(k)) is not type(v)}
        if wrong:
            checks.fail("A latency result's metadata must hold model, unit, warmup_runs and "
                        "input_shape.", f"got {meta!r}\nwrong or missing: {wrong}\nexpected at "
                        f"least {want!r}",
                        hint="input_shape as a list of ints (JSON has no tuples)")
