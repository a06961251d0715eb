"""Helpers shared by kata 06's hidden test modules (not collected: the name is not test_*).

Each test module keeps its own module-scoped `autograd` fixture; these helpers only build
float64 leaves, check that an operation was recorded, run finite-difference gradient
checks and turn a learner's crash into a teaching message.
"""
from __future__ import annotations

import numpy as np

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

F64 = np.float64


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


def leaves(xs):
    """float64 leaf Tensors that require grad, one per array of xs."""
    return [Tensor(np.array(x, dtype=F64), requires_grad=True) for x in xs]


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


def gradcheck(f, xs, what, op, hint="", who="It"):
    """Recorded?, then finite differences; a crash inside backward becomes a message."""
    inputs = {f"x{i}": x for i, x in enumerate(xs)}
    recorded(f(*leaves(xs)), what, op, who)
    e = crash_of(lambda: checks.check_grad(f, xs, Tensor=Tensor, what=what, hint=hint))
    if e is not None:
        checks.fail(f"{what}: computing the gradient raised {type(e).__name__}.", str(e),
                    inputs=inputs, hint=hint)
