"""Hidden tests for the three measurements: accuracy (against NumPy, in eval mode without
a graph), size (bytes of each stored array once) and speedup (under a fake clock)."""
import inspect
import time

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.autograd import is_grad_enabled
from tinytorch.core.tensor import Tensor
from tinytorch.olympics import measure_accuracy, measure_speedup, model_size_bytes
from olympics_kit import check_python_float, raised

KATA = "20_capstone"


class Fixed:
    """A fake model: returns fixed logits, records its mode, grad mode and inputs."""

    def __init__(self, logits, training=True):
        self.logits = np.asarray(logits, dtype=np.float32)
        self.training = training
        self.seen = []  # (training, grad enabled, input)

    def eval(self):
        self.training = False
        return self

    def train(self, mode=True):
        self.training = mode
        return self

    def __call__(self, x):
        self.seen.append((self.training, is_grad_enabled(), x))
        return Tensor(self.logits)


# ---------------------------------------------------------------- measure_accuracy

@settings(max_examples=10)
@given(st.integers(1, 12), st.integers(2, 5), st.integers(0, 2 ** 31 - 1))
@example(n=4, classes=3, seed=7)
def test_accuracy_is_the_fraction_of_argmax_hits(n, classes, seed):
    rng = np.random.default_rng(seed)
    logits = rng.permutation(n * classes).reshape(n, classes).astype(np.float32)  # no ties
    labels = rng.integers(0, classes, n)
    labels[0] = logits[0].argmax()  # at least one hit
    if n > 1:
        labels[1] = (logits[1].argmax() + 1) % classes  # at least one miss
    want = float(np.mean(logits.argmax(axis=1) == labels))
    got = measure_accuracy(Fixed(logits), np.zeros((n, 3), np.float32), labels)
    checks.assert_from_kata(measure_accuracy, KATA)
    check_python_float(got, "measure_accuracy", inputs={"logits": logits, "labels": labels})
    if got != want:
        checks.fail("measure_accuracy must be the fraction of samples whose argmax over the last axis "
                    "equals the label", f"got {got}, expected {want}",
                    inputs={"logits": logits, "labels": labels})


@pytest.mark.parametrize("form", ["column", "list", "Tensor"])
def test_accuracy_labels_in_every_documented_form(form):
    logits = np.array([[0, 1], [1, 0], [0, 1], [1, 0]], np.float32)
    labels = np.array([1, 0, 0, 0])
    given_labels = {"column": labels.reshape(-1, 1), "list": labels.tolist(),
                    "Tensor": Tensor(labels.astype(np.float32))}[form]
    got = measure_accuracy(Fixed(logits), np.zeros((4, 2), np.float32), given_labels)
    if got != 0.75:
        checks.fail(f"measure_accuracy must accept labels as a {form} ({form == 'column' and 'shape (N, 1)' or ''})",
                    f"got {got}, expected 0.75 (3 of 4 right)", inputs={"labels": given_labels},
                    hint="flatten the labels to shape (N,) before comparing: (N,) == (N, 1) broadcasts to (N, N)"
                    if form == "column" else "")


def test_accuracy_runs_in_eval_mode_without_a_graph_and_restores_the_mode():
    model = Fixed(np.eye(3, dtype=np.float32), training=True)
    measure_accuracy(model, np.ones((3, 2), np.float64), np.array([0, 1, 2]))
    if not model.seen:
        checks.fail("measure_accuracy must call the model", "it was never called")
    training, grad, x = model.seen[-1]
    if training:
        checks.fail("measure_accuracy must run the model in eval mode", "model.training was True during the call",
                    hint="call model.eval() first (Dropout would drop units otherwise)")
    if grad:
        checks.fail("measure_accuracy must call the model inside no_grad()", "autograd was recording during the call")
    if not isinstance(x, Tensor) or np.asarray(x.data).dtype != np.float32:
        checks.fail("measure_accuracy must give the model an ndarray input as a float32 Tensor",
                    f"the model got {type(x).__name__} of dtype {getattr(getattr(x, 'data', x), 'dtype', None)}")
    if model.training is not True:
        checks.fail("measure_accuracy must put a model that was training back in train mode", "it stayed in eval mode")


# ---------------------------------------------------------------- model_size_bytes

class Box:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def _sized():
    """(model, expected bytes, what it holds) for the size rules."""
    shared = np.zeros((5, 3), np.float32)  # 60 bytes, referenced three times
    w = Tensor(np.ones((4, 6), np.float32))  # 96 bytes
    w.grad = np.ones((4, 6), np.float32)  # a gradient is not stored weight
    q = np.zeros((10, 10), np.int8)  # 100 bytes: one per entry
    inner = Box(codes=q, scale=0.5, shared=shared)
    model = Box(weight=w, layers=[inner, (shared, Box(again=shared))], table={"b": np.zeros(7, np.float64)},
                extra=[shared], name="net", count=3)
    return model, 96 + 100 + 60 + 56


def test_size_counts_each_stored_array_once_in_bytes():
    model, want = _sized()
    got = model_size_bytes(model)
    checks.assert_from_kata(model_size_bytes, KATA)
    if isinstance(got, bool) or not isinstance(got, (int, np.integer)):
        checks.fail("model_size_bytes must return an int (bytes)", f"got {type(got).__name__}: {got!r}",
                    hint="megabytes are for people; the submission counts bytes")
    if not isinstance(got, int):
        checks.fail("model_size_bytes must return a Python int", f"got {type(got).__name__}")
    hints = {
        96 + 100 + 60 * 4 + 56: "a shared array was counted once per reference: count each array once (by id)",
        96 * 2 + 100 + 60 + 56: "the Tensor's .grad was counted: only its .data is stored weight",
        24 + 100 + 15 + 7: "that is the number of entries, not bytes: use .nbytes",
        (24 + 100 + 15 + 7) * 4: "that is 4 bytes per entry: an int8 entry is 1 byte, a float64 one 8 (.nbytes)",
        96 + 60 + 56: "the int8 codes inside a nested object were missed: follow attributes of every object",
        96 + 100 + 60: "the arrays inside a dict were missed: follow dict values too",
    }
    if got != want:
        checks.fail("model_size_bytes must be the sum of .nbytes over every distinct array reachable "
                    "from the model (a Tensor counts its .data)", f"got {got}, expected {want}",
                    inputs={"model": "weight Tensor float32 (4, 6) with a .grad, [object with int8 (10, 10) codes and "
                                     "a float32 (5, 3) array, (same array, object holding it)], "
                                     "{'b': float64 (7,)}, [same array]"},
                    hint=hints.get(got, ""))


def test_size_of_a_real_layer_stack():
    from tinytorch.core.activations import ReLU
    from tinytorch.core.layers import Linear, Sequential
    model = Sequential(Linear(3, 4), ReLU(), Linear(4, 2, bias=False))
    want = (3 * 4 + 4 + 4 * 2) * 4
    got = model_size_bytes(model)
    if got != want:
        checks.fail("model_size_bytes(Sequential(Linear(3, 4), ReLU(), Linear(4, 2, bias=False))) must be "
                    "the bytes of its three float32 arrays", f"got {got}, expected {want}")


# ---------------------------------------------------------------- measure_speedup

class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Timed:
    """A fake model whose call advances the fake clock by the next cost of its list."""

    def __init__(self, name, costs, clock, log, training=False):
        self.name, self.costs, self.clock, self.log = name, list(costs), clock, log
        self.training = training
        self.modes = []

    def eval(self):
        self.training = False
        return self

    def train(self, mode=True):
        self.training = mode
        return self

    def __call__(self, x):
        self.modes.append((self.training, is_grad_enabled(), type(x).__name__))
        self.log.append(self.name)
        if not self.costs:
            checks.fail("measure_speedup must call each model exactly warmup + runs times",
                        f"{self.name} was called more often than that")
        self.clock.now += self.costs.pop(0)
        return Tensor(np.zeros((1, 2), np.float32))


def _pair(warmup, base_costs, model_costs, **kw):
    clock, log = Clock(), []
    base = Timed("baseline", base_costs, clock, log, **kw)
    model = Timed("model", model_costs, clock, log, **kw)
    return clock, log, base, model


def test_speedup_alternates_the_models_and_calls_each_warmup_plus_runs_times():
    warmup, runs = 2, 5
    clock, log, base, model = _pair(warmup, [1.0] * 7, [0.5] * 7)
    got = measure_speedup(base, model, np.zeros((1, 2), np.float32), warmup=warmup, runs=runs, clock=clock)
    checks.assert_from_kata(measure_speedup, KATA)
    want = ["baseline", "model"] * (warmup + runs)
    counts = (log.count("baseline"), log.count("model"))
    if counts != (warmup + runs, warmup + runs):
        checks.fail(f"measure_speedup(warmup={warmup}, runs={runs}) must call each model warmup + runs = "
                    f"{warmup + runs} times", f"baseline called {counts[0]} times, model {counts[1]} times",
                    hint="warm-up calls are run, not timed" if counts == (runs, runs) else "")
    if log != want:
        checks.fail("measure_speedup must alternate the models: baseline(x), model(x), baseline(x), ...",
                    f"call order {log}",
                    hint="timing all baseline runs and then all model runs lets a change of machine load "
                         "(another process, a throttled CPU) fall on one model only")
    check_python_float(got, "measure_speedup")


def test_speedup_is_the_ratio_of_medians_after_warmup():
    warmup, runs = 2, 5
    # Warm-up calls are slow (cold caches); one timed model run is interrupted (an outlier).
    base = [50.0, 40.0] + [2.0, 2.1, 1.9, 2.0, 2.2]
    fast = [30.0, 20.0] + [0.5, 0.4, 9.0, 0.5, 0.6]
    want = 2.0 / 0.5
    clock, log, b, m = _pair(warmup, base, fast)
    got = measure_speedup(b, m, np.zeros((1, 2), np.float32), warmup=warmup, runs=runs, clock=clock)
    if not np.isclose(got, want, rtol=1e-9):
        known = {
            "the warm-up calls were timed: exclude them": float(np.median(base) / np.median(fast)),
            "use medians: the mean lets one interrupted run move the result": float(np.mean(base[2:]) / np.mean(fast[2:])),
            "the speedup is baseline time / model time (above 1 when the model is faster)": 0.5 / 2.0,
            "return a ratio, not the model's time": 0.5,
            "return a ratio, not the model's time in milliseconds": 500.0,
            "the first warm-up runs were timed (warm-up and runs counted together)": float(
                np.median(base[:runs]) / np.median(fast[:runs])),
        }
        hint = next((why for why, value in known.items() if np.isclose(got, value, rtol=1e-6)), "")
        checks.fail("measure_speedup must return median(baseline times) / median(model times) over the runs "
                    "after the warm-up", f"got {got}, expected {want}",
                    inputs={"baseline costs (2 warm-up, then 5 runs)": base, "model costs": fast}, hint=hint)


def test_speedup_runs_in_eval_mode_without_a_graph_on_a_tensor():
    clock, log, base, model = _pair(1, [1.0] * 3, [1.0] * 3, training=True)
    measure_speedup(base, model, np.zeros((1, 2), np.float64), warmup=1, runs=2, clock=clock)
    for m in (base, model):
        if not m.modes:
            checks.fail("measure_speedup must call both models", f"{m.name} was never called")
        if any(training for training, _, _ in m.modes):
            checks.fail("measure_speedup must run the models in eval mode", f"{m.name} was training during a call")
        if any(grad for _, grad, _ in m.modes):
            checks.fail("measure_speedup must call the models inside no_grad()", "autograd was recording")
        if any(kind != "Tensor" for _, _, kind in m.modes):
            checks.fail("measure_speedup must give the models a Tensor", f"{m.name} got {m.modes[0][2]}")
        if m.training is not True:
            checks.fail("measure_speedup must put a model that was training back in train mode",
                        f"{m.name} stayed in eval mode")


def test_speedup_defaults():
    params = inspect.signature(measure_speedup).parameters
    got = {k: params[k].default for k in ("warmup", "runs", "clock") if k in params}
    want = {"warmup": 3, "runs": 11, "clock": time.perf_counter}
    if got != want:
        checks.fail("measure_speedup's defaults must be warmup=3, runs=11, clock=time.perf_counter", f"got {got}")
    clock, log, base, model = _pair(3, [1.0] * 14, [0.25] * 14)
    got = measure_speedup(base, model, np.zeros((1, 2), np.float32), clock=clock)
    if not np.isclose(got, 4.0) or len(log) != 28:
        checks.fail("measure_speedup with its defaults must run 3 warm-up and 11 timed rounds",
                    f"{len(log)} calls in all, speedup {got}")


@pytest.mark.parametrize("bad", [{"warmup": -1}, {"runs": 0}, {"warmup": 1.5}, {"runs": True}],
                         ids=["warmup -1", "runs 0", "warmup 1.5", "runs True"])
def test_speedup_rejects_bad_counts(bad):
    clock, log, base, model = _pair(1, [1.0] * 20, [1.0] * 20)
    error = raised(measure_speedup, base, model, np.zeros((1, 2), np.float32), clock=clock, **bad)
    if not isinstance(error, ValueError):
        checks.fail(f"measure_speedup(..., {bad}) must raise ValueError (warmup an int >= 0, runs an int >= 1)",
                    f"got {type(error).__name__ if error else 'no error'}")


def test_speedup_rejects_a_zero_model_median():
    clock, log, base, model = _pair(0, [1.0] * 3, [0.0] * 3)
    error = raised(measure_speedup, base, model, np.zeros((1, 2), np.float32), warmup=0, runs=3, clock=clock)
    if not isinstance(error, ValueError):
        checks.fail("measure_speedup must raise ValueError when the model's median time is 0",
                    f"got {type(error).__name__ if error else 'no error'}")
