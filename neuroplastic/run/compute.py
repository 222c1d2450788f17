"""Training compute of a cell: samples through the model's forward with and without gradients,
counted by a forward pre-hook on the whole model while the method trains (begin, observe, end;
the harness's evaluations are not counted), and the forward FLOPs of one sample (PyTorch's
FlopCounterMode: matrix products and convolutions). The estimate is

    train FLOPs = fwd * (3 * samples with gradients + samples without)

(backward about twice the forward). It over-counts a backward pass that reaches only some
parameters (FPF) and misses work done outside the model's forward (a spiking simulation's
Python loop, a method that calls a submodule directly)."""
from __future__ import annotations

import contextlib
import math

import torch
from torch import Tensor, nn


class ComputeMeter:
    def __init__(self, model: nn.Module):
        self.grad_samples, self.nograd_samples, self.active = 0, 0, False
        self._hook = model.register_forward_pre_hook(self._count)

    def _count(self, module, args) -> None:
        if not self.active or not args or not isinstance(args[0], Tensor):
            return
        n = args[0].shape[0] if args[0].dim() else 1
        if torch.is_grad_enabled():
            self.grad_samples += n
        else:
            self.nograd_samples += n

    @contextlib.contextmanager
    def counting(self):
        self.active = True
        try:
            yield
        finally:
            self.active = False

    def remove(self) -> None:
        self._hook.remove()


def forward_flops(model: nn.Module, x: Tensor, task=None) -> float:
    """FLOPs of one sample's forward pass in evaluation mode (NaN where they cannot be counted); the
    random number generators are left as they were."""
    from torch.utils.flop_counter import FlopCounterMode

    was = model.training
    devices = [x.device] if x.device.type == "cuda" else []
    try:
        model.eval()
        with torch.random.fork_rng(devices=devices), torch.no_grad(), FlopCounterMode(display=False) as fc:
            model(x[:1], task)
        return float(fc.get_total_flops())
    except Exception:                     # a model the counter cannot trace: no estimate
        return math.nan
    finally:
        model.train(was)
