"""Hidden tests for kata 06: gradients of activations, losses and layers.

The activations (kata 02) and losses (kata 04) get their own backward rules; the layers
(kata 03) become differentiable for free because they are built from Tensor operations.
Every gradient is compared with finite differences in float64.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, strategies as st

from pytest_tinytorch import checks
from tinytorch.core import losses
from tinytorch.core.activations import GELU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.autograd import Function
from tinytorch.core.layers import Dropout, Linear, Sequential
from tinytorch.core.losses import BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss
from tinytorch.core.tensor import Tensor

import autograd_kit
from autograd_kit import F64, crash_of, gradcheck, leaf_grad, leaves, recorded


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


@pytest.fixture(autouse=True)
def _fresh_state(autograd):
    with autograd_kit.state_restored(autograd):
        yield


# ---------------------------------------------------------------- helpers
def call_backward(out, what, inputs, grad=None, hint=""):
    e = crash_of(lambda: out.backward() if grad is None else out.backward(grad))
    if e is not None:
        checks.fail(f"{what}: backward() raised {type(e).__name__}.", str(e), inputs=inputs,
                    hint=hint)


def numeric_grad(loss, param, eps=1e-6):
    """Central differences of the scalar loss() w.r.t. each entry of param.data (in place)."""
    g = np.zeros(param.shape, dtype=F64)
    for idx in np.ndindex(*param.shape):
        old = param.data[idx]
        param.data[idx] = old + eps
        up = float(np.asarray(loss().data))
        param.data[idx] = old - eps
        down = float(np.asarray(loss().data))
        param.data[idx] = old
        g[idx] = (up - down) / (2 * eps)
    return g


def test_autograd_comes_from_your_kata(autograd):
    checks.assert_from_kata(autograd.enable_autograd, "06_autograd")
    checks.assert_from_kata(Function, "06_autograd")


# ---------------------------------------------------------------- activations

ACTIVATIONS = {"Sigmoid": Sigmoid, "Tanh": Tanh, "GELU": GELU, "ReLU": ReLU}


@given(name=st.sampled_from(sorted(ACTIVATIONS)),
       x=checks.arrays(max_side=3, dtype=F64, lo=-6, hi=6, min_dims=0))
@example(name="GELU", x=np.array([-3.0, -0.5, 0.0, 0.7, 2.0]))
@example(name="Sigmoid", x=np.array([-4.0, 0.0, 4.0]))
@example(name="Tanh", x=np.array([-1.5, 0.5, 1.0]))
def test_activation_gradients(name, x):
    if name == "ReLU":  # stay away from the kink at 0 (its convention is tested below)
        x = np.where(x >= 0, x + 0.1, x - 0.1)
    act = ACTIVATIONS[name]()
    what = f"{name}()(x) for x of shape {x.shape}"
    hint = f"{name}'s derivative, times the upstream gradient, element by element"
    if name in ("Sigmoid", "Tanh"):  # their rules are in the README table: compare exactly
        v = np.asarray(np.random.default_rng(2).standard_normal(x.shape))
        (t,) = leaves([x])
        out = act(t)
        recorded(out, what, f"{name}.forward")
        call_backward(out, what, {"x": x}, v, hint=hint)
        y = np.asarray(out.data, dtype=F64)
        if name == "Sigmoid":
            expected, wrong = v * y * (1 - y), [(v * x * (1 - x), "the rule uses the OUTPUT "
                                                 "s = sigmoid(x), not the input x: dx = g * s * "
                                                 "(1 - s)")]
        else:
            expected, wrong = v * (1 - y * y), [(v * (1 - y), "the derivative of tanh is "
                                                 "1 - t² (t squared), not 1 - t")]
        checks.check_array(leaf_grad(t, what, "x", {"x": x}), expected,
                           f"the gradient of x in {what}",
                           inputs={"x": x, "upstream gradient": v}, wrong=wrong, hint=hint)
    gradcheck(lambda t: act(t), [x], what, f"{name}.forward", hint=hint)


def test_relu_gradient_is_zero_for_negative_and_zero_inputs():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0, -1e-3])
    v = np.array([1.0, -2.0, 3.0, 4.0, -5.0, 6.0])
    (t,) = leaves([x])
    out = ReLU()(t)
    recorded(out, "ReLU()(x)", "ReLU.forward")
    call_backward(out, "ReLU()(x)", {"x": x}, v)
    checks.check_array(np.asarray(t.grad), v * (x > 0), "the gradient of x in ReLU()(x)",
                       inputs={"x": x, "upstream gradient": v},
                       wrong=[(v, "ReLU passed the gradient through negative inputs too: where "
                                  "x < 0 the output is constant 0, so the gradient is 0"),
                              (v * (x != 0), "ReLU passed the gradient through negative inputs "
                                             "too: where x < 0 the output is constant 0, so the "
                                             "gradient is 0"),
                              (v * (x >= 0), "convention: relu'(0) = 0, so x == 0 gets no "
                                             "gradient")],
                       hint="relu'(x) is 1 where x > 0 and 0 elsewhere (including x == 0)")


@st.composite
def array_and_dim(draw, lo=-5, hi=5):
    x = draw(checks.arrays(max_side=3, dtype=F64, lo=lo, hi=hi))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


SOFTMAX_HINT = ("every output of softmax depends on every input along dim: the gradient "
                "of x_i collects the contributions of all the outputs of its slice (use the "
                "dim the call used: the layer's .dim, unless a dim was given to the call)")
SOFTMAX_CALLS = {  # (layer dim, dim given to the call) -> output
    "Softmax(dim=d)(x)": lambda t, d, o: Softmax(dim=d)(t),
    "Softmax(dim=o)(x, dim=d)": lambda t, d, o: Softmax(dim=o)(t, dim=d),
    "Softmax(dim=o).forward(x, d)": lambda t, d, o: Softmax(dim=o).forward(t, d),
}


@given(case=array_and_dim(), call=st.sampled_from(sorted(SOFTMAX_CALLS)))
@example(case=(np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]), 0), call="Softmax(dim=d)(x)")
@example(case=(np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]), 0),
         call="Softmax(dim=o)(x, dim=d)")
def test_softmax_gradient(case, call):
    x, dim = case
    other = (dim + 1) % x.ndim  # another axis where there is one: the call's dim must win
    shown = call.replace("=d", f"={dim}").replace("=o", f"={other}").replace(", d)", f", {dim})")
    gradcheck(lambda t: SOFTMAX_CALLS[call](t, dim, other), [x],
              f"{shown} for x of shape {x.shape}", "Softmax.forward", hint=SOFTMAX_HINT)


@given(case=array_and_dim())
@example(case=(np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]]), 0))
def test_log_softmax_gradient(case):
    x, dim = case
    gradcheck(lambda t: losses.log_softmax(t, dim=dim), [x],
              f"log_softmax(x, dim={dim}) for x of shape {x.shape}", "losses.log_softmax",
              hint="log_softmax(x) = x - log(sum(exp(x))): the second term depends on every "
                   "x of the slice along dim")


# ---------------------------------------------------------------- losses

@st.composite
def same_shape_pair(draw, lo=-3, hi=3, tlo=-3, thi=3):
    shape = draw(checks.shapes(max_side=3))
    return (draw(checks.arrays(shape, dtype=F64, lo=lo, hi=hi)),
            draw(checks.arrays(shape, dtype=F64, lo=tlo, hi=thi)))


MSE_HINT = ("the loss is a MEAN over every element: each prediction's gradient is divided by "
            "the number of elements (all of them, not the batch size), and dt = -dp")


@given(case=same_shape_pair(), targets_as=st.sampled_from(["Tensor", "ndarray", "leaf"]))
@example(case=(np.arange(6.0).reshape(3, 2) / 3, np.ones((3, 2))), targets_as="Tensor")
@example(case=(np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0, 0.5])), targets_as="leaf")
def test_mse_gradient(case, targets_as):
    p, t = case
    what = (f"MSELoss()(predictions, targets) with predictions of shape {p.shape} "
            f"(targets as {targets_as})")
    if targets_as == "leaf":  # targets that require grad get dt = -dp
        gradcheck(lambda x, y: MSELoss()(x, y), [p, t], what + ": both gradients",
                  "MSELoss.forward", hint=MSE_HINT)
        return
    tt = Tensor(t) if targets_as == "Tensor" else t
    gradcheck(lambda x: MSELoss()(x, tt), [p], what, "MSELoss.forward", hint=MSE_HINT)


@st.composite
def logits_and_labels(draw):
    n, c = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    z = draw(checks.arrays((n, c), dtype=F64, lo=-5, hi=5))
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    return z, labels


@given(case=logits_and_labels(), targets_as=st.sampled_from(["ndarray", "Tensor"]))
@example(case=(np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([0, 2])),
         targets_as="ndarray")
def test_cross_entropy_gradient_wrt_logits(case, targets_as):
    z, labels = case
    targets = Tensor(labels) if targets_as == "Tensor" else labels
    gradcheck(lambda x: CrossEntropyLoss()(x, targets), [z],
              f"CrossEntropyLoss()(logits, targets) with logits of shape {z.shape} "
              f"(targets as {targets_as})", "CrossEntropyLoss.forward",
              hint="the loss is a mean over the batch; each row's logits affect its loss "
                   "through log_softmax (every logit of the row, not only the target's)")


@given(case=same_shape_pair(lo=0.05, hi=0.95, tlo=0, thi=1))
@example(case=(np.array([0.2, 0.9, 0.5]), np.array([0.0, 1.0, 1.0])))
def test_bce_gradient_wrt_probabilities(case):
    p, t = case
    gradcheck(lambda x: BinaryCrossEntropyLoss()(x, Tensor(t)), [p],
              f"BinaryCrossEntropyLoss()(predictions, targets) with predictions of shape "
              f"{p.shape}", "BinaryCrossEntropyLoss.forward",
              hint="differentiate -(t log p + (1 - t) log(1 - p)) with respect to p, then "
                   "divide by the number of elements (the loss is a mean)")


CLIP = 1e-7  # kata 04 clips p to [CLIP, 1 - CLIP]
CLIP_HINT = ("BCE clips p to [1e-7, 1 - 1e-7]: strictly outside that range the clipped loss "
             "does not change with p (gradient 0); at the bounds themselves p is kept as it "
             "is, so (p - t) / (p (1 - p)) / n applies")


def test_bce_gradient_at_and_beyond_the_clip_bounds():
    p = np.array([0.0, 1e-9, CLIP, 0.3, 1 - CLIP, 1 - 1e-9, 1.0])
    t = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    (x,) = leaves([p])
    out = BinaryCrossEntropyLoss()(x, Tensor(t))
    what = ("BinaryCrossEntropyLoss()(p, t) with p = [0, 1e-9, 1e-7 (the bound), 0.3, "
            "1 - 1e-7 (the bound), 1 - 1e-9, 1]")
    recorded(out, what, "BinaryCrossEntropyLoss.forward")
    call_backward(out, what, {"t": t}, hint=CLIP_HINT)
    pc = np.clip(p, CLIP, 1 - CLIP)
    formula = (pc - t) / (pc * (1 - pc)) / p.size
    inside = (p >= CLIP) & (p <= 1 - CLIP)
    strictly = (p > CLIP) & (p < 1 - CLIP)
    checks.check_array(leaf_grad(x, what, "p", {"t": t}), np.where(inside, formula, 0.0),
                       f"the gradient of p in {what}", inputs={"t": t}, rtol=1e-7,
                       atol=1e-9,
                       wrong=[(formula, "the gradient must be 0 where p was clipped (p < 1e-7 "
                                        "or p > 1 - 1e-7): there the loss does not change with p"),
                              (np.where(strictly, formula, 0.0),
                               "at exactly p = 1e-7 and p = 1 - 1e-7, p is not clipped (np.clip "
                               "keeps it): the formula applies at the bounds, 0 only strictly "
                               "outside")],
                       nan_hint="outside the clip range the gradient is 0; compute the formula "
                                "with the clipped p (it is never 0 or 1) and zero it there",
                       hint=CLIP_HINT)


@pytest.mark.parametrize("loss", ["CrossEntropyLoss", "BinaryCrossEntropyLoss"])
def test_targets_get_no_gradient(loss):
    if loss == "CrossEntropyLoss":
        (pred,) = leaves([np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])])
        targets = Tensor(np.array([0.0, 2.0]), requires_grad=True)
        out = CrossEntropyLoss()(pred, targets)
    else:
        (pred,) = leaves([np.array([0.2, 0.9, 0.5])])
        targets = Tensor(np.array([0.0, 1.0, 1.0]), requires_grad=True)
        out = BinaryCrossEntropyLoss()(pred, targets)
    what = f"{loss}()(predictions, targets) with targets that require grad"
    recorded(out, what, f"{loss}.forward")
    call_backward(out, what, {"targets": targets.data})
    if pred.grad is None:
        checks.fail(f"{what}: the predictions received no gradient.",
                    hint="the loss's Function returns the predictions' gradient first")
    if targets.grad is not None:
        checks.fail(f"{what}: the targets must get no gradient (.grad stays None).",
                    f"targets.grad = {checks.fmt(targets.grad)}",
                    hint="the loss's backward returns None for the targets (not zeros): an "
                         "input whose gradient is None is skipped")


# ---------------------------------------------------------------- layers, end to end

@st.composite
def linear_case(draw):
    n, fin, fout = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x = draw(checks.arrays((n, fin), dtype=F64, lo=-2, hi=2))
    w = draw(checks.arrays((fin, fout), dtype=F64, lo=-1, hi=1))
    b = draw(checks.arrays((fout,), dtype=F64, lo=-1, hi=1))
    y = draw(checks.arrays((n, fout), dtype=F64, lo=-2, hi=2))
    return x, w, b, y


@given(case=linear_case())
@example(case=(np.arange(6.0).reshape(3, 2) / 4, np.array([[0.5, -0.5], [1.0, 0.25]]),
               np.array([0.1, -0.2]), np.zeros((3, 2))))
def test_linear_layer_and_mse_end_to_end(case):
    x, w, b, y = case
    n = x.shape[0]
    layer = Linear(*w.shape)
    layer.weight = Tensor(w.copy(), requires_grad=True)
    layer.bias = Tensor(b.copy(), requires_grad=True)
    xt = Tensor(x.copy(), requires_grad=True)
    loss_fn = MSELoss()

    def loss():
        return loss_fn(layer(xt), Tensor(y))

    out = loss()
    what = f"MSELoss()(Linear({w.shape[0]}, {w.shape[1]})(x), y) with a batch of {n}"
    recorded(out, what, "the Tensor ops inside Linear.forward and MSELoss.forward")
    inputs = {"x": x, "weight": w, "bias": b, "y": y}
    call_backward(out, what, inputs, hint="a loss has shape (): backward() needs no argument")
    bias_hint = ("the bias is added to every example of the batch, so its gradient is the "
                 "upstream gradient SUMMED over the batch axis")
    for name, param in (("weight", layer.weight), ("bias", layer.bias), ("x", xt)):
        expected = numeric_grad(loss, param)
        if param.grad is None:
            checks.fail(f"{what}: the {name} received no gradient.", inputs=inputs,
                        hint="every Tensor op of Linear.forward and the loss must be recorded")
        wrong = []
        if name == "bias":
            pred = x @ w + b
            per_example = 2 * (pred - y) / pred.size  # dLoss/d(output), one row per example
            wrong = [(expected / n, "the bias gradient was AVERAGED over the batch: " + bias_hint),
                     (per_example, "the bias gradient still has the batch axis: " + bias_hint),
                     (per_example[0], "the bias gradient holds only the first example: "
                                      + bias_hint)]
        checks.check_array(np.asarray(param.grad), expected,
                           f"the gradient of the {name} in {what} (finite differences)",
                           inputs=inputs, rtol=1e-5, atol=1e-7, wrong=wrong,
                           hint=bias_hint if name == "bias" else
                           "the weight's gradient comes from the matmul rule (shapes: (in, out))")


@given(seed=st.integers(0, 2**16), n=st.integers(1, 4), c=st.integers(2, 4))
def test_sequential_network_and_cross_entropy_end_to_end(seed, n, c):
    rng = np.random.default_rng(seed)
    np.random.seed(seed)
    model = Sequential(Linear(3, 4), Tanh(), Linear(4, c))
    for layer in (model.layers[0], model.layers[2]):
        layer.weight = Tensor(rng.uniform(-1, 1, layer.weight.shape), requires_grad=True)
        layer.bias = Tensor(rng.uniform(-1, 1, layer.bias.shape), requires_grad=True)
    x = Tensor(rng.uniform(-2, 2, (n, 3)))
    labels = rng.integers(0, c, n)
    loss_fn = CrossEntropyLoss()

    def loss():
        return loss_fn(model(x), labels)

    out = loss()
    what = f"CrossEntropyLoss()(Sequential(Linear(3, 4), Tanh(), Linear(4, {c}))(x), labels)"
    recorded(out, what, "every op of the network and the loss")
    call_backward(out, what, {"x": x})
    for i, p in enumerate(model.parameters()):
        expected = numeric_grad(loss, p)
        if p.grad is None:
            checks.fail(f"{what}: parameter {i} (shape {p.shape}) received no gradient.",
                        hint="the gradient must flow back through every layer")
        checks.check_array(np.asarray(p.grad), expected,
                           f"the gradient of parameter {i} (shape {p.shape}) in {what} "
                           "(finite differences)", rtol=1e-5, atol=1e-7,
                           hint="check the rules of each op along the path from the loss to "
                                "this parameter")


@given(x=checks.arrays(max_side=3, dtype=F64, lo=1, hi=5, unique=True), seed=st.integers(0, 2**16),
       p=st.sampled_from([0.25, 0.5, 0.8]))
def test_dropout_gradient_follows_the_mask(x, seed, p):
    np.random.seed(seed)
    (t,) = leaves([x])
    layer = Dropout(p)
    out = layer(t)
    recorded(out, f"Dropout({p})(x) in training mode", "Tensor.__mul__ (Dropout uses x * mask)")
    v = np.random.default_rng(seed).standard_normal(x.shape)
    call_backward(out, f"Dropout({p})(x)", {"x": x}, v)
    scale = np.asarray(out.data, dtype=F64) / x  # 0 where dropped, 1/(1-p) where kept
    checks.check_array(np.asarray(t.grad), v * scale,
                       f"the gradient of x in Dropout({p})(x) (training mode)",
                       inputs={"x": x, "upstream gradient": v},
                       hint="a dropped element gets no gradient; a kept one gets the upstream "
                            "gradient times the same 1/(1-p) scale")
