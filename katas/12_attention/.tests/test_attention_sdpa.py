"""Hidden tests for scaled_dot_product_attention: values against NumPy, the scale, masks,
stability at large scores, dtypes and gradients (through your kata-06 autograd)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

import attention_kit as kit
from attention_kit import F32, F64, HINTS, KATA


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


def sdpa_fn():
    from tinytorch.core.attention import scaled_dot_product_attention
    return scaled_dot_product_attention


def problem(batch, s_q, s_k, d_k, d_v, seed, scale=1.0, dtype=F64):
    rng = np.random.default_rng(seed)
    return (kit.normal(rng, batch + (s_q, d_k), scale, dtype), kit.normal(rng, batch + (s_k, d_k), scale, dtype),
            kit.normal(rng, batch + (s_k, d_v), 1.0, dtype), rng)


def check_attention(Q, K, V, mask, *, what, rtol=1e-9, atol=1e-9, dtype=F64):
    """The learner's (output, weights) against NumPy, weights first (they say more)."""
    inputs = {"Q": Q, "K": K, "V": V} if mask is None else {"Q": Q, "K": K, "V": V, "mask": mask}
    output, weights = kit.call_sdpa(sdpa_fn(), Q, K, V, mask, what=what, inputs=inputs)
    exp_o, exp_w = kit.sdpa(Q, K, V, mask)
    wrong = kit.wrong_sdpa(Q, K, V, mask)
    checks.check_array(weights, exp_w.astype(dtype), f"{what}: the weight matrix", inputs=inputs, dtype=dtype,
                       rtol=rtol, atol=atol,
                       wrong=[(w, HINTS[n]) for n, (_, w) in wrong.items() if w is not None],
                       shape_hint="the weights have one row per query and one column per key: "
                                  "(..., S_q, S_k)")
    checks.check_array(output, exp_o.astype(dtype), f"{what}: the output", inputs=inputs, dtype=dtype,
                       rtol=rtol, atol=atol,
                       wrong=[(o, HINTS[n]) for n, (o, _) in wrong.items() if o is not None],
                       shape_hint="the output is weights @ V: (..., S_q, d_v)",
                       hint="the weights are right, so look at how they combine the values: "
                            "output = weights @ V")
    return output, weights


# ---------------------------------------------------------------- tests

def test_attention_comes_from_your_kata():
    Q = np.array([[1.0, 0.0], [0.0, 2.0]])
    K = np.array([[1.0, 1.0], [2.0, -1.0], [0.5, 0.0]])
    V = np.array([[1.0], [-2.0], [3.0]])
    check_attention(Q, K, V, None, what="scaled_dot_product_attention(Q, K, V)")
    from tinytorch.core.attention import MultiHeadAttention, scaled_dot_product_attention
    checks.assert_from_kata(scaled_dot_product_attention, KATA)
    checks.assert_from_kata(MultiHeadAttention, KATA)


@settings(max_examples=20)
@given(batch=kit.batch_shapes, s_q=st.integers(1, 4), s_k=st.integers(1, 4), d_k=st.integers(1, 4),
       d_v=st.integers(1, 4), seed=kit.seeds)
@example(batch=(), s_q=2, s_k=3, d_k=4, d_v=1, seed=1)  # every size different: scale by d_k, not S_k or d_v
@example(batch=(2,), s_q=3, s_k=3, d_k=3, d_v=3, seed=2)  # square: K not transposed goes unnoticed by shapes
@example(batch=(2, 3), s_q=2, s_k=4, d_k=2, d_v=3, seed=3)  # two batch axes (batch, heads)
def test_attention_matches_numpy(batch, s_q, s_k, d_k, d_v, seed):
    Q, K, V, _ = problem(batch, s_q, s_k, d_k, d_v, seed, scale=1.5)
    check_attention(Q, K, V, None, what=f"scaled_dot_product_attention on Q {Q.shape}, K {K.shape}, V {V.shape}")


@pytest.mark.parametrize("d_k", [4, 9, 16])
def test_scores_are_scaled_by_one_over_sqrt_dk(d_k):
    # Scores 0, 1, 2, 3 times sqrt(d_k) before scaling: after it, weights softmax([0, 1, 2, 3]).
    rng = np.random.default_rng(d_k)
    base = rng.standard_normal(d_k)
    base /= np.linalg.norm(base)
    Q = np.stack([base, -base])  # S_q = 2
    K = np.stack([c * np.sqrt(d_k) * base for c in (0.0, 1.0, 2.0, 3.0)])  # S_k = 4
    V = rng.standard_normal((4, 3))  # d_v = 3
    check_attention(Q, K, V, None, what=f"scaled_dot_product_attention with d_k = {d_k} (S_q = 2, "
                                        f"S_k = 4, d_v = 3)")


@settings(max_examples=15)
@given(batch=kit.batch_shapes, s_q=st.integers(1, 4), s_k=st.integers(1, 4), d=st.integers(1, 4),
       seed=kit.seeds, masked=st.booleans(), dtype=st.sampled_from([F32, F64]))
@example(batch=(2,), s_q=3, s_k=2, d=2, seed=4, masked=False, dtype=F32)  # softmax over queries
@example(batch=(), s_q=2, s_k=4, d=3, seed=5, masked=True, dtype=F64)
def test_weight_rows_sum_to_one(batch, s_q, s_k, d, seed, masked, dtype):
    Q, K, V, rng = problem(batch, s_q, s_k, d, d, seed, scale=2.0, dtype=dtype)
    mask = kit.random_mask(rng, (s_q, s_k)) if masked else None
    inputs = {"Q": Q, "K": K, "V": V} if mask is None else {"Q": Q, "K": K, "V": V, "mask": mask}
    _, weights = kit.call_sdpa(sdpa_fn(), Q, K, V, mask, what="scaled_dot_product_attention", inputs=inputs)
    w = np.asarray(weights.data, dtype=F64)
    checks.check_shape(weights, batch + (s_q, s_k), "the attention weights", inputs=inputs,
                       hint="one row per query and one column per key: (..., S_q, S_k)")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(w > 1 + 1e-6):
        checks.fail("Every attention weight must be a probability, in [0, 1].",
                    f"got weights {checks.fmt(w)}", inputs=inputs)
    sums = w.sum(axis=-1)
    tol = 1e-5 if dtype == F32 else 1e-9
    hint = HINTS["softmax queries"] if np.allclose(w.sum(axis=-2), 1, atol=tol) else \
        "normalise every row: the softmax runs along the last axis (the keys)"
    checks.check_array(sums, np.ones_like(sums), "each query's weights summed over the keys "
                                                 "(weights.sum(axis=-1))",
                       inputs=inputs, rtol=0, atol=tol, hint=hint)


@settings(max_examples=20)
@given(batch=kit.batch_shapes, s_q=st.integers(1, 4), s_k=st.integers(2, 4), d=st.integers(1, 3),
       seed=kit.seeds, kind=st.sampled_from(kit.MASK_KINDS), full=st.booleans())
@example(batch=(2,), s_q=3, s_k=3, d=2, seed=6, kind="bool array", full=False)
@example(batch=(2,), s_q=2, s_k=3, d=2, seed=7, kind="Tensor", full=True)  # one mask per batch element
@example(batch=(), s_q=3, s_k=4, d=2, seed=8, kind="float array", full=False)
def test_blocked_keys_get_zero_weight(batch, s_q, s_k, d, seed, kind, full):
    Q, K, V, rng = problem(batch, s_q, s_k, d, d + 1, seed, scale=1.5)
    allowed = kit.random_mask(rng, (batch + (s_q, s_k)) if full else (s_q, s_k))
    mask = kit.mask_as(kind, allowed)
    inputs = {"Q": Q, "K": K, "V": V, "mask": allowed.astype(int)}
    what = f"scaled_dot_product_attention with a mask ({kind} of shape {allowed.shape}, 1 = attend)"
    _, weights = kit.call_sdpa(sdpa_fn(), Q, K, V, mask, what=what, inputs=inputs)
    w = np.asarray(weights.data)
    blocked = ~np.broadcast_to(allowed, batch + (s_q, s_k))
    if w.shape == blocked.shape and not np.all(np.isfinite(w)):
        checks.fail(f"{what}: the weights contain NaN or inf.", f"your weights = {checks.fmt(w)}",
                    inputs=inputs, hint="0 * -inf is NaN: an additive mask built by multiplying with "
                                        "-inf poisons the allowed scores; set the blocked scores with "
                                        "masked_fill(blocked, -inf) instead")
    if w.shape == blocked.shape and np.any(w[blocked] != 0):
        idx = tuple(int(i) for i in np.argwhere(blocked & (w != 0))[0])
        inverted = kit.sdpa(Q, K, V, mask, "mask inverted")[1]
        zeroes = kit.sdpa(Q, K, V, mask, "mask zeroes scores")[1]
        ignored = kit.sdpa(Q, K, V, mask, "mask ignored")[1]
        hint = (HINTS["mask ignored"] if np.allclose(w, ignored, atol=1e-6) else
                HINTS["mask zeroes scores"] if np.allclose(w, zeroes, atol=1e-6) else
                HINTS["mask inverted"] if inverted is not None and np.allclose(w, inverted, atol=1e-6) else
                "set the blocked scores to -inf before the softmax (masked_fill), so that "
                "exp(-inf) = 0")
        checks.fail(f"{what}: a blocked key must get weight exactly 0.",
                    f"weights[{idx}] = {w[idx]!r} although mask{idx} = 0\nyour weights = {checks.fmt(w)}",
                    inputs=inputs, hint=hint)
    check_attention(Q, K, V, mask, what=what)


@settings(max_examples=15)
@given(batch=kit.batch_shapes, s_q=st.integers(1, 4), s_k=st.integers(2, 4), d=st.integers(1, 4),
       seed=kit.seeds, masked=st.booleans())
@example(batch=(), s_q=1, s_k=2, d=1, seed=0, masked=True)  # the case below, via the explicit test
def test_stable_at_large_scores(batch, s_q, s_k, d, seed, masked):
    Q, K, V, rng = problem(batch, s_q, s_k, d, 2, seed, scale=100.0)  # scores of order 1e4
    mask = kit.random_mask(rng, (s_q, s_k)) if masked else None
    large_scores(Q, K, V, mask)


def test_blocked_keys_stay_at_zero_beside_very_negative_scores():
    # The only allowed key scores -40000: a blocked key filled with a finite -1e4 would win.
    Q = np.array([[200.0]])
    K = np.array([[-200.0], [50.0]])
    V = np.array([[1.0, 2.0], [-3.0, 5.0]])
    large_scores(Q, K, V, np.array([[1, 0]]))


def large_scores(Q, K, V, mask):
    inputs = {"Q": Q, "K": K, "V": V} if mask is None else {"Q": Q, "K": K, "V": V, "mask": mask}
    what = "scaled_dot_product_attention at scores of order 1e4"
    for dtype in (F32, F64):
        q, k, v = (a.astype(dtype) for a in (Q, K, V))
        output, weights = kit.call_sdpa(sdpa_fn(), q, k, v, mask, what=f"{what} ({np.dtype(dtype)})",
                                        inputs=inputs)
        w, o = np.asarray(weights.data, dtype=F64), np.asarray(output.data, dtype=F64)
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(o))):
            checks.fail(f"{what} ({np.dtype(dtype)}): the weights and output must stay finite.",
                        f"weights = {checks.fmt(w)}\noutput = {checks.fmt(o)}", inputs=inputs,
                        hint="exp of a score in the thousands overflows: subtract each row's max "
                             "before exp (your kata-02 Softmax does)")
        exp_o, exp_w = kit.sdpa(q, k, v, mask)
        if mask is not None:
            blocked = ~kit.allowed_of(mask, w.shape)
            if np.any(w[blocked] != 0):
                checks.fail(f"{what} ({np.dtype(dtype)}): a blocked key must get weight exactly 0.",
                            f"your weights = {checks.fmt(w)}", inputs=inputs,
                            hint="a finite fill value such as -1e4 is not far enough below scores "
                                 "of order 1e4: fill blocked scores with -inf")
        tol = 1e-2 if dtype == F32 else 1e-9  # float32 scores of 1e4 are exact to ~1e-3
        checks.check_array(w.sum(axis=-1), np.ones(w.shape[:-1]), f"{what}: each row of weights summed",
                           inputs=inputs, rtol=0, atol=1e-5 if dtype == F32 else 1e-9)
        checks.check_array(weights, exp_w.astype(dtype), f"{what} ({np.dtype(dtype)}): the weight matrix",
                           inputs=inputs, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [F32, F64], ids=["float32", "float64"])
def test_attention_keeps_the_dtype(dtype):
    Q, K, V, rng = problem((2,), 3, 4, 3, 2, 9, dtype=dtype)
    mask = kit.random_mask(rng, (3, 4))
    inputs = {"Q": Q, "K": K, "V": V, "mask": mask}
    output, weights = kit.call_sdpa(sdpa_fn(), Q, K, V, mask, what="scaled_dot_product_attention",
                                    inputs=inputs)
    exp_o, exp_w = kit.sdpa(Q, K, V, mask)
    tol = 1e-5 if dtype == F32 else 1e-9
    for name, got, exp in (("weights", weights, exp_w), ("output", output, exp_o)):
        checks.check_array(got, exp.astype(dtype), f"scaled_dot_product_attention on {np.dtype(dtype)} "
                                                   f"inputs: the {name}", inputs=inputs, dtype=dtype,
                           rtol=tol, atol=tol,
                           dtype_hint=kit.SCALE_DTYPE_HINT if dtype == F32 else "")


BANDED = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]])  # every row has a key allowed and one blocked
MASK_ERRORS = {
    "additive mask (0 and -inf)": lambda s: np.where(BANDED > 0, 0.0, -np.inf),
    "an entry of 2": lambda s: np.tril(np.ones(s)) * 2,
    "a row with every key blocked": lambda s: np.triu(np.ones(s), k=1),
    "a mask that does not broadcast": lambda s: np.ones((s[0] + 1, s[1])),
}


@pytest.mark.parametrize("kind", list(MASK_ERRORS))
def test_invalid_masks_raise_value_error(kind):
    Q, K, V, _ = problem((2,), 3, 3, 2, 2, 10)
    mask = MASK_ERRORS[kind]((3, 3))
    inputs = {"Q": Q, "K": K, "V": V, "mask": mask}
    fn = sdpa_fn()
    exc = kit.raised(lambda: fn(Tensor(Q), Tensor(K), Tensor(V), mask))
    if not isinstance(exc, ValueError):
        got = "no exception" if exc is None else f"{type(exc).__name__}: {exc}"
        hints = {
            "additive mask (0 and -inf)": "a mask is binary (1 = attend, 0 = block): check that "
                                          "every entry is 0 or 1 before using it",
            "an entry of 2": "check that every mask entry is 0 or 1",
            "a row with every key blocked": "a query whose keys are all blocked has no softmax "
                                            "(0/0): check that every row allows at least one key",
            "a mask that does not broadcast": "the mask must broadcast to the scores' shape "
                                              "(np.broadcast_to raises ValueError when it cannot)",
        }
        checks.fail(f"scaled_dot_product_attention with {kind} must raise ValueError.", f"got {got}",
                    inputs=inputs, hint=hints[kind])


@settings(max_examples=10)
@given(batch=st.lists(st.integers(1, 2), min_size=0, max_size=1).map(tuple), s_q=st.integers(1, 3),
       s_k=st.integers(1, 3), d=st.integers(1, 3), seed=kit.seeds, masked=st.booleans())
@example(batch=(2,), s_q=3, s_k=3, d=2, seed=11, masked=True)
@example(batch=(), s_q=2, s_k=3, d=3, seed=12, masked=False)
def test_attention_gradients_match_finite_differences(batch, s_q, s_k, d, seed, masked):
    Q, K, V, rng = problem(batch, s_q, s_k, d, d, seed)
    mask = kit.random_mask(rng, (s_q, s_k)) if masked else None
    fn = sdpa_fn()
    label = "scaled_dot_product_attention" + (" with a mask" if masked else "")
    kit.gradcheck(lambda q, k, v: fn(q, k, v, mask)[0], [Q, K, V],
                  what=f"{label}: the output as a function of (Q, K, V) = (x0, x1, x2)", seed=seed % 1000)
    kit.gradcheck(lambda q, k: fn(q, k, Tensor(V), mask)[1], [Q, K],
                  what=f"{label}: the weights as a function of (Q, K) = (x0, x1)", seed=seed % 1000 + 1)


def test_inputs_are_not_modified():
    Q, K, V, rng = problem((2,), 3, 3, 4, 2, 13)
    allowed = kit.random_mask(rng, (3, 3))
    mask = Tensor(allowed.astype(F32))
    tensors = [Tensor(Q.copy()), Tensor(K.copy()), Tensor(V.copy())]
    sdpa_fn()(*tensors, mask)
    inputs = {"Q": Q, "K": K, "V": V, "mask": allowed.astype(int)}
    for name, t, before in zip("QKV", tensors, (Q, K, V)):
        checks.check_array(t, before, f"scaled_dot_product_attention must not modify its inputs: {name} "
                                      "after the call", inputs=inputs,
                           hint=f"compute new Tensors (e.g. scale the scores, Q @ K^T / sqrt(d_k)) "
                                f"instead of writing into {name}.data")
    checks.check_array(mask, allowed.astype(F32), "scaled_dot_product_attention must not modify its "
                                                  "inputs: the mask after the call", inputs=inputs)
