"""Kata 05: datasets, batching, shuffling and simple image augmentations."""
from __future__ import annotations

import numpy as np

from tinytorch.core.tensor import Tensor


class Dataset:
    """A sized collection of examples: `len(ds)` and `ds[i]` -> a tuple of Tensors."""

    def __len__(self) -> int:
        raise NotImplementedError("Dataset subclasses implement __len__")

    def __getitem__(self, index):
        raise NotImplementedError("Dataset subclasses implement __getitem__")


class TensorDataset(Dataset):
    """Examples stored as rows of tensors that share their first dimension."""

    def __init__(self, *tensors):
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        lengths = [len(t) for t in self.tensors]
        if len(set(lengths)) > 1:
            raise ValueError(f"TensorDataset: all tensors need the same first dimension, "
                             f"got lengths {lengths}")

    def __len__(self) -> int:
        return len(self.tensors[0]) if self.tensors else 0

    def __getitem__(self, index):
        return tuple(Tensor(t.data[index]) for t in self.tensors)


class DataLoader:
    """Iterates over a dataset in batches: one pass over the data per `for` loop (epoch)."""

    def __init__(self, dataset, batch_size: int = 32, shuffle: bool = False,
                 drop_last: bool = False, seed=None):
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.rng = np.random.default_rng(seed)  # once: each epoch draws a fresh permutation

    def __len__(self) -> int:
        n, b = len(self.dataset), self.batch_size
        return n // b if self.drop_last else (n + b - 1) // b

    def __iter__(self):
        n = len(self.dataset)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for start in range(0, n, self.batch_size):
            indices = order[start:start + self.batch_size]
            if self.drop_last and len(indices) < self.batch_size:
                break
            yield self._batch(indices)

    def _batch(self, indices: np.ndarray) -> tuple:
        if isinstance(self.dataset, TensorDataset):
            # One fancy-indexing gather per tensor: no Python loop over the examples.
            return tuple(Tensor(t.data[indices]) for t in self.dataset.tensors)
        items = [self.dataset[int(i)] for i in indices]
        if not isinstance(items[0], (tuple, list)):
            items = [(item,) for item in items]
        return tuple(Tensor(np.stack([np.asarray(getattr(v, "data", v)) for v in field]))
                     for field in zip(*items))


class RandomHorizontalFlip:
    """Mirror an image left-right (its last axis) with probability p."""

    def __init__(self, p: float = 0.5, seed=None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p
        self.rng = np.random.default_rng(seed)

    def __call__(self, x: Tensor) -> Tensor:
        if self.rng.random() < self.p:
            return Tensor(np.flip(x.data, axis=-1).copy())
        return Tensor(x.data.copy())


class RandomCrop:
    """Zero-pad height and width by `padding`, then cut a random size x size window."""

    def __init__(self, size: int, padding: int = 0, seed=None):
        self.size = int(size)
        self.padding = int(padding)
        self.rng = np.random.default_rng(seed)

    def __call__(self, x: Tensor) -> Tensor:
        p, s = self.padding, self.size
        pad = [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)]
        padded = np.pad(x.data, pad)
        h, w = padded.shape[-2:]
        if s > h or s > w:
            raise ValueError(f"RandomCrop: a {s}x{s} window does not fit in the padded "
                             f"image of size {h}x{w}")
        top = self.rng.integers(0, h - s + 1)  # high is exclusive: every position possible
        left = self.rng.integers(0, w - s + 1)
        return Tensor(padded[..., top:top + s, left:left + s].copy())


class Compose:
    """Apply transforms one after another: Compose([f, g])(x) is g(f(x))."""

    def __init__(self, transforms):
        # Checked here, where the mistake is made, not at the first call.
        if not isinstance(transforms, (list, tuple)):
            raise TypeError(f"Compose(transforms): transforms must be a list or tuple of "
                            f"callables, got a {type(transforms).__name__}")
        for i, transform in enumerate(transforms):
            if not callable(transform):
                raise TypeError(f"Compose(transforms): transforms[{i}] = {transform!r} is "
                                f"not callable")
        self.transforms = tuple(transforms)  # our own copy: later edits of the list change nothing

    def __call__(self, x):
        for transform in self.transforms:
            x = transform(x)
        return x
