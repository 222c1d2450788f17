"""Criticality and separation diagnostics of a spiking liquid (pure functions).

* ``branching_factor``: compute_branching_factor.py of combra-lab/NALSM, vectorised. For every
  spike of liquid neuron j at step t (t in [buffer + dt, steps - buffer - dt)): the spikes of j's
  postsynaptic liquid neurons in [t + 1, t + 1 + dt) over the spikes of its presynaptic liquid
  neurons in [t - dt, t) (at least 1); averaged over j's spikes, then over the neurons that
  spiked, then over samples. dt = 4 ms, buffer = 25 ms as the official defaults. 1 is the
  critical value: each spike causes one spike downstream on average.
* ``kernel_quality``: the rank of the liquid-state matrix (one row of spike counts per input) of
  distinct inputs (separation); ``generalization_rank``: the same rank over noisy copies of one
  input (lower is better generalisation) [Legenstein & Maass 2007].
* ``firing_rate``: mean spikes per neuron per second.
"""
from __future__ import annotations

import torch
from torch import Tensor


def _window_sums(s: Tensor, start: int, length: int) -> Tensor:
    """out[t] = sum of s[t + start : t + start + length] (zero outside), s (T, B, N) float."""
    T = s.shape[0]
    c = torch.cat([torch.zeros_like(s[:1]), s.cumsum(0)])          # c[t] = sum s[:t]
    lo = (torch.arange(T) + start).clamp(0, T)
    hi = (torch.arange(T) + start + length).clamp(0, T)
    return c[hi] - c[lo]


def branching_factor(trains: Tensor, mask: Tensor, *, dt: int = 4, buffer: int = 25) -> float:
    """``trains`` (T, B, N) spikes of the liquid (steps x samples x neurons); ``mask`` (N, N)
    liquid-to-liquid synapses, post x pre. NaN when no neuron spiked inside the window."""
    s = trains.float()
    T = s.shape[0]
    m = mask.float().to(s.device)
    past = _window_sums(s, -dt, dt)                 # spikes in [t - dt, t)
    future = _window_sums(s, 1, dt)                 # spikes in [t + 1, t + 1 + dt)
    pre = (past @ m.t()).clamp_min(1.0)             # pre[t, b, j] = sum_i m[j, i] past[t, b, i]
    post = future @ m                               # post[t, b, j] = sum_i m[i, j] future[t, b, i]
    valid = torch.zeros(T, 1, 1, device=s.device)
    valid[buffer + dt: T - buffer - dt] = 1
    spk = s * valid
    n_spk = spk.sum(0)                              # (B, N) spikes per neuron inside the window
    bf_sum = (spk * post / pre).sum(0)
    per_neuron = bf_sum / n_spk.clamp_min(1)
    spiked = n_spk > 0
    per_sample = (per_neuron * spiked).sum(1) / spiked.sum(1).clamp_min(1)
    ok = spiked.any(1)
    return float(per_sample[ok].mean()) if ok.any() else float("nan")


def kernel_quality(states: Tensor, atol: float | None = None) -> int:
    """Rank of the (inputs x neurons) liquid-state matrix over distinct inputs (higher separates
    more); singular values up to ``atol`` count as zero (default: torch's relative tolerance)."""
    return int(torch.linalg.matrix_rank(states.double(), atol=atol))


def generalization_rank(states: Tensor, atol: float | None = None) -> int:
    """Rank of the liquid-state matrix over noisy copies of one input (lower generalises better)."""
    return int(torch.linalg.matrix_rank(states.double(), atol=atol))


def firing_rate(counts: Tensor, ms: float) -> float:
    """Mean spikes per neuron per second from spike counts over ``ms`` milliseconds."""
    return float(counts.float().mean()) * 1000.0 / ms
