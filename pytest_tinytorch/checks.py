"""Helpers for writing hidden tests: strategies, staged comparisons, gradient checks.

Every check fails with `pytest.fail(..., pytrace=False)`, so the learner reads a message
in words (which property, on which input, what was expected, a hint) instead of a
traceback through this module.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import os
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .curriculum import BY_ID

__all__ = [
    "shapes", "arrays", "broadcastable_shapes", "fail", "check_array", "check_shape",
    "check_close", "check_grad", "assert_from_kata", "fmt",
    "autograd_session", "autograd_snapshot", "autograd_restore",
]

# ---------------------------------------------------------------- strategies

def shapes(min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 4):
    """Small shapes keep tests fast and shrunk failures readable."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def arrays(shape=None, *, dtype=np.float32, lo: float = -10.0, hi: float = 10.0,
           unique: bool = False, min_dims: int = 1, max_dims: int = 3, max_side: int = 4):
    """Finite arrays with values in [lo, hi]: no NaN, inf or subnormals.

    `unique=True` draws distinct values (away from ties for max, relu kinks and sorting).
    """
    if shape is None:
        shape = shapes(min_dims=min_dims, max_dims=max_dims, max_side=max_side)
    width = 32 if np.dtype(dtype) == np.float32 else 64
    elements = st.floats(lo, hi, width=width, allow_nan=False, allow_infinity=False,
                         allow_subnormal=False)
    return hnp.arrays(np.dtype(dtype), shape, elements=elements, unique=unique)


def broadcastable_shapes(num_shapes: int = 2, max_dims: int = 3, max_side: int = 4):
    """Tuples of shapes that broadcast together (sides of 1 and missing leading axes)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=0, max_dims=max_dims, min_side=1, max_side=max_side
    ).map(lambda r: r.input_shapes)


# ---------------------------------------------------------------- messages

def _raw(value: Any) -> Any:
    """A Tensor's `.data`; anything else as it is (an ndarray's own `.data` is a memoryview)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value
    return getattr(value, "data", value)


def fmt(value: Any, limit: int = 300) -> str:
    """A compact, readable rendering of an array or tensor for failure messages."""
    data = _raw(value)
    if isinstance(data, np.ndarray):
        with np.printoptions(precision=4, suppress=True, threshold=40, edgeitems=3):
            text = np.array2string(data, separator=", ")
        text = f"{text} (shape {data.shape}, {data.dtype})"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def fail(prop: str, detail: str = "", *, inputs: dict | None = None, hint: str = "") -> None:
    """Fail a test with a teaching message: the property, the input, the detail, a hint."""
    lines = [prop]
    for name, value in (inputs or {}).items():
        lines.append(f"  {name} = {fmt(value)}")
    if detail:
        lines.extend("  " + line for line in detail.splitlines())
    if hint:
        lines.append(f"  hint: {hint}")
    pytest.fail("\n".join(lines), pytrace=False)


def _as_array(value: Any) -> np.ndarray | None:
    data = _raw(value)
    if isinstance(data, np.ndarray):
        return data
    if isinstance(data, (int, float, np.number)):
        return np.asarray(data)
    return None


def check_shape(got: Any, shape: Sequence[int], what: str, *, inputs: dict | None = None,
                hint: str = "") -> None:
    got_shape = tuple(getattr(got, "shape", np.shape(got)))
    if got_shape != tuple(shape):
        fail(f"{what} has the wrong shape.", f"got shape {got_shape}, expected {tuple(shape)}",
             inputs=inputs, hint=hint)


def check_array(got: Any, expected: Any, what: str, *, inputs: dict | None = None,
                type_: type | None = None, dtype: Any = None, rtol: float | None = None,
                atol: float | None = None, wrong: Iterable[tuple[Any, str]] = (),
                hint: str = "") -> None:
    """Staged comparison: type, shape, dtype, finiteness, then values.

    `type_` is the class `got` must be (e.g. the learner's Tensor); its `.data` is then
    compared. `wrong` lists (value, hint) pairs of known wrong answers: when `got` matches
    one, its hint is shown, which names the bug without giving the solution away.
    """
    if type_ is not None and not isinstance(got, type_):
        fail(f"{what} must return a {type_.__name__}.", f"got {type(got).__name__}: {fmt(got)}",
             inputs=inputs, hint=hint)
    arr = _as_array(got)
    exp = np.asarray(_raw(expected))
    if arr is None:
        fail(f"{what} must hold a NumPy array.", f"got {type(_raw(got)).__name__}",
             inputs=inputs, hint=hint)
    if arr.shape != exp.shape:
        hint_here = _matching_hint(arr, wrong) or hint
        fail(f"{what} has the wrong shape.", f"got shape {arr.shape}, expected {exp.shape}",
             inputs=inputs, hint=hint_here)
    if dtype is not None and arr.dtype != np.dtype(dtype):
        fail(f"{what} has the wrong dtype.", f"got {arr.dtype}, expected {np.dtype(dtype)}",
             inputs=inputs, hint=hint or "keep float32 data float32 (mind np.float64 constants)")
    if np.issubdtype(arr.dtype, np.number) and not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        fail(f"{what} contains NaN or inf.", f"first at index {bad}: {arr[bad].item()}",
             inputs=inputs, hint=hint or "look for overflow in exp or a division by zero")
    if rtol is None or atol is None:
        tight = arr.dtype == np.float64 and exp.dtype == np.float64
        rtol = rtol if rtol is not None else (1e-9 if tight else 1e-5)
        atol = atol if atol is not None else (1e-9 if tight else 1e-5)
    close = np.isclose(arr, exp, rtol=rtol, atol=atol)
    if not np.all(close):
        idx = tuple(int(i) for i in np.argwhere(~close)[0])
        err = float(np.max(np.abs(arr.astype(np.float64) - exp.astype(np.float64))))
        detail = (f"got {fmt(arr)}\nexpected {fmt(exp)}\n"
                  f"first difference at index {idx}: got {arr[idx].item()!r}, expected {exp[idx].item()!r} "
                  f"(max error {err:.3g})")
        fail(f"{what} has wrong values.", detail, inputs=inputs,
             hint=_matching_hint(arr, wrong) or hint)


def check_close(got: float, expected: float, what: str, *, rtol: float = 1e-5,
                atol: float = 1e-6, inputs: dict | None = None, hint: str = "") -> None:
    """Compare two scalars (a loss, a norm, a count) with a message."""
    if not np.isclose(float(got), float(expected), rtol=rtol, atol=atol):
        fail(f"{what} is wrong.", f"got {float(got)!r}, expected {float(expected)!r}",
             inputs=inputs, hint=hint)


def _matching_hint(arr: np.ndarray, wrong: Iterable[tuple[Any, str]]) -> str:
    for value, why in wrong:
        try:
            cand = np.asarray(_raw(value))
        except Exception:  # a wrong-answer candidate that cannot even be formed
            continue
        if cand.shape == arr.shape and np.allclose(arr, cand, rtol=1e-4, atol=1e-5):
            return why
    return ""


# ---------------------------------------------------------------- gradients

def check_grad(f: Callable[..., Any], inputs: Sequence[np.ndarray], *, Tensor: type,
               what: str, seed: int = 0, eps: float = 1e-6, rtol: float = 1e-4,
               atol: float = 1e-6, hint: str = "") -> None:
    """Check reverse-mode gradients of `f(*tensors) -> Tensor` by finite differences.

    Float64 throughout. With a random upstream gradient v and, for each input i, a random
    direction u_i, compare <u_i, dL/dx_i> from `out.backward(v)` with the central
    difference <(f(x + eps u_i) - f(x - eps u_i)) / 2 eps, v>. One input at a time, so the
    message names the input whose gradient is wrong; shapes are checked first.
    """
    rng = np.random.default_rng(seed)
    xs = [np.asarray(x, dtype=np.float64) for x in inputs]
    names = {f"x{i}": x for i, x in enumerate(xs)}
    ts = [Tensor(x.copy(), requires_grad=True) for x in xs]
    out = f(*ts)
    out_data = np.asarray(out.data)
    v = rng.standard_normal(out_data.shape)
    out.backward(v)

    def value(arrays):
        return np.asarray(f(*[Tensor(a) for a in arrays]).data, dtype=np.float64)

    for i, (x, t) in enumerate(zip(xs, ts)):
        g = t.grad
        if g is None:
            fail(f"{what}: input x{i} received no gradient.",
                 "after backward(), its .grad is None", inputs=names,
                 hint=hint or "was the operation recorded in the graph, and its inputs kept?")
        g = np.asarray(_raw(g), dtype=np.float64)
        if g.shape != x.shape:
            fail(f"{what}: the gradient of x{i} has the wrong shape.",
                 f"got {g.shape}, expected {x.shape} (the shape of x{i} itself)", inputs=names,
                 hint="did you sum the gradient over the axes that broadcasting added?")
        u = rng.standard_normal(x.shape)
        plus = [a if j != i else a + eps * u for j, a in enumerate(xs)]
        minus = [a if j != i else a - eps * u for j, a in enumerate(xs)]
        numeric = float(np.sum((value(plus) - value(minus)) / (2 * eps) * v))
        analytic = float(np.sum(u * g))
        if not np.isclose(analytic, numeric, rtol=rtol, atol=atol * max(1.0, np.abs(v).sum())):
            fail(f"{what}: the gradient of x{i} disagrees with finite differences.",
                 f"along a random direction: backward gives {analytic:.6g}, "
                 f"finite differences give {numeric:.6g}\nupstream gradient = {fmt(v)}\n"
                 f"your gradient of x{i} = {fmt(g)}",
                 inputs=names, hint=hint)


# ---------------------------------------------------------------- provenance

def _defining_files(obj: Any) -> list[str]:
    files = []
    if inspect.isclass(obj):
        for member in vars(obj).values():
            code = getattr(getattr(member, "__func__", member), "__code__", None)
            if code is not None:
                files.append(code.co_filename)
    code = getattr(obj, "__code__", None)
    if code is not None:
        files.append(code.co_filename)
    module = inspect.getmodule(obj)
    if module is not None and getattr(module, "__file__", None):
        files.append(module.__file__)
    return files


def assert_from_kata(obj: Any, kata_id: str) -> None:
    """Fail unless `obj` is defined in a file of the learner's kata folder.

    Guards against grading something else (a reference solution, an installed package).
    Symlinks are resolved; a shim module is recognised by its code's file name.
    """
    folder = os.path.realpath(BY_ID[kata_id].path)
    files = [os.path.realpath(f) for f in _defining_files(obj)]
    if not any(f.startswith(folder + os.sep) for f in files):
        where = files[0] if files else "an unknown place"
        fail(f"The code under test must come from your kata folder katas/{kata_id}/.",
             f"{getattr(obj, '__qualname__', obj)!s} was loaded from {where}",
             hint="import earlier katas only through `tinytorch`, and keep your code in the kata's files")


# ---------------------------------------------------------------- autograd sessions

# Modules whose classes and functions kata 06's enable_autograd() may patch.
_AUTOGRAD_PATCHED_MODULES = (
    "tinytorch.core.tensor", "tinytorch.core.activations",
    "tinytorch.core.layers", "tinytorch.core.losses",
)


def _autograd_owners() -> list:
    """The modules above and every class they define (Tensor, Sigmoid, ..., MSELoss, ...)."""
    owners = []
    for name in _AUTOGRAD_PATCHED_MODULES:
        module = importlib.import_module(name)
        owners.append(module)
        owners.extend(v for v in vars(module).values()
                      if inspect.isclass(v) and v.__module__ == module.__name__)
    return owners


def autograd_snapshot() -> list:
    """The current attributes of every patchable class and module, to restore later."""
    return [(owner, dict(vars(owner))) for owner in _autograd_owners()]


def autograd_restore(state: list) -> None:
    """Put back exactly the attributes recorded by `autograd_snapshot()`."""
    missing = object()
    for owner, saved in state:
        current = vars(owner)
        for key in [k for k in current if k not in saved]:
            delattr(owner, key)
        for key, value in saved.items():
            if current.get(key, missing) is not value:
                setattr(owner, key, value)


@contextlib.contextmanager
def autograd_session():
    """Import the learner's kata-06 autograd, call enable_autograd(), yield the module,
    then restore every patched class and function (Tensor ops, activation and loss
    `forward`s, `losses.log_softmax`), so tests of other katas in the same process see the
    classes as they were. Use it in a module-scoped autouse fixture:

        @pytest.fixture(scope="module", autouse=True)
        def autograd():
            with checks.autograd_session() as ag:
                yield ag
    """
    state = autograd_snapshot()
    try:
        ag = importlib.import_module("tinytorch.core.autograd")
        ag.enable_autograd()
        from tinytorch.core.tensor import Tensor
        if not callable(getattr(Tensor, "backward", None)):
            fail("enable_autograd() did not give Tensor a backward() method.",
                 hint="enable_autograd() must patch the Tensor class every time the class is "
                      "not patched yet: to stay idempotent, look at the class (a marker on the "
                      "wrapped methods), not at a module-level 'already done' flag")
        yield ag
    finally:
        autograd_restore(state)
