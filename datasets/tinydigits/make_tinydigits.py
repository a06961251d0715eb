"""Regenerate datasets/tinydigits/tinydigits.npz from scikit-learn's bundled digits.

Maintainers only: scikit-learn is needed here, never at run time (the loader in
datasets/__init__.py needs only NumPy). Run from the repository root:

    pip install scikit-learn
    python datasets/tinydigits/make_tinydigits.py

The split is balanced and fixed by SEED: per class, 100 training and 20 test images,
disjoint. The .npz is written byte for byte reproducibly (fixed zip timestamps; plain
np.savez_compressed stamps the current time into the archive, so its checksum would
change on every run). The script prints the file's sha256, which must match
TINYDIGITS_SHA256 in datasets/__init__.py.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

SEED = 1998  # the year Alpaydin and Kaynak donated the data set
TRAIN_PER_CLASS, TEST_PER_CLASS = 100, 20
OUT = Path(__file__).resolve().parent / "tinydigits.npz"


def split(images: np.ndarray, labels: np.ndarray, seed: int = SEED):
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        train.append(idx[:TRAIN_PER_CLASS])
        test.append(idx[TRAIN_PER_CLASS:TRAIN_PER_CLASS + TEST_PER_CLASS])
    train = rng.permutation(np.concatenate(train))  # mix the classes
    test = rng.permutation(np.concatenate(test))
    assert not set(train.tolist()) & set(test.tolist())
    return images[train], labels[train], images[test], labels[test]


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like np.savez_compressed, but reproducible: fixed timestamps and member order."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def main() -> None:
    digits = load_digits()  # bundled with scikit-learn: no network
    images = digits.images
    if not (np.all(images == np.round(images)) and images.min() >= 0 and images.max() <= 16):
        raise SystemExit("unexpected pixel values in sklearn's digits")
    images = images.astype(np.uint8)  # (1797, 8, 8), integers 0..16
    labels = digits.target.astype(np.uint8)
    x_train, y_train, x_test, y_test = split(images, labels)
    for name, y, per in (("train", y_train, TRAIN_PER_CLASS), ("test", y_test, TEST_PER_CLASS)):
        assert np.all(np.bincount(y, minlength=10) == per), name
    write_npz(OUT, {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test})
    digest = hashlib.sha256(OUT.read_bytes()).hexdigest()
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
    print(f"x_train {x_train.shape} {x_train.dtype}, y_train {y_train.shape}, "
          f"x_test {x_test.shape}, y_test {y_test.shape}")
    print(f"sha256 {digest}")


if __name__ == "__main__":
    main()
