"""Hidden tests for kata 06: the promises of the API beyond gradient values.

Which Function each op records and what it holds, leaves and constants, the dtype and
identity of `.grad`, constants kept at full precision, what `enable_autograd()` prints,
that importing the module patches nothing, and how the wrappers treat an original
forward (inner calls add no nodes, an original that returns its input still gets a node
of its own, `view` is wrapped itself). Some tests put the unpatched classes back for a
moment and replace one original method with a variant a kata-01 solution could have.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from pytest_tinytorch import checks
from tinytorch.core import losses
from tinytorch.core.activations import GELU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.autograd import Function, no_grad
from tinytorch.core.losses import BinaryCrossEntropyLoss, CrossEntropyLoss, MSELoss
from tinytorch.core.tensor import Tensor

import autograd_kit
from autograd_kit import F64, crash_of, gradcheck, leaf_grad, leaves, recorded

ORIGINAL = []  # the classes as they were before enable_autograd()


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with autograd_kit.session(ORIGINAL) as ag:
        yield ag


@pytest.fixture(autouse=True)
def _fresh_state(autograd):
    with autograd_kit.state_restored(autograd):
        yield


def unpatched():
    return autograd_kit.unpatched(ORIGINAL)


def test_autograd_comes_from_your_kata(autograd):
    checks.assert_from_kata(autograd.enable_autograd, "06_autograd")
    checks.assert_from_kata(Function, "06_autograd")


# ---------------------------------------------------------------- importing, printing

def test_importing_the_module_patches_nothing(autograd):
    """The classes seen before enable_autograd() must hold no function of this kata."""
    own = os.path.realpath(autograd.__file__)
    early = []
    for owner, saved in ORIGINAL[0]:
        for key, value in saved.items():
            code = getattr(getattr(value, "__func__", value), "__code__", None)
            if code is not None and os.path.realpath(code.co_filename) == own:
                early.append(f"{getattr(owner, '__name__', owner)}.{key}")
    if early:
        checks.fail("importing tinytorch.core.autograd patched classes by itself, before "
                    "enable_autograd() was called.",
                    f"already replaced at import: {', '.join(early[:6])}",
                    hint="do not call enable_autograd() at module level (TinyTorch's file does): "
                         "`import tinytorch` switches it on for scripts, and the graders must "
                         "import your module with the classes untouched")


def _printed(capsys, run, what):
    capsys.readouterr()
    e = crash_of(run)
    out = capsys.readouterr()
    if e is not None:
        checks.fail(f"{what} raised {type(e).__name__}.", str(e),
                    hint="enable_autograd(quiet: bool = False): accept the quiet argument")
    return out.out, out.err


def test_enable_autograd_prints_one_line_unless_quiet(autograd, capsys):
    def loud(what, out):
        lines = out.strip().splitlines()
        if len(lines) != 1 or "autograd enabled" not in lines[0].lower():
            checks.fail(f"{what} must print one line containing 'autograd enabled'.",
                        f"it printed {out!r}",
                        hint="print the line at every call unless quiet=True, also when every "
                             "method is wrapped already (a second call still confirms)")

    def silent(what, out, err):
        if out or err:
            checks.fail(f"{what} must print nothing.", f"it printed {(out + err)!r}",
                        hint="with quiet=True print nothing at all (tinytorch's import uses it)")

    with unpatched():
        out, _ = _printed(capsys, autograd.enable_autograd, "enable_autograd()")
        loud("enable_autograd() on unpatched classes", out)
    out, _ = _printed(capsys, autograd.enable_autograd, "enable_autograd()")
    loud("enable_autograd() when everything is wrapped already", out)
    with unpatched():
        out, err = _printed(capsys, lambda: autograd.enable_autograd(quiet=True),
                            "enable_autograd(quiet=True)")
        silent("enable_autograd(quiet=True) on unpatched classes", out, err)
    out, err = _printed(capsys, lambda: autograd.enable_autograd(quiet=True),
                        "enable_autograd(quiet=True)")
    silent("enable_autograd(quiet=True) when everything is wrapped already", out, err)


# ---------------------------------------------------------------- recorded Functions

CONST = 2.5
LABELS = np.array([0, 3, 1])


def _cases():
    """name -> (build(x, y, w, c) -> out, Function class name, expected inputs).

    x and y are (3, 4) leaves, w a (4, 2) leaf, c a (3, 4) constant Tensor; an expected
    input is one of those names, or ("const", value) for a constant made into a Tensor.
    """
    k = ("const", CONST)
    return {
        "x + y": (lambda x, y, w, c: x + y, "Add", ["x", "y"]),
        "x + 2.5": (lambda x, y, w, c: x + CONST, "Add", ["x", k]),
        "2.5 + x": (lambda x, y, w, c: CONST + x, "Add", [k, "x"]),
        "x - y": (lambda x, y, w, c: x - y, "Sub", ["x", "y"]),
        "2.5 - x": (lambda x, y, w, c: CONST - x, "Sub", [k, "x"]),
        "x * y": (lambda x, y, w, c: x * y, "Mul", ["x", "y"]),
        "x * c": (lambda x, y, w, c: x * c, "Mul", ["x", "c"]),
        "2.5 * x": (lambda x, y, w, c: CONST * x, "Mul", [k, "x"]),
        "x / y": (lambda x, y, w, c: x / y, "Div", ["x", "y"]),
        "2.5 / x": (lambda x, y, w, c: CONST / x, "Div", [k, "x"]),
        "-x": (lambda x, y, w, c: -x, "Neg", ["x"]),
        "x ** 2": (lambda x, y, w, c: x ** 2, "Pow", ["x"]),
        "x @ w": (lambda x, y, w, c: x @ w, "MatMul", ["x", "w"]),
        "x.matmul(w)": (lambda x, y, w, c: x.matmul(w), "MatMul", ["x", "w"]),
        "x.reshape(4, 3)": (lambda x, y, w, c: x.reshape(4, 3), "Reshape", ["x"]),
        "x.view(-1)": (lambda x, y, w, c: x.view(-1), "Reshape", ["x"]),
        "x.contiguous()": (lambda x, y, w, c: x.contiguous(), "Contiguous", ["x"]),
        "x.transpose()": (lambda x, y, w, c: x.transpose(), "Transpose", ["x"]),
        "x[1:]": (lambda x, y, w, c: x[1:], "GetItem", ["x"]),
        "x.masked_fill(c > 0, 0.0)": (lambda x, y, w, c: x.masked_fill(c.data > 0, 0.0),
                                      "MaskedFill", ["x"]),
        "x.sum(axis=0)": (lambda x, y, w, c: x.sum(axis=0), "Sum", ["x"]),
        "x.mean()": (lambda x, y, w, c: x.mean(), "Mean", ["x"]),
        "x.max(axis=1)": (lambda x, y, w, c: x.max(axis=1), "Max", ["x"]),
        "Sigmoid()(x)": (lambda x, y, w, c: Sigmoid()(x), "SigmoidFn", ["x"]),
        "ReLU()(x)": (lambda x, y, w, c: ReLU()(x), "ReLUFn", ["x"]),
        "Tanh()(x)": (lambda x, y, w, c: Tanh()(x), "TanhFn", ["x"]),
        "GELU()(x)": (lambda x, y, w, c: GELU()(x), "GELUFn", ["x"]),
        "Softmax()(x)": (lambda x, y, w, c: Softmax()(x), "SoftmaxFn", ["x"]),
        "log_softmax(x)": (lambda x, y, w, c: losses.log_softmax(x), "LogSoftmaxFn", ["x"]),
        "MSELoss()(x, c)": (lambda x, y, w, c: MSELoss()(x, c), "MSEFn", ["x", "c"]),
        "CrossEntropyLoss()(x, labels)": (lambda x, y, w, c: CrossEntropyLoss()(x, LABELS),
                                          "CrossEntropyFn", ["x", ("const", LABELS)]),
        "BinaryCrossEntropyLoss()(y, c)": (
            lambda x, y, w, c: BinaryCrossEntropyLoss()(y, c), "BinaryCrossEntropyFn",
            ["y", "c"]),
    }


CASES = _cases()
FUNCTION_HINT = ("the wrapper records `fn_class(*inputs, **attrs)`: the op's own Function "
                 "subclass, holding the operands in operand order (for 2.5 - x: the constant "
                 "first), each a Tensor")


@pytest.mark.parametrize("name", list(CASES))
def test_recorded_function_class_and_inputs(autograd, name):
    build, class_name, spec = CASES[name]
    rng = np.random.default_rng(11)
    x, y = leaves([rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0.1, 0.9, (3, 4))])
    (w,) = leaves([rng.uniform(-1, 1, (4, 2))])
    c = Tensor(np.round(rng.uniform(0.1, 1, (3, 4)), 1).astype(F64))
    named = {"x": x, "y": y, "w": w, "c": c}
    cls = getattr(autograd, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Function)):
        checks.fail(f"tinytorch.core.autograd must define {class_name}, a subclass of Function.",
                    f"got {cls!r}", hint="the API names one Function subclass per op; keep "
                                         "these names")
    out = build(x, y, w, c)
    recorded(out, name, "this op")
    fn = out._grad_fn
    if not isinstance(fn, cls):
        checks.fail(f"{name} must record a {class_name} in _grad_fn.",
                    f"got {type(fn).__name__}: {fn!r}", hint=FUNCTION_HINT)
    inputs = getattr(fn, "inputs", None)
    if type(inputs) is not tuple:
        checks.fail(f"{name}: the recorded {class_name}'s .inputs must be a tuple.",
                    f"got {type(inputs).__name__}: {inputs!r}",
                    hint="Function.__init__(self, *inputs, **attrs) stores self.inputs = inputs")
    if len(inputs) != len(spec):
        checks.fail(f"{name}: the recorded {class_name} must hold {len(spec)} input(s).",
                    f"got {len(inputs)}", hint=FUNCTION_HINT)
    for i, (got, want) in enumerate(zip(inputs, spec)):
        if not isinstance(got, Tensor):
            checks.fail(f"{name}: input {i} of the recorded {class_name} must be a Tensor.",
                        f"got {type(got).__name__}: {got!r}",
                        hint="turn constants (Python numbers, ndarrays) into Tensors without "
                             "requires_grad when you build the Function, so backward reads "
                             ".data uniformly")
        if isinstance(want, str):
            if named[want].requires_grad and got is not named[want]:
                checks.fail(f"{name}: input {i} of the recorded {class_name} must be {want} "
                            "itself, the very Tensor passed in.",
                            "got another Tensor (a copy?): gradients would never reach "
                            f"{want}", hint=FUNCTION_HINT)
            if not named[want].requires_grad and not np.array_equal(got.data, named[want].data):
                checks.fail(f"{name}: input {i} of the recorded {class_name} must hold {want}'s "
                            "values.", f"got {checks.fmt(got)}", hint=FUNCTION_HINT)
        else:
            value = want[1]
            if got.requires_grad or not np.array_equal(np.asarray(got.data), value):
                checks.fail(f"{name}: input {i} of the recorded {class_name} must be the "
                            f"constant {checks.fmt(value)} as a Tensor without requires_grad.",
                            f"got {checks.fmt(got)} with requires_grad={got.requires_grad}",
                            hint=FUNCTION_HINT)
    v = np.array(rng.standard_normal(out.shape))
    result = []
    e = crash_of(lambda: result.append(fn.backward(v)))
    if e is not None:
        checks.fail(f"{name}: the recorded {class_name}.backward(grad) raised "
                    f"{type(e).__name__}.", str(e), hint="backward(grad) receives an ndarray of "
                                                         "the output's shape")
    grads = result[0]
    if type(grads) is not tuple or len(grads) != len(inputs):
        checks.fail(f"{name}: {class_name}.backward(grad) must return a tuple with one "
                    f"gradient (or None) per input ({len(inputs)}).",
                    f"got {type(grads).__name__}: {checks.fmt(grads)}",
                    hint="return (g,) for one input, (ga, gb) for two, even when one is None")


def test_function_stores_inputs_and_attributes(autograd):
    a, b = Tensor(np.ones(2)), Tensor(np.zeros(3))
    fn = Function(a, b, axis=1, keepdims=True)
    inputs = getattr(fn, "inputs", None)
    if type(inputs) is not tuple or len(inputs) != 2 or inputs[0] is not a or inputs[1] is not b:
        checks.fail("Function(a, b, axis=1, keepdims=True).inputs must be the tuple (a, b).",
                    f"got {inputs!r}", hint="store self.inputs = inputs (the tuple *inputs)")
    if getattr(fn, "axis", None) != 1 or getattr(fn, "keepdims", None) is not True:
        checks.fail("Function(a, b, axis=1, keepdims=True) must store each keyword as an "
                    "attribute (.axis == 1, .keepdims is True).",
                    f"got axis={getattr(fn, 'axis', None)!r}, "
                    f"keepdims={getattr(fn, 'keepdims', None)!r}",
                    hint="setattr(self, name, value) for every keyword argument")


def _grad_fn_of(t, what):
    missing = object()
    fn = getattr(t, "_grad_fn", missing)
    if fn is missing:  # failing outside an `except` keeps the message free of a traceback
        checks.fail(f"{what} has no _grad_fn attribute.",
                    hint="leaves and constants have _grad_fn None: set Tensor._grad_fn = None "
                         "on the class in enable_autograd()")
    return fn


def test_leaves_and_constants_have_no_grad_fn():
    x, c = Tensor(np.ones(3), requires_grad=True), Tensor(np.ones(3))
    with no_grad():
        frozen = x * 2
    for what, t in (("a leaf Tensor(..., requires_grad=True)", x),
                    ("a constant Tensor(...)", c), ("x * 2 computed under no_grad()", frozen),
                    ("c * 2 for a constant c", c * 2)):
        fn = _grad_fn_of(t, what)
        if fn is not None:
            checks.fail(f"{what} must have _grad_fn None.", f"got {fn!r}",
                        hint="only recorded results get a Function")


def test_backward_returns_none():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    result = (x * 3).sum().backward()
    if result is not None:
        checks.fail("Tensor.backward() must return None.", f"got {checks.fmt(result)}",
                    hint="backward stores gradients in the leaves' .grad; it returns nothing")


# ---------------------------------------------------------------- dtypes and identity of .grad

SHAPE = (3,)
CONSTANTS = {
    "Python float 2.5": lambda: 2.5,
    "Python int 2": lambda: 2,
    "np.float64(2.5)": lambda: np.float64(2.5),
    "np.float32(2.5)": lambda: np.float32(2.5),
    "float64 array of shape (2, 3)": lambda: np.full((2,) + SHAPE, 2.5),
    "float32 array of shape (2, 3)": lambda: np.full((2,) + SHAPE, 2.5, dtype=np.float32),
}
DTYPE_CASES = [(d, k) for d in ("float32", "float64") for k in CONSTANTS]


@pytest.mark.parametrize("leaf_dtype,kind", DTYPE_CASES, ids=[f"{d}-{k}" for d, k in DTYPE_CASES])
def test_grad_dtype_follows_the_leaf(leaf_dtype, kind):
    xv = np.array([0.5, -1.25, 2.0], dtype=leaf_dtype)
    c = CONSTANTS[kind]()
    x = Tensor(xv.copy(), requires_grad=True)
    what = f"(x * c).sum() for a {leaf_dtype} x and c = {kind}"
    out = (x * c).sum()
    numpy_dtype = (xv * c).sum().dtype
    if out.data.dtype != numpy_dtype:
        weak = isinstance(c, (int, float)) and numpy_dtype == np.float32
        checks.fail(f"{what}: the forward result must have NumPy's dtype {numpy_dtype} (your "
                    "kata-01 forward, unchanged).", f"got {out.data.dtype}",
                    hint="a Python number is weak under NEP 50 (float32 * 2.5 stays float32): "
                         "call the original forward with the constant as it came, and make it "
                         "a float64 Tensor only for the Function" if weak else
                         "a float64 ndarray or np.float64 is a float64 constant (float32 * it "
                         "is float64): do not cast constants before calling the original")
    e = crash_of(lambda: out.backward())
    if e is not None:
        checks.fail(f"{what}: backward() raised {type(e).__name__}.", str(e))
    g = leaf_grad(x, what, "x", {"x": xv})
    expected = np.broadcast_to(np.asarray(c, dtype=F64), (2,) + SHAPE).sum(axis=0) \
        if np.ndim(c) else np.full(SHAPE, float(c))
    checks.check_array(g, expected.astype(leaf_dtype), f"x.grad in {what}", inputs={"x": xv},
                       dtype=leaf_dtype,
                       dtype_hint="cast the total to the leaf's dtype when storing .grad: a "
                                  "float32 leaf gets a float32 .grad even after float64 "
                                  "constants" if leaf_dtype == "float32" else
                                  "float64 was lost: a float64 leaf keeps a float64 .grad (no "
                                  "float32 cast, no float32 constants in the Function)",
                       wrong=[(np.full(SHAPE, 2.5), "the gradient was averaged over the axis "
                                                    "broadcasting added: sum it over that axis")]
                       if np.ndim(c) else [],
                       hint="the gradient of x in (x * c).sum() is c, summed over the axis "
                            "that broadcasting added")


PRECISION = {  # op -> (f, exact gradient for upstream v, the same with the constant in float32)
    "x * 0.1": (lambda t: t * 0.1, lambda x, v, c: v * c, 0.1),
    "x / 0.3": (lambda t: t / 0.3, lambda x, v, c: v / c, 0.3),
    "0.7 / x": (lambda t: 0.7 / t, lambda x, v, c: -v * c / (x * x), 0.7),
}


@pytest.mark.parametrize("op", list(PRECISION))
def test_python_number_constants_keep_float64_precision(op):
    f, rule, c = PRECISION[op]
    x = np.array([0.3, -1.7, 2.9])
    v = np.array([1.1, -0.6, 2.3])
    (t,) = leaves([x])
    out = f(t)
    recorded(out, op, "the operator")
    e = crash_of(lambda: out.backward(v))
    if e is not None:
        checks.fail(f"{op}: backward() raised {type(e).__name__}.", str(e), inputs={"x": x})
    g = leaf_grad(t, op, "x", {"x": x})
    checks.check_array(g, rule(x, v, c), f"the gradient of a float64 x in {op}",
                       inputs={"x": x, "upstream gradient": v}, rtol=1e-13, atol=0,
                       wrong=[(rule(x, v, float(np.float32(c))),
                               f"the constant {c} was stored as float32 (Tensor({c}) is float32 "
                               "in kata 01): make Python numbers float64 arrays for the "
                               "Function")],
                       hint="a float64 graph must keep the constant's full precision")


def test_grad_is_an_array_of_its_own():
    hint = ("store a copy of the first total in .grad (np.array(total, dtype=leaf dtype)); "
            "then .grad + total (or +=) never touches the caller's array or another leaf's")
    v = np.array([0.5, -1.0, 2.0])
    given = v.copy()
    (x,) = leaves([[1.0, 2.0, 3.0]])
    (x + 0.0).backward(v)  # Add hands v itself on to x
    g = leaf_grad(x, "(x + 0.0).backward(v)", "x", {"v": given})
    if np.shares_memory(g, v):
        checks.fail("after (x + 0.0).backward(v), x.grad shares memory with v.",
                    "x.grad is (a view of) the array passed to backward()", hint=hint)
    (x + 0.0).backward(v)
    if not np.array_equal(v, given):
        checks.fail("a second backward(v) into the same leaf changed v.",
                    f"v was {checks.fmt(given)}, now {checks.fmt(v)}", hint=hint)
    checks.check_array(np.asarray(x.grad), 2 * given, "x.grad after two (x + 0.0).backward(v)",
                       hint=hint)
    a, b = leaves([[1.0, 2.0], [3.0, 4.0]])
    (a + b).backward(np.array([1.0, -1.0]))
    if a.grad is not None and b.grad is not None and np.shares_memory(a.grad, b.grad):
        checks.fail("after (a + b).backward(v), a.grad and b.grad share memory.",
                    "Add gives both the same array: accumulating into one would change the "
                    "other", hint=hint)


# ---------------------------------------------------------------- the wrappers and the originals

def test_inner_calls_of_an_original_forward_add_no_nodes(autograd):
    """A kata-01 mean written with the Tensor's own sum and /: only Mean is recorded."""
    inner = []

    def mean_via_sum(self, axis=None, keepdims=False):
        total = self.sum(axis=axis, keepdims=keepdims)
        inner.append(total)
        return total / (self.size // total.size)

    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]])
    with unpatched():
        Tensor.mean = mean_via_sum
        autograd.enable_autograd(quiet=True)
        (t,) = leaves([x])
        out = t.mean(axis=1)
        what = "x.mean(axis=1) with a kata-01 mean that calls self.sum() and /"
        if inner and (inner[0].requires_grad or _grad_fn_of(inner[0], "the inner sum") is not None):
            checks.fail(f"{what}: the inner self.sum() was recorded as a node of its own.",
                        f"inner result: requires_grad={inner[0].requires_grad}",
                        hint="run the original forward inside no_grad(): only the outer op "
                             "(Mean) is recorded")
        recorded(out, what, "Tensor.mean")
        if not isinstance(out._grad_fn, getattr(autograd, "Mean", ())):
            checks.fail(f"{what} must record a Mean.", f"got {type(out._grad_fn).__name__}",
                        hint="the outer op is recorded, whatever the original calls inside")
        e = crash_of(lambda: out.backward(np.array([1.0, -2.0])))
        if e is not None:
            checks.fail(f"{what}: backward() raised {type(e).__name__}.", str(e))
        checks.check_array(np.asarray(t.grad), np.array([[1.0] * 3, [-2.0] * 3]) / 3,
                           f"the gradient of x in {what}", inputs={"x": x},
                           hint="Mean's rule: the upstream gradient spread back, divided by 3")


@pytest.mark.parametrize("method", ["transpose", "contiguous"])
def test_an_original_returning_its_input_still_gets_a_node_of_its_own(autograd, method):
    """A kata-01 method may return `self` when there is nothing to do (1-D transpose, an
    already contiguous tensor); the wrapped result must still be a new node."""
    x = np.array([1.0, -2.0, 3.0])
    v = np.array([0.5, 1.5, -1.0])
    what = f"x.{method}() on a 1-D x, with a kata-01 {method} that returns self"
    with unpatched():
        setattr(Tensor, method, lambda self, *args: self)
        autograd.enable_autograd(quiet=True)
        (t,) = leaves([x])
        y = getattr(t, method)()
        if y is t:
            checks.fail(f"{what}: the wrapped result is x itself.",
                        "x would become its own parent (a cycle) and stop being a leaf",
                        hint="when the original returns one of its inputs, record on a new "
                             "Tensor with the same data")
        if _grad_fn_of(t, "x") is not None:
            checks.fail(f"{what}: x got a _grad_fn, it is no longer a leaf.",
                        hint="record on a new Tensor, never on an input")
        recorded(y, what, f"Tensor.{method}")
        e = crash_of(lambda: y.backward(v))
        if e is not None:
            checks.fail(f"{what}: backward() raised {type(e).__name__}.", str(e))
        checks.check_array(np.asarray(leaf_grad(t, what, "x", {"x": x})), v,
                           f"the gradient of x in {what}", inputs={"x": x},
                           hint="the new node passes the gradient straight back to x")


def test_view_is_wrapped_itself(autograd):
    """A kata-01 view need not call reshape: enable_autograd() wraps view itself."""
    def own_view(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return Tensor(np.reshape(self.data, shape))

    x = np.arange(6.0).reshape(2, 3) / 2
    with unpatched():
        Tensor.view = own_view
        autograd.enable_autograd(quiet=True)
        gradcheck(lambda t: t.view(-1), [x], "x.view(-1) with a kata-01 view that does not "
                  "call reshape", "Tensor.view",
                  hint="view is recorded like reshape (a Reshape)")


# ---------------------------------------------------------------- record: ops of later katas

class Triple(Function):
    """z = 3 a, written as a later kata would write its own op."""

    def backward(self, grad):
        return (3 * grad,)


class ScaleRows(Function):
    """z = a * s for a (n, k) and a constant s (n, 1): the gradient of a is broadcast."""

    def backward(self, grad):
        return (grad * self.inputs[1].data, None)


def test_record_enters_a_custom_function_into_the_graph(autograd):
    xv = np.array([[0.5, -1.0], [2.0, 0.25]])
    vv = np.array([[1.5, -2.0], [0.5, 3.0]])
    (x,) = leaves([xv])
    out = autograd.record(Tensor(3 * xv), Triple, (x,))
    if not isinstance(out, Tensor) or out.requires_grad is not True or not isinstance(out._grad_fn, Triple):
        checks.fail("record(out, Triple, (x,)) must attach Triple to out (requires_grad=True, "
                    "_grad_fn a Triple) and return it.",
                    f"got {type(out).__name__}, requires_grad={getattr(out, 'requires_grad', None)!r}, "
                    f"_grad_fn={type(getattr(out, '_grad_fn', None)).__name__}",
                    hint="later katas compute a forward themselves, then call record(result, FnClass, "
                         "inputs, **attrs): the same code path as every wrapped op")
    if out._grad_fn.inputs[0] is not x:
        checks.fail("The recorded Function's inputs must be the tensors given to record.",
                    hint="store the input tensors themselves, not copies: backward reaches the "
                         "leaves through them")
    (out * Tensor(vv)).sum().backward()
    g = leaf_grad(x, "after record(out, Triple, (x,)) and (out * v).sum().backward()", "x", {"x": xv})
    checks.check_array(g, 3 * vv, "x.grad through a Function entered with record", inputs={"x": xv},
                       hint="the engine must call the recorded Function's backward like any other")


def test_record_converts_constants_and_unbroadcasts(autograd):
    xv = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    s = np.array([[2.0], [-0.5]])
    (x,) = leaves([xv])
    out = autograd.record(Tensor(xv * s), ScaleRows, (x, s))
    held = getattr(getattr(out, "_grad_fn", None), "inputs", ())
    if len(held) != 2 or not isinstance(held[1], Tensor):
        checks.fail("record must turn a constant among the inputs into a Tensor.",
                    f"the Function holds {[type(t).__name__ for t in held]}",
                    hint="as for the wrapped ops: Function.inputs holds only Tensors")
    out.sum().backward()
    g = leaf_grad(x, "record(out, ScaleRows, (x, s)) then out.sum().backward()", "x", {"x": xv})
    checks.check_array(g, np.broadcast_to(s, xv.shape), "x.grad through record", inputs={"x": xv, "s": s})


def test_record_records_nothing_without_a_gradient_to_keep(autograd):
    xv = np.array([1.0, 2.0])
    for what, make, mode in (("under no_grad()", lambda: Tensor(xv, requires_grad=True), "off"),
                             ("when no input requires grad", lambda: Tensor(xv), "on")):
        x = make()
        result = Tensor(3 * xv)
        if mode == "off":
            with no_grad():
                out = autograd.record(result, Triple, (x,))
        else:
            out = autograd.record(result, Triple, (x,))
        if out is not result or out.requires_grad or getattr(out, "_grad_fn", None) is not None:
            checks.fail(f"record must record nothing {what}, and return the result as it is.",
                        f"got requires_grad={getattr(out, 'requires_grad', None)!r}, "
                        f"_grad_fn={type(getattr(out, '_grad_fn', None)).__name__}",
                        hint="the rule: a recorded output has requires_grad=True and _grad_fn set "
                             "iff grad mode is on and some Tensor input requires grad")


def test_record_on_one_of_its_inputs_makes_a_new_node(autograd):
    (x,) = leaves([np.array([1.0, -2.0])])
    out = autograd.record(x, Triple, (x,))
    if out is x or getattr(out, "_grad_fn", None) is None or x._grad_fn is not None:
        checks.fail("record(x, Fn, (x,)) must record on a new Tensor of x's data, not on x.",
                    hint="recording on an input makes the graph a cycle: make Tensor(result.data)")
