"""Hidden tests for clip_grad_norm: the global norm, one shared factor, untouched below max_norm.

Gradients are set by hand on Tensors (no autograd needed). Oracles are NumPy in float64.
"""
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import clip_grad_norm
from training_kit import raised

KATA = "08_training"
F32, F64 = np.float32, np.float64
EPS = 1e-6  # the documented epsilon in max_norm / (norm + eps)

HINT_INVERTED = ("the clipping factor is upside down: after clipping, the global norm must "
                 "come down to max_norm, so the factor is below 1")
HINT_PER_PARAM = ("clip with ONE global norm over all gradients together, not each parameter "
                  "by its own norm: per-parameter clipping changes the update's direction")
HINT_NOT_CLIPPED = "when the global norm exceeds max_norm, every gradient must be scaled down"
HINT_ALWAYS = ("only clip when the global norm is above max_norm; below it, leave every "
               "gradient exactly as it is")
HINT_AFTER = "return the norm measured BEFORE clipping, not after"
HINT_NO_SQRT = "the norm is the square root of the sum of squares"
HINT_NOT_GLOBAL = "the norm is ONE L2 norm over all the gradients together (all parameters)"
HINT_GENERATOR = ("params may be a generator, which can be iterated only once: put the "
                  "parameters in a list before looping over them twice")


# ---------------------------------------------------------------- helpers
def _draw_grads(shapes, scales, seed, dtype):
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-1, 1, s) * k).astype(dtype) for s, k in zip(shapes, scales)]


def grad_lists(*dtypes):
    """1 to 3 gradients of small shapes, each of its own magnitude (values from a seed: fast)."""
    return st.builds(_draw_grads, st.lists(checks.shapes(max_dims=2), min_size=1, max_size=3),
                     st.lists(st.sampled_from([0.1, 1.0, 10.0]), min_size=3, max_size=3),
                     st.integers(0, 2**32 - 1), st.sampled_from(dtypes or (F32,)))


def prepare(grads):
    """Copies of the drawn grads, nudged so the global norm is at least 0.5."""
    grads = [np.array(g, copy=True) for g in grads]
    if norm_of(grads) < 0.5:
        grads[0].flat[0] = 1.0
    return grads


def norm_of(grads):
    return float(np.sqrt(sum(np.sum(np.asarray(g, F64) ** 2) for g in grads)))


def make_params(grads):
    params = []
    for g in grads:
        p = Tensor(np.zeros(g.shape, g.dtype), requires_grad=True)
        p.grad = np.array(g, copy=True)
        params.append(p)
    return params


def grad_of(p):
    return None if p.grad is None else np.asarray(getattr(p.grad, "data", p.grad))


def per_param_clip(grads, max_norm):
    out = []
    for g in grads:
        n = norm_of([g])
        out.append(g * (max_norm / (n + EPS)) if n > max_norm else g)
    return out


def check_norm_value(got, grads, max_norm, inputs):
    """The return value: a Python float equal to the global norm before clipping."""
    if not isinstance(got, float):
        checks.fail("clip_grad_norm(params, max_norm) must return a Python float.",
                    f"got {type(got).__name__}: {got!r}", inputs=inputs,
                    hint="convert with float(...)")
    expected = norm_of(grads)
    if not np.isclose(got, expected, rtol=1e-5, atol=1e-6):
        wrong = [(min(expected, max_norm), HINT_AFTER), (expected ** 2, HINT_NO_SQRT),
                 (max(norm_of([g]) for g in grads), HINT_NOT_GLOBAL),
                 (sum(norm_of([g]) for g in grads), HINT_NOT_GLOBAL)]
        hint = next((h for v, h in wrong if np.isclose(got, v, rtol=1e-4, atol=1e-6)),
                    "norm = sqrt(sum over every parameter of sum(grad ** 2))")
        checks.fail("clip_grad_norm must return the global L2 norm of the gradients before "
                    "clipping.", f"got {got!r}, expected {expected!r}", inputs=inputs, hint=hint)


# ---------------------------------------------------------------- tests

def test_clip_grad_norm_comes_from_your_kata():
    p = Tensor(np.zeros(2, F32), requires_grad=True)
    p.grad = np.array([3.0, 4.0], F32)
    got = clip_grad_norm([p], 10.0)  # runs your code first: the empty stub does not pass
    check_norm_value(got, [np.array([3.0, 4.0])], 10.0, {"grad": p.grad})
    checks.assert_from_kata(clip_grad_norm, KATA)


@given(grads=grad_lists(F32, F64), frac=st.floats(0.05, 0.9))
@example(grads=[np.array([3.0, 4.0], F32), np.array([12.0], F32)], frac=0.5)
@example(grads=[np.array([0.3, 0.4], F32), np.array([12.0], F32)], frac=0.5)
@example(grads=[np.array([[1.0, -2.0], [2.0, 0.0]], F64), np.array([6.0], F64)], frac=0.25)
@example(grads=[np.array([[1.0, -2.0], [2.0, 0.0]], F32), np.array([0.5], F32),
                np.array([1.0, 1.0, 1.0], F32)], frac=0.4)
def test_clip_grad_norm_above_max_norm_scales_all_grads_by_one_factor(grads, frac):
    grads = prepare(grads)
    norm = norm_of(grads)
    max_norm = frac * norm
    params = make_params(grads)
    inputs = {**{f"grad{i}": g for i, g in enumerate(grads)}, "max_norm": max_norm}
    got = clip_grad_norm(params, max_norm)
    check_norm_value(got, grads, max_norm, inputs)
    after = [grad_of(p) for p in params]
    per_param = per_param_clip(grads, max_norm)
    for i, (g, a) in enumerate(zip(grads, after)):
        expected = g * (max_norm / (norm + EPS))
        checks.check_array(
            a, expected.astype(g.dtype), f"grad{i} after clip_grad_norm (global norm {norm:.4g} > "
            f"max_norm {max_norm:.4g})", inputs=inputs, dtype=g.dtype, rtol=1e-5, atol=1e-6,
            wrong=[(g * (norm / max_norm), HINT_INVERTED), (per_param[i], HINT_PER_PARAM),
                   (g, HINT_NOT_CLIPPED)],
            hint="every gradient is multiplied by the same factor max_norm / (norm + 1e-6)")
    new_norm = norm_of(after)
    if not np.isclose(new_norm, max_norm, rtol=1e-4, atol=0):
        checks.fail("After clipping, the global norm of the gradients must equal max_norm.",
                    f"got {new_norm!r}, expected {max_norm!r}", inputs=inputs,
                    hint=HINT_INVERTED)
    before = np.concatenate([np.ravel(g).astype(F64) for g in grads])
    now = np.concatenate([np.ravel(a).astype(F64) for a in after])
    cos = float(before @ now / (np.linalg.norm(before) * np.linalg.norm(now)))
    if not cos > 1 - 1e-6:
        checks.fail("Clipping must keep the direction of the whole gradient.",
                    f"cosine between the gradients before and after: {cos:.6f} (expected 1)",
                    inputs=inputs, hint=HINT_PER_PARAM)


@given(grads=grad_lists(F32, F64), factor=st.floats(1.01, 10.0))
@example(grads=[np.array([3.0, 4.0], F32), np.array([12.0], F32)], factor=1.01)
@example(grads=[np.array([30.0, 40.0], F32), np.array([0.5], F32)], factor=1.5)
def test_clip_grad_norm_leaves_grads_untouched_below_max_norm(grads, factor):
    grads = prepare(grads)
    norm = norm_of(grads)
    max_norm = factor * norm
    params = make_params(grads)
    inputs = {**{f"grad{i}": g for i, g in enumerate(grads)}, "max_norm": max_norm}
    got = clip_grad_norm(params, max_norm)
    for i, (g, p) in enumerate(zip(grads, params)):
        a = grad_of(p)
        if a is None or a.shape != g.shape or a.dtype != g.dtype or not np.array_equal(a, g):
            shown = checks.fmt(a)
            checks.fail(f"grad{i} changed although the global norm {norm:.4g} is below "
                        f"max_norm {max_norm:.4g}.", f"got {shown}", inputs=inputs,
                        hint=HINT_ALWAYS)
    check_norm_value(got, grads, max_norm, inputs)


@given(grads=grad_lists(), frac=st.floats(0.05, 0.9), where=st.integers(0, 3))
@example(grads=[np.array([3.0, 4.0], F32)], frac=0.5, where=0)
def test_clip_grad_norm_skips_params_without_grad(grads, frac, where):
    grads = prepare(grads)
    norm = norm_of(grads)
    max_norm = frac * norm
    params = make_params(grads)
    idle = Tensor(np.ones((2, 2), F32), requires_grad=True)  # .grad is None: no gradient yet
    params.insert(min(where, len(params)), idle)
    inputs = {**{f"grad{i}": g for i, g in enumerate(grads)}, "max_norm": max_norm}
    got = clip_grad_norm(params, max_norm)
    if idle.grad is not None:
        checks.fail("A parameter whose .grad is None must be skipped by clip_grad_norm.",
                    f"its .grad became {checks.fmt(idle.grad)}", inputs=inputs,
                    hint="leave .grad = None alone: no gradient is not a zero gradient")
    check_norm_value(got, grads, max_norm, inputs)
    after = [grad_of(p) for p in params if p is not idle]
    for i, (g, a) in enumerate(zip(grads, after)):
        checks.check_array(a, (g * (max_norm / (norm + EPS))).astype(g.dtype),
                           f"grad{i} after clip_grad_norm next to a parameter without grad",
                           inputs=inputs, rtol=1e-5, atol=1e-6,
                           hint="skip parameters whose grad is None, clip the others")


@given(grads=grad_lists(), frac=st.floats(0.05, 0.9))
@example(grads=[np.array([3.0, 4.0], F32), np.array([12.0], F32)], frac=0.5)
def test_clip_grad_norm_accepts_a_generator(grads, frac):
    grads = prepare(grads)
    norm = norm_of(grads)
    max_norm = frac * norm
    params = make_params(grads)
    inputs = {**{f"grad{i}": g for i, g in enumerate(grads)}, "max_norm": max_norm}
    got = clip_grad_norm((p for p in params), max_norm)
    if not isinstance(got, float) or not np.isclose(got, norm, rtol=1e-5, atol=1e-6):
        checks.fail("clip_grad_norm(generator of params, max_norm) must return the global norm.",
                    f"got {got!r}, expected {norm!r}", inputs=inputs, hint=HINT_GENERATOR)
    for i, (g, p) in enumerate(zip(grads, params)):
        checks.check_array(grad_of(p), (g * (max_norm / (norm + EPS))).astype(g.dtype),
                           f"grad{i} after clip_grad_norm(generator of params, max_norm)",
                           inputs=inputs, rtol=1e-5, atol=1e-6, hint=HINT_GENERATOR)


# Gradients whose global norm is exact in binary floating point (Pythagorean sums).
EXACT = [([[3.0, 4.0]], 5.0), ([[1.0, 2.0, 2.0]], 3.0), ([[3.0], [4.0]], 5.0),
         ([[2.0, 3.0], [6.0]], 7.0), ([[0.75, 1.0]], 1.25)]


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_clip_grad_norm_at_exactly_max_norm_changes_nothing(dtype):
    for values, norm in EXACT:
        grads = [np.array(v, dtype) for v in values]
        params = make_params(grads)
        inputs = {**{f"grad{i}": g for i, g in enumerate(grads)}, "max_norm": norm}
        got = clip_grad_norm(params, norm)
        for i, (g, p) in enumerate(zip(grads, params)):
            a = grad_of(p)
            if a is None or a.dtype != g.dtype or not np.array_equal(a, g):
                checks.fail(f"grad{i} changed although the global norm equals max_norm = {norm}.",
                            f"got {checks.fmt(a, precision=9)}", inputs=inputs,
                            hint="clip only when norm > max_norm: at equality nothing changes "
                                 "(scaling by max_norm / (norm + 1e-6) would shrink it a little)")
        check_norm_value(got, grads, norm, inputs)


def test_clip_grad_norm_default_max_norm_is_one():
    for values, norm in (([[0.3, 0.4]], 0.5), ([[3.0, 4.0]], 5.0)):
        grads = [np.array(v, F64) for v in values]
        params = make_params(grads)
        inputs = {"grad0": grads[0]}
        out = []
        exc = raised(lambda: out.append(clip_grad_norm(params)))
        if exc is not None:
            checks.fail("clip_grad_norm(params) must work without max_norm (default 1.0, "
                        "TinyTorch's).", f"it raised {type(exc).__name__}: {exc}",
                        inputs=inputs, hint="def clip_grad_norm(params, max_norm=1.0)")
        factor = 1.0 / (norm + EPS) if norm > 1.0 else 1.0
        checks.check_array(grad_of(params[0]), grads[0] * factor,
                           f"grad0 after clip_grad_norm(params) (global norm {norm}, default "
                           "max_norm 1.0)", inputs=inputs, rtol=1e-9, atol=1e-12,
                           hint="the default max_norm is 1.0")
        check_norm_value(out[0], grads, 1.0, inputs)


@settings(max_examples=5)
@given(grads=grad_lists(F32, F64), frac=st.floats(0.05, 0.9))
@example(grads=[np.array([3.0, 4.0], F32), np.array([12.0], F32)], frac=0.5)
def test_clip_grad_norm_reads_tensor_grads(grads, frac):
    grads = prepare(grads)
    norm = norm_of(grads)
    max_norm = frac * norm
    params = make_params(grads)
    for p in params:
        p.grad = Tensor(p.grad)  # TinyTorch's autograd stores Tensors
    inputs = {**{f"grad{i}": g for i, g in enumerate(grads)}, "max_norm": max_norm}
    out = []
    exc = raised(lambda: out.append(clip_grad_norm(params, max_norm)))
    if exc is not None:
        checks.fail("clip_grad_norm must accept a .grad held as a Tensor.",
                    f"it raised {type(exc).__name__}: {exc}", inputs=inputs,
                    hint="a Tensor gradient keeps its numbers in .data: unwrap it before "
                         "computing with it")
    check_norm_value(out[0], grads, max_norm, inputs)
    for i, (g, p) in enumerate(zip(grads, params)):
        checks.check_array(grad_of(p), (g * (max_norm / (norm + EPS))).astype(g.dtype),
                           f"grad{i} (a Tensor) after clip_grad_norm", inputs=inputs,
                           dtype=g.dtype, rtol=1e-5, atol=1e-6,
                           hint="every gradient is multiplied by max_norm / (norm + 1e-6)")
