"""Small data sets shipped with the repository, verified by checksum before use.

Only NumPy and the standard library: no downloads, no extra dependencies.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

__all__ = ["load_tinydigits", "TINYDIGITS_PATH", "TINYDIGITS_SHA256"]

TINYDIGITS_PATH = Path(__file__).resolve().parent / "tinydigits" / "tinydigits.npz"
TINYDIGITS_SHA256 = "3a92c6d4d3f24f30d5e50374c3888b97a1183d27207460e0b69713b412aa2b99"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_tinydigits():
    """TinyDigits: 8x8 handwritten digits, 1000 training and 200 test images, balanced.

    Returns (x_train, y_train, x_test, y_test): images float32 in [0, 1] of shape
    (N, 8, 8) (pixel counts 0..16 divided by 16), labels int64 in 0..9 of shape (N,).
    Raises RuntimeError if the file is missing or its sha256 is not the expected one.
    """
    path = TINYDIGITS_PATH
    if not path.is_file():
        raise RuntimeError(
            f"TinyDigits not found at {path}. It ships with the repository: restore it with "
            f"`git checkout -- datasets/tinydigits/tinydigits.npz` or re-clone, or regenerate "
            f"it with `python datasets/tinydigits/make_tinydigits.py` (needs scikit-learn).")
    digest = _sha256(path)
    if digest != TINYDIGITS_SHA256:
        raise RuntimeError(
            f"TinyDigits checksum mismatch for {path}:\n  sha256 {digest}\n  expected "
            f"{TINYDIGITS_SHA256}\nThe file is corrupt or was changed. Restore it with "
            f"`git checkout -- datasets/tinydigits/tinydigits.npz` or re-clone the repository, "
            f"or regenerate it with `python datasets/tinydigits/make_tinydigits.py` "
            f"(needs scikit-learn; see datasets/tinydigits/README.md).")
    with np.load(path, allow_pickle=False) as data:
        x_train, y_train = data["x_train"], data["y_train"]
        x_test, y_test = data["x_test"], data["y_test"]
    scale = np.float32(1.0 / 16.0)
    return (x_train.astype(np.float32) * scale, y_train.astype(np.int64),
            x_test.astype(np.float32) * scale, y_test.astype(np.int64))
