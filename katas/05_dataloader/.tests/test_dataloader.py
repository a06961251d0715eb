"""Hidden tests for kata 05: TensorDataset and DataLoader.

Oracles: an index column stored beside the data recovers which examples a batch holds,
so every epoch can be checked as a partition of range(N); batch sizes and len() follow
from N and batch_size; seeds are checked by comparing whole sequences of epochs.
"""
from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pytest_tinytorch import checks
from tinytorch.core.dataloader import DataLoader, Dataset, TensorDataset
from tinytorch.core.tensor import Tensor

from dataloader_kit import attempt

SEEDS = st.integers(0, 2**32 - 1)


# ---------------------------------------------------------------- helpers

def indexed_dataset(n: int, width: int = 3):
    """A TensorDataset of (index column float64 (n,), features float32 (n, width))."""
    idx = np.arange(n, dtype=np.float64)
    x = (np.arange(n * width, dtype=np.float32).reshape(n, width) * 0.5 - 7.0)
    return TensorDataset(Tensor(idx), Tensor(x)), idx, x


def settings_of(n, batch_size, shuffle=False, drop_last=False, seed=None):
    return {"N (len(dataset))": n, "batch_size": batch_size, "shuffle": shuffle,
            "drop_last": drop_last, "seed": seed}


def epoch(loader, x_full, inputs) -> list[np.ndarray]:
    """Run one epoch of a loader over `indexed_dataset`; check each batch's structure and
    that its rows are the rows of the examples it claims; return the index arrays."""
    return [batch_rows(batch, b, x_full, inputs) for b, batch in enumerate(loader)]


def check_tuple(batch, b: int, fields: int, inputs) -> None:
    if isinstance(batch, tuple) and len(batch) == fields:
        return
    hint = ("yield tuple(...): a batch is a tuple, like the examples it is made of"
            if isinstance(batch, list) and len(batch) == fields else "")
    checks.fail("Each batch must be a tuple with one batched Tensor per field.",
                f"batch {b} is a {type(batch).__name__}: {checks.fmt(batch)}; the dataset's "
                f"examples have {fields} field(s)", inputs=inputs, hint=hint)


def batch_rows(batch, b: int, x_full, inputs) -> np.ndarray:
    """The index column of one batch of `indexed_dataset`, after checking the batch."""
    if fast_ok(batch, x_full):  # the common, correct case; the staged checks explain the rest
        return batch[0].data.astype(np.int64)
    check_tuple(batch, b, 2, inputs)
    idx_t, x_t = batch
    for name, t, tail, dtype in (("index", idx_t, (), np.float64),
                                 ("features", x_t, x_full.shape[1:], np.float32)):
        if not isinstance(t, Tensor):
            checks.fail(f"The {name} field of batch {b} must be a Tensor.",
                        f"got {type(t).__name__}: {checks.fmt(t)}", inputs=inputs)
        if t.data.ndim != 1 + len(tail) or tuple(t.data.shape[1:]) != tuple(tail):
            checks.fail(f"The {name} field of batch {b} has the wrong shape.",
                        f"got shape {t.data.shape}, expected (batch, {', '.join(map(str, tail))})"
                        .replace(", )", ")"), inputs=inputs,
                        hint="stack the examples on a new first axis: (B, *example_shape)")
        if t.data.dtype != np.dtype(dtype):
            checks.fail(f"The {name} field of batch {b} has the wrong dtype.",
                        f"got {t.data.dtype}, expected {np.dtype(dtype)} (the dataset tensor's dtype)",
                        inputs=inputs, hint="batching must keep the dataset's dtype")
    if len(idx_t.data) != len(x_t.data):
        checks.fail(f"The fields of batch {b} have different batch sizes.",
                    f"index field {len(idx_t.data)}, features field {len(x_t.data)}",
                    inputs=inputs)
    idx = idx_t.data
    if not np.all((idx == np.round(idx)) & (idx >= 0) & (idx < len(x_full))):
        checks.fail(f"Batch {b} holds rows that are not rows of the dataset.",
                    f"index field = {checks.fmt(idx)}", inputs=inputs)
    idx = idx.astype(np.int64)
    checks.check_array(x_t, x_full[idx], f"the features of batch {b} (rows {idx.tolist()})",
                       inputs=inputs, hint="the fields of a batch must hold the same examples, "
                       "in the same order: gather every tensor with the same index array")
    return idx


def fast_ok(batch, x_full) -> bool:
    if not (isinstance(batch, tuple) and len(batch) == 2
            and all(isinstance(t, Tensor) for t in batch)):
        return False
    idx, x = batch[0].data, batch[1].data
    if (idx.dtype != np.float64 or x.dtype != np.float32 or idx.ndim != 1
            or x.shape != (len(idx), *x_full.shape[1:])):
        return False
    rows = idx.astype(np.int64)
    return bool(np.all((rows == idx) & (rows >= 0) & (rows < len(x_full)))
                and np.array_equal(x, x_full[rows]))


def check_partition(batches, n, inputs, *, expect_all: bool, batch_size: int):
    seen = np.concatenate(batches) if batches else np.zeros(0, np.int64)
    counts = np.bincount(seen, minlength=n)
    if counts.max(initial=0) > 1:
        k = int(np.argmax(counts))
        checks.fail("Each epoch must visit every example at most once.",
                    f"example {k} appears {counts[k]} times in one epoch; "
                    f"epoch order = {seen.tolist()}", inputs=inputs,
                    hint="an epoch is a permutation of range(N): draw indices without "
                         "replacement (not N independent random draws)")
    if expect_all and counts.min(initial=1) == 0:
        missing = np.flatnonzero(counts == 0).tolist()
        tail = n % batch_size
        hint = ("the last partial batch is missing: with drop_last=False the final batch "
                "holds the remaining N % batch_size examples"
                if tail and len(missing) == tail else
                "every example must appear in exactly one batch of the epoch")
        checks.fail("Each epoch must visit every example exactly once.",
                    f"examples {missing} never appear; epoch order = {seen.tolist()}",
                    inputs=inputs, hint=hint)


# ---------------------------------------------------------------- TensorDataset

@given(n=st.integers(1, 8), shape_x=checks.shapes(0, 2, max_side=3),
       dtype=st.sampled_from([np.float32, np.float64]), raw_i=st.integers(0, 15))
@example(n=3, shape_x=(2,), dtype=np.float32, raw_i=2)
@example(n=4, shape_x=(), dtype=np.float64, raw_i=3)
def test_tensor_dataset_len_and_items(n, shape_x, dtype, raw_i):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, *shape_x)).astype(dtype)
    y = np.arange(n, dtype=np.float64) * 2.0 + 1.0
    inputs = {"x": x, "y": y}
    ds = TensorDataset(Tensor(x), Tensor(y))
    if not isinstance(ds, Dataset):
        checks.fail("TensorDataset must be a Dataset.",
                    f"TensorDataset's bases are {[b.__name__ for b in type(ds).__mro__[1:]]}",
                    hint="class TensorDataset(Dataset): keep the base class of the stub")
    if len(ds) != n:
        checks.fail("len(TensorDataset(x, y)) must be the number of rows N.",
                    f"got {len(ds)!r}, expected {n}", inputs=inputs)
    i = raw_i % (2 * n) - n  # negative indices count from the end, as in NumPy
    item, err = attempt(lambda: ds[i])
    if err is not None:
        checks.fail(f"ds[{i}] must be the example at index {i} of {n}.",
                    f"it raised {type(err).__name__}: {err}", inputs=inputs,
                    hint="negative indices count from the end, as in NumPy: index the tensors' "
                         "data with i as it is" if i < 0 and isinstance(err, IndexError) else "")
    if not isinstance(item, tuple) or len(item) != 2:
        checks.fail(f"ds[{i}] must be a tuple (x[{i}], y[{i}]).",
                    f"got {type(item).__name__}: {checks.fmt(item)}", inputs=inputs)
    checks.check_array(item[0], x[i], f"ds[{i}][0] (row {i} of x)", inputs=inputs,
                       type_=Tensor, dtype=dtype)
    checks.check_array(item[1], y[i], f"ds[{i}][1] (row {i} of y)", inputs=inputs,
                       type_=Tensor, dtype=np.float64)


@settings(max_examples=8)  # a simple property; the examples pin the bug classes
@given(n1=st.integers(1, 9), n2=st.integers(10, 19), third=st.booleans())
@example(n1=3, n2=12, third=False)
def test_tensor_dataset_rejects_mismatched_lengths(n1, n2, third):
    tensors = [Tensor(np.zeros((n1, 2), np.float32)), Tensor(np.zeros(n2, np.float32))]
    if third:
        tensors.insert(0, Tensor(np.ones(n1, np.float32)))
    _, err = attempt(TensorDataset, *tensors)
    if isinstance(err, ValueError):
        msg = str(err)
        if str(n1) not in msg or str(n2) not in msg:
            checks.fail("The ValueError for mismatched tensors must name their lengths.",
                        f"lengths were {n1} and {n2}; your message: {msg!r}",
                        hint="say which lengths disagree, so the user can find the wrong tensor")
        return
    checks.fail("TensorDataset(x, y) with different first dimensions must raise ValueError.",
                f"first dimensions {[len(t.data) for t in tensors]} were accepted" if err is None
                else f"it raised {type(err).__name__}: {err}",
                hint="check that every tensor has as many rows as the first one")


# ---------------------------------------------------------------- DataLoader: epochs

@given(n=st.integers(1, 40), batch_size=st.integers(1, 12), shuffle=st.booleans(), seed=SEEDS)
@example(n=10, batch_size=3, shuffle=False, seed=0)
@example(n=10, batch_size=3, shuffle=True, seed=0)
@example(n=9, batch_size=3, shuffle=True, seed=1)
@example(n=1, batch_size=5, shuffle=False, seed=0)
@example(n=25, batch_size=4, shuffle=True, seed=3)
def test_epoch_is_partition(n, batch_size, shuffle, seed):
    ds, idx, x = indexed_dataset(n)
    inputs = settings_of(n, batch_size, shuffle, False, seed)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=shuffle, seed=seed)
    for e in range(2):  # two epochs: the second must be complete too
        batches = epoch(loader, x, inputs)
        if e and not batches:
            checks.fail("Every `for batch in loader` loop must be a whole new epoch.",
                        "the second loop over the same loader yielded no batch at all",
                        inputs=inputs, hint="each call of __iter__ starts an epoch from the "
                        "beginning: keep no position in the loader that the first epoch uses up")
        check_partition(batches, n, inputs, expect_all=True, batch_size=batch_size)


@given(n=st.integers(1, 40), batch_size=st.integers(1, 12), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=SEEDS)
@example(n=10, batch_size=3, shuffle=False, drop_last=True, seed=0)
@example(n=10, batch_size=3, shuffle=True, drop_last=False, seed=0)
@example(n=12, batch_size=4, shuffle=True, drop_last=True, seed=0)
@example(n=2, batch_size=5, shuffle=False, drop_last=True, seed=0)
@example(n=7, batch_size=2, shuffle=True, drop_last=True, seed=5)
@example(n=12, batch_size=4, shuffle=False, drop_last=True, seed=0)
def test_batch_sizes_and_drop_last(n, batch_size, shuffle, drop_last, seed):
    ds, idx, x = indexed_dataset(n)
    inputs = settings_of(n, batch_size, shuffle, drop_last, seed)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)
    batches = epoch(loader, x, inputs)
    sizes = [len(b) for b in batches]
    full, tail = divmod(n, batch_size)
    expected = [batch_size] * full + ([tail] if tail and not drop_last else [])
    if sizes != expected:
        if drop_last and sizes == expected + [tail]:
            hint = ("drop_last=True must drop the final batch when it is smaller than "
                    "batch_size")
        elif drop_last and not tail and sizes == expected[:-1]:
            hint = ("drop_last=True drops only a final batch SMALLER than batch_size: here "
                    "N is a multiple of batch_size, so the last batch is full and stays")
        elif not drop_last and tail and sizes == expected[:-1]:
            hint = ("the last partial batch is missing: with drop_last=False the final batch "
                    "holds the remaining N % batch_size examples")
        else:
            hint = "every batch holds batch_size examples, except possibly the last one"
        checks.fail("The batch sizes of one epoch are wrong.",
                    f"got sizes {sizes}, expected {expected}", inputs=inputs, hint=hint)
    check_partition(batches, n, inputs, expect_all=not drop_last, batch_size=batch_size)


@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), drop_last=st.booleans())
@example(n=10, batch_size=3, drop_last=False)
@example(n=10, batch_size=3, drop_last=True)
@example(n=9, batch_size=3, drop_last=False)
@example(n=2, batch_size=5, drop_last=False)
def test_len_is_number_of_batches(n, batch_size, drop_last):
    ds, idx, x = indexed_dataset(n)
    inputs = settings_of(n, batch_size, False, drop_last)
    loader = DataLoader(ds, batch_size=batch_size, drop_last=drop_last)
    got = len(loader)
    expected = n // batch_size if drop_last else -(-n // batch_size)
    if got != expected:
        if not drop_last and got == n // batch_size:
            hint = ("len(loader) must count the last partial batch: ceil(N / batch_size) "
                    "batches when drop_last=False")
        elif drop_last and got == -(-n // batch_size):
            hint = "with drop_last=True, len(loader) is floor(N / batch_size)"
        else:
            hint = "len(loader) is the number of batches one epoch yields"
        checks.fail("len(loader) is wrong.", f"got {got!r}, expected {expected}",
                    inputs=inputs, hint=hint)
    actual = sum(1 for _ in loader)
    if actual != got:
        checks.fail("len(loader) must equal the number of batches an epoch yields.",
                    f"len(loader) = {got}, but iterating gave {actual} batches", inputs=inputs,
                    hint="len(loader) is the number of batches one epoch yields")


@given(n=st.integers(1, 30), batch_size=st.integers(1, 8), seed=SEEDS)
@example(n=10, batch_size=3, seed=0)
def test_no_shuffle_keeps_dataset_order(n, batch_size, seed):
    ds, idx, x = indexed_dataset(n)
    inputs = settings_of(n, batch_size, False, False, seed)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=False, seed=seed)
    for e in range(2):
        batches = epoch(loader, x, inputs)
        order = np.concatenate(batches).tolist()
        if order != list(range(n)):
            checks.fail("With shuffle=False the examples must come in dataset order, "
                        "every epoch.", f"epoch {e + 1} order = {order}", inputs=inputs,
                        hint="shuffle only when shuffle=True")


# ---------------------------------------------------------------- DataLoader: shuffling

@given(n=st.integers(10, 40), batch_size=st.integers(1, 8), seed=SEEDS)
@example(n=10, batch_size=3, seed=0)
@example(n=20, batch_size=4, seed=42)
def test_same_seed_same_sequence_of_epochs(n, batch_size, seed):
    ds, idx, x = indexed_dataset(n)
    inputs = settings_of(n, batch_size, True, False, seed)
    runs = []
    for _ in range(2):
        loader = DataLoader(ds, batch_size=batch_size, shuffle=True, seed=seed)
        runs.append([np.concatenate(epoch(loader, x, inputs)).tolist() for _ in range(3)])
    if runs[0] != runs[1]:
        checks.fail("Two DataLoaders with the same seed must give the same sequence of epochs.",
                    f"first loader: {runs[0]}\nsecond loader: {runs[1]}", inputs=inputs,
                    hint="draw the order from np.random.default_rng(seed), built from the seed")
    other = DataLoader(ds, batch_size=batch_size, shuffle=True, seed=seed + 1)
    if np.concatenate(epoch(other, x, inputs)).tolist() == runs[0][0]:
        checks.fail("Different seeds must give different orders.",
                    f"seeds {seed} and {seed + 1} both gave {runs[0][0]}", inputs=inputs,
                    hint="the seed must feed the random generator that shuffles")


@given(n=st.integers(10, 40), batch_size=st.integers(1, 8),
       seed=st.one_of(st.none(), SEEDS))
@example(n=10, batch_size=3, seed=0)
@example(n=16, batch_size=4, seed=7)
def test_each_epoch_is_a_fresh_permutation(n, batch_size, seed):
    ds, idx, x = indexed_dataset(n)
    inputs = settings_of(n, batch_size, True, False, seed)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, seed=seed)
    first = np.concatenate(epoch(loader, x, inputs)).tolist()
    second = np.concatenate(epoch(loader, x, inputs)).tolist()
    if first == second:
        checks.fail("With shuffle=True every epoch must be a fresh permutation.",
                    f"epochs 1 and 2 have the same order {first}", inputs=inputs,
                    hint="create the random generator once (in __init__) and draw a new "
                         "permutation from it each epoch; re-seeding every epoch repeats "
                         "the same order")


@given(n=st.integers(24, 40), batch_size=st.integers(2, 6), seed=SEEDS)
@example(n=24, batch_size=4, seed=0)
@example(n=26, batch_size=4, seed=1)
def test_shuffle_mixes_examples(n, batch_size, seed):
    ds, idx, x = indexed_dataset(n)
    inputs = settings_of(n, batch_size, True, False, seed)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=True, seed=seed)
    batches = epoch(loader, x, inputs)
    order = np.concatenate(batches).tolist()
    if order == list(range(n)):
        checks.fail("shuffle=True must change the order of the examples.",
                    f"the epoch came in dataset order {order}", inputs=inputs,
                    hint="shuffle=True must draw a random permutation of range(N) each epoch")
    chunks = {tuple(range(s, min(s + batch_size, n))) for s in range(0, n, batch_size)}
    if {tuple(sorted(b.tolist())) for b in batches} == chunks:
        checks.fail("shuffle=True must mix examples across batches.",
                    f"every batch is a block of consecutive examples: "
                    f"{[b.tolist() for b in batches]}", inputs=inputs,
                    hint="shuffle the examples, not just the order of the batches")


# ---------------------------------------------------------------- DataLoader: arguments, datasets

@settings(max_examples=6)  # six values
@given(batch_size=st.integers(-5, 0))
@example(batch_size=0)
@example(batch_size=-1)
def test_rejects_batch_size_below_one(batch_size):
    ds, idx, x = indexed_dataset(5)
    try:
        DataLoader(ds, batch_size=batch_size)
    except ValueError:
        return
    checks.fail(f"DataLoader(dataset, batch_size={batch_size}) must raise ValueError.",
                "it was accepted", hint="reject batch_size < 1 in __init__: a batch of 0 "
                "examples never advances through the data")


def square_rows(i):
    """Example i's first field, shape (2, 3); for an int array i, shape (len(i), 2, 3)."""
    i = np.asarray(i, dtype=np.float64)
    return np.stack([np.stack([i, i * i, -i], -1), np.stack([i + 1, 2 * i, 3 + 0 * i], -1)], -2)


class Squares(Dataset):
    """A user-defined dataset: example i is ([[i, i*i, -i], [i+1, 2i, 3]], i / 2), float64."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        i = int(i)
        if not 0 <= i < self.n:
            raise IndexError(i)
        return (Tensor(square_rows(i)), Tensor(np.float64(i / 2)))


@given(n=st.integers(1, 25), batch_size=st.integers(1, 8), shuffle=st.booleans(), seed=SEEDS)
@example(n=7, batch_size=3, shuffle=False, seed=0)
@example(n=7, batch_size=3, shuffle=True, seed=0)
def test_works_with_any_dataset(n, batch_size, shuffle, seed):
    inputs = settings_of(n, batch_size, shuffle, False, seed)
    inputs["dataset"] = ("Squares(Dataset): example i is (Tensor([[i, i*i, -i], [i+1, 2i, 3]]), "
                         "Tensor(i / 2)), float64")
    loader = DataLoader(Squares(n), batch_size=batch_size, shuffle=shuffle, seed=seed)
    batches, err = attempt(list, loader)
    if err is not None:
        checks.fail("A DataLoader must work with any Dataset subclass.",
                    f"iterating over a user-defined Dataset raised {type(err).__name__}: {err}",
                    inputs=inputs,
                    hint="a Dataset promises only len(ds) and ds[i] for one integer i: ask it "
                         "for its length with len(dataset), fetch the examples one by one "
                         "(ds[int(i)]), then stack each field")
    seen = []
    for b, batch in enumerate(batches):
        check_tuple(batch, b, 2, inputs)
        rows, halves = batch
        if not isinstance(rows, Tensor) or not isinstance(halves, Tensor):
            checks.fail("The fields of a batch must be Tensors.",
                        f"got {type(rows).__name__} and {type(halves).__name__}", inputs=inputs)
        size = len(rows.data) if rows.data.ndim else 0
        checks.check_shape(rows.data, (size, 2, 3), f"the first field of batch {b}",
                           inputs=inputs, hint="stack on a new first axis: B examples of shape "
                                               "(2, 3) give (B, 2, 3)")
        checks.check_shape(halves.data, (size,), f"the second field of batch {b}", inputs=inputs,
                           hint="stack on a new first axis: B scalars give shape (B,)")
        i = np.round(rows.data[:, 0, 0]).astype(np.int64)
        expected = square_rows(i)
        checks.check_array(rows, expected, f"the first field of batch {b}", inputs=inputs,
                           type_=Tensor, dtype=np.float64,
                           hint="each row of the batch is one example's first field")
        checks.check_array(halves, i / 2.0, f"the second field of batch {b}", inputs=inputs,
                           type_=Tensor, dtype=np.float64,
                           hint="the fields of a batch must hold the same examples, in order")
        seen.append(i)
    check_partition(seen, n, inputs, expect_all=True, batch_size=batch_size)
    if not shuffle and np.concatenate(seen).tolist() != list(range(n)):
        checks.fail("With shuffle=False the examples must come in dataset order.",
                    f"order = {np.concatenate(seen).tolist()}", inputs=inputs)


@settings(max_examples=5)  # the defaults: few examples suffice
@given(n=st.integers(33, 70))
@example(n=40)
def test_loader_defaults(n):
    ds, idx, x = indexed_dataset(n)
    inputs = {"N (len(dataset))": n, "loader": "DataLoader(dataset) with every default"}
    loader = DataLoader(ds)
    batches = epoch(loader, x, inputs)
    sizes, order = [len(b) for b in batches], np.concatenate(batches).tolist()
    expected = [32] + [n - 32] if n <= 64 else [32, 32, n - 64]
    if sizes != expected:
        checks.fail("DataLoader(dataset) must use batch_size=32 and drop_last=False.",
                    f"got batch sizes {sizes}, expected {expected}", inputs=inputs,
                    hint="def __init__(self, dataset, batch_size=32, shuffle=False, "
                         "drop_last=False, seed=None)")
    if order != list(range(n)):
        checks.fail("DataLoader(dataset) must not shuffle (shuffle=False by default).",
                    f"epoch order = {order}", inputs=inputs,
                    hint="shuffle defaults to False: dataset order unless shuffle=True")


def test_code_comes_from_kata():
    ds, idx, x = indexed_dataset(4)
    batches = epoch(DataLoader(ds, batch_size=3), x, settings_of(4, 3))
    check_partition(batches, 4, settings_of(4, 3), expect_all=True, batch_size=3)
    checks.assert_from_kata(DataLoader, "05_dataloader")
    checks.assert_from_kata(TensorDataset, "05_dataloader")


# ---------------------------------------------------------------- fields, gathering, generators

def field_arrays(k: int, n: int) -> list[np.ndarray]:
    """k tensors of n rows: an index column (float64), then (n, 2) float32 blocks."""
    i = np.arange(n)
    return [i.astype(np.float64)] + [np.stack([i * (j + 1), -i], -1).astype(np.float32)
                                     for j in range(1, k)]


@given(k=st.integers(1, 3), n=st.integers(1, 7), batch_size=st.integers(1, 4),
       raw_i=st.integers(0, 13))
@example(k=3, n=5, batch_size=2, raw_i=4)
@example(k=1, n=5, batch_size=2, raw_i=1)
def test_any_number_of_tensors(k, n, batch_size, raw_i):
    fields = field_arrays(k, n)
    inputs = {"tensors": f"{k} tensor(s) of {n} rows: {[f.shape for f in fields]}",
              "batch_size": batch_size}
    ds, err = attempt(TensorDataset, *[Tensor(f) for f in fields])
    if err is not None:
        checks.fail(f"TensorDataset must accept any number of tensors ({k} here).",
                    f"TensorDataset(*tensors) raised {type(err).__name__}: {err}", inputs=inputs,
                    hint="def __init__(self, *tensors) takes one tensor, two, or more")
    if len(ds) != n:
        checks.fail(f"len(TensorDataset(...)) of {k} tensor(s) must be N.",
                    f"got {len(ds)!r}, expected {n}", inputs=inputs)
    i = raw_i % (2 * n) - n
    item = ds[i]
    if not isinstance(item, tuple) or len(item) != k:
        checks.fail(f"ds[{i}] must be a tuple of {k} Tensor(s), one per tensor.",
                    f"got {type(item).__name__}: {checks.fmt(item)}", inputs=inputs)
    for j, f in enumerate(fields):
        checks.check_array(item[j], f[i], f"ds[{i}][{j}] (row {i} of tensor {j})", inputs=inputs,
                           type_=Tensor, dtype=f.dtype)
    seen = []
    batches, err = attempt(list, DataLoader(ds, batch_size=batch_size))
    if err is not None:
        checks.fail(f"A DataLoader over a TensorDataset of {k} tensor(s) must work.",
                    f"iterating raised {type(err).__name__}: {err}", inputs=inputs,
                    hint="a batch has one Tensor per tensor of the dataset, however many")
    for b, batch in enumerate(batches):
        check_tuple(batch, b, k, inputs)
        rows = np.asarray(getattr(batch[0], "data", batch[0])).astype(np.int64)
        for j, f in enumerate(fields):
            checks.check_array(batch[j], f[rows], f"field {j} of batch {b}", inputs=inputs,
                               type_=Tensor, dtype=f.dtype)
        seen.append(rows)
    check_partition(seen, n, inputs, expect_all=True, batch_size=batch_size)


@settings(max_examples=5)  # a structural property: few examples suffice
@given(n=st.integers(6, 20), batch_size=st.integers(2, 5), shuffle=st.booleans(), seed=SEEDS)
@example(n=10, batch_size=3, shuffle=True, seed=0)
def test_tensor_dataset_batches_are_gathered_at_once(n, batch_size, shuffle, seed):
    ds, idx, x = indexed_dataset(n)
    inputs = settings_of(n, batch_size, shuffle, False, seed)
    loader = DataLoader(ds, batch_size=batch_size, shuffle=shuffle, seed=seed)
    own = "__getitem__" in vars(TensorDataset)
    original = TensorDataset.__getitem__
    calls = []

    def counting(self, index):
        calls.append(index)
        return original(self, index)

    TensorDataset.__getitem__ = counting
    try:
        batches = epoch(loader, x, inputs)
    finally:
        if own:
            TensorDataset.__getitem__ = original
        else:
            del TensorDataset.__getitem__
    check_partition(batches, n, inputs, expect_all=True, batch_size=batch_size)
    singles = [c for c in calls if np.ndim(c) == 0]
    if singles:
        checks.fail("A DataLoader must gather a TensorDataset's batch at once, not one example "
                    "at a time.", f"one epoch of {len(batches)} batches called "
                    f"TensorDataset.__getitem__ with single indices {len(singles)} times",
                    inputs=inputs,
                    hint="for a TensorDataset, index each tensor with the whole index array "
                         "(tensor.data[indices]): one fancy-indexing operation per tensor")


class Mixed(Dataset):
    """Example i is (np.array([i, -i]) float64, i as a Python int, np.float32(i / 4))."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i):
        i = int(i)
        if not 0 <= i < self.n:
            raise IndexError(i)
        return (np.array([i, -i], dtype=np.float64), i, np.float32(i / 4))


@settings(max_examples=5)  # a structural property: few examples suffice
@given(n=st.integers(1, 12), batch_size=st.integers(1, 5), shuffle=st.booleans(), seed=SEEDS)
@example(n=7, batch_size=3, shuffle=True, seed=0)
def test_works_with_array_and_number_fields(n, batch_size, shuffle, seed):
    inputs = settings_of(n, batch_size, shuffle, False, seed)
    inputs["dataset"] = ("Mixed(Dataset): example i is (np.array([i, -i]) float64, i as a Python "
                         "int, np.float32(i / 4))")
    batches, err = attempt(list, DataLoader(Mixed(n), batch_size=batch_size, shuffle=shuffle,
                                            seed=seed))
    if err is not None:
        checks.fail("A DataLoader must batch a Dataset whose fields are arrays and numbers.",
                    f"iterating raised {type(err).__name__}: {err}", inputs=inputs,
                    hint="a field may be a Tensor, an ndarray or a number: take a Tensor's .data, "
                         "anything else as np.asarray(value), then np.stack each field")
    seen = []
    for b, batch in enumerate(batches):
        check_tuple(batch, b, 3, inputs)
        if not all(isinstance(t, Tensor) for t in batch):
            checks.fail("The fields of a batch must be Tensors.",
                        f"batch {b} holds {[type(t).__name__ for t in batch]}", inputs=inputs)
        pairs, ints, quarters = batch
        size = len(pairs.data) if pairs.data.ndim else 0
        checks.check_shape(pairs.data, (size, 2), f"the first field of batch {b}", inputs=inputs,
                           hint="stack on a new first axis: B arrays of shape (2,) give (B, 2)")
        i = np.round(pairs.data[:, 0]).astype(np.int64)
        checks.check_array(pairs, np.stack([i, -i], -1).astype(np.float64),
                           f"the first field of batch {b}", inputs=inputs, type_=Tensor,
                           dtype=np.float64)
        checks.check_array(ints.data.astype(np.float64), i,
                           f"the second field of batch {b} (the Python ints)", inputs=inputs,
                           hint="the fields of a batch hold the same examples, in order")
        checks.check_array(quarters, (i / 4).astype(np.float32), f"the third field of batch {b}",
                           inputs=inputs, type_=Tensor, dtype=np.float32)
        seen.append(i)
    check_partition(seen, n, inputs, expect_all=True, batch_size=batch_size)


def global_state():
    _, keys, pos, has_gauss, cached = np.random.get_state()
    return keys.tobytes(), pos, has_gauss, cached


@given(n=st.integers(5, 30), batch_size=st.integers(1, 8), seed=SEEDS)
@example(n=10, batch_size=3, seed=0)
@example(n=7, batch_size=2, seed=1)
def test_loaders_have_their_own_random_generator(n, batch_size, seed):
    ds, idx, x = indexed_dataset(n)
    inputs = settings_of(n, batch_size, True, False, seed)
    before = global_state()
    alone = DataLoader(ds, batch_size=batch_size, shuffle=True, seed=seed)
    expected = [np.concatenate(epoch(alone, x, inputs)).tolist() for _ in range(2)]
    if global_state() != before:
        checks.fail("A DataLoader must not touch NumPy's global random state.",
                    "building and iterating one loader changed np.random's state", inputs=inputs,
                    hint="draw from the loader's own np.random.default_rng(seed), created in "
                         "__init__; np.random.seed and np.random.permutation change the state "
                         "that every other user of np.random sees")
    a = DataLoader(ds, batch_size=batch_size, shuffle=True, seed=seed)
    b = DataLoader(ds, batch_size=batch_size, shuffle=True, seed=seed)
    got = {"a": [], "b": []}
    for _ in range(2):
        its, rows = {"a": iter(a), "b": iter(b)}, {"a": [], "b": []}
        live = ["a", "b"]
        while live:  # next(a), next(b), next(a), ...
            for name in list(live):
                try:
                    batch = next(its[name])
                except StopIteration:
                    live.remove(name)
                    continue
                rows[name].append(batch_rows(batch, len(rows[name]), x, inputs))
        for name in got:
            got[name].append(np.concatenate(rows[name]).tolist())
    for name in got:
        if got[name] != expected:
            checks.fail("Two DataLoaders with the same seed, used interleaved (next(a), next(b), "
                        "next(a), ...), must each give the epochs they give alone.",
                        f"alone: {expected}\nloader {name}, interleaved: {got[name]}",
                        inputs=inputs,
                        hint="each loader needs its own generator, made in __init__ from its "
                             "seed: a generator (or random state) shared by two loaders is "
                             "advanced by both")
    c = DataLoader(ds, batch_size=batch_size, shuffle=True, seed=seed)
    seq = []
    for e in range(2):
        np.random.seed(12345 + e)  # someone else's use of the global state
        np.random.random(3)
        seq.append(np.concatenate(epoch(c, x, inputs)).tolist())
    if seq != expected:
        checks.fail("Drawing from np.random between epochs must not change a seeded loader's "
                    "epochs.", f"alone: {expected}\nwith np.random used in between: {seq}",
                    inputs=inputs,
                    hint="never use NumPy's global random state: draw from the loader's own "
                         "np.random.default_rng(seed)")
