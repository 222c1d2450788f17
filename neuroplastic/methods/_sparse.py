"""The math of sparse training with pruning and regrowth (GraNet; Liu et al. 2021), as pure
functions over weight tensors and boolean masks. ``granet.py`` holds the schedule and the state.

Read from VITA-Group/GraNet, CIFAR/sparselearning/core.py (``pruning``, ``magnitude_death``,
``gradient_growth``, ``CosineDecay``, the ERK initialisation); reimplemented, not copied.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def cubic_density(step: int, *, start: int, end: int, every: int, init_density: float,
                  final_density: float) -> float | None:
    """The gradual-pruning target density at ``step``, or None outside the pruning window.

    Counted in mask updates (``step // every``), as the official ``pruning``:
    d = d_f + (d_i - d_f) (1 - (t - t0) / (t_f - t0))^3 for t0 <= t <= t_f (Zhu & Gupta's cubic
    schedule); a window shorter than one update prunes to d_f at once.
    """
    cur, ini, fin = step // every, start // every, end // every
    if not ini <= cur <= fin:
        return None
    decay = (1 - (cur - ini) / (fin - ini)) ** 3 if fin > ini else 0.0
    return final_density + (init_density - final_density) * decay


def cosine_rate(step: int, total: int, *, rate: float, rate_min: float) -> float:
    """The death (regrowth) rate after ``step`` of ``total`` steps: cosine annealing from ``rate``
    to ``rate_min`` (``torch.optim.lr_scheduler.CosineAnnealingLR``'s closed form, GraNet's
    ``CosineDecay``)."""
    t = min(step, total) / max(total, 1)
    return rate_min + (rate - rate_min) * (1 + math.cos(math.pi * t)) / 2


def _kth_largest(values: Tensor, k: int) -> Tensor:
    """The k-th largest entry of a flat tensor (1 <= k <= numel)."""
    return torch.kthvalue(values, values.numel() - k + 1).values


def magnitude_masks(weights: list[Tensor], density: float, *, per_layer: bool = False) -> list[Tensor]:
    """Keep the largest-|w| fraction ``density`` of the weights: over all layers at once (global
    magnitude pruning, ``GraNet``) or within each layer (``per_layer``, ``GraNet_uniform``).

    As the official code, an entry is kept when |w| is strictly above the k-th largest |w|, so a
    threshold of 0 never keeps the pruned zeros (k = int(n density), at least 1).
    """
    if per_layer:
        return [magnitude_masks([w], density)[0] for w in weights]
    scores = torch.cat([w.detach().abs().flatten() for w in weights])
    k = max(1, int(scores.numel() * density))
    threshold = _kth_largest(scores, k)
    return [w.detach().abs() > threshold for w in weights]


def magnitude_death(w: Tensor, mask: Tensor, rate: float) -> Tensor:
    """Remove the ceil(rate * nnz) smallest-magnitude active weights of one layer (``magnitude_death``):
    returns the new mask, a subset of ``mask``. Inactive entries are zero (the mask holds them
    there), so they sort first."""
    nnz = int(mask.sum())
    remove = math.ceil(rate * nnz)
    if remove == 0 or nnz == 0:
        return mask.clone()
    k = min(mask.numel() - nnz + remove, mask.numel())
    scores = (w.detach().abs() * mask).flatten()
    threshold = torch.kthvalue(scores, k).values
    return mask & (w.detach().abs() > threshold)


def grow(mask: Tensor, n: int, score: Tensor) -> Tensor:
    """Activate the ``n`` inactive entries with the largest ``score``; returns the new mask. GraNet's ``gradient_growth`` scores by |gradient|, SET-style random
    regrowth by a uniform draw."""
    inactive = ~mask
    n = min(int(n), int(inactive.sum()))
    new = mask.clone()
    if n <= 0:
        return new
    s = torch.where(inactive, score.float(), torch.tensor(-1.0, device=score.device))
    idx = torch.topk(s.flatten(), n, sorted=False).indices
    new.view(-1)[idx] = True
    return new


def erk_densities(shapes: list[tuple[int, ...]], density: float, *, power: float = 1.0) -> list[float]:
    """Per-layer densities of the Erdos-Renyi-Kernel initialisation (Evci et al. 2020, as GraNet's
    ``init('ERK')``): a layer's density is proportional to (sum of its dimensions / its size)^power,
    scaled so that the network's overall density is ``density``; a layer whose density would
    exceed 1 is made dense and the scale recomputed over the rest."""
    sizes = [math.prod(s) for s in shapes]
    raw = [(sum(s) / n) ** power for s, n in zip(shapes, sizes)]
    dense: set[int] = set()
    while True:
        rhs = sum(n * density for i, n in enumerate(sizes) if i not in dense) \
            - sum(n * (1 - density) for i, n in enumerate(sizes) if i in dense)
        divisor = sum(raw[i] * sizes[i] for i in range(len(sizes)) if i not in dense)
        eps = rhs / divisor if divisor else 0.0
        over = [i for i in range(len(sizes)) if i not in dense and eps * raw[i] > 1]
        if not over:
            return [1.0 if i in dense else eps * raw[i] for i in range(len(sizes))]
        top = max(raw[i] for i in over)
        dense |= {i for i in over if raw[i] == top}

