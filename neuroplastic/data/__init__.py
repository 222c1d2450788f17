"""Real datasets, verified by checksum and cached: MNIST, Fashion-MNIST, digits, MNIST-1D.

>>> x_train, y_train, x_test, y_test = neuroplastic.data.load("mnist")   # doctest: +SKIP

Images come as uint8 tensors of shape (N, H, W), labels as int64; MNIST-1D's signals are
float32 (N, 40). The first call fetches into ``$NEUROPLASTIC_DATA`` (default
``~/.cache/neuroplastic``); later calls read the cache in well under a second.
"""
from __future__ import annotations

from types import ModuleType

import numpy as np
import torch

from . import digits, fashion_mnist, mnist, mnist1d
from ._fetch import DataError, cache_path, data_home

DATASETS: dict[str, ModuleType] = {
    "mnist": mnist, "fashion_mnist": fashion_mnist, "digits": digits, "mnist1d": mnist1d,
}
_MEMO: dict[str, tuple] = {}


def _module(name: str) -> ModuleType:
    from .._registry import check_name

    return DATASETS[check_name(name, DATASETS, "dataset")]


def fetch(name: str) -> dict[str, np.ndarray]:
    """Make sure ``name`` is in the cache (fetching it if needed); return its numpy arrays."""
    return _module(name).arrays()


def load(name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x_train, y_train, x_test, y_test)`` as tensors; memoised per process (treat as read-only)."""
    if name not in _MEMO:
        a = fetch(name)
        x_tr, y_tr, x_te, y_te = (torch.from_numpy(np.ascontiguousarray(a[k]))
                                  for k in ("x_train", "y_train", "x_test", "y_test"))
        _MEMO[name] = (x_tr, y_tr.long(), x_te, y_te.long())
    return _MEMO[name]


def clear_memo() -> None:
    """Forget the in-process copies (the next load reads the cache again)."""
    _MEMO.clear()


__all__ = ["DATASETS", "DataError", "cache_path", "clear_memo", "data_home", "fetch", "load"]
