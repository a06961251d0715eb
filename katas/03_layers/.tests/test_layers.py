"""Hidden tests for kata 03 (layers): Linear, Dropout, Sequential and the Layer base."""
from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from pytest_tinytorch.checks import arrays
from tinytorch.core.activations import ReLU, Tanh
from tinytorch.core.layers import Dropout, Layer, Linear, Sequential
from tinytorch.core.tensor import Tensor

from layers_kit import (AUTOGRAD_HINT, build, call, check_params, check_unchanged, involves, raised,
                        set_bias, spy)

F32, F64 = np.float32, np.float64
SKIP_HINT = ("only Tensors (with requires_grad=True) and Layers count: skip every other "
             "attribute (numbers such as in_features, None, activations)")
LINEAR_DTYPE = ("the output dtype is what NumPy gives for x @ W + b (kata 01's rules): float32 "
                "for a float32 x, float64 for a float64 x (the float32 weights are promoted); "
                "do not cast x or the result")


@st.composite
def linear_cases(draw, min_lead=1, max_lead=2):
    """(x, out_features, bias values): x of shape (*lead, in_features), float32 or float64."""
    in_f = draw(st.integers(1, 5))
    out_f = draw(st.integers(1, 5))
    lead = tuple(draw(st.lists(st.integers(1, 4), min_size=min_lead, max_size=max_lead)))
    dtype = draw(st.sampled_from([F32, F64]))
    x = draw(arrays(shape=lead + (in_f,), dtype=dtype, lo=-5, hi=5))
    b = draw(arrays(shape=(out_f,), lo=-5, hi=5))
    return x, out_f, b


_X23 = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]], dtype=np.float32)
_X3D = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 4 - 2
_B4 = np.array([1.0, -2.0, 3.0, 0.5], dtype=np.float32)
_B3 = np.array([0.5, -1.5, 2.0], dtype=np.float32)


# ---------------------------------------------------------------- provenance

def test_layers_come_from_kata_folder():
    model = Sequential(Linear(2, 3), ReLU(), Dropout(0.5))
    call(model, Tensor(np.ones((1, 2), np.float32)), "Sequential(Linear(2, 3), ReLU(), Dropout(0.5))")
    for cls in (Layer, Linear, Dropout, Sequential, type(model)):
        checks.assert_from_kata(cls, "03_layers")


# ---------------------------------------------------------------- Linear: parameters

@given(in_f=st.integers(1, 6), out_f=st.integers(1, 6))
@example(in_f=2, out_f=3)
@example(in_f=4, out_f=1)
def test_linear_parameter_shapes_and_dtypes(in_f, out_f):
    layer = Linear(in_f, out_f)
    inputs = {"in_features": in_f, "out_features": out_f}
    for name, t, shape in (("weight", layer.weight, (in_f, out_f)),
                           ("bias", layer.bias, (out_f,))):
        if not isinstance(t, Tensor):
            checks.fail(f"Linear.{name} must be a Tensor.", f"got {type(t).__name__}",
                        inputs=inputs)
        checks.check_shape(t, shape, f"Linear({in_f}, {out_f}).{name}", inputs=inputs,
                           hint="weight is stored as (in_features, out_features) so that "
                                "forward is x @ W with no transpose (PyTorch stores "
                                "(out_features, in_features)); bias has one value per output")
        if t.data.dtype != np.float32:
            checks.fail(f"Linear.{name} must be float32.", f"got {t.data.dtype}", inputs=inputs,
                        hint="cast the drawn values: np.random gives float64")
        if t.requires_grad is not True:
            checks.fail(f"Linear.{name} must have requires_grad=True.",
                        f"got requires_grad={t.requires_grad!r}", inputs=inputs,
                        hint="parameters are the Tensors an optimizer updates: create them "
                             "with requires_grad=True")
    for name, want in (("in_features", in_f), ("out_features", out_f)):
        got = getattr(layer, name, None)
        if type(got) is not int or got != want:
            checks.fail(f"Linear({in_f}, {out_f}).{name} must be the int {want}.", f"got {got!r}",
                        inputs=inputs, hint="store the sizes given: self.in_features = in_features, "
                                            "self.out_features = out_features")


@settings(max_examples=8)
@given(in_f=st.integers(1, 6), out_f=st.integers(1, 6))
def test_linear_bias_starts_at_zero(in_f, out_f):
    layer = Linear(in_f, out_f)
    checks.check_array(layer.bias, np.zeros(out_f, np.float32),
                       f"Linear({in_f}, {out_f}).bias at initialisation", type_=Tensor,
                       dtype=np.float32, hint="the bias starts at zero")


@settings(max_examples=8)
@given(in_f=st.integers(1, 6), out_f=st.integers(1, 6))
def test_linear_parameters_lists_weight_then_bias(in_f, out_f):
    layer = Linear(in_f, out_f)
    named = {id(layer.weight): "weight", id(layer.bias): "bias"}
    check_params(build(layer.parameters, f"Linear({in_f}, {out_f}).parameters()", hint=SKIP_HINT),
                  [layer.weight, layer.bias], named,
                  f"Linear({in_f}, {out_f}).parameters()",
                  hint="parameters() returns [weight, bias]: the Tensors themselves (not "
                       "copies), weight first; did you give them requires_grad=True?")
    without = Linear(in_f, out_f, bias=False)
    named = {id(without.weight): "weight"}
    check_params(without.parameters(), [without.weight], named,
                  f"Linear({in_f}, {out_f}, bias=False).parameters()",
                  hint="without a bias, parameters() is just [weight]")


# ---------------------------------------------------------------- Linear: initialisation

@given(in_f=st.integers(1, 16), out_f=st.integers(1, 16))
@example(in_f=1, out_f=8)
@example(in_f=16, out_f=16)
def test_linear_init_within_bound(in_f, out_f):
    w = Linear(in_f, out_f).weight.data
    k = 1.0 / np.sqrt(in_f)
    if np.any(np.abs(w) > k * (1 + 1e-6)):
        worst = float(np.max(np.abs(w)))
        checks.fail(f"Linear({in_f}, {out_f}).weight has values outside [-k, k], "
                    f"k = 1/sqrt(in_features) = {k:.4g}.",
                    f"largest |w| = {worst:.4g}",
                    hint="draw uniformly in [-k, k] (not from a normal distribution, "
                         "which has no bound)")


@settings(max_examples=8)
@given(in_f=st.integers(2, 8), out_f=st.integers(2, 8))
@example(in_f=2, out_f=2)
def test_linear_init_not_constant(in_f, out_f):
    w = Linear(in_f, out_f).weight.data
    if np.all(w == w.flat[0]):
        checks.fail(f"Linear({in_f}, {out_f}).weight is constant.",
                    f"every weight equals {float(w.flat[0])!r}",
                    hint="units that start identical get identical gradients and stay "
                         "identical (the symmetry problem): draw random weights")


def test_linear_init_spread():
    """A large layer uses the whole interval [-k, k] evenly (uniform distribution)."""
    for seed in (0, 1):
        np.random.seed(seed)
        w = np.asarray(Linear(64, 64).weight.data, dtype=np.float64)
        k = 1.0 / 8.0
        stats = (f"in_features = 64, k = 1/sqrt(64) = {k}\nmin {w.min():.4g}, max {w.max():.4g}, "
                 f"mean {w.mean():.4g}, std {w.std():.4g} (a uniform law on [-k, k] has "
                 f"std k/sqrt(3) = {k / np.sqrt(3):.4g})")
        if np.any(np.abs(w) > k * (1 + 1e-6)):
            checks.fail("Linear(64, 64).weight has values outside [-k, k].", stats,
                        hint="draw uniformly in [-k, k] with k = 1/sqrt(in_features)")
        if w.min() > -0.9 * k or w.max() < 0.9 * k or abs(w.std() - k / np.sqrt(3)) > 0.1 * k:
            checks.fail("Linear(64, 64).weight does not spread uniformly over [-k, k].", stats,
                        hint="draw uniformly over the whole interval [-k, k], negative values "
                             "included, with k = 1/sqrt(in_features)")
        if abs(w.mean()) > 0.05 * k:
            checks.fail("Linear(64, 64).weight is not centred on 0.", stats,
                        hint="draw uniformly in [-k, k], symmetric around 0")


@given(in_f=st.integers(1, 6), out_f=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_linear_init_reproducible_with_np_random_seed(in_f, out_f, seed):
    np.random.seed(seed)
    first = np.array(Linear(in_f, out_f).weight.data)
    following = np.array(Linear(in_f, out_f).weight.data)
    np.random.seed(seed)
    again = np.array(Linear(in_f, out_f).weight.data)
    if first.shape != again.shape or not np.array_equal(first, again):
        checks.fail("np.random.seed(s) must make Linear's initial weights reproducible.",
                    f"after the same seed: first weights {checks.fmt(first)}\n"
                    f"second weights {checks.fmt(again)}",
                    inputs={"seed": seed},
                    hint="draw the weights from np.random (the global generator, which "
                         "np.random.seed resets), not from a generator of your own")
    if np.array_equal(first, following):
        checks.fail("Two Linear layers created one after the other got the same weights.",
                    f"both: {checks.fmt(first)}", inputs={"seed": seed},
                    hint="each layer must draw fresh values from np.random; do not reseed "
                         "or use a fixed-seed generator inside Linear")


# ---------------------------------------------------------------- Linear: forward

@given(case=linear_cases())
@example(case=(_X23, 4, _B4))
@example(case=(_X3D, 3, _B3))
@example(case=(_X23[:, :2].copy(), 2, _B4[:2].copy()))
@example(case=(_X23.astype(F64), 4, _B4))
def test_linear_forward_matches_numpy(case):
    x, out_f, b = case
    in_f = x.shape[-1]
    original = x.copy()
    layer = Linear(in_f, out_f)
    checks.check_shape(layer.weight, (in_f, out_f), f"Linear({in_f}, {out_f}).weight",
                       hint="weight is stored as (in_features, out_features) so that "
                            "forward is x @ W with no transpose")
    set_bias(layer, b)
    w = np.array(layer.weight.data)
    inputs = {"x": x, "weight": w, "bias": b}
    xt = Tensor(x)
    got = call(layer, xt, f"Linear({in_f}, {out_f}) on x of shape {x.shape}",
                inputs=inputs,
                hint="Linear must accept x of any shape (..., in_features): matmul handles the "
                     "leading dimensions, do not assume a 2-D input")
    xw = np.matmul(x, w)
    expected = xw + b
    wrong = [(xw, "the bias is missing: the output equals x @ W without + b"),
             (expected.reshape(-1, out_f), "the output was flattened to 2-D: keep all the "
              "leading dimensions of x, (..., in_features) -> (..., out_features)")]
    if in_f == out_f:
        wrong.append((np.matmul(x, w.T) + b, "you multiplied by the transposed weight: "
                      "weight is (in_features, out_features), so x @ W needs no transpose"))
    checks.check_array(got, expected, f"Linear({in_f}, {out_f})(x) = x @ W + b for a {x.dtype} x",
                       inputs=inputs, type_=Tensor, dtype=x.dtype, rtol=1e-5, atol=1e-4,
                       wrong=wrong, dtype_hint=LINEAR_DTYPE,
                       hint="the output is x @ weight + bias, with shape (..., out_features); "
                            "Linear must work on inputs with any number of leading "
                            "dimensions, do not assume a 2-D input")
    check_unchanged(np.asarray(xt.data), original, f"Linear({in_f}, {out_f})", inputs)


@given(case=linear_cases())
@example(case=(_X3D, 3, _B3))
def test_linear_without_bias(case):
    x, out_f, _ = case
    in_f = x.shape[-1]
    layer = Linear(in_f, out_f, bias=False)
    if layer.bias is not None:
        checks.fail(f"Linear({in_f}, {out_f}, bias=False).bias must be None.",
                    f"got {checks.fmt(layer.bias)}")
    checks.check_shape(layer.weight, (in_f, out_f), f"Linear({in_f}, {out_f}, bias=False).weight")
    w = np.array(layer.weight.data)
    got = call(layer, Tensor(x), f"Linear({in_f}, {out_f}, bias=False) on x of shape {x.shape}",
                inputs={"x": x, "weight": w},
                hint="with bias=False there is nothing to add: the output is x @ W")
    expected = np.matmul(x, w)
    checks.check_array(got, expected, f"Linear({in_f}, {out_f}, bias=False)(x) = x @ W",
                       inputs={"x": x, "weight": w}, type_=Tensor, dtype=x.dtype, dtype_hint=LINEAR_DTYPE,
                       rtol=1e-5, atol=1e-4,
                       wrong=[(expected.reshape(-1, out_f), "the output was flattened to 2-D: "
                               "keep all the leading dimensions of x")],
                       hint="with bias=False the output is x @ weight, of shape (..., out_features)")


@given(case=linear_cases())
@example(case=(_X23, 4, _B4))
@example(case=(_X3D, 3, _B3))
def test_linear_forward_uses_tensor_ops(case):
    x, out_f, b = case
    in_f = x.shape[-1]
    layer = set_bias(Linear(in_f, out_f), b)
    xt = Tensor(x)
    names = ("__matmul__", "matmul", "__rmatmul__", "__add__", "__radd__", "__mul__",
             "__rmul__", "reshape", "transpose", "__getitem__")
    with spy(Tensor, names) as calls:
        out = call(layer, xt, f"Linear({in_f}, {out_f}) on x of shape {x.shape}",
                    inputs={"x": x})
    inputs = {"x": x}
    if not isinstance(out, Tensor):
        checks.fail("Linear.forward must return a Tensor.", f"got {type(out).__name__}",
                    inputs=inputs, hint=AUTOGRAD_HINT)
    matmuls = ("__matmul__", "matmul", "__rmatmul__")
    if not involves(calls, matmuls, layer.weight):
        checks.fail("Linear.forward must multiply with Tensor operations: a Tensor matmul "
                    "(@) with self.weight itself was never called.",
                    inputs=inputs, hint=AUTOGRAD_HINT)
    if not involves(calls, ("__add__", "__radd__"), layer.bias):
        checks.fail("Linear.forward must add the bias with Tensor operations: a Tensor + "
                    "with self.bias itself was never called.", inputs=inputs, hint=AUTOGRAD_HINT)
    if not involves(calls, names, xt):
        checks.fail("Linear.forward must use the input Tensor x itself in Tensor operations "
                    "(not a new Tensor rebuilt from x.data).", inputs=inputs,
                    hint="otherwise no gradient reaches x, so the layers before this one would "
                         "never learn; " + AUTOGRAD_HINT)


# ---------------------------------------------------------------- Dropout

P_VALUES = st.sampled_from([0.1, 0.2, 0.25, 0.5, 0.6, 0.75, 0.9])


@given(p=st.one_of(st.floats(1.0001, 10.0), st.floats(-10.0, -0.0001)))
@example(p=1.5)
@example(p=-0.1)
@example(p=float(np.nextafter(1.0, 2.0)))
@example(p=-1e-12)
@example(p=float("nan"))
def test_dropout_rejects_invalid_p(p):
    _, err = raised(Dropout, p)
    if isinstance(err, ValueError):
        return
    if err is not None:
        checks.fail(f"Dropout({p}) must raise ValueError.", f"it raised {type(err).__name__}: {err}")
    nan = (" NaN compares False with everything, so `p < 0 or p > 1` lets it through: "
           "test `not 0 <= p <= 1`") if p != p else ""
    checks.fail(f"Dropout({p}) must raise ValueError.", "it was created without an error",
                hint="p is a probability: check 0 <= p <= 1 in __init__." + nan)


def test_dropout_has_no_parameters():
    drop = Dropout(0.5)
    call(drop, Tensor(np.ones(8, F32)), "Dropout(0.5)(x)")
    params = build(drop.parameters, "Dropout(0.5).parameters()")
    if type(params) is not list or params:
        checks.fail("Dropout(0.5).parameters() must be [] (also after a call).", f"got {params!r}",
                    hint="dropout learns nothing: keep the mask out of the attributes, or store it "
                         "without requires_grad")


def test_dropout_accepts_p_0_and_1():
    for p in (0.0, -0.0, 1.0, 0, 1):
        _, err = raised(Dropout, p)
        if err is not None:
            checks.fail(f"Dropout({p!r}) must be accepted: 0 and 1 are valid probabilities.",
                        f"it raised {type(err).__name__}: {err}",
                        hint="the valid range is closed: 0 <= p <= 1 (p = 0 keeps everything, "
                             "p = 1 drops everything)")


@given(x=arrays(), p=P_VALUES)
@example(x=np.array([1.0, -2.0, 3.0], np.float32), p=0.5)
def test_dropout_eval_is_identity(x, p):
    layer = Dropout(p)
    back = layer.eval()
    if back is not layer:
        checks.fail("Dropout.eval() must return the layer itself.", f"got {back!r}",
                    hint="return self, so that `model = model.eval()` and chaining work")
    got = call(layer, Tensor(x), f"Dropout({p}) in eval mode", inputs={"x": x})
    checks.check_array(got, x, f"Dropout({p}) in eval mode must return x unchanged",
                       inputs={"x": x}, type_=Tensor, dtype=x.dtype,
                       hint="in eval mode (training False) dropout does nothing: check "
                            "self.training before dropping anything")


@settings(max_examples=8)
@given(x=arrays(dtype=np.float32) | arrays(dtype=np.float64))
@example(x=np.array([1.0, -2.0, 3.0], np.float32))
def test_dropout_p0_is_identity(x):
    got = call(Dropout(0.0), Tensor(x), "Dropout(0.0) in training mode", inputs={"x": x})
    checks.check_array(got, x, "Dropout(0.0) in training mode must return x unchanged",
                       inputs={"x": x}, type_=Tensor, dtype=x.dtype,
                       hint="with p = 0 nothing is dropped and 1/(1-p) = 1")


@settings(max_examples=8)
@given(x=arrays(dtype=np.float32) | arrays(dtype=np.float64))
@example(x=np.array([1.0, -2.0, 3.0], np.float32))
def test_dropout_p1_gives_zeros(x):
    got = call(Dropout(1.0), Tensor(x), "Dropout(1.0) in training mode", inputs={"x": x},
                hint="with p = 1 everything is dropped; beware of dividing by 1 - p = 0")
    checks.check_array(got, np.zeros_like(x), "Dropout(1.0) in training mode must return zeros",
                       inputs={"x": x}, type_=Tensor, dtype=x.dtype,
                       nan_hint="with p = 1 everything is dropped; beware of dividing by "
                                "1 - p = 0 (0 * inf is NaN)")


@given(x=arrays(dtype=np.float32, lo=0.5, hi=10.0) | arrays(dtype=np.float64, lo=0.5, hi=10.0),
       p=P_VALUES, seed=st.integers(0, 2**32 - 1))
@example(x=np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], np.float32), p=0.5, seed=0)
@example(x=np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], np.float32), p=0.25, seed=1)
@example(x=np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], np.float64), p=0.1, seed=0)
def test_dropout_survivors_are_scaled(x, p, seed):
    original = x.copy()
    np.random.seed(seed)
    xt = Tensor(x)
    got = call(Dropout(p), xt, f"Dropout({p}) in training mode", inputs={"x": x})
    inputs = {"x": x, "p": p}
    check_unchanged(np.asarray(xt.data), original, f"Dropout({p})", inputs)
    checks.check_shape(got, x.shape, f"Dropout({p})(x)", inputs=inputs)
    arr = np.asarray(getattr(got, "data", got))
    kept = arr != 0
    expected = np.where(kept, x / (1 - p), 0).astype(x.dtype)
    checks.check_array(
        got, expected,
        f"Dropout({p}) in training mode: every element is 0 or x / (1 - p)",
        inputs=inputs, type_=Tensor, dtype=x.dtype,
        wrong=[(np.where(kept, x, 0), "the survivors were not rescaled: inverted dropout "
                "divides every kept element by (1 - p) so the expected output equals x"),
               (np.where(kept, x * (1 - p), 0), "the survivors were multiplied by (1 - p); "
                "inverted dropout divides by (1 - p)")] + ([
               (np.where(kept, x * np.float64(scale32), 0), "float64 x, but the survivors were "
                "scaled by 1/(1 - p) rounded to float32: build the mask in x's own dtype")
               for scale32 in {F32(1 / (1 - p)), F32(1) / F32(1 - p)}] if x.dtype == F64 else []),
        hint="keep each element with probability 1 - p and scale the kept ones by 1/(1 - p)",
        dtype_hint="np.random draws float64: make the mask the same dtype as x so float32 "
                   "stays float32")


@given(p=st.sampled_from([0.1, 0.3, 0.5, 0.8]), seed=st.integers(0, 2**32 - 1))
@example(p=0.1, seed=0)
@example(p=0.8, seed=0)
def test_dropout_drops_a_fraction_p(p, seed):
    x = np.ones((100, 100), np.float32)
    np.random.seed(seed)
    layer = Dropout(p)
    got = call(layer, Tensor(x), f"Dropout({p}) on a (100, 100) tensor of ones")
    arr = np.asarray(getattr(got, "data", got))
    frac = float(np.mean(arr == 0))
    if abs(frac - p) > 0.04:
        checks.fail(f"Dropout({p}) in training mode must zero about a fraction p = {p} of "
                    "the elements.",
                    f"on 10000 ones (seed {seed}) it zeroed a fraction {frac:.3f}",
                    hint="each element is dropped with probability p (kept with 1 - p); a new "
                         "layer starts in training mode")
    mean = float(np.mean(arr))
    if abs(mean - 1.0) > 0.1:
        checks.fail(f"Dropout({p}) must keep the mean of its input (inverted dropout).",
                    f"on 10000 ones the output mean is {mean:.3f}, expected about 1",
                    hint="scale the kept elements by 1/(1 - p)")


def test_dropout_draws_a_new_mask_each_call_and_follows_np_random_seed():
    x = Tensor(np.ones(200, np.float32))
    layer = Dropout(0.5)
    np.random.seed(3)
    a = np.array(call(layer, x, "Dropout(0.5) on 200 ones").data)
    b = np.array(call(layer, x, "Dropout(0.5) on 200 ones").data)
    if np.array_equal(a, b):
        checks.fail("Two calls of Dropout(0.5) in training mode dropped the same elements.",
                    hint="each call must draw a new mask from np.random; do not reseed or "
                         "reuse a mask")
    np.random.seed(3)
    again = np.array(call(layer, x, "Dropout(0.5) on 200 ones").data)
    if not np.array_equal(a, again):
        checks.fail("np.random.seed(s) must make Dropout's mask reproducible.",
                    "the same seed gave two different masks",
                    hint="draw the mask from np.random (the global generator), not from a "
                         "generator of your own")


@given(x=arrays(lo=0.5, hi=10.0), p=P_VALUES)
@example(x=np.array([1.0, 2.0, 3.0, 4.0], np.float32), p=0.5)
def test_dropout_forward_uses_tensor_ops(x, p):
    xt = Tensor(x)
    with spy(Tensor, ("__mul__", "__rmul__")) as calls:
        out = call(Dropout(p), xt, f"Dropout({p}) in training mode", inputs={"x": x})
    if not isinstance(out, Tensor):
        checks.fail("Dropout.forward must return a Tensor.", f"got {type(out).__name__}",
                    inputs={"x": x}, hint=AUTOGRAD_HINT)
    if not involves(calls, ("__mul__", "__rmul__"), xt):
        checks.fail(f"Dropout({p}).forward in training mode must multiply the input Tensor x "
                    "itself by the mask with a Tensor operation (x * Tensor(mask)).",
                    "no Tensor * with x as an operand was called", inputs={"x": x},
                    hint=AUTOGRAD_HINT)


# ---------------------------------------------------------------- Sequential

def _nonzero_bias(layer, seed):
    b = np.random.default_rng(seed).uniform(-2, 2, layer.bias.shape).astype(np.float32)
    return set_bias(layer, b)


@given(x=arrays(shape=st.tuples(st.integers(1, 4), st.just(3)), lo=-3, hi=3),
       act=st.sampled_from(["ReLU", "Tanh"]))
@example(x=np.array([[1.0, -2.0, 0.5], [-1.0, 2.0, 3.0]], np.float32), act="ReLU")
def test_sequential_composes_in_order(x, act):
    l1 = _nonzero_bias(Linear(3, 4), 1)
    a = ReLU() if act == "ReLU" else Tanh()
    l2 = _nonzero_bias(Linear(4, 2), 2)
    seq = build(lambda: Sequential(l1, a, l2), f"Sequential(Linear(3, 4), {act}(), Linear(4, 2))",
                hint="activations are layers too: an object with a callable forward")
    layers = getattr(seq, "layers", None)
    if not isinstance(layers, list) or len(layers) != 3 or any(
            g is not e for g, e in zip(layers, (l1, a, l2))):
        checks.fail("Sequential(l1, act, l2).layers must be the list [l1, act, l2].",
                    f"got {layers!r}", hint="store the given layers, in order, as a list")
    inputs = {"x": x}
    got = call(seq, Tensor(x), f"Sequential(Linear(3, 4), {act}(), Linear(4, 2))",
                inputs=inputs)
    h = l1(Tensor(x))
    expected = l2(a(h)).data
    skipped = l2(h).data
    checks.check_array(got, expected, f"Sequential(l1, {act}(), l2)(x) must equal l2({act}()(l1(x)))",
                       inputs=inputs, type_=Tensor, dtype=np.float32, rtol=1e-5, atol=1e-5,
                       wrong=[(skipped, "the activation was skipped: call every item of "
                               "layers, including activations")],
                       hint="apply every layer in the order given, each to the previous output")


def test_sequential_parameters_in_order():
    l1, l2, l3 = Linear(3, 4), Linear(4, 4, bias=False), Linear(4, 2)
    named = {id(l1.weight): "l1.weight", id(l1.bias): "l1.bias", id(l2.weight): "l2.weight",
             id(l3.weight): "l3.weight", id(l3.bias): "l3.bias"}
    seq = Sequential(l1, ReLU(), l2, Dropout(0.5), Tanh(), l3)
    check_params(seq.parameters(), [l1.weight, l1.bias, l2.weight, l3.weight, l3.bias], named,
                  "Sequential(l1, ReLU(), l2, Dropout(0.5), Tanh(), l3).parameters()",
                  hint="concatenate the parameters of the layers in order; activations and "
                       "Dropout have none")


def test_sequential_parameters_of_nested_containers():
    l1, l2, l3 = Linear(2, 3), Linear(3, 3), Linear(3, 1)
    named = {id(t): f"{n}.{a}" for n, l in (("l1", l1), ("l2", l2), ("l3", l3))
             for a, t in (("weight", l.weight), ("bias", l.bias))}
    seq = Sequential(Sequential(l1, ReLU(), Sequential(l2)), l3)
    check_params(seq.parameters(),
                  [l1.weight, l1.bias, l2.weight, l2.bias, l3.weight, l3.bias], named,
                  "Sequential(Sequential(l1, ReLU(), Sequential(l2)), l3).parameters()",
                  hint="a Sequential inside a Sequential is a layer too: ask every sub-layer "
                       "for its parameters() so nested containers are searched all the way down")


def test_sequential_parameters_without_duplicates():
    shared = Linear(3, 3)
    other = Linear(3, 3)
    named = {id(shared.weight): "shared.weight", id(shared.bias): "shared.bias",
             id(other.weight): "other.weight", id(other.bias): "other.bias"}
    seq = Sequential(shared, ReLU(), other, Sequential(shared))
    check_params(seq.parameters(), [shared.weight, shared.bias, other.weight, other.bias],
                  named, "Sequential(shared, ReLU(), other, Sequential(shared)).parameters()",
                  hint="a layer used twice shares its Tensors: each must be listed once "
                       "(deduplicate by identity), or an optimizer would update it twice")


def _ones(n, grad=True):
    return Tensor(np.ones(n, np.float32), requires_grad=grad)


class _Block(Layer):
    """A Layer subclass of every attribute kind, assigned in a deliberate order."""

    def __init__(self):
        super().__init__()
        self.fc = Linear(3, 2)
        self.scale = _ones(2)  # an own Tensor after a sub-layer
        self.constant = _ones(3, grad=False)  # requires_grad False: not a parameter
        self.act = ReLU()
        self.heads = [Linear(2, 2), Linear(2, 1, bias=False)]
        self.gains = (_ones(1), Linear(1, 1))  # a tuple: a Tensor and a Layer
        self.alpha = _ones(1)  # first in alphabetical order, assigned last

    def forward(self, x):
        return self.gains[1](self.heads[1](self.act(self.fc(x) * self.scale)) * self.gains[0])


def test_layer_subclass_parameters_are_found():
    block = _Block()
    fc, h0, h1, g1 = block.fc, block.heads[0], block.heads[1], block.gains[1]
    g0, scale, alpha = block.gains[0], block.scale, block.alpha
    named = {id(scale): "scale", id(block.constant): "constant", id(alpha): "alpha",
             id(fc.weight): "fc.weight", id(fc.bias): "fc.bias",
             id(h0.weight): "heads[0].weight", id(h0.bias): "heads[0].bias",
             id(h1.weight): "heads[1].weight", id(g0): "gains[0]",
             id(g1.weight): "gains[1].weight", id(g1.bias): "gains[1].bias"}
    fc_p, heads_p, g1_p = [fc.weight, fc.bias], [h0.weight, h0.bias, h1.weight], [g1.weight, g1.bias]
    expected = fc_p + [scale] + heads_p + [g0] + g1_p + [alpha]
    wrong = [
        ([scale, g0, alpha] + fc_p + heads_p + g1_p,
         "the own Tensors came first and the sub-layers' parameters after them: walk the "
         "attributes once, in assignment order (fc was assigned before scale)"),
        *[(order, "the attributes were walked in alphabetical order (dir() and sorted() sort "
                  "names); vars(self) keeps the order in which they were assigned")
          for order in ([alpha] + fc_p + [g0] + g1_p + heads_p + [scale],
                        [alpha, fc.bias, fc.weight, g0, g1.bias, g1.weight, h0.bias, h0.weight,
                         h1.weight, scale])],
        (fc_p + [scale] + heads_p + [alpha],
         "the attribute gains is a tuple: tuple attributes count as their items, like lists"),
        (fc_p + [scale, alpha],
         "nothing inside list/tuple attributes was found: heads is a list and gains a tuple, "
         "and their items count like attributes"),
        (fc_p + [scale] + heads_p + g1_p + [alpha],
         "the Tensor gains[0] inside the tuple attribute was skipped: the items of a list or "
         "tuple attribute count like attributes, Tensors with requires_grad=True included"),
    ]
    check_params(block.parameters(), expected, named,
                  "Layer.parameters() of a Layer subclass with attributes fc (Linear), scale "
                  "(Tensor, requires_grad), constant (Tensor, no grad), act (ReLU), heads (list "
                  "of two Linear), gains (tuple of a Tensor and a Linear), alpha (Tensor, "
                  "requires_grad), assigned in that order",
                  hint="Layer.parameters() walks the attributes in assignment order: a Tensor "
                       "with requires_grad=True is listed itself, a Layer adds its parameters(), "
                       "a list or tuple counts as its items; later katas' layers rely on this",
                  wrong=wrong)
    back = block.eval()
    if back is not block or any(l.training for l in (block, fc, h0, h1, g1)):
        checks.fail("Layer.eval() on a Layer subclass must return self and reach every "
                    "sub-layer, also those in list and tuple attributes.",
                    f"training flags: block {block.training}, fc {fc.training}, "
                    f"heads[0] {h0.training}, heads[1] {h1.training}, gains[1] {g1.training}",
                    hint="propagate the mode to every Layer attribute, also inside lists and tuples")


def test_parameters_is_a_new_list_on_every_call():
    layer = Linear(2, 3)
    first, second = layer.parameters(), layer.parameters()
    if first is second:
        checks.fail("Linear(2, 3).parameters() must return a NEW list on every call.",
                    "two calls returned the same list object",
                    hint="walk the attributes on every call: a cached list is shared with every "
                         "caller and misses layers assigned after the first call")

    class Grow(Layer):
        def __init__(self):
            super().__init__()
            self.a = Linear(2, 2)

    grow = Grow()
    grow.parameters()
    grow.b = Linear(2, 2)
    a, b = grow.a, grow.b
    named = {id(a.weight): "a.weight", id(a.bias): "a.bias", id(b.weight): "b.weight",
             id(b.bias): "b.bias"}
    check_params(grow.parameters(), [a.weight, a.bias, b.weight, b.bias], named,
                  "parameters() after assigning a new Linear attribute b",
                  hint="walk the attributes on every call: a list cached at the first call "
                       "misses the layers assigned later")


def test_train_eval_propagate_and_return_self():
    inner_drop = Dropout(0.5)
    inner = Sequential(Linear(2, 2), inner_drop)
    outer_drop = Dropout(0.3)
    seq = Sequential(outer_drop, ReLU(), inner)
    layers = {"seq": seq, "outer Dropout": outer_drop, "inner Sequential": inner,
              "inner Dropout": inner_drop}

    def flags():
        return ", ".join(f"{n}: {l.training}" for n, l in layers.items())

    if not all(l.training is True for l in layers.values()):
        checks.fail("A new layer must start in training mode (training = True).", flags(),
                    hint="set self.training = True in Layer.__init__ and call "
                         "super().__init__() in every subclass")
    back = seq.eval()
    if back is not seq:
        checks.fail("Sequential.eval() must return the layer itself.", f"got {back!r}",
                    hint="return self, so that `model = model.eval()` and chaining work")
    if any(l.training is not False for l in layers.values()):
        checks.fail("seq.eval() must propagate to every sub-layer, nested ones included.",
                    flags(), hint="set training to False here, then call eval() (or train(False)) "
                                  "on every sub-layer; activations have no mode: skip them")
    x = Tensor(np.arange(1, 7, dtype=np.float32).reshape(3, 2))
    first = np.array(call(seq, x, "Sequential in eval mode").data)
    second = np.array(call(seq, x, "Sequential in eval mode").data)
    if not np.array_equal(first, second):
        checks.fail("A Sequential with Dropout inside must be deterministic after eval().",
                    f"two calls gave {checks.fmt(first)} and {checks.fmt(second)}",
                    hint="eval() must reach the Dropout layers, and Dropout must check "
                         "self.training")
    back = seq.train()
    if back is not seq:
        checks.fail("Sequential.train() must return the layer itself.", f"got {back!r}",
                    hint="return self, so that `model = model.train()` and chaining work")
    if any(l.training is not True for l in layers.values()):
        checks.fail("seq.train() must propagate to every sub-layer, nested ones included.",
                    flags(), hint="set training to True here and in every sub-layer")
    lin = Linear(2, 2)
    if lin.eval() is not lin or lin.training is not False or lin.train() is not lin \
            or lin.training is not True:
        checks.fail("Linear.eval() / Linear.train() must set training and return self.",
                    f"after train(): training = {lin.training!r}",
                    hint="train() and eval() live in Layer, so every layer has them")
