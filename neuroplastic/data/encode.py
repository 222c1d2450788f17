"""Spike encoders and decoders (pure functions over tensors; time is the leading axis).

* ``rate(x, T, generator=)``: Bernoulli spikes with probability x in [0, 1] at each of T steps.
* ``latency(x, T, threshold=)``: one spike per input at t = round((1 - x) (T - 1)): brighter
  inputs fire earlier; inputs below ``threshold`` never fire.
* decoders: ``spike_count(z)`` (sum over time), ``max_membrane(v)``, ``first_spike(z)`` (the step
  of the first spike, T where none).
"""
from __future__ import annotations

import torch
from torch import Tensor


def rate(x: Tensor, T: int, *, generator: torch.Generator | None = None) -> Tensor:
    """(T, *x.shape) float spikes; x must be in [0, 1]."""
    if T < 1:
        raise ValueError(f"T must be a positive number of steps, got {T}.")
    if x.numel() and (x.min() < 0 or x.max() > 1):
        raise ValueError("rate coding needs inputs in [0, 1]; convert uint8 images with streams.as_float.")
    u = torch.rand((T, *x.shape), generator=generator, dtype=x.dtype, device="cpu").to(x.device)
    return (u < x).to(x.dtype)


def latency(x: Tensor, T: int, *, threshold: float = 0.01) -> Tensor:
    """(T, *x.shape): one spike at step round((1 - x) (T - 1)) for x >= threshold."""
    if T < 1:
        raise ValueError(f"T must be a positive number of steps, got {T}.")
    t = ((1 - x.clamp(0, 1)) * (T - 1)).round().long()
    steps = torch.arange(T, device=x.device).reshape(T, *([1] * x.dim()))
    return ((steps == t) & (x >= threshold)).to(x.dtype)


def spike_count(z: Tensor) -> Tensor:
    return z.sum(0)


def max_membrane(v: Tensor) -> Tensor:
    return v.amax(0)


def first_spike(z: Tensor) -> Tensor:
    """Index of the first spike along time; T where a neuron never fires."""
    T = z.shape[0]
    fired = z > 0
    idx = torch.where(fired, torch.arange(T, device=z.device).reshape(T, *([1] * (z.dim() - 1))), T)
    return idx.amin(0)
