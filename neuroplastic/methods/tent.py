"""TENT: fully test-time adaptation by entropy minimisation (Wang, Shelhamer, Liu, Olshausen &
Darrell, ICLR 2021; settings of DequanWang/tent cfgs/tent.yaml, SYSTEMS.md 2.2).

BatchNorm layers use the test batch's statistics; only their affine parameters (gamma, beta)
adapt, by ``steps`` (1) Adam steps (lr 1e-3, betas 0.9 / 0.999) on the mean prediction entropy of
each test batch; the scores returned are those of the forward pass that computed the loss (as in
the official ``forward_and_adapt``). Everything else is frozen."""
from __future__ import annotations

import torch
from torch import Tensor

from ._method import check, is_number
from ._tta import TTAMethod, configure_norm, entropy


class TENT(TTAMethod):
    needs_model = "cnn"
    check_model_kwargs = {"channels": [4, 8], "hidden": 16, "norm": "bn"}

    def __init__(self, *, lr: float = 1e-3, steps: int = 1) -> None:
        super().__init__()
        check(is_number(lr) and lr > 0, "lr", lr, "a positive number")
        check(isinstance(steps, int) and steps > 0, "steps", steps, "a positive integer")
        self.lr, self.steps = lr, steps

    def adapted_parameters(self) -> list:
        norms = configure_norm(self.model)
        if not norms:
            raise ValueError(f"{type(self).__name__.lower()} adapts BatchNorm affine parameters: use model.name = "
                             "\"cnn\" with model.norm = \"bn\".")
        self.model.requires_grad_(False)
        params = []
        for m in norms:
            for p in (m.weight, m.bias):
                if p is not None:
                    p.requires_grad_(True)
                    params.append(p)
        return params

    def configure(self) -> None:
        self.params_ = self.adapted_parameters()
        self.tta_optimizer_ = torch.optim.Adam(self.params_, lr=self.lr, betas=(0.9, 0.999))

    def loss_tta(self, logits: Tensor) -> Tensor | None:
        """The objective on a test batch (None: skip the step)."""
        return entropy(logits).mean()

    def adapt(self, x: Tensor) -> Tensor:
        for _ in range(self.steps):
            with torch.enable_grad():
                out = self.model(x)
                loss = self.loss_tta(out)
                self.tta_optimizer_.zero_grad(set_to_none=True)
                if loss is not None and loss.requires_grad:
                    loss.backward()
                    self.tta_optimizer_.step()
        return out
