"""Hidden tests for measure_sparsity and magnitude_prune: exact counts over the weight
matrices (never the biases), the k smallest magnitudes globally or per layer, ties cut to
exactly k, zeros already there counted, in place, bad arguments rejected."""
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Sequential
from tinytorch.perf.compression import magnitude_prune, measure_sparsity

import compression_kit as kit
from compression_kit import F32, F64, KATA

HINT_INT = ("int() truncates: 0.29 * 100 is 28.999999999999996 and int() makes 28 of it; "
            "prune round(sparsity * n) weights")
HINT_PERCENTILE = ("a threshold keeps every weight tied with it: prune exactly k = round(sparsity * n), "
                   "e.g. the first k of np.argsort or np.argpartition of the magnitudes")
HINT_LE = ("a threshold test |w| <= t prunes every weight tied with the cut: prune exactly "
           "k = round(sparsity * n) of them")
HINT_GLOBAL = ("scope='global' ranks all weights of the model together (one ranking), not each "
               "matrix on its own")
HINT_LAYER = "scope='layer' prunes each weight matrix on its own: round(sparsity * n) of its n entries"
HINT_SIGNED = "rank by magnitude |w|: a large negative weight matters as much as a large positive one"
HINT_OLD_ZEROS = ("weights that were zero already have the smallest magnitude: they count among "
                  "the k pruned, so the model ends with k zero weights")


def model_of(specs, seed, dtype=F32, tied=False, zeros=0.0):
    """Sequential of Linear(n_in, n_out) with ReLUs between; each layer its own magnitude."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, (n_in, n_out, mag) in enumerate(specs):
        if tied:
            values = rng.choice([-2.0, -1.0, -0.5, 0.5, 1.0, 2.0], (n_in, n_out)) * mag
        else:
            values = kit.distinct((n_in, n_out), seed + i, mag)
        if zeros:
            values = np.where(rng.random((n_in, n_out)) < zeros, 0.0, values)
        layers += [kit.linear(n_in, n_out, seed + i, values=values, dtype=dtype), ReLU()]
    return Sequential(*layers[:-1])


specs_st = st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5), st.sampled_from([0.1, 1.0, 5.0])),
                    min_size=1, max_size=3)
sparsities = st.sampled_from([0.0, 0.1, 0.29, 0.5, 0.8, 0.9, 1.0]) | st.floats(0.0, 1.0)


def describe(model):
    return {f"weight{i}": p.data for i, p in enumerate(kit.weights_of(model))}


# ---------------------------------------------------------------- measure_sparsity

@given(specs=specs_st, seed=st.integers(0, 2**20), zeros=st.sampled_from([0.0, 0.3, 0.7]),
       dtype=st.sampled_from([F32, F64]))
@example(specs=[(4, 3, 1.0), (3, 2, 1.0)], seed=0, zeros=0.3, dtype=F32)
@example(specs=[(2, 2, 1.0)], seed=1, zeros=0.0, dtype=F32)
def test_measure_sparsity_counts_zero_weights_exactly(specs, seed, zeros, dtype):
    """100 * zero weight entries / weight entries, over parameters with 2+ dimensions only
    (the biases, zero from kata 03, do not count), as a Python float."""
    model = model_of(specs, seed, dtype, zeros=zeros)
    for p in model.parameters():
        if p.data.ndim == 1:
            p.data[...] = 0  # zero biases: they must not count
    weights = kit.weights_of(model)
    total = sum(w.data.size for w in weights)
    zero = sum(int(np.sum(w.data == 0)) for w in weights)
    expected = 100.0 * zero / total
    got = kit.call(lambda: measure_sparsity(model), "measure_sparsity(model)", describe(model))
    if not isinstance(got, float):
        checks.fail("measure_sparsity must return a Python float.", f"got {type(got).__name__}: {got!r}",
                    inputs=describe(model), hint="use float(...)")
    if not np.isclose(got, expected, rtol=1e-12, atol=1e-12):
        all_params = sum(p.data.size for p in model.parameters())
        all_zero = sum(int(np.sum(p.data == 0)) for p in model.parameters())
        wrong = [(expected / 100, "return a percentage, 0.0 to 100.0, not a fraction"),
                 (100.0 * all_zero / all_params, "count only the weights (parameters with 2+ dimensions): "
                                                 "biases start at zero and would make a fresh model look pruned"),
                 (100.0 - expected, "count the entries equal to 0, not the nonzero ones")]
        hint = next((h for v, h in wrong if np.isclose(got, v, rtol=1e-9, atol=1e-12)), "")
        checks.fail("measure_sparsity must count the zero weight entries exactly.",
                    f"got {got!r}, expected {expected!r} ({zero} of {total} weights are zero)",
                    inputs=describe(model), hint=hint)
    checks.assert_from_kata(measure_sparsity, KATA)


def test_measure_sparsity_of_a_model_without_weights_is_zero():
    """No weight matrices (only activations): 0.0, not a division by zero."""
    model = Sequential(ReLU())
    got = kit.call(lambda: measure_sparsity(model), "measure_sparsity(Sequential(ReLU()))",
                   hint="a model without weights has 0.0% sparsity: guard the division")
    if not isinstance(got, float) or got != 0.0:
        checks.fail("measure_sparsity of a model without weights must be 0.0.", f"got {got!r}",
                    hint="guard the division when there are no weight entries")


# ---------------------------------------------------------------- magnitude_prune

def check_pruned(model, before, sparsity, scope, what, inputs):
    """Exactly k = round(sparsity * n) pruned per ranking (old zeros first), the smallest
    magnitudes, kept values and biases untouched, same Tensors and dtypes."""
    weights = [(p, old) for p, old in before if old.ndim >= 2]
    for p, old in before:
        if p.data.dtype != old.dtype:
            checks.fail(f"{what} must keep every parameter's dtype.", f"{old.dtype} became {p.data.dtype}",
                        inputs=inputs, hint="assign into p.data (p.data[mask] = 0) instead of building "
                                            "a new array of another dtype")
        if p.data.shape != old.shape:
            checks.fail(f"{what} must keep every parameter's shape.", f"{old.shape} became {p.data.shape}",
                        inputs=inputs)
        if old.ndim < 2 and not np.array_equal(p.data, old):
            checks.fail(f"{what} must leave the biases untouched.", f"a bias changed from {checks.fmt(old)} "
                        f"to {checks.fmt(p.data)}", inputs=inputs,
                        hint="only parameters with 2 or more dimensions are weights")
    groups = [weights] if scope == "global" else [[pair] for pair in weights]
    for g, group in enumerate(groups):
        old = np.concatenate([o.ravel() for _, o in group])
        new = np.concatenate([p.data.ravel() for p, _ in group])
        n = old.size
        k = round(sparsity * n)
        old_zeros = int(np.sum(old == 0))
        want = max(k, old_zeros)
        zero = new == 0
        kept = ~zero
        where = "the model" if scope == "global" else f"weight matrix {g}"
        if not np.array_equal(new[kept], old[kept]):
            checks.fail(f"{what} must leave the weights it keeps unchanged.", inputs=inputs,
                        hint="only set the pruned entries to zero; do not rescale or re-create the others")
        if int(zero.sum()) != want:
            got = int(zero.sum())
            hint = ""
            if got == int(sparsity * n) != k:
                hint = HINT_INT
            elif got == k + old_zeros and old_zeros and k:
                hint = HINT_OLD_ZEROS
            elif scope == "global" and len(weights) > 1:
                per = sum(round(sparsity * o.size) for _, o in weights)
                if got == per and per != k:
                    hint = HINT_GLOBAL
            if not hint:
                mags = np.sort(np.abs(old))
                cut = mags[k - 1] if 0 < k <= n else None
                if cut is not None and got == int(np.sum(np.abs(old) <= cut)) and got > k:
                    hint = HINT_LE
                elif cut is not None and got < k and np.sum(np.abs(old) == cut) > 1:
                    hint = HINT_PERCENTILE
            checks.fail(f"{what} must zero exactly round(sparsity * n) weights of {where}.",
                        f"n = {n}, sparsity = {sparsity!r}: expected {want} zero weights "
                        f"(k = {k}{f', {old_zeros} zero already' if old_zeros else ''}), got {got}",
                        inputs=inputs, hint=hint)
        if kept.any() and zero.any() and np.max(np.abs(old[zero])) > np.min(np.abs(old[kept])):
            hint = HINT_SIGNED if np.max(old[zero]) <= np.min(old[kept]) else ""
            if scope == "global" and len(weights) > 1 and not hint:
                hint = HINT_GLOBAL
            checks.fail(f"{what} must prune the weights of smallest magnitude: every kept |w| is at least "
                        f"every pruned |w| ({where}).",
                        f"a weight of {float(old[zero][np.argmax(np.abs(old[zero]))])!r} was pruned while "
                        f"{float(old[kept][np.argmin(np.abs(old[kept]))])!r} was kept", inputs=inputs, hint=hint)


@given(specs=specs_st, seed=st.integers(0, 2**20), sparsity=sparsities, dtype=st.sampled_from([F32, F64]))
@example(specs=[(10, 10, 1.0)], seed=0, sparsity=0.29, dtype=F32)          # int() gives 28
@example(specs=[(4, 3, 0.1), (3, 5, 5.0)], seed=1, sparsity=0.5, dtype=F32)  # small layer goes first
@example(specs=[(3, 4, 1.0), (4, 2, 1.0)], seed=2, sparsity=0.8, dtype=F64)
@example(specs=[(2, 3, 1.0)], seed=3, sparsity=1.0, dtype=F32)
@example(specs=[(2, 3, 1.0)], seed=4, sparsity=0.0, dtype=F32)
def test_magnitude_prune_zeroes_exactly_the_smallest_weights_globally(specs, seed, sparsity, dtype):
    """scope='global' (the default): exactly round(sparsity * n) of all n weights, those of
    smallest |w|, become 0; kept weights, biases, Tensors and dtypes are unchanged; the
    model is returned."""
    model = model_of(specs, seed, dtype)
    before = kit.snapshot(model)
    inputs = describe(model) | {"sparsity": sparsity}
    result = kit.call(lambda: magnitude_prune(model, sparsity), f"magnitude_prune(model, {sparsity!r})", inputs)
    if result is not model:
        checks.fail("magnitude_prune must return the model it pruned (in place).", f"got {type(result).__name__}",
                    inputs=inputs)
    if any(p is not q for p, (q, _) in zip(model.parameters(), before)):
        checks.fail("magnitude_prune must keep every weight Tensor (prune in place).", inputs=inputs,
                    hint="assign into p.data: an optimizer holding the Tensor must see the pruned values")
    check_pruned(model, before, sparsity, "global", f"magnitude_prune(model, {sparsity!r})", inputs)


@settings(max_examples=12)
@given(specs=specs_st, seed=st.integers(0, 2**20), sparsity=sparsities)
@example(specs=[(4, 4, 1.0)], seed=0, sparsity=0.5)
@example(specs=[(3, 4, 1.0), (4, 3, 1.0)], seed=1, sparsity=0.3)
@example(specs=[(5, 4, 1.0)], seed=2, sparsity=0.7)
def test_magnitude_prune_cuts_ties_to_exactly_k(specs, seed, sparsity):
    """Many weights share a magnitude: still exactly round(sparsity * n) are pruned, and no
    kept weight is smaller than a pruned one."""
    model = model_of(specs, seed, tied=True)
    before = kit.snapshot(model)
    inputs = describe(model) | {"sparsity": sparsity}
    kit.call(lambda: magnitude_prune(model, sparsity), f"magnitude_prune(model, {sparsity!r})", inputs)
    check_pruned(model, before, sparsity, "global", f"magnitude_prune(model, {sparsity!r}) with tied magnitudes",
                 inputs)


@settings(max_examples=12)
@given(specs=specs_st, seed=st.integers(0, 2**20), sparsity=sparsities, zeros=st.sampled_from([0.2, 0.5]))
@example(specs=[(4, 5, 1.0)], seed=0, sparsity=0.6, zeros=0.2)
def test_magnitude_prune_counts_zeros_already_there(specs, seed, sparsity, zeros):
    """Weights that are zero before pruning have the smallest magnitude: they count among
    the k, so a model ends with max(k, zeros before) zero weights."""
    model = model_of(specs, seed, zeros=zeros)
    before = kit.snapshot(model)
    inputs = describe(model) | {"sparsity": sparsity}
    kit.call(lambda: magnitude_prune(model, sparsity), f"magnitude_prune(model, {sparsity!r})", inputs)
    check_pruned(model, before, sparsity, "global", f"magnitude_prune(model, {sparsity!r}) with zeros already",
                 inputs)


@settings(max_examples=12)
@given(specs=specs_st, seed=st.integers(0, 2**20), sparsity=sparsities)
@example(specs=[(4, 3, 0.1), (3, 5, 5.0)], seed=1, sparsity=0.5)
@example(specs=[(3, 3, 1.0), (3, 2, 0.1), (2, 4, 5.0)], seed=2, sparsity=0.4)
def test_magnitude_prune_per_layer_prunes_each_matrix_on_its_own(specs, seed, sparsity):
    """scope='layer': each weight matrix loses round(sparsity * n) of its own n entries,
    its smallest ones."""
    model = model_of(specs, seed)
    before = kit.snapshot(model)
    inputs = describe(model) | {"sparsity": sparsity}
    result = kit.call(lambda: magnitude_prune(model, sparsity, scope="layer"),
                      f"magnitude_prune(model, {sparsity!r}, scope='layer')", inputs)
    if result is not model:
        checks.fail("magnitude_prune must return the model it pruned (in place).", inputs=inputs)
    olds = [o for _, o in before if o.ndim >= 2]
    flat = np.concatenate([o.ravel() for o in olds])
    k = round(sparsity * flat.size)
    glob = np.zeros(flat.size, bool)
    glob[np.argsort(np.abs(flat), kind="stable")[:k]] = True  # distinct magnitudes: one answer
    got = np.concatenate([p.data.ravel() == 0 for p in kit.weights_of(model)])
    layer_counts = [round(sparsity * o.size) for o in olds]
    sizes = np.cumsum([0] + [o.size for o in olds])
    if np.array_equal(got, glob) and any(int(glob[a:b].sum()) != c
                                         for a, b, c in zip(sizes, sizes[1:], layer_counts)):
        checks.fail(f"magnitude_prune(model, {sparsity!r}, scope='layer') must prune each weight matrix on "
                    "its own.", "your result is the global pruning (one ranking over all weights)",
                    inputs=inputs, hint=HINT_LAYER)
    check_pruned(model, before, sparsity, "layer", f"magnitude_prune(model, {sparsity!r}, scope='layer')",
                 inputs)


def test_magnitude_prune_rejects_bad_arguments():
    """sparsity outside [0, 1] (or NaN) and a scope other than 'global' and 'layer' raise ValueError."""
    model = model_of([(3, 3, 1.0)], 0)
    for bad in (-0.1, 1.5, float("nan")):
        kit.expect_value_error(lambda: magnitude_prune(model, bad), f"magnitude_prune(model, {bad})",
                               hint="check 0 <= sparsity <= 1 (NaN fails every comparison: test the "
                                    "condition that must hold, not the one that must not)")
    for scope in ("per_layer", "local", None):
        kit.expect_value_error(lambda: magnitude_prune(model, 0.5, scope=scope),
                               f"magnitude_prune(model, 0.5, scope={scope!r})")
    checks.assert_from_kata(magnitude_prune, KATA)
