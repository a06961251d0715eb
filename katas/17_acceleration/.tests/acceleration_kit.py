"""Helpers shared by kata 17's hidden test modules (not collected: the name is not test_*).

Loop oracles for im2col and col2im (written here, independent of any vectorized
formulation), the convolution cases the tests draw, a fake clock, and a guard that turns
a learner's crash into a teaching message.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

KATA = "17_acceleration"
F32, F64 = np.float32, np.float64


# ---------------------------------------------------------------- running learner code

def run(fn, what: str, inputs: dict | None = None, hint: str = ""):
    """fn(), with a crash turned into a message (the stub's NotImplementedError passes:
    the grader reports it as "not started")."""
    try:
        return fn()
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - a learner's crash becomes a teaching message
        error = exc
    checks.fail(f"{what} raised {type(error).__name__}.", str(error), inputs=inputs, hint=hint)


raised = checks.raised  # the shared helper: NotImplementedError propagates, other crashes are returned


def expect_value_error(fn, what: str, hint: str = "", names=()):
    """fn() must raise ValueError (whose message contains every string of `names`)."""
    result = []
    exc = raised(lambda: result.append(fn()))
    if exc is None:
        checks.fail(f"{what} must raise ValueError.", f"it returned {checks.fmt(result[0])}", hint=hint)
    if not isinstance(exc, ValueError):
        checks.fail(f"{what} must raise ValueError.", f"got {type(exc).__name__}: {exc}", hint=hint)
    for name in names:
        if name not in str(exc):
            checks.fail(f"{what}: the ValueError's message must contain {name}.", f"message: {exc}")


def acceleration():
    from tinytorch.perf import acceleration as module
    return module


def check_tensor(out, what: str, inputs: dict | None = None) -> None:
    if not isinstance(out, Tensor):
        checks.fail(f"{what} must return a Tensor.", f"got {type(out).__name__}: {checks.fmt(out)}",
                    inputs=inputs, hint="wrap the NumPy result: Tensor(result)")


def leaf(array, dtype=F64) -> Tensor:
    return Tensor(np.array(array, dtype=dtype), requires_grad=True)


def grad_of(t: Tensor, what: str, name: str, inputs: dict | None = None, hint: str = "") -> np.ndarray:
    g = t.grad
    if g is None:
        checks.fail(f"{what}: {name} received no gradient.", "after backward(), its .grad is None",
                    inputs=inputs, hint=hint or "is every step recorded in the graph (im2col with "
                    "record(...), the rest with Tensor operations, never rebuilt from .data)?")
    return np.asarray(getattr(g, "data", g), dtype=F64)


# ---------------------------------------------------------------- cases

class Case(NamedTuple):
    """One drawn convolution geometry and its data (made from `seed`)."""
    n: int
    c: int
    o: int
    hw: tuple
    k: tuple
    s: tuple
    p: tuple
    bias: bool = True
    seed: int = 0
    as_int: bool = False  # pass ints where both entries of a pair are equal

    def arg(self, pair):
        return pair[0] if self.as_int and pair[0] == pair[1] else pair

    @property
    def x_shape(self):
        return (self.n, self.c, *self.hw)

    @property
    def out_hw(self):
        return tuple(len(range(0, self.hw[a] + 2 * self.p[a] - self.k[a] + 1, self.s[a])) for a in range(2))

    @property
    def cols_shape(self):
        ho, wo = self.out_hw
        return (self.n * ho * wo, self.c * self.k[0] * self.k[1])

    def describe(self, what="im2col") -> str:
        return (f"{what} of x with shape {self.x_shape}, kernel_size={self.arg(self.k)}, "
                f"stride={self.arg(self.s)}, padding={self.arg(self.p)}")

    def x(self, integers=False):
        rng = np.random.default_rng(self.seed)
        if integers:
            return rng.integers(-3, 4, self.x_shape).astype(F64)
        return rng.standard_normal(self.x_shape)

    def weight(self):
        return np.random.default_rng(self.seed + 1).uniform(-1, 1, (self.o, self.c, *self.k))

    def bias_values(self):
        return np.random.default_rng(self.seed + 2).uniform(-1, 1, self.o)

    def y(self):
        return np.random.default_rng(self.seed + 3).standard_normal(self.cols_shape)

    def upstream(self):
        return np.random.default_rng(self.seed + 4).standard_normal((self.n, self.o, *self.out_hw))


_small = st.integers(1, 3)


@st.composite
def cases(draw, max_side=6):
    """A geometry with at least one window."""
    k = (draw(_small), draw(_small))
    s = (draw(_small), draw(_small))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    hw = tuple(draw(st.integers(max(1, k[a] - 2 * p[a]), max_side)) for a in range(2))
    return Case(n=draw(st.integers(1, 2)), c=draw(_small), o=draw(_small), hw=hw, k=k, s=s, p=p,
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**31)),
                as_int=draw(st.booleans()))


# Row and column order, pairs read the right way round, gaps, padding, one channel.
EXAMPLES = [
    Case(1, 2, 2, (3, 3), (2, 2), (1, 1), (0, 0), True, 1),
    Case(2, 3, 2, (5, 4), (3, 2), (2, 1), (1, 0), True, 2),
    Case(1, 1, 1, (4, 6), (2, 3), (1, 2), (0, 1), False, 3),
    Case(1, 2, 3, (7, 7), (2, 2), (3, 3), (1, 1), True, 4, as_int=True),
    Case(2, 1, 2, (1, 2), (3, 3), (1, 1), (1, 1), True, 5, as_int=True),
    Case(1, 1, 1, (3, 3), (1, 1), (1, 1), (0, 0), False, 6, as_int=True),
]


# ---------------------------------------------------------------- oracles (loops)

def pad(x, p):
    return np.pad(np.asarray(x, F64), ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))


def im2col_loop(x, k, s, p, order="cij", rows="nyx"):
    """The im2col matrix entry by entry; `order` and `rows` give known wrong layouts."""
    xp = pad(x, p)
    n, c = x.shape[:2]
    ho = len(range(0, xp.shape[2] - k[0] + 1, s[0]))
    wo = len(range(0, xp.shape[3] - k[1] + 1, s[1]))
    out = np.zeros((n, ho, wo, c * k[0] * k[1]))
    for nn in range(n):
        for y in range(ho):
            for xx in range(wo):
                col = 0
                triples = ([(cc, i, j) for cc in range(c) for i in range(k[0]) for j in range(k[1])]
                           if order == "cij" else
                           [(cc, i, j) for i in range(k[0]) for j in range(k[1]) for cc in range(c)])
                for cc, i, j in triples:
                    out[nn, y, xx, col] = xp[nn, cc, y * s[0] + i, xx * s[1] + j]
                    col += 1
    if rows == "yxn":
        out = out.transpose(1, 2, 0, 3)
    return out.reshape(-1, c * k[0] * k[1])


def col2im_loop(cols, x_shape, k, s, p, add=True):
    """Each entry of cols added back where im2col took it from; with add=False, a known
    mistake: written instead, one kernel offset after the other (the last offset wins)."""
    n, c, h, w = x_shape
    xp = np.zeros((n, c, h + 2 * p[0], w + 2 * p[1]))
    ho = len(range(0, h + 2 * p[0] - k[0] + 1, s[0]))
    wo = len(range(0, w + 2 * p[1] - k[1] + 1, s[1]))
    cols = np.asarray(cols, F64).reshape(n, ho, wo, c, k[0], k[1])
    for i in range(k[0]):
        for j in range(k[1]):
            for nn in range(n):
                for y in range(ho):
                    for xx in range(wo):
                        for cc in range(c):
                            r, q = y * s[0] + i, xx * s[1] + j
                            if add:
                                xp[nn, cc, r, q] += cols[nn, y, xx, cc, i, j]
                            else:
                                xp[nn, cc, r, q] = cols[nn, y, xx, cc, i, j]
    return xp[:, :, p[0]:p[0] + h, p[1]:p[1] + w]


def conv_loop(x, w, b, s, p):
    kh, kw = w.shape[2:]
    xp = pad(x, p)
    ho = len(range(0, xp.shape[2] - kh + 1, s[0]))
    wo = len(range(0, xp.shape[3] - kw + 1, s[1]))
    out = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for y in range(ho):
        for xx in range(wo):
            patch = xp[:, :, y * s[0]:y * s[0] + kh, xx * s[1]:xx * s[1] + kw]
            out[:, :, y, xx] = np.einsum("ncij,ocij->no", patch, np.asarray(w, F64))
    if b is not None:
        out += np.asarray(b, F64)[None, :, None, None]
    return out


def conv_scale(x, w, s, p) -> float:
    """The largest sum of |x| * |w| over one output: the scale of its float rounding."""
    return max(1.0, float(np.max(conv_loop(np.abs(x), np.abs(w), None, s, p), initial=0.0)))


# ---------------------------------------------------------------- a clock

class FakeClock:
    """Seconds that pass only when `advance` is called (or, with `step`, on every read)."""

    def __init__(self, start: float = 500.0, step: float = 0.0):
        self.now = start
        self.step = step
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        self.now += self.step
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def method(clock: FakeClock, durations, value):
    """A benchmark method: call i takes durations[i] seconds of `clock` and returns `value`."""
    calls = []

    def fn(*args):
        clock.advance(durations[min(len(calls), len(durations) - 1)])
        calls.append(args)
        return value

    fn.calls = calls
    return fn
