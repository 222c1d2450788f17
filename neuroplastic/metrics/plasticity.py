"""Plasticity figures of a network: how much of it is still alive and able to change.

* ``fraction_active``: FAU, the fraction of (sample, unit) pairs with positive activation
  (Adaptive replay ratio, Ma et al. 2024, ``forward_with_FAU``).
* ``dormant_ratio``: ReDo (Sokar et al. 2023): unit i is dormant when its mean |activation| over
  the batch, divided by the layer's average of that, is <= tau.
* ``effective_rank``: exp of the entropy of the normalised singular values (Roy & Vetterli 2007).
* ``relative_weight_change``: ||W - W0|| / ||W0||.
"""
from __future__ import annotations

import torch
from torch import Tensor


def fraction_active(h: Tensor) -> float:
    """h: activations (N, units)."""
    return float((h > 0).float().mean())


def dormant_mask(h: Tensor, tau: float = 0.025) -> Tensor:
    """Boolean mask of the tau-dormant units of activations h (N, units)."""
    score = h.abs().mean(0)
    return score / score.mean().clamp_min(1e-12) <= tau


def dormant_ratio(h: Tensor, tau: float = 0.025) -> float:
    return float(dormant_mask(h, tau).float().mean())


def effective_rank(features: Tensor) -> float:
    """features: (N, d). exp(H(p)) with p = sigma / sum(sigma)."""
    s = torch.linalg.svdvals(features.double())
    p = s / s.sum().clamp_min(1e-300)
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def relative_weight_change(w: Tensor, w0: Tensor) -> float:
    return float((w - w0).norm() / w0.norm().clamp_min(1e-12))


def weight_density(weights) -> float:
    """The fraction of non-zero entries over a collection of weight tensors (1 for a dense
    network; a pruned one's kept fraction, as GraNet's ``print_nonzero_counts``)."""
    weights = list(weights)
    total = sum(w.numel() for w in weights)
    return sum(int(torch.count_nonzero(w)) for w in weights) / total if total else float("nan")

