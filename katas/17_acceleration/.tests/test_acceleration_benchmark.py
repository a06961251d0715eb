"""Hidden tests for benchmark, benchmark_conv2d and benchmark_matmul, under a fake clock
that moves only when the test says: the untimed warm-up and check, separately timed calls,
the median, the speedups, the order, the agreement check, the errors, what is printed.
Speed itself is never graded."""
from __future__ import annotations

import inspect
import time

import numpy as np
import pytest

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

import acceleration_kit as kit
from acceleration_kit import FakeClock, method

VALUE = np.arange(6.0).reshape(2, 3)
WARM = 9.0  # seconds of each untimed call: it moves any statistic that includes it


def bench(methods, *args, **kwargs):
    acc = kit.acceleration()
    what = f"benchmark({{{', '.join(repr(n) for n in methods)}}}, ...)"
    return kit.run(lambda: acc.benchmark(methods, *args, **kwargs), what), what


def check_entry(results, name, seconds, speedup, what, timed=()):
    if not isinstance(results, dict):
        checks.fail(f"{what} must return a dict.", f"got {type(results).__name__}: {results!r}")
    entry = results.get(name)
    if not isinstance(entry, dict) or "seconds" not in entry or "speedup" not in entry:
        checks.fail(f"{what}: results[{name!r}] must be a dict with 'seconds' and 'speedup'.",
                    f"got {entry!r}")
    wrong = []
    if timed:
        every = [WARM] + list(timed)
        wrong = [(float(np.mean(timed)), "that is the mean: use the median (np.median)"),
                 (float(np.median(every)), "the warm-up call was timed too: call once untimed, "
                                           "then time `repeats` calls"),
                 (float(np.median(every[:len(timed)])), "there was no untimed warm-up call: the "
                                                        "first call (slow: caches, allocations) "
                                                        "must not be timed"),
                 (float(np.sum(timed)), "that is the total: the median of the separate durations"),
                 (float(np.median(timed)) * 1000, "that is in milliseconds: seconds are wanted")]
        if len(timed) % 2 == 0:
            wrong.append((sorted(timed)[len(timed) // 2], "for an even count the median is the mean "
                                                          "of the two middle values (np.median)"))
    kit_check(entry["seconds"], seconds, f"{what}: results[{name!r}]['seconds'] (timed calls took "
              f"{list(timed)} s)" if timed else f"{what}: results[{name!r}]['seconds']", wrong)
    kit_check(entry["speedup"], speedup, f"{what}: results[{name!r}]['speedup']",
              [(1.0 / speedup, "the speedup is inverted: time of the first method / this method's time")]
              if speedup != 1.0 else [])


def kit_check(got, expected, what, wrong):
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        checks.fail(f"{what} must be a number.", f"got {type(got).__name__}: {got!r}")
    if not np.isclose(got, expected, rtol=1e-9, atol=1e-12):
        why = next((h for v, h in wrong if not np.isclose(v, expected) and np.isclose(got, v, rtol=1e-9)), "")
        checks.fail(f"{what} is wrong.", f"got {got!r}, expected {expected!r}", hint=why)


@pytest.mark.parametrize("repeats", [3, 4])
def test_benchmark_times_each_method_after_one_untimed_call(repeats):
    clock = FakeClock()
    slow_times = [0.004, 0.001, 0.003, 0.002][:repeats]
    fast_times = [0.002, 0.0005, 0.001, 0.00025][:repeats]
    slow = method(clock, [WARM] + slow_times, Tensor(VALUE))
    fast = method(clock, [WARM] + fast_times, VALUE.copy())
    results, what = bench({"loops": slow, "fast": fast}, "first", 2, repeats=repeats, clock=clock,
                          show=False)
    if clock.reads == 0:
        checks.fail(f"{what} never read the clock it was given.", "clock() was called 0 times",
                    hint="time with the clock argument (start = clock(); fn(*args); clock() - start), "
                         "never time.perf_counter directly: graders pass a fake clock")
    check_entry(results, "loops", float(np.median(slow_times)), 1.0, what, slow_times)
    check_entry(results, "fast", float(np.median(fast_times)),
                float(np.median(slow_times)) / float(np.median(fast_times)), what, fast_times)
    if list(results) != ["loops", "fast"]:
        checks.fail(f"{what} must keep the order of methods.", f"got keys {list(results)}")
    for name, fn in (("loops", slow), ("fast", fast)):
        if len(fn.calls) != 1 + repeats:
            checks.fail(f"{what} must call {name!r} once untimed, then repeats={repeats} times.",
                        f"it was called {len(fn.calls)} times")
        if any(args != ("first", 2) for args in fn.calls):
            checks.fail(f"{what} must call every method as fn(*args).", f"got calls {fn.calls[:2]}")


def test_benchmark_checks_every_method_against_the_first():
    clock = FakeClock()
    base = method(clock, [0.01], Tensor(VALUE))
    close = method(clock, [0.01], VALUE * (1 + 1e-6))
    acc = kit.acceleration()
    what = "benchmark({'base', 'close'}, ...) of two methods that agree to 1e-6 (relative)"
    got = []
    exc = kit.raised(lambda: got.append(acc.benchmark({"base": base, "close": close}, clock=clock,
                                                      show=False, repeats=1)))
    results = got[0] if got else None
    if exc is not None or not isinstance(results, dict) or "close" not in results:
        checks.fail(f"{what}: a result within rounding (1e-6 relative) must be accepted.",
                    f"got {type(exc).__name__}: {exc}" if exc is not None else f"got {results!r}",
                    hint="compare with np.allclose(..., rtol=1e-4, atol=1e-4), not exact equality: "
                         "fast paths add in another order")
    for bad, why in ((VALUE + 0.5, "a wrong value"), (VALUE.reshape(3, 2), "a wrong shape")):
        clock = FakeClock()
        methods = {"base": method(clock, [0.01], Tensor(VALUE)), "broken": method(clock, [0.01], bad)}
        kit.expect_value_error(lambda m=methods, c=clock: acc.benchmark(m, clock=c, show=False),
                               f"benchmark of a method 'broken' that returns {why}", names=("broken",),
                               hint="call each method once untimed and compare its result with the "
                                    "first method's: a faster wrong answer is no speedup")


def test_benchmark_prints_only_when_asked(capsys):
    clock = FakeClock()
    methods = {"loops": method(clock, [0.01], VALUE), "blas": method(clock, [0.002], VALUE)}
    bench(methods, clock=clock, show=False)
    quiet = capsys.readouterr().out
    if quiet:
        checks.fail("benchmark(..., show=False) must print nothing.", f"it printed:\n{quiet}")
    bench(methods, clock=clock, show=True)
    shown = capsys.readouterr().out
    if "loops" not in shown or "blas" not in shown:
        checks.fail("benchmark(..., show=True) must print the results (show_results).",
                    f"it printed:\n{shown}", hint="show_results(results, title) once they are measured")


def test_benchmark_errors():
    acc = kit.acceleration()
    clock = FakeClock()
    kit.expect_value_error(lambda: acc.benchmark({}, clock=clock, show=False), "benchmark({})")
    kit.expect_value_error(lambda: acc.benchmark({"a": method(clock, [0.1], VALUE)}, repeats=0,
                                                 clock=clock, show=False),
                           "benchmark(..., repeats=0)", hint="a median of no timings is meaningless")


@pytest.mark.parametrize("which", ["conv2d", "matmul"])
def test_the_ready_made_benchmarks(which, capsys):
    acc = kit.acceleration()
    clock = FakeClock(step=0.25)  # every read moves 0.25 s: each timed call measures 0.25
    if which == "conv2d":
        names = ["naive", "shift-and-add", "im2col"]
        call = lambda show: acc.benchmark_conv2d(batch=2, channels=2, size=4, kernel_size=3,  # noqa: E731
                                                 repeats=2, clock=clock, show=show)
        defaults = {"batch": 32, "channels": 8, "size": 8, "kernel_size": 3, "repeats": 3}
        fn = acc.benchmark_conv2d
    else:
        names = ["naive", "tiled", "vectorized"]
        call = lambda show: acc.benchmark_matmul(n=5, tile_size=2, repeats=2, clock=clock, show=show)  # noqa: E731
        defaults = {"n": 64, "tile_size": 16, "repeats": 3}
        fn = acc.benchmark_matmul
    what = f"benchmark_{which}(small sizes, repeats=2, clock=a fake clock)"
    results = kit.run(lambda: call(False), what)
    if not isinstance(results, dict) or list(results) != names:
        checks.fail(f"{what} must return a dict with the keys {names}, in that order.",
                    f"got {list(results) if isinstance(results, dict) else results!r}")
    if clock.reads != 2 * 2 * len(names):
        checks.fail(f"{what} must read the clock twice per timed call: {2 * 2 * len(names)} reads.",
                    f"it read the clock {clock.reads} times",
                    hint="pass repeats and clock on to benchmark")
    for name in names:
        check_entry(results, name, 0.25, 1.0, what)
    if capsys.readouterr().out:
        checks.fail(f"{what} with show=False must print nothing.", "it printed something")
    kit.run(lambda: call(True), what)
    shown = capsys.readouterr().out
    if not all(name in shown for name in names):
        checks.fail(f"{what} with show=True must print its results.", f"it printed:\n{shown}")
    params = inspect.signature(fn).parameters
    got = {k: params[k].default for k in defaults if k in params}
    if got != defaults or params["clock"].default is not time.perf_counter or params["show"].default is not True:
        checks.fail(f"benchmark_{which}'s defaults must be {defaults}, clock=time.perf_counter, show=True.",
                    f"got {({k: p.default for k, p in params.items()})}")


@pytest.mark.parametrize("which", ["conv2d", "matmul"])
def test_the_ready_made_benchmarks_pass_their_sizes_on(which, monkeypatch):
    acc = kit.acceleration()
    seen = {}

    def spy(name):
        def fn(*args, **kwargs):
            seen.setdefault(name, (args, kwargs))
            return np.zeros((2, 2))
        return fn

    if which == "conv2d":
        names = ["naive_conv2d", "shift_add_conv2d", "im2col_conv2d"]
        signatures = {name: inspect.signature(getattr(acc, name)) for name in names}
        for name in names:
            monkeypatch.setattr(acc, name, spy(name))
        what = "benchmark_conv2d(batch=2, channels=3, size=5, kernel_size=3, repeats=1)"
        kit.run(lambda: acc.benchmark_conv2d(batch=2, channels=3, size=5, kernel_size=3, repeats=1,
                                             clock=FakeClock(step=0.25), show=False), what)
        shapes = {"x": (2, 3, 5, 5), "weight": (3, 3, 3, 3), "bias": (3,)}
    else:
        names = ["naive_matmul", "tiled_matmul", "vectorized_matmul"]
        signatures = {name: inspect.signature(getattr(acc, name)) for name in names}
        for name in names:
            monkeypatch.setattr(acc, name, spy(name))
        what = "benchmark_matmul(n=5, tile_size=2, repeats=1)"
        kit.run(lambda: acc.benchmark_matmul(n=5, tile_size=2, repeats=1, clock=FakeClock(step=0.25),
                                             show=False), what)
        shapes = {"a": (5, 5), "b": (5, 5)}
    for name in names:
        if name not in seen:
            checks.fail(f"{what} must call {name} (the module's function).", f"it called {sorted(seen)}")
        args, kwargs = seen[name]
        try:  # read the call as the real function would: positional or keyword, defaults filled
            bound = signatures[name].bind(*args, **kwargs)
        except TypeError as exc:
            checks.fail(f"{what} called {name} with arguments it does not take.", str(exc))
        bound.apply_defaults()
        given = dict(bound.arguments)
        for label, shape in shapes.items():
            t = given.get(label)
            data = getattr(t, "data", t)
            if not isinstance(t, Tensor) or getattr(data, "shape", None) != shape or data.dtype != np.float32:
                checks.fail(f"{what}: {name} must receive {label} as a float32 Tensor of shape {shape}.",
                            f"got {type(t).__name__} of shape {getattr(data, 'shape', None)}, "
                            f"dtype {getattr(data, 'dtype', None)}")
        if which == "conv2d" and (given["stride"] not in (1, (1, 1)) or given["padding"] not in (1, (1, 1))):
            checks.fail(f"{what}: {name} must be called with stride 1 and padding kernel_size // 2 = 1.",
                        f"got stride={given['stride']!r}, padding={given['padding']!r}",
                        hint="'same' padding keeps the output at the input's size: "
                             "benchmark(methods, x, weight, bias, 1, kernel_size // 2, ...)")
        if which == "matmul" and name == "tiled_matmul" and given["tile_size"] != 2:
            checks.fail(f"{what}: tiled_matmul must be called with tile_size=2.",
                        f"got tile_size={given['tile_size']!r}",
                        hint="pass tile_size on: lambda a, b: tiled_matmul(a, b, tile_size)")
