"""Kata 05: datasets, batching, shuffling and simple image augmentations.

Read README.md in this folder first. Replace every `raise NotImplementedError(...)` with
your code; keep the names and signatures exactly as they are.
"""
from __future__ import annotations

import numpy as np  # noqa: F401  (you will need it)

from tinytorch.core.tensor import Tensor


class Dataset:
    """A sized collection of examples: `len(ds)` and `ds[i]` -> a tuple of Tensors.

    This base class is given: subclasses (yours and the tests') override both methods.
    """

    def __len__(self) -> int:
        raise NotImplementedError("Dataset subclasses implement __len__")

    def __getitem__(self, index):
        raise NotImplementedError("Dataset subclasses implement __getitem__")


class TensorDataset(Dataset):
    """Examples stored as rows of tensors that share their first dimension.

    `TensorDataset(x, y)` with x of shape (N, ...) and y of shape (N, ...):
    `ds[i]` is the tuple `(x[i], y[i])` of Tensors, and `len(ds)` is N.
    Tensors whose first dimensions differ raise ValueError naming the lengths.
    """

    def __init__(self, *tensors):
        raise NotImplementedError("kata 05_dataloader: write TensorDataset.__init__")

    def __len__(self) -> int:
        raise NotImplementedError("kata 05_dataloader: write TensorDataset.__len__")

    def __getitem__(self, index):
        raise NotImplementedError("kata 05_dataloader: write TensorDataset.__getitem__")


class DataLoader:
    """Iterates over a dataset in batches: one pass over the data per `for` loop (epoch).

    Each batch is a tuple with one Tensor per field of the examples, stacked on a new
    axis 0 (so a batch of (x, y) examples is (X of shape (B, ...), Y of shape (B, ...))).
    `len(loader)` is the number of batches in one epoch. batch_size < 1 raises ValueError.
    With shuffle=True the order comes from `np.random.default_rng(seed)`, created once
    per DataLoader: the same seed gives the same sequence of epochs, and every epoch is a
    fresh permutation. With drop_last=True a final batch smaller than batch_size is
    dropped. Never use (or seed) NumPy's global random state, np.random.*.
    """

    def __init__(self, dataset, batch_size: int = 32, shuffle: bool = False,
                 drop_last: bool = False, seed=None):
        raise NotImplementedError("kata 05_dataloader: write DataLoader.__init__")

    def __len__(self) -> int:
        raise NotImplementedError("kata 05_dataloader: write DataLoader.__len__")

    def __iter__(self):
        raise NotImplementedError("kata 05_dataloader: write DataLoader.__iter__")


class RandomHorizontalFlip:
    """Mirror an image left-right (its last axis) with probability p.

    Called on a Tensor of shape (..., H, W); returns a new Tensor of the same shape and
    dtype that shares no memory with x. One coin per call (for all channels), from
    `np.random.default_rng(seed)` created once.
    """

    def __init__(self, p: float = 0.5, seed=None):
        raise NotImplementedError("kata 05_dataloader: write RandomHorizontalFlip.__init__")

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError("kata 05_dataloader: write RandomHorizontalFlip.__call__")


class RandomCrop:
    """Zero-pad height and width by `padding`, then cut a random size x size window.

    Called on a Tensor of shape (..., H, W); returns a new Tensor of shape
    (..., size, size) and the same dtype. Every window position inside the padded image
    is possible. A window larger than the padded image raises ValueError. One window per
    call (for all channels), from `np.random.default_rng(seed)` created once. The result
    shares no memory with x.
    """

    def __init__(self, size: int, padding: int = 0, seed=None):
        raise NotImplementedError("kata 05_dataloader: write RandomCrop.__init__")

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError("kata 05_dataloader: write RandomCrop.__call__")


class Compose:
    """Chain transforms: `Compose([f, g])(x)` is `g(f(x))`, and `Compose([])(x)` is x.

    `transforms` is a list or tuple of callables (these augmentations, functions,
    lambdas); keep your own copy of it. A single transform instead of a list, or an item
    that is not callable, raises TypeError in __init__ naming `transforms`.
    """

    def __init__(self, transforms):
        raise NotImplementedError("kata 05_dataloader: write Compose.__init__")

    def __call__(self, x):
        raise NotImplementedError("kata 05_dataloader: write Compose.__call__")
