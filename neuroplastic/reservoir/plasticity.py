"""Plasticity inside the liquid: trace STDP with an astrocyte-set depression rate (NALSM) or a
fixed one (LSM+STDP), read from combra-lab/NALSM: NALSM_STDP.py, NALSM_ASTRO.py and the
initialisation loop of NALSM_CONSTRUCTOR_MNIST.py.

Traces: x <- c (a s + x), a = 0.1, c = 0.9048 (the official fit of exp(-1/tau) over tau = 10
steps). For a synapse j -> i (i a liquid neuron):

    excitatory or input j:  dw = eta * s_i x_j - A * s_j x_i
    inhibitory j:           dw = -A * s_i x_j + eta * s_j x_i

with eta = 0.15 (fixed potentiation rate), then each weight is clipped to its bounds (``Liquid.lo``
and ``hi``). ``A`` is the astrocyte (NALSM) or eta itself (LSM+STDP, ``STDP_PURE``). The
astrocyte, one global state, integrates the liquid's minus the input's spikes with leak
tau_A = 100 ms:

    A <- A + (w_A (sum_liquid s - sum_input s) + b_A - A) / tau_A,    b_A = A_0 (1 + offset),

A_0 = eta, w_A = 0.015 for 1,000-neuron liquids (0.0075 for 8,000). Potentials, refractory
counters, synaptic kernels and the astrocyte restart with every sample; the STDP traces do not.
The plastic phase keeps the synapses as lists (CSR order) and updates only the synapses whose
pre- or postsynaptic neuron spiked in the step (the same numbers as the dense outer products).
The step equations are ``reservoir.simulate``'s ``spike`` and ``integrate`` for a batch of one.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import torch
from torch import Tensor

from .liquid import Liquid
from .simulate import LIFParams, check_params, integrate, spike

TRACE_A = 0.1
TRACE_DECAY = 0.9048          # official approximate_stdp_decay_multiplier(tau=10)


class Astrocyte(NamedTuple):
    """The astrocyte's constants (NALSM_RUN_MAIN_SIM_MNIST.py)."""

    w: float = 0.015             # 1,000-neuron liquids; 0.0075 for 8,000
    tau: float = 100.0           # ms
    offset: float = 0.0          # b_A = A_0 (1 + offset)


def astro_step(a: float | Tensor, s: Tensor, n: int, a0: float, p: Astrocyte) -> Tensor:
    """One astrocyte update from the spikes ``s`` (n + n_in,) of this step."""
    drive = s[:n].sum() - s[n:].sum()
    return a + (p.w * drive + a0 * (1 + p.offset) - a) / p.tau


class Synapses(NamedTuple):
    """A liquid's synapses as lists sorted by postsynaptic neuron (CSR order), with the CSC view
    (``by_pre``, ``ccol``) that finds a presynaptic neuron's outgoing synapses: the form the
    plastic phase updates, one sample and one step at a time."""

    post: Tensor         # (S,) liquid neuron
    pre: Tensor          # (S,) liquid or input neuron
    w: Tensor            # (S,) weights
    lo: Tensor           # (S,) bounds of each synapse (by its presynaptic type)
    hi: Tensor
    inh: Tensor          # (S,) bool: from an inhibitory neuron
    crow: Tensor         # (n + 1,) row pointers over ``post``
    by_pre: Tensor       # (S,) synapse ids sorted by presynaptic neuron
    ccol: Tensor         # (n + n_in + 1,) pointers into ``by_pre``


def synapses(liquid: Liquid) -> Synapses:
    post, pre = liquid.mask.nonzero(as_tuple=True)
    inh = (pre >= liquid.n_exc) & (pre < liquid.n)
    crow = torch.zeros(liquid.n + 1, dtype=torch.int64, device=post.device)
    crow[1:] = torch.bincount(post, minlength=liquid.n).cumsum(0)
    by_pre = torch.argsort(pre, stable=True)
    ccol = torch.zeros(liquid.n + liquid.n_in + 1, dtype=torch.int64, device=post.device)
    ccol[1:] = torch.bincount(pre, minlength=liquid.n + liquid.n_in).cumsum(0)
    return Synapses(post, pre, liquid.w[post, pre].clone(), liquid.lo[pre], liquid.hi[pre], inh, crow, by_pre, ccol)


def _ranges(ptr: Tensor, rows: Tensor) -> Tensor:
    """The concatenated index ranges ptr[r]..ptr[r + 1] of ``rows``."""
    start, length = ptr[rows], ptr[rows + 1] - ptr[rows]
    total = int(length.sum())
    if total == 0:
        return start[:0]
    offset = torch.arange(total, device=ptr.device) - torch.repeat_interleave(length.cumsum(0) - length, length)
    return torch.repeat_interleave(start, length) + offset


@torch.no_grad()
def stdp_step_(syn: Synapses, s: Tensor, x: Tensor, eta: float, depression: float | Tensor, n: int) -> None:
    """The STDP update of one step for one sample, in place on ``syn.w``. ``s``, ``x``: spikes and
    traces (n + n_in,) before this step's trace update; ``depression``: A. Event-driven: only the
    synapses of liquid neurons that spiked (s_post x_pre terms) and of neurons that spiked
    (s_pre x_post terms) change; the others' terms are 0."""
    spiked = s.nonzero().squeeze(1)
    if not len(spiked):
        return
    a = torch.as_tensor(depression, dtype=x.dtype, device=x.device)
    eta_t = torch.as_tensor(eta, dtype=x.dtype, device=x.device)
    rows = _ranges(syn.crow, spiked[spiked < n])               # synapses onto spiking liquid neurons
    cols = syn.by_pre[_ranges(syn.ccol, spiked)]               # synapses from spiking neurons
    w = syn.w
    w.index_add_(0, rows, torch.where(syn.inh[rows], -a, eta_t) * x[syn.pre[rows]])
    w.index_add_(0, cols, torch.where(syn.inh[cols], eta_t, -a) * x[syn.post[cols]])
    hit = torch.cat([rows, cols])
    w[hit] = torch.minimum(torch.maximum(w[hit], syn.lo[hit]), syn.hi[hit])


class PlasticTrace(NamedTuple):
    astro: Tensor        # (samples * steps,) the astrocyte state after every step (NaN without one)
    rate: Tensor         # (samples * steps,) liquid spikes per step
    traces: Tensor       # (n + n_in,) the STDP traces after the last step (to continue the phase)


@torch.no_grad()
def simulate_plastic(liquid: Liquid, rates: Tensor, steps: int = 20, p: LIFParams = LIFParams(), *,
                     eta: float = 0.15, astrocyte: Astrocyte | None = Astrocyte(),
                     generator: torch.Generator | None = None, traces: Tensor | None = None) -> PlasticTrace:
    """The initialisation phase, in place on ``liquid.w``: each of ``rates`` (N, n_in) presented
    alone for ``steps`` ms with STDP on; depression A from the ``astrocyte`` (NALSM) or, with
    ``astrocyte=None``, equal to ``eta`` (LSM+STDP). ``traces``: the STDP traces a previous call
    returned, to run the phase in parts (zeros when None)."""
    check_params(p, steps)
    n, total = liquid.n, liquid.n + liquid.n_in
    syn = synapses(liquid)
    with warnings.catch_warnings():     # "sparse CSR support is in beta": matrix-vector products are all we use
        warnings.simplefilter("ignore", UserWarning)
        w = torch.sparse_csr_tensor(syn.crow, syn.pre, syn.w, (n, total))   # shares syn.w: sees every update
    x = torch.zeros(total, device=rates.device) if traces is None else traces.to(rates.device).clone()
    astro_trace = torch.full((len(rates) * steps,), float("nan"))
    rate = torch.zeros(len(rates) * steps)
    i = 0
    for r in rates:
        v = torch.zeros(total, device=rates.device)
        rfr = torch.zeros_like(v)
        k = torch.full_like(v, p.k0)
        a = torch.tensor(float(eta))          # the astrocyte restarts at A_0 = eta with each sample
        for _ in range(steps):
            s, spiked, k = spike(v, rfr, k, p)
            drive = torch.bernoulli(r, generator=generator).mul_(p.input_current)
            v, rfr, k = integrate(v, rfr, k, s, spiked, torch.cat([torch.mv(w, k), drive]), p)
            stdp_step_(syn, s, x, eta, a if astrocyte is not None else eta, n)
            x = TRACE_DECAY * (TRACE_A * s + x)
            if astrocyte is not None:
                a = astro_step(a, s, n, eta, astrocyte)
                astro_trace[i] = a
            rate[i] = s[:n].sum()
            i += 1
    liquid.w[syn.post, syn.pre] = syn.w
    return PlasticTrace(astro_trace, rate, x)
