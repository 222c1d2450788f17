"""Non-stationary streams: each is a function returning ``list[Experience]``, deterministic per seed.

>>> stream = neuroplastic.streams.make("split", dataset="mnist", n_tasks=5, seed=0)  # doctest: +SKIP
"""
from __future__ import annotations

from typing import Callable

from .._registry import check_kwargs, check_name
from ._stream import Experience, as_float
from .concept_shift import concept_shift
from .corrupted import corrupted
from .domain_shift import domain_shift
from .permuted import permuted
from .power_law import power_law
from .rotated import rotated
from .shuffled_labels import shuffled_labels
from .split import split

STREAMS: dict[str, Callable[..., list[Experience]]] = {
    "permuted": permuted, "split": split, "rotated": rotated, "concept_shift": concept_shift,
    "corrupted": corrupted, "power_law": power_law, "domain_shift": domain_shift,
    "shuffled_labels": shuffled_labels,
}


def make(name: str, **kwargs) -> list[Experience]:
    """Build stream ``name`` with keyword arguments checked against its signature."""
    fn = STREAMS[check_name(name, STREAMS, "stream")]
    check_kwargs(fn, kwargs, f"stream {name!r}")
    return fn(**kwargs)


__all__ = ["STREAMS", "Experience", "as_float", "make", *STREAMS]
