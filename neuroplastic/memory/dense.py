"""Dense associative memory: binary +-1 states with energy E(s) = -sum_mu F(xi^mu . s).

* ``"polynomial"``: F(x) = x^n (Krotov & Hopfield 2016, "Dense associative memory for pattern
  recognition"); ``rectified=True`` uses F(x) = max(x, 0)^n as in their rectified polynomial.
  n = 2 is the classical Hopfield network; capacity grows like N^(n-1).
* ``"exponential"``: F(x) = exp(beta x) (Demircigil, Heusel, Loewe, Upgang & Vermet 2017),
  exponential capacity in N.

Update of neuron i (Krotov & Hopfield eq. 3): with a_mu = xi^mu . s - xi^mu_i s_i (the overlap
without neuron i),

    s_i <- sign( sum_mu F(a_mu + xi^mu_i) - F(a_mu - xi^mu_i) ),  a zero difference keeps s_i.

Polynomials are homogeneous, so the arguments are divided by N first (same signs, no overflow);
the exponential difference is compared as logsumexp(beta (a + xi)) vs logsumexp(beta (a - xi)).
``mode="async"`` updates neurons one at a time in a random order per sweep (the energy never
rises), keeping the overlaps up to date incrementally; ``"sync"`` updates all at once, in chunks
of the batch so the (B, K, N) differences fit in memory.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .hopfield import _check_pm1, _sign_keep

ENERGIES = ("polynomial", "exponential")


def _check(energy: str, n: int) -> None:
    if energy not in ENERGIES:
        raise ValueError(f"energy must be one of {ENERGIES}, got {energy!r}")
    if energy == "polynomial" and (int(n) != n or n < 2):
        raise ValueError(f"the polynomial degree n must be an integer >= 2, got {n}")


def _as_float(p: Tensor, *, wide: bool) -> Tensor:
    """Floating patterns; float64 where high polynomial degrees would lose precision in float32."""
    if wide:
        return p.double()
    return p if p.is_floating_point() else p.to(torch.get_default_dtype())


def separation(x: Tensor, *, energy: str = "polynomial", n: int = 3, beta: float = 1.0,
               rectified: bool = False) -> Tensor:
    """F(x): x^n (or max(x, 0)^n) or exp(beta x)."""
    if energy == "exponential":
        return torch.exp(beta * x)
    return (x.clamp_min(0) if rectified else x) ** n


def _field_sign(a: Tensor, xi: Tensor, *, dim: int, energy: str, n: int, beta: float, rectified: bool,
                scale: float) -> Tensor:
    """The sign-deciding difference for overlaps-without-i ``a`` and pattern bits ``xi``, summed over
    the patterns' axis ``dim``."""
    if energy == "exponential":
        return torch.logsumexp(beta * (a + xi), dim) - torch.logsumexp(beta * (a - xi), dim)
    up, down = (a + xi) / scale, (a - xi) / scale
    if rectified:
        up, down = up.clamp_min(0), down.clamp_min(0)
    return (up ** n - down ** n).sum(dim)


def energy(patterns: Tensor, s: Tensor, *, energy: str = "polynomial", n: int = 3, beta: float = 1.0,
           rectified: bool = False) -> Tensor:
    """E(s) for states (B, N) -> (B,). The exponential energy is returned as -logsumexp(beta h) / beta
    (a monotone transform of -sum exp(beta h) that does not overflow)."""
    _check(energy, n)
    h = s.to(patterns.dtype) @ patterns.T
    if energy == "exponential":
        return -torch.logsumexp(beta * h, -1) / beta
    return -separation(h, energy=energy, n=n, rectified=rectified).sum(-1)


def sync_step(patterns: Tensor, s: Tensor, *, energy: str = "polynomial", n: int = 3, beta: float = 1.0,
              rectified: bool = False, chunk_elems: int = 2 ** 24) -> Tensor:
    K, N = patterns.shape
    out = torch.empty_like(s)
    rows = max(1, chunk_elems // (K * N))
    for lo in range(0, len(s), rows):
        sc = s[lo:lo + rows]
        h = sc @ patterns.T                                           # (b, K)
        a = h[:, :, None] - patterns[None] * sc[:, None, :]            # (b, K, N) overlap without i
        d = _field_sign(a, patterns[None], dim=-2, energy=energy, n=n, beta=beta, rectified=rectified, scale=N)
        out[lo:lo + rows] = _sign_keep(d, sc)
    return out


def async_sweep(patterns: Tensor, s: Tensor, *, energy: str = "polynomial", n: int = 3, beta: float = 1.0,
                rectified: bool = False, generator: torch.Generator | None = None) -> Tensor:
    s = s.clone()
    N = patterns.shape[1]
    h = s @ patterns.T                                                 # (B, K), kept up to date
    cols = patterns.T.contiguous()                                     # (N, K)
    for i in torch.randperm(N, generator=generator, device="cpu").tolist():
        xi = cols[i]                                                   # (K,)
        old = s[:, i].clone()
        a = h - xi * old[:, None]
        d = _field_sign(a, xi, dim=-1, energy=energy, n=n, beta=beta, rectified=rectified, scale=N)
        new = _sign_keep(d, old)
        s[:, i] = new
        h += xi * (new - old)[:, None]
    return s


def recall(patterns: Tensor, s: Tensor, *, energy: str = "polynomial", n: int = 3, beta: float = 1.0,
           rectified: bool = False, mode: str = "async", max_steps: int = 20,
           generator: torch.Generator | None = None) -> Tensor:
    """Run the dynamics from states s (B, N) until nothing changes or ``max_steps`` sweeps."""
    _check(energy, n)
    if mode not in ("sync", "async"):
        raise ValueError(f"mode must be 'sync' or 'async', got {mode!r}")
    patterns = _as_float(_check_pm1(patterns), wide=energy == "polynomial" and n > 6)
    s = s.to(patterns.dtype)
    kw = dict(energy=energy, n=n, beta=beta, rectified=rectified)
    for _ in range(max_steps):
        new = sync_step(patterns, s, **kw) if mode == "sync" else async_sweep(patterns, s, generator=generator, **kw)
        if torch.equal(new, s):
            break
        s = new
    return s


class DenseAssociativeMemory:
    """``DenseAssociativeMemory(energy="polynomial", n=3).fit(patterns).recall(cues)``."""

    def __init__(self, *, energy: str = "polynomial", n: int = 3, beta: float = 1.0, rectified: bool = False,
                 mode: str = "async", max_steps: int = 20):
        _check(energy, n)
        self.kw = dict(energy=energy, n=n, beta=beta, rectified=rectified)
        self.mode, self.max_steps = mode, max_steps
        self.patterns: Tensor | None = None

    def fit(self, patterns: Tensor) -> "DenseAssociativeMemory":
        self.patterns = _as_float(_check_pm1(patterns), wide=False)
        return self

    def recall(self, cues: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        if self.patterns is None:
            raise RuntimeError("call fit(patterns) before recall(cues)")
        return recall(self.patterns, cues, mode=self.mode, max_steps=self.max_steps, generator=generator, **self.kw)

    def energy(self, s: Tensor) -> Tensor:
        return energy(self.patterns, s, **self.kw)
