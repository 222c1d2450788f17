"""Modern (continuous) Hopfield networks and the three Hopfield layers (Ramsauer et al. 2021,
"Hopfield Networks is All You Need"; layer semantics of ml-jku/hopfield-layers, reimplemented).

The update of a state (query) pattern xi against stored patterns X (rows here) is

    xi_new = softmax(beta xi X^T) X                                    (eq. 22 of the paper)

which is softmax attention with keys = values = X and scale beta; with separate values V it is
exactly attention. Its energy, E = -1/beta log sum_i exp(beta x_i . xi) + 1/2 xi.xi + 1/beta log N
+ 1/2 M^2 (M = max_i |x_i|), falls with every update. Fixed points: the global average of the
patterns (small beta), metastable averages over similar patterns, single patterns (large beta, well
separated patterns): one update then retrieves a pattern.

Layers (PyTorch modules, ``batch_first``: (B, L, d)):

* ``Hopfield``: stored, state and projected patterns from the inputs (``forward(x)`` for
  self-association or ``forward((stored, state, projected))``), each through a LayerNorm and a
  linear projection per head, ``update_steps_max`` extra updates of the state before the final
  association (0: one update, i.e. attention; None: iterate until the state moves less than
  ``update_steps_eps``), then the output projection.
* ``HopfieldPooling``: learned static state patterns (queries) pool a set: (B, L, d) -> (B, q * out).
* ``HopfieldLayer``: learned static stored patterns with learned outputs, a prototype memory:
  (..., d) -> (..., out). With ``beta=1`` and no projections this is the reference's "static
  execution".

Defaults as the reference: beta = 1/sqrt(head dimension), LayerNorm on all patterns, one head,
no dropout.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def hopfield_update(state: Tensor, stored: Tensor, *, beta: float, values: Tensor | None = None) -> Tensor:
    """softmax(beta state stored^T) (values or stored); state (..., Q, d), stored (..., K, d)."""
    attn = torch.softmax(beta * state @ stored.transpose(-1, -2), dim=-1)
    return attn @ (stored if values is None else values)


def hopfield_retrieve(state: Tensor, stored: Tensor, *, beta: float, steps: int | None = 1,
                      eps: float = 1e-4, max_steps: int = 100) -> Tensor:
    """``steps`` updates of the state (None: until every state moves less than ``eps`` in L2 norm,
    at most ``max_steps``)."""
    n = steps if steps is not None else max_steps
    for _ in range(n):
        new = hopfield_update(state, stored, beta=beta)
        moved = (new - state).norm(dim=-1).max()
        state = new
        if steps is None and moved < eps:
            break
    return state


def energy(state: Tensor, stored: Tensor, *, beta: float) -> Tensor:
    """E(xi) for states (..., Q, d) -> (..., Q)."""
    lse = torch.logsumexp(beta * state @ stored.transpose(-1, -2), dim=-1)
    m = stored.norm(dim=-1).amax(-1, keepdim=True)
    return -lse / beta + 0.5 * (state * state).sum(-1) + math.log(stored.shape[-2]) / beta + 0.5 * m ** 2


def _as_3d(x: Tensor, name: str) -> tuple[Tensor, bool]:
    if x.dim() == 2:
        return x.unsqueeze(1), True
    if x.dim() != 3:
        raise ValueError(f"{name} must be (batch, length, features) or (batch, features), got {tuple(x.shape)}")
    return x, False


class Hopfield(nn.Module):
    """Hopfield association with projections: attention whose query can be iterated to a fixed point."""

    def __init__(self, input_size: int, *, hidden_size: int | None = None, output_size: int | None = None,
                 stored_size: int | None = None, state_size: int | None = None, pattern_size: int | None = None,
                 heads: int = 1, scaling: float | None = None, update_steps_max: int | None = 0,
                 update_steps_eps: float = 1e-4, normalize: bool = True, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        stored_size, state_size, pattern_size = (s or input_size for s in (stored_size, state_size, pattern_size))
        hidden_size = hidden_size or max(1, input_size // heads)
        if update_steps_max is not None and update_steps_max < 0:
            raise ValueError("update_steps_max must be >= 0 (0: one update) or None (iterate to convergence)")
        self.heads, self.hidden_size = heads, hidden_size
        self.scaling = 1.0 / math.sqrt(hidden_size) if scaling is None else float(scaling)
        self.update_steps_max, self.update_steps_eps = update_steps_max, update_steps_eps
        norm = (lambda d: nn.LayerNorm(d)) if normalize else (lambda d: nn.Identity())
        self.norm_stored, self.norm_state, self.norm_pattern = norm(stored_size), norm(state_size), norm(pattern_size)
        self.q = nn.Linear(state_size, heads * hidden_size, bias=bias)
        self.k = nn.Linear(stored_size, heads * hidden_size, bias=bias)
        self.v = nn.Linear(pattern_size, heads * hidden_size, bias=bias)
        self.out = nn.Linear(heads * hidden_size, output_size or input_size, bias=bias)
        self.dropout = nn.Dropout(dropout)

    def _split(self, x: Tensor) -> Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.heads, self.hidden_size).transpose(1, 2)        # (B, H, n, h)

    def associate(self, stored: Tensor, state: Tensor, projected: Tensor) -> tuple[Tensor, Tensor]:
        """(output (B, Q, out), association matrix (B, H, Q, K))."""
        k = self._split(self.k(self.norm_stored(stored)))
        q = self._split(self.q(self.norm_state(state)))
        v = self._split(self.v(self.norm_pattern(projected)))
        steps = self.update_steps_max
        for _ in range(steps if steps is not None else 100):
            new = hopfield_update(q, k, beta=self.scaling)
            moved = (new - q).norm(dim=-1).max()
            q = new
            if steps is None and moved < self.update_steps_eps:
                break
        attn = self.dropout(torch.softmax(self.scaling * q @ k.transpose(-1, -2), dim=-1))
        z = (attn @ v).transpose(1, 2).reshape(q.shape[0], q.shape[2], self.heads * self.hidden_size)
        return self.out(z), attn

    def forward(self, x: Tensor | tuple[Tensor, Tensor, Tensor]) -> Tensor:
        stored, state, projected = x if isinstance(x, (tuple, list)) else (x, x, x)
        stored, _ = _as_3d(stored, "stored")
        state, squeeze = _as_3d(state, "state")
        projected, _ = _as_3d(projected, "projected")
        out, _ = self.associate(stored, state, projected)
        return out.squeeze(1) if squeeze else out


class HopfieldPooling(nn.Module):
    """Pools a set (B, L, d) with ``num_queries`` learned state patterns -> (B, num_queries * out)."""

    def __init__(self, input_size: int, *, num_queries: int = 1, output_size: int | None = None, **kwargs):
        super().__init__()
        self.hopfield = Hopfield(input_size, output_size=output_size, **kwargs)
        self.query = nn.Parameter(torch.randn(num_queries, input_size) / math.sqrt(input_size))

    def forward(self, x: Tensor, *, return_attention: bool = False):
        x, _ = _as_3d(x, "input")
        state = self.query.unsqueeze(0).expand(len(x), -1, -1)
        out, attn = self.hopfield.associate(x, state, x)
        out = out.flatten(1)
        return (out, attn) if return_attention else out


class HopfieldLayer(nn.Module):
    """A memory of ``num_patterns`` learned stored patterns with learned outputs: for an input
    state xi, out = softmax(beta LN(xi) K^T) V (optionally iterated first in the stored space)."""

    def __init__(self, input_size: int, *, num_patterns: int, output_size: int | None = None,
                 scaling: float | None = None, normalize: bool = True, update_steps_max: int | None = 0,
                 update_steps_eps: float = 1e-4):
        super().__init__()
        self.stored = nn.Parameter(torch.randn(num_patterns, input_size) / math.sqrt(input_size))
        self.values = nn.Parameter(torch.randn(num_patterns, output_size or input_size) / math.sqrt(num_patterns))
        self.norm = nn.LayerNorm(input_size, elementwise_affine=False) if normalize else nn.Identity()
        self.scaling = 1.0 / math.sqrt(input_size) if scaling is None else float(scaling)
        self.update_steps_max, self.update_steps_eps = update_steps_max, update_steps_eps

    def association(self, x: Tensor) -> Tensor:
        q, k = self.norm(x), self.norm(self.stored)
        steps = self.update_steps_max
        if steps:
            q = hopfield_retrieve(q, k, beta=self.scaling, steps=steps, eps=self.update_steps_eps)
        elif steps is None:
            q = hopfield_retrieve(q, k, beta=self.scaling, steps=None, eps=self.update_steps_eps)
        return torch.softmax(self.scaling * q @ k.T, dim=-1)

    def forward(self, x: Tensor) -> Tensor:
        return self.association(x) @ self.values

