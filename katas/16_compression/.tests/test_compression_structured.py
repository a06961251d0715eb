"""Hidden tests for structured_prune: the neurons of smallest incoming L2 norm removed,
both adjacent layers shrunk consistently, order, identity and the output layer kept,
scores taken on the model as given, and the small model equal to the masked one."""
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.activations import ReLU, Tanh
from tinytorch.core.layers import Dropout, Sequential
from tinytorch.core.tensor import Tensor
from tinytorch.perf.compression import structured_prune

import compression_kit as kit
from compression_kit import F32, F64, KATA

RATIOS = st.sampled_from([0.0, 0.25, 0.34, 0.5, 0.75, 0.9])


def mlp(widths, seed, tied=False):
    """Sequential of Linears with ReLU / Tanh / Dropout(0) between; distinct column norms
    (or some tied ones)."""
    rng = np.random.default_rng(seed)
    layers, acts = [], [ReLU, Tanh, lambda: Dropout(0.0)]
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        w = rng.uniform(-1, 1, (a, b)) * (rng.permutation(b) + 1.0)  # column j scaled by a distinct factor
        if tied and b > 1:
            w[:, 1] = w[:, 0][::-1] if a > 1 else -w[:, 0]  # same norm as column 0
        layers.append(kit.linear(a, b, seed + i, values=w))
        layers.append(acts[i % len(acts)]())
    return Sequential(*layers[:-1])


def linears_of(model):
    return [item for item in model.layers if hasattr(item, "weight")]


def expected_plan(old, ratio):
    """For each Linear but the last: (k, the norms) of its output neurons."""
    plan = []
    for w, _ in old[:-1]:
        n = w.shape[1]
        plan.append((min(round(ratio * n), n - 1), np.sqrt((w.astype(F64) ** 2).sum(axis=0))))
    return plan


def kept_columns(new_w, old_w):
    """Which old columns the new matrix holds, in its order (None if a column is foreign)."""
    found = []
    for j in range(new_w.shape[1]):
        hits = [c for c in range(old_w.shape[1]) if np.array_equal(new_w[:, j], old_w[:, c])]
        found.append(hits[0] if hits else None)
    return found


def check_structure(model, old, ratio, inputs):
    """Shapes, kept neurons (smallest norms gone, order kept), next rows, features, head."""
    lins = linears_of(model)
    plan = expected_plan(old, ratio)
    keeps = []
    for i, ((k, norms), layer, (w, b)) in enumerate(zip(plan, lins, old)):
        n = w.shape[1]
        got_w = layer.weight.data
        if got_w.shape[1] == n and k > 0:
            zero_cols = int(np.sum(np.all(got_w == 0, axis=0)))
            checks.fail(f"structured_prune must remove {k} of the {n} neurons of Linear {i}.",
                        f"its weight still has shape {got_w.shape}" + (f", with {zero_cols} all-zero columns"
                                                                       if zero_cols else ""), inputs=inputs,
                        hint="delete the columns (weight.data[:, keep]), do not zero them: zeros in a dense "
                             "matrix save neither memory nor time (TinyTorch zeroes them)" if zero_cols else
                             "remove k = min(round(prune_ratio * out_features), out_features - 1) neurons")
        if got_w.shape != (w.shape[0] if i == 0 else len(keeps[-1]), n - k):
            checks.fail(f"structured_prune: Linear {i}'s weight has the wrong shape.",
                        f"got {got_w.shape}, expected {(w.shape[0] if i == 0 else len(keeps[-1]), n - k)}",
                        inputs=inputs,
                        hint="a layer always keeps at least one neuron: k = min(round(prune_ratio * "
                             "out_features), out_features - 1)" if got_w.shape[1] == 0 else
                             "" if i == 0 else "removing a neuron deletes the matching ROW of the next "
                                               "Linear's weight too")
        rows = slice(None) if i == 0 else keeps[-1]
        cols = kept_columns(got_w, w[rows, :])
        if None in cols:
            checks.fail(f"structured_prune: Linear {i}'s weight must hold whole columns of the original.",
                        inputs=inputs, hint="index the columns; do not rescale them")
        dropped = sorted(set(range(n)) - set(cols))
        if dropped and max(norms[dropped]) > min(norms[cols]) + 1e-12:
            wrong_rows = np.sqrt((w.astype(F64) ** 2).sum(axis=1))
            hint = ("the score of neuron j is the L2 norm of its incoming weights, the column weight[:, j]"
                    if len(wrong_rows) else "")
            if np.min(norms[dropped]) >= np.max(norms[cols]):
                hint = "remove the neurons of SMALLEST norm, keep the large ones"
            checks.fail(f"structured_prune must remove the neurons of smallest incoming L2 norm (Linear {i}).",
                        f"removed {dropped} with norms {np.round(norms[dropped], 4).tolist()}, kept "
                        f"{cols} with norms {np.round(norms[cols], 4).tolist()}", inputs=inputs, hint=hint)
        if cols != sorted(cols):
            checks.fail(f"structured_prune must keep the remaining neurons in their original order (Linear {i}).",
                        f"the kept columns come in the order {cols}", inputs=inputs,
                        hint="keep = the remaining indices in ascending order (np.setdiff1d or a boolean mask)")
        if b is not None and not np.array_equal(layer.bias.data, b[cols]):
            checks.fail(f"structured_prune must remove the bias entries of the removed neurons (Linear {i}).",
                        f"got {checks.fmt(layer.bias.data)}, expected {checks.fmt(b[cols])}", inputs=inputs)
        if layer.out_features != n - k or layer.in_features != got_w.shape[0]:
            checks.fail(f"structured_prune must update in_features and out_features (Linear {i}).",
                        f"got in_features={layer.in_features}, out_features={layer.out_features}; "
                        f"the weight is {got_w.shape}", inputs=inputs)
        keeps.append(cols)
    head, (w, b) = lins[-1], old[-1]
    expected = w[keeps[-1], :] if keeps else w
    if head.weight.data.shape != expected.shape or not np.array_equal(head.weight.data, expected) or (
            b is not None and not np.array_equal(head.bias.data, b)):
        checks.fail("structured_prune must never prune the last Linear (its outputs are the model's outputs); "
                    "only its input rows follow the previous layer.",
                    f"its weight is {head.weight.data.shape}, expected {expected.shape}", inputs=inputs,
                    hint="every Linear but the last loses neurons" if head.weight.data.shape[1] != w.shape[1]
                    else "")
    return keeps


@given(widths=st.lists(st.integers(1, 6), min_size=2, max_size=4), seed=st.integers(0, 2**20), ratio=RATIOS,
       tied=st.booleans())
@example(widths=[4, 6, 5, 3], seed=0, ratio=0.5, tied=False)
@example(widths=[3, 4, 2], seed=1, ratio=0.25, tied=True)
@example(widths=[3, 3, 2], seed=2, ratio=0.9, tied=False)   # at least one neuron stays
@example(widths=[2, 5, 4, 2], seed=3, ratio=0.34, tied=False)
def test_structured_prune_removes_the_weakest_neurons(widths, seed, ratio, tied):
    """Every Linear but the last loses min(round(ratio * out), out - 1) neurons, those whose
    columns weight[:, j] have the smallest L2 norms: column and bias entry removed, the next
    Linear's row removed, order kept, features updated, same Tensors with requires_grad,
    the model returned."""
    model = mlp(widths, seed, tied)
    old = [(l.weight.data.copy(), None if l.bias is None else l.bias.data.copy()) for l in linears_of(model)]
    tensors = [(l.weight, l.bias) for l in linears_of(model)]
    inputs = {f"weight{i}": w for i, (w, _) in enumerate(old)} | {"prune_ratio": ratio}
    result = kit.call(lambda: structured_prune(model, ratio), f"structured_prune(model, {ratio})", inputs)
    if result is not model:
        checks.fail("structured_prune must return the model it pruned (in place).", f"got {type(result).__name__}",
                    inputs=inputs)
    check_structure(model, old, ratio, inputs)
    for i, (layer, (w, b)) in enumerate(zip(linears_of(model), tensors)):
        if layer.weight is not w or layer.bias is not b or not layer.weight.requires_grad or (
                b is not None and not b.requires_grad):
            checks.fail(f"structured_prune must keep each Linear's weight and bias Tensors (Linear {i}) with "
                        f"requires_grad=True.", inputs=inputs,
                        hint="assign the smaller arrays to weight.data and bias.data")


@settings(max_examples=12)
@given(widths=st.lists(st.integers(1, 6), min_size=2, max_size=4), seed=st.integers(0, 2**20), ratio=RATIOS)
@example(widths=[4, 6, 5, 3], seed=0, ratio=0.5)
@example(widths=[3, 5, 2], seed=4, ratio=0.75)
def test_pruned_model_equals_the_masked_model(widths, seed, ratio):
    """With activations that map 0 to 0, the pruned model computes exactly what the original
    computes with the removed neurons' columns and bias entries set to zero."""
    model = mlp(widths, seed)
    masked = mlp(widths, seed)
    x = np.random.default_rng(seed).uniform(-1, 1, (3, widths[0])).astype(F32)
    old = [(l.weight.data.copy(), l.bias.data.copy()) for l in linears_of(model)]
    inputs = {"x": x, "prune_ratio": ratio} | {f"weight{i}": w for i, (w, _) in enumerate(old)}
    kit.call(lambda: structured_prune(model, ratio), f"structured_prune(model, {ratio})", inputs)
    keeps = check_structure(model, old, ratio, inputs)
    for layer, cols in zip(linears_of(masked), keeps):
        gone = sorted(set(range(layer.weight.data.shape[1])) - set(cols))
        layer.weight.data[:, gone] = 0
        layer.bias.data[gone] = 0
    got = kit.call(lambda: model(Tensor(x)), "the pruned model's forward", inputs)
    checks.check_array(got, masked(Tensor(x)), "the pruned model's output (equal to the masked model's)",
                       type_=Tensor, rtol=1e-5, atol=1e-6, inputs=inputs)


def test_scores_come_from_the_model_as_given():
    """Every neuron is scored before anything is removed: removing a neuron of Linear 0 (a
    row of Linear 1) must not change which neurons of Linear 1 go."""
    # Linear 0: neuron 0 (norm 0.1) goes. Linear 1: column 0 has norm sqrt(9.01 + 0.01) with
    # row 0, sqrt(0.02) without; column 1 has norm sqrt(0.5). Scored as given, column 1 goes.
    w0 = np.array([[0.1, 2.0], [0.0, 2.0]])
    w1 = np.array([[3.0, 0.5], [0.1, 0.5]])
    w2 = np.array([[1.0], [2.0]])
    model = Sequential(kit.linear(2, 2, 0, values=w0), ReLU(), kit.linear(2, 2, 1, values=w1), ReLU(),
                       kit.linear(2, 1, 2, values=w2))
    inputs = {"weight0": w0, "weight1": w1, "weight2": w2, "prune_ratio": 0.5}
    kit.call(lambda: structured_prune(model, 0.5), "structured_prune(model, 0.5)", inputs)
    got = model.layers[2].weight.data
    expected = np.array([[0.1]], F32)  # row 1 of w1 (neuron 1 of Linear 0 kept), column 0
    if got.shape != (1, 1) or got[0, 0] != expected[0, 0]:
        checks.fail("structured_prune must score every neuron on the model as it was given, before anything "
                    "is removed.", f"Linear 1's weight became {checks.fmt(got)}, expected {checks.fmt(expected)}",
                    inputs=inputs,
                    hint="compute all the norms first, then remove: removing Linear 0's neuron deletes a row "
                         "of Linear 1 and changes its column norms" if got.shape == (1, 1) else "")


def test_structured_prune_leaves_a_single_layer_and_ratio_zero_alone():
    """A model with one Linear has no hidden neuron to prune; prune_ratio 0 removes nothing."""
    one = Sequential(kit.linear(3, 2, 0))
    w = one.layers[0].weight.data.copy()
    kit.call(lambda: structured_prune(one, 0.5), "structured_prune(Sequential(Linear(3, 2)), 0.5)")
    if one.layers[0].weight.data.shape != w.shape or not np.array_equal(one.layers[0].weight.data, w):
        checks.fail("structured_prune must leave a model with a single Linear unchanged: its outputs are the "
                    "model's outputs.", f"its weight became {one.layers[0].weight.data.shape}",
                    hint="every Linear but the LAST loses neurons (TinyTorch prunes a lone layer's outputs)")
    two = mlp([3, 4, 2], 1)
    before = [l.weight.data.copy() for l in linears_of(two)]
    kit.call(lambda: structured_prune(two, 0.0), "structured_prune(model, 0.0)")
    if any(not np.array_equal(l.weight.data, b) for l, b in zip(linears_of(two), before)):
        checks.fail("structured_prune(model, 0.0) must remove nothing.")
    checks.assert_from_kata(structured_prune, KATA)


def test_structured_prune_rejects_bad_models_and_ratios():
    """prune_ratio outside [0, 1): ValueError; an item with parameters that is not a Linear:
    ValueError; a model without a layers list: TypeError."""
    for bad in (1.0, -0.1, 1.5, float("nan")):
        kit.expect_value_error(lambda: structured_prune(mlp([3, 4, 2], 0), bad), f"structured_prune(model, {bad})",
                               hint="0 <= prune_ratio < 1 (a layer always keeps a neuron)")
    nested = Sequential(kit.linear(3, 4, 0), ReLU(), Sequential(kit.linear(4, 4, 1)), kit.linear(4, 2, 2))
    kit.expect_value_error(lambda: structured_prune(nested, 0.5), "structured_prune of a Sequential holding a "
                           "Sequential with parameters",
                           hint="only Linear layers and parameter-free items (activations, Dropout) may sit in "
                                "the model")
    err = kit.raised(lambda: structured_prune(kit.linear(3, 2, 0), 0.5))
    if not isinstance(err, TypeError):
        checks.fail("structured_prune of a model without a layers list must raise TypeError.",
                    "it did not raise" if err is None else f"it raised {type(err).__name__}: {err}")
