"""A liquid state machine as a harness model: a spatial LIF liquid (``reservoir.spatial_liquid``)
that a sample drives for ``steps`` ms through Poisson input neurons, and a linear read-out of the
liquid neurons' spike counts (NALSM's output layer, a softmax over ``head``).

``features(x)`` are the spike counts (B, n); ``forward(x)`` the read-out's logits. The liquid's
weights are a buffer, not a parameter: gradients never reach them; methods change them through
``reservoir.simulate_plastic`` only. The Poisson draws come from a generator seeded with ``seed``
at every call, so the same input gives the same counts (deterministic evaluation).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..reservoir.liquid import check_grid, spatial_liquid
from ..reservoir.simulate import LIFParams, poisson_rates, simulate
from ._heads import Head


class LiquidModel(nn.Module):
    def __init__(self, *, in_shape: tuple[int, ...], n_classes: int, task_classes=None,
                 grid: tuple[int, int, int] = (10, 10, 10), steps: int = 250, input_density: float = 0.15,
                 lam: float = 3.0, w_max: float = 3.0, seed: int = 0, batch: int = 256):
        super().__init__()
        grid = check_grid(tuple(grid) if isinstance(grid, list) else grid)
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ValueError(f"steps={steps!r} is invalid: a presentation lasts at least one 1-ms step.")
        if not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch={batch!r} is invalid: expected a positive number of samples per simulation.")
        self.grid, self.steps, self.seed, self.batch = grid, steps, seed, batch
        liquid = spatial_liquid(grid, math.prod(in_shape), lam=lam, input_density=input_density, w_max=w_max)
        self.liquid = liquid
        self.register_buffer("w_liquid", liquid.w)           # saved with the model's state
        self.params_lif = LIFParams()
        self.scale_: float | None = None                     # the Poisson encoding's scale (set from training data)
        self.head = Head(liquid.n, n_classes, task_classes)

    def _apply(self, fn, *args, **kwargs):
        out = super()._apply(fn, *args, **kwargs)
        self.liquid = self.liquid.to(self.w_liquid.device)
        self.liquid.w = self.w_liquid                          # one tensor: plasticity writes the buffer
        return out

    def rates(self, x: Tensor) -> Tensor:
        r, scale = poisson_rates(x, self.scale_)
        if self.scale_ is None:
            self.scale_ = scale
        return r

    @torch.no_grad()
    def features(self, x: Tensor) -> Tensor:
        """Spike counts of the liquid neurons over the presentation, (B, n)."""
        g = torch.Generator(device=x.device).manual_seed(self.seed)
        out = [simulate(self.liquid, self.rates(x[i:i + self.batch]), self.steps, self.params_lif, generator=g)[0]
               for i in range(0, len(x), self.batch)]
        return torch.cat(out) if out else x.new_zeros(0, self.liquid.n)

    def forward(self, x: Tensor, task=None) -> Tensor:
        return self.head(self.features(x), task)
