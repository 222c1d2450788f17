"""A spiking MLP trained with BPTT through surrogate gradients.

    x in [0, 1] --rate code (T steps)--> [Linear -> LIF] x len(widths) --spike counts--> head

Each hidden layer applies its Linear to all T steps at once (one (T*B, in) x (in, out) product)
and runs the LIF layer over time in one fused autograd node (``neurons.lif_multistep``: the
forward loop and a hand-written backward, instead of T x several autograd nodes). ``features``
returns the last hidden layer's mean firing rate per neuron; the head is the usual linear
(optionally multi-head) read-out of those rates, i.e. a spike-count decoder. ``precision="bf16"``
runs the spike-input products (forward and weight gradient) in bfloat16 where the CPU has it;
the default is fp32. The rate code draws
from torch's global RNG, which ``run_cell`` seeds.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..neurons import LIFParams, lif_multistep
from ._heads import Head


class _SpikeLinear(torch.autograd.Function):
    """x W^T + b for binary spike inputs with bfloat16 matrix products (fp32 accumulation inside
    the kernel, fp32 result). Spikes are exact in bf16; the weights and the incoming gradient are
    rounded to bf16 (8-bit mantissa) for the two products only; parameters stay fp32."""

    @staticmethod
    def forward(ctx, s, w, b):
        sb, wb = s.to(torch.bfloat16), w.to(torch.bfloat16)
        ctx.save_for_backward(sb, wb)
        y = (sb @ wb.T).float()
        return y + b if b is not None else y

    @staticmethod
    def backward(ctx, g):
        sb, wb = ctx.saved_tensors
        gb = g.to(torch.bfloat16)
        gs = (gb @ wb).float() if ctx.needs_input_grad[0] else None
        gw = (gb.T @ sb).float()
        return gs, gw, (g.sum(0) if ctx.needs_input_grad[2] else None)


class SpikingMLP(nn.Module):
    def __init__(self, *, in_shape: tuple[int, ...], n_classes: int, widths: tuple[int, ...] = (1000,),
                 T: int = 25, tau_mem: float = 2.0, v_th: float = 1.0, surrogate: str = "fast_sigmoid",
                 slope: float = 5.0, precision: str = "fp32",
                 task_classes: list[tuple[int, ...]] | None = None):
        super().__init__()
        if not widths or any(int(w) < 1 for w in widths) or T < 1:
            raise ValueError(f"need positive widths and T, got widths={widths!r}, T={T!r}.")
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision={precision!r} is invalid: expected 'fp32' or 'bf16' (spike products in bfloat16).")
        self.T, self.precision = int(T), precision
        self.params_lif = LIFParams(tau_mem=tau_mem, v_th=v_th, surrogate=surrogate, slope=slope)
        n_in = math.prod(in_shape)
        self.layers = nn.ModuleList()
        for w in widths:
            self.layers.append(nn.Linear(n_in, int(w)))
            n_in = int(w)
        self.head = Head(n_in, n_classes, task_classes)

    def spikes(self, x: Tensor) -> list[Tensor]:
        """Spike trains (T, B, width) of every hidden layer."""
        x = x.flatten(1)
        z = (torch.rand((self.T, *x.shape), device=x.device, dtype=x.dtype) < x.clamp(0, 1)).to(x.dtype)
        out = []
        for layer in self.layers:
            T, B, _ = z.shape
            flat = z.reshape(T * B, -1)
            if self.precision == "bf16":      # spikes are binary: exact in bf16, 2x faster products
                current = _SpikeLinear.apply(flat, layer.weight, layer.bias).reshape(T, B, -1)
            else:
                current = layer(flat).reshape(T, B, -1)
            z, _ = lif_multistep(current, self.params_lif)
            out.append(z)
        return out

    def features(self, x: Tensor) -> Tensor:
        return self.spikes(x)[-1].mean(0)

    def forward(self, x: Tensor, task=None) -> Tensor:
        return self.head(self.features(x), task)
