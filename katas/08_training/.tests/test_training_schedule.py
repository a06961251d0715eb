"""Hidden tests for CosineSchedule: endpoints, monotone decay, midpoint, the formula, clipping."""
import io
import math

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.training import CosineSchedule
from training_kit import raised

KATA = "08_training"

HINT_SIN = "the schedule follows a cosine: cos(pi * epoch / total_epochs), not a sine"
HINT_HALF = ("the factor 0.5 is missing: (1 + cos) runs from 2 to 0, so halve it to go from "
             "max_lr down to min_lr")
HINT_UNCLIPPED = "clip epoch to [0, total_epochs] before using it"
HINT_FULL_PERIOD = ("over total_epochs the cosine covers HALF a period (pi * epoch / total), "
                    "so it ends at min_lr instead of coming back up")
HINT_REVERSED = "the schedule starts at max_lr (epoch 0) and decays to min_lr"

# max_lr, min_lr, total_epochs
CASES = st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.integers(1, 40)).map(
    lambda c: (c[0] + c[1], c[0], c[2]))  # max_lr >= min_lr


def oracle(max_lr, min_lr, total, epoch, *, trig=math.cos, half=0.5, clip=True, period=math.pi):
    if clip:
        epoch = min(max(epoch, 0), total)
    return min_lr + half * (max_lr - min_lr) * (1 + trig(period * epoch / total))


def lrs(schedule, epochs, use_call=False):
    values = []
    for e in epochs:
        v = schedule(e) if use_call else schedule.get_lr(e)
        if not isinstance(v, float):
            checks.fail("CosineSchedule must return a Python float.",
                        f"for epoch {e} got {type(v).__name__}: {v!r}", hint="use float(...)")
        values.append(v)
    return np.array(values, dtype=np.float64)


def test_cosine_schedule_comes_from_your_kata():
    s = CosineSchedule(1.0, 0.0, 10)  # runs your code first: the empty stub does not pass
    checks.check_close(s.get_lr(0), 1.0, "CosineSchedule(1.0, 0.0, 10).get_lr(0)")
    checks.assert_from_kata(CosineSchedule, KATA)


@given(case=CASES)
@example(case=(0.1, 0.001, 10))
@example(case=(1.0, 0.0, 1))
def test_cosine_schedule_endpoints(case):
    max_lr, min_lr, total = case
    s = CosineSchedule(max_lr, min_lr, total)
    inputs = {"max_lr": max_lr, "min_lr": min_lr, "total_epochs": total}
    checks.check_close(s.get_lr(0), max_lr, "get_lr(0) must be max_lr: the schedule", rtol=1e-9,
                       atol=1e-12, inputs=inputs, hint=HINT_REVERSED)
    checks.check_close(s.get_lr(total), min_lr, "get_lr(total_epochs) must be min_lr: the "
                       "schedule", rtol=1e-9, atol=1e-12, inputs=inputs, hint=HINT_REVERSED)
    checks.check_close(s(0), max_lr, "schedule(0) (__call__) must equal get_lr(0): the schedule",
                       rtol=1e-9, atol=1e-12, inputs=inputs,
                       hint="__call__(epoch) returns get_lr(epoch)")


@given(case=CASES)
@example(case=(0.1, 0.001, 10))
@example(case=(0.5, 0.1, 7))
def test_cosine_schedule_matches_the_formula_at_every_epoch(case):
    max_lr, min_lr, total = case
    s = CosineSchedule(max_lr, min_lr, total)
    epochs = list(range(-2, total + 3))
    inputs = {"max_lr": max_lr, "min_lr": min_lr, "total_epochs": total, "epochs": np.array(epochs)}
    wrong = [
        ([oracle(max_lr, min_lr, total, e, trig=math.sin) for e in epochs], HINT_SIN),
        ([oracle(max_lr, min_lr, total, e, half=1.0) for e in epochs], HINT_HALF),
        ([oracle(max_lr, min_lr, total, e, period=2 * math.pi) for e in epochs], HINT_FULL_PERIOD),
        ([oracle(max_lr, min_lr, total, e, clip=False) for e in epochs], HINT_UNCLIPPED),
    ]
    expected = np.array([oracle(max_lr, min_lr, total, e) for e in epochs])
    for use_call in (False, True):
        name = "schedule(epoch)" if use_call else "schedule.get_lr(epoch)"
        checks.check_array(lrs(s, epochs, use_call), expected, f"{name} for epochs -2..total+2",
                           inputs=inputs, rtol=1e-9, atol=1e-12, wrong=wrong,
                           hint="min_lr + 0.5 * (max_lr - min_lr) * (1 + cos(pi * epoch / "
                                "total_epochs)), with epoch clipped to [0, total_epochs]")


@given(case=CASES)
@example(case=(0.1, 0.001, 10))
def test_cosine_schedule_never_increases(case):
    max_lr, min_lr, total = case
    s = CosineSchedule(max_lr, min_lr, total)
    values = lrs(s, range(total + 1))
    steps = np.diff(values)
    if np.any(steps > 1e-12):
        e = int(np.argmax(steps > 1e-12))
        checks.fail("A cosine schedule from max_lr down to min_lr must never increase.",
                    f"get_lr({e}) = {values[e]!r} but get_lr({e + 1}) = {values[e + 1]!r}",
                    inputs={"max_lr": max_lr, "min_lr": min_lr, "total_epochs": total},
                    hint=HINT_FULL_PERIOD)


@given(case=CASES)
@example(case=(0.1, 0.001, 10))
@example(case=(1.0, 0.0, 5))
def test_cosine_schedule_midpoint_is_the_mean(case):
    max_lr, min_lr, total = case
    s = CosineSchedule(max_lr, min_lr, total)
    checks.check_close(s.get_lr(total / 2), (max_lr + min_lr) / 2,
                       "get_lr(total_epochs / 2) must be (max_lr + min_lr) / 2: the midpoint",
                       rtol=1e-9, atol=1e-12,
                       inputs={"max_lr": max_lr, "min_lr": min_lr, "total_epochs": total},
                       hint="at the midpoint cos(pi / 2) = 0; check the 0.5 factor and the "
                            "use of cos")


@given(case=CASES, beyond=st.integers(1, 1000))
@example(case=(0.1, 0.001, 10), beyond=5)
def test_cosine_schedule_clips_epochs_outside_the_range(case, beyond):
    max_lr, min_lr, total = case
    s = CosineSchedule(max_lr, min_lr, total)
    inputs = {"max_lr": max_lr, "min_lr": min_lr, "total_epochs": total}
    checks.check_close(s.get_lr(total + beyond), min_lr,
                       f"get_lr(total_epochs + {beyond}) must stay at min_lr: the schedule",
                       rtol=1e-9, atol=1e-12, inputs=inputs, hint=HINT_UNCLIPPED)
    checks.check_close(s.get_lr(-beyond), max_lr,
                       f"get_lr(-{beyond}) must stay at max_lr: the schedule",
                       rtol=1e-9, atol=1e-12, inputs=inputs, hint=HINT_UNCLIPPED)


def test_cosine_schedule_defaults_are_tinytorchs():
    made = []
    exc = raised(lambda: made.append(CosineSchedule()))
    if exc is not None:
        checks.fail("CosineSchedule() must work without arguments.",
                    f"it raised {type(exc).__name__}: {exc}",
                    hint="TinyTorch's defaults: max_lr=0.1, min_lr=0.01, total_epochs=100")
    s = made[0]
    for epoch, want in ((0, 0.1), (50, 0.055), (100, 0.01), (150, 0.01)):
        checks.check_close(s.get_lr(epoch), want, f"CosineSchedule().get_lr({epoch}): the "
                           "default schedule", rtol=1e-12, atol=1e-15,
                           hint="TinyTorch's defaults: max_lr=0.1, min_lr=0.01, total_epochs=100")


@settings(max_examples=6)
@given(case=CASES)
@example(case=(0.5, 0.05, 7))
def test_cosine_schedule_state_dict_round_trip(case):
    max_lr, min_lr, total = case
    s = CosineSchedule(max_lr, min_lr, total)
    inputs = {"max_lr": max_lr, "min_lr": min_lr, "total_epochs": total}
    state = s.state_dict()
    want = {"max_lr": max_lr, "min_lr": min_lr, "total_epochs": total}
    if not isinstance(state, dict) or sorted(state) != sorted(want):
        checks.fail("CosineSchedule.state_dict() must be {'max_lr': ..., 'min_lr': ..., "
                    "'total_epochs': ...}.", f"got {state!r}", inputs=inputs)
    for key, value in want.items():
        checks.check_close(state[key], value, f"CosineSchedule.state_dict()[{key!r}]",
                           rtol=0, atol=0, inputs=inputs)
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        loaded = {k: npz[k] for k in npz.files}  # every number is now a 0-d array
    t = CosineSchedule(0.9, 0.3, 3)
    t.load_state_dict(loaded)
    got = t.state_dict()
    for key in want:
        kind = int if key == "total_epochs" else float
        if type(got.get(key)) is not kind or got[key] != want[key]:
            checks.fail(f"After load_state_dict of the state np.load gives back, "
                        f"state_dict()[{key!r}] must be the Python {kind.__name__} {want[key]!r}.",
                        f"got {type(got.get(key)).__name__}: {got.get(key)!r}", inputs=inputs,
                        hint="np.load gives every number back as a 0-d array: store "
                             "float(...) / int(...) of it")
    epochs = list(range(-1, total + 2))
    checks.check_array(lrs(t, epochs), lrs(s, epochs), "the loaded schedule at epochs "
                       "-1..total+1 (it must equal the saved one)", inputs=inputs,
                       rtol=0, atol=0, hint="restore max_lr, min_lr and total_epochs")
