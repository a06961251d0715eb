"""Hidden tests for what every kata-09 layer promises: initialization and attributes, Layer
behaviour, Flatten, dtypes, inputs left unchanged, the documented errors, and a small CNN
whose every gradient matches finite differences."""
from __future__ import annotations

import numpy as np
import pytest
from spatial_kit import F32, F64, check_tensor, grad_of, leaf, raised, run
from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Layer, Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.spatial import AvgPool2d, BatchNorm2d, Conv2d, Flatten, MaxPool2d
from tinytorch.core.tensor import Tensor

from pytest_tinytorch import checks


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def test_flatten_comes_from_your_kata():
    checks.assert_from_kata(Flatten, "09_convolutions")
    run(lambda: Flatten()(Tensor(np.zeros((1, 2), F32))), "Flatten()(x)")


# ---------------------------------------------------------------- Conv2d creation

CONV_FORMS = {
    "Conv2d(3, 2, 3)": ((3, 2, 3), {}, (3, 3), (1, 1), (0, 0), True),
    "Conv2d(2, 4, (2, 3), stride=(1, 2), padding=(0, 1))":
        ((2, 4, (2, 3)), {"stride": (1, 2), "padding": (0, 1)}, (2, 3), (1, 2), (0, 1), True),
    "Conv2d(1, 5, kernel_size=[3, 1], stride=2, padding=1, bias=False)":
        ((1, 5), {"kernel_size": [3, 1], "stride": 2, "padding": 1, "bias": False}, (3, 1), (2, 2), (1, 1), False),
}


@pytest.mark.parametrize("form", list(CONV_FORMS))
def test_conv2d_parameters_and_attributes(form):
    args, kwargs, k, s, p, bias = CONV_FORMS[form]
    conv = run(lambda: Conv2d(*args, **kwargs), form)
    c, o = args[0], args[1]
    if not isinstance(conv, Layer) or conv.training is not True:
        checks.fail(f"{form} must be a Layer (kata 03) in training mode.",
                    f"isinstance Layer: {isinstance(conv, Layer)}, training={getattr(conv, 'training', None)!r}",
                    hint="class Conv2d(Layer), calling super().__init__() first")
    for name, value in (("in_channels", c), ("out_channels", o), ("kernel_size", k), ("stride", s),
                        ("padding", p)):
        got = getattr(conv, name, None)
        if got != value or type(got) is not type(value) or (
                isinstance(value, tuple) and any(type(v) is not int for v in got)):
            checks.fail(f"{form}.{name} must be {value!r}.", f"got {got!r}",
                        hint="store kernel_size, stride and padding as (height, width) tuples of ints, "
                             "an int n as (n, n), a list as a tuple")
    w = getattr(conv, "weight", None)
    if not isinstance(w, Tensor):
        checks.fail(f"{form}.weight must be a Tensor.", f"got {type(w).__name__}")
    checks.check_shape(w, (o, c, *k), f"{form}.weight",
                       hint="weight has the layout (out_channels, in_channels, kh, kw)")
    if w.data.dtype != F32 or w.requires_grad is not True:
        checks.fail(f"{form}.weight must be float32 with requires_grad=True.",
                    f"got {w.data.dtype}, requires_grad={w.requires_grad!r}",
                    hint="np.random returns float64: cast to float32 before wrapping")
    params = run(conv.parameters, f"{form}.parameters()")
    if bias:
        checks.check_array(conv.bias, np.zeros(o), f"{form}.bias", type_=Tensor, dtype=F32,
                           hint="the bias starts at zero")
        if conv.bias.requires_grad is not True:
            checks.fail(f"{form}.bias must have requires_grad=True.", f"got {conv.bias.requires_grad!r}")
        expected = [conv.weight, conv.bias]
    else:
        if conv.bias is not None:
            checks.fail(f"{form}.bias must be None.", f"got {checks.fmt(conv.bias)}")
        expected = [conv.weight]
    if len(params) != len(expected) or any(a is not b for a, b in zip(params, expected)):
        checks.fail(f"{form}.parameters() must be {'[weight, bias]' if bias else '[weight]'}.",
                    f"got {len(params)} tensors",
                    hint="class Conv2d(Layer): Layer.parameters() finds weight then bias, in the "
                         "order they were assigned")


def test_conv2d_init_is_uniform_within_one_over_sqrt_fan_in():
    conv = run(lambda: Conv2d(4, 16, (3, 2)), "Conv2d(4, 16, (3, 2))")
    w = np.asarray(conv.weight.data, F64)
    k = 1 / np.sqrt(4 * 3 * 2)
    top = float(np.abs(w).max())
    if top > k:
        hint = ("k = 1 / sqrt(in_channels * kh * kw): the fan-in of one output counts every input "
                "channel and every kernel cell")
        if top <= 1 / np.sqrt(4) and top > 1 / np.sqrt(6):
            hint = "k used in_channels alone: " + hint
        checks.fail("Conv2d(4, 16, (3, 2)).weight must lie within [-k, k], k = 1/sqrt(4*3*2) = "
                    f"{k:.4f}.", f"the largest |weight| is {top:.4f}", hint=hint)
    if w.max() < 0.8 * k or w.min() > -0.8 * k or abs(w.mean()) > 0.25 * k:
        checks.fail(f"Conv2d(4, 16, (3, 2)).weight must be spread uniformly over [-{k:.4f}, {k:.4f}].",
                    f"its 384 values range from {w.min():.4f} to {w.max():.4f} (mean {w.mean():.4f})",
                    hint="np.random.uniform(-k, k, size=weight shape), k = 1/sqrt(in_channels*kh*kw)")
    if np.unique(w).size < w.size // 2:
        checks.fail("Conv2d(4, 16, (3, 2)).weight must hold random values, not a few repeated ones.",
                    f"only {np.unique(w).size} distinct values among {w.size}")


def test_conv2d_init_is_reproducible_with_np_random_seed():
    np.random.seed(9)
    a = run(lambda: Conv2d(2, 3, 3), "Conv2d(2, 3, 3)")
    b = run(lambda: Conv2d(2, 3, 3), "a second Conv2d(2, 3, 3)")
    np.random.seed(9)
    c = run(lambda: Conv2d(2, 3, 3), "Conv2d(2, 3, 3) after np.random.seed(9) again")
    if not np.array_equal(a.weight.data, c.weight.data):
        checks.fail("np.random.seed(9) must reproduce Conv2d's initial weights.",
                    "two layers created right after the same seed differ",
                    hint="draw from np.random (the global generator), not from a generator of your own")
    if np.array_equal(a.weight.data, b.weight.data):
        checks.fail("Two Conv2d layers created one after the other must get different weights.",
                    "they are equal", hint="draw new values in every __init__; do not reseed there")


# ---------------------------------------------------------------- Layer behaviour

def small_cnn():
    conv, bn, pool = Conv2d(1, 2, 3, padding=1), BatchNorm2d(2), MaxPool2d(2)
    avg, flat, fc = AvgPool2d(1), Flatten(), Linear(8, 3)
    return Sequential(conv, bn, ReLU(), pool, avg, flat, fc), (conv, bn, pool, avg, flat, fc)


def test_layers_work_inside_a_sequential():
    model, (conv, bn, pool, avg, flat, fc) = run(small_cnn, "Sequential(Conv2d(1, 2, 3, padding=1), "
                                                 "BatchNorm2d(2), ReLU(), MaxPool2d(2), AvgPool2d(1), "
                                                 "Flatten(), Linear(8, 3))")
    for layer in (conv, bn, pool, avg, flat):
        if not isinstance(layer, Layer) or layer.training is not True:
            checks.fail(f"{type(layer).__name__} must be a Layer (kata 03) that starts in training mode.",
                        f"isinstance Layer: {isinstance(layer, Layer)}, training="
                        f"{getattr(layer, 'training', None)!r}",
                        hint="subclass Layer and call super().__init__() first")
    params = model.parameters()
    expected = [conv.weight, conv.bias, bn.gamma, bn.beta, fc.weight, fc.bias]
    if len(params) != len(expected) or any(a is not b for a, b in zip(params, expected)):
        checks.fail("model.parameters() must list conv.weight, conv.bias, bn.gamma, bn.beta, "
                    "fc.weight, fc.bias: the pools and Flatten have none.", f"got {len(params)} tensors",
                    hint="the pools and Flatten own no Tensors that require grad; the running "
                         "statistics are plain arrays")
    x = Tensor(np.random.default_rng(0).standard_normal((2, 1, 4, 4)).astype(F32))
    out = run(lambda: model(x), "the small CNN on x of shape (2, 1, 4, 4)")
    check_tensor(out, "the small CNN")
    checks.check_shape(out, (2, 3), "the small CNN's output on (2, 1, 4, 4)",
                       hint="Conv2d keeps 4x4 (padding 1), MaxPool2d(2) halves it, Flatten gives 2*2*2 = 8")
    model.eval()
    if any(layer.training for layer in (conv, bn, pool, avg, flat)):
        checks.fail("model.eval() must put every kata-09 layer in eval mode.",
                    f"training flags: {[layer.training for layer in (conv, bn, pool, avg, flat)]}",
                    hint="subclass Layer: its train()/eval() reach every sub-layer")
    run(lambda: model(x), "the small CNN in eval mode")
    model.train()
    if not bn.training:
        checks.fail("model.train() must put BatchNorm2d back in training mode.", "bn.training is False")


# ---------------------------------------------------------------- Flatten

FLATTEN_SHAPES = [(2, 3, 2, 2), (3, 4), (2, 1, 3), (1, 2, 2, 1, 2)]


@pytest.mark.parametrize("shape", FLATTEN_SHAPES, ids=str)
def test_flatten_joins_every_axis_but_the_first(shape):
    rng = np.random.default_rng(len(shape))
    data = rng.standard_normal(shape)
    x = leaf(data)
    out = run(lambda: Flatten()(x), f"Flatten() on x of shape {shape}")
    expected = data.reshape(shape[0], -1)
    wrong = [(data.reshape(-1), "the batch axis was merged too: keep axis 0, join only the "
              "others, x.reshape(N, -1)")]
    if len(shape) > 2:
        wrong.append((np.moveaxis(data, 1, -1).reshape(shape[0], -1), "the axes were joined in the "
                      "wrong order: row-major, as x.reshape(N, -1) does"))
    checks.check_array(out, expected, f"Flatten() on x of shape {shape}", inputs={"x": data},
                       type_=Tensor, wrong=wrong,
                       shape_hint=(f"Flatten keeps the first axis: ({shape[0]}, "
                                   f"{int(np.prod(shape[1:]))}) for x of shape {shape}"))
    g = rng.standard_normal(expected.shape)
    run(lambda: out.backward(g), f"Flatten() on x of shape {shape}: out.backward(g)")
    got = grad_of(x, f"Flatten() on x of shape {shape}", "x", {"x": data},
                  hint="no gradient reached x: the graph was cut. Reshape the Tensor itself "
                       "(x.reshape(...)), never build a new Tensor from x.data")
    checks.check_array(got, g.reshape(shape), f"Flatten() on x of shape {shape}: the gradient of x",
                       inputs={"x": data, "upstream g": g},
                       hint="the gradient of a reshape is the upstream gradient reshaped back")
    if Flatten().parameters() != []:
        checks.fail("Flatten().parameters() must be [].", f"got {Flatten().parameters()!r}")


# ---------------------------------------------------------------- dtypes, inputs unchanged

LAYERS = {
    "Conv2d(2, 3, 2, padding=1)": lambda: Conv2d(2, 3, 2, padding=1),
    "MaxPool2d(2, stride=1, padding=1)": lambda: MaxPool2d(2, stride=1, padding=1),
    "AvgPool2d(3, stride=2, padding=1)": lambda: AvgPool2d(3, stride=2, padding=1),
    "BatchNorm2d(2)": lambda: BatchNorm2d(2),
    "BatchNorm2d(2) in eval mode": lambda: BatchNorm2d(2).eval(),
    "Flatten()": lambda: Flatten(),
}


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layers_keep_the_input_dtype_and_leave_the_input_unchanged(name, dtype):
    layer = run(LAYERS[name], name)
    data = np.random.default_rng(1).standard_normal((2, 2, 4, 3)).astype(dtype)
    x = Tensor(data.copy())
    out = run(lambda: layer(x), f"{name} on a {np.dtype(dtype).name} input of shape (2, 2, 4, 3)")
    check_tensor(out, name)
    if out.data.dtype != dtype:
        checks.fail(f"{name} on a {np.dtype(dtype).name} input must give a {np.dtype(dtype).name} output.",
                    f"got {out.data.dtype}", hint=checks.dtype_diagnosis(out.data.dtype, np.dtype(dtype)))
    if not np.array_equal(x.data, data) or x.data.dtype != data.dtype:
        checks.fail(f"{name} must not modify its input.", f"x.data changed to {checks.fmt(x.data)}",
                    inputs={"x before": data},
                    hint="compute into new arrays (x.data - mean, not x.data -= mean)")


# ---------------------------------------------------------------- errors

def _bn_training_on_single_values():
    BatchNorm2d(2)(Tensor(np.ones((1, 2, 1, 1), F32)))


SHAPE = "check that x is 4-D (N, C, H, W) and name its shape in the message"
CHANNELS = "compare x's channel count with the layer's and name both counts in the message"
FITS = ("when H + 2*ph < kh (or W + 2*pw < kw) there is no window at all: raise ValueError "
        "instead of returning an empty output")
POOL_PADDING = "pool padding may be at most half the kernel (ph <= kh // 2, pw <= kw // 2): check it in __init__"
ERRORS = {
    "Conv2d(2, 3, 3) on a 3-D input of shape (2, 5, 5)":
        (lambda: Conv2d(2, 3, 3)(Tensor(np.zeros((2, 5, 5), F32))), ["(2, 5, 5)"], SHAPE),
    "MaxPool2d(2) on a 3-D input of shape (3, 4, 4)":
        (lambda: MaxPool2d(2)(Tensor(np.zeros((3, 4, 4), F32))), ["(3, 4, 4)"], SHAPE),
    "AvgPool2d(2) on a 5-D input of shape (1, 1, 1, 4, 4)":
        (lambda: AvgPool2d(2)(Tensor(np.zeros((1, 1, 1, 4, 4), F32))), ["(1, 1, 1, 4, 4)"], SHAPE),
    "BatchNorm2d(4) on a 2-D input of shape (8, 4)":
        (lambda: BatchNorm2d(4)(Tensor(np.zeros((8, 4), F32))), ["(8, 4)"], SHAPE),
    "Conv2d(5, 2, 3) on 7 channels":
        (lambda: Conv2d(5, 2, 3)(Tensor(np.zeros((1, 7, 4, 4), F32))), ["5", "7"], CHANNELS),
    "BatchNorm2d(5) on 6 channels":
        (lambda: BatchNorm2d(5)(Tensor(np.zeros((2, 6, 3, 3), F32))), ["5", "6"], CHANNELS),
    "Conv2d(1, 1, (4, 2)) on a 3x3 input":
        (lambda: Conv2d(1, 1, (4, 2))(Tensor(np.zeros((1, 1, 3, 3), F32))), [], FITS),
    "Conv2d(1, 1, 5, padding=1) on a 2x2 input":
        (lambda: Conv2d(1, 1, 5, padding=1)(Tensor(np.zeros((1, 1, 2, 2), F32))), [], FITS),
    "MaxPool2d(3) on a 2x4 input": (lambda: MaxPool2d(3)(Tensor(np.zeros((1, 1, 2, 4), F32))), [], FITS),
    "AvgPool2d((2, 4), padding=(0, 1)) on a 3x1 input":
        (lambda: AvgPool2d((2, 4), padding=(0, 1))(Tensor(np.zeros((1, 1, 3, 1), F32))), [], FITS),
    "MaxPool2d(2, padding=2)": (lambda: MaxPool2d(2, padding=2), [], POOL_PADDING),
    "MaxPool2d(3, padding=2)": (lambda: MaxPool2d(3, padding=2), [], POOL_PADDING),
    "AvgPool2d((3, 2), padding=(1, 2))": (lambda: AvgPool2d((3, 2), padding=(1, 2)), [], POOL_PADDING),
    "BatchNorm2d(2) in training mode on (1, 2, 1, 1), one value per channel":
        (_bn_training_on_single_values, [],
         "in training mode n = N*H*W must be at least 2: the unbiased variance divides by n - 1"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_invalid_uses_raise_value_error(case):
    fn, words, hint = ERRORS[case]
    error = raised(fn)
    if not isinstance(error, ValueError):
        checks.fail(f"{case} must raise ValueError.",
                    "nothing was raised" if error is None else f"it raised {type(error).__name__}: {error}",
                    hint=hint)
    missing = [w for w in words if w not in str(error)]
    if missing:
        checks.fail(f"{case}: the ValueError's message must contain {' and '.join(map(repr, words))}.",
                    f"got {str(error)!r}", hint=hint)


VALID = {
    "MaxPool2d(3, padding=1) on a 1x1 input": lambda: MaxPool2d(3, padding=1)(Tensor(np.zeros((1, 1, 1, 1), F32))),
    "AvgPool2d((3, 2), padding=(1, 1)) on a 1x1 input":
        lambda: AvgPool2d((3, 2), padding=(1, 1))(Tensor(np.zeros((1, 1, 1, 1), F32))),
    "Conv2d(1, 1, 3, padding=1) on a 1x1 input": lambda: Conv2d(1, 1, 3, padding=1)(Tensor(np.zeros((1, 1, 1, 1), F32))),
    "BatchNorm2d(2) in eval mode on (1, 2, 1, 1)": lambda: BatchNorm2d(2).eval()(Tensor(np.ones((1, 2, 1, 1), F32))),
    "BatchNorm2d(2) in training mode on (2, 2, 1, 1)": lambda: BatchNorm2d(2)(Tensor(np.ones((2, 2, 1, 1), F32))),
}


@pytest.mark.parametrize("case", list(VALID))
def test_valid_edge_uses_do_not_raise(case):
    out = run(VALID[case], case, hint="a kernel that fits the padded input, pool padding up to half "
              "the kernel, and one sample in eval mode are all valid")
    check_tensor(out, case)


# ---------------------------------------------------------------- a whole small CNN

def test_a_small_cnn_gets_every_gradient_right():
    """Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d -> Flatten -> Linear -> cross-entropy, float64:
    the gradient of every parameter along a random direction matches finite differences."""
    np.random.seed(98)
    model = Sequential(Conv2d(2, 3, (2, 3), padding=(1, 0)), BatchNorm2d(3), ReLU(),
                       MaxPool2d(2, stride=1), Flatten(), Linear(3 * 3 * 1, 4))
    rng = np.random.default_rng(98)
    x = Tensor(rng.standard_normal((3, 2, 3, 4)))
    y = Tensor(np.array([0, 3, 1]))
    params = run(model.parameters, "model.parameters()")
    for p in params:
        p.data = p.data.astype(F64) + 0.1 * rng.standard_normal(p.shape)
    loss_fn = CrossEntropyLoss()
    loss = run(lambda: loss_fn(model(x), y), "the small CNN's loss")
    run(loss.backward, "the small CNN's loss.backward()")
    names = ["conv.weight", "conv.bias", "bn.gamma", "bn.beta", "fc.weight", "fc.bias"]
    grads = [grad_of(p, "the small CNN", n) for p, n in zip(params, names)]
    directions = [rng.standard_normal(p.shape) for p in params]
    base = [p.data.copy() for p in params]
    eps = 1e-6
    for i, (p, g, u, name) in enumerate(zip(params, grads, directions, names)):
        def loss_at(sign):
            p.data = base[i] + sign * eps * u
            return float(loss_fn(model(x), y).data)
        numeric = (loss_at(1) - loss_at(-1)) / (2 * eps)
        p.data = base[i]
        analytic = float(np.sum(g * u))
        if not np.isclose(analytic, numeric, rtol=1e-4, atol=1e-7):
            checks.fail(f"Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d -> Flatten -> Linear -> "
                        f"cross-entropy: the gradient of {name} disagrees with finite differences.",
                        f"along a random direction: backward gives {analytic:.6g}, finite differences "
                        f"give {numeric:.6g}",
                        hint="each layer's backward must pass the right gradient on to its input, "
                             "not only to its own parameters")
