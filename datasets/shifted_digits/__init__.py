"""ShiftedDigits: TinyDigits placed at offsets inside a larger canvas, for the cnn milestone.

Generated on the fly from the shipped TinyDigits set (no download, nothing else stored),
with a fixed seed and a counter-based generator written here (SplitMix64 in NumPy integer
arithmetic), so every NumPy version and platform builds the same arrays; a sha256 of the
result is checked on every load. See README.md in this folder (the data card).
"""
from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np

from datasets import load_tinydigits

__all__ = ["CANVAS", "SEED", "SHIFTED_DIGITS_SHA256", "ShiftedDigits", "load_shifted_digits"]

CANVAS = 16  # side of the canvas; the digits are 8x8
DIGIT = 8
SEED = 1998
TRAIN_COPIES = 3  # each training digit appears at this many training offsets
TEST_COPIES = 4  # each test digit appears at this many offsets of each kind
SHIFTED_DIGITS_SHA256 = "0e9f40a27ea2bc4bf6d04010be3a0570473d5476d455396bcb601954f9d13e2c"


class ShiftedDigits(NamedTuple):
    x_train: np.ndarray  # (3000, 1, 16, 16) float32: training digits at training offsets
    y_train: np.ndarray  # (3000,) int64
    x_test: np.ndarray  # (800, 1, 16, 16): test digits at offsets never used in training
    y_test: np.ndarray
    x_seen: np.ndarray  # (800, 1, 16, 16): the same test digits at training offsets
    y_seen: np.ndarray
    train_offsets: tuple  # ((row, column), ...) of the digit's top-left corner
    test_offsets: tuple


def offsets():
    """(training offsets, test offsets): the top-left corners (r, c) with r + c even train,
    those with r + c odd are kept for testing; every test offset is one pixel away from
    training offsets, and none is ever used in training."""
    span = range(CANVAS - DIGIT + 1)
    every = [(r, c) for r in span for c in span]
    return (tuple(o for o in every if sum(o) % 2 == 0), tuple(o for o in every if sum(o) % 2 == 1))


def _draws(seed: int, stream: int, count: int) -> np.ndarray:
    """`count` pseudo-random uint64 values (SplitMix64 of a counter): fixed by the algorithm,
    not by NumPy's generators, whose streams may change between versions."""
    with np.errstate(over="ignore"):
        x = (np.arange(1, count + 1, dtype=np.uint64) + np.uint64(stream << 32)) * np.uint64(0x9E3779B97F4A7C15)
        x = x + np.uint64(seed)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _place(images: np.ndarray, labels: np.ndarray, pool: tuple, copies: int, stream: int):
    n = len(images)
    picks = (_draws(SEED, stream, n * copies) % np.uint64(len(pool))).astype(np.int64)
    canvas = np.zeros((n * copies, 1, CANVAS, CANVAS), np.float32)
    for i, k in enumerate(picks):
        r, c = pool[k]
        canvas[i, 0, r:r + DIGIT, c:c + DIGIT] = images[i % n]
    return canvas, np.tile(labels, copies)


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def load_shifted_digits(check: bool = True) -> ShiftedDigits:
    """The ShiftedDigits set (built in well under a second).

    Training: each of TinyDigits' 1000 training digits at 3 training offsets. Test: each of
    its 200 test digits at 4 test offsets (unseen), and at 4 training offsets (seen).
    Raises RuntimeError if the result does not match its recorded sha256.
    """
    x_train, y_train, x_test, y_test = load_tinydigits()
    train_pool, test_pool = offsets()
    xa, ya = _place(x_train, y_train, train_pool, TRAIN_COPIES, stream=1)
    xb, yb = _place(x_test, y_test, test_pool, TEST_COPIES, stream=2)
    xc, yc = _place(x_test, y_test, train_pool, TEST_COPIES, stream=3)
    arrays = (xa, ya, xb, yb, xc, yc)
    if check:
        digest = _digest(arrays)
        if digest != SHIFTED_DIGITS_SHA256:
            raise RuntimeError(
                f"ShiftedDigits: the generated arrays have sha256 {digest}, expected "
                f"{SHIFTED_DIGITS_SHA256}. The generator (datasets/shifted_digits/__init__.py) or "
                f"TinyDigits changed: restore them with `git checkout -- datasets/`.")
    return ShiftedDigits(*arrays, train_pool, test_pool)
