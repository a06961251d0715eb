"""Hidden tests for kata 01 (Tensor), part 4: the names TinyTorch's learners know.

Stacking a list of Tensors, numel, memory_footprint, view, contiguous and masked_fill;
and the identity promises stated in words (requires_grad stored as a bool, numpy()
returns .data itself). Oracle: NumPy on the same arrays.
"""
from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.tensor import Tensor

from tensor_kit import check_new, check_untouched

F32, F64 = np.float32, np.float64
DTYPES = st.sampled_from([F32, F64])


@st.composite
def ramps(draw, min_dims=1):
    shape = draw(checks.shapes(min_dims=min_dims))
    dtype = draw(DTYPES)
    return ((np.arange(int(np.prod(shape))) * 0.5 - 3).reshape(shape)).astype(dtype)


# ---------------------------------------------------------------- construction

@given(parts=st.integers(1, 3), shape=checks.shapes(min_dims=0, max_dims=2),
       dtypes=st.lists(DTYPES, min_size=3, max_size=3), container=st.sampled_from([list, tuple]))
@example(parts=2, shape=(3,), dtypes=[F32, F32, F32], container=list)
@example(parts=2, shape=(2,), dtypes=[F32, F64, F32], container=tuple)
@example(parts=3, shape=(), dtypes=[F64, F64, F64], container=list)
def test_a_list_of_tensors_is_stacked(parts, shape, dtypes, container):
    arrays = [(np.full(shape, i + 0.5)).astype(dtypes[i]) for i in range(parts)]
    data = container(Tensor(a) for a in arrays)
    expected = np.stack(arrays)
    inputs = {f"t{i}": a for i, a in enumerate(arrays)}
    t = Tensor(data)
    checks.check_array(t, expected, f"Tensor({container.__name__} of {parts} Tensors)",
                       inputs=inputs, type_=Tensor, dtype=expected.dtype,
                       shape_hint="stack the Tensors' data along a new first axis (np.stack)",
                       dtype_hint="the stacked data keeps the Tensors' floating dtype "
                                  "(float32 with float64 gives float64, as in np.stack)")


@given(flag=st.sampled_from([True, False, 1, 0, np.bool_(True), np.bool_(False)]))
@example(flag=1)
@example(flag=np.bool_(True))
def test_requires_grad_is_stored_as_a_bool(flag):
    t = Tensor([1.0, 2.0], requires_grad=flag)
    if type(t.requires_grad) is not bool or t.requires_grad != bool(flag):
        checks.fail("requires_grad must be stored as a Python bool.",
                    f"Tensor(..., requires_grad={flag!r}).requires_grad is "
                    f"{t.requires_grad!r} ({type(t.requires_grad).__name__})",
                    hint="store bool(requires_grad): kata 06 compares it with `is True`")


@given(a=ramps(min_dims=0))
@example(a=np.array([[1.0, 2.0], [3.0, 4.0]], F32))
def test_numpy_numel_and_memory_footprint(a):
    t = Tensor(a)
    inputs = {"x": a}
    if t.numpy() is not t.data:
        checks.fail("x.numpy() must return x.data itself (the same object, not a copy).",
                    inputs=inputs, hint="return self.data")
    n = t.numel()
    if type(n) is not int or n != a.size:
        checks.fail("x.numel() must be the number of elements, as a Python int.",
                    f"got {n!r} ({type(n).__name__}), expected {a.size}", inputs=inputs,
                    hint="the same number as x.size")
    b = t.memory_footprint()
    if type(b) is not int or b != a.nbytes:
        checks.fail("x.memory_footprint() must be the bytes held by x.data, as a Python int.",
                    f"got {b!r} ({type(b).__name__}), expected {a.nbytes} "
                    f"({a.size} elements of {a.itemsize} bytes)", inputs=inputs,
                    hint="an element takes data.itemsize bytes (4 in float32, 8 in float64): "
                         "use the array's nbytes")


# ---------------------------------------------------------------- view and contiguous

@given(a=ramps(), data=st.data())
@example(a=np.arange(6, dtype=F32).reshape(2, 3), data=None)
def test_view_is_reshape(a, data):
    target = (-1,) if data is None else data.draw(st.sampled_from([(-1,), (a.size,), (1, a.size),
                                                                    (a.size, -1)]))
    x = Tensor(a)
    what = f"x.view{target}"
    out = x.view(*target)
    checks.check_array(out, a.reshape(target), what, inputs={"x": a}, type_=Tensor, dtype=a.dtype,
                       hint="view(*shape) behaves exactly like reshape(*shape)")
    check_new(out, (x,), what, {"x": a})
    try:
        x.view(a.size + 1)
    except ValueError:
        pass
    else:
        checks.fail(f"x.view({a.size + 1}) must raise ValueError like reshape.", inputs={"x": a},
                    hint="a shape that cannot hold exactly x.size elements raises ValueError")


@given(a=ramps(min_dims=2))
@example(a=np.arange(6, dtype=F32).reshape(2, 3))
def test_contiguous_gives_c_contiguous_data_with_the_same_values(a):
    x = Tensor(a)
    t = x.transpose()
    what = "x.transpose().contiguous()"
    out = t.contiguous()
    checks.check_array(out, np.swapaxes(a, -1, -2), what, inputs={"x": a}, type_=Tensor,
                       dtype=a.dtype)
    if not out.data.flags["C_CONTIGUOUS"]:
        checks.fail(f"{what} must hold C-contiguous data.", "data.flags['C_CONTIGUOUS'] is False",
                    inputs={"x": a}, hint="np.ascontiguousarray copies into row-major order")
    check_new(out, (t,), what, {"x": a})
    if np.shares_memory(out.data, t.data):
        checks.fail(f"{what} must not share memory with its input.", inputs={"x": a},
                    hint="build the result with Tensor(...) from a copy")


# ---------------------------------------------------------------- masked_fill

MASK_FORMS = ["bool array", "list", "Tensor", "broadcast row", "broadcast column"]


@st.composite
def masked_cases(draw):
    dtype = draw(DTYPES)
    rows, cols = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    a = ((np.arange(rows * cols) - 2.5).reshape(rows, cols)).astype(dtype)
    form = draw(st.sampled_from(MASK_FORMS))
    shape = {"broadcast row": (1, cols), "broadcast column": (rows, 1)}.get(form, (rows, cols))
    mask = np.asarray(draw(st.lists(st.booleans(), min_size=int(np.prod(shape)),
                                    max_size=int(np.prod(shape))))).reshape(shape)
    value = draw(st.sampled_from([0.0, -1.5, float("-inf"), 7, -1e9]))
    return a, form, mask, value


def _mask_operand(form, mask):
    if form == "list":
        return mask.tolist()
    if form == "Tensor":
        return Tensor(mask)  # float32 0/1: nonzero counts as true
    return mask


@given(case=masked_cases())
@example(case=(np.array([[1.0, 2.0, 3.0]], F32), "bool array", np.array([[True, False, True]]), -1.5))
@example(case=(np.array([[1.0, 2.0], [3.0, 4.0]], F32), "Tensor", np.array([[False, True], [True, False]]), 0.0))
@example(case=(np.array([[1.0, 2.0], [3.0, 4.0]], F64), "broadcast row", np.array([[False, True]]), float("-inf")))
@example(case=(np.array([[1.0, 2.0], [3.0, 4.0]], F32), "broadcast column", np.array([[True], [False]]), 7))
def test_masked_fill_matches_np_where(case):
    a, form, mask, value = case
    a0 = a.copy()
    x = Tensor(a)
    what = f"x.masked_fill(mask ({form}), {value!r})"
    inputs = {"x": a0, "mask": mask}
    out = x.masked_fill(_mask_operand(form, mask), value)
    expected = np.where(mask, np.asarray(value, dtype=a.dtype), a0)
    wrong = [(np.where(mask, a0, np.asarray(value, dtype=a.dtype)),
              "the mask was inverted: value goes where the mask is TRUE")]
    checks.check_array(out, expected, what, inputs=inputs, type_=Tensor, dtype=a.dtype, wrong=wrong,
                       hint="masked_fill(mask, value) equals np.where(mask, value, x)",
                       shape_hint="the result has x's shape: broadcast the mask to x.shape")
    check_new(out, (x,), what, inputs)
    check_untouched(a0, x, what, inputs)


@given(rows=st.integers(2, 3), cols=st.integers(2, 4))
@example(rows=2, cols=3)
def test_masked_fill_rejects_a_mask_that_does_not_broadcast(rows, cols):
    x = Tensor(np.zeros((rows, cols), F32))
    for bad in (np.ones((rows + 1, cols), bool), np.ones((cols + 1,), bool), np.ones((rows, cols, 2), bool)):
        try:
            out = x.masked_fill(bad, 1.0)
        except ValueError:
            continue
        except NotImplementedError:
            raise
        except Exception as err:  # noqa: BLE001 - the wrong kind of error
            checks.fail("A mask that does not broadcast to x.shape must raise ValueError.",
                        f"it raised {type(err).__name__}: {err}",
                        inputs={"x.shape": x.shape, "mask.shape": bad.shape})
        checks.fail("A mask that does not broadcast to x.shape must raise ValueError.",
                    f"it returned {checks.fmt(out)}", inputs={"x.shape": x.shape, "mask.shape": bad.shape},
                    hint="np.broadcast_to(mask, x.shape) raises ValueError when the shapes do not fit; "
                         "the result keeps x's shape, so a larger mask is an error too")
