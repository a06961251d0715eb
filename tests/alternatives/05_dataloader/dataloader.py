"""Kata 05, written apart from the reference, making other legitimate choices.

TensorDataset indexes with an int or a whole index array, and the loader asks it for one
batch at a time (one fancy-indexing operation per tensor, inside __getitem__); the epoch
order comes from rng.shuffle of an arange; the last full batch ends at N - N % B when
drop_last is set; flips reverse with a negative-step slice; crops paste the image into a
zero canvas of its dtype and draw offsets with endpoint=True; Compose keeps a list and
folds it with functools.reduce.
"""
from __future__ import annotations

import functools

import numpy as np

from tinytorch.core.tensor import Tensor


class Dataset:
    """A sized collection of examples: `len(ds)` and `ds[i]` -> a tuple of Tensors."""

    def __len__(self) -> int:
        raise NotImplementedError("Dataset subclasses implement __len__")

    def __getitem__(self, index):
        raise NotImplementedError("Dataset subclasses implement __getitem__")


def _array(value) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


class TensorDataset(Dataset):
    def __init__(self, *tensors):
        self._arrays = [_array(t) for t in tensors]
        sizes = [a.shape[0] for a in self._arrays]
        if any(size != sizes[0] for size in sizes):
            raise ValueError(f"TensorDataset: first dimensions differ, got lengths {sizes}")

    def __len__(self) -> int:
        return self._arrays[0].shape[0] if self._arrays else 0

    def __getitem__(self, index):
        # an int gives one example; an index array gives a whole batch at once
        return tuple(Tensor(a[index]) for a in self._arrays)


class DataLoader:
    def __init__(self, dataset, batch_size: int = 32, shuffle: bool = False,
                 drop_last: bool = False, seed=None):
        if not batch_size >= 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle, self.drop_last = shuffle, drop_last
        self._rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def __iter__(self):
        n, b = len(self.dataset), self.batch_size
        order = np.arange(n)
        if self.shuffle:
            self._rng.shuffle(order)
        stop = n - n % b if self.drop_last else n
        for start in range(0, stop, b):
            yield self._collate(order[start:start + b])

    def _collate(self, indices):
        if isinstance(self.dataset, TensorDataset):
            return self.dataset[indices]
        examples = [self.dataset[int(i)] for i in indices]
        return tuple(Tensor(np.stack([_array(v) for v in column]))
                     for column in zip(*examples))


class RandomHorizontalFlip:
    def __init__(self, p: float = 0.5, seed=None):
        self.p = p
        self._rng = np.random.default_rng(seed)

    def __call__(self, x: Tensor) -> Tensor:
        flip = self._rng.uniform() < self.p
        data = x.data[..., ::-1] if flip else x.data
        return Tensor(np.array(data, copy=True))


class RandomCrop:
    def __init__(self, size: int, padding: int = 0, seed=None):
        self.size, self.padding = size, padding
        self._rng = np.random.default_rng(seed)

    def __call__(self, x: Tensor) -> Tensor:
        data, p, s = x.data, self.padding, self.size
        h, w = data.shape[-2] + 2 * p, data.shape[-1] + 2 * p
        if s > min(h, w):
            raise ValueError(f"RandomCrop: {s}x{s} does not fit in {h}x{w}")
        canvas = np.zeros(data.shape[:-2] + (h, w), dtype=data.dtype)
        canvas[..., p:h - p, p:w - p] = data
        top = int(self._rng.integers(0, h - s, endpoint=True))
        left = int(self._rng.integers(0, w - s, endpoint=True))
        return Tensor(canvas[..., top:top + s, left:left + s].copy())


class Compose:
    def __init__(self, transforms):
        if not isinstance(transforms, (list, tuple)):
            raise TypeError("Compose: transforms must be a list or tuple, "
                            f"not {type(transforms).__name__}")
        bad = [i for i, t in enumerate(transforms) if not callable(t)]
        if bad:
            raise TypeError(f"Compose: transforms[{bad[0]}] is not callable")
        self.transforms = list(transforms)

    def __call__(self, x):
        return functools.reduce(lambda value, transform: transform(value), self.transforms, x)
