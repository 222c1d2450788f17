"""The Diehl & Cook (2015) spiking network ("Unsupervised learning of digit recognition using
spike-timing-dependent plasticity", Front. Comput. Neurosci. 9:99), batched over samples.

Poisson input (784 pixels, rate = pixel x ``intensity`` Hz) -> excitatory LIF layer with adaptive
thresholds (theta), all-to-all plastic weights in [0, 1] -> one inhibitory neuron per excitatory
neuron (fixed weight ``exc_to_inh``), which inhibits every *other* excitatory neuron (fixed
weight ``inh_to_exc``): lateral inhibition, a soft winner-take-all. Learning (pair STDP with
nearest-spike traces, BindsNET's ``PostPre``): at every step

    w -= nu_pre  * s_in^T x_exc       (depression at each input spike, by the post trace)
    w += nu_post * x_in^T s_exc       (potentiation at each excitatory spike, by the pre trace)
    w  = clamp(w, 0, 1);   theta += theta_plus * (excitatory threshold crossings)

summed over the batch; after each batch of samples every neuron's incoming weights are rescaled
to sum to ``norm`` (78.4). Labels come from the responses: each neuron is assigned the class it
responds to most (mean spike count per class); a sample's prediction is the class whose assigned
neurons fire most on average ("all activity").

Parameters and the simulation follow BindsNET 0.3's ``DiehlAndCook2015`` model and its
``eth_mnist`` example, which replicate the paper in PyTorch [V: read in BindsNET/bindsnet
network.py (synchronous updates: every layer's input at step t comes from the spikes of step
t - 1), nodes.py ``DiehlAndCookNodes`` (theta grows for every threshold crossing, then only one
randomly chosen crossing neuron per sample is let through: ``one_spike``) and learning.py
``PostPre``]. Differences from the paper [I]: the paper rests the network 150 ms between samples
and re-presents a sample at +32 Hz when the layer fired fewer than 5 spikes; BindsNET, and this
default, reset the state between samples and present once (``min_spikes`` turns the paper's
repetition on). Batching is ours: B samples share the weights and thresholds, and each step's
updates are summed over the batch (BindsNET's batched reduction).

Pure functions: ``dc_init`` / ``dc_step`` on a ``DCState`` NamedTuple; ``DiehlCook`` is the thin
module holding the weights, thresholds and class responses as buffers.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

from .._registry import ConfigError


class DCState(NamedTuple):
    v_exc: Tensor     # (B, n) membrane potentials, mV
    v_inh: Tensor
    ref_exc: Tensor   # (B, n) refractory counters, ms
    ref_inh: Tensor
    in_b: Tensor      # (E,) last step's input spikes as events: sample index ...
    in_i: Tensor      # (E,) ... and input index
    s_exc: Tensor     # (B, n)
    s_inh: Tensor     # (B, n)
    x_in: Tensor      # (B, n_in) traces (set to 1 at a spike, decay with tau_trace)
    x_exc: Tensor     # (B, n)


class DCParams(NamedTuple):
    dt: float = 1.0
    exc_rest: float = -65.0
    exc_reset: float = -60.0
    exc_thresh: float = -52.0
    exc_tau: float = 100.0
    exc_refrac: float = 5.0
    inh_rest: float = -60.0
    inh_reset: float = -45.0
    inh_thresh: float = -40.0
    inh_tau: float = 10.0
    inh_refrac: float = 2.0
    exc_to_inh: float = 22.5
    inh_to_exc: float = 120.0
    theta_plus: float = 0.05
    tau_theta: float = 1e7
    tau_trace: float = 20.0
    one_spike: bool = True


class DCLearning(NamedTuple):
    nu_pre: float = 1e-4
    nu_post: float = 1e-2
    wmin: float = 0.0
    wmax: float = 1.0


def dc_init(batch: int, n_in: int, n: int, p: DCParams, *, device=None, dtype=torch.float32) -> DCState:
    z = lambda k: torch.zeros(batch, k, device=device, dtype=dtype)   # noqa: E731
    none = torch.zeros(0, dtype=torch.long, device=device)
    return DCState(torch.full((batch, n), p.exc_rest, device=device, dtype=dtype),
                   torch.full((batch, n), p.inh_rest, device=device, dtype=dtype),
                   z(n), z(n), none, none.clone(), z(n), z(n), z(n_in), z(n))


def inhibition_is_relay(p: DCParams) -> bool:
    """True when every inhibitory neuron fires exactly one step after its excitatory partner
    (then the inhibitory layer needs no simulation): one excitatory spike lifts a neuron at or
    above rest over threshold, its potential never falls below rest, and its refractory period
    ends before the partner can fire again."""
    return (p.inh_rest + p.exc_to_inh >= p.inh_thresh and p.inh_reset >= p.inh_rest
            and p.exc_refrac >= p.inh_refrac)


def dc_step(in_b: Tensor, in_i: Tensor, state: DCState, w: Tensor, theta: Tensor, p: DCParams, *,
            learn: DCLearning | None = None, generator: torch.Generator | None = None) -> DCState:
    """One step of ``dt`` ms. This step's input spikes come as events: sample ``in_b[e]``,
    input ``in_i[e]`` (event-driven: the input is a few percent active, so the input product and
    the depression touch only the active inputs' weight rows). Updates ``w`` and ``theta`` in
    place when ``learn`` is given (the network is learning)."""
    dt = p.dt
    d_tr = math.exp(-dt / p.tau_trace)
    # synchronous inputs, from the spikes of the previous step: input -> exc, inh -> all other exc
    s_inh = state.s_inh
    i_exc = (s_inh - s_inh.sum(1, keepdim=True)).mul_(p.inh_to_exc)
    i_exc.index_add_(0, state.in_b, w[state.in_i])                  # = s_in(t-1) @ w
    x_in = state.x_in.mul_(d_tr).index_put_((in_b, in_i), torch.ones((), dtype=w.dtype, device=w.device))
    # excitatory layer (DiehlAndCookNodes): decay, integrate unless refractory, fire, reset
    d_e = math.exp(-dt / p.exc_tau)
    v = state.v_exc.mul_(d_e).add_(p.exc_rest * (1 - d_e))
    v.add_(i_exc.masked_fill_(state.ref_exc > 0, 0.0))
    ref = state.ref_exc.sub_(dt)
    if learn is not None and p.tau_theta != math.inf:
        theta.mul_(math.exp(-dt / p.tau_theta))
    crossed = v >= theta + p.exc_thresh
    x_exc = state.x_exc.mul_(d_tr)
    fired = bool(crossed.any())          # most steps have no excitatory spike: skip their work
    if fired:
        ref.masked_fill_(crossed, p.exc_refrac)
        v.masked_fill_(crossed, p.exc_reset)
        s = crossed.to(v.dtype)
        if learn is not None:
            theta.add_(s.sum(0), alpha=p.theta_plus)
        if p.one_spike:
            # one uniformly chosen crossing neuron per sample fires (a random priority per step,
            # shared by the samples: each sample's pick is still uniform among its crossings)
            prio = torch.rand(s.shape[1], generator=generator, device=s.device, dtype=s.dtype).add_(1)
            pick = (s * prio).argmax(1, keepdim=True)
            s = torch.zeros_like(s).scatter_(1, pick, s.amax(1, keepdim=True))
        x_exc.masked_fill_(s > 0, 1.0)
    else:
        s = torch.zeros_like(v)
    # inhibitory layer (LIF), or its exact shortcut
    if inhibition_is_relay(p):
        vi, ref_i, s_inh_new = state.v_inh, state.ref_inh, state.s_exc
    else:
        d_i = math.exp(-dt / p.inh_tau)
        vi = state.v_inh.mul_(d_i).add_(p.inh_rest * (1 - d_i))
        vi.addcmul_((state.ref_inh <= 0).to(vi.dtype), state.s_exc, value=p.exc_to_inh)
        ref_i = state.ref_inh.sub_(dt)
        crossed_i = vi >= p.inh_thresh
        ref_i.masked_fill_(crossed_i, p.inh_refrac)
        vi.masked_fill_(crossed_i, p.inh_reset)
        s_inh_new = crossed_i.to(vi.dtype)
    if learn is not None:                                   # PostPre, summed over the batch
        if learn.nu_pre:                                    # w[i] -= nu_pre x_exc[b] per input event
            w.index_add_(0, in_i, x_exc[in_b], alpha=-learn.nu_pre)
        if learn.nu_post and fired:                         # w[:, j] += nu_post x_in[b] per exc spike
            post_b, post_j = s.nonzero(as_tuple=True)
            w.index_add_(1, post_j, x_in[post_b].T, alpha=learn.nu_post)
        w.clamp_(learn.wmin, learn.wmax)
    return DCState(v, vi, ref, ref_i, in_b, in_i, s, s_inh_new, x_in, x_exc)


def normalize_columns(w: Tensor, norm: float) -> Tensor:
    """Rescale each neuron's incoming weights (a column) to sum |w| = norm, in place."""
    total = w.abs().sum(0, keepdim=True)
    return w.mul_(norm / torch.where(total == 0, torch.ones_like(total), total))


def all_activity(counts: Tensor, assignments: Tensor, n_classes: int) -> Tensor:
    """Class scores (B, C): the mean spike count of the neurons assigned to each class (0 where
    a class has no neuron)."""
    onehot = torch.nn.functional.one_hot(assignments, n_classes).to(counts.dtype)   # (n, C)
    per_class = onehot.sum(0)
    return (counts @ onehot) / per_class.clamp_min(1)


class DiehlCook(nn.Module):
    """The network's state: plastic weights ``w`` (n_in, n_neurons), adaptive thresholds
    ``theta``, and the class responses used for label assignment. ``forward`` classifies
    (no learning); ``simulate`` runs a batch, learning or not."""

    def __init__(self, *, in_shape: tuple[int, ...], n_classes: int, task_classes=None, n_neurons: int = 100,
                 time: int = 350, intensity: float = 128.0, dt: float = 1.0, theta_plus: float = 0.05,
                 exc_to_inh: float = 22.5, inh_to_exc: float = 120.0, one_spike: bool = True,
                 init_scale: float = 0.3, seed: int = 0):
        super().__init__()
        if not isinstance(n_neurons, int) or n_neurons < 1:
            raise ConfigError(f"n_neurons={n_neurons!r} is invalid: expected a positive integer (e.g. 100).")
        if not isinstance(time, int) or time < 1:
            raise ConfigError(f"time={time!r} is invalid: expected a positive number of steps (e.g. 350).")
        for name, v in (("intensity", intensity), ("dt", dt)):
            if not isinstance(v, (int, float)) or v <= 0:
                raise ConfigError(f"{name}={v!r} is invalid: expected a number > 0.")
        if task_classes is not None:
            raise ConfigError("diehl_cook is a single-head classifier: use a class-incremental or "
                              "domain stream (scenario='class'), not a task-incremental one.")
        self.n_in, self.n_classes, self.time, self.intensity = math.prod(in_shape), n_classes, time, intensity
        self.params = DCParams(dt=float(dt), theta_plus=float(theta_plus), exc_to_inh=float(exc_to_inh),
                               inh_to_exc=float(inh_to_exc), one_spike=bool(one_spike))
        g = torch.Generator().manual_seed(seed)
        # a Parameter (never given a gradient) so that optimizers and weight-change figures see it
        self.w = nn.Parameter(init_scale * torch.rand(self.n_in, n_neurons, generator=g), requires_grad=False)
        self.register_buffer("theta", torch.zeros(n_neurons))
        self.register_buffer("class_rates", torch.zeros(n_neurons, n_classes))   # summed responses
        self.register_buffer("class_counts", torch.zeros(n_classes))
        self.register_buffer("assignments", torch.zeros(n_neurons, dtype=torch.long))

    @property
    def n_neurons(self) -> int:
        return self.w.shape[1]

    @torch.no_grad()
    def simulate(self, x: Tensor, *, learn: DCLearning | None = None, norm: float | None = None,
                 norm_every: int = 0, generator: torch.Generator | None = None,
                 rate_scale: Tensor | float = 1.0) -> Tensor:
        """Present a batch of images in [0, 1] for ``time`` steps; returns the excitatory spike
        counts (B, n). With ``learn``, STDP and threshold adaptation run at every step and the
        weights are renormalised to ``norm`` at the end."""
        flat = x.flatten(1).to(self.w.dtype)
        if len(flat) and (flat.min() < 0 or flat.max() > 1):
            raise ValueError("diehl_cook needs images in [0, 1]; convert uint8 with streams.as_float.")
        rate = scale_rates(flat, rate_scale, self.intensity, self.params.dt)   # spike probability per step
        # only inputs with a non-zero rate can spike: draw for those (per sample, padded)
        active = rate > 0
        k_max = max(1, int(active.sum(1).max())) if len(flat) else 1
        idx = active.to(torch.uint8).argsort(dim=1, descending=True, stable=True)[:, :k_max]   # (B, k)
        p_c = rate.gather(1, idx)
        state = dc_init(len(flat), self.n_in, self.n_neurons, self.params, device=flat.device, dtype=flat.dtype)
        counts = torch.zeros(len(flat), self.n_neurons, device=flat.device, dtype=flat.dtype)
        chunk = max(1, min(self.time, (1 << 24) // max(1, p_c.numel())))   # input spikes drawn in chunks
        for t0 in range(0, self.time, chunk):
            k = min(chunk, self.time - t0)
            u = torch.rand((k, *p_c.shape), generator=generator, device=flat.device, dtype=flat.dtype)
            spikes = u < p_c
            for t in range(k):
                b, slot = spikes[t].nonzero(as_tuple=True)
                state = dc_step(b, idx[b, slot], state, self.w, self.theta, self.params, learn=learn,
                                generator=generator)
                counts += state.s_exc
                if learn is not None and norm is not None and norm_every and (t0 + t + 1) % norm_every == 0:
                    normalize_columns(self.w, norm)
        if learn is not None and norm is not None:
            normalize_columns(self.w, norm)
        return counts

    @torch.no_grad()
    def record(self, counts: Tensor, y: Tensor, decay: float = 1.0, reset: bool = False) -> None:
        """Add a batch's responses to the class responses (``reset``: start them afresh) and
        reassign labels."""
        if reset:
            self.class_rates.zero_()
            self.class_counts.zero_()
        self.class_rates.mul_(decay).index_add_(1, y, counts.T)
        self.class_counts.mul_(decay).index_add_(0, y, torch.ones_like(y, dtype=self.class_counts.dtype))
        mean = self.class_rates / self.class_counts.clamp_min(1)
        self.assignments.copy_(mean.argmax(1))

    def features(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.simulate(x, generator=generator)

    def classify(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Class scores (B, C) by "all activity", learning off."""
        return all_activity(self.simulate(x, generator=generator), self.assignments, self.n_classes)

    def forward(self, x: Tensor, task=None) -> Tensor:
        return self.classify(x)


def scale_rates(flat: Tensor, rate_scale, intensity: float, dt: float) -> Tensor:
    """Per-step spike probability: pixel x intensity (Hz) x rate_scale x dt (ms) / 1000, <= 1."""
    if isinstance(rate_scale, Tensor):
        rate_scale = rate_scale.reshape(-1, 1)
    return (flat * (intensity * dt / 1000.0) * rate_scale).clamp_(max=1.0)
