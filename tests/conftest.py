"""Shared fixtures. Tests read real data from the cache the README's set-up fills
($NEUROPLASTIC_DATA, default ~/.cache/neuroplastic); tests that break the cache work on a copy."""
from __future__ import annotations

import shutil

import pytest

from neuroplastic import data

REAL_CACHE = {name: data.cache_path(name) for name in data.DATASETS}   # before any monkeypatch


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    """A fresh, empty data folder for this test; the memo is cleared before and after."""
    monkeypatch.setenv("NEUROPLASTIC_DATA", str(tmp_path))
    data.clear_memo()
    yield tmp_path
    data.clear_memo()


@pytest.fixture
def copy_cached():
    """Copy a dataset's verified cache file from the real cache into the current data home."""

    def copy(name: str):
        if not REAL_CACHE[name].exists():
            pytest.fail(f"{REAL_CACHE[name]} is missing: run `neuroplastic data fetch all` first")
        dst = data.cache_path(name)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REAL_CACHE[name], dst)
        return dst

    return copy
