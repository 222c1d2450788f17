"""Capacity and robustness experiments for every associative memory on the same patterns, and the
multitasking network's overlaps against dilution. Pure functions returning plain dicts (stored by
``neuroplastic memory ...`` in the results database).

Recall of a query: the memory's output, taken by sign, has overlap m >= ``threshold`` (0.95: at
most 2.5 % of the bits wrong) with the pattern the query was made from. Bit accuracy: the fraction
of correct bits. Cues: a stored pattern with a fraction of its bits flipped (``noise``) or set to
0, i.e. unknown (``mask``).
"""
from __future__ import annotations

import time

import torch
from torch import Tensor

from . import dense, hopfield, multitask
from .ca3 import CA3Memory
from .modern_hopfield import hopfield_update

PATTERNS = ("random", "mnist", "fashion_mnist")


def patterns(kind: str, k: int, *, n: int = 500, generator: torch.Generator | None = None) -> Tensor:
    """K +-1 patterns: uniform random of length ``n``, or training images of MNIST / Fashion-MNIST
    binarised at half intensity (length 784), chosen at random."""
    if kind == "random":
        return torch.randint(0, 2, (k, n), generator=generator).float() * 2 - 1
    if kind not in PATTERNS:
        raise ValueError(f"unknown patterns {kind!r}; choose one of {', '.join(PATTERNS)}")
    from .. import data

    x = data.load(kind)[0]
    if k > len(x):
        raise ValueError(f"{kind} has {len(x)} training images; asked for {k} patterns")
    idx = torch.randperm(len(x), generator=generator)[:k]
    return torch.where(x[idx].flatten(1).float() > 127.5, 1.0, -1.0)


def corrupt(p: Tensor, *, noise: float = 0.0, mask: float = 0.0, generator: torch.Generator | None = None) -> Tensor:
    """Flip a fraction ``noise`` of each cue's bits, then zero a fraction ``mask`` (exact counts)."""
    cue = p.clone()
    n = p.shape[1]
    for frac, value in ((noise, None), (mask, 0.0)):
        m = int(round(frac * n))
        if m:
            idx = torch.rand(p.shape, generator=generator).argsort(1)[:, :m]
            rows = torch.arange(len(p))[:, None]
            cue[rows, idx] = -cue[rows, idx] if value is None else value
    return cue


def _ca3_recall(stored: Tensor, cues: Tensor) -> Tensor:
    mem = CA3Memory(len(stored), stored.shape[1])
    mem.learn(torch.arange(len(stored)), (stored > 0).float())
    _, content = mem.recall_content((cues > 0).float())
    return content * 2 - 1


MODELS = {
    "hopfield": "classical Hopfield, Hebbian storage, asynchronous sign dynamics",
    "pseudoinverse": "classical Hopfield, pseudo-inverse storage, asynchronous sign dynamics",
    "dense": "dense associative memory, polynomial energy of degree n (default 3)",
    "exponential": "dense associative memory, exponential energy exp(beta x) (default beta 1)",
    "modern": "modern Hopfield, one update softmax(beta xi X^T) X (default beta 0.5)",
    "ca3": "CA3 spiking memory: one address per pattern, recall by content fragment (bits > 0 of the cue)",
}


def recall_fn(model: str, *, n: int = 3, beta: float | None = None):
    """``fn(stored, cues, generator) -> outputs`` for a model of MODELS."""
    if model == "hopfield" or model == "pseudoinverse":
        rule = "hebbian" if model == "hopfield" else "pseudoinverse"
        return lambda p, c, g: hopfield.ClassicalHopfield(rule=rule).fit(p).recall(c, generator=g)
    if model == "dense":
        return lambda p, c, g: dense.recall(p, c, energy="polynomial", n=n, generator=g)
    if model == "exponential":
        return lambda p, c, g: dense.recall(p, c, energy="exponential", beta=1.0 if beta is None else beta, generator=g)
    if model == "modern":
        return lambda p, c, g: hopfield_update(c, p, beta=0.5 if beta is None else beta)
    if model == "ca3":
        return lambda p, c, g: _ca3_recall(p, c)
    raise ValueError(f"unknown memory model {model!r}; choose one of {', '.join(MODELS)}")


def score(out: Tensor, target: Tensor, *, threshold: float = 0.95) -> tuple[float, float]:
    """(recall, bit accuracy) of outputs against targets."""
    s = torch.sign(out)
    m = (s * target).mean(1)
    return float((m >= threshold).float().mean()), float((s == target).float().mean())


def capacity(model: str, kind: str, *, seed: int = 0, n: int = 500, loads: list[int] | None = None,
             queries: int = 100, corruption_load: int | None = None, noise: list[float] | None = None,
             mask: list[float] | None = None, degree: int = 3, beta: float | None = None) -> dict:
    """Recall against load (clean cues, and cues with 10 % noise) and against cue corruption at a
    fixed load. Returns {"load": {...}, "noise": {...}, "mask": {...}, "n": N}."""
    fn = recall_fn(model, n=degree, beta=beta)
    g = torch.Generator().manual_seed(seed)
    N = n if kind == "random" else 784
    loads = loads or [10, 25, 50, 70, 100, 150, 250, 500, 1000, 2000]
    noise = noise if noise is not None else [0.0, 0.1, 0.2, 0.3, 0.4]
    mask = mask if mask is not None else [0.0, 0.25, 0.5, 0.75, 0.9]
    k0 = corruption_load or max(1, N // 20)
    out: dict = {"n": N, "queries": queries, "corruption_load": k0, "threshold": 0.95}
    pool = patterns(kind, max(max(loads), k0), n=N, generator=g)
    rows = {"k": [], "recall": [], "bits": [], "recall_noisy": [], "bits_noisy": [], "seconds": []}
    for k in loads:
        stored = pool[:k]
        pick = torch.randperm(k, generator=g)[:queries]
        t = time.perf_counter()
        r, b = score(fn(stored, stored[pick], g), stored[pick])
        rn, bn = score(fn(stored, corrupt(stored[pick], noise=0.1, generator=g), g), stored[pick])
        rows["k"].append(k), rows["recall"].append(r), rows["bits"].append(b)
        rows["recall_noisy"].append(rn), rows["bits_noisy"].append(bn)
        rows["seconds"].append(time.perf_counter() - t)
    out["load"] = rows
    stored = pool[:k0]
    pick = torch.randperm(k0, generator=g)[:queries]
    for name, levels in (("noise", noise), ("mask", mask)):
        res = {"level": [], "recall": [], "bits": []}
        for lv in levels:
            cue = corrupt(stored[pick], **{name: lv}, generator=g)
            r, b = score(fn(stored, cue, g), stored[pick])
            res["level"].append(lv), res["recall"].append(r), res["bits"].append(b)
        out[name] = res
    return out


def capacity_at(load: dict, *, level: float = 0.95, key: str = "recall") -> float:
    """The largest load whose recall is at least ``level`` (0 if none)."""
    ok = [k for k, r in zip(load["k"], load[key]) if r >= level]
    return float(max(ok)) if ok else 0.0


def multitask_overlaps(*, seed: int = 0, n: int = 2000, k: int = 3, dilutions: list[float] | None = None,
                       states: int = 8, examples: int = 0, quality: float = 1.0, supervised: bool = True,
                       beta: float | None = None) -> dict:
    """Sorted |Mattis overlaps| (mean over relaxed states) against dilution; with ``examples`` > 0 the
    couplings come from that many noisy examples per pattern of quality r."""
    g = torch.Generator().manual_seed(seed)
    dilutions = dilutions if dilutions is not None else [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    over = []
    for d in dilutions:
        p = multitask.diluted_patterns(k, n, dilution=d, generator=g)
        j = None
        if examples:
            ex = multitask.noisy_examples(p, examples, quality=quality, generator=g)
            j = multitask.couplings_from_examples(ex, quality=quality, supervised=supervised)
        over.append(multitask.retrieve(p, j=j, n_states=states, beta=beta, generator=g).mean(0).tolist())
    return {"n": n, "k": k, "dilution": dilutions, "overlaps": over,
            "hierarchical": [[(1 - d) * d ** i for i in range(k)] for d in dilutions]}
