"""Hidden tests for quantize_model: every Linear replaced wherever it sits (a Sequential,
nested, attributes, lists, tuples), each calibrated on the inputs its Linear really
receives, dynamic quantization without data, everything else untouched."""
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.activations import ReLU, Tanh
from tinytorch.core.layers import Layer, Linear, Sequential
from tinytorch.core.tensor import Tensor
from tinytorch.perf.quantization import QuantizedLinear, quantize_model

import quantization_kit as kit
from quantization_kit import F32, F64, KATA, integer_forward, make_linear


class ResidualNet(Layer):
    """Linears in attributes, in a list and in a tuple; one activation used twice; a
    residual sum, so no Linear's input is the previous Linear's output alone."""

    def __init__(self, seed):
        super().__init__()
        self.inp, self.mid = make_linear(3, 4, True, seed), make_linear(4, 4, True, seed + 1)
        self.relu, self.width = ReLU(), 4
        self.heads = [make_linear(4, 2, True, seed + 2)]
        self.pair = (make_linear(4, 2, False, seed + 3), Tanh())

    def forward(self, x):
        h = self.relu(self.inp(x))
        h = h + self.relu(self.mid(h))
        return self.heads[0](h) + self.pair[1](self.pair[0](h))

    def linears(self):
        return [self.inp, self.mid, self.heads[0], self.pair[0]]

    def float_inputs(self, x):
        """The input each Linear receives, in the order of linears()."""
        h = np.maximum(x @ self.inp.weight.data + self.inp.bias.data, 0)
        h2 = h + np.maximum(h @ self.mid.weight.data + self.mid.bias.data, 0)
        return [x, h, h2, h2]


def sequential(seed):
    a, b = make_linear(3, 4, True, seed), make_linear(4, 2, True, seed + 1)
    model = Sequential(a, ReLU(), b)
    return model, [a, b], lambda x: [x, np.maximum(x @ a.weight.data + a.bias.data, 0)]


def nested(seed):
    a, b = make_linear(3, 4, True, seed), make_linear(4, 2, False, seed + 1)
    model = Sequential(Sequential(a, Tanh()), ReLU(), b)
    return model, [a, b], lambda x: [x, np.maximum(np.tanh(x @ a.weight.data + a.bias.data), 0)]


def residual(seed):
    model = ResidualNet(seed)
    return model, model.linears(), model.float_inputs


MODELS = {"Sequential(Linear, ReLU, Linear)": sequential,
          "Sequential(Sequential(Linear, Tanh), ReLU, Linear)": nested,
          "a Layer with Linears in attributes, a list and a tuple": residual}


def positions(model):
    """Where each layer sits: (holder, key) -> object, for the known model shapes."""
    if isinstance(model, ResidualNet):
        return {"inp": model.inp, "mid": model.mid, "heads[0]": model.heads[0],
                "pair[0]": model.pair[0], "relu": model.relu, "pair[1]": model.pair[1]}
    found = {}
    for i, item in enumerate(model.layers):
        found[f"layers[{i}]"] = item
        if isinstance(item, Sequential):
            for j, inner in enumerate(item.layers):
                found[f"layers[{i}].layers[{j}]"] = inner
    return found


def run_quantize(model, data, inputs):
    return kit.call(lambda: quantize_model(model, data), "quantize_model(model, calibration_data)", inputs)


def check_replaced(model, linears, before, result, name, inputs):
    """Returned the model; every Linear is now a QuantizedLinear of its own weights; the
    rest is the same objects."""
    if result is not model:
        checks.fail("quantize_model must return the model it quantized (in place).",
                    f"got {type(result).__name__}", inputs=inputs,
                    hint="replace the layers inside model, then `return model`")
    after = positions(model)
    for key, old in before.items():
        new = after[key]
        if any(old is lin for lin in linears):
            if not isinstance(new, QuantizedLinear):
                checks.fail(f"quantize_model must replace every Linear of {name}.",
                            f"{key} is still a {type(new).__name__}", inputs=inputs,
                            hint="walk the attributes as Layer.parameters() does: attributes, items of "
                                 "lists and tuples, and every sub-layer, at any depth")
            lin = next(lin for lin in linears if lin is old)
            if new.q_weight.shape != lin.weight.data.shape or not np.all(
                    kit.codes_ok(new.q_weight, lin.weight.data, new.weight_scale, new.weight_zero_point)):
                checks.fail(f"quantize_model: the QuantizedLinear at {key} must hold the codes of the "
                            f"Linear that was there.", inputs=inputs)
        elif new is not old:
            checks.fail(f"quantize_model must leave every layer but the Linears as it is ({name}).",
                        f"{key} was a {type(old).__name__} and is now a different object "
                        f"({type(new).__name__})", inputs=inputs)


@settings(max_examples=6)
@given(kind=st.sampled_from(sorted(MODELS)), seed=st.integers(0, 2**20))
@example(kind="Sequential(Linear, ReLU, Linear)", seed=0)
@example(kind="Sequential(Sequential(Linear, Tanh), ReLU, Linear)", seed=1)
@example(kind="a Layer with Linears in attributes, a list and a tuple", seed=2)
def test_quantize_model_replaces_every_linear_and_nothing_else(kind, seed):
    """Every Linear, wherever it sits, becomes a QuantizedLinear of its own weights, in
    place; activations and containers stay the same objects; the model is returned and
    still runs."""
    model, linears, _ = MODELS[kind](seed)
    before = positions(model)
    inputs = {"model": kind}
    result = run_quantize(model, None, inputs)
    check_replaced(model, linears, before, result, kind, inputs)
    if isinstance(model, ResidualNet) and model.width != 4:
        checks.fail("quantize_model must leave attributes that are not layers alone.", inputs=inputs)
    x = kit.make_data((2, 3), "mixed", 1.0, seed)
    out = kit.call(lambda: model(Tensor(x)), "the quantized model's forward", inputs)
    checks.check_shape(out, (2, 2), "the quantized model's output", inputs=inputs)


@settings(max_examples=6)
@given(kind=st.sampled_from(sorted(MODELS)), seed=st.integers(0, 2**20), batches=st.integers(1, 3))
@example(kind="Sequential(Linear, ReLU, Linear)", seed=0, batches=2)
@example(kind="a Layer with Linears in attributes, a list and a tuple", seed=3, batches=3)
@example(kind="Sequential(Sequential(Linear, Tanh), ReLU, Linear)", seed=4, batches=2)
def test_quantize_model_calibrates_each_layer_on_what_it_receives(kind, seed, batches):
    """With calibration_data, each QuantizedLinear's input range is the range of the inputs
    its Linear received while the float model ran on every batch."""
    model, linears, float_inputs = MODELS[kind](seed)
    rng = np.random.default_rng(seed)
    data = [kit.make_data((int(rng.integers(1, 4)), 3), "mixed", float(rng.choice([0.5, 3.0])),
                          int(rng.integers(2**31))) for _ in range(batches)]
    seen = [float_inputs(x.astype(F64)) for x in data]  # per batch, per Linear
    before = positions(model)
    inputs = {f"batch{i}": x for i, x in enumerate(data)} | {"model": kind}
    result = run_quantize(model, [Tensor(x) for x in data], inputs)
    check_replaced(model, linears, before, result, kind, inputs)
    after = positions(model)
    keys = [k for k, v in before.items() if any(v is lin for lin in linears)]
    for j, key in enumerate(keys):
        layer = after[key]
        got = (layer.input_scale, layer.input_zero_point)
        if got[0] is None:
            checks.fail("quantize_model(model, calibration_data) must calibrate every QuantizedLinear.",
                        f"{key}: input_scale is None", inputs=inputs,
                        hint="run the float model on each batch, record the inputs each Linear "
                             "receives, then call calibrate() with them")
        every = np.concatenate([s[j].ravel() for s in seen])
        lo_hi = kit.widened(every)
        exp = kit.expected_scale(*lo_hi)
        if not np.isclose(got[0], exp, rtol=1e-5, atol=0):
            wrong = [(kit.expected_scale(*kit.widened(np.concatenate([x.ravel() for x in data]))),
                      "every layer was calibrated with the model's input: calibrate each one with "
                      "the inputs its own Linear receives inside the model"),
                     (kit.expected_scale(*kit.widened(seen[-1][j])),
                      "only the last batch was used: calibrate on the inputs of every batch")]
            hint = next((h for v, h in wrong if np.isclose(got[0], v, rtol=1e-5, atol=0)), "")
            checks.fail(f"quantize_model: the QuantizedLinear at {key} must be calibrated on the inputs "
                        f"its Linear received.", f"input_scale {got[0]!r}, expected {exp!r}",
                        inputs=inputs, hint=hint)
        if got[1] not in kit.zero_points(*lo_hi):
            checks.fail(f"quantize_model: the QuantizedLinear at {key} has the wrong input zero point.",
                        f"got {got[1]!r}, expected {sorted(kit.zero_points(*lo_hi))}", inputs=inputs)


@settings(max_examples=5)
@given(seed=st.integers(0, 2**20))
@example(seed=0)
def test_quantize_model_without_data_quantizes_inputs_dynamically(seed):
    """Without calibration_data no layer is calibrated, and the model's output is the
    chain of dynamic integer layers."""
    model, linears, _ = sequential(seed)
    before = positions(model)
    result = run_quantize(model, None, {"model": "Sequential(Linear, ReLU, Linear)"})
    check_replaced(model, linears, before, result, "Sequential(Linear, ReLU, Linear)", {})
    first, second = model.layers[0], model.layers[2]
    for key, layer in (("layers[0]", first), ("layers[2]", second)):
        if layer.input_scale is not None or layer.input_zero_point is not None:
            checks.fail("quantize_model(model) without calibration_data must leave input_scale and "
                        "input_zero_point None (dynamic quantization).",
                        f"{key}: {layer.input_scale!r}, {layer.input_zero_point!r}")
    x = kit.make_data((3, 3), "mixed", 2.0, seed)
    out = kit.call(lambda: model(Tensor(x)), "the quantized model's forward", {"x": x})
    hidden = np.maximum(np.asarray(first.forward(Tensor(x)).data, F64), 0)
    lo, hi = kit.widened(hidden)
    options = [integer_forward(second, hidden, kit.expected_scale(lo, hi), z) for z in kit.zero_points(lo, hi)]
    expected = min(options, key=lambda e: float(np.max(np.abs(np.asarray(out.data, F64) - e))))
    checks.check_array(out, expected.astype(F32), "the dynamically quantized model's output", type_=Tensor,
                       dtype=F32, rtol=1e-5, atol=1e-5 * max(float(np.max(np.abs(expected))), 1e-6),
                       inputs={"x": x}, hint="each QuantizedLinear quantizes its input with that input's own range")


def test_quantize_model_refuses_a_bare_linear():
    """quantize_model(linear) raises ValueError: there is nothing to hold its replacement."""
    linear = make_linear(3, 2, True, 0)
    err = kit.raised(lambda: quantize_model(linear))
    if not isinstance(err, ValueError):
        checks.fail("quantize_model of a bare Linear must raise ValueError.",
                    "it returned" if err is None else f"it raised {type(err).__name__}: {err}",
                    hint="a Linear alone has no container to put the QuantizedLinear in: use "
                         "QuantizedLinear(linear)")
    checks.assert_from_kata(quantize_model, KATA)
