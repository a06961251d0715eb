"""Hidden tests for low_rank_approximate: orthonormal factors, the top singular values in
descending order, the Eckart-Young error in the Frobenius and the spectral norm, the rank
rule (round, at least 1, or an explicit rank), dtypes, and the errors."""
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor
from tinytorch.perf.compression import low_rank_approximate

import compression_kit as kit
from compression_kit import F32, F64, KATA


def matrix(m, n, seed, dtype, decay):
    """A random matrix whose singular values fall off (like a trained layer's) or not."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((m, m)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    r = min(m, n)
    s = np.sort(rng.uniform(0.5, 2.0, r))[::-1] * (decay ** np.arange(r))
    return ((u[:, :r] * s) @ v[:r, :]).astype(dtype)


def tol(dtype):
    return 2e-4 if dtype == F32 else 1e-9


def factors(w, what, **kwargs):
    before = w.copy()
    got = kit.call(lambda: low_rank_approximate(w, **kwargs), what, {"W": w})
    if not np.array_equal(w, before):
        checks.fail(f"{what} must not modify the matrix.", inputs={"before": before, "after": w})
    if not isinstance(got, tuple) or len(got) != 3:
        checks.fail(f"{what} must return a tuple (U, S, V).", f"got {type(got).__name__}", inputs={"W": w})
    return got


def check_factors(got, w, k, what):
    """Shapes, types, dtype, orthonormality and the top-k singular values."""
    u, s, v = got
    m, n = w.shape
    inputs = {"W": w}
    for name, arr, shape in (("U", u, (m, k)), ("S", s, (k,)), ("V", v, (k, n))):
        if type(arr) is not np.ndarray:
            checks.fail(f"{what}: {name} must be an np.ndarray.", f"got {type(arr).__name__}", inputs=inputs)
        if arr.shape != shape:
            hint = ""
            if name == "V" and arr.shape == (n, k):
                hint = "V holds the right singular vectors as ROWS, shape (k, n): NumPy's Vh, truncated to k rows"
            elif arr.shape[-1] == min(m, n) or arr.shape[0] == min(m, n) and k != min(m, n):
                hint = "truncate to the rank k: U[:, :k], S[:k], V[:k, :]"
            elif name == "U" and arr.shape == (m, m):
                hint = "use full_matrices=False, then keep k columns"
            checks.fail(f"{what}: {name} has the wrong shape.", f"got {arr.shape}, expected {shape} (rank {k})",
                        inputs=inputs, hint=hint)
        if arr.dtype != w.dtype:
            checks.fail(f"{what}: {name} must keep the matrix's dtype.", f"got {arr.dtype}, expected {w.dtype}",
                        inputs=inputs, hint=checks.dtype_diagnosis(arr.dtype, w.dtype))
    t = tol(w.dtype)
    true_s = np.linalg.svd(w.astype(F64), compute_uv=False)
    checks.check_array(s.astype(F64), true_s[:k], f"{what}: S (the k largest singular values, descending)",
                       rtol=t, atol=t * true_s[0], inputs=inputs,
                       wrong=[(np.sort(true_s)[:k], "keep the LARGEST singular values: NumPy returns them in "
                                                    "descending order, so S[:k]"),
                              (true_s[len(true_s) - k:], "keep the LARGEST singular values: NumPy returns them "
                                                         "in descending order, so S[:k]"),
                              (true_s[:k] ** 2, "singular values, not their squares")])
    for name, gram in (("U's columns", u.astype(F64).T @ u), ("V's rows", v.astype(F64) @ v.T.astype(F64))):
        if not np.allclose(gram, np.eye(k), atol=10 * t):
            scaled = name.startswith("U") and np.allclose(np.diag(gram), true_s[:k] ** 2, rtol=10 * t)
            checks.fail(f"{what}: {name} must be orthonormal.", f"their Gram matrix is {checks.fmt(gram)}",
                        inputs=inputs,
                        hint="return S separately: U must not have the singular values folded in" if scaled else
                             "take the factors of np.linalg.svd as they are")


@given(m=st.integers(1, 6), n=st.integers(1, 6), seed=st.integers(0, 2**20), dtype=st.sampled_from([F32, F64]),
       decay=st.sampled_from([1.0, 0.5]), rank=st.integers(1, 6))
@example(m=5, n=3, seed=0, dtype=F64, decay=0.5, rank=2)
@example(m=3, n=6, seed=1, dtype=F32, decay=1.0, rank=2)
def test_factors_are_orthonormal_with_the_top_singular_values(m, n, seed, dtype, decay, rank):
    """U (m, k) with orthonormal columns, S the k largest singular values in descending
    order, V (k, n) with orthonormal rows, ndarrays in the matrix's dtype."""
    w = matrix(m, n, seed, dtype, decay)
    k = min(rank, m, n)
    got = factors(w, f"low_rank_approximate(W, rank={k})", rank=k)
    check_factors(got, w, k, f"low_rank_approximate(W, rank={k})")
    checks.assert_from_kata(low_rank_approximate, KATA)


@given(m=st.integers(1, 6), n=st.integers(1, 6), seed=st.integers(0, 2**20), dtype=st.sampled_from([F32, F64]),
       decay=st.sampled_from([1.0, 0.5]), rank=st.integers(1, 6))
@example(m=4, n=4, seed=2, dtype=F64, decay=0.5, rank=2)
@example(m=6, n=2, seed=3, dtype=F32, decay=1.0, rank=1)
def test_error_is_exactly_the_discarded_singular_values(m, n, seed, dtype, decay, rank):
    """Eckart-Young: ||W - U diag(S) V||_F = sqrt(sum of the discarded sigma^2), and the
    spectral-norm error is the largest discarded sigma (0 at full rank)."""
    w = matrix(m, n, seed, dtype, decay)
    k = min(rank, m, n)
    what = f"low_rank_approximate(W, rank={k})"
    u, s, v = factors(w, what, rank=k)
    check_factors((u, s, v), w, k, what)
    sig = np.linalg.svd(w.astype(F64), compute_uv=False)
    approx = u.astype(F64) @ np.diag(s.astype(F64)) @ v.astype(F64)
    t = tol(dtype) * sig[0]
    fro = float(np.linalg.norm(w.astype(F64) - approx))
    want = float(np.sqrt(np.sum(sig[k:] ** 2)))
    if abs(fro - want) > 10 * t:
        checks.fail(f"{what}: the Frobenius error must be sqrt(sum of the discarded singular values squared).",
                    f"got {fro:.6g}, expected {want:.6g}", inputs={"W": w},
                    hint="U @ diag(S) @ V with the factors of the SAME decomposition, truncated together")
    spec = float(np.linalg.norm(w.astype(F64) - approx, 2))
    want = float(sig[k]) if k < len(sig) else 0.0
    if abs(spec - want) > 10 * t:
        checks.fail(f"{what}: the spectral-norm error must be the largest discarded singular value.",
                    f"got {spec:.6g}, expected {want:.6g}", inputs={"W": w})


@settings(max_examples=12)
@given(m=st.integers(1, 8), n=st.integers(1, 8), ratio=st.sampled_from([0.01, 0.25, 0.5, 0.6, 0.7, 1.0]),
       as_tensor=st.booleans())
@example(m=3, n=5, ratio=0.5, as_tensor=False)   # 1.5: round gives 2, int() gives 1
@example(m=7, n=7, ratio=0.5, as_tensor=True)    # 3.5: round gives 4
@example(m=4, n=6, ratio=0.01, as_tensor=False)  # at least 1
@example(m=4, n=6, ratio=0.5, as_tensor=True)    # the default
def test_rank_from_rank_ratio_is_rounded_and_at_least_one(m, n, ratio, as_tensor):
    """Without rank: k = max(1, round(rank_ratio * min(m, n))); rank_ratio defaults to 0.5;
    a Tensor works like an ndarray."""
    w = matrix(m, n, m * 10 + n, F64, 0.7)
    arg = Tensor(w) if as_tensor else w
    kwargs = {} if ratio == 0.5 and as_tensor else {"rank_ratio": ratio}
    what = f"low_rank_approximate(W{', rank_ratio=' + repr(ratio) if kwargs else ''})"
    got = kit.call(lambda: low_rank_approximate(arg, **kwargs), what, {"W": w})
    k = max(1, round(ratio * min(m, n)))
    u = got[0] if isinstance(got, tuple) and got else None
    if u is None or getattr(u, "shape", (0, 0))[-1] != k:
        have = getattr(u, "shape", None)
        hint = ""
        if have and have[-1] == max(1, int(ratio * min(m, n))) != k:
            hint = "round(rank_ratio * min(m, n)), not int(): int() truncates 1.5 to 1"
        elif have and have[-1] == 0:
            hint = "a rank of at least 1: max(1, ...)"
        checks.fail(f"{what}: the rank must be max(1, round(rank_ratio * min(m, n))).",
                    f"got U of shape {have}, expected rank {k} (min(m, n) = {min(m, n)})", inputs={"W": w}, hint=hint)
    check_factors(got, w, k, what)


def test_bad_ranks_and_matrices_raise_value_error():
    """rank outside [1, min(m, n)] or not an int, rank_ratio outside (0, 1], a matrix that
    is not 2-D: ValueError."""
    w = matrix(4, 3, 0, F64, 1.0)
    for kwargs in ({"rank": 0}, {"rank": 4}, {"rank": -1}, {"rank": 1.5}, {"rank_ratio": 0.0},
                   {"rank_ratio": 1.5}, {"rank_ratio": -0.5}):
        kit.expect_value_error(lambda: low_rank_approximate(w, **kwargs),
                               f"low_rank_approximate(W of shape (4, 3), {', '.join(f'{k}={v}' for k, v in kwargs.items())})",
                               hint="the rank is an int from 1 to min(m, n); rank_ratio is in (0, 1]")
    kit.expect_value_error(lambda: low_rank_approximate(np.ones(5)), "low_rank_approximate of a 1-D array")
    kit.expect_value_error(lambda: low_rank_approximate(np.ones((2, 2, 2))), "low_rank_approximate of a 3-D array")
