"""Hidden tests for save_checkpoint / load_checkpoint: round trip, atomic save, and loads that
fail loudly on a bad file while leaving the model exactly as it was."""
import errno
import io
import os
import re
import tempfile

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.activations import ReLU
from tinytorch.core.dataloader import DataLoader, TensorDataset
from tinytorch.core.layers import Linear, Sequential
from tinytorch.core.losses import CrossEntropyLoss
from tinytorch.core.optimizers import SGD, Adam, AdamW
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CosineSchedule, Trainer, load_checkpoint, save_checkpoint
from training_kit import raised

KATA = "08_training"
F32, F64 = np.float32, np.float64

HINT_VALIDATE_FIRST = ("check the count and every shape BEFORE assigning anything: a load that "
                       "fails half-way must not leave the model half-overwritten")
HINT_IDENTITY = ("assign into each parameter's .data instead of replacing the parameter "
                 "Tensors: an optimizer holds references to the old ones")

widths = st.lists(st.integers(1, 4), min_size=2, max_size=4)


# ---------------------------------------------------------------- helpers
def mlp(sizes, seed, bias=True, last_bias=None):
    """Sequential of Linear layers with reproducible values drawn from `seed`."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(Linear(a, b, bias=bias if not last or last_bias is None else last_bias))
    model = Sequential(*layers)
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.data = rng.uniform(-1, 1, p.data.shape).astype(F32)
    return model


def snapshot(model):
    return [(p, p.data.dtype, p.data.copy()) for p in model.parameters()]


def check_unchanged(model, snap, what, inputs=None, hint=HINT_VALIDATE_FIRST):
    params = model.parameters()
    if len(params) != len(snap) or any(p is not q for p, (q, _, _) in zip(params, snap)):
        checks.fail(f"{what}: the model's parameters must stay the same Tensor objects.",
                    inputs=inputs, hint=hint)
    for i, (p, dtype, data) in enumerate(snap):
        if p.data.dtype != dtype or p.data.shape != data.shape or not np.array_equal(p.data, data):
            checks.fail(f"{what}: a failed load must leave the model unchanged, but parameter "
                        f"{i} changed.", f"before {checks.fmt(data)}\nafter  {checks.fmt(p.data)}",
                        inputs=inputs, hint=hint)


def expect_error(kind, call, what, inputs=None, hint=""):
    exc = raised(call)
    if not isinstance(exc, kind):
        checks.fail(f"{what} must raise {kind.__name__}.",
                    "nothing was raised" if exc is None else f"got {type(exc).__name__}: {exc}",
                    inputs=inputs, hint=hint)
    return str(exc)


def load_and_compare(model, source, path, what):
    """Load `path` into `model` and compare with `source`'s values, dtype and identity."""
    before = [p for p in model.parameters()]
    dtypes = [p.data.dtype for p in before]
    load_checkpoint(model, path)
    after = model.parameters()
    if len(after) != len(before) or any(p is not q for p, q in zip(after, before)):
        checks.fail(f"{what}: the model's parameters must stay the same Tensor objects.",
                    hint=HINT_IDENTITY)
    for i, (p, q, dtype) in enumerate(zip(after, source.parameters(), dtypes)):
        checks.check_array(p.data, q.data.astype(dtype), f"{what}: parameter {i}", dtype=dtype,
                           rtol=1e-6, atol=1e-7,
                           hint="load the arrays in the order of model.parameters(), cast to "
                                "each parameter's own dtype")


# ---------------------------------------------------------------- tests

def test_checkpoints_come_from_your_kata():
    model = mlp([2, 3], seed=0)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.npz")
        save_checkpoint(model, path)  # runs your code first: the empty stub does not pass
        load_and_compare(model, mlp([2, 3], seed=0), path, "save then load into the same model")
    checks.assert_from_kata(save_checkpoint, KATA)
    checks.assert_from_kata(load_checkpoint, KATA)


@settings(max_examples=5)
@given(sizes=widths, seed=st.integers(0, 2**16))
@example(sizes=[3, 4, 2], seed=0)
def test_checkpoint_round_trip_restores_every_parameter(sizes, seed):
    source, target = mlp(sizes, seed), mlp(sizes, seed + 1)
    kept = snapshot(source)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.npz")
        save_checkpoint(source, path)
        for i, (p, dtype, data) in enumerate(kept):
            if not np.array_equal(p.data, data):
                checks.fail("save_checkpoint must not change the model it saves.",
                            f"parameter {i} changed", hint="only read p.data when saving")
        left = sorted(os.listdir(d))
        if left != ["model.npz"]:
            checks.fail("save_checkpoint(model, path) must write exactly `path` and leave no "
                        "temporary file behind.",
                        f"the folder holds {left}, expected ['model.npz']",
                        hint="write to a temporary file in the same folder, then os.replace it "
                             "onto path; np.savez appends .npz to a file NAME without it")
        with np.load(path) as npz:
            names = sorted(npz.files)
            stored = {k: npz[k] for k in npz.files}
        expected_names = sorted(f"param_{i}" for i in range(len(kept)))
        if names != expected_names:
            checks.fail("The checkpoint .npz must hold the parameters under the keys param_0, "
                        "param_1, ... in the order of model.parameters().",
                        f"np.load(path).files = {names}, expected {expected_names}",
                        hint="np.savez(file, **{f'param_{i}': ...})")
        for i, (p, _, data) in enumerate(kept):
            checks.check_array(stored[f"param_{i}"], data, f"np.load(checkpoint)['param_{i}']",
                               rtol=0, atol=0, hint="save p.data of model.parameters() in order")
        load_and_compare(target, source, path, "load_checkpoint into a model of the same shape")


@settings(max_examples=4)
@given(sizes=widths, seed=st.integers(0, 2**16))
@example(sizes=[3, 4, 2], seed=0)
def test_checkpoint_load_keeps_each_parameters_dtype(sizes, seed):
    source, target = mlp(sizes, seed), mlp(sizes, seed + 1)
    for p in source.parameters():
        p.data = p.data.astype(F64) / 3  # a float64 checkpoint loaded into a float32 model
    wide = mlp(sizes, seed + 2)
    for p in wide.parameters():
        p.data = p.data.astype(F64)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.npz")
        save_checkpoint(source, path)
        load_and_compare(target, source, path, "a float64 checkpoint loaded into a float32 model")
        save_checkpoint(target, path)
        load_and_compare(wide, target, path, "a float32 checkpoint loaded into a float64 model")


@settings(max_examples=3)
@given(sizes=widths, seed=st.integers(0, 2**16))
@example(sizes=[3, 4, 2], seed=0)
def test_trainer_checkpoint_methods_delegate(sizes, seed):
    source, target = mlp(sizes, seed), mlp(sizes, seed + 1)
    loss = CrossEntropyLoss()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "trainer.npz")
        def constant(epoch):  # a scheduler without state_dict(): nothing of it is saved
            return 0.1

        before = target.parameters()
        exc = raised(lambda: Trainer(source, SGD(source.parameters(), lr=0.1), loss,
                                     scheduler=constant).save_checkpoint(path)) or \
            raised(lambda: Trainer(target, SGD(target.parameters(), lr=0.1), loss,
                                   scheduler=constant).load_checkpoint(path))
        if exc is not None:
            checks.fail("Trainer.save_checkpoint then Trainer.load_checkpoint with a plain "
                        "function as the scheduler must work.",
                        f"it raised {type(exc).__name__}: {exc}",
                        hint="only a scheduler with a state_dict() (CosineSchedule) has state to "
                             "save: skip the others")
        for i, (p, q, b) in enumerate(zip(target.parameters(), source.parameters(), before)):
            if p is not b:
                checks.fail("Trainer.load_checkpoint must keep the model's parameter Tensors.",
                            hint=HINT_IDENTITY)
            checks.check_array(p.data, q.data, f"Trainer.save_checkpoint then "
                               f"Trainer.load_checkpoint: parameter {i}", rtol=0, atol=0,
                               hint="the Trainer methods call save_checkpoint / load_checkpoint "
                                    "on self.model")


@settings(max_examples=3)
@given(sizes=widths, seed=st.integers(0, 2**16))
@example(sizes=[3, 4, 2], seed=0)
def test_checkpoint_missing_file_raises_file_not_found(sizes, seed):
    model = mlp(sizes, seed)
    snap = snapshot(model)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "no_such_checkpoint.npz")
        msg = expect_error(FileNotFoundError, lambda: load_checkpoint(model, path),
                           "load_checkpoint on a missing file", inputs={"path": path},
                           hint="check that the file exists before reading it")
        if path not in msg:
            checks.fail("The FileNotFoundError of load_checkpoint must name the missing path.",
                        f"message: {msg!r}", inputs={"path": path},
                        hint="put the path in the error message")
    check_unchanged(model, snap, "load_checkpoint on a missing file")


def _truncated(path):
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])


def _head(path):
    data = open(path, "rb").read()
    open(path, "wb").write(data[:10])


def _empty(path):
    open(path, "wb").close()


def _text(path):
    open(path, "w").write("these are not the weights you are looking for\n")


def _npy(path):
    with open(path, "wb") as f:
        np.save(f, np.ones((3, 4), F32))


def _foreign(path):
    with open(path, "wb") as f:
        np.savez(f, weights=np.ones((3, 4), F32), bias=np.zeros(4, F32))


def _stray_key(path):
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    with open(path, "wb") as f:
        np.savez(f, notes=np.arange(3), **arrays)


BROKEN = {"truncated to half its bytes": _truncated, "cut to its first 10 bytes": _head,
          "empty": _empty, "a text file": _text, "a .npy array, not an .npz": _npy,
          "an .npz with other keys (weights, bias)": _foreign,
          "our keys plus an unknown one (notes)": _stray_key}


@pytest.mark.parametrize("damage", list(BROKEN))
def test_checkpoint_invalid_file_raises_value_error_and_leaves_model(damage):
    source, model = mlp([3, 4, 2], 0), mlp([3, 4, 2], 1)
    snap = snapshot(model)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.npz")
        save_checkpoint(source, path)
        BROKEN[damage](path)
        what = f"load_checkpoint on a checkpoint that is {damage}"
        msg = expect_error(ValueError, lambda: load_checkpoint(model, path), what,
                           hint="catch whatever np.load raises on a broken file and raise "
                                "ValueError('... not a valid checkpoint ...') instead")
        if "not a valid checkpoint" not in msg:
            checks.fail(f"{what}: the ValueError must say 'not a valid checkpoint'.",
                        f"message: {msg!r}", hint="use the documented wording")
    check_unchanged(model, snap, what)


@settings(max_examples=6)
@given(sizes=widths, other=st.integers(1, 4), seed=st.integers(0, 2**16))
@example(sizes=[3, 4, 5], other=2, seed=0)
@example(sizes=[2, 3], other=4, seed=0)
def test_checkpoint_wrong_shape_names_index_and_shapes_and_leaves_model(sizes, other, seed):
    out = sizes[-1]
    other = other if other != out else out + 1  # the last layer's width differs
    source = mlp(sizes, seed)
    model = mlp(sizes[:-1] + [other], seed + 1)
    index = 2 * (len(sizes) - 2)  # the last Linear's weight is the first mismatch
    want, have = source.parameters()[index].shape, model.parameters()[index].shape
    snap = snapshot(model)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.npz")
        save_checkpoint(source, path)
        what = (f"load_checkpoint of a checkpoint with shape {want} into a model whose "
                f"parameter {index} has shape {have}")
        msg = expect_error(ValueError, lambda: load_checkpoint(model, path), what,
                           hint="compare each saved array's shape with its parameter's shape")
    check_unchanged(model, snap, what)
    if str(want) not in msg or str(have) not in msg:
        checks.fail(f"{what}: the ValueError must name both shapes.", f"message: {msg!r}",
                    hint=f"write the shapes as Python tuples, e.g. {want} and {have}")
    if not re.search(rf"(param\w*|index|#)\s*\[?{index}\b", msg, re.IGNORECASE):
        checks.fail(f"{what}: the ValueError must name the parameter index {index}.",
                    f"message: {msg!r}", hint=f"e.g. 'parameter {index}: ...'")


@settings(max_examples=6)
@given(sizes=widths, more=st.booleans(), seed=st.integers(0, 2**16))
@example(sizes=[3, 4, 2], more=True, seed=0)
@example(sizes=[3, 4, 2], more=False, seed=0)
def test_checkpoint_wrong_count_raises_and_leaves_model(sizes, more, seed):
    # Same shapes except that one model's last Linear has no bias: the counts differ by one.
    with_bias, without = mlp(sizes, seed), mlp(sizes, seed + 1, last_bias=False)
    source, model = (with_bias, without) if more else (without, with_bias)
    n_saved, n_model = len(source.parameters()), len(model.parameters())
    snap = snapshot(model)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.npz")
        save_checkpoint(source, path)
        what = (f"load_checkpoint of a checkpoint with {n_saved} parameters into a model "
                f"with {n_model}")
        msg = expect_error(ValueError, lambda: load_checkpoint(model, path), what,
                           hint="compare the number of saved arrays with "
                                "len(model.parameters()) before assigning")
    check_unchanged(model, snap, what)
    numbers = re.findall(r"\d+", msg)
    if str(n_saved) not in numbers or str(n_model) not in numbers:
        checks.fail(f"{what}: the ValueError must name both counts.", f"message: {msg!r}",
                    hint=f"e.g. 'checkpoint holds {n_saved} parameters, the model has {n_model}'")


# ---------------------------------------------------------------- atomic writes

HINT_ATOMIC = ("write to a temporary file in the same folder as path, and os.replace it onto "
               "path only once the write has finished")


def _spy(calls, name, real):
    def spy(src, dst, *args, **kwargs):
        calls.append((name, os.fspath(src), os.fspath(dst)))
        return real(src, dst, *args, **kwargs)
    return spy


def test_checkpoint_save_moves_a_temporary_file_from_the_same_folder(monkeypatch):
    model = mlp([3, 4, 2], 0)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.npz")
        calls = []
        monkeypatch.setattr(os, "replace", _spy(calls, "os.replace", os.replace))
        monkeypatch.setattr(os, "rename", _spy(calls, "os.rename", os.rename))
        save_checkpoint(model, path)
        monkeypatch.undo()
        onto = [c for c in calls if os.path.abspath(c[2]) == os.path.abspath(path)]
        if not onto:
            checks.fail("save_checkpoint must write a temporary file and then move it onto path "
                        "with os.replace.", f"no os.replace(tmp, path) call was made "
                        f"(calls seen: {calls})", inputs={"path": path}, hint=HINT_ATOMIC)
        src = os.path.abspath(onto[-1][1])
        if src == os.path.abspath(path):
            checks.fail("save_checkpoint must write a temporary file first, not path itself.",
                        f"{onto[-1][0]}({onto[-1][1]!r}, {onto[-1][2]!r})", hint=HINT_ATOMIC)
        if os.path.dirname(src) != os.path.dirname(os.path.abspath(path)):
            checks.fail("The temporary file of save_checkpoint must be in the same folder as "
                        "path.", f"it was {onto[-1][1]!r}, path is {path!r}",
                        hint="os.replace is atomic within one file system only: a temporary "
                             "file elsewhere (the system's temp folder) may sit on another one, "
                             "where the move fails or copies; tempfile.mkstemp(dir=folder)")


class InjectedFault(OSError):
    """The test's stand-in for a full disk, raised half-way through writing an array."""


@pytest.mark.parametrize("before", ["an older checkpoint", "no file yet"])
def test_checkpoint_save_interrupted_mid_write_keeps_the_old_file(before, monkeypatch):
    old, new = mlp([3, 4, 2], 0), mlp([3, 4, 2], 1)
    writes = []
    real = np.lib.format.write_array

    def crash_on_the_second_array(fp, array, *args, **kwargs):
        writes.append(array.shape)
        if len(writes) < 2:
            return real(fp, array, *args, **kwargs)
        half = io.BytesIO()
        real(half, array, *args, **kwargs)
        fp.write(half.getvalue()[: len(half.getvalue()) // 2])  # half an array on disk
        raise InjectedFault(errno.ENOSPC, "No space left on device (injected by the test)")

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.npz")
        original = None
        if before == "an older checkpoint":
            save_checkpoint(old, path)
            with open(path, "rb") as f:
                original = f.read()
        monkeypatch.setattr(np.lib.format, "write_array", crash_on_the_second_array)
        exc = raised(lambda: save_checkpoint(new, path))
        monkeypatch.undo()
        what = f"save_checkpoint failing half-way through its write ({before} at path)"
        if len(writes) < 2:
            checks.fail(f"{what}: the test could not interrupt the write.",
                        "NumPy's array writer (np.lib.format.write_array) was called "
                        f"{len(writes)} time(s) for 4 parameters",
                        hint="write the checkpoint with np.savez (it writes each array with "
                             "np.lib.format.write_array)")
        if exc is None:
            checks.fail(f"{what} must raise the error of the failed write.", "nothing was raised",
                        hint="clean up, then re-raise: a failed save must not look successful")
        left = sorted(os.listdir(d))
        if original is not None:
            if not os.path.isfile(path):
                checks.fail(f"{what}: the older checkpoint at path must survive.",
                            f"path is gone; the folder holds {left}", hint=HINT_ATOMIC)
            with open(path, "rb") as f:
                now = f.read()
            if now != original:
                checks.fail(f"{what}: the older checkpoint at path must be left intact.",
                            f"its {len(original)} bytes became {len(now)} different bytes: a "
                            "crash half-way through the write damaged it", hint=HINT_ATOMIC)
        expected = ["model.npz"] if original is not None else []
        if left != expected:
            checks.fail(f"{what}: no temporary file may be left behind.",
                        f"the folder holds {left}, expected {expected}",
                        hint="remove the temporary file when the write fails (try/except or "
                             "finally around the write), then re-raise")


def test_checkpoint_save_into_a_missing_folder_names_the_path():
    model = mlp([3, 4, 2], 0)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "no_such_folder", "model.npz")
        msg = expect_error(FileNotFoundError, lambda: save_checkpoint(model, path),
                           "save_checkpoint into a folder that does not exist",
                           inputs={"path": path}, hint="check the folder before writing")
        if path not in msg:
            checks.fail("The FileNotFoundError of save_checkpoint must contain the path it was "
                        "given.", f"message: {msg!r}", inputs={"path": path},
                        hint="a message naming only the temporary file does not tell the user "
                             "which save failed: check os.path.isdir(folder) first and raise "
                             "with the path")
        if os.listdir(d):
            checks.fail("A failed save into a missing folder must write nothing.",
                        f"the parent folder now holds {os.listdir(d)}",
                        hint="do not create folders: check, and raise")


# ---------------------------------------------------------------- optimizer, scheduler, extra

def trained(model, seed, momentum=0.9):
    """An SGD with momentum that took one step, so that its state holds velocities."""
    opt = SGD(model.parameters(), lr=0.1, momentum=momentum)
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.grad = rng.uniform(-1, 1, p.data.shape).astype(F32)
    opt.step()
    for p in model.parameters():
        p.grad = None
    return opt


def states_equal(got, want):
    return sorted(got) == sorted(want) and all(
        np.array_equal(np.asarray(got[k]), np.asarray(want[k])) for k in want)


def state_diff(got, want):
    """The first difference between two state dicts, in a few lines."""
    if sorted(got) != sorted(want):
        return f"keys {sorted(got)}\nexpected keys {sorted(want)}"
    key = next(k for k in sorted(want)
               if not np.array_equal(np.asarray(got[k]), np.asarray(want[k])))
    return f"entry {key!r}: got {checks.fmt(got[key])}, saved {checks.fmt(want[key])}"


@settings(max_examples=3)
@given(sizes=widths, seed=st.integers(0, 2**16))
@example(sizes=[3, 4, 2], seed=0)
def test_checkpoint_with_optimizer_scheduler_and_extra_round_trip(sizes, seed):
    source = mlp(sizes, seed)
    opt = trained(source, seed)
    schedule = CosineSchedule(0.5, 0.05, 7)
    extra = {"epoch": 3, "note": np.arange(4.0)}
    target = mlp(sizes, seed + 1)
    target_opt, target_schedule = SGD(target.parameters(), lr=0.01), CosineSchedule()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "run.npz")
        save_checkpoint(source, path, optimizer=opt, scheduler=schedule, extra=extra)
        with np.load(path, allow_pickle=False) as npz:
            names = sorted(npz.files)
        n = len(source.parameters())
        want = sorted([f"param_{i}" for i in range(n)]
                      + ["optimizer." + k for k in opt.state_dict()]
                      + ["scheduler." + k for k in schedule.state_dict()]
                      + ["extra." + k for k in extra])
        if names != want:
            checks.fail("save_checkpoint(model, path, optimizer, scheduler, extra) must store "
                        "param_i, optimizer.<key>, scheduler.<key> and extra.<key> entries.",
                        f"np.load(path, allow_pickle=False).files = {names}\nexpected {want}",
                        hint="one .npz entry per parameter and per key of each state_dict() "
                             "and of extra, under those prefixes")
        out = []
        exc = raised(lambda: out.append(load_checkpoint(target, path, optimizer=target_opt,
                                                        scheduler=target_schedule)))
        if exc is not None:
            checks.fail("load_checkpoint(model, path, optimizer, scheduler) of that file raised "
                        f"{type(exc).__name__}: {exc}", hint="accept the keys save_checkpoint "
                                                          "writes")
        for i, (p, q) in enumerate(zip(target.parameters(), source.parameters())):
            checks.check_array(p.data, q.data, f"parameter {i} after the load", rtol=0, atol=0)
        if not states_equal(target_opt.state_dict(), opt.state_dict()):
            checks.fail("load_checkpoint(..., optimizer=opt) must restore the optimizer's state.",
                        state_diff(target_opt.state_dict(), opt.state_dict()),
                        hint="hand the optimizer.<key> entries (prefix removed) to "
                             "optimizer.load_state_dict")
        if not states_equal(target_schedule.state_dict(), schedule.state_dict()):
            checks.fail("load_checkpoint(..., scheduler=s) must restore the scheduler's state.",
                        state_diff(target_schedule.state_dict(), schedule.state_dict()),
                        hint="hand the scheduler.<key> entries to scheduler.load_state_dict")
        got = out[0]
        if not isinstance(got, dict) or sorted(got) != sorted(extra) or not all(
                np.array_equal(np.asarray(got[k]), np.asarray(v)) for k, v in extra.items()):
            checks.fail("load_checkpoint must return the extra entries, keyed without the "
                        "'extra.' prefix.", f"got {got!r}, saved extra={extra!r}",
                        hint="{key[len('extra.'):]: value for the extra.<key> entries}")
        plain = mlp(sizes, seed + 2)
        exc = raised(lambda: load_checkpoint(plain, path))
        if exc is not None:
            checks.fail("load_checkpoint(model, path) must load the parameters of a checkpoint "
                        "that also holds optimizer, scheduler and extra entries.",
                        f"it raised {type(exc).__name__}: {exc}",
                        hint="optimizer., scheduler. and extra. keys belong to a valid checkpoint")
        with tempfile.TemporaryDirectory() as d2:
            path2 = os.path.join(d2, "model.npz")
            save_checkpoint(source, path2)
            if load_checkpoint(target, path2) != {}:
                checks.fail("load_checkpoint of a file without extra entries must return {}.",
                            f"got {load_checkpoint(target, path2)!r}")


@pytest.mark.parametrize("part", ["optimizer", "scheduler"])
def test_checkpoint_load_of_a_state_the_file_lacks_raises_and_changes_nothing(part):
    source, model = mlp([3, 4, 2], 0), mlp([3, 4, 2], 1)
    opt, schedule = trained(model, 1), CosineSchedule(0.5, 0.05, 7)
    snap, opt_before = snapshot(model), opt.state_dict()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.npz")
        if part == "optimizer":
            save_checkpoint(source, path)  # model only
            kwargs = {"optimizer": opt}
        else:
            save_checkpoint(source, path, optimizer=trained(source, 2))  # no scheduler
            kwargs = {"optimizer": opt, "scheduler": schedule}
        what = f"load_checkpoint(model, path, {', '.join(kwargs)}) of a file without {part} state"
        msg = expect_error(ValueError, lambda: load_checkpoint(model, path, **kwargs), what,
                           hint=f"check that the file holds {part}.<key> entries before "
                                "loading anything")
        if f"no {part} state" not in msg:
            checks.fail(f"{what}: the ValueError must say 'no {part} state'.", f"message: {msg!r}",
                        hint="use the documented wording")
    check_unchanged(model, snap, what)
    if not states_equal(opt.state_dict(), opt_before):
        checks.fail(f"{what}: the optimizer must be left exactly as it was.",
                    hint=HINT_VALIDATE_FIRST)


def test_checkpoint_load_checks_the_optimizer_state_before_touching_the_model():
    source, model = mlp([3, 4, 2], 0), mlp([3, 4, 2], 1)
    source_opt = trained(source, 0)
    opt = trained(model, 1)
    snap, opt_before = snapshot(model), opt.state_dict()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "run.npz")
        save_checkpoint(source, path, optimizer=source_opt)
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
        arrays["optimizer.velocity_0"] = np.zeros((5, 5), F32)  # fits no parameter
        with open(path, "wb") as f:
            np.savez(f, **arrays)
        what = ("load_checkpoint(model, path, optimizer) of a file whose optimizer state does "
                "not fit (velocity_0 of shape (5, 5) for a (3, 4) parameter)")
        expect_error(ValueError, lambda: load_checkpoint(model, path, optimizer=opt), what,
                     hint="the optimizer's load_state_dict refuses it (kata 07): let its "
                          "ValueError through")
    check_unchanged(model, snap, what, hint="load the optimizer state (which validates it) "
                                            "before assigning the parameters")
    if not states_equal(opt.state_dict(), opt_before):
        checks.fail(f"{what}: the optimizer must be left exactly as it was.",
                    hint=HINT_VALIDATE_FIRST)


# ---------------------------------------------------------------- resumable training

RESUMED = {
    "SGD+momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    "Adam": lambda ps: Adam(ps, lr=0.05),
    "AdamW": lambda ps: AdamW(ps, lr=0.05, weight_decay=0.1),
}


def resumable(name, seed):
    rng = np.random.default_rng(seed)
    model = Sequential(Linear(3, 5), ReLU(), Linear(5, 3))
    for p in model.parameters():
        p.data = rng.uniform(-1, 1, p.data.shape).astype(F32)
    return Trainer(model, RESUMED[name](model.parameters()), CrossEntropyLoss(),
                   scheduler=CosineSchedule(0.1, 0.01, 4), grad_clip_norm=1.0)


@pytest.mark.parametrize("name", list(RESUMED))
def test_trainer_resumes_from_a_checkpoint_exactly(name):
    rng = np.random.default_rng(11)
    x = rng.normal(size=(10, 3)).astype(F32)
    y = rng.integers(0, 3, size=10).astype(F32)

    def data():  # shuffled batches of 4, 4 and 2
        return DataLoader(TensorDataset(Tensor(x), Tensor(y)), batch_size=4, shuffle=True, seed=5)

    held_out = DataLoader(TensorDataset(Tensor(x[:6]), Tensor(y[:6])), batch_size=4)

    def epochs(trainer, loader, n):
        for _ in range(n):
            trainer.train_epoch(loader, accumulation_steps=2)  # groups of 2, then 1 batch
            trainer.evaluate(held_out)

    with checks.autograd_session():
        straight = resumable(name, 0)
        epochs(straight, data(), 4)
        first = resumable(name, 0)
        epochs(first, data(), 2)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "run.npz")
            first.save_checkpoint(path)
            with np.load(path, allow_pickle=False) as npz:
                names = set(npz.files)
            missing = sorted({"extra.epoch", "extra.step", "extra.train_loss", "extra.eval_loss",
                              "extra.learning_rates", "optimizer.lr", "scheduler.max_lr"} - names)
            if missing:
                checks.fail("Trainer.save_checkpoint must store the optimizer, the scheduler, "
                            "epoch, step and the history.", f"the file lacks {missing}",
                            hint="save_checkpoint(self.model, path, optimizer=..., scheduler=..., "
                                 "extra={'epoch': ..., 'step': ..., 'train_loss': ..., ...})")
            resumed = resumable(name, 1)  # fresh objects, other initial weights
            exc = raised(lambda: resumed.load_checkpoint(path))
        if exc is not None:
            checks.fail(f"Trainer.load_checkpoint of its own checkpoint raised "
                        f"{type(exc).__name__}: {exc}",
                        hint="Trainer.save_checkpoint must write everything its load needs")
        what = f"{name}: after Trainer.load_checkpoint of a checkpoint taken after 2 epochs"
        for attr in ("epoch", "step"):
            got, want = getattr(resumed, attr), getattr(first, attr)
            if type(got) is not int or got != want:
                checks.fail(f"{what}, trainer.{attr} must be the saved {want} as a Python int.",
                            f"got {type(got).__name__}: {got!r}",
                            hint=f"restore trainer.{attr} from the extra entries, with int(...)"
                                 + (" (the epoch is the scheduler's position)" if attr == "epoch"
                                    else ""))
        if resumed.history != first.history or not all(
                type(v) is float for lst in resumed.history.values() for v in lst):
            checks.fail(f"{what}, trainer.history must equal the saved one, as lists of Python "
                        "floats.", f"got {resumed.history!r}\nsaved {first.history!r}",
                        hint="restore each list from its float64 array: [float(v) for v in a]")
        if not states_equal(resumed.optimizer.state_dict(), first.optimizer.state_dict()):
            checks.fail(f"{what}, the optimizer's state must equal the saved one.",
                        state_diff(resumed.optimizer.state_dict(), first.optimizer.state_dict()),
                        hint="save and load the optimizer's state_dict() (momentum, Adam's "
                             "moments and step counts) with the model")
        loader = data()
        for _ in range(resumed.epoch):  # the README's recipe for a seeded loader
            for _ in loader:
                pass
        epochs(resumed, loader, 2)
    for i, (p, q) in enumerate(zip(resumed.model.parameters(), straight.model.parameters())):
        checks.check_array(p.data, q.data.copy(), f"{name}: parameter {i} after 2 epochs, a "
                           "checkpoint, a load into fresh objects and 2 more epochs (it must equal "
                           "4 epochs straight, bit for bit)", dtype=F32, rtol=0, atol=0,
                           hint="everything the next steps depend on must be in the checkpoint: "
                                "parameters, the optimizer's state, the scheduler, epoch and step")
    if resumed.history != straight.history or resumed.step != straight.step:
        checks.fail(f"{name}: after resuming, history and step must equal those of the "
                    "uninterrupted run.", f"resumed: step {resumed.step}, {resumed.history}\n"
                    f"straight: step {straight.step}, {straight.history}",
                    hint="continue the restored lists and counters")
