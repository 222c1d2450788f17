"""Critical learning periods in deep linear networks (Kleinman, Achille & Soatto 2024, ICLR,
"Critical Learning Periods Emerge Even in Deep Linear Networks"; seed #11), multi-pathway task.

Reconstruction [I] of the multi-pathway setting (no code was read): a latent s ~ N(0, I_d) reaches
the network through two pathways x_a = s + noise, x_b = s + noise (the two "eyes"); the target is
y = M s with M of rank ``rank``. Each pathway is a deep linear tower of ``depth`` layers (width
``width``, small random initialisation ``init``); their outputs add. The deficit: pathway b's
input is zeroed for the first ``t_d`` steps of full-batch gradient descent, then the network
trains normally for ``steps_after`` steps. Measured on fresh test data: the error of the
deprived pathway alone, ||f_b(x_b) - y||^2 / ||y||^2 (1 = it contributes nothing), and of the
whole network. Pathway a learns the task during the deficit; afterwards pathway b only sees a
small residual, and a deep tower started near zero barely escapes its saddle: the deficit
becomes permanent sooner, and more completely, the deeper the network.

All deficit durations of one depth train at once as a batch of independent networks (batched
matrix products), so the Python loop runs over steps only.
"""
from __future__ import annotations

import torch
from torch import Tensor


def _tower(runs: int, depth: int, d: int, width: int, init: float, g: torch.Generator) -> list[Tensor]:
    dims = [d] + [width] * (depth - 1) + [d]
    return [(torch.randn(runs, dims[i + 1], dims[i], generator=g, dtype=torch.float64) * init / dims[i] ** 0.5)
            .requires_grad_(True) for i in range(depth)]


def _apply(ws: list[Tensor], x: Tensor) -> Tensor:
    for w in ws:                          # x (R, n, in) -> (R, n, out)
        x = x @ w.transpose(1, 2)
    return x


def deep_linear_pathways(depth: int, deficits: list[int], *, d: int = 20, width: int = 30, rank: int = 5,
                         noise: float = 0.1, init: float = 0.1, lr: float = 0.02, steps_after: int = 3000,
                         n_train: int = 1000, n_test: int = 2000, seed: int = 0) -> dict:
    """Train one two-pathway network per deficit duration; returns their test errors."""
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(d, rank, generator=g, dtype=torch.float64) @ torch.randn(rank, d, generator=g,
                                                                             dtype=torch.float64) / d ** 0.5

    def data(n):
        s = torch.randn(n, d, generator=g, dtype=torch.float64)
        return (s + noise * torch.randn(n, d, generator=g, dtype=torch.float64),
                s + noise * torch.randn(n, d, generator=g, dtype=torch.float64), s @ m.T)
    xa, xb, y = data(n_train)
    ta, tb, ty = data(n_test)
    runs = len(deficits)
    a, b = _tower(runs, depth, d, width, init, g), _tower(runs, depth, d, width, init, g)
    opt = torch.optim.SGD(a + b, lr=lr)
    td = torch.tensor(deficits, dtype=torch.float64)
    for step in range(max(deficits) + steps_after):
        open_b = (td <= step).to(torch.float64)[:, None, None]          # 0 while deprived
        remaining = (step < td + steps_after).to(torch.float64)         # runs still training
        out = _apply(a, xa.expand(runs, -1, -1)) + _apply(b, xb.expand(runs, -1, -1) * open_b)
        loss = (((out - y) ** 2).sum(-1).mean(-1) / 2 * remaining).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        norm = (ty ** 2).sum(-1).mean()
        fa, fb = _apply(a, ta.expand(runs, -1, -1)), _apply(b, tb.expand(runs, -1, -1))
        err = lambda f: (((f - ty) ** 2).sum(-1).mean(-1) / norm).tolist()   # noqa: E731
        return {"depth": depth, "deficits": list(deficits), "deprived_error": err(fb),
                "intact_error": err(fa), "total_error": err(fa + fb)}


def critical_period_curve(*, seed: int = 0, depths: list[int] = (1, 2, 3, 4),
                          deficits: list[int] = (0, 25, 50, 100, 200, 400), d: int = 20, width: int = 30,
                          rank: int = 5, noise: float = 0.1, init: float = 0.1, lr: float = 0.02,
                          steps_after: int = 3000, n_train: int = 1000, n_test: int = 2000) -> dict:
    """Deprived-pathway and total error against deficit duration, one row per depth."""
    kw = dict(d=d, width=width, rank=rank, noise=noise, init=init, lr=lr, steps_after=steps_after,
              n_train=n_train, n_test=n_test, seed=seed)
    rows = [deep_linear_pathways(int(dp), [int(x) for x in deficits], **kw) for dp in depths]
    return {"critical_periods": {"depths": list(depths), "deficits": list(deficits),
                                 "deprived_error": [r["deprived_error"] for r in rows],
                                 "total_error": [r["total_error"] for r in rows],
                                 "intact_error": [r["intact_error"] for r in rows]}}
