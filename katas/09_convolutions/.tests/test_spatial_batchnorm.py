"""Hidden tests for BatchNorm2d: parameters and statistics at creation, training mode (batch
statistics, running averages with the unbiased variance), eval mode, gradients in both."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from spatial_kit import F32, F64, check_recorded, check_tensor, grad_of, leaf, run
from tinytorch.core.layers import Layer
from tinytorch.core.spatial import BatchNorm2d
from tinytorch.core.tensor import Tensor

from pytest_tinytorch import checks
from tinytorch.core import spatial

AXES = (0, 2, 3)
HINT_BIASED = ("normalize with the BIASED variance of the batch (divide by n = N*H*W, "
               "np.var's default), as PyTorch does; only the running variance uses n / (n - 1)")
HINT_RUNNING_BIASED = ("the running variance must average the UNBIASED batch variance, "
                       "var * n / (n - 1) with n = N*H*W (PyTorch's convention)")
HINT_MOMENTUM = ("momentum is the weight of the NEW batch: running = (1 - momentum) * running "
                 "+ momentum * batch statistic")
HINT_EVAL = ("in eval mode, normalize with running_mean and running_var, not with the batch's "
             "own statistics (model.eval() sets self.training = False)")
HINT_CONSTANT_STATS = ("this treats the batch mean and variance as constants: in training mode "
                       "they depend on x, which adds two terms: "
                       "dx = (d - mean(d) - xhat * mean(d * xhat)) / sqrt(var + eps), d = g * gamma")


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


class BNCase(NamedTuple):
    n: int
    c: int
    h: int
    w: int
    eps: float = 1e-5
    momentum: float = 0.1
    seed: int = 0

    @property
    def shape(self):
        return (self.n, self.c, self.h, self.w)

    def describe(self):
        return (f"BatchNorm2d({self.c}, eps={self.eps}, momentum={self.momentum}) on x of shape "
                f"{self.shape}")

    def x(self, k=0):
        rng = np.random.default_rng(self.seed + 17 * k)
        return rng.standard_normal(self.shape) * rng.uniform(0.5, 3, (1, self.c, 1, 1)) + \
            rng.uniform(-2, 2, (1, self.c, 1, 1))

    def affine(self):
        rng = np.random.default_rng(self.seed + 1)
        return rng.uniform(0.5, 2, self.c), rng.uniform(-1, 1, self.c)

    def running(self):
        rng = np.random.default_rng(self.seed + 2)
        return rng.uniform(-1, 1, self.c).astype(F32), rng.uniform(0.5, 2, self.c).astype(F32)


@st.composite
def bn_cases(draw):
    n, h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    if n * h * w < 2:
        n = 2
    return BNCase(n, draw(st.integers(1, 3)), h, w, draw(st.sampled_from([1e-5, 0.1, 0.5])),
                  draw(st.sampled_from([0.1, 0.3, 0.9])), draw(st.integers(0, 2**31)))


EXAMPLES = [BNCase(2, 2, 2, 3, 0.5, 0.3, 1), BNCase(1, 3, 1, 2, 0.1, 0.1, 2),
            BNCase(3, 1, 2, 2, 1e-5, 0.9, 3), BNCase(2, 2, 1, 1, 0.5, 0.1, 4)]


def with_examples(test):
    for case in EXAMPLES:
        test = example(case=case)(test)
    return test


def make_bn(case: BNCase, leaves=False, affine=True):
    bn = run(lambda: BatchNorm2d(case.c, eps=case.eps, momentum=case.momentum),
             f"BatchNorm2d({case.c}, eps={case.eps}, momentum={case.momentum})")
    if affine:
        gamma, beta = case.affine()
        if leaves:
            bn.gamma, bn.beta = leaf(gamma), leaf(beta)
        else:
            bn.gamma.data, bn.beta.data = gamma.astype(F32), beta.astype(F32)
    return bn


def normalized(x, mean, var, eps, gamma, beta):
    """gamma * (x - mean) / sqrt(var + eps) + beta; per-channel vectors broadcast as (1, C, 1, 1)."""
    def channels(a):
        a = np.asarray(a, F64)
        return a.reshape(1, -1, 1, 1) if a.ndim == 1 else a
    xhat = (x - channels(mean)) / np.sqrt(channels(var) + eps)
    return channels(gamma) * xhat + channels(beta)


def apply(bn, x, case, what=""):
    out = run(lambda: bn(x), case.describe() + what)
    check_tensor(out, case.describe() + what)
    return out


def test_batchnorm2d_comes_from_your_kata():
    checks.assert_from_kata(BatchNorm2d, "09_convolutions")
    run(lambda: BatchNorm2d(2), "BatchNorm2d(2)")


@pytest.mark.parametrize("c", [1, 4])
def test_batchnorm2d_starts_with_identity_parameters_and_neutral_statistics(c):
    bn = run(lambda: BatchNorm2d(c), f"BatchNorm2d({c})")
    what = f"BatchNorm2d({c})"
    for name, value in (("gamma", np.ones(c)), ("beta", np.zeros(c))):
        t = getattr(bn, name, None)
        checks.check_array(t, value, f"{what}.{name}", type_=Tensor, dtype=F32,
                           hint="gamma starts at ones and beta at zeros: the layer starts as a pure "
                                "normalization")
        if t.requires_grad is not True:
            checks.fail(f"{what}.{name} must have requires_grad=True.", f"got {t.requires_grad!r}",
                        hint="gamma and beta are learned: the optimizer updates them")
    for name, value in (("running_mean", np.zeros(c)), ("running_var", np.ones(c))):
        got = getattr(bn, name, None)
        if type(got) is not np.ndarray:
            checks.fail(f"{what}.{name} must be a NumPy array (not a Tensor: it is not learned).",
                        f"got {type(got).__name__}", hint="np.zeros(num_features, np.float32)")
        checks.check_array(got, value, f"{what}.{name}", dtype=F32,
                           hint="running_mean starts at zeros and running_var at ones")
    for name, value in (("num_features", c), ("eps", 1e-5), ("momentum", 0.1)):
        if getattr(bn, name, None) != value:
            checks.fail(f"{what}.{name} must be {value!r}.", f"got {getattr(bn, name, None)!r}",
                        hint="the defaults are eps=1e-5 and momentum=0.1 (PyTorch's and TinyTorch's)")
    custom = run(lambda: BatchNorm2d(c, eps=0.25, momentum=0.5), f"BatchNorm2d({c}, eps=0.25, momentum=0.5)")
    if (getattr(custom, "eps", None), getattr(custom, "momentum", None)) != (0.25, 0.5):
        checks.fail(f"BatchNorm2d({c}, eps=0.25, momentum=0.5) must store eps and momentum as given.",
                    f"got eps={getattr(custom, 'eps', None)!r}, momentum={getattr(custom, 'momentum', None)!r}")
    if not isinstance(bn, Layer) or bn.training is not True:
        checks.fail(f"{what} must be a Layer (kata 03) in training mode.",
                    f"isinstance Layer: {isinstance(bn, Layer)}, training={getattr(bn, 'training', None)!r}",
                    hint="class BatchNorm2d(Layer), calling super().__init__() first")
    params = run(bn.parameters, f"{what}.parameters()")
    if len(params) != 2 or params[0] is not bn.gamma or params[1] is not bn.beta:
        checks.fail(f"{what}.parameters() must be [gamma, beta].", f"got {len(params)} tensors",
                    hint="Layer.parameters() finds the Tensors with requires_grad=True in assignment "
                         "order: assign gamma, then beta; keep the running statistics as arrays")


# ---------------------------------------------------------------- training mode

@given(case=bn_cases())
@with_examples
def test_batchnorm2d_training_output_uses_batch_statistics(case):
    bn = make_bn(case)
    x = case.x().astype(F32)
    out = apply(bn, Tensor(x), case)
    gamma, beta = bn.gamma.data.astype(F64), bn.beta.data.astype(F64)
    x64 = x.astype(F64)
    mean, var = x64.mean(axis=AXES), x64.var(axis=AXES)
    count = case.n * case.h * case.w
    expected = normalized(x64, mean, var, case.eps, gamma, beta)
    xhat = normalized(x64, mean, var, case.eps, np.ones(case.c), np.zeros(case.c))
    wrong = [(normalized(x64, mean, var * count / (count - 1), case.eps, gamma, beta), HINT_BIASED),
             (np.reshape(gamma, (1, -1, 1, 1)) * (x64 - np.reshape(mean, (1, -1, 1, 1)))
              / (np.sqrt(np.reshape(var, (1, -1, 1, 1))) + case.eps) + np.reshape(beta, (1, -1, 1, 1)),
              "eps belongs inside the square root: (x - mean) / sqrt(var + eps)"),
             (xhat, "gamma and beta were not applied: y = gamma * xhat + beta, per channel"),
             (normalized(x64, np.zeros(case.c), np.ones(case.c), case.eps, gamma, beta),
              "this used the running statistics: in training mode normalize with the batch's own "
              "mean and variance")]
    if case.eps != 1e-5:
        wrong.append((normalized(x64, mean, var, 1e-5, gamma, beta),
                      "this used eps = 1e-5, not the eps given to BatchNorm2d"))
    if case.n > 1:
        wrong.append((normalized(x64, x64.mean(axis=(2, 3), keepdims=True),
                                 x64.var(axis=(2, 3), keepdims=True), case.eps, gamma, beta),
                      "the statistics were taken per sample: BatchNorm2d averages over the batch "
                      "AND the spatial axes (0, 2, 3), one mean and variance per channel"))
    checks.check_array(out, expected, f"{case.describe()} in training mode: the output",
                       inputs={"x": x}, type_=Tensor, dtype=F32, rtol=1e-4, atol=1e-4, wrong=wrong,
                       hint="y = gamma * (x - mean) / sqrt(var + eps) + beta, mean and var per channel "
                            "over N, H and W")


def expected_running(case, batches):
    mean, var = np.zeros(case.c), np.ones(case.c)
    biased, reversed_, replaced = (np.zeros(case.c), np.ones(case.c)), (np.zeros(case.c), np.ones(case.c)), None
    m, count = case.momentum, case.n * case.h * case.w
    for x in batches:
        bm, bv = x.mean(axis=AXES), x.var(axis=AXES)
        mean, var = (1 - m) * mean + m * bm, (1 - m) * var + m * bv * count / (count - 1)
        biased = ((1 - m) * biased[0] + m * bm, (1 - m) * biased[1] + m * bv)
        reversed_ = (m * reversed_[0] + (1 - m) * bm, m * reversed_[1] + (1 - m) * bv * count / (count - 1))
        replaced = (bm, bv * count / (count - 1))
    return (mean, var), biased, reversed_, replaced


@given(case=bn_cases(), steps=st.integers(1, 3))
@example(case=EXAMPLES[0], steps=3)
@example(case=EXAMPLES[1], steps=1)
@example(case=EXAMPLES[2], steps=2)
@example(case=EXAMPLES[3], steps=3)
def test_batchnorm2d_running_statistics_follow_the_momentum_average(case, steps):
    bn = make_bn(case)
    # float64 batches: the running statistics must stay float32 all the same
    batches = [case.x(k) for k in range(steps)]
    for x in batches:
        apply(bn, Tensor(x), case)
    (mean, var), biased, reversed_, replaced = expected_running(case, batches)
    what = f"{case.describe()}: after {steps} training batch(es) (float64), running_"
    for name, exp, i in (("mean", mean, 0), ("var", var, 1)):
        got = getattr(bn, f"running_{name}", None)
        if type(got) is not np.ndarray:
            checks.fail(f"{what}{name} must be a NumPy array.", f"got {type(got).__name__}")
        wrong = [(reversed_[i], HINT_MOMENTUM), (replaced[i], "the running statistic was replaced by "
                  "the batch's: it is an exponential average, (1 - momentum) * running + momentum * batch")]
        if name == "var":
            wrong.insert(0, (biased[1], HINT_RUNNING_BIASED))
        if case.momentum != 0.1:
            wrong.append((expected_running(case._replace(momentum=0.1), batches)[0][i],
                          "this used momentum 0.1, not the momentum given to BatchNorm2d"))
        checks.check_array(got, exp, f"{what}{name}", dtype=F32, rtol=1e-5, atol=1e-6, wrong=wrong,
                           dtype_hint="the running statistics stay float32 arrays of shape "
                                      "(num_features,): cast the update to float32",
                           hint=f"running_{name} = (1 - momentum) * running_{name} + momentum * "
                                + ("batch mean" if name == "mean" else "batch variance * n / (n - 1)"))


# ---------------------------------------------------------------- eval mode

@given(case=bn_cases())
@with_examples
def test_batchnorm2d_eval_mode_uses_the_running_statistics(case):
    bn = make_bn(case)
    rm, rv = case.running()
    bn.running_mean, bn.running_var = rm.copy(), rv.copy()
    run(bn.eval, f"{case.describe()}: eval()")
    x = case.x().astype(F32)
    out = apply(bn, Tensor(x), case, " in eval mode")
    gamma, beta = bn.gamma.data.astype(F64), bn.beta.data.astype(F64)
    x64 = x.astype(F64)
    expected = normalized(x64, rm, rv, case.eps, gamma, beta)
    batch = normalized(x64, x64.mean(axis=AXES), x64.var(axis=AXES), case.eps, gamma, beta)
    checks.check_array(out, expected, f"{case.describe()} in eval mode (running_mean = {rm}, "
                       f"running_var = {rv}): the output", inputs={"x": x}, type_=Tensor, dtype=F32,
                       rtol=1e-4, atol=1e-4, wrong=[(batch, HINT_EVAL)],
                       hint="y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta")
    for name, saved in (("running_mean", rm), ("running_var", rv)):
        checks.check_array(getattr(bn, name), saved, f"{case.describe()}: {name} after a forward in "
                           "eval mode", hint="eval mode only reads the running statistics: update "
                           "them in training mode only")
    alone = apply(bn, Tensor(x[:1]), case, " in eval mode, on the first sample alone")
    checks.check_array(alone, np.asarray(out.data)[:1], f"{case.describe()} in eval mode: the first "
                       "sample's output must not depend on the rest of the batch", inputs={"x": x},
                       type_=Tensor, rtol=1e-5, atol=1e-5, hint=HINT_EVAL)
    run(bn.train, f"{case.describe()}: train()")
    if case.n * case.h * case.w > 1:
        again = apply(bn, Tensor(x), case, " back in training mode")
        checks.check_array(again, batch, f"{case.describe()}: after eval() then train(), the output",
                           inputs={"x": x}, type_=Tensor, rtol=1e-4, atol=1e-4,
                           hint="training mode (self.training True) uses the batch statistics again")


# ---------------------------------------------------------------- gradients

def bn_grads(case, training):
    bn = make_bn(case, leaves=True)
    rm, rv = case.running()
    bn.running_mean, bn.running_var = rm.copy(), rv.copy()
    if not training:
        run(bn.eval, f"{case.describe()}: eval()")
    x = leaf(case.x())
    mode = "training" if training else "eval"
    out = apply(bn, x, case, f" in {mode} mode")
    g = np.random.default_rng(case.seed + 5).standard_normal(case.shape)
    run(lambda: out.backward(g), f"{case.describe()} in {mode} mode: out.backward(g)")
    inputs = {"x": x.data, "upstream g": g}
    what = f"{case.describe()} in {mode} mode"
    return (bn, x.data, g, inputs, what, grad_of(x, what, "x", inputs),
            grad_of(bn.gamma, what, "gamma", inputs), grad_of(bn.beta, what, "beta", inputs))


@given(case=bn_cases(), training=st.booleans())
@example(case=EXAMPLES[0], training=True)
@example(case=EXAMPLES[0], training=False)
@example(case=EXAMPLES[1], training=True)
@example(case=EXAMPLES[3], training=True)
def test_batchnorm2d_gradients_match_the_exact_gradients(case, training):
    bn, x, g, inputs, what, gx, ggamma, gbeta = bn_grads(case, training)
    gamma = bn.gamma.data.reshape(1, -1, 1, 1)
    if training:
        mean, var = x.mean(axis=AXES, keepdims=True), x.var(axis=AXES, keepdims=True)
    else:
        mean, var = bn.running_mean.astype(F64).reshape(1, -1, 1, 1), bn.running_var.astype(F64).reshape(1, -1, 1, 1)
    inv = 1 / np.sqrt(var + case.eps)
    xhat, d = (x - mean) * inv, g * gamma
    constant = d * inv
    if training:
        expected = inv * (d - d.mean(axis=AXES, keepdims=True) - xhat * (d * xhat).mean(axis=AXES, keepdims=True))
        wrong = [(constant, HINT_CONSTANT_STATS)]
    else:
        expected = constant
        bm, bv = x.mean(axis=AXES, keepdims=True), x.var(axis=AXES, keepdims=True)
        bhat = (x - bm) / np.sqrt(bv + case.eps)
        wrong = [(d / np.sqrt(bv + case.eps) - (d.mean(axis=AXES, keepdims=True) + bhat * (d * bhat).mean(
            axis=AXES, keepdims=True)) / np.sqrt(bv + case.eps),
            "this is the training-mode gradient: in eval mode the running statistics are constants, "
            "dx = g * gamma / sqrt(running_var + eps)")]
    checks.check_array(gx, expected, f"{what}: the gradient of x", inputs=inputs, rtol=1e-6, atol=1e-8,
                       wrong=wrong, hint=HINT_CONSTANT_STATS if training else
                       "in eval mode dx = g * gamma / sqrt(running_var + eps)")
    checks.check_array(ggamma, (g * xhat).sum(axis=AXES), f"{what}: the gradient of gamma",
                       inputs=inputs, rtol=1e-6, atol=1e-8,
                       wrong=[((g * xhat).mean(axis=AXES), "the gamma gradient was AVERAGED: sum "
                               "g * xhat over N, H and W")],
                       shape_hint="gamma's gradient has gamma's shape (num_features,): sum over N, H, W",
                       hint="d(loss)/d(gamma[c]) = sum over N, H, W of g * xhat")
    checks.check_array(gbeta, g.sum(axis=AXES), f"{what}: the gradient of beta", inputs=inputs,
                       rtol=1e-6, atol=1e-8,
                       wrong=[(g.mean(axis=AXES), "the beta gradient was AVERAGED: sum g over N, H and W")],
                       shape_hint="beta's gradient has beta's shape (num_features,): sum over N, H, W",
                       hint="d(loss)/d(beta[c]) = sum over N, H, W of g")


@given(case=bn_cases(), training=st.booleans())
@example(case=EXAMPLES[0], training=True)
@example(case=EXAMPLES[1], training=False)
@example(case=EXAMPLES[3], training=True)
def test_batchnorm2d_gradients_match_finite_differences(case, training):
    bn = make_bn(case, leaves=True)
    rm, rv = case.running()
    bn.running_mean, bn.running_var = rm.copy(), rv.copy()
    if not training:
        run(bn.eval, f"{case.describe()}: eval()")

    def f(x, gamma, beta):
        bn.gamma, bn.beta = gamma, beta
        return run(lambda: bn(x), case.describe())

    gamma, beta = case.affine()
    mode = "training" if training else "eval"
    checks.check_grad(f, [case.x(), gamma, beta], Tensor=Tensor,
                      what=f"{case.describe()} in {mode} mode (x0 is x, x1 gamma, x2 beta)",
                      seed=case.seed % 1000, rtol=1e-4,
                      hint=HINT_CONSTANT_STATS if training else
                      "in eval mode the running statistics are constants")


def test_batchnorm2d_records_one_node_with_its_inputs():
    case = BNCase(2, 3, 2, 2, seed=6)
    bn = make_bn(case, leaves=True)
    x = leaf(case.x())
    out = apply(bn, x, case)
    check_recorded(out, spatial.BatchNorm2dFn, (x, bn.gamma, bn.beta), case.describe(),
                   names=("x", "gamma", "beta"))
    g = np.ones(case.shape)
    grads = run(lambda: out._grad_fn.backward(g), f"{case.describe()}: BatchNorm2dFn.backward(g)")
    if not isinstance(grads, tuple) or len(grads) != 3:
        checks.fail(f"{case.describe()}: BatchNorm2dFn.backward must return a tuple of three "
                    "gradients (x, gamma, beta).", f"got {checks.fmt(grads)}",
                    hint="return (grad_x, grad_gamma, grad_beta)")
