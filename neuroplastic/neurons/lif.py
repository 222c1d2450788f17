"""Leaky integrate-and-fire neurons: a pure step function with explicit state, and a module.

Discrete time, Euler step dt (Norse / snnTorch convention). Current-based (``tau_syn > 0``):

    i[t+1] = i[t] (1 - dt / tau_syn) + x[t]
    v[t+1] = v[t] + dt / tau_mem (v_leak - v[t] + i[t+1])        (voltage-based: i[t+1] = x[t])
    z[t+1] = H(v[t+1] - v_th)
    reset by subtraction: v <- v - z v_th        to zero: v <- v (1 - z)

Shapes: x, state tensors (batch, neurons). Units: time in steps of dt (dimensionless), voltages
in units of the threshold scale. Closed form (voltage-based, constant input I > v_th, v_leak =
0, v[0] = 0, reset to zero): v[n] = I (1 - (1 - dt/tau)^n), the first spike at the smallest n
with v[n] >= v_th, i.e. n* = ceil(log(1 - v_th / I) / log(1 - dt / tau)), and the neuron then
fires every n* steps.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from .surrogate import spike


class LIFParams(NamedTuple):
    tau_mem: float | Tensor = 10.0
    tau_syn: float | Tensor = 0.0         # 0: voltage-based (the input is the current)
    v_th: float | Tensor = 1.0
    v_leak: float | Tensor = 0.0
    dt: float = 1.0
    reset: str = "subtract"               # "subtract" | "zero"
    surrogate: str = "fast_sigmoid"
    slope: float = 10.0
    width: float = 1.0


class LIFState(NamedTuple):
    v: Tensor
    i: Tensor


def lif_init(x: Tensor, p: LIFParams = LIFParams()) -> LIFState:
    z = torch.zeros_like(x)
    return LIFState(z + p.v_leak, z)


def lif_step(x: Tensor, s: LIFState, p: LIFParams = LIFParams()) -> tuple[Tensor, LIFState]:
    """One Euler step: returns (spikes, new state)."""
    if p.reset not in ("subtract", "zero"):
        raise ValueError(f"reset={p.reset!r} is invalid: expected 'subtract' or 'zero'.")
    i = s.i * (1 - p.dt / p.tau_syn) + x if _positive(p.tau_syn) else x
    v = s.v + p.dt / p.tau_mem * (p.v_leak - s.v + i)
    z = spike(v - p.v_th, p.surrogate, p.slope, p.width)
    v = v - z * p.v_th if p.reset == "subtract" else v * (1 - z)
    return z, LIFState(v, i)


def _positive(t) -> bool:
    return bool((torch.as_tensor(t) > 0).all())


class LIF(nn.Module):
    """LIF layer over one step (``forward(x, state)``) with optionally learnable tau_mem and v_th."""

    def __init__(self, *, tau_mem: float = 10.0, tau_syn: float = 0.0, v_th: float = 1.0,
                 v_leak: float = 0.0, dt: float = 1.0, reset: str = "subtract",
                 surrogate: str = "fast_sigmoid", slope: float = 10.0, width: float = 1.0,
                 learn_tau: bool = False, learn_threshold: bool = False):
        super().__init__()
        if tau_mem <= 0 or dt <= 0 or v_th <= 0:
            raise ValueError(f"need tau_mem > 0, dt > 0, v_th > 0; got tau_mem={tau_mem}, dt={dt}, v_th={v_th}.")
        self.tau_mem = nn.Parameter(torch.tensor(float(tau_mem)), requires_grad=learn_tau)
        self.v_th = nn.Parameter(torch.tensor(float(v_th)), requires_grad=learn_threshold)
        self.tau_syn, self.v_leak, self.dt, self.reset = tau_syn, v_leak, dt, reset
        self.surrogate, self.slope, self.width = surrogate, slope, width

    def params(self) -> LIFParams:
        return LIFParams(self.tau_mem, self.tau_syn, self.v_th, self.v_leak, self.dt, self.reset,
                         self.surrogate, self.slope, self.width)

    def forward(self, x: Tensor, state: LIFState | None = None) -> tuple[Tensor, LIFState]:
        p = self.params()
        return lif_step(x, lif_init(x, p) if state is None else state, p)
