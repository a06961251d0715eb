"""Hidden tests for kata 06: each Tensor operation's local backward rule.

Gradients are checked in float64 against finite differences (checks.check_grad: a random
upstream gradient, a random direction) and, where a known bug has a recognisable wrong
answer, against the expected gradient computed here with NumPy.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import example, given, strategies as st
from hypothesis.extra import numpy as hnp

from pytest_tinytorch import checks
from tinytorch.core.autograd import Function, unbroadcast
from tinytorch.core.tensor import Tensor

import autograd_kit
from autograd_kit import F64, crash_of, leaf_grad, leaves, recorded

ALL_OPS = "Every Tensor operation"  # who must record a Function (the not-recorded hint)


@pytest.fixture(scope="module", autouse=True)
def autograd():
    with checks.autograd_session() as ag:
        yield ag


@pytest.fixture(autouse=True)
def _fresh_state(autograd):
    with autograd_kit.state_restored(autograd):
        yield


# ---------------------------------------------------------------- helpers
gradcheck = functools.partial(autograd_kit.gradcheck, who=ALL_OPS)


def grads_of(f, xs, v, what, op, hint=""):
    """Run f on float64 leaves, backward(v); return the leaves' .grad arrays (checked)."""
    inputs = {f"x{i}": x for i, x in enumerate(xs)}
    ts = leaves(xs)
    out = f(*ts)
    recorded(out, what, op, ALL_OPS)
    e = crash_of(lambda: out.backward(v))
    if e is not None:
        checks.fail(f"{what}: backward() raised {type(e).__name__}.", str(e), inputs=inputs,
                    hint=hint)
    return [leaf_grad(t, what, f"x{i}", inputs, f"was {op} recorded, and does backward reach "
                      "every leaf?") for i, t in enumerate(ts)]


def sum_to(g, shape):
    """The expected un-broadcast gradient: sum leading axes, then stretched size-1 axes."""
    g = np.asarray(g)
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def unbroadcast_wrong(g, shape):
    """Known wrong un-broadcasts of g to shape, each with the hint naming the bug."""
    g = np.asarray(g)
    lead = tuple(range(g.ndim - len(shape)))
    only_leading = g.sum(axis=lead) if lead else g
    mean_lead = g.mean(axis=lead) if lead else g
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and mean_lead.shape[i] != 1)
    averaged = mean_lead.mean(axis=axes, keepdims=True) if axes else mean_lead
    return [
        (g, "the gradient was not reduced at all: where an input was broadcast, sum the "
            "gradient back down to the input's own shape (unbroadcast)"),
        (only_leading, "only the leading (prepended) axes were summed: axes where the input "
                       "had size 1 were stretched by broadcasting and must be summed too "
                       "(keeping them as size 1)"),
        (averaged, "the gradient was AVERAGED over the broadcast axes: every broadcast copy "
                   "contributed to the output, so their gradients must be SUMMED"),
    ]


def away_from_zero(x, gap=0.5):
    """Shift values away from 0 (for divisors, kinks and non-integer powers)."""
    x = np.asarray(x, dtype=F64)
    return np.where(x >= 0, x + gap, x - gap)


def test_autograd_comes_from_your_kata(autograd):
    checks.assert_from_kata(autograd.enable_autograd, "06_autograd")
    checks.assert_from_kata(Function, "06_autograd")


# ---------------------------------------------------------------- unbroadcast

@st.composite
def grad_and_shape(draw):
    sa, sb = draw(checks.broadcastable_shapes(2, max_side=3))
    out = np.broadcast_shapes(sa, sb)
    g = draw(checks.arrays(out, dtype=F64, lo=-5, hi=5))
    return g, sa


@given(case=grad_and_shape())
@example(case=(np.arange(24, dtype=F64).reshape(2, 3, 4), (3, 1)))
@example(case=(np.arange(24, dtype=F64).reshape(2, 3, 4), (1, 4)))
@example(case=(np.arange(24, dtype=F64).reshape(2, 3, 4), (2, 1, 4)))
@example(case=(np.arange(6, dtype=F64).reshape(2, 3), (3,)))
@example(case=(np.arange(6, dtype=F64).reshape(2, 3), ()))
def test_unbroadcast_sums_back_to_the_shape(case):
    g, shape = case
    got = unbroadcast(g.copy(), shape)
    checks.check_array(np.asarray(got), sum_to(g, shape),
                       f"unbroadcast(grad, {shape}) with grad of shape {g.shape}",
                       inputs={"grad": g}, wrong=unbroadcast_wrong(g, shape),
                       hint="sum the leading axes that broadcasting added, then the axes where "
                            "shape has 1 but grad does not (keeping them)")


@given(case=grad_and_shape())
@example(case=(np.arange(24, dtype=F64).reshape(2, 3, 4), (2, 1, 4)))
def test_unbroadcast_is_the_adjoint_of_broadcasting(case):
    g, shape = case
    u = np.random.default_rng(1).standard_normal(shape)
    got = np.asarray(unbroadcast(g.copy(), shape), dtype=F64)
    checks.check_shape(got, shape, f"unbroadcast(grad, {shape})", inputs={"grad": g},
                       hint="the result must have exactly the target shape")
    left = float(np.sum(got * u))
    right = float(np.sum(g * np.broadcast_to(u, g.shape)))
    checks.check_close(left, right, f"<unbroadcast(g, {shape}), u> must equal "
                       "<g, broadcast_to(u, g.shape)> (unbroadcast is the adjoint of broadcasting)",
                       rtol=1e-9, atol=1e-9, inputs={"grad": g},
                       hint="every broadcast copy of u meets one entry of g: sum, don't average")


# ---------------------------------------------------------------- + - * / with broadcasting

BINARY = {
    "a + b": lambda a, b: a + b,
    "a - b": lambda a, b: a - b,
    "a * b": lambda a, b: a * b,
    "a / b": lambda a, b: a / b,
}
BINARY_OP = {"a + b": "Tensor.__add__", "a - b": "Tensor.__sub__",
             "a * b": "Tensor.__mul__", "a / b": "Tensor.__truediv__"}
BROADCAST_HINT = ("where an input was broadcast, its gradient is the upstream gradient summed "
                  "over the broadcast axes, back to the input's own shape")


@st.composite
def broadcast_pair(draw):
    sa, sb = draw(checks.broadcastable_shapes(2, max_side=3))
    a = draw(checks.arrays(sa, dtype=F64, lo=-3, hi=3))
    b = draw(checks.arrays(sb, dtype=F64, lo=-3, hi=3))
    return a, b


@given(op=st.sampled_from(sorted(BINARY)), ab=broadcast_pair())
@example(op="a + b", ab=(np.ones((2, 3)), np.arange(3.0)))
@example(op="a * b", ab=(np.arange(12.0).reshape(3, 4), np.array([[1.0], [2.0], [3.0]])))
@example(op="a - b", ab=(np.arange(3.0).reshape(3, 1), np.arange(4.0).reshape(1, 4)))
@example(op="a / b", ab=(np.arange(4.0), np.array(2.0)))
def test_binary_op_gradients_with_broadcasting(op, ab):
    """Exact: the README's local rule of each op, summed back to each input's shape."""
    a, b = ab
    if op == "a / b":
        b = away_from_zero(b)
    what = f"{op} (a of shape {a.shape}, b of shape {b.shape})"
    out_shape = np.broadcast_shapes(a.shape, b.shape)
    v = np.random.default_rng(4).standard_normal(out_shape)
    ga, gb = grads_of(BINARY[op], [a, b], v, what, BINARY_OP[op], hint=BROADCAST_HINT)
    rules = {"a + b": lambda: (v, v), "a - b": lambda: (v, -v), "a * b": lambda: (v * b, v * a),
             "a / b": lambda: (v / b, -v * a / (b * b))}
    raw = dict(zip("ab", rules[op]()))
    own = {"a * b": lambda: {"a": v * a, "b": v * b},
           "a / b": lambda: {"b": -v * a / b}}.get(op, dict)()
    own_hint = {"a * b": "each factor's gradient is the upstream gradient times the OTHER "
                         "factor (da = g * b), not times itself",
                "a / b": "for z = a / b, db = -g * a / b²: b is squared"}.get(op, "")
    for name, got, shape in (("a", ga, a.shape), ("b", gb, b.shape)):
        expected = sum_to(raw[name], shape)
        wrong = [(-expected, f"the gradient of {name} has the wrong sign: check the local rule "
                             f"of {op} in the README table")]
        if name in own:
            wrong.append((sum_to(own[name], shape), own_hint))
        wrong += unbroadcast_wrong(raw[name], shape)
        broadcast = shape != out_shape
        checks.check_array(got, expected, f"the gradient of {name} in {what}",
                           inputs={"a": a, "b": b, "upstream gradient": v}, wrong=wrong,
                           shape_hint=BROADCAST_HINT,
                           hint=BROADCAST_HINT if broadcast else
                           f"{name} was not broadcast here: check the local rule of {op} in "
                           "the README table")


CASES = [((2, 3), (3,)), ((2, 3), (2, 1)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)),
         ((4,), ()), ((2, 1, 4), (3, 1))]


@pytest.mark.parametrize("sa,sb", CASES)
@pytest.mark.parametrize("op", ["a + b", "a * b"])
def test_broadcast_gradient_is_summed_to_each_input_shape(op, sa, sb):
    rng = np.random.default_rng(7)
    a, b = rng.uniform(-2, 2, sa), rng.uniform(-2, 2, sb)
    out_shape = np.broadcast_shapes(sa, sb)
    v = rng.standard_normal(out_shape)
    ga, gb = grads_of(BINARY[op], [a, b], v, f"{op} (a of shape {sa}, b of shape {sb})",
                      BINARY_OP[op])
    if op == "a + b":
        ra, rb = v, v
    else:
        ra, rb = v * b, v * a
    for name, got, raw, shape in (("a", ga, ra, sa), ("b", gb, rb, sb)):
        checks.check_array(got, sum_to(raw, shape),
                           f"the gradient of {name} in {op} (a of shape {sa}, b of shape {sb})",
                           inputs={"a": a, "b": b, "upstream gradient": v},
                           wrong=unbroadcast_wrong(raw, shape), hint=BROADCAST_HINT)


SCALAR_OPS = {
    "x + c": lambda x, c: x + c, "c + x": lambda x, c: c + x,
    "x - c": lambda x, c: x - c, "c - x": lambda x, c: c - x,
    "x * c": lambda x, c: x * c, "c * x": lambda x, c: c * x,
    "x / c": lambda x, c: x / c, "c / x": lambda x, c: c / x,
}
REVERSE_HINT = ("with a constant on the left (2 - x, 2 / x) Python calls x.__rsub__(2) / "
                "x.__rtruediv__(2): the constant is the FIRST operand of the recorded op")


@given(op=st.sampled_from(sorted(SCALAR_OPS)),
       x=checks.arrays(max_side=3, dtype=F64, lo=-3, hi=3, min_dims=0),
       c=st.floats(-3, 3, allow_nan=False).map(lambda c: c + 0.5 if c >= 0 else c - 0.5))
@example(op="c - x", x=np.array([1.0, 2.0]), c=5.0)
@example(op="c / x", x=np.array([1.0, 2.0]), c=3.0)
def test_scalar_operands_and_reverse_ops(op, x, c):
    x = away_from_zero(x) if op == "c / x" else x
    gradcheck(lambda t: SCALAR_OPS[op](t, c), [x], f"{op} with the Python number c = {c!r}",
              f"the operator in {op}", hint=REVERSE_HINT)


@given(op=st.sampled_from(sorted(BINARY)), ab=broadcast_pair(), tensor_first=st.booleans())
def test_ndarray_constant_operands(op, ab, tensor_first):
    """x op array (no gradient for the array), x broadcast against a bigger constant too."""
    a, b = ab
    if tensor_first:
        b = away_from_zero(b) if op == "a / b" else b
        f = lambda t: BINARY[op](t, b)  # noqa: E731
        what, x = f"{op} with a a Tensor and b a NumPy array of shape {b.shape}", a
    else:
        a = np.asarray(a)
        f = lambda t: BINARY[op](Tensor(a), t)  # noqa: E731
        what, x = f"{op} with a a constant Tensor of shape {a.shape} and b a Tensor", b
        x = away_from_zero(x) if op == "a / b" else x
    gradcheck(f, [x], what, BINARY_OP[op], hint=BROADCAST_HINT)


@given(x=checks.arrays(max_side=3, dtype=F64, lo=-3, hi=3, min_dims=0))
def test_neg(x):
    gradcheck(lambda t: -t, [x], "-x", "Tensor.__neg__")


POW_HINT = "the power rule: bring the exponent down and lower it by one"


@given(x=checks.arrays(max_side=3, dtype=F64, lo=-2, hi=2, min_dims=0),
       p=st.sampled_from([2, 3, -1, 0.5, 1.5, -0.5, 2.5, 1]))
@example(x=np.array([1.0, 2.0, 3.0]), p=2)
def test_pow(x, p):
    x = away_from_zero(x)
    if not float(p).is_integer():
        x = np.abs(x)
    gradcheck(lambda t: t ** p, [x], f"x ** {p}", "Tensor.__pow__", hint=POW_HINT)


@pytest.mark.parametrize("p", [1, 2, 3])
def test_pow_at_base_zero(p):
    x = np.array([0.0, 1.5, 0.0, -2.0])
    v = np.array([0.7, -1.3, 2.1, 0.4])
    (g,) = grads_of(lambda t: t ** p, [x], v, f"x ** {p}", "Tensor.__pow__", hint=POW_HINT)
    expected = v * p * x ** (p - 1)
    wrong = [(np.where(x == 0, 0.0, expected), "at x = 0, x ** 1 = x still has gradient 1: "
              "apply p * x ** (p - 1) as it is (0.0 ** 0 is 1), do not zero it at 0")] if p == 1 else []
    checks.check_array(g, expected, f"the gradient of x in x ** {p} (x = 0 included)",
                       inputs={"x": x, "upstream gradient": v}, wrong=wrong,
                       nan_hint=f"a NaN at x = 0 comes from dividing by x (p * x**p / x is 0/0 "
                                f"there): compute p * x ** (p - 1) directly", hint=POW_HINT)


# ---------------------------------------------------------------- matmul

MATMUL_HINT = ("for z = a @ b, each input's gradient combines the upstream gradient with the "
               "OTHER factor, transposed where needed; a gradient always has the shape of its "
               "input (write the shapes down)")


@st.composite
def matmul_pair(draw):
    n, k, m, batch = (draw(st.integers(1, 4)) for _ in range(4))
    kind = draw(st.sampled_from(["2d", "batched", "batched a", "batched b", "1d @ 2d",
                                 "2d @ 1d", "1d @ 1d", "batched @ 1d"]))
    sa, sb = {
        "2d": ((n, k), (k, m)),
        "batched": ((batch, n, k), (batch, k, m)),
        "batched a": ((batch, n, k), (k, m)),
        "batched b": ((n, k), (batch, k, m)),
        "1d @ 2d": ((k,), (k, m)),
        "2d @ 1d": ((n, k), (k,)),
        "1d @ 1d": ((k,), (k,)),
        "batched @ 1d": ((batch, n, k), (k,)),
    }[kind]
    a = draw(checks.arrays(sa, dtype=F64, lo=-2, hi=2))
    b = draw(checks.arrays(sb, dtype=F64, lo=-2, hi=2))
    return a, b


@given(ab=matmul_pair(), method=st.booleans())
@example(ab=(np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4) / 10), method=False)
@example(ab=(np.arange(4.0).reshape(2, 2), np.array([[1.0, 2.0], [-1.0, 0.5]])), method=False)
def test_matmul_gradients(ab, method):
    a, b = ab
    f = (lambda x, y: x.matmul(y)) if method else (lambda x, y: x @ y)
    name = "a.matmul(b)" if method else "a @ b"
    gradcheck(f, [a, b], f"{name} (a of shape {a.shape}, b of shape {b.shape})",
              "Tensor.matmul" if method else "Tensor.__matmul__", hint=MATMUL_HINT)


@pytest.mark.parametrize("n,k,m", [(2, 2, 2), (3, 3, 3), (2, 3, 4)])
def test_matmul_gradient_values(n, k, m):
    rng = np.random.default_rng(n * 100 + k * 10 + m)
    a, b = rng.uniform(-2, 2, (n, k)), rng.uniform(-2, 2, (k, m))
    v = rng.standard_normal((n, m))
    ga, gb = grads_of(lambda x, y: x @ y, [a, b], v, f"a @ b (a {a.shape}, b {b.shape})",
                      "Tensor.__matmul__", hint=MATMUL_HINT)
    inputs = {"a": a, "b": b, "upstream gradient": v}
    not_transposed = "one factor of the product must be transposed (here it was not)"
    wrong_a = [(v @ b, "this is the upstream gradient times b NOT transposed: " + not_transposed)
               ] if m == k else []
    wrong_b = [(a @ v, "this is a NOT transposed times the upstream gradient: " + not_transposed)
               ] if n == k else []
    checks.check_array(ga, v @ b.T, "the gradient of a in a @ b", inputs=inputs,
                       wrong=wrong_a, hint=MATMUL_HINT)
    checks.check_array(gb, a.T @ v, "the gradient of b in a @ b", inputs=inputs,
                       wrong=wrong_b, hint=MATMUL_HINT)


# ---------------------------------------------------------------- reshape, transpose, getitem

@st.composite
def array_and_new_shape(draw):
    x = draw(checks.arrays(max_side=3, dtype=F64, lo=-3, hi=3))
    size = x.size
    target = draw(st.sampled_from([(-1,), (size,), (1, size), (size, 1),
                                   tuple(reversed(x.shape)), x.shape + (1,), (1,) + x.shape]))
    return x, target


RESHAPE_HINT = ("reshape only moves values around: reshape the gradient back to the input's "
                "shape")


@given(case=array_and_new_shape(), as_tuple=st.booleans(),
       method=st.sampled_from(["reshape", "view"]))
@example(case=(np.arange(6.0).reshape(2, 3), (6,)), as_tuple=False, method="reshape")
@example(case=(np.arange(6.0).reshape(2, 3), (3, 2)), as_tuple=True, method="view")
def test_reshape(case, as_tuple, method):
    x, target = case
    f = (lambda t: getattr(t, method)(target)) if as_tuple else (
        lambda t: getattr(t, method)(*target))
    call = f"x.{method}({target})" if as_tuple else f"x.{method}{target}"
    gradcheck(f, [x], f"{call} for x of shape {x.shape}", f"Tensor.{method}",
              hint=RESHAPE_HINT, shape_hint=RESHAPE_HINT)


CONTIGUOUS = {
    "x.contiguous()": lambda t: t.contiguous(),
    "x.transpose().contiguous()": lambda t: t.transpose().contiguous(),
    "x[:, ::2].contiguous()": lambda t: t[:, ::2].contiguous(),
}


@pytest.mark.parametrize("call", list(CONTIGUOUS))
def test_contiguous(call):
    x = np.arange(12.0).reshape(3, 4) / 4 - 1
    gradcheck(CONTIGUOUS[call], [x], f"{call} for x of shape (3, 4)", "Tensor.contiguous",
              hint="contiguous() only changes the memory layout: the gradient passes "
                   "through unchanged")


@st.composite
def array_and_dims(draw):
    x = draw(checks.arrays(max_side=3, dtype=F64, lo=-3, hi=3))
    if draw(st.booleans()):
        return x, None
    d0 = draw(st.integers(-x.ndim, x.ndim - 1))
    d1 = draw(st.integers(-x.ndim, x.ndim - 1))
    return x, (d0, d1)


TRANSPOSE_HINT = ("transpose the gradient back: swap the same two axes (no arguments: the "
                  "last two, not all of them; and nothing for 0-D/1-D)")


@given(case=array_and_dims())
@example(case=(np.arange(24.0).reshape(2, 3, 4), None))
@example(case=(np.arange(24.0).reshape(2, 3, 4), (0, 2)))
def test_transpose(case):
    x, dims = case
    f = (lambda t: t.transpose()) if dims is None else (lambda t: t.transpose(*dims))
    call = "x.transpose()" if dims is None else f"x.transpose{dims}"
    gradcheck(f, [x], f"{call} for x of shape {x.shape}", "Tensor.transpose",
              hint=TRANSPOSE_HINT, shape_hint=TRANSPOSE_HINT)


@st.composite
def array_and_key(draw):
    x = draw(checks.arrays(max_side=3, dtype=F64, lo=-3, hi=3))
    n = x.shape[0]
    kind = draw(st.sampled_from(["int", "negative int", "slice", "step slice", "tuple",
                                 "int array", "bool mask"]))
    if kind == "int":
        key = draw(st.integers(0, n - 1))
    elif kind == "negative int":
        key = draw(st.integers(-n, -1))
    elif kind == "slice":
        key = slice(draw(st.integers(0, n - 1)), None)
    elif kind == "step slice":
        key = slice(None, None, 2)
    elif kind == "tuple":
        key = (slice(None),) + tuple(draw(st.integers(0, s - 1)) for s in x.shape[1:2])
    elif kind == "int array":
        key = np.array(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    else:
        key = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return x, key


@given(case=array_and_key())
@example(case=(np.arange(4.0), np.array([0, 0, 2, 0])))
def test_getitem(case):
    x, key = case
    gradcheck(lambda t: t[key], [x], f"x[{key!r}] for x of shape {x.shape}",
              "Tensor.__getitem__",
              hint="the gradient of x is zero except where x[key] was read; an index that "
                   "appears several times in key was read several times, so its gradients add up")


MASK_HINT = ("where mask is true the output is the fill value, a constant: x gets no gradient "
             "there, and the upstream gradient everywhere else (a broadcast mask counts per "
             "element of x)")


@st.composite
def array_and_mask(draw):
    x = draw(checks.arrays(min_dims=2, max_dims=3, max_side=3, dtype=F64, lo=-3, hi=3))
    kind = draw(st.sampled_from(["bool array", "broadcast (1, n) bool array", "list",
                                 "Tensor"]))
    shape = (1,) * (x.ndim - 1) + x.shape[-1:] if kind.startswith("broadcast") else x.shape
    mask = draw(hnp.arrays(np.bool_, shape))
    if kind == "list":
        mask = mask.tolist()
    elif kind == "Tensor":
        mask = Tensor(mask.astype(np.float32))
    return x, mask, kind


@given(case=array_and_mask(), value=st.sampled_from([0.0, -1e9, 2.5]))
def test_masked_fill(case, value):
    x, mask, kind = case
    gradcheck(lambda t: t.masked_fill(mask, value), [x],
              f"x.masked_fill(mask, {value}) with a {kind} mask, x of shape {x.shape}",
              "Tensor.masked_fill", hint=MASK_HINT)


@pytest.mark.parametrize("kind", ["bool array", "broadcast (1, 3) bool array", "Tensor"])
def test_masked_fill_gradient_is_zero_where_filled(kind):
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    hide = np.array([[True, False, False], [False, True, True]])
    if kind.startswith("broadcast"):
        hide = np.array([[False, True, False]])
    mask = Tensor(hide.astype(np.float32)) if kind == "Tensor" else hide
    v = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.5]])
    (g,) = grads_of(lambda t: t.masked_fill(mask, float("-inf")), [x], v,
                    f"x.masked_fill(mask, -inf) with a {kind} mask", "Tensor.masked_fill",
                    hint=MASK_HINT)
    keep = ~np.broadcast_to(hide, x.shape)
    checks.check_array(g, v * keep, f"the gradient of x in x.masked_fill(mask, -inf) with a "
                       f"{kind} mask", inputs={"x": x, "mask": hide, "upstream gradient": v},
                       wrong=[(v, "the filled positions got the gradient too: there the output "
                                  "is the constant fill value, so x's gradient is 0"),
                              (v * ~keep, "the mask is inverted: x keeps its gradient where "
                                          "mask is FALSE, and gets 0 where it is true")],
                       nan_hint="the -inf fill value must not enter the gradient: use the mask "
                                "to choose between g and 0 (np.where), not a product with the "
                                "output",
                       hint=MASK_HINT)


def test_getitem_repeated_indices_accumulate():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    key = np.array([0, 0, 2, 0])
    v = np.array([1.0, 2.0, 3.0, 4.0])
    (g,) = grads_of(lambda t: t[key], [x], v, "x[[0, 0, 2, 0]]", "Tensor.__getitem__")
    checks.check_array(g, np.array([7.0, 0.0, 3.0, 0.0]),
                       "the gradient of x in x[[0, 0, 2, 0]] with upstream gradient [1, 2, 3, 4]",
                       inputs={"x": x},
                       wrong=[(np.array([4.0, 0.0, 3.0, 0.0]),
                               "index 0 was read three times: its three gradients must be "
                               "ADDED; assigning into x's gradient keeps only the last one")],
                       hint="an index that appears several times receives the sum of its "
                            "gradients")


# ---------------------------------------------------------------- reductions

@st.composite
def reduction_case(draw, unique=False):
    shape = draw(checks.shapes(max_side=3))
    if unique:  # values at least 0.5 apart: no ties, and finite differences cannot flip the max
        size = int(np.prod(shape))
        perm = draw(st.permutations(list(range(size))))
        jitter = draw(checks.arrays((size,), dtype=F64, lo=-0.2, hi=0.2))
        x = ((np.array(perm, dtype=F64) - size / 2) * 0.7 + jitter).reshape(shape)
    else:
        x = draw(checks.arrays(shape, dtype=F64, lo=-3, hi=3))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        axis = tuple(draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim,
                                   unique=True)))
    keepdims = draw(st.booleans())
    return x, axis, keepdims


def _expand(g, shape, axis, keepdims):
    g = np.asarray(g)
    if not keepdims:
        axes = tuple(range(len(shape))) if axis is None else (
            (axis,) if isinstance(axis, int) else axis)
        g = np.expand_dims(g, tuple(a % len(shape) for a in axes))
    return np.broadcast_to(g, shape)


REDUCE_HINT = {
    "sum": "every summed element contributed once: copy the upstream gradient back along "
           "the reduced axes (mind keepdims=False: the reduced axes must be put back)",
    "mean": "like sum (copy the upstream gradient back along the reduced axes, putting them "
            "back when keepdims=False), then divide by the number of averaged elements",
    "max": "only the position of the maximum along the reduced axes receives the gradient "
           "(put the reduced axes back when keepdims=False)",
}


@given(name=st.sampled_from(["sum", "mean", "max"]), case=st.data())
@example(name="sum", case=None)
@example(name="mean", case=None)
@example(name="max", case=None)
def test_reductions(name, case):
    if case is None:  # explicit case: a (3, 4) input reduced over axis 1
        x, axis, keepdims = np.arange(12.0).reshape(3, 4) * 0.75 - 4, 1, False
    else:
        x, axis, keepdims = case.draw(reduction_case(unique=(name == "max")))
    call = f"x.{name}(axis={axis!r}, keepdims={keepdims})"
    what = f"{call} for x of shape {x.shape}"
    f = lambda t: getattr(t, name)(axis=axis, keepdims=keepdims)  # noqa: E731
    out_shape = getattr(x, name)(axis=axis, keepdims=keepdims).shape
    v = np.random.default_rng(3).standard_normal(out_shape)
    (g,) = grads_of(f, [x], v, what, f"Tensor.{name}", hint=REDUCE_HINT[name])
    spread = _expand(v, x.shape, axis, keepdims)
    n = x.size // max(int(np.prod(out_shape)), 1)
    if name == "sum":
        expected, wrong = spread, [(spread / n, "the sum's gradient must not be divided by n "
                                                "(that is mean's rule)")]
    elif name == "mean":
        expected, wrong = spread / n, [(spread, "Mean.backward must divide the gradient by the "
                                                "number of averaged elements n")]
    else:
        top = x == _expand(x.max(axis=axis, keepdims=keepdims), x.shape, axis, keepdims)
        expected = spread * top
        wrong = [(spread, "Max.backward sent the gradient to every element: only the position "
                          "of the maximum receives it"),
                 (spread / n, "Max.backward averaged the gradient over all elements: only the "
                              "position of the maximum receives it")]
    checks.check_array(g, expected, f"the gradient of x in {what}",
                       inputs={"x": x, "upstream gradient": v}, wrong=wrong,
                       hint=REDUCE_HINT[name])
    gradcheck(f, [x], what, f"Tensor.{name}", hint=REDUCE_HINT[name])


@pytest.mark.parametrize("x,axis,expected", [
    (np.array([1.0, 3.0, 3.0]), None, np.array([0.0, 0.5, 0.5])),
    (np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]), 1,
     np.array([[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])),
    (np.array([[4.0, 1.0], [4.0, 0.0]]), 0, np.array([[0.5, 1.0], [0.5, 0.0]])),
])
def test_max_ties_share_the_gradient_equally(x, axis, expected):
    out_shape = x.max(axis=axis).shape
    (g,) = grads_of(lambda t: t.max(axis=axis), [x], np.ones(out_shape),
                    f"x.max(axis={axis})", "Tensor.max")
    checks.check_array(g, expected, f"the gradient of x in x.max(axis={axis}) (with ties) "
                       "and an upstream gradient of ones", inputs={"x": x},
                       wrong=[((expected > 0).astype(F64),
                               "every tied maximum got the full gradient: the convention "
                               "here splits it equally among the ties")],
                       hint="convention: tied maxima share the gradient equally (so the "
                            "gradient still sums to the upstream gradient)")
