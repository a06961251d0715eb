"""Helpers shared by kata 09's hidden test modules (not collected: the name is not test_*).

Loop oracles (written here, independent of any vectorized formulation), the cases the
tests draw, the output-size diagnosis, and a guard that turns a learner's crash into a
teaching message.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st
from tinytorch.core.tensor import Tensor

from pytest_tinytorch import checks

KATA = "09_convolutions"
F32, F64 = np.float32, np.float64

HINT_FLIPPED = ("the kernel was flipped: Conv2d is a cross-correlation, as PyTorch's: kernel "
                "offset (i, j) multiplies xpad[y*sh + i, x*sw + j], with no [::-1]")
HINT_NO_BIAS = "the bias is missing: add bias[o] to every position of output channel o"
HINT_SWAPPED_PAIRS = ("this matches the (height, width) pairs read the wrong way round: index 0 "
                      "of kernel_size, stride and padding is the height (rows), index 1 the width")
HINT_SCATTER = ("every output position (y, x) read the window xpad[y*sh : y*sh + kh, "
                "x*sw : x*sw + kw]: its gradient goes back onto exactly those cells, ADDED "
                "where windows overlap, and the padding rows and columns are cut off afterwards")


# ---------------------------------------------------------------- running learner code

def run(fn, what: str, inputs: dict | None = None, hint: str = ""):
    """fn(), with a crash turned into a message (the stub's NotImplementedError passes:
    the grader reports it as "not started"). Failing outside the `except` block keeps the
    message free of a chained traceback."""
    try:
        return fn()
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - a learner's crash becomes a teaching message
        error = exc
    checks.fail(f"{what} raised {type(error).__name__}.", str(error), inputs=inputs, hint=hint)


raised = checks.raised  # the shared helper: NotImplementedError propagates, other crashes are returned


def check_tensor(out, what: str, inputs: dict | None = None) -> None:
    if not isinstance(out, Tensor):
        checks.fail(f"{what} must return a Tensor.", f"got {type(out).__name__}: {checks.fmt(out)}",
                    inputs=inputs, hint="wrap the NumPy result: record(Tensor(result), ...)")


def leaf(array, dtype=F64) -> Tensor:
    return Tensor(np.array(array, dtype=dtype), requires_grad=True)


def grad_of(t: Tensor, what: str, name: str, inputs: dict | None = None, hint: str = "") -> np.ndarray:
    g = t.grad
    if g is None:
        checks.fail(f"{what}: {name} received no gradient.", "after backward(), its .grad is None",
                    inputs=inputs, hint=hint or "is the output recorded with record(...), with "
                    "this tensor among the inputs, and does backward return a gradient for it?")
    return np.asarray(getattr(g, "data", g), dtype=F64)


def check_recorded(out, fn_class, inputs: tuple, what: str,
                   names=("x", "the weight", "the bias")) -> None:
    """The output is one node of fn_class whose .inputs are exactly `inputs` (identity)."""
    fn = getattr(out, "_grad_fn", None)
    if fn is None:
        checks.fail(f"{what} must be recorded in the graph: its output has no _grad_fn.",
                    f"got requires_grad={getattr(out, 'requires_grad', None)}",
                    hint=f"end forward with return record(Tensor(result), {fn_class.__name__}, inputs, "
                         "...), with x itself among the inputs: a Tensor rebuilt from x.data does not "
                         "require grad, so record has nothing to record")
    if not isinstance(fn, fn_class):
        checks.fail(f"{what} must record one {fn_class.__name__} node.",
                    f"its output's _grad_fn is a {type(fn).__name__}",
                    hint=f"compute the forward with NumPy and record a {fn_class.__name__} whose "
                         "backward you write: a chain of Tensor operations is not this kata's exercise")
    got = tuple(getattr(fn, "inputs", ()))
    if len(got) != len(inputs) or any(a is not b for a, b in zip(got, inputs)):
        names = {id(t): n for t, n in zip(inputs, names)}
        checks.fail(f"{what}: the recorded {fn_class.__name__} must have the inputs "
                    f"({', '.join(names[id(t)] for t in inputs)}), in that order, as the very objects.",
                    f"got {len(got)} inputs: " + ", ".join(
                        names.get(id(t), f"another {type(t).__name__}") for t in got),
                    hint="pass the layer's own parameter Tensors and x itself "
                         "to record(...); a copy or a Tensor rebuilt from .data gets no gradient")


# ---------------------------------------------------------------- cases

class Case(NamedTuple):
    """One drawn layer configuration and its data (made from `seed`)."""
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

    def conv_args(self):
        return dict(in_channels=self.c, out_channels=self.o, kernel_size=self.arg(self.k),
                    stride=self.arg(self.s), padding=self.arg(self.p), bias=self.bias)

    def describe(self, layer="Conv2d") -> str:
        if layer == "Conv2d":
            a = self.conv_args()
            return (f"Conv2d({a['in_channels']}, {a['out_channels']}, kernel_size={a['kernel_size']}, "
                    f"stride={a['stride']}, padding={a['padding']}, bias={a['bias']}) on x of shape "
                    f"{self.x_shape}")
        return (f"{layer}(kernel_size={self.arg(self.k)}, stride={self.arg(self.s)}, "
                f"padding={self.arg(self.p)}) on x of shape {self.x_shape}")

    @property
    def x_shape(self):
        return (self.n, self.c, *self.hw)

    @property
    def out_hw(self):
        return out_size(self.hw, self.k, self.s, self.p)

    def x(self, unique=False):
        rng = np.random.default_rng(self.seed)
        if unique:  # distinct values, at least 4/size apart: no ties, no kinks
            size = int(np.prod(self.x_shape))
            return (rng.permutation(size) * (4.0 / size) - 2.0).reshape(self.x_shape)
        return rng.standard_normal(self.x_shape)

    def weight(self):
        rng = np.random.default_rng(self.seed + 1)
        return rng.uniform(-1, 1, (self.o, self.c, *self.k))

    def bias_values(self):
        return np.random.default_rng(self.seed + 2).uniform(-1, 1, self.o)

    def upstream(self):
        return np.random.default_rng(self.seed + 3).standard_normal((self.n, self.o, *self.out_hw))


def swapped_settings(case):
    """(stride, padding) with one or both pairs read the wrong way round, where that differs
    and the windows still fit: known wrong answers."""
    found = []
    for s2, p2 in ((case.s[::-1], case.p), (case.s, case.p[::-1]), (case.s[::-1], case.p[::-1])):
        if (s2, p2) != (case.s, case.p) and (s2, p2) not in found and all(
                case.hw[a] + 2 * p2[a] >= case.k[a] for a in range(2)):
            found.append((s2, p2))
    return found


def out_size(hw, k, s, p):
    return tuple((hw[a] + 2 * p[a] - k[a]) // s[a] + 1 for a in range(2))


_small = st.integers(1, 3)


@st.composite
def conv_cases(draw, max_side=6, stride=None, padding=None, pool=False):
    """A configuration whose output has at least one position."""
    k = (draw(_small), draw(_small))
    s = stride or (draw(_small), draw(_small))
    if padding is not None:
        p = padding
    elif pool:
        p = (draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2)))
    else:
        p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    hw = tuple(draw(st.integers(max(1, k[a] - 2 * p[a]), max_side)) for a in range(2))
    return Case(n=draw(st.integers(1, 2)), c=draw(_small), o=draw(_small), hw=hw, k=k, s=s, p=p,
                bias=draw(st.booleans()), seed=draw(st.integers(0, 2**31)),
                as_int=draw(st.booleans()))


# ---------------------------------------------------------------- oracles (loops)

def pad(x, p, value=0.0):
    return np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=value)


def conv_loop(x, w, b, s, p):
    """out[n, o, y, x] = b[o] + sum_{c,i,j} xp[n, c, y*sh + i, x*sw + j] * w[o, c, i, j]"""
    kh, kw = w.shape[2:]
    xp = pad(np.asarray(x, F64), p)
    ho, wo = out_size(x.shape[2:], (kh, kw), s, p)
    out = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for y in range(ho):
        for xx in range(wo):
            patch = xp[:, :, y * s[0]:y * s[0] + kh, xx * s[1]:xx * s[1] + kw]
            out[:, :, y, xx] = np.einsum("ncij,ocij->no", patch, w)
    if b is not None:
        out += np.asarray(b, F64)[None, :, None, None]
    return out


def conv_abs_scale(x, w, s, p) -> float:
    """The largest sum of |x| * |w| over one output: the scale of its float32 rounding."""
    return float(np.max(conv_loop(np.abs(x), np.abs(w), None, s, p), initial=0.0))


def conv_grads_loop(x, w, g, s, p):
    """(grad_x, grad_w, grad_b) of sum(out * g), by the same loops."""
    kh, kw = w.shape[2:]
    xp = pad(np.asarray(x, F64), p)
    gxp, gw = np.zeros_like(xp), np.zeros(w.shape)
    ho, wo = g.shape[2:]
    for y in range(ho):
        for xx in range(wo):
            rows, cols = slice(y * s[0], y * s[0] + kh), slice(xx * s[1], xx * s[1] + kw)
            gy = g[:, :, y, xx]
            gw += np.einsum("no,ncij->ocij", gy, xp[:, :, rows, cols])
            gxp[:, :, rows, cols] += np.einsum("no,ocij->ncij", gy, w)
    h, wd = x.shape[2:]
    return gxp[:, :, p[0]:p[0] + h, p[1]:p[1] + wd], gw, g.sum(axis=(0, 2, 3))


def pool_windows(x, k, s, p, value):
    """[(y, x, window (N, C, kh, kw), top, left)] over the padded input."""
    xp = pad(np.asarray(x, F64), p, value)
    ho, wo = out_size(x.shape[2:], k, s, p)
    return xp.shape, [(y, xx, xp[:, :, y * s[0]:y * s[0] + k[0], xx * s[1]:xx * s[1] + k[1]],
                       y * s[0], xx * s[1]) for y in range(ho) for xx in range(wo)], (ho, wo)


def maxpool_loop(x, k, s, p, g=None, tie="first", padding_value=-np.inf, decode=None):
    """(out, grad_x): the max of each window; the gradient to the first (or last, or every
    tied) maximum in row-major window order. `decode` replaces the kernel width when the
    winner's flat index is turned back into (row, column): a known wrong answer."""
    width = decode or k[1]
    n, c = x.shape[:2]
    shape, windows, (ho, wo) = pool_windows(x, k, s, p, padding_value)
    out, gxp = np.zeros((n, c, ho, wo)), np.zeros(shape)
    for y, xx, win, top, left in windows:
        flat = win.reshape(n, c, -1)
        out[:, :, y, xx] = flat.max(axis=-1)
        if g is None:
            continue
        for i in range(n):
            for j in range(c):
                winners = np.flatnonzero(flat[i, j] == flat[i, j].max())
                chosen = {"first": winners[:1], "last": winners[-1:], "split": winners}[tie]
                for idx in chosen:
                    di, dj = idx // width, idx % width
                    if di < k[0] and dj < k[1]:
                        gxp[i, j, top + di, left + dj] += g[i, j, y, xx] / len(chosen)
    h, w = x.shape[2:]
    return out, gxp[:, :, p[0]:p[0] + h, p[1]:p[1] + w]


def avgpool_loop(x, k, s, p, g=None, include_pad=True):
    """(out, grad_x): the mean of each window over all kh*kw cells (or only the real ones)."""
    n, c = x.shape[:2]
    shape, windows, (ho, wo) = pool_windows(x, k, s, p, 0.0)
    real = pad(np.ones_like(np.asarray(x, F64)), p)
    out, gxp = np.zeros((n, c, ho, wo)), np.zeros(shape)
    for y, xx, win, top, left in windows:
        count = k[0] * k[1] if include_pad else real[0, 0, top:top + k[0], left:left + k[1]].sum()
        out[:, :, y, xx] = win.sum(axis=(2, 3)) / count
        if g is not None:
            gxp[:, :, top:top + k[0], left:left + k[1]] += (g[:, :, y, xx] / count)[:, :, None, None]
    h, w = x.shape[2:]
    return out, gxp[:, :, p[0]:p[0] + h, p[1]:p[1] + w]


# ---------------------------------------------------------------- output size

def shape_hint(got, case: Case, layer: str = "Conv2d", channels: int | None = None) -> str:
    """Why an output has the wrong shape, from the mistake its spatial sides match."""
    got = tuple(getattr(got, "shape", ()) or ())
    if len(got) != 4:
        return f"{layer} maps (N, C, H, W) to a 4-D output (N, channels, Ho, Wo)"
    if channels is not None and got[1] != channels:
        return (f"the output must have {channels} channels (N, {channels}, Ho, Wo): "
                f"weight has the layout (out_channels, in_channels, kh, kw)")
    (h, w), k, s, p = case.hw, case.k, case.s, case.p
    sides = {
        "the padding was ignored: the input is padded by ph rows above AND below and pw "
        "columns left AND right before the windows slide": lambda a, hh: (hh - k[a]) // s[a] + 1,
        "the padding was counted once: it is added on both sides, H + 2*ph":
            lambda a, hh: (hh + p[a] - k[a]) // s[a] + 1,
        "off by one: Ho = floor((H + 2*ph - kh) / sh) + 1, the +1 counts the first window":
            lambda a, hh: (hh + 2 * p[a] - k[a]) // s[a],
        "rounded up: a window that would run past the padded input is dropped, so use "
        "floor division": lambda a, hh: -(-(hh + 2 * p[a] - k[a]) // s[a]) + 1,
        "the stride was ignored: consecutive windows start stride rows (columns) apart":
            lambda a, hh: hh + 2 * p[a] - k[a] + 1,
    }
    expected = case.out_hw
    matches = [why for why, side in sides.items()
               if (side(0, h), side(1, w)) != expected and got[2:] == (side(0, h), side(1, w))]
    for k2, s2, p2 in ((k, s[::-1], p), (k, s, p[::-1]), (k, s[::-1], p[::-1])):
        swapped = out_size(case.hw, k2, s2, p2)
        if swapped != expected and got[2:] == swapped and HINT_SWAPPED_PAIRS not in matches:
            matches.append(HINT_SWAPPED_PAIRS)
    if len(matches) > 1:  # on this input several mistakes give the same sides: name them all
        return "this matches more than one mistake: " + "; or ".join(matches)
    return matches[0] if matches else (
        "Ho = floor((H + 2*ph - kh) / sh) + 1 and Wo = floor((W + 2*pw - kw) / sw) + 1")
