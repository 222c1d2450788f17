"""Spike encoders and decoders (pure functions over tensors; time is the leading axis).

* ``rate(x, T, generator=)``: Bernoulli spikes with probability x in [0, 1] at each of T steps.
* ``rate_events(p, T, generator=)``: the same Bernoulli spikes as events (step, row, column)
  sorted by step, drawn as geometric inter-spike gaps: the work follows the number of spikes,
  not T x the number of inputs.
* ``latency(x, T, threshold=)``: one spike per input at t = round((1 - x) (T - 1)): brighter
  inputs fire earlier; inputs below ``threshold`` never fire.
* ``saccades(x, T, amplitude=)``: an image sequence: each image moved along three short
  saccades (a triangle, as the sensor in N-MNIST's recording moved), by sub-pixel shifts.
* ``delta(frames, threshold=)``: ON/OFF events where a pixel's log-intensity changed by more
  than ``threshold`` since its last event (an event camera's model).
* ``saccade_events(x, T)``: the two composed: an offline, event-based analogue of N-MNIST
  built from the images themselves (it is *not* N-MNIST, which was recorded by a sensor).
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


def rate_events(p: Tensor, T: int, *, generator: torch.Generator | None = None,
                max_draws: int = 1 << 22) -> tuple[Tensor, Tensor, Tensor]:
    """Bernoulli spikes with probability ``p[b, i]`` in [0, 1] at each of T steps, as events
    ``(t, b, i)`` sorted by step t, within a step by b, then i. Same distribution as
    ``rate(p, T)``, different draws: each active input's spike train is drawn as geometric gaps
    ``floor(log V / log(1 - p)) + 1`` with V uniform in (0, 1] (P(gap > m) = (1 - p)^m), enough
    gaps at once to pass T for nearly every train and more for the rare train that does not;
    ``max_draws`` bounds the uniforms held at once."""
    if T < 1:
        raise ValueError(f"T must be a positive number of steps, got {T}.")
    if p.dim() != 2:
        raise ValueError(f"rate_events needs probabilities of shape (batch, inputs), got {tuple(p.shape)}.")
    if p.numel() and (p.min() < 0 or p.max() > 1):
        raise ValueError("rate_events needs spike probabilities in [0, 1].")
    flat = p.reshape(-1)
    nz = flat.nonzero().squeeze(1)                       # active inputs, row-major
    q = flat.index_select(0, nz)
    ts, owners = [], []
    if len(q):
        inv_log_q = torch.log1p(-q).reciprocal_()        # -0 where p = 1: a spike at every step
        pos = torch.zeros(len(q), dtype=torch.long, device=p.device)   # steps used so far
        # gaps per train drawn at once: the expected count plus 4 sigma, in multiples of 16
        mean = q * T
        need = (mean + 4 * mean.sqrt() + 4).div_(16).ceil_().long().mul_(16)
        todo = torch.arange(len(q), device=p.device)
        while len(todo):
            for k in need[todo].unique().tolist():
                group = todo[need[todo] == k]
                step = max(1, max_draws // k)
                for lo in range(0, len(group), step):
                    part = group[lo:lo + step]
                    v = torch.rand(len(part), k, generator=generator, device=p.device, dtype=p.dtype)
                    gaps = torch.sub(1, v).log_().mul_(inv_log_q[part, None]).clamp_(max=T).long().add_(1)
                    t = gaps.cumsum_(1).add_(pos[part, None])            # 1 + spike steps
                    pos[part] = t[:, -1]
                    keep = t <= T
                    ts.append(t.masked_select(keep).sub_(1))
                    owners.append(part.repeat_interleave(keep.sum(1)))
            todo = todo[pos[todo] < T]                   # trains not yet past T: draw more
    t = torch.cat(ts) if ts else torch.zeros(0, dtype=torch.long, device=p.device)
    owner = torch.cat(owners) if owners else t.clone()
    # sort by (t, owner): owners index nz, which is row-major, so this is (t, b, i); keys are unique
    key = t * max(1, len(q)) + owner
    if T * max(1, len(q)) < 2 ** 31:
        key = key.int()                                  # sorts faster
    order = torch.sort(key).indices
    owner = nz.index_select(0, owner.index_select(0, order))
    return t.index_select(0, order), owner // p.shape[1], owner % p.shape[1]


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


def saccades(x: Tensor, T: int, *, amplitude: float = 2.0) -> Tensor:
    """(T, B, C, H, W): images (B, C, H, W) or (B, H, W) translated along three saccades of
    ``amplitude`` pixels (a closed triangle, T/3 steps each), by bilinear sub-pixel shifts with
    zero padding."""
    if T < 3:
        raise ValueError(f"saccades need T >= 3 steps (three saccades), got {T}.")
    img = x[:, None] if x.dim() == 3 else x
    img = img.float()
    B, C, H, W = img.shape
    corners = torch.tensor([[0.0, 0.0], [1.0, 0.5], [0.0, 1.0], [0.0, 0.0]]) * amplitude   # (dx, dy) px
    t = torch.linspace(0, 3, T)
    seg = t.floor().clamp(max=2).long()
    frac = (t - seg)[:, None]
    path = corners[seg] * (1 - frac) + corners[seg + 1] * frac                                 # (T, 2)
    # an affine grid per step: a shift of (dx, dy) pixels is 2 dx / W in normalised coordinates
    theta = torch.zeros(T, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, 0, 2] = -2 * path[:, 0] / W
    theta[:, 1, 2] = -2 * path[:, 1] / H
    grid = torch.nn.functional.affine_grid(theta, (T, C, H, W), align_corners=False).to(img.device)
    frames = torch.nn.functional.grid_sample(
        img.repeat(T, 1, 1, 1), grid.repeat_interleave(B, 0), mode="bilinear", padding_mode="zeros",
        align_corners=False)
    return frames.reshape(T, B, C, H, W)


def delta(frames: Tensor, *, threshold: float = 0.1, eps: float = 1e-2) -> Tensor:
    """(T, *shape[1:-3], 2, H, W) ON/OFF events from frames (T, ..., C, H, W) with C = 1: an
    event fires where log(eps + intensity) moved by at least ``threshold`` from the level at the
    pixel's last event (then the reference moves by whole thresholds). Step 0 sets the reference
    and has no events."""
    if frames.shape[-3] != 1:
        raise ValueError(f"delta expects single-channel frames (T, ..., 1, H, W); got {tuple(frames.shape)}.")
    if threshold <= 0:
        raise ValueError(f"threshold must be > 0, got {threshold}.")
    logf = torch.log(eps + frames.clamp_min(0)).squeeze(-3)
    ref = logf[0].clone()
    out = torch.zeros((len(frames), *logf.shape[1:-2], 2, *logf.shape[-2:]), dtype=frames.dtype,
                      device=frames.device)
    for t in range(1, len(frames)):
        n = torch.trunc((logf[t] - ref) / threshold)          # whole thresholds crossed (signed)
        out[t, ..., 0, :, :] = (n > 0).to(frames.dtype)
        out[t, ..., 1, :, :] = (n < 0).to(frames.dtype)
        ref += n * threshold
    return out


def saccade_events(x: Tensor, T: int, *, amplitude: float = 2.0, threshold: float = 0.1) -> Tensor:
    """(T, B, 2, H, W) ON/OFF events of images in [0, 1] moved along three saccades."""
    return delta(saccades(x, T, amplitude=amplitude), threshold=threshold)
