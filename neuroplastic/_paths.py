"""Checks that an output path can be written, made before any work starts and without creating
anything, so a run never trains for an hour and then fails to save."""
from __future__ import annotations

import os
from pathlib import Path

from ._registry import ConfigError


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable_file(path: str | Path, what: str) -> Path:
    """``path`` is (or can be created as) a regular file this process may write. ``what`` names
    the option in the message (e.g. ``--report``)."""
    path = Path(path)
    if path.exists():
        if path.is_dir():
            raise ConfigError(f"{what} {path} is a directory; give a file name, e.g. {path / 'out'}.")
        if not path.is_file():
            raise ConfigError(f"{what} {path} is not a regular file; give a file name in a writable folder.")
        if not os.access(path, os.W_OK):
            raise ConfigError(f"{what} {path} is not writable; fix its permissions or choose another file.")
        return path
    parent = path.absolute().parent
    if not parent.exists():
        raise ConfigError(f"{what} {path}: its folder {parent} does not exist; create it (mkdir -p {parent}) "
                          "or choose another path.")
    if not parent.is_dir():
        raise ConfigError(f"{what} {path}: {parent} is not a folder; choose another path.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path}: the folder {parent} is not writable; choose another path.")
    return path


def check_writable_dir(path: str | Path, what: str) -> Path:
    """``path`` is a writable folder, or one that can be created (its nearest existing parent is
    a writable folder)."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"{what} {path} exists and is not a folder; choose a folder name.")
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"{what} {path} is not writable; fix its permissions or choose another folder.")
        return path
    base = _nearest_existing(path)
    if not base.is_dir():
        raise ConfigError(f"{what} {path}: {base} is a file, so the folder cannot be created; choose another path.")
    if not os.access(base, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path} cannot be created: {base} is not writable; choose another folder.")
    return path
