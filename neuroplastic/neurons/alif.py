"""Adaptive LIF (Bellec et al. 2018, "Long short-term memory and learning-to-learn in networks of
spiking neurons", eq. 2-3): the threshold rises by ``beta`` after each spike and relaxes with
``tau_adapt``:

    a[t+1] = a[t] (1 - dt / tau_adapt) + z[t]
    threshold[t+1] = v_th + beta a[t+1]
    v, i: as in LIF (voltage-based or current-based), spike z = H(v - threshold)
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

from .lif import _positive
from .surrogate import spike


class ALIFParams(NamedTuple):
    tau_mem: float | Tensor = 20.0
    tau_syn: float | Tensor = 0.0
    tau_adapt: float | Tensor = 200.0
    beta: float | Tensor = 1.8
    v_th: float | Tensor = 1.0
    v_leak: float | Tensor = 0.0
    dt: float = 1.0
    reset: str = "subtract"
    surrogate: str = "fast_sigmoid"
    slope: float = 10.0
    width: float = 1.0


class ALIFState(NamedTuple):
    v: Tensor
    i: Tensor
    a: Tensor      # adaptation (filtered spike count)
    z: Tensor      # last spikes


def alif_init(x: Tensor, p: ALIFParams = ALIFParams()) -> ALIFState:
    zero = torch.zeros_like(x)
    return ALIFState(zero + p.v_leak, zero, zero, zero)


def alif_step(x: Tensor, s: ALIFState, p: ALIFParams = ALIFParams()) -> tuple[Tensor, ALIFState]:
    if p.reset not in ("subtract", "zero"):
        raise ValueError(f"reset={p.reset!r} is invalid: expected 'subtract' or 'zero'.")
    a = s.a * (1 - p.dt / p.tau_adapt) + s.z
    threshold = p.v_th + p.beta * a
    i = s.i * (1 - p.dt / p.tau_syn) + x if _positive(p.tau_syn) else x
    v = s.v + p.dt / p.tau_mem * (p.v_leak - s.v + i)
    z = spike(v - threshold, p.surrogate, p.slope, p.width)
    v = v - z * threshold if p.reset == "subtract" else v * (1 - z)
    return z, ALIFState(v, i, a, z)


class ALIF(nn.Module):
    def __init__(self, *, tau_mem: float = 20.0, tau_syn: float = 0.0, tau_adapt: float = 200.0,
                 beta: float = 1.8, v_th: float = 1.0, v_leak: float = 0.0, dt: float = 1.0,
                 reset: str = "subtract", surrogate: str = "fast_sigmoid", slope: float = 10.0,
                 width: float = 1.0):
        super().__init__()
        if min(tau_mem, tau_adapt, dt, v_th) <= 0:
            raise ValueError("need tau_mem, tau_adapt, dt and v_th > 0.")
        self.p = ALIFParams(tau_mem, tau_syn, tau_adapt, beta, v_th, v_leak, dt, reset, surrogate, slope, width)

    def forward(self, x: Tensor, state: ALIFState | None = None) -> tuple[Tensor, ALIFState]:
        return alif_step(x, alif_init(x, self.p) if state is None else state, self.p)
