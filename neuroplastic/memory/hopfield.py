"""Classical binary Hopfield network (Hopfield 1982): +-1 states, Hebbian or pseudo-inverse storage,
synchronous or asynchronous sign dynamics, energy.

Storage of K patterns xi (K, N) in +-1:

* Hebbian (outer product):   W = xi^T xi / N, zero diagonal. Capacity ~0.138 N for random patterns
  (Amit, Gutfreund & Sompolinsky 1985); below ~0.1 N a stored pattern is a fixed point up to a
  few flipped bits.
* Pseudo-inverse (projection; Personnaz, Guyon & Dreyfus 1985): W = xi^T (xi xi^T)^+ xi, the
  projector onto the span of the patterns; every linearly independent pattern is a fixed point
  (up to K = N with the diagonal kept; ``zero_diagonal=True``, the default, trades that for
  larger basins: Kanter & Sompolinsky 1987).

Dynamics: s_i <- sign(sum_j W_ij s_j); a zero field keeps the old state. ``mode="sync"`` updates
all neurons at once (can 2-cycle); ``"async"`` updates them one at a time in a random order per
sweep (energy never rises), vectorised over the batch of states. Energy E(s) = -1/2 s^T W s.
"""
from __future__ import annotations

import torch
from torch import Tensor


def _check_pm1(patterns: Tensor) -> Tensor:
    if patterns.dim() != 2:
        raise ValueError(f"patterns must be (K, N), got shape {tuple(patterns.shape)}")
    if not torch.all((patterns == 1) | (patterns == -1)):
        raise ValueError("patterns must hold only +1 and -1; binarise first, e.g. torch.where(x > 0.5, 1., -1.)")
    return patterns


def hebbian_weights(patterns: Tensor, *, zero_diagonal: bool = True) -> Tensor:
    """W = xi^T xi / N for patterns (K, N) in +-1."""
    p = _check_pm1(patterns).to(torch.get_default_dtype() if not patterns.is_floating_point() else patterns.dtype)
    w = p.T @ p / p.shape[1]
    if zero_diagonal:
        w.fill_diagonal_(0)
    return w


def pseudoinverse_weights(patterns: Tensor, *, zero_diagonal: bool = True) -> Tensor:
    """W = xi^T (xi xi^T)^+ xi: the projector onto the patterns' span."""
    p = _check_pm1(patterns).to(torch.get_default_dtype() if not patterns.is_floating_point() else patterns.dtype)
    w = p.T @ torch.linalg.pinv(p @ p.T, hermitian=True) @ p
    if zero_diagonal:
        w.fill_diagonal_(0)
    return w


def energy(w: Tensor, s: Tensor) -> Tensor:
    """E = -1/2 s^T W s for states s (B, N) -> (B,)."""
    return -0.5 * ((s @ w) * s).sum(-1)


def _sign_keep(h: Tensor, old: Tensor) -> Tensor:
    return torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, old)).to(old.dtype)


def sync_step(w: Tensor, s: Tensor) -> Tensor:
    return _sign_keep(s @ w, s)


def async_sweep(w: Tensor, s: Tensor, *, beta: float | None = None,
                generator: torch.Generator | None = None) -> Tensor:
    """One sweep of single-neuron updates in a random order (the same order for the whole batch).
    ``beta=None``: zero temperature, s_i <- sign(h_i); otherwise Glauber dynamics at inverse
    temperature beta, P(s_i = +1) = 1 / (1 + exp(-2 beta h_i))."""
    s = s.clone()
    order = torch.randperm(s.shape[1], generator=generator, device="cpu").tolist()
    wt = w.T.contiguous()       # row i = incoming weights of neuron i
    if beta is not None:
        u = torch.rand(s.shape[1], s.shape[0], generator=generator, device="cpu").to(s)
    for i in order:
        h = s @ wt[i]
        if beta is None:
            s[:, i] = _sign_keep(h, s[:, i])
        else:
            s[:, i] = torch.where(u[i] < torch.sigmoid(2 * beta * h), 1.0, -1.0).to(s.dtype)
    return s


def recall(w: Tensor, s: Tensor, *, mode: str = "async", max_steps: int = 20,
           generator: torch.Generator | None = None) -> Tensor:
    """Run the dynamics from states s (B, N) until no state changes or ``max_steps`` sweeps."""
    if mode not in ("sync", "async"):
        raise ValueError(f"mode must be 'sync' or 'async', got {mode!r}")
    s = s.to(w.dtype)
    for _ in range(max_steps):
        new = sync_step(w, s) if mode == "sync" else async_sweep(w, s, generator=generator)
        if torch.equal(new, s):
            break
        s = new
    return s


class ClassicalHopfield:
    """Scikit-learn-shaped wrapper: ``ClassicalHopfield(rule="hebbian").fit(patterns).recall(cues)``."""

    def __init__(self, *, rule: str = "hebbian", mode: str = "async", max_steps: int = 20,
                 zero_diagonal: bool = True):
        if rule not in ("hebbian", "pseudoinverse"):
            raise ValueError(f"rule must be 'hebbian' or 'pseudoinverse', got {rule!r}")
        self.rule, self.mode, self.max_steps, self.zero_diagonal = rule, mode, max_steps, zero_diagonal
        self.weight: Tensor | None = None

    def fit(self, patterns: Tensor) -> "ClassicalHopfield":
        fn = hebbian_weights if self.rule == "hebbian" else pseudoinverse_weights
        self.weight = fn(patterns, zero_diagonal=self.zero_diagonal)
        return self

    def recall(self, cues: Tensor, *, generator: torch.Generator | None = None) -> Tensor:
        if self.weight is None:
            raise RuntimeError("call fit(patterns) before recall(cues)")
        return recall(self.weight, cues, mode=self.mode, max_steps=self.max_steps, generator=generator)

    def energy(self, s: Tensor) -> Tensor:
        return energy(self.weight, s.to(self.weight.dtype))
