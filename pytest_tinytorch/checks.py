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
    "check_close", "check_grad", "assert_from_kata", "fmt", "dtype_diagnosis", "precision_hint",
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


def _printed(data: np.ndarray, precision: int) -> str:
    with np.printoptions(precision=precision, suppress=True, threshold=40, edgeitems=3):
        return np.array2string(data, separator=", ")


def fmt(value: Any, limit: int = 300, precision: int = 4) -> str:
    """A compact, readable rendering of an array or tensor for failure messages."""
    data = _raw(value)
    if isinstance(data, np.ndarray):
        text = f"{_printed(data, precision)} (shape {data.shape}, {data.dtype})"
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
    try:
        pytest.fail("\n".join(lines), pytrace=False)
    except pytest.fail.Exception as failure:  # raised inside an `except`: no chained error
        raise failure from None


def raised(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Exception | None:
    """The exception fn(*args, **kwargs) raises, or None. The stub's NotImplementedError
    propagates (the plugin reports it as "not started"); any other crash of learner code is
    returned, so the test fails outside the except block with the property, not a chain of
    tracebacks."""
    try:
        fn(*args, **kwargs)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - any crash of learner code is a verdict
        return exc
    return None


def _as_array(value: Any) -> np.ndarray | None:
    """The learner's value as a plain ndarray (None if it is not one).

    Subclasses of ndarray and foreign array types are refused, never converted: their
    comparisons and ufuncs are theirs to redefine.
    """
    data = _raw(value)
    if type(data) is np.ndarray:
        return data
    if isinstance(data, np.generic) and type(data).__module__ == "numpy":
        return np.array(data, subok=False)
    if type(data) in (int, float, bool):
        return np.asarray(data)
    return None


def check_shape(got: Any, shape: Sequence[int], what: str, *, inputs: dict | None = None,
                hint: str = "") -> None:
    got_shape = getattr(got, "shape", None)
    if got_shape is None:
        arr = _as_array(got)
        got_shape = arr.shape if arr is not None else None
    if not isinstance(got_shape, tuple) or tuple(got_shape) != tuple(shape):
        fail(f"{what} has the wrong shape.", f"got shape {got_shape}, expected {tuple(shape)}",
             inputs=inputs, hint=hint)


def dtype_diagnosis(got: np.dtype, expected: np.dtype) -> str:
    """Why a result has the wrong dtype, from the direction of the change."""
    if np.issubdtype(expected, np.floating) and got == np.float64 and expected == np.float32:
        return ("float64 leaked into a float32 result: a float64 value joined the computation "
                "(an np.float64 constant, np.random draws, np.array of Python floats, "
                "dtype=np.float64); cast it to the input's dtype")
    if got == np.float32 and expected == np.float64:
        return ("float64 was lost: float64 inputs must give float64 results (no "
                "astype(np.float32) or dtype=np.float32 on float64 data)")
    if not np.issubdtype(got, np.floating) and np.issubdtype(expected, np.floating):
        return f"the result must be floating point ({expected}), not {got}: cast integer or bool values"
    return ""


def check_array(got: Any, expected: Any, what: str, *, inputs: dict | None = None,
                type_: type | None = None, dtype: Any = None, rtol: float | None = None,
                atol: float | None = None, wrong: Iterable[tuple[Any, str]] = (),
                hint: str = "", type_hint: str = "", shape_hint: str = "", dtype_hint: str = "",
                nan_hint: str = "") -> None:
    """Staged comparison: type, shape, dtype, finiteness, then values.

    `type_` is the class `got` must be (e.g. the learner's Tensor); its `.data` is then
    compared. `wrong` lists (value, hint) pairs of known wrong answers: a hint is shown
    only when `got` matches one of them clearly better than the expected value. `hint`
    belongs to the value stage; the type, shape, dtype and NaN stages have hints of their
    own (`type_hint`, `shape_hint`, `dtype_hint`, `nan_hint`, else one derived from what
    went wrong).
    """
    if type_ is not None and not isinstance(got, type_):
        fail(f"{what} must return a {type_.__name__}.", f"got {type(got).__name__}: {fmt(got)}",
             inputs=inputs, hint=type_hint)
    arr = _as_array(got)
    exp = np.asarray(_raw(expected))
    if arr is None:
        held = type(_raw(got))
        fail(f"{what} must hold a plain NumPy array.", f"got {held.__module__}.{held.__qualname__}",
             inputs=inputs, hint="store results as np.ndarray (not a subclass, list or other type)")
    if arr.shape != exp.shape:
        fail(f"{what} has the wrong shape.", f"got shape {arr.shape}, expected {exp.shape}",
             inputs=inputs, hint=_matching_hint(arr, None, wrong) or shape_hint)
    if dtype is not None and arr.dtype != np.dtype(dtype):
        fail(f"{what} has the wrong dtype.", f"got {arr.dtype}, expected {np.dtype(dtype)}",
             inputs=inputs, hint=dtype_hint or dtype_diagnosis(arr.dtype, np.dtype(dtype)))
    unexpected = (~np.isfinite(arr) & np.isfinite(exp)) if np.issubdtype(arr.dtype, np.number) \
        and np.issubdtype(exp.dtype, np.number) else np.zeros(arr.shape, bool)
    if np.any(unexpected):  # inf is fine where it is expected (a -inf fill, a log of 0)
        bad = tuple(int(i) for i in np.argwhere(unexpected)[0])
        fail(f"{what} contains NaN or inf.", f"first at index {bad}: {arr[bad].item()}",
             inputs=inputs, hint=nan_hint or "look for overflow in exp, a log of 0 or a division by zero")
    if rtol is None or atol is None:
        tight = arr.dtype == np.float64 and exp.dtype == np.float64
        rtol = rtol if rtol is not None else (1e-9 if tight else 1e-5)
        atol = atol if atol is not None else (1e-9 if tight else 1e-5)
    close = np.isclose(arr, exp, rtol=rtol, atol=atol)
    if not np.all(close):
        fail(f"{what} has wrong values.", value_difference(arr, exp, close), inputs=inputs,
             hint=_matching_hint(arr, exp, wrong) or precision_hint(arr, exp) or hint)


def value_difference(arr: np.ndarray, exp: np.ndarray, close: np.ndarray) -> str:
    """Got, expected and the first difference, with enough digits to see it."""
    idx = tuple(int(i) for i in np.argwhere(~close)[0])
    err = float(np.max(np.abs(arr.astype(np.float64) - exp.astype(np.float64))))
    precision = 4
    while _printed(arr, precision) == _printed(exp, precision) and precision < 17:
        precision += 2
    return (f"got {fmt(arr, precision=precision)}\nexpected {fmt(exp, precision=precision)}\n"
            f"first difference at index {idx}: got {arr[idx].item()!r}, expected {exp[idx].item()!r} "
            f"(max error {err:.3g})")


ULPS = 64  # at most this many units in the last place: rounding, not a wrong formula


def precision_hint(arr: np.ndarray, exp: np.ndarray) -> str:
    """A precision diagnosis when the error is a few ulps of the values' magnitude."""
    if not (np.issubdtype(arr.dtype, np.floating) and np.issubdtype(exp.dtype, np.number)):
        return ""
    eps = float(np.finfo(arr.dtype if arr.dtype.itemsize <= exp.dtype.itemsize else exp.dtype).eps)
    diff = np.abs(arr.astype(np.float64) - exp.astype(np.float64))
    scale = max(float(np.max(np.abs(exp.astype(np.float64)))), float(np.finfo(np.float32).tiny))
    ulps = float(np.max(diff)) / (eps * scale)
    if ulps > ULPS:
        return ""
    kind = np.dtype(arr.dtype).name
    return (f"precision, not logic: your values differ from the expected ones by about "
            f"{max(ulps, 1):.0f} unit(s) in the last place of {kind} at their magnitude "
            f"(~{scale:.3g}); look for a different order of operations, a rounding step "
            f"(a float32 constant or cast) where the input's precision should be kept, or "
            f"cancellation between large terms")


def check_close(got: float, expected: float, what: str, *, rtol: float = 1e-5,
                atol: float = 1e-6, inputs: dict | None = None, hint: str = "") -> None:
    """Compare two scalars (a loss, a norm, a count) with a message."""
    value = _as_array(got)
    if value is None or value.size != 1:
        fail(f"{what} must be a single number.", f"got {fmt(got)}", inputs=inputs)
    got_f = float(value.reshape(()))
    if not np.isclose(got_f, float(expected), rtol=rtol, atol=atol):
        fail(f"{what} is wrong.", f"got {got_f!r}, expected {float(expected)!r}",
             inputs=inputs, hint=precision_hint(np.asarray(got_f), np.asarray(float(expected))) or hint)


MATCH = 1e-4  # a wrong answer matches when within this fraction of the values' magnitude
CLEAR_WIN = 10.0  # ... and is this many times closer to `got` than the expected value is


def _matching_hint(arr: np.ndarray, exp: np.ndarray | None, wrong: Iterable[tuple[Any, str]]) -> str:
    """The hint of the known wrong answer that `arr` clearly matches, else ''.

    Distances are relative to the magnitude of the values (near zero every candidate
    would match a fixed tolerance), and a candidate must fit `arr` clearly better than
    the expected value does, or it explains nothing.
    """
    if not np.issubdtype(arr.dtype, np.number):
        return ""
    got = arr.astype(np.float64)
    target = None if exp is None else np.asarray(exp, dtype=np.float64)
    for value, why in wrong:
        try:
            cand = np.asarray(_raw(value), dtype=np.float64)
        except Exception:  # a wrong-answer candidate that cannot even be formed
            continue
        if cand.shape != got.shape or not np.all(np.isfinite(cand)):
            continue
        scale = max(float(np.max(np.abs(cand), initial=0.0)), float(np.max(np.abs(got), initial=0.0)),
                    1e-30)
        to_wrong = float(np.max(np.abs(got - cand), initial=0.0))
        if to_wrong > MATCH * scale:
            continue
        if target is not None:
            to_expected = float(np.max(np.abs(got - target), initial=0.0))
            if to_expected < CLEAR_WIN * to_wrong:
                continue
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

def _code_files(obj: Any) -> list[str]:
    """The files the code of a function or of a class's own methods was compiled from."""
    members = vars(obj).values() if inspect.isclass(obj) else [obj]
    files = []
    for member in members:
        member = getattr(member, "fget", member)  # properties
        code = getattr(getattr(member, "__func__", member), "__code__", None)
        if code is not None:
            files.append(code.co_filename)
    return files


def assert_from_kata(obj: Any, kata_id: str) -> None:
    """Fail unless `obj` is defined in a file of the learner's kata folder.

    Guards against grading something else (a reference solution, an installed package).
    Symlinks are resolved; a shim module is recognised by its code's file name.
    """
    folder = os.path.realpath(BY_ID[kata_id].path)
    katas = os.path.realpath(BY_ID[kata_id].path.parent)
    files = [os.path.realpath(f) if not f.startswith("<") else f for f in _code_files(obj)]
    module = inspect.getmodule(obj)
    if not files and module is not None and getattr(module, "__file__", None):
        files = [os.path.realpath(module.__file__)]  # no code of its own (a constant, a class without methods)
    # Some code must come from this kata, and none from a string or from elsewhere in the
    # repository (the reference): kata 06 adds methods from its own file, and library
    # decorators (functools, contextlib) bring their own helpers, which is fine.
    root = os.path.realpath(BY_ID[kata_id].path.parent.parent)
    foreign = [f for f in files if f.startswith("<")
               or (f.startswith(root + os.sep) and not f.startswith(katas + os.sep))]
    if not files or foreign or not any(f.startswith(folder + os.sep) for f in files):
        where = (foreign or files or ["an unknown place"])[0]
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
