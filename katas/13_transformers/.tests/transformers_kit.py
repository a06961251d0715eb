"""Helpers shared by kata 13's hidden test modules (not collected: the name is not test_*).

NumPy oracles (LayerNorm and its known wrong variants, GELU, the MLP), random parameters
for the learner's layers, and the staged checks of a learner's call.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

KATA = "13_transformers"
F32, F64 = np.float32, np.float64
seeds = st.integers(0, 2**32 - 1)

GRAPH_HINT = ("build every forward from your layers and Tensor operations: a Tensor rebuilt "
              "from .data (or NumPy on .data) cuts the graph, and what comes before it stops "
              "learning")

LN_HINTS = {
    "unbiased": "this matches the unbiased variance (divided by D - 1): LayerNorm divides by the "
                "number of features D, like np.var's default",
    "eps outside": "this matches (x - mean) / (sqrt(var) + eps): eps goes inside the square root, "
                   "sqrt(var + eps)",
    "no gamma": "gamma was not applied: y = gamma * xhat + beta",
    "no beta": "beta was not added: y = gamma * xhat + beta",
    "swapped": "gamma and beta are swapped: gamma scales, beta shifts",
    "std": "this matches dividing by the variance instead of its square root",
    "axis 0": "this matches normalising along the first axis: LayerNorm normalises each vector "
              "along the LAST axis",
}


def normal(rng, shape, scale=1.0, dtype=F64):
    return (scale * rng.standard_normal(shape)).astype(dtype)


def layer_norm(x, gamma, beta, eps=1e-5, variant: str = ""):
    x = np.asarray(x, dtype=F64)
    g, b = np.asarray(gamma, dtype=F64), np.asarray(beta, dtype=F64)
    axis = 0 if variant == "axis 0" else -1
    mean = x.mean(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # ddof=1 on one feature: a wrong variant's NaN
        var = x.var(axis=axis, keepdims=True, ddof=1 if variant == "unbiased" else 0)
        if variant == "eps outside":
            xhat = (x - mean) / (np.sqrt(var) + eps)
        elif variant == "std":
            xhat = (x - mean) / (var + eps)
        else:
            xhat = (x - mean) / np.sqrt(var + eps)
    if variant == "swapped":
        return b * xhat + g
    return (xhat if variant == "no gamma" else g * xhat) + (0.0 if variant == "no beta" else b)


def wrong_layer_norm(x, gamma, beta, eps):
    out = []
    for name, why in LN_HINTS.items():
        if name == "axis 0" and np.ndim(x) < 2:
            continue
        value = layer_norm(x, gamma, beta, eps, name)
        if value.shape == np.shape(x) and np.all(np.isfinite(value)):
            out.append((value, why))
    return out


def layer_norm_grads(x, gamma, v, eps=1e-5, variant: str = ""):
    """(dx, dgamma, dbeta) of LayerNorm for upstream v, or of a backward that drops a term."""
    x, g, v = (np.asarray(a, dtype=F64) for a in (x, gamma, v))
    mean = x.mean(axis=-1, keepdims=True)
    inv = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    xhat = (x - mean) * inv
    gx = v * g
    terms = gx.copy()
    if variant != "no mean term":
        terms -= gx.mean(axis=-1, keepdims=True)
    if variant != "no variance term":
        terms -= xhat * (gx * xhat).mean(axis=-1, keepdims=True)
    lead = tuple(range(x.ndim - 1))
    return inv * terms, (v * xhat).sum(axis=lead), v.sum(axis=lead)


DX_HINTS = {
    "no mean term": "this matches a backward without the mean term: the mean depends on every x of "
                    "the vector, so dx needs - mean(g * gamma) along the last axis",
    "no variance term": "this matches a backward without the variance term: the variance depends on "
                        "every x of the vector, so dx needs - xhat * mean(g * gamma * xhat)",
    "constant stats": "this matches a backward that treats the mean and variance as constants "
                      "(dx = g * gamma / sqrt(var + eps)): they depend on x too",
}


def wrong_dx(x, gamma, v, eps):
    out = [(layer_norm_grads(x, gamma, v, eps, n)[0], DX_HINTS[n]) for n in ("no mean term", "no variance term")]
    inv = 1.0 / np.sqrt(np.asarray(x, F64).var(axis=-1, keepdims=True) + eps)
    out.append((np.asarray(v, F64) * np.asarray(gamma, F64) * inv, DX_HINTS["constant stats"]))
    return out


def gelu(z):
    z = np.asarray(z, dtype=F64)
    return 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))


def set_linear(layer, rng, dtype=F32, scale=1.0):
    d_in, d_out = layer.weight.shape
    layer.weight.data = normal(rng, (d_in, d_out), scale / math.sqrt(d_in), dtype)
    if layer.bias is not None:
        layer.bias.data = normal(rng, (d_out,), 0.3, dtype)


def set_norm(norm, rng, dtype=F32):
    d = norm.gamma.shape
    norm.gamma.data = (1 + 0.3 * rng.standard_normal(d)).astype(dtype)
    norm.beta.data = normal(rng, d, 0.3, dtype)


def randomize(model, rng, dtype=F32):
    """Random values (not the initial ones: biases and beta non-zero, gamma not 1) for every
    parameter of a model, through parameters(): found in place, so identity is kept."""
    for p in model.parameters():
        if p.ndim == 2:
            p.data = normal(rng, p.shape, 1 / math.sqrt(p.shape[0]), dtype)
        else:
            p.data = normal(rng, p.shape, 0.3, dtype)


raised = checks.raised  # the shared helper: NotImplementedError propagates, other crashes are returned


def call(fn, *, what, inputs=None, hint=""):
    """fn() on the learner's code; a crash becomes a message; the result must be a Tensor."""
    out = [None]

    def run():
        out[0] = fn()

    exc = raised(run)
    if exc is not None:
        checks.fail(f"{what} raised {type(exc).__name__}.", str(exc), inputs=inputs, hint=hint)
    if not isinstance(out[0], Tensor):
        checks.fail(f"{what} must return a Tensor.", f"got {type(out[0]).__name__}: {checks.fmt(out[0])}",
                    inputs=inputs)
    return out[0]


def gradcheck(f, xs, *, what, seed=0, hint=""):
    """checks.check_grad after a first look: every input must receive a gradient."""
    ts = [Tensor(np.array(x, dtype=F64), requires_grad=True) for x in xs]
    out = f(*ts)
    if not isinstance(out, Tensor) or not out.requires_grad:
        checks.fail(f"{what}: the result of inputs that require grad must require grad.",
                    f"got {type(out).__name__} with requires_grad={getattr(out, 'requires_grad', None)}",
                    hint=GRAPH_HINT)
    out.backward(np.ones(out.shape))
    missing = [f"x{i}" for i, t in enumerate(ts) if t.grad is None]
    if missing:
        checks.fail(f"{what}: every input must receive a gradient.",
                    f"after backward(), {', '.join(missing)} got none (.grad is None)", hint=GRAPH_HINT)
    checks.check_grad(f, xs, Tensor=Tensor, what=what, seed=seed, hint=hint)


def names_of(model, prefix=""):
    """{id(tensor): dotted attribute name} for the parameters reachable through attributes."""
    from tinytorch.core.layers import Layer
    found = {}
    for key, value in vars(model).items():
        items = list(enumerate(value)) if isinstance(value, (list, tuple)) else [(None, value)]
        for i, item in items:
            name = f"{prefix}{key}" + (f"[{i}]" if i is not None else "")
            if isinstance(item, Tensor):
                found.setdefault(id(item), name)
            elif isinstance(item, Layer):
                for k, v in names_of(item, name + ".").items():
                    found.setdefault(k, v)
    return found


def param_gradcheck(model, run, *, what, rng, inputs=None, eps=1e-6):
    """Every parameter of `model` gets a gradient from run().backward(v), and the gradients
    agree with central differences along one random direction through all of them (the
    parameters must be float64: set them with randomize(..., dtype=F64))."""
    params = model.parameters()
    names = names_of(model)
    base = [p.data.copy() for p in params]
    for p in params:
        p.grad = None
    out = run()
    v = rng.standard_normal(out.shape)
    out.backward(v)
    missing = [names.get(id(p), f"parameter {i}") for i, p in enumerate(params) if p.grad is None]
    if missing:
        checks.fail(f"{what}: every parameter must receive a gradient.", f"no gradient for {missing}",
                    inputs=inputs, hint=GRAPH_HINT)
    dirs = [rng.standard_normal(p.shape) for p in params]
    analytic = sum(float(np.sum(np.asarray(p.grad, F64) * u)) for p, u in zip(params, dirs))

    def at(sign):
        for p, b0, u in zip(params, base, dirs):
            p.data = b0 + sign * eps * u
        return np.asarray(run().data, F64)

    try:
        numeric = float(np.sum((at(1) - at(-1)) / (2 * eps) * v))
    finally:
        for p, b0 in zip(params, base):
            p.data, p.grad = b0, None
    if not np.isclose(analytic, numeric, rtol=1e-4, atol=1e-6 * max(1.0, np.abs(v).sum())):
        checks.fail(f"{what}: the gradients of the parameters disagree with finite differences.",
                    f"along a random direction through all parameters: backward gives {analytic:.6g}, "
                    f"finite differences give {numeric:.6g}", inputs=inputs)
