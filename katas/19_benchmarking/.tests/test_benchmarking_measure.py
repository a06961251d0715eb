"""Hidden tests for Benchmark's accuracy and memory benchmarks, its arguments, names and
system information, and BenchmarkSuite. Fake models return outputs the test chose."""
import os
import platform
import time

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.layers import Linear
from tinytorch.core.tensor import Tensor
from tinytorch.perf.benchmarking import Benchmark, BenchmarkResult, BenchmarkSuite
from benchmarking_kit import F32, F64, MB, Fake, FakeClock, Param, check_values, raised

KATA = "19_benchmarking"

HINT_AXIS = "the predicted class is the argmax over the LAST axis (the classes), one per sample"
HINT_BROADCAST = ("labels of shape (N, 1) against predictions of shape (N,) broadcast to (N, N) "
                  "and count every pair: flatten the labels with reshape(-1) first")
HINT_POOLED = ("one value per dataset: compute each dataset's accuracy on its own, the "
               "BenchmarkResult then summarises them")
HINT_STRICT = "0.5 itself is class 1: predict 1 where output >= 0.5"
HINT_ARGMAX_ONE = ("a one-column output is a probability of class 1: threshold it at 0.5 (the "
                   "argmax of a single column is always 0)")


# ---------------------------------------------------------------- accuracy

def _as(kind, labels):
    return {"ndarray": labels, "list": [int(v) for v in labels], "tensor": Tensor(labels),
            "column": labels.reshape(-1, 1)}[kind]


def _datasets(seed, sizes, classes, kinds, wrap):
    rng = np.random.default_rng(seed)
    datasets, outputs, labels = [], [], []
    for n, kind in zip(sizes, kinds):
        logits = rng.permutation(n * classes).reshape(n, classes).astype(F32)  # no argmax ties
        y = rng.integers(0, classes, n)
        datasets.append((rng.standard_normal((n, 3)).astype(F32), _as(kind, y)))
        outputs.append(Tensor(logits) if wrap else logits)
        labels.append(y)
    return datasets, outputs, labels


def _broadcast_score(pred, y):
    return float(np.mean(pred.reshape(-1) == y.reshape(-1, 1)))


@settings(max_examples=15)
@given(seed=st.integers(0, 2 ** 16), sizes=st.lists(st.integers(1, 6), min_size=1, max_size=3),
       classes=st.integers(2, 4), kind=st.sampled_from(["ndarray", "list", "tensor", "column"]),
       wrap=st.booleans())
@example(seed=3, sizes=[4, 5], classes=3, kind="column", wrap=True)
@example(seed=4, sizes=[3], classes=3, kind="ndarray", wrap=False)
@example(seed=5, sizes=[6, 2, 4], classes=2, kind="tensor", wrap=True)
def test_accuracy_is_the_fraction_right_per_dataset(seed, sizes, classes, kind, wrap):
    datasets, outputs, labels = _datasets(seed, sizes, classes, [kind] * len(sizes), wrap)
    model = Fake("clf", outputs=outputs)
    results = Benchmark([model], datasets, clock=FakeClock()).run_accuracy_benchmark()
    inputs = {"outputs (per dataset)": [np.asarray(getattr(o, "data", o)) for o in outputs],
              f"labels (given as {kind})": labels}
    if not isinstance(results, dict) or list(results) != ["clf"]:
        checks.fail("run_accuracy_benchmark must return a dict from model name to result.",
                    f"got {results!r}", inputs=inputs)
    result = results["clf"]
    if not isinstance(result, BenchmarkResult):
        checks.fail("Each accuracy result must be a BenchmarkResult.", f"got {type(result).__name__}")
    want, pooled, cross = [], 0, []
    for out, y in zip(outputs, labels):
        pred = np.argmax(np.asarray(getattr(out, "data", out)), axis=-1)
        want.append(float(np.mean(pred == y)))
        pooled += int(np.sum(pred == y))
        cross.append(_broadcast_score(pred, y))
    got = result.values
    count_hint = HINT_POOLED if isinstance(got, list) and len(got) == 1 else \
        "one accuracy per dataset"
    check_values(got, want, "the accuracy values (one fraction per dataset)", inputs=inputs,
                 rtol=1e-12, atol=1e-12, count_hint=count_hint,
                 wrong=[(cross, HINT_BROADCAST), ([c * len(y) for c, y in zip(want, labels)],
                                                  "accuracy is a fraction: divide by the number of samples")],
                 hint="accuracy = mean(argmax(output, axis=-1) == labels) on each dataset")
    if len(model.calls) != len(datasets):
        checks.fail("run_accuracy_benchmark must call the model once per dataset.",
                    f"{len(model.calls)} calls for {len(datasets)} datasets", inputs=inputs)


@pytest.mark.parametrize("case", ["column_output", "flat_output_column_labels"])
def test_accuracy_of_a_one_column_output_thresholds_at_one_half(case):
    probs = np.array([0.2, 0.5, 0.7, 0.49, 0.51], F32)
    y = np.array([0, 1, 1, 0, 1])
    out = probs.reshape(-1, 1) if case == "column_output" else probs
    labels = y if case == "column_output" else y.reshape(-1, 1)
    model = Fake("binary", outputs=[Tensor(out)])
    result = Benchmark([model], [(np.zeros((5, 2), F32), labels)], clock=FakeClock()).run_accuracy_benchmark()["binary"]
    pred = (probs >= 0.5).astype(int)
    want = float(np.mean(pred == y))  # 1.0 (strictly above 0.5: 0.8; argmax: 0.4)
    check_values(result.values, [want], "the accuracy of a one-column (probability) output",
                 inputs={"output": out, "labels": labels},
                 wrong=[([float(np.mean((probs > 0.5) == y))], HINT_STRICT),
                        ([float(np.mean(y == 0))], HINT_ARGMAX_ONE),
                        ([_broadcast_score(pred, y)], HINT_BROADCAST)],
                 hint="a one-column output predicts class 1 where output >= 0.5, class 0 elsewhere")


def test_accuracy_inputs_reach_the_model_as_tensors():
    as_array = np.arange(6, dtype=F64).reshape(3, 2)
    as_tensor = Tensor(np.ones((2, 2), F32))
    model = Fake("m")
    datasets = [(as_array, [1, 1, 1]), (as_tensor, [0, 0])]
    results = Benchmark([model], datasets, clock=FakeClock()).run_accuracy_benchmark()
    if len(model.calls) != 2:
        checks.fail("run_accuracy_benchmark must call the model once per dataset.",
                    f"{len(model.calls)} calls for 2 datasets")
    first, second = model.calls[0]["x"], model.calls[1]["x"]
    if not isinstance(first, Tensor):
        checks.fail("For a dataset whose inputs are an ndarray, the model must receive a Tensor.",
                    f"the model received {type(first).__name__}: {checks.fmt(first)}",
                    hint="wrap ndarray inputs as Tensor(inputs)")
    checks.check_array(first, as_array, "the Tensor the model receives for an ndarray dataset")
    if second is not as_tensor:
        checks.fail("A dataset whose inputs are a Tensor must be passed to the model as it is.",
                    f"the model received {type(second).__name__} {checks.fmt(second)}",
                    hint="wrap only ndarrays: Tensor(inputs) when inputs is not a Tensor already")
    result = results["m"]
    if result.metric_name != "m_accuracy":
        checks.fail("An accuracy result's metric_name must be f'{name}_accuracy'.",
                    f"got {result.metric_name!r}, expected 'm_accuracy'")
    want = {"model": "m", "unit": "fraction", "num_datasets": 2}
    meta = result.metadata if isinstance(result.metadata, dict) else {}
    if any(meta.get(k, "(missing)") != v for k, v in want.items()):
        checks.fail("An accuracy result's metadata must hold model, unit and num_datasets.",
                    f"got {meta!r}, expected at least {want!r}")


# ---------------------------------------------------------------- memory

def test_memory_counts_the_stored_bytes():
    mixed = Fake("mixed", params=[Param(np.zeros((3, 4), F32)), Param(np.zeros(5, F64)),
                                  Param(np.zeros((2, 2), np.int8))])  # 48 + 40 + 4 bytes
    hooked = Fake("hooked", params=[Param(np.zeros(1000, F32))], memory=3 * MB + 512)
    bare = Fake("bare")
    linear = Linear(3, 2)
    linear.name = "linear"
    cases = [(mixed, 92, 3 * 4 + 5 + 4), (hooked, 3 * MB + 512, None), (bare, 0, None),
             (linear, 32, 8)]
    results = Benchmark([m for m, _, _ in cases], [], clock=FakeClock()).run_memory_benchmark()
    for model, nbytes, elements in cases:
        name = model.name
        result = results.get(name) if isinstance(results, dict) else None
        if not isinstance(result, BenchmarkResult):
            checks.fail("run_memory_benchmark must return a dict from model name to BenchmarkResult.",
                        f"got {results!r}")
        wrong = [([nbytes], "memory is in megabytes: divide the bytes by 1024 ** 2"),
                 ([nbytes / 1e6], "a megabyte here is 1024 ** 2 bytes, not 10 ** 6")]
        if elements is not None:
            wrong.append(([elements * 4 / MB], "count the bytes each array really holds "
                          "(p.data.nbytes): not every parameter is float32 (4 bytes per element)"))
        if name == "hooked":
            wrong.append(([4000 / MB], "a model with a memory_bytes() method reports its own size: "
                          "use it instead of counting parameters"))
        check_values(result.values, [nbytes / MB], f"the memory of model {name!r} (MB, one value)",
                     rtol=1e-12, atol=0, wrong=wrong,
                     count_hint="memory is one value per model: the stored size does not vary",
                     hint="model.memory_bytes(), else the sum of p.data.nbytes over model.parameters(), "
                          "else 0; then / 1024 ** 2")
        meta = result.metadata if isinstance(result.metadata, dict) else {}
        want = {"model": name, "unit": "MB", "bytes": nbytes}
        if any(meta.get(k, "(missing)") != v for k, v in want.items()) or type(meta.get("bytes")) is not int:
            checks.fail("A memory result's metadata must hold model, unit and bytes (an int).",
                        f"got {meta!r}, expected at least {want!r}")
        if result.metric_name != f"{name}_memory_mb":
            checks.fail("A memory result's metric_name must be f'{name}_memory_mb'.",
                        f"got {result.metric_name!r}")


# ---------------------------------------------------------------- arguments, names, system

def test_benchmark_stores_its_arguments_and_defaults():
    clock = FakeClock()
    model, data = Fake("m"), (np.zeros((1, 2), F32), [0])
    bench = Benchmark((model,), (data,), 2, 3, clock=clock, seed=7)
    checks.assert_from_kata(Benchmark, KATA)
    got = {k: getattr(bench, k, "(missing)") for k in
           ("models", "datasets", "warmup_runs", "measurement_runs", "clock", "seed")}
    want = {"models": [model], "datasets": [data], "warmup_runs": 2, "measurement_runs": 3,
            "clock": clock, "seed": 7}
    for key, value in want.items():
        same = got[key] == value if key in ("models", "datasets") else got[key] is value or got[key] == value
        if not same or (key in ("models", "datasets") and not isinstance(got[key], list)):
            checks.fail(f"Benchmark must store {key} as an attribute of the same name"
                        f"{' (a list)' if key in ('models', 'datasets') else ''}.",
                        f"got {got[key]!r}, expected {value!r}")
    default = Benchmark([model], [])
    for key, value in (("warmup_runs", 5), ("measurement_runs", 10), ("seed", 42)):
        if getattr(default, key, None) != value:
            checks.fail(f"Benchmark's {key} must default to {value} (TinyTorch's default).",
                        f"got {getattr(default, key, None)!r}")
    if getattr(default, "clock", None) is not time.perf_counter:
        checks.fail("Benchmark's clock must default to time.perf_counter.",
                    f"got {getattr(default, 'clock', None)!r}",
                    hint="perf_counter is monotonic and high resolution")


@pytest.mark.parametrize(("warmup", "runs"), [(-1, 3), (1.5, 3), (2, 0), (2, 2.0), (2, -4)],
                         ids=["negative_warmup", "float_warmup", "zero_runs", "float_runs", "negative_runs"])
def test_benchmark_validates_run_counts(warmup, runs):
    exc = raised(lambda: Benchmark([Fake("m")], [], warmup, runs))
    if not isinstance(exc, ValueError):
        checks.fail("Benchmark must raise ValueError unless warmup_runs is an int >= 0 and "
                    "measurement_runs an int >= 1.",
                    f"Benchmark(models, datasets, {warmup!r}, {runs!r}) gave "
                    f"{'no error' if exc is None else repr(exc)}",
                    hint="a benchmark without a measured run has no result; a fractional count is "
                         "a mistake: check both in the constructor")
    ok = raised(lambda: Benchmark([Fake("m")], [], np.int64(0), np.int64(1)))
    if ok is not None:
        checks.fail("Benchmark must accept NumPy integers as run counts (warmup_runs=0 included).",
                    f"Benchmark(models, datasets, np.int64(0), np.int64(1)) raised {ok!r}")


def test_model_names_default_and_must_be_unique():
    bench = Benchmark([Fake("a"), Fake(None), Fake(None)], [])
    if getattr(bench, "names", None) != ["a", "model_1", "model_2"]:
        checks.fail("Benchmark.names must be each model's name, or f'model_{i}' (its position "
                    "from 0) when it has none.", f"got {getattr(bench, 'names', None)!r}, "
                    "expected ['a', 'model_1', 'model_2']",
                    hint="getattr(model, 'name', f'model_{i}') with i from enumerate(models)")
    for models, dup in (([Fake("a"), Fake("b"), Fake("a")], "a"),
                        ([Fake("model_1"), Fake(None)], "model_1")):
        exc = raised(lambda models=models: Benchmark(models, []))
        if not isinstance(exc, ValueError) or dup not in str(exc):
            checks.fail("Two models with the same name must raise ValueError naming it.",
                        f"names {[getattr(m, 'name', None) for m in models]}: got "
                        f"{'no error' if exc is None else repr(exc)}",
                        hint="results are keyed by name, so a second model of the same name would "
                             "silently replace the first")


def test_system_info_describes_the_machine():
    info = Benchmark([Fake("m")], []).system_info
    want = {"platform": platform.platform(), "processor": platform.processor(),
            "python_version": platform.python_version(), "cpu_count": os.cpu_count() or 1,
            "numpy_version": np.__version__}
    if info != want:
        checks.fail("Benchmark.system_info must describe the machine as documented.",
                    f"got {info!r}\nexpected {want!r}",
                    hint="platform.platform(), platform.processor(), platform.python_version(), "
                         "os.cpu_count() or 1, np.__version__")


# ---------------------------------------------------------------- BenchmarkSuite

def test_suite_runs_latency_then_accuracy_then_memory():
    clock, log = FakeClock(), []
    durs = [0.003, 0.001, 0.002, 0.004, 0.010, 0.020]
    a = Fake("a", clock=clock, durations=durs, log=log, memory=2048)
    b = Fake("b", clock=clock, durations=[d * 2 for d in durs], log=log, memory=4096)
    data = [(np.array([[0.0, 1.0], [1.0, 0.0]], F32), [1, 1])]
    suite = BenchmarkSuite([a, b], data, 1, 2, clock=clock, seed=3)
    bench = getattr(suite, "benchmark", None)
    if not isinstance(bench, Benchmark):
        checks.fail("BenchmarkSuite.benchmark must be a Benchmark built from its arguments.",
                    f"got {bench!r}")
    got = {k: getattr(bench, k, None) for k in ("warmup_runs", "measurement_runs", "clock", "seed")}
    if got != {"warmup_runs": 1, "measurement_runs": 2, "clock": clock, "seed": 3}:
        checks.fail("BenchmarkSuite must pass its warmup_runs, measurement_runs, clock and seed to "
                    "its Benchmark.", f"the Benchmark has {got}")
    results = suite.run_full_benchmark((1, 2))
    want_order = ([("a", k) for k in range(3)] + [("b", k) for k in range(3)] + [("a", 3), ("b", 3)]
                  + [("a", "memory"), ("b", "memory")])
    if log != want_order:
        checks.fail("run_full_benchmark must run the latency benchmark, then the accuracy benchmark, "
                    "then the memory benchmark.",
                    f"what happened (model, call number or 'memory'): {log}\nexpected {want_order}",
                    hint="in that order: latency, accuracy, memory")
    if not isinstance(results, dict) or list(results) != ["latency", "accuracy", "memory"]:
        checks.fail("run_full_benchmark must return {'latency': ..., 'accuracy': ..., 'memory': ...}.",
                    f"got {list(results) if isinstance(results, dict) else results!r}")
    if getattr(suite, "results", None) is not results:
        checks.fail("run_full_benchmark must store its results as suite.results.",
                    f"suite.results is {getattr(suite, 'results', None)!r}")
    check_values(results["latency"]["a"].values, [1.0, 2.0], "suite latency values of model a (ms)")
    check_values(results["latency"]["b"].values, [2.0, 4.0], "suite latency values of model b (ms)")
    check_values(results["accuracy"]["a"].values, [0.5], "suite accuracy of model a")
    check_values(results["memory"]["b"].values, [4096 / MB], "suite memory of model b (MB)")
    plain = Fake("plain")
    BenchmarkSuite([plain], [(np.zeros((1, 2), F32), [0])], 0, 1, clock=clock).run_full_benchmark()
    checks.check_shape(plain.calls[0]["x"], (1, 28, 28), "the latency input of run_full_benchmark() "
                       "(default input_shape)", hint="input_shape defaults to (1, 28, 28)")
