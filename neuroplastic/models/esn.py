"""Echo-state network (Jaeger 2001): a random rate reservoir read by a linear layer, the non-spiking
reference for liquid state machines (``model.name = "esn"``, method ``esn``).

An input is read as a sequence: an image (1, H, W) row by row (H steps of W values), a signal
(L,) value by value (L steps of 1). With leak a, input weights W_in ~ U(-s, s) (dense) and
recurrent weights W (``density`` of them non-zero, ~ N(0, 1), rescaled to spectral radius rho):

    h_t = (1 - a) h_{t-1} + a tanh(W_in u_t + W h_{t-1}),   h_0 = 0.

``features(x)`` concatenates the mean state over the sequence and the last state, (B, 2 units),
the read-out's input. The reservoir is a buffer (never trained).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ._heads import Head


class EchoStateNetwork(nn.Module):
    def __init__(self, *, in_shape: tuple[int, ...], n_classes: int, task_classes=None, units: int = 1000,
                 spectral_radius: float = 0.9, input_scaling: float = 1.0, leak: float = 0.3, density: float = 0.1):
        super().__init__()
        for name, v, ok in (("units", units, isinstance(units, int) and units >= 1),
                            ("spectral_radius", spectral_radius, math.isfinite(spectral_radius) and spectral_radius > 0),
                            ("input_scaling", input_scaling, math.isfinite(input_scaling) and input_scaling > 0),
                            ("leak", leak, 0 < leak <= 1), ("density", density, 0 < density <= 1)):
            if not ok:
                raise ValueError(f"{name}={v!r} is invalid: expected units >= 1, spectral_radius > 0, "
                                 "input_scaling > 0, leak and density in (0, 1].")
        self.steps_, self.width_ = (in_shape[-2], in_shape[-1]) if len(in_shape) >= 2 else (in_shape[0], 1)
        self.leak = leak
        w_in = (torch.rand(units, self.width_) * 2 - 1) * input_scaling
        w = torch.randn(units, units) * (torch.rand(units, units) < density)
        radius = float(torch.linalg.eigvals(w).abs().max())
        self.register_buffer("w_in", w_in)
        self.register_buffer("w", w * (spectral_radius / max(radius, 1e-12)))
        self.head = Head(2 * units, n_classes, task_classes)

    @torch.no_grad()
    def features(self, x: Tensor) -> Tensor:
        u = x.reshape(len(x), self.steps_, self.width_).float()
        h = x.new_zeros(len(x), self.w.shape[0], dtype=torch.float32)
        total = torch.zeros_like(h)
        drive = u @ self.w_in.t()                             # (B, steps, units): all input products at once
        for t in range(self.steps_):
            h = (1 - self.leak) * h + self.leak * torch.tanh(drive[:, t] + h @ self.w.t())
            total += h
        return torch.cat([total / self.steps_, h], 1)

    def forward(self, x: Tensor, task=None) -> Tensor:
        return self.head(self.features(x), task)
