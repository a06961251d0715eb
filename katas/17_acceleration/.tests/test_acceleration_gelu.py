"""Hidden tests for fused_gelu: equal to your kata-02 GELU (values, dtype, a 0-d input), one
recorded node, its gradient (against GELU's and finite differences), its input unchanged,
and its peak memory measured with tracemalloc."""
from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.activations import GELU
from tinytorch.core.tensor import Tensor

import acceleration_kit as kit
from acceleration_kit import F32, F64


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def fused(x, what):
    acc = kit.acceleration()
    out = kit.run(lambda: acc.fused_gelu(x), what, inputs={"x": x.data})
    kit.check_tensor(out, what)
    return out


@given(x=st.one_of(checks.arrays(dtype=F32, lo=-6, hi=6), checks.arrays(dtype=F64, lo=-6, hi=6)))
@example(x=np.array([-3.0, -1.0, 0.0, 1.0, 3.0], F32))
@example(x=np.array(0.75, F64))
@example(x=np.linspace(-8, 8, 12, dtype=F32).reshape(3, 4))
def test_fused_gelu_equals_your_gelu(x):
    what = f"fused_gelu(x) with x of shape {x.shape}, {x.dtype}"
    t = Tensor(x)
    got = fused(t, what)
    if not np.array_equal(t.data, x):
        checks.fail(f"{what} modified x.", "x changed during the call", inputs={"x": x},
                    hint="the first in-place step must write into a NEW array: "
                         "out = np.empty_like(z); np.multiply(z, z, out=out)")
    expected = GELU()(Tensor(x))
    z = np.asarray(x, F64)
    exact_erf = 0.5 * z * (1 + np.vectorize(math.erf)(z / np.sqrt(2)))
    checks.check_array(got, expected, what + " (expected: your kata-02 GELU)", inputs={"x": x},
                       type_=Tensor, dtype=x.dtype, rtol=1e-5 if x.dtype == F32 else 1e-12,
                       dtype_hint="np.empty(x.shape) is float64: np.empty_like(x.data) keeps x's dtype",
                       atol=1e-6 if x.dtype == F32 else 1e-12,
                       wrong=[(exact_erf, "that is the exact (erf) GELU: kata 02's GELU is the tanh "
                                          "approximation, 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))")],
                       hint="0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3)))")


def test_fused_gelu_records_one_node():
    acc = kit.acceleration()
    x = kit.leaf(np.linspace(-2, 2, 6).reshape(2, 3))
    out = fused(x, "fused_gelu(x)")
    fn = getattr(out, "_grad_fn", None)
    if not isinstance(fn, acc.FusedGELUFunction):
        checks.fail("fused_gelu(x) must record one FusedGELUFunction node.",
                    f"its output's _grad_fn is {type(fn).__name__ if fn is not None else None}",
                    hint="compute the forward with NumPy, then return record(Tensor(out), "
                         "FusedGELUFunction, (x,)): a chain of Tensor operations is eight nodes, "
                         "not one fused one")
    got = tuple(getattr(fn, "inputs", ()))
    if len(got) != 1 or got[0] is not x:
        checks.fail("fused_gelu(x): the recorded FusedGELUFunction must have the inputs (x,), "
                    "x itself.", f"got {len(got)} inputs")


@given(x=checks.arrays(dtype=F64, lo=-5, hi=5), seed=st.integers(0, 2**31))
@example(x=np.array([-3.0, -0.5, 0.0, 0.4, 2.5]), seed=1)
def test_fused_gelu_gradient_equals_your_gelus(x, seed):
    g = np.random.default_rng(seed).standard_normal(x.shape)
    what = f"fused_gelu(x) with x of shape {x.shape}"
    a = kit.leaf(x)
    out = fused(a, what)
    kit.run(lambda: out.backward(g), f"backward of {what}")
    got = kit.grad_of(a, what, "x", hint="return record(Tensor(out), FusedGELUFunction, (x,))")
    b = kit.leaf(x)
    GELU()(b).backward(g)
    checks.check_array(got, b.grad, f"{what}: the gradient of x (expected: your GELU's)",
                       inputs={"x": x, "upstream": g}, rtol=1e-9, atol=1e-12,
                       hint="gelu'(x) = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2), "
                            "t = tanh(sqrt(2/pi) (x + 0.044715 x^3)), times the upstream gradient")
    checks.check_grad(lambda t: kit.acceleration().fused_gelu(t), [x], Tensor=Tensor, what=what,
                      seed=seed % 1000)


@pytest.mark.parametrize("dtype", [F32, F64])
def test_fused_gelu_computes_in_one_buffer(dtype):
    acc = kit.acceleration()
    x = Tensor(np.random.default_rng(3).standard_normal(100_000).astype(dtype))
    was = tracemalloc.is_tracing()
    if not was:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = kit.run(lambda: acc.fused_gelu(x), f"fused_gelu(x) of 100,000 {np.dtype(dtype).name}s")
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        if not was:
            tracemalloc.stop()
    kit.check_tensor(out, "fused_gelu(x)")
    ratio = peak / x.data.nbytes
    if ratio > 2.5:
        checks.fail(f"fused_gelu(x) of 100,000 {np.dtype(dtype).name}s allocated too much memory.",
                    f"its allocations peaked at {ratio:.1f} times x's size; at most 2.5 allowed "
                    "(the output, the copy your Tensor may make of it)",
                    hint="a one-line NumPy formula keeps several temporaries of x's size alive at "
                         "once: allocate one output (np.empty_like) and do every step in place "
                         "(np.multiply(..., out=out), *=, +=, np.tanh(out, out=out)); recompute "
                         "tanh in backward instead of storing it")
