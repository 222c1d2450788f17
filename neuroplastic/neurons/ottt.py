"""Online training through time (OTTT; Xiao, Meng, Zhang, Wang & Lin, NeurIPS 2022).

BPTT stores every time step of every layer; OTTT keeps memory constant in T. At each step t it
runs the network forward one step, with the membranes carried over *detached* (no gradient through
time), computes the instantaneous loss L[t] = CE(o[t], y) / T on the read-out of that step's
spikes, and back-propagates it at once through the layers of step t only. The temporal credit
goes into presynaptic eligibility traces a[t] = lambda a[t-1] + s[t] (lambda = 1 - dt/tau, the
membrane leak): the weight gradient of each layer is delta[t] a[t]^T instead of delta[t] s[t]^T
(paper eq. 7-9; with T = 1 it is exactly BPTT). ``online=False`` accumulates the gradients of the
T steps and the caller steps the optimizer once (OTTT_A); ``online=True`` steps the optimizer after
every time step (OTTT_O).

``ottt_pass(model, x, y, ...)`` does this for a ``SpikingMLP`` (rate-coded input, voltage-based
LIF layers, linear head on the spikes): one autograd graph of one time step at a time.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .surrogate import spike
from .unroll import LIFConfig, lif_config


class _TraceLinear(torch.autograd.Function):
    """s W^T + b forward; backward: dL/dW = g^T a (the presynaptic trace), dL/ds = g W."""

    @staticmethod
    def forward(ctx, s, trace, w, b):
        ctx.save_for_backward(trace, w)
        out = s @ w.T
        return out + b if b is not None else out

    @staticmethod
    def backward(ctx, g):
        trace, w = ctx.saved_tensors
        gs = g @ w if ctx.needs_input_grad[0] else None
        return gs, None, g.T @ trace, (g.sum(0) if ctx.needs_input_grad[3] else None)


def trace_linear(s: Tensor, trace: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    """A linear layer whose value uses the spikes ``s`` and whose weight gradient uses ``trace``."""
    return _TraceLinear.apply(s, trace, w, b)


def lif_online_step(current: Tensor, v: Tensor, c: LIFConfig) -> tuple[Tensor, Tensor]:
    """One LIF step from a detached membrane: (spikes with the surrogate gradient, next membrane
    detached). The reset is detached too, as in the paper."""
    v_pre = torch.lerp(v, current + c.v_leak if c.v_leak else current, c.decay)
    z = spike(v_pre - c.v_th, c.kind, c.slope, c.width)
    with torch.no_grad():
        v_next = v_pre - z * c.v_th if c.subtract else v_pre * (1 - z)
    return z, v_next


def ottt_pass(model, x: Tensor, y: Tensor, *, task=None, optimizer: torch.optim.Optimizer | None = None,
              online: bool = False) -> tuple[Tensor, Tensor]:
    """One OTTT pass of ``model`` (a ``SpikingMLP``) over its T steps on the batch (x, y).

    Gradients are accumulated into the parameters' ``.grad`` (the caller zeroes them before and
    steps the optimizer after, OTTT_A); with ``online=True`` the ``optimizer`` is stepped and
    zeroed after every time step (OTTT_O). Returns (the summed loss over steps, the mean logits
    over steps), both detached."""
    if online and optimizer is None:
        raise ValueError("online=True steps the optimizer at every time step: pass optimizer=...")
    c = lif_config(model.params_lif)
    T, lam = model.T, 1.0 - c.decay
    x = x.flatten(1).clamp(0, 1)
    layers = list(model.layers)
    v = [torch.zeros(x.shape[0], layer.out_features, device=x.device, dtype=x.dtype) for layer in layers]
    traces = [torch.zeros_like(x)] + [torch.zeros_like(vi) for vi in v]
    total, logits_sum = x.new_zeros(()), x.new_zeros(x.shape[0], model.head.fc.out_features)
    for _ in range(T):
        s = (torch.rand_like(x) < x).to(x.dtype)
        traces[0].mul_(lam).add_(s)
        for i, layer in enumerate(layers):
            z, v[i] = lif_online_step(trace_linear(s, traces[i], layer.weight, layer.bias), v[i], c)
            traces[i + 1].mul_(lam).add_(z.detach())
            s = z
        # the head: value from this step's spikes, weight gradient from their trace
        h = traces[-1] + (s - s.detach())
        out_grad = model.head(h, task)
        with torch.no_grad():
            out = model.head(s.detach(), task)
        logits = out_grad + (out - out_grad).detach()
        loss = F.cross_entropy(logits, y) / T
        loss.backward()
        if online:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        total += loss.detach()
        logits_sum += logits.detach()
    return total, logits_sum / T


__all__ = ["lif_online_step", "ottt_pass", "trace_linear"]
