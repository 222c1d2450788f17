"""A spiking MLP trained with BPTT through surrogate gradients.

    x in [0, 1] --rate code (T steps)--> [Linear -> LIF] x len(widths) --spike counts--> head

Each hidden layer applies its Linear to all T steps at once (one (T*B, in) x (in, out) product)
and runs the LIF layer over time in one fused autograd node (``neurons.lif_multistep``: the
forward loop and a hand-written backward, instead of T x several autograd nodes). ``features``
returns the last hidden layer's mean firing rate per neuron; the head is the usual linear
(optionally multi-head) read-out of those rates, i.e. a spike-count decoder. The rate code draws
from torch's global RNG, which ``run_cell`` seeds.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..neurons import LIFParams, lif_multistep
from ._heads import Head


class SpikingMLP(nn.Module):
    def __init__(self, *, in_shape: tuple[int, ...], n_classes: int, widths: tuple[int, ...] = (1000,),
                 T: int = 25, tau_mem: float = 2.0, v_th: float = 1.0, surrogate: str = "fast_sigmoid",
                 slope: float = 5.0, task_classes: list[tuple[int, ...]] | None = None):
        super().__init__()
        if not widths or any(int(w) < 1 for w in widths) or T < 1:
            raise ValueError(f"need positive widths and T, got widths={widths!r}, T={T!r}.")
        self.T = int(T)
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
            current = layer(z.reshape(T * B, -1)).reshape(T, B, -1)
            z, _ = lif_multistep(current, self.params_lif)
            out.append(z)
        return out

    def features(self, x: Tensor) -> Tensor:
        return self.spikes(x)[-1].mean(0)

    def forward(self, x: Tensor, task=None) -> Tensor:
        return self.head(self.features(x), task)
