"""Echo-state network with a ridge-regression read-out (Jaeger 2001; reservoirpy's ``Ridge``), the
non-spiking reference for the liquid state machines (``model.name = "esn"``).

``observe`` records the reservoir features of each batch (one pass; ``train.epochs`` ignored);
``end`` fits the linear read-out in closed form on the experience's features and one-hot
targets: W = Y^T X (X^T X + ridge I)^-1, with a bias column. On a stream the read-out is refitted
on each experience alone (it forgets old classes, as fine-tuning does).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..streams import Experience
from ._frozen import FrozenFeatures
from ._method import check, is_number


class ESN(FrozenFeatures):
    needs_model = "esn"
    check_model_kwargs = {"units": 50}

    def __init__(self, *, ridge: float = 1e-4) -> None:
        super().__init__()
        check(is_number(ridge) and ridge >= 0, "ridge", ridge, "a number >= 0 (L2 penalty of the read-out)")
        self.ridge = ridge

    def setup(self, model, optimizer):
        if not hasattr(model, "w_in"):
            raise ValueError("esn reads a rate reservoir: use model.name = \"esn\".")
        return super().setup(model, optimizer)

    @torch.no_grad()
    def end(self, exp: Experience) -> None:
        x, y = self.recorded()
        x = x.double()
        fc = self.model.head.fc
        x1 = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype, device=x.device)], 1)
        target = F.one_hot(y, fc.out_features).double()
        gram = x1.t() @ x1 + self.ridge * torch.eye(x1.shape[1], dtype=x.dtype, device=x.device)
        w = torch.linalg.solve(gram, x1.t() @ target)         # (features + 1, classes)
        fc.weight.copy_(w[:-1].t().float())
        fc.bias.copy_(w[-1].float())
