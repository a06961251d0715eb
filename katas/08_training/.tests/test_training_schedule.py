"""Hidden tests for CosineSchedule: endpoints, monotone decay, midpoint, the formula, clipping."""
import math

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.training import CosineSchedule

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
