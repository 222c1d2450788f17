"""Fashion-MNIST (Xiao et al., 2017): 60,000/10,000 images of clothing, 28 x 28, uint8.

Sources, in order: the cache; a folder filled by hand (``$NEUROPLASTIC_DATA/raw/fashion_mnist``);
the canonical mirror; Debian's package ``dataset-fashion-mnist`` (gzipped IDX files in
/usr/share/datasets/fashion-mnist). The decompressed bytes are checked against their MD5, so
every source's gzip works.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

from ._fetch import IdxFile, data_home, from_folder, from_mirror, load_or_fetch, verify_idx

NAME = "fashion_mnist"
FILES = (
    IdxFile("x_train", "train-images-idx3-ubyte", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
    IdxFile("y_train", "train-labels-idx1-ubyte", "9018921c3c673c538a1fc5bad174d6f9"),
    IdxFile("x_test", "t10k-images-idx3-ubyte", "8181f5470baa50b63fa0f6fddb340f0a"),
    IdxFile("y_test", "t10k-labels-idx1-ubyte", "15d484375f8d13e6eb1aabb0c3f46965"),
)
MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


def arrays():
    raw_dir = data_home() / "raw" / NAME
    sources = [(f"folder {raw_dir}", partial(from_folder, FILES, raw_dir))]
    sources += [(f"mirror {m}", partial(from_mirror, FILES, m)) for m in MIRRORS]
    sources += [(f"Debian package dataset-fashion-mnist ({DEBIAN_DIR})",
                 partial(from_folder, FILES, DEBIAN_DIR))]
    return load_or_fetch(
        NAME, sources, partial(verify_idx, FILES),
        fix=(
            "as root run `apt-get update && apt-get install -y dataset-fashion-mnist` and then "
            "`neuroplastic data fetch fashion_mnist`, or put the four IDX files "
            f"(plain or .gz) into {raw_dir}."
        ),
    )
