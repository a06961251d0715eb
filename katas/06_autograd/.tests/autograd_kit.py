"""Helpers shared by kata 06's hidden test modules (not collected: the name is not test_*).

Each test module keeps its own module-scoped `autograd` fixture (`session`); these helpers
build float64 leaves, check that an operation was recorded, run finite-difference gradient
checks, put the unpatched classes back for a moment, and turn a learner's crash into a
teaching message.
"""
from __future__ import annotations

import contextlib
import copy

import numpy as np

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

F64 = np.float64
SHAPE_HINT = ("a gradient has the shape of its input: sum it over the axes broadcasting "
              "added or stretched, reshape it back, put reduced axes back")


@contextlib.contextmanager
def session(original: list):
    """The module's autograd session; `original` receives the classes as they were before."""
    original[:] = [checks.autograd_snapshot()]
    with checks.autograd_session() as ag:
        yield ag


@contextlib.contextmanager
def unpatched(original: list):
    """Put back the classes as they were before enable_autograd(), for the block only."""
    patched = checks.autograd_snapshot()
    checks.autograd_restore(original[0])
    try:
        yield
    finally:
        checks.autograd_restore(patched)


@contextlib.contextmanager
def state_restored(module):
    """Around one test: a learner bug that leaves state behind (grad mode still off after an
    exception) must fail its own test only. The grader restores the names bound in the
    learner's modules; this also puts back the attributes of the classes this module
    defines (grad mode kept on `no_grad` itself), the patched classes, and the contents of
    the module's top-level dicts, lists and sets."""
    classes = [(c, dict(vars(c))) for c in vars(module).values()
               if isinstance(c, type) and c.__module__ == module.__name__]
    containers = {k: (v, copy.copy(v)) for k, v in vars(module).items()
                  if type(v) in (dict, list, set)}
    patched = checks.autograd_snapshot()
    try:
        yield
    finally:
        checks.autograd_restore(patched + classes)
        for obj, saved in containers.values():
            if obj != saved:
                obj.clear()
                obj.update(saved) if isinstance(obj, (dict, set)) else obj.extend(saved)


def crash_of(run):
    """Run run(); return the exception it raised, if any (a stub's NotImplementedError is
    re-raised: the grader reports it as "not started"). Failing outside the `except`
    block keeps the learner's message free of a chained traceback."""
    try:
        run()
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001 - a learner's crash becomes a teaching message
        return e
    return None


def leaves(xs, dtype=F64):
    """Leaf Tensors that require grad, one per array of xs."""
    return [Tensor(np.array(x, dtype=dtype), requires_grad=True) for x in xs]


def recorded(out, what, op, who="It"):
    """Fail unless out is a Tensor that requires grad. `who` opens the hint's second
    sentence ("<who> must record a Function when one of its inputs requires grad")."""
    if not isinstance(out, Tensor):
        checks.fail(f"{what} must return a Tensor.", f"got {type(out).__name__}: {checks.fmt(out)}")
    if not out.requires_grad:
        checks.fail(f"{what} on a tensor that requires grad must return a tensor that requires "
                    "grad: the operation must be recorded in the graph.",
                    "got requires_grad=False",
                    hint=f"is {op} wrapped by enable_autograd()? {who} must record a Function "
                         "when one of its inputs requires grad")


def leaf_grad(t, what, name, inputs, hint=""):
    """A leaf's .grad after backward(), checked to be an ndarray (the API's promise)."""
    g = t.grad
    if g is None:
        checks.fail(f"{what}: input {name} received no gradient.", "after backward(), its .grad "
                    "is None", inputs=inputs,
                    hint=hint or "was the operation recorded, and does backward reach every leaf?")
    if type(g) is not np.ndarray:
        checks.fail(f"{what}: the .grad of {name} must be a NumPy array (not a Tensor).",
                    f"got {type(g).__module__}.{type(g).__qualname__}", inputs=inputs,
                    hint="store plain ndarrays in .grad (not Tensors, not Python floats)")
    return g


def gradcheck(f, xs, what, op, hint="", who="It", shape_hint="", seed=0, eps=1e-6,
              rtol=1e-4, atol=1e-6):
    """Recorded?, then each input's gradient against central differences, in float64.

    With a random upstream gradient v and a random direction u_i per input, compare
    <u_i, dL/dx_i> from out.backward(v) with <(f(x + eps u_i) - f(x - eps u_i)) / 2 eps, v>.
    A crash inside backward becomes a message; a wrong gradient shape gets `shape_hint`.
    """
    xs = [np.asarray(x, dtype=F64) for x in xs]
    inputs = {f"x{i}": x for i, x in enumerate(xs)}
    ts = leaves(xs)
    out = f(*ts)
    recorded(out, what, op, who)
    rng = np.random.default_rng(seed)
    v = np.asarray(rng.standard_normal(np.shape(out.data)))
    e = crash_of(lambda: out.backward(v))
    if e is not None:
        checks.fail(f"{what}: computing the gradient raised {type(e).__name__}.", str(e),
                    inputs=inputs, hint=hint)

    def value(arrays):
        return np.asarray(f(*[Tensor(a) for a in arrays]).data, dtype=F64)

    for i, (x, t) in enumerate(zip(xs, ts)):
        g = leaf_grad(t, what, f"x{i}", inputs, hint)
        if g.shape != x.shape:
            checks.fail(f"{what}: the gradient of x{i} has the wrong shape.",
                        f"got {g.shape}, expected {x.shape} (the shape of x{i} itself)",
                        inputs=inputs, hint=shape_hint or SHAPE_HINT)
        u = rng.standard_normal(x.shape)
        plus = [a if j != i else a + eps * u for j, a in enumerate(xs)]
        minus = [a if j != i else a - eps * u for j, a in enumerate(xs)]
        numeric = float(np.sum((value(plus) - value(minus)) / (2 * eps) * v))
        analytic = float(np.sum(u * np.asarray(g, dtype=F64)))
        tol = atol * max(1.0, np.abs(v).sum())
        if not np.isclose(analytic, numeric, rtol=rtol, atol=tol):
            flipped = abs(numeric) > tol and np.isclose(analytic, -numeric, rtol=rtol, atol=tol)
            checks.fail(f"{what}: the gradient of x{i} disagrees with finite differences.",
                        f"along a random direction: backward gives {analytic:.6g}, "
                        f"finite differences give {numeric:.6g}\nupstream gradient = "
                        f"{checks.fmt(v)}\nyour gradient of x{i} = {checks.fmt(g)}",
                        inputs=inputs,
                        hint=(f"the gradient of x{i} has the wrong sign (it is the negative of "
                              "the right one); " + hint) if flipped else hint)
