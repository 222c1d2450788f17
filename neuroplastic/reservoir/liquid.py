"""The spatial LIF liquid of a liquid state machine (Maass et al. 2002; the NALSM liquid of
Ivanov & Michmizos, NeurIPS 2021, read from combra-lab/NALSM: generate_spatial_network.py,
spatial_network_builder_lib.py, NALSM_LIF_v1.py).

Neurons sit on a 3-D grid (10 x 10 x 10 = 1,000 or 20 x 20 x 20 = 8,000), 80% excitatory and 20%
inhibitory, placed at random grid points. A liquid neuron j connects to i with probability

    P(j -> i) = C[type_i, type_j] * exp(-(d_ij / lambda)^2),   lambda = 3,
    C_EE = 0.2, C_EI (E -> I) = 0.1, C_IE (I -> E) = 0.3, C_II = 0.05,

no self-connections. Each input neuron (one per pixel) connects to liquid neurons: exactly
``round-down(n * n_in * input_density)`` (post, pre) pairs drawn without replacement, density 0.15.
Weights start constant: +1 from excitatory, -1 from inhibitory neurons, +-1 (random sign) from
inputs; plasticity keeps them in [0, 3], [-3, 0] and [-3, 3] (``w_max``).

``Liquid.w`` is (n, n + n_in): rows are liquid neurons (post), columns the liquid then the input
neurons (pre); zeros off ``mask``. Columns are ordered excitatory, inhibitory, input.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

#: connection factors C[post type][pre type] for (E, I), as generate_spatial_network.py
C_DEFAULT = (0.2, 0.1, 0.3, 0.05)        # EE, EI (E -> I), IE (I -> E), II


@dataclass
class Liquid:
    """A liquid's synapses. ``w`` (n, n + n_in) post x pre; ``mask`` where a synapse exists;
    ``lo``/``hi`` (n + n_in,) the weight bounds of each presynaptic column; ``coords`` (n, 3)."""

    w: Tensor
    mask: Tensor
    lo: Tensor
    hi: Tensor
    coords: Tensor
    n_exc: int
    n_inh: int
    n_in: int

    @property
    def n(self) -> int:
        return self.n_exc + self.n_inh

    def to(self, device) -> "Liquid":
        return Liquid(self.w.to(device), self.mask.to(device), self.lo.to(device), self.hi.to(device),
                      self.coords.to(device), self.n_exc, self.n_inh, self.n_in)

    def clone(self) -> "Liquid":
        return Liquid(self.w.clone(), self.mask, self.lo, self.hi, self.coords, self.n_exc, self.n_inh, self.n_in)


def check_grid(shape) -> tuple[int, int, int]:
    """A grid shape: three positive integers (a cube such as [10, 10, 10] in the paper)."""
    if (not isinstance(shape, (list, tuple)) or len(shape) != 3
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)):
        raise ValueError(f"grid={shape!r} is invalid: expected three positive integers, e.g. [10, 10, 10] "
                         "(1,000 neurons) or [20, 20, 20] (8,000).")
    return tuple(shape)


def spatial_liquid(grid=(10, 10, 10), n_in: int = 784, *, lam: float = 3.0, c=C_DEFAULT,
                   input_density: float = 0.15, exc_fraction: float = 0.8, w_max: float = 3.0,
                   generator: torch.Generator | None = None) -> Liquid:
    """Draw a liquid (see the module docstring) from ``generator`` (default: torch's global one)."""
    grid = check_grid(grid)
    if not (0 < input_density <= 1):
        raise ValueError(f"input_density={input_density!r} is invalid: expected a number in (0, 1].")
    if not (lam > 0):
        raise ValueError(f"lam={lam!r} is invalid: expected a length > 0 (grid units).")
    if not (0 < exc_fraction < 1):
        raise ValueError(f"exc_fraction={exc_fraction!r} is invalid: expected a number in (0, 1).")
    g = generator if generator is not None else torch.default_generator   # run_cell seeds it
    n = grid[0] * grid[1] * grid[2]
    n_exc = int(round(n * exc_fraction))
    n_inh = n - n_exc
    pts = torch.stack(torch.meshgrid(*(torch.arange(s) for s in grid), indexing="ij"), -1).reshape(-1, 3)
    coords = pts[torch.randperm(n, generator=g)].float()
    is_exc = torch.arange(n) < n_exc
    ee, ei, ie, ii = c
    # P = C[type_post, type_pre] exp(-(d / lambda)^2), built in place (8,000 neurons: 256 MB a matrix)
    p = torch.cdist(coords, coords).pow_(2).div_(-lam**2).exp_()
    p[:n_exc, :n_exc] *= ee                # rows: post, columns: pre
    p[n_exc:, :n_exc] *= ei                # E -> I
    p[:n_exc, n_exc:] *= ie                # I -> E
    p[n_exc:, n_exc:] *= ii
    rec = torch.rand(n, n, generator=g) < p
    del p
    rec.fill_diagonal_(False)
    k = int(n * n_in * input_density)
    inp = torch.zeros(n * n_in, dtype=torch.bool)
    inp[torch.randperm(n * n_in, generator=g)[:k]] = True
    inp = inp.reshape(n, n_in)
    sign = torch.randint(0, 2, (n, n_in), generator=g).float() * 2 - 1
    w_rec = torch.where(is_exc[None, :], 1.0, -1.0).expand(n, n) * rec
    w = torch.cat([w_rec, sign * inp], 1).float()
    mask = torch.cat([rec, inp], 1)
    lo = torch.cat([torch.where(is_exc, 0.0, -w_max), torch.full((n_in,), -w_max)])
    hi = torch.cat([torch.where(is_exc, w_max, 0.0), torch.full((n_in,), w_max)])
    return Liquid(w, mask, lo, hi, coords.float(), n_exc, n_inh, n_in)
