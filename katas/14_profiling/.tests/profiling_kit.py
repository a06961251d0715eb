"""Helpers shared by kata 14's hidden test modules (not collected: the name is not test_*).

A fake clock that moves only when a test says so, models that advance it and record how
they were called, exact-count checks with known wrong answers, and the FLOP formulas of
the README's table written out by hand (with the plausible wrong ones, whose matches
become hints).
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor

KATA = "14_profiling"
MB = 2 ** 20


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


def profiler(clock=None):
    from tinytorch.perf.profiling import Profiler
    return run(lambda: Profiler() if clock is None else Profiler(clock=clock),
               "Profiler()" if clock is None else "Profiler(clock=...)")


def check_count(got, expected: int, what: str, *, wrong=(), inputs: dict | None = None,
                hint: str = "") -> None:
    """An exact count: a Python int (not a bool, not an np.int64) equal to `expected`;
    a known wrong value that `got` equals names the mistake."""
    if type(got) is not int:
        extra = (" (np.prod and NumPy sums give np.int64, which silently overflows past 2**63: "
                 "multiply Python ints)" if isinstance(got, np.integer) else "")
        checks.fail(f"{what} must be a Python int.", f"got {type(got).__name__}: {got!r}{extra}",
                    inputs=inputs, hint="return int(...) of a count made of Python ints")
    if got != expected:
        # several known mistakes can give the same number: name each one the evidence fits
        why = list(dict.fromkeys(h for value, h in wrong if value != expected and got == value))
        checks.fail(f"{what} is wrong.", f"got {got:,}, expected {expected:,}", inputs=inputs,
                    hint="; or ".join(why) or hint)


def check_float(got, expected: float, what: str, *, wrong=(), inputs: dict | None = None,
                hint: str = "", rtol: float = 1e-9) -> None:
    """A measured number: a float (np.float64 is one) close to `expected`."""
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (float, int)):
        checks.fail(f"{what} must be a number (a Python float).",
                    f"got {type(got).__name__}: {checks.fmt(got)}", inputs=inputs)
    if not np.isclose(float(got), expected, rtol=rtol, atol=1e-12):
        why = next((h for value, h in wrong
                    if not np.isclose(value, expected, rtol=rtol, atol=1e-12)
                    and np.isclose(float(got), value, rtol=rtol, atol=1e-12)), "")
        checks.fail(f"{what} is wrong.", f"got {float(got)!r}, expected {expected!r}",
                    inputs=inputs, hint=why or hint)


# ---------------------------------------------------------------- a clock and timed models

class FakeClock:
    """Seconds that pass only when `advance` is called; counts its reads."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TimedModel(Layer):
    """A model whose call number i takes durations[i] seconds on `clock` (the last one
    repeats), and records what it was called with and whether grad mode was on."""

    def __init__(self, clock: FakeClock, durations, output=None):
        super().__init__()
        self.clock = clock
        self.durations = list(durations)
        self.output = output
        self.calls = 0
        self.inputs = []
        self.grad_modes = []

    def forward(self, x):
        from tinytorch.core.autograd import is_grad_enabled
        self.inputs.append(x)
        self.grad_modes.append(is_grad_enabled())
        self.clock.advance(self.durations[min(self.calls, len(self.durations) - 1)])
        self.calls += 1
        return x if self.output is None else self.output


def timed(layer, clock: FakeClock, seconds: float):
    """Make `layer` (a real layer, counted as its own class) take `seconds` per call on
    `clock`: its instance gets a forward that advances the clock first. Returns a list
    that counts the calls."""
    calls = []
    original = layer.forward

    def forward(*args, **kwargs):
        calls.append(args)
        clock.advance(seconds)
        return original(*args, **kwargs)

    layer.forward = forward
    return calls


def tripwire(layer, who: str):
    """Make calling `layer` fail the test: count_flops must never run the model."""
    def forward(*args, **kwargs):
        checks.fail("count_flops called the model.", f"{who}.forward ran during count_flops",
                    hint="count from shapes and the layers' attributes alone: never build an "
                         "input and run the model (a (100000, 4096) input must cost nothing)")

    layer.forward = forward


# ---------------------------------------------------------------- FLOP formulas by hand

def prod(shape) -> int:
    out = 1
    for s in shape:
        out *= int(s)
    return out


def windows(side: int, k: int, s: int, p: int) -> int:
    """How many windows of size k, stepping by s, fit in side + 2p cells (counted, not
    computed with the formula)."""
    return len(range(0, side + 2 * p - k + 1, s))


HINT_MACS = "you counted multiply-adds (MACs) as 1 FLOP each: a multiply-add is 2 FLOPs"
HINT_NO_BIAS = "the bias additions are missing: one more FLOP per output when the layer has a bias"
HINT_EXTRA_BIAS = "you counted bias additions for a layer without a bias (bias is None)"
HINT_ONE_SAMPLE = ("you counted one sample: count_flops covers one call on the whole "
                   "input_shape, batch (and every leading axis) included")
HINT_2K_MINUS_1 = ("you counted 2*i - 1 FLOPs per output (i multiplies, i - 1 additions): the "
                   "convention counts every multiply-add as 2")
HINT_NO_PADDING = ("the padding was ignored: Ho = (H + 2*ph - kh) // sh + 1, the padded zeros "
                   "are multiplied like any input")
HINT_NO_STRIDE = "the stride was ignored: consecutive windows start stride rows (columns) apart"
HINT_SQUARE = "the kernel was taken as square (kh * kh): a kernel_size pair is (height, width)"
HINT_ELEMENTWISE = ("elementwise work was counted (the scale, the mask, the softmax or a residual "
                    "addition): it counts 0 FLOPs by the README's convention")
HINT_SWAPPED = "height and width were swapped: index 0 of kernel_size, stride and padding is the height"


def linear_flops(rows: int, i: int, o: int, bias: bool) -> int:
    return 2 * rows * i * o + (rows * o if bias else 0)


def linear_wrong(shape, i: int, o: int, bias: bool):
    rows = prod(shape[:-1])
    per_sample = prod(shape[1:-1])
    return [
        (rows * i * o + (rows * o if bias else 0), HINT_MACS),
        (2 * rows * i * o, HINT_NO_BIAS),
        (2 * rows * i * o + rows * o, HINT_EXTRA_BIAS),
        (linear_flops(per_sample, i, o, bias), HINT_ONE_SAMPLE),
        (linear_flops(1, i, o, bias), HINT_ONE_SAMPLE),
        ((2 * i - 1) * rows * o + (rows * o if bias else 0), HINT_2K_MINUS_1),
        (linear_flops(int(shape[0]), i, o, bias), "only the first axis was taken as the rows: M is "
                                                   "the product of every leading side"),
    ]


def spatial(hw, k, s, p):
    return windows(hw[0], k[0], s[0], p[0]), windows(hw[1], k[1], s[1], p[1])


def conv_flops(n, c, o, hw, k, s, p, bias) -> int:
    ho, wo = spatial(hw, k, s, p)
    outputs = n * o * ho * wo
    return 2 * outputs * c * k[0] * k[1] + (outputs if bias else 0)


def conv_wrong(n, c, o, hw, k, s, p, bias):
    out = []

    def formula(nn=n, kk=k, ss=s, pp=p, macs=False, with_bias=bias, hw_=hw):
        try:
            ho, wo = spatial(hw_, kk, ss, pp)
        except ValueError:
            return None
        if ho < 1 or wo < 1:
            return None
        outputs = nn * o * ho * wo
        return (1 if macs else 2) * outputs * c * kk[0] * kk[1] + (outputs if with_bias else 0)

    out.append((formula(macs=True), HINT_MACS))
    out.append((formula(with_bias=not bias), HINT_NO_BIAS if bias else HINT_EXTRA_BIAS))
    out.append((formula(nn=1), HINT_ONE_SAMPLE))
    out.append((formula(pp=(0, 0)), HINT_NO_PADDING))
    out.append((formula(ss=(1, 1)), HINT_NO_STRIDE))
    out.append((formula(kk=(k[0], k[0])), HINT_SQUARE))
    ho, wo = spatial(hw, k, s, p)  # the right windows, but kh * kh weights each
    out.append((2 * n * o * ho * wo * c * k[0] * k[0] + (n * o * ho * wo if bias else 0), HINT_SQUARE))
    out.append((formula(kk=k[::-1], ss=s[::-1], pp=p[::-1]), HINT_SWAPPED))
    return [(v, h) for v, h in out if v is not None]


def attention_flops(b, s, d) -> int:
    return 4 * linear_flops(b * s, d, d, True) + 4 * b * s * s * d


def attention_wrong(b, s, d, heads):
    proj = 4 * linear_flops(b * s, d, d, True)
    return [
        (proj, "the attention products are missing: Q K^T and weights @ V add 4*B*S*S*D"),
        (proj + 2 * b * s * s * d, "only one of the two attention products (Q K^T and weights @ V) "
                                   "was counted, or both as MACs"),
        (proj + 4 * b * s * s * d // heads, "the attention products were counted for one head: "
                                            "all heads together have head_dim * heads = D"),
        (3 * linear_flops(b * s, d, d, True) + 4 * b * s * s * d,
         "one projection is missing: q_proj, k_proj, v_proj AND out_proj each cost a Linear"),
        (4 * 2 * b * s * d * d + 4 * b * s * s * d, HINT_NO_BIAS),
        (attention_flops(1, s, d), HINT_ONE_SAMPLE),
    ] + [(attention_flops(b, s, d) + k * b * heads * s * s, HINT_ELEMENTWISE)  # k elementwise passes
         for k in (1, 2, 3) if s > 1]


def mlp_flops(rows, d, hidden) -> int:
    return linear_flops(rows, d, hidden, True) + linear_flops(rows, hidden, d, True)


def block_flops(b, s, d, hidden) -> int:
    return attention_flops(b, s, d) + mlp_flops(b * s, d, hidden)


def gpt_flops(b, t, vocab, d, layers) -> int:
    return layers * block_flops(b, t, d, 4 * d) + linear_flops(b * t, d, vocab, False)


def gpt_params(vocab, d, layers, max_len) -> int:
    block = 4 * (d * d + d) + 2 * (2 * d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
    return vocab * d + max_len * d + layers * block + 2 * d + d * vocab


# ---------------------------------------------------------------- strategies

sides = st.integers(1, 5)


@st.composite
def conv_cases(draw):
    """(n, c, o, hw, k, s, p, bias, as_int): a configuration with at least one window."""
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    hw = tuple(draw(st.integers(max(1, k[a] - 2 * p[a]), 9)) for a in range(2))
    return (draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 4)), hw, k, s, p,
            draw(st.booleans()), draw(st.booleans()))


@st.composite
def pool_cases(draw):
    """(n, c, hw, k, s, p): pool padding at most half the kernel (kata 09's rule)."""
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    hw = tuple(draw(st.integers(max(1, k[a] - 2 * p[a]), 9)) for a in range(2))
    return draw(st.integers(1, 4)), draw(st.integers(1, 3)), hw, k, s, p


def pair(value, as_int: bool):
    return value[0] if as_int and value[0] == value[1] else value


def zero_input(shape) -> Tensor:
    return Tensor(np.zeros(shape, np.float32))
