"""Running neurons over time.

``unroll(step, xs, state, params)`` applies a pure step function over the leading time axis of
``xs`` (T, batch, ...) and returns the stacked spikes and the final state: the reference path.

``lif_multistep(xs, params)`` computes all T steps of a voltage-based LIF layer in one custom
autograd function with a hand-written backward (BPTT through the membrane with the surrogate
derivative, the reset treated as in ``lif_step``), instead of T x several autograd nodes: the
same numbers as ``unroll(lif_step, ...)`` and the same gradients, with far fewer graph nodes.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from .lif import LIFParams, LIFState, lif_init, lif_step
from .surrogate import SURROGATES


def unroll(step: Callable, xs: Tensor, state=None, params=None, init: Callable | None = None):
    """Apply ``step(x_t, state, params)`` for t = 0..T-1; returns (spikes (T, ...), final state)."""
    if state is None:
        state = (init or lif_init)(xs[0], params) if params is not None else (init or lif_init)(xs[0])
    out = []
    for x in xs:
        z, state = step(x, state, params) if params is not None else step(x, state)
        out.append(z)
    return torch.stack(out), state


class _LIFMultiStep(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xs, v0, decay, v_th, v_leak, subtract, kind, slope, width):
        T = xs.shape[0]
        vs = torch.empty_like(xs)          # membrane before the spike/reset, per step
        zs = torch.empty_like(xs)
        v = v0
        for t in range(T):
            v = v + decay * (v_leak - v + xs[t])
            vs[t] = v
            z = (v >= v_th).to(xs.dtype)
            zs[t] = z
            v = v - z * v_th if subtract else v * (1 - z)
        ctx.save_for_backward(vs, zs)
        ctx.cfg = (decay, v_th, subtract, kind, slope, width)
        return zs, v

    @staticmethod
    def backward(ctx, gz, gv_last):
        vs, zs = ctx.saved_tensors
        decay, v_th, subtract, kind, slope, width = ctx.cfg
        surrogate = SURROGATES[kind]
        T = vs.shape[0]
        gx = torch.empty_like(vs)
        gv = gv_last if gv_last is not None else torch.zeros_like(vs[0])   # dL/d v_after_reset[t]
        for t in range(T - 1, -1, -1):
            dz = surrogate(vs[t] - v_th, slope, width)
            z = zs[t]
            # v_after = v_pre - z v_th (subtract) or v_pre (1 - z) (zero); z = H(v_pre - v_th)
            if subtract:
                g_pre = gv + (gz[t] - gv * v_th) * dz
            else:
                g_pre = gv * (1 - z) + (gz[t] - gv * vs[t]) * dz
            gx[t] = g_pre * decay                       # v_pre = v_prev + decay (v_leak - v_prev + x)
            gv = g_pre * (1 - decay)                    # into the previous step's v_after
        return gx, gv, None, None, None, None, None, None, None


def lif_multistep(xs: Tensor, p: LIFParams = LIFParams(), state: LIFState | None = None) -> tuple[Tensor, Tensor]:
    """All T steps of a voltage-based LIF (``tau_syn = 0``, scalar parameters) in one autograd node.

    Returns (spikes (T, ...), final membrane potential)."""
    if float(torch.as_tensor(p.tau_syn)) > 0:
        raise ValueError("lif_multistep is voltage-based (tau_syn = 0); use unroll(lif_step, ...) for current-based LIF.")
    if p.reset not in ("subtract", "zero"):
        raise ValueError(f"reset={p.reset!r} is invalid: expected 'subtract' or 'zero'.")
    v0 = (state.v if state is not None else torch.zeros_like(xs[0]) + p.v_leak)
    decay = float(p.dt / float(p.tau_mem))
    return _LIFMultiStep.apply(xs, v0, decay, float(p.v_th), float(p.v_leak), p.reset == "subtract",
                               p.surrogate, float(p.slope), float(p.width))


__all__ = ["lif_multistep", "unroll", "lif_step"]
