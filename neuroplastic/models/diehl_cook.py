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
repetition on). Batching is ours [I]: B samples share the weights and thresholds, each step's
updates are summed over the batch (BindsNET's batched reduction), and the thresholds decay B
presentations' worth per step (``batch_time=True``), as they would while the B samples were
shown one after another; without it theta grows B times faster relative to its decay (one pass
over 60,000 MNIST images, batch 100, recipe diehl_cook_mnist, 3 seeds: 71.6 +- 1.4% without,
79.9 +- 0.7% with).

Speed (the simulation is many small steps): a presentation's Poisson input is drawn at once as
events (``encode.rate_events``: geometric inter-spike gaps, work in proportion to the spikes)
and grouped per step (``event_schedule``) by sample for the input current and by input for
the depression, both ``embedding_bag`` sums over the active weight rows only; a step skips what
is known to be zero (inhibition after a silent step, the refractory mask when no neuron is
refractory, the traces when not learning) and passes its scalars as 0-d tensors. On a CPU
these ops are too small to share out: one thread is fastest.

Pure functions: ``dc_init`` / ``dc_step`` on a ``DCState`` NamedTuple; ``DiehlCook`` is the thin
module holding the weights, thresholds and class responses as buffers.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._registry import ConfigError
from ..data.encode import rate_events


class DCState(NamedTuple):
    v_exc: Tensor     # (B, n) membrane potentials, mV
    v_inh: Tensor
    ref_exc: Tensor   # (B, n) refractory counters, ms (only their sign is used once <= 0)
    ref_inh: Tensor
    ev: "StepEvents"  # last step's input spikes
    s_exc: Tensor     # (B, n)
    s_inh: Tensor     # (B, n)
    x_in: Tensor      # (B, n_in) traces (set to 1 at a spike, decay with tau_trace; kept while learning)
    x_exc: Tensor     # (B, n)
    exc_on: bool = True        # False: s_exc is known to be all zero
    inh_on: bool = True        # False: s_inh is known to be all zero (no inhibition to compute)
    ref_left: float = math.inf  # an upper bound of ref_exc (<= 0: no neuron is refractory)


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


class StepEvents(NamedTuple):
    """One step's input spikes as events, grouped twice for the two event-driven products:
    by sample for the input current (``embedding_bag`` over ``i`` with bags ``off``) and by input
    for the depression (bags of samples ``by_i`` at offsets ``u_off``, one per input ``u_i``)."""
    b: Tensor         # (E,) sample of each event, sorted
    i: Tensor         # (E,) input of each event
    off: Tensor       # (B,) where each sample's events start
    by_i: Tensor      # (E,) the events' samples, grouped by input
    u_i: Tensor       # (U,) the distinct inputs that spiked
    u_off: Tensor     # (U,) where each input's group starts in by_i


def step_events(b: Tensor, i: Tensor, batch: int) -> StepEvents:
    """Group one step's events ``(b[e], i[e])``, in any order."""
    order = torch.sort(b * (int(i.max()) + 1 if len(i) else 1) + i).indices
    b, i = b[order], i[order]
    per_b = torch.bincount(b, minlength=batch)
    u_i, per_i = torch.unique(i, return_counts=True)
    by_i = b[torch.sort(i, stable=True).indices]
    return StepEvents(b, i, per_b.cumsum(0) - per_b, by_i, u_i, per_i.cumsum(0) - per_i)


def event_schedule(t: Tensor, b: Tensor, i: Tensor, T: int, batch: int, n_in: int) -> list[StepEvents]:
    """The grouped events of every step at once, from events ``(t, b, i)`` sorted by (t, b, i)
    (``encode.rate_events``): a few sorts for the whole presentation, views per step."""
    per_tb = torch.bincount(t * batch + b, minlength=T * batch).view(T, batch)
    off = per_tb.cumsum(1) - per_tb                                   # offsets within each step
    per_t = per_tb.sum(1)
    key = t * n_in + i
    order = torch.sort(key.int() if T * n_in < 2 ** 31 else key, stable=True).indices   # by (t, i, b)
    by_i, key = b.index_select(0, order), key.index_select(0, order)
    u_key, per_u = torch.unique_consecutive(key, return_counts=True)
    u_t, u_i = u_key // n_in, u_key % n_in
    step_start = per_t.cumsum(0) - per_t
    u_off = (per_u.cumsum(0) - per_u).sub_(step_start.index_select(0, u_t))
    sizes, u_sizes = per_t.tolist(), torch.bincount(u_t, minlength=T).tolist()
    return [StepEvents(*parts) for parts in zip(b.split(sizes), i.split(sizes), off.unbind(0), by_i.split(sizes),
                                                u_i.split(u_sizes), u_off.split(u_sizes))]


def dc_init(batch: int, n_in: int, n: int, p: DCParams, *, device=None, dtype=torch.float32) -> DCState:
    z = lambda k: torch.zeros(batch, k, device=device, dtype=dtype)   # noqa: E731
    none = torch.zeros(0, dtype=torch.long, device=device)
    ev = StepEvents(none, none, torch.zeros(batch, dtype=torch.long, device=device), none, none, none)
    return DCState(torch.full((batch, n), p.exc_rest, device=device, dtype=dtype),
                   torch.full((batch, n), p.inh_rest, device=device, dtype=dtype),
                   z(n), z(n), ev, z(n), z(n), z(n_in), z(n))


def inhibition_is_relay(p: DCParams) -> bool:
    """True when every inhibitory neuron fires exactly one step after its excitatory partner
    (then the inhibitory layer needs no simulation): one excitatory spike lifts a neuron at or
    above rest over threshold, its potential never falls below rest, and its refractory period
    ends before the partner can fire again."""
    return (p.inh_rest + p.exc_to_inh >= p.inh_thresh and p.inh_reset >= p.inh_rest
            and p.exc_refrac >= p.inh_refrac)


class DCConsts(NamedTuple):
    """A step's scalars as 0-d tensors of the state's dtype and device (an op with a Python
    float converts it to a tensor every time: about 1.5 us per op on a CPU)."""
    dt: Tensor
    zero: Tensor
    one: Tensor
    d_e: Tensor       # decay of the excitatory potential per step
    c_e: Tensor       # the leak toward rest per step
    d_tr: Tensor      # decay of the traces
    d_theta: Tensor   # decay of the adaptive thresholds
    thresh: Tensor
    neg_nu_pre: Tensor


def dc_consts(p: DCParams, learn: DCLearning | None, like: Tensor, *, presentations: int = 1) -> DCConsts:
    """``presentations``: how many samples' time passes per step for the thresholds (a batch of
    B samples shown at once stands for B presentations one after another: theta decays B steps'
    worth per step, as it would over the B sequential presentations)."""
    d_e = math.exp(-p.dt / p.exc_tau)
    values = (p.dt, 0.0, 1.0, d_e, p.exc_rest * (1 - d_e), math.exp(-p.dt / p.tau_trace),
              math.exp(-p.dt * presentations / p.tau_theta), p.exc_thresh, -(learn.nu_pre if learn is not None else 0.0))
    return DCConsts(*(torch.tensor(v, dtype=like.dtype, device=like.device) for v in values))


def dc_step(ev: StepEvents, state: DCState, w: Tensor, theta: Tensor, p: DCParams, *,
            learn: DCLearning | None = None, generator: torch.Generator | None = None,
            prio: Tensor | None = None, k: DCConsts | None = None) -> DCState:
    """One step of ``dt`` ms. This step's input spikes come as events (``step_events``;
    event-driven: the input is a few percent active, so the input product and the depression
    touch only the active inputs' weight rows). Updates ``w`` and ``theta`` in
    place when ``learn`` is given (the network is learning); the traces are kept only then.
    ``prio`` (n,) in [1, 2): the random priorities of ``one_spike`` (drawn here when None).
    Work that is known to be zero is skipped (no inhibition when no neuron fired last step, no
    refractory mask when none is refractory); the results are those of the full equations.
    ``k``: ``dc_consts(p, learn, w)``, made here when None."""
    k = dc_consts(p, learn, w) if k is None else k
    c_e = k.c_e                               # the leak toward rest, folded into the input current
    # synchronous inputs, from the spikes of the previous step: input -> exc, inh -> all other exc
    prev = state.ev
    i_exc = F.embedding_bag(prev.i, w, prev.off, mode="sum").add_(c_e)     # = s_in(t-1) @ w + leak
    if state.inh_on:
        s_inh = state.s_inh
        i_exc.add_(s_inh, alpha=p.inh_to_exc).sub_(s_inh.sum(1, keepdim=True), alpha=p.inh_to_exc)
    one = k.one
    x_in, x_exc = state.x_in, state.x_exc
    if learn is not None:
        x_in.mul_(k.d_tr).index_put_((ev.b, ev.i), one)
        x_exc.mul_(k.d_tr)
    # excitatory layer (DiehlAndCookNodes): decay, integrate unless refractory, fire, reset
    ref, ref_left = state.ref_exc, state.ref_left
    if ref_left > 0:
        i_exc.masked_fill_(ref > k.zero, c_e)
        ref.sub_(k.dt)
        ref_left -= p.dt
    v = state.v_exc.mul_(k.d_e).add_(i_exc)
    if learn is not None and p.tau_theta != math.inf:
        theta.mul_(k.d_theta)
    crossed = v >= theta + k.thresh
    fired = bool(crossed.view(torch.uint8).max()) if crossed.numel() else False
    if fired:                 # with few samples most steps have no excitatory spike: skip their work
        ref.masked_fill_(crossed, p.exc_refrac)
        ref_left = p.exc_refrac
        v.masked_fill_(crossed, p.exc_reset)
        if learn is not None:
            theta.add_(crossed.sum(0, dtype=theta.dtype), alpha=p.theta_plus)
        if p.one_spike:
            # one uniformly chosen crossing neuron per sample fires (a random priority per step,
            # shared by the samples: each sample's pick is still uniform among its crossings)
            if prio is None:
                prio = torch.rand(v.shape[1], generator=generator, device=v.device, dtype=v.dtype).add_(1)
            top, pick = torch.where(crossed, prio, k.zero).max(1)
            post_b = top.nonzero().squeeze(1)
            post_j = pick.index_select(0, post_b)
        else:
            post_b, post_j = crossed.nonzero(as_tuple=True)
        s = torch.zeros_like(v).index_put_((post_b, post_j), one)
        if learn is not None:
            torch.maximum(x_exc, s, out=x_exc)             # the trace is set to 1 at a spike
    else:
        s = torch.zeros_like(v)
    # inhibitory layer (LIF), or its exact shortcut
    if inhibition_is_relay(p):
        vi, ref_i, s_inh_new, inh_on = state.v_inh, state.ref_inh, state.s_exc, state.exc_on
    else:
        d_i = math.exp(-p.dt / p.inh_tau)
        vi = state.v_inh.mul_(d_i).add_(p.inh_rest * (1 - d_i))
        vi.addcmul_((state.ref_inh <= 0).to(vi.dtype), state.s_exc, value=p.exc_to_inh)
        ref_i = state.ref_inh.sub_(p.dt)
        crossed_i = vi >= p.inh_thresh
        ref_i.masked_fill_(crossed_i, p.inh_refrac)
        vi.masked_fill_(crossed_i, p.inh_reset)
        s_inh_new, inh_on = crossed_i.to(vi.dtype), True
    if learn is not None:                                   # PostPre, summed over the batch
        if learn.nu_pre and len(ev.u_i):                    # w[i] -= nu_pre x_exc[b] per input event
            dep = F.embedding_bag(ev.by_i, x_exc, ev.u_off, mode="sum")
            w.index_add_(0, ev.u_i, dep.mul_(k.neg_nu_pre))
        if learn.nu_post and fired:                         # w[:, j] += nu_post x_in[b] per exc spike
            w.index_add_(1, post_j, x_in.index_select(0, post_b).T, alpha=learn.nu_post)
        w.clamp_(learn.wmin, learn.wmax)
    return DCState(v, vi, ref, ref_i, ev, s, s_inh_new, x_in, x_exc, fired, inh_on, ref_left)


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
                 init_scale: float = 0.3, batch_time: bool = True, seed: int = 0):
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
        self.batch_time = bool(batch_time)   # thresholds decay for B presentations per batch (dc_consts)
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
        # the whole presentation's input spikes as events, grouped per step
        t_ev, b_ev, i_ev = rate_events(rate, self.time, generator=generator)
        schedule = event_schedule(t_ev, b_ev, i_ev, self.time, len(flat), self.n_in)
        state = dc_init(len(flat), self.n_in, self.n_neurons, self.params, device=flat.device, dtype=flat.dtype)
        counts = torch.zeros(len(flat), self.n_neurons, device=flat.device, dtype=flat.dtype)
        prio = torch.rand(self.time, self.n_neurons, generator=generator, device=flat.device, dtype=flat.dtype).add_(1)
        k = dc_consts(self.params, learn, flat, presentations=len(flat) if self.batch_time else 1)
        for t, ev in enumerate(schedule):
            state = dc_step(ev, state, self.w, self.theta, self.params, learn=learn, prio=prio[t], k=k)
            if state.exc_on:
                counts += state.s_exc
            if learn is not None and norm is not None and norm_every and (t + 1) % norm_every == 0:
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
