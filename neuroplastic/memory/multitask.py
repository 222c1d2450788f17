"""The multitasking Hebbian network (Agliari, Barra, Galluzzi, Guerra & Moauro 2012, "Multitasking
associative networks"; the seed paper #3 studies its learning from examples). Reconstruction [I]
from the abstract and the authors' earlier multitasking-Hopfield work (SYSTEMS.md 2.16; no code).

N binary neurons s_i = +-1 and K diluted ternary patterns xi in {-1, 0, +1}^N, P(xi = 0) = d.
Couplings J_ij = (1/N) sum_mu xi_i^mu xi_j^mu (zero diagonal), or learned from M noisy examples
chi^{mu,a} = xi^mu * eta (eta = +1 with probability (1 + r)/2, r the example quality):

* supervised:   J = 1/(N r^2) sum_mu  chibar^mu chibar^mu^T,  chibar^mu = mean_a chi^{mu,a}
* unsupervised: J = 1/(N r^2 M) sum_mu sum_a chi^{mu,a} chi^{mu,a}^T  (the examples' labels unused)

Dynamics: zero-temperature or Glauber (inverse temperature beta) single-spin updates. Mattis
overlaps m_mu = (1/N) sum_i xi_i^mu s_i. A blank (xi = 0) leaves the neuron free to serve another
pattern, so one state can retrieve several patterns at once: with mild dilution the overlaps are
hierarchical (m_1 ~ 1 - d, m_2 ~ (1 - d) d, ...), with strong dilution they become comparable
(parallel retrieval).
"""
from __future__ import annotations

import torch
from torch import Tensor

from .hopfield import async_sweep


def diluted_patterns(k: int, n: int, *, dilution: float, generator: torch.Generator | None = None) -> Tensor:
    """K ternary patterns (K, N): 0 with probability ``dilution``, else +-1 with equal odds."""
    if not 0.0 <= dilution < 1.0:
        raise ValueError(f"dilution must be in [0, 1), got {dilution}")
    signs = torch.randint(0, 2, (k, n), generator=generator).float() * 2 - 1
    keep = torch.rand(k, n, generator=generator) >= dilution
    return signs * keep


def noisy_examples(patterns: Tensor, m: int, *, quality: float, generator: torch.Generator | None = None) -> Tensor:
    """M examples per pattern (K, M, N): each entry kept with probability (1 + r)/2, else flipped."""
    if not 0.0 < quality <= 1.0:
        raise ValueError(f"quality r must be in (0, 1], got {quality}")
    k, n = patterns.shape
    eta = torch.where(torch.rand(k, m, n, generator=generator) < (1 + quality) / 2, 1.0, -1.0)
    return patterns[:, None, :] * eta


def couplings(patterns: Tensor) -> Tensor:
    """J = xi^T xi / N with zero diagonal, from patterns (K, N)."""
    j = patterns.T @ patterns / patterns.shape[1]
    return j.fill_diagonal_(0)


def couplings_from_examples(examples: Tensor, *, quality: float, supervised: bool) -> Tensor:
    """J from examples (K, M, N): supervised averages each pattern's examples before the outer
    product; unsupervised sums the outer products of the raw examples."""
    k, m, n = examples.shape
    if supervised:
        mean = examples.mean(1)
        j = mean.T @ mean / (n * quality ** 2)
    else:
        flat = examples.reshape(k * m, n)
        j = flat.T @ flat / (n * quality ** 2 * m)
    return j.fill_diagonal_(0)


def mattis(patterns: Tensor, s: Tensor) -> Tensor:
    """Overlaps m (B, K) of states s (B, N) with patterns (K, N)."""
    return s @ patterns.T / patterns.shape[1]


def glauber(j: Tensor, s: Tensor, *, beta: float | None = None, sweeps: int = 20,
            generator: torch.Generator | None = None) -> Tensor:
    """``sweeps`` random-order sweeps of single-spin updates (``beta=None``: zero temperature, stops
    early at a fixed point)."""
    for _ in range(sweeps):
        new = async_sweep(j, s, beta=beta, generator=generator)
        if beta is None and torch.equal(new, s):
            return new
        s = new
    return s


def retrieve(patterns: Tensor, *, j: Tensor | None = None, n_states: int = 8, start: str = "pattern",
             beta: float | None = None, sweeps: int = 20, generator: torch.Generator | None = None) -> Tensor:
    """Relax ``n_states`` initial states under J (default: built from the patterns) and return
    their overlaps |m| (n_states, K), each row sorted in decreasing order. ``start="pattern"``
    begins at the first pattern with its blanks filled at random (the multitasking protocol);
    ``"random"`` at uniformly random states."""
    if start not in ("pattern", "random"):
        raise ValueError(f"start must be 'pattern' or 'random', got {start!r}")
    j = couplings(patterns) if j is None else j
    s0 = torch.randint(0, 2, (n_states, patterns.shape[1]), generator=generator).to(j.dtype) * 2 - 1
    if start == "pattern":
        s0 = torch.where(patterns[0] != 0, patterns[0].to(j.dtype), s0)
    m = mattis(patterns, glauber(j, s0, beta=beta, sweeps=sweeps, generator=generator)).abs()
    return m.sort(dim=1, descending=True).values
