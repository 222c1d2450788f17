"""GPM: Gradient Projection Memory (Saha, Garg & Roy, ICLR 2021), the baseline HLOP compares with.

After each task, per protected layer, the representation matrix R (in, n) of the layer's inputs on
``n_samples`` training samples of the task is decomposed. Task 1: keep the top-k left singular
vectors with sum_{i<=k} s_i^2 >= threshold * ||R||_F^2. Later tasks: R_hat = R - U U^T R; with
the energy already captured, ||U^T R||_F^2, add the top singular vectors of R_hat until
(captured + added) >= threshold * ||R||_F^2 (GPM eq. 8-10). The basis U (in, k) is orthonormal.
Gradients of later tasks are projected: dW <- dW - (dW U) U^T. Defaults from GPM's PMNIST
script: thresholds 0.95 (first layer) and 0.99 (the others), 300 samples (``n_samples``).
Biases frozen and optimizer state cleared per task as in ``ProjectionMethod``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ._method import check, is_number
from ._projection import ProjectionMethod, layer_inputs, per_layer, project_out_


def gpm_extend(basis: Tensor | None, r: Tensor, threshold: float) -> Tensor:
    """New orthonormal row basis (k', in) from the old one (k, in) and activity r (n, in)."""
    r = r.double()
    total = float((r ** 2).sum())
    if basis is None or len(basis) == 0:
        _, s, vh = torch.linalg.svd(r, full_matrices=False)
        energy = torch.cumsum(s ** 2, 0) / max(total, 1e-30)
        k = int((energy < threshold).sum()) + 1
        return vh[: min(k, len(s))].float()
    b = basis.double()
    captured = float(((r @ b.T) ** 2).sum())
    resid = r - (r @ b.T) @ b
    _, s, vh = torch.linalg.svd(resid, full_matrices=False)
    need = threshold * total - captured
    if need <= 0:
        return basis
    k = int((torch.cumsum(s ** 2, 0) < need).sum()) + 1
    k = min(k, len(s), r.shape[1] - len(basis))
    return torch.cat([basis, vh[:k].to(basis.dtype)]) if k > 0 else basis


class GPM(ProjectionMethod):
    def __init__(self, *, threshold: float | list[float] = (0.95, 0.99), n_samples: int = 300, seed: int = 0) -> None:
        super().__init__()
        threshold = list(threshold) if isinstance(threshold, tuple) else threshold
        ths = threshold if isinstance(threshold, list) else [threshold]
        check(len(ths) > 0 and all(is_number(t) and 0 < t < 1 for t in ths), "threshold", threshold,
              "a number in (0, 1), [first layer, other layers] or one per layer")
        check(isinstance(n_samples, int) and n_samples > 0, "n_samples", n_samples, "a positive integer")
        self.threshold, self.n_samples, self.seed = threshold, n_samples, seed

    def setup(self, model, optimizer) -> "GPM":
        super().setup(model, optimizer)
        n, th = len(self.layers_), self.threshold
        if isinstance(th, list) and len(th) == 2 and n != 2:
            th = [th[0]] + [th[1]] * (n - 1)
        self.threshold_ = per_layer(th, n, "threshold")
        self.basis_: list[Tensor | None] = [None] * n
        return self

    def project_grads(self) -> None:
        for layer, b in zip(self.layers_, self.basis_):
            if b is not None:
                project_out_(layer.weight.grad, b)

    def end(self, exp) -> None:
        super().end(exp)
        from ..streams import as_float
        x, _ = exp.train
        g = torch.Generator().manual_seed(self.seed * 1000 + exp.index)
        idx = torch.randperm(len(x), generator=g)[: self.n_samples].to(x.device)
        self.model.eval()
        for i, r in enumerate(layer_inputs(self.model, as_float(x[idx]), self.task_)):
            self.basis_[i] = gpm_extend(self.basis_[i], r, self.threshold_[i]).to(r.device)
