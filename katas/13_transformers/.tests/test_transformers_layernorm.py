"""Hidden tests for LayerNorm: parameters, values against NumPy, constant vectors, dtypes,
the shape check, stability far from zero, and gradients (through your kata-06 autograd)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor

import transformers_kit as kit
from transformers_kit import F32, F64, KATA


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def layer_norm_class():
    from tinytorch.core.transformers import LayerNorm
    return LayerNorm


def built(d, eps, rng, dtype=F32):
    ln = layer_norm_class()(d, eps=eps)
    kit.set_norm(ln, rng, dtype)
    return ln


def test_layer_norm_has_gamma_and_beta():
    LayerNorm = layer_norm_class()
    ln = LayerNorm(5)
    what = "LayerNorm(5)"
    if not isinstance(ln, Layer):
        checks.fail(f"{what} must be a Layer (kata 03).", f"its classes are {type(ln).__mro__}",
                    hint="class LayerNorm(Layer): and call super().__init__() first")
    if ln.normalized_shape != 5 or ln.eps != 1e-5:
        checks.fail(f"{what} must store normalized_shape=5 and eps=1e-5 (the default).",
                    f"got normalized_shape={ln.normalized_shape!r}, eps={ln.eps!r}")
    for name, value in (("gamma", 1.0), ("beta", 0.0)):
        t = getattr(ln, name, None)
        if not isinstance(t, Tensor) or not t.requires_grad:
            checks.fail(f"{what}.{name} must be a Tensor with requires_grad=True.", f"got {t!r}")
        checks.check_array(t, np.full(5, value, F32), f"{what}.{name}", dtype=F32)
    params = ln.parameters()
    if len(params) != 2 or params[0] is not ln.gamma or params[1] is not ln.beta:
        checks.fail(f"{what}.parameters() must be [gamma, beta].", f"got {len(params)} tensors",
                    hint="create gamma first, then beta")
    checks.assert_from_kata(LayerNorm, KATA)
    from tinytorch.core import transformers
    for name in ("MLP", "TransformerBlock", "create_causal_mask"):
        checks.assert_from_kata(getattr(transformers, name), KATA)


@settings(max_examples=20)
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple), d=st.integers(1, 6),
       eps=st.sampled_from([1e-5, 1e-3, 0.1]), seed=kit.seeds, dtype=st.sampled_from([F32, F64]))
@example(lead=(3,), d=4, eps=1e-5, seed=1, dtype=F64)  # biased variance, gamma and beta
@example(lead=(2,), d=3, eps=0.1, seed=2, dtype=F64)  # a large eps: inside the square root
@example(lead=(2, 3), d=5, eps=1e-5, seed=3, dtype=F32)
def test_layer_norm_matches_numpy(lead, d, eps, seed, dtype):
    rng = np.random.default_rng(seed)
    ln = built(d, eps, rng)
    x = kit.normal(rng, lead + (d,), 2.0, dtype) + dtype(rng.standard_normal())
    inputs = {"x": x, "gamma": ln.gamma.data, "beta": ln.beta.data}
    what = f"LayerNorm({d}, eps={eps}) on x of shape {x.shape}"
    got = kit.call(lambda: ln(Tensor(x)), what=what, inputs=inputs)
    expected = kit.layer_norm(x, ln.gamma.data, ln.beta.data, eps)
    tol = 1e-9 if dtype == F64 else 2e-5
    checks.check_array(got, expected.astype(dtype), what, inputs=inputs, dtype=dtype, rtol=tol, atol=tol,
                       wrong=kit.wrong_layer_norm(x, ln.gamma.data, ln.beta.data, eps),
                       hint="y = gamma * (x - mean) / sqrt(var + eps) + beta, mean and var along "
                            "the last axis")


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_constant_vectors_give_beta(dtype):
    rng = np.random.default_rng(4)
    ln = built(4, 1e-5, rng)
    x = np.array([[3.0] * 4, [-2.5] * 4, [0.0] * 4], dtype=dtype)
    inputs = {"x": x, "beta": ln.beta.data}
    what = "LayerNorm(4) of constant vectors (variance 0)"
    got = kit.call(lambda: ln(Tensor(x)), what=what, inputs=inputs)
    checks.check_array(got, np.broadcast_to(ln.beta.data, x.shape).astype(dtype), what, inputs=inputs,
                       dtype=dtype, rtol=1e-6, atol=1e-6,
                       nan_hint="a constant vector has variance 0: eps inside the square root, "
                                "sqrt(var + eps), keeps the division finite")


@pytest.mark.parametrize("shape", [(2, 3), (3, 1), (4,)], ids=["last axis 3", "last axis 1", "1-D of 4 but LayerNorm(5)"])
def test_layer_norm_rejects_a_wrong_last_axis(shape):
    LayerNorm = layer_norm_class()
    d = 5 if len(shape) == 1 else 4
    ln = LayerNorm(d)
    x = np.ones(shape, F32)
    exc = kit.raised(lambda: ln(Tensor(x)))
    if not isinstance(exc, ValueError):
        got = "no exception" if exc is None else f"{type(exc).__name__}: {exc}"
        checks.fail(f"LayerNorm({d}) on x of shape {shape} must raise ValueError: the last axis is not {d}.",
                    f"got {got}", hint="check x.shape[-1] == normalized_shape before computing "
                                       "(a last axis of 1 broadcasts against gamma silently)")


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_layer_norm_keeps_the_dtype(dtype):
    rng = np.random.default_rng(5)
    ln = built(6, 1e-5, rng)
    x = kit.normal(rng, (2, 3, 6), 1.0, dtype)
    got = kit.call(lambda: ln(Tensor(x)), what="LayerNorm(6)", inputs={"x": x})
    tol = 1e-9 if dtype == F64 else 2e-5
    checks.check_array(got, kit.layer_norm(x, ln.gamma.data, ln.beta.data).astype(dtype),
                       f"LayerNorm(6) on {np.dtype(dtype)} input", inputs={"x": x}, dtype=dtype,
                       rtol=tol, atol=tol)


@settings(max_examples=10)
@given(d=st.integers(4, 16), seed=kit.seeds)
@example(d=8, seed=6)
def test_layer_norm_is_stable_far_from_zero(d, seed):
    rng = np.random.default_rng(seed)
    ln = built(d, 1e-5, rng)
    x = kit.normal(rng, (3, d), 1.0, F64)
    shifted = (x + 1000.0).astype(F32)
    inputs = {"x": shifted}
    what = f"LayerNorm({d}) of float32 vectors near 1000 (spread about 1)"
    got = kit.call(lambda: ln(Tensor(shifted)), what=what, inputs=inputs)
    expected = kit.layer_norm(shifted, ln.gamma.data, ln.beta.data)
    checks.check_array(got, expected.astype(F32), what, inputs=inputs, dtype=F32, rtol=2e-3, atol=2e-3,
                       hint="the variance must come from the centred values, mean((x - mean)**2): "
                            "mean(x**2) - mean(x)**2 subtracts two numbers near 1e6 in float32 and "
                            "loses the digits that matter")


@settings(max_examples=10)
@given(lead=st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple), d=st.integers(2, 5),
       seed=kit.seeds)
@example(lead=(3,), d=4, seed=7)
def test_layer_norm_gradients(lead, d, seed):
    rng = np.random.default_rng(seed)
    ln = layer_norm_class()(d)
    x = kit.normal(rng, lead + (d,), 1.5, F64)
    g = 1 + 0.3 * rng.standard_normal(d)
    b = 0.3 * rng.standard_normal(d)
    v = rng.standard_normal(x.shape)
    tx, tg, tb = (Tensor(a.copy(), requires_grad=True) for a in (x, g, b))
    ln.gamma, ln.beta = tg, tb
    what = f"LayerNorm({d}) backward on x of shape {x.shape}"
    inputs = {"x": x, "gamma": g, "beta": b, "upstream gradient": v}
    out = kit.call(lambda: ln(tx), what=what, inputs=inputs)
    if not out.requires_grad:
        checks.fail(f"{what}: LayerNorm of inputs that require grad must require grad.",
                    "got requires_grad=False", inputs=inputs,
                    hint="build it from Tensor operations, or record your own Function with record()")
    exc = kit.raised(lambda: out.backward(v))
    if exc is not None:
        checks.fail(f"{what}: backward raised {type(exc).__name__}.", str(exc), inputs=inputs)
    dx, dgamma, dbeta = kit.layer_norm_grads(x, g, v)
    for name, t, expected, wrong in (("x", tx, dx, kit.wrong_dx(x, g, v, 1e-5)),
                                     ("gamma", tg, dgamma, []), ("beta", tb, dbeta, [])):
        if t.grad is None:
            checks.fail(f"{what}: {name} received no gradient.", "its .grad is None", inputs=inputs,
                        hint="every input of LayerNorm (x, gamma, beta) needs its gradient; a Function "
                             "returns one per input, in the order of record()'s inputs")
        checks.check_array(np.asarray(t.grad, F64), expected, f"{what}: the gradient of {name}",
                           inputs=inputs, rtol=1e-6, atol=1e-8, wrong=wrong,
                           shape_hint=f"the gradient of {name} has {name}'s shape: sum over the "
                                      "leading axes (the engine does it for a Function's output)")
