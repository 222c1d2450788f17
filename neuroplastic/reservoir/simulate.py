"""Simulating a liquid at 1 ms per step, a batch of samples at once (NALSM_LIF_v1.py,
NALSM_CONSTRUCTOR_MNIST.py's loop, as read from combra-lab/NALSM).

Every neuron, input neurons included, is a current-based LIF neuron (tau_v = 64 ms, threshold 20,
refractory 2 ms, reset to 0). Per step, in the official order:

    s      = [v * (refractory < 1) >= v_th]              spikes
    v      = v * (1 - s)                                 reset
    k      = 1 where s                                   each neuron's synaptic kernel restarts
    v_liq += W k + b - v / tau_v                         k = exp(-t_since_spike / tau_u) / tau_u, tau_u = 1 ms
    v_inp += 100 * Bernoulli(p) + b - v / tau_v          Poisson input: p = pixel / sum / max
    k      = k * exp(-1 / tau_u)
    refractory = (refractory - 1) * (1 - s) + 2 s

Only the last spike of a neuron drives its synapses (the official per-synapse time since the last
presynaptic spike). The kernel starts at exp(-20) (the official t_lim); the official code clips the
time since a spike at 100 ms, i.e. the kernel at exp(-100), a difference below float precision.
Input neurons whose pixel is 0 in every sample of a batch never fire and are left out of a frozen
simulation (dropping only their exp(-20)-sized terms).

``simulate`` runs frozen weights with the whole batch at once: the input neurons run a block of
steps ahead, their currents into the liquid for the block are one matrix product, and the liquid
steps with its recurrent synapses as a sparse (CSR) product. ``reservoir.simulate_plastic``
runs one sample at a time with STDP and the astrocyte, as the paper's initialisation phase does
(batch 1).
"""
from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import torch
from torch import Tensor

from .liquid import Liquid


class LIFParams(NamedTuple):
    """The official liquid and input neurons' constants (generate_spatial_network.py)."""

    tau_v: float = 64.0          # ms, membrane time constant
    v_th: float = 20.0           # threshold
    t_rfr: float = 2.0           # ms, refractory period
    tau_u: float = 1.0           # ms, synaptic kernel (the official uniform_discrete [1, 2) draws 1)
    bias: float = 0.0
    input_current: float = 100.0  # per input Poisson event
    k0: float = math.exp(-20.0)  # the kernel before any spike (official t_lim = 20 ms)


def check_params(p: LIFParams, steps: int | None = None) -> LIFParams:
    for name in ("tau_v", "v_th", "tau_u", "input_current"):
        v = getattr(p, name)
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name}={v!r} is invalid: expected a finite number > 0.")
    if not (p.t_rfr >= 0):
        raise ValueError(f"t_rfr={p.t_rfr!r} is invalid: expected a refractory time >= 0 ms.")
    if steps is not None and (not isinstance(steps, int) or steps < 1):
        raise ValueError(f"a presentation of {steps!r} steps is invalid: it must last at least one 1-ms step.")
    return p


def poisson_rates(x: Tensor, scale: float | None = None) -> tuple[Tensor, float]:
    """The official input encoding: each image divided by its pixel sum, then by the largest such
    value (``scale``; computed from ``x`` when None): per-pixel spike probabilities per 1-ms step.
    Returns (probabilities (B, n_in), scale)."""
    x = x.flatten(1).float()
    x = x / x.sum(1, keepdim=True).clamp_min(1e-12)
    if scale is None:
        scale = float(x.max())
    return (x / scale).clamp_(0, 1), scale


class State(NamedTuple):
    v: Tensor        # (B, n + n_in)
    rfr: Tensor      # (B, n + n_in) refractory counter
    k: Tensor        # (B, n + n_in) synaptic kernel of each neuron's last spike


def initial_state(batch: int, n_total: int, p: LIFParams, device=None) -> State:
    z = torch.zeros(batch, n_total, device=device)
    return State(z, z.clone(), torch.full_like(z, p.k0))


class Weights(NamedTuple):
    """A frozen liquid's weights in the form one step needs: the input part dense (15% of its
    entries are synapses), the recurrent part as CSR (about 2%)."""

    w_in_t: Tensor       # (n_in, n)
    w_rec: Tensor        # (n, n) sparse CSR, post x pre


def csr(w: Tensor) -> Tensor:
    """``w`` as a sparse CSR matrix (only its products are used)."""
    with warnings.catch_warnings():     # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        return w.to_sparse_csr()


def weights(liquid: Liquid) -> Weights:
    n = liquid.n
    return Weights(liquid.w[:, n:].t().contiguous(), csr(liquid.w[:, :n]))


def spike(v: Tensor, rfr: Tensor, k: Tensor, p: LIFParams) -> tuple[Tensor, Tensor, Tensor]:
    """The first half of a step: spikes from the state (``s`` as floats and as booleans) and the
    synaptic kernels, restarted where a neuron spiked."""
    s = (v * (rfr < 1) >= p.v_th).to(v.dtype)
    spiked = s.bool()
    return s, spiked, torch.where(spiked, 1.0 / p.tau_u, k)


def integrate(v: Tensor, rfr: Tensor, k: Tensor, s: Tensor, spiked: Tensor, current: Tensor,
              p: LIFParams) -> tuple[Tensor, Tensor, Tensor]:
    """The second half: reset, integrate ``current`` and leak (v (1 - s)(1 - 1/tau_v) + current,
    one product), decay the kernels, count the refractory period down (or restart it)."""
    v = torch.addcmul(current, v, 1 - s, value=1 - 1 / p.tau_v)
    if p.bias:
        v += p.bias
    return v, torch.where(spiked, p.t_rfr, rfr - 1), k * math.exp(-1.0 / p.tau_u)


def lif_step(state: State, w: Weights, rates: Tensor, n: int, p: LIFParams,
             generator: torch.Generator | None = None) -> tuple[Tensor, State]:
    """One 1-ms step of every neuron; ``rates`` (B, n_in). Returns the spikes of this step
    (B, n + n_in) and the new state."""
    v, rfr, k = state
    s, spiked, k = spike(v, rfr, k, p)
    current = k[:, n:] @ w.w_in_t
    if w.w_rec._nnz():
        current += (w.w_rec @ k[:, :n].t()).t()
    drive = torch.bernoulli(rates, generator=generator).mul_(p.input_current)
    v, rfr, k = integrate(v, rfr, k, s, spiked, torch.cat([current, drive], 1), p)
    return s, State(v, rfr, k)


def _input_block(state: tuple[Tensor, Tensor, Tensor], rates: Tensor, steps: int, p: LIFParams,
                 generator) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
    """``steps`` steps of the input neurons alone (they receive no synapses): the kernels each step
    uses, (steps, B, n_in), and the state after them."""
    v, rfr, k = state
    out = torch.empty(steps, *rates.shape, device=rates.device)
    for t in range(steps):
        s, spiked, k = spike(v, rfr, k, p)
        out[t] = k
        drive = torch.bernoulli(rates, generator=generator).mul_(p.input_current)
        v, rfr, k = integrate(v, rfr, k, s, spiked, drive, p)
    return out, (v, rfr, k)


@torch.no_grad()
def simulate(liquid: Liquid, rates: Tensor, steps: int, p: LIFParams = LIFParams(), *,
             generator: torch.Generator | None = None, record: bool = False,
             block: int = 50) -> tuple[Tensor, Tensor | None]:
    """Present ``rates`` (B, n_in) for ``steps`` ms to the frozen liquid. Returns the liquid
    neurons' spike counts (B, n) and, with ``record``, the spike trains (steps, B, n) as uint8.

    Input neurons receive no synapses, so they run ``block`` steps ahead and their currents into
    the liquid for those steps are one (block x B, n_in) @ (n_in, n) product; the liquid then
    steps with its recurrent synapses as a sparse (CSR) product. Where every input is active this
    gives the spikes of stepping ``lif_step`` with the same generator (silent inputs are left out,
    and so are their draws)."""
    check_params(p, steps)
    n, B = liquid.n, len(rates)
    active = (rates > 0).any(0).nonzero().squeeze(1)       # inputs that never fire do not take part
    rates = rates[:, active]
    w_in_t = liquid.w[:, n + active].t().contiguous()
    w_rec = csr(liquid.w[:, :n])
    dev = rates.device
    zeros = lambda m: torch.zeros(B, m, device=dev)   # noqa: E731
    inp = (zeros(len(active)), zeros(len(active)), torch.full((B, len(active)), p.k0, device=dev))
    v, rfr, k = zeros(n), zeros(n), torch.full((B, n), p.k0, device=dev)
    counts = zeros(n)
    trains = torch.zeros(steps, B, n, dtype=torch.uint8, device=dev) if record else None
    for t0 in range(0, steps, block):
        m = min(block, steps - t0)
        k_in, inp = _input_block(inp, rates, m, p, generator)
        currents = (k_in.reshape(m * B, -1) @ w_in_t).reshape(m, B, n)
        for t in range(m):
            s, spiked, k = spike(v, rfr, k, p)
            current = currents[t]
            if w_rec._nnz():
                current += (w_rec @ k.t()).t()
            v, rfr, k = integrate(v, rfr, k, s, spiked, current, p)
            counts += s
            if record:
                trains[t0 + t] = s
    return counts, trains
