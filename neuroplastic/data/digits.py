"""scikit-learn's bundled 8 x 8 digits (UCI optical recognition of handwritten digits, 1,797 images).

The images' 17 grey levels (0..16) are rescaled to uint8 0..255 (``round(v * 255 / 16)``) so every
image dataset shares one range. scikit-learn ships no split: a fixed, stratified 80/20 split
(numpy ``RandomState(0)``) (20% of each class, rounded) gives 1,438 training and 359 test images, the same on every machine.
"""
from __future__ import annotations

import numpy as np

from ._fetch import SourceFailed, arrays_sha256, load_or_fetch

NAME = "digits"
SHA256 = "1cdca8c00476bc58ca2c0c124c5801585d5778fa047c1cb09d02de4dbc38e55a"
TEST_FRACTION = 0.2


def _verify(arrays: dict) -> str | None:
    got = arrays_sha256(arrays)
    return None if got == SHA256 else f"SHA-256 {got}, expected {SHA256}"


def _from_sklearn() -> dict[str, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - scikit-learn is a dependency
        raise SourceFailed(f"scikit-learn is not installed ({e})") from e
    d = load_digits()
    x = np.rint(d.images * (255.0 / 16.0)).astype(np.uint8)
    y = d.target.astype(np.int64)
    rng = np.random.RandomState(0)
    test = np.zeros(len(y), dtype=bool)
    for c in range(10):
        idx = np.flatnonzero(y == c)
        test[rng.permutation(idx)[: int(round(len(idx) * TEST_FRACTION))]] = True
    return {"x_train": x[~test], "y_train": y[~test], "x_test": x[test], "y_test": y[test]}


def arrays():
    return load_or_fetch(
        NAME, [("scikit-learn's bundled load_digits()", _from_sklearn)], _verify,
        fix="reinstall scikit-learn (`pip install --force-reinstall scikit-learn`).",
    )
