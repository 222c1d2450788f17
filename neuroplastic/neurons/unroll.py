"""Running neurons over time.

``unroll(step, xs, state, params)`` applies a pure step function over the leading time axis of
``xs`` (T, batch, ...) and returns the stacked spikes and the final state: the reference path.

``lif_multistep(xs, params)`` computes all T steps of a voltage-based LIF layer in one custom
autograd function with a hand-written backward (BPTT through the membrane with the surrogate
derivative, the reset treated as in ``lif_step``), instead of T x several autograd nodes: the
same numbers as ``unroll(lif_step, ...)`` and the same gradients, with far fewer graph nodes.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch
from torch import Tensor

from .lif import LIFParams, LIFState, lif_init, lif_step
from .surrogate import surrogate_


def unroll(step: Callable, xs: Tensor, state=None, params=None, init: Callable | None = None):
    """Apply ``step(x_t, state, params)`` for t = 0..T-1; returns (spikes (T, ...), final state)."""
    if state is None:
        state = (init or lif_init)(xs[0], params) if params is not None else (init or lif_init)(xs[0])
    out = []
    for x in xs:
        z, state = step(x, state, params) if params is not None else step(x, state)
        out.append(z)
    return torch.stack(out), state



class LIFConfig(NamedTuple):
    """Scalar parameters of the fused multi-step LIF (from ``LIFParams`` via ``lif_config``)."""
    decay: float
    v_th: float
    v_leak: float
    subtract: bool
    kind: str
    slope: float
    width: float


def lif_config(p: LIFParams) -> LIFConfig:
    if float(torch.as_tensor(p.tau_syn)) > 0:
        raise ValueError("lif_multistep is voltage-based (tau_syn = 0); use unroll(lif_step, ...) for current-based LIF.")
    if p.reset not in ("subtract", "zero"):
        raise ValueError(f"reset={p.reset!r} is invalid: expected 'subtract' or 'zero'.")
    return LIFConfig(float(p.dt / float(p.tau_mem)), float(p.v_th), float(p.v_leak), p.reset == "subtract",
                     p.surrogate, float(p.slope), float(p.width))


def lif_forward_(xs: Tensor, v0: Tensor, c: LIFConfig, counts: bool = False) -> tuple[Tensor, Tensor]:
    """Run all T steps, overwriting ``xs`` with the membrane before each spike/reset (what
    ``lif_backward_`` needs); returns (spikes (T, ...), final membrane), or with ``counts`` the spike
    counts summed over time instead of the spike train. Three ops per step: the charge
    v <- v + decay (v_leak - v + x) = lerp(v, x + v_leak, decay), the threshold, the reset."""
    if c.v_leak != 0:
        xs.add_(c.v_leak)
    zs = torch.empty_like(xs[:1] if counts else xs)
    total = torch.zeros_like(xs[0]) if counts else None
    v = v0
    for t in range(xs.shape[0]):
        v = torch.lerp(v, xs[t], c.decay, out=xs[t])
        z = torch.ge(v, c.v_th, out=zs[0 if counts else t])
        v = torch.sub(v, z, alpha=c.v_th) if c.subtract else torch.addcmul(v, v, z, value=-1.0)
        if counts:
            total.add_(z)
    return (total if counts else zs), v


_BLOCK = 5


def lif_backward_(vs: Tensor, gz: Tensor | None, gv_last: Tensor | None, c: LIFConfig) -> tuple[Tensor, Tensor]:
    """BPTT through the membrane, overwriting ``vs`` (from ``lif_forward_``) with dL/dx; returns
    (dL/dx, dL/dv0). With g[t] = dL/d v_pre[t] (membrane before the spike/reset):
        g[t] = gz[t] dz[t] + (1 - decay) A[t] g[t+1],   dL/dx[t] = decay g[t],
    dz = surrogate'(v_pre - v_th), A = 1 - v_th dz (subtract) or 1 - z - v_pre dz (zero), the
    reset treated as in ``lif_step`` (the spikes are recomputed as v_pre >= v_th). dz, A and gz dz
    are computed ``_BLOCK`` steps at a time in place, leaving one fused multiply-add per step and no
    full-size temporaries."""
    T, keep, g_next = vs.shape[0], 1.0 - c.decay, None
    if gv_last is not None:                           # the final membrane's gradient enters at T-1
        u = vs[T - 1] - c.v_th                        # dL/dv_pre[T-1] += gv_last A[T-1] (A unscaled)
        dz_last = surrogate_(u.clone(), c.kind, c.slope, c.width)
        a_last = (1.0 - c.v_th * dz_last) if c.subtract else (1.0 - (u >= 0).to(u.dtype) - vs[T - 1] * dz_last)
        gv_last = gv_last * a_last
    for t1 in range(T, 0, -_BLOCK):
        t0 = max(0, t1 - _BLOCK)
        blk = vs[t0:t1]
        if c.subtract:                                # a = keep (1 - v_th dz)
            dz = surrogate_(blk.sub_(c.v_th), c.kind, c.slope, c.width)
            a = torch.mul(dz, -c.v_th * keep).add_(keep)
        else:                                         # a = keep (1 - z - v_pre dz)
            z = blk.ge(c.v_th)
            dz = surrogate_(blk - c.v_th, c.kind, c.slope, c.width)
            a = torch.addcmul(z.to(blk.dtype), blk, dz).mul_(-keep).add_(keep)
            dz = blk.copy_(dz)
        g = dz.mul_(gz[t0:t1]) if gz is not None else dz.zero_()    # in place: dL/d v_pre
        if g_next is not None:
            g[-1].addcmul_(g_next, a[-1])
        elif gv_last is not None:
            g[-1].add_(gv_last)
        for t in range(t1 - t0 - 2, -1, -1):
            g[t].addcmul_(g[t + 1], a[t])
        g_next = g[0]
    return vs.mul_(c.decay), g_next * keep


class _LIFMultiStep(torch.autograd.Function):
    """``lif_forward_`` on a copy of the input, ``lif_backward_`` in place in the saved membranes:
    the backward needs no memory beyond what the forward saved, hence one backward per forward
    (a second ``backward(retain_graph=True)`` raises)."""

    @staticmethod
    def forward(ctx, xs, v0, c):
        vs = xs.clone()
        zs, v = lif_forward_(vs, v0, c)
        ctx.vs, ctx.c = vs, c                # an intermediate: dropped from ctx in the backward
        return zs, v

    @staticmethod
    def backward(ctx, gz, gv_last):
        vs, ctx.vs = ctx.vs, None
        if vs is None:
            raise RuntimeError("lif_multistep's backward reuses its saved membranes in place and runs once per "
                               "forward; run the forward again instead of backward(retain_graph=True) twice.")
        gx, gv0 = lif_backward_(vs, gz, gv_last, ctx.c)
        return gx, gv0, None


def lif_multistep(xs: Tensor, p: LIFParams = LIFParams(), state: LIFState | None = None) -> tuple[Tensor, Tensor]:
    """All T steps of a voltage-based LIF (``tau_syn = 0``, scalar parameters) in one autograd node.

    Returns (spikes (T, ...), final membrane potential)."""
    c = lif_config(p)
    v0 = (state.v if state is not None else torch.zeros_like(xs[0]) + p.v_leak)
    return _LIFMultiStep.apply(xs, v0, c)


__all__ = ["LIFConfig", "lif_backward_", "lif_config", "lif_forward_", "lif_multistep", "unroll", "lif_step"]
