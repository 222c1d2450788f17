"""SoftHebb: hidden layers learned by soft winner-take-all Hebbian plasticity, no backprop
(Moraitis et al. 2022, Neuromorph. Comput. Eng.; multilayer form: Journe et al. 2023, ICLR).

Every hidden ``nn.Linear`` / ``nn.Conv2d`` of the model's body learns with the ``soft_wta`` rule
(neuroplastic.rules.soft_wta) from its own input and linear output, recorded by forward hooks:
no error signal ever reaches the hidden layers. The model's head (a linear read-out) learns with
cross-entropy on the detached features, through the harness's optimizer. Each observe() does one
Hebbian step on every hidden layer and one read-out step, so all layers learn at once from the
layer below them (greedy and local); ``hebbian_experiences`` limits Hebbian learning to the first
experiences of a stream (later ones only train the read-out: a fixed representation).

Reconstruction choices [I], documented: each input sample is scaled to unit L2 norm before the
first layer (``normalize_input``), so the soft-WTA temperature acts on cosine similarities; the
weights of the Hebbian layers start with unit-norm rows. The rule's defaults follow the verified
SoftHebb demo (anti-Hebbian losers, delta normalised by its maximum, weight-norm-dependent rate
with power 0.5).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..rules import SoftWTA
from ._method import Method, check, is_number


class SoftHebb(Method):
    def __init__(self, *, hebb_lr: float = 0.03, tau: float = 0.1, anti_hebbian: bool = True,
                 normalize_input: bool = True, hebbian_experiences: int | None = None) -> None:
        super().__init__()
        check(is_number(hebb_lr) and hebb_lr > 0, "hebb_lr", hebb_lr, "a number > 0")
        check(is_number(tau) and tau > 0, "tau", tau, "a number > 0 (softmax temperature)")
        check(hebbian_experiences is None or (isinstance(hebbian_experiences, int) and hebbian_experiences >= 0),
              "hebbian_experiences", hebbian_experiences, "a non-negative integer or None (all)")
        self.hebb_lr, self.tau, self.anti_hebbian = hebb_lr, tau, anti_hebbian
        self.normalize_input, self.hebbian_experiences = normalize_input, hebbian_experiences
        self.rule_: SoftWTA | None = None
        self.experiences_ = 0

    def setup(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> "SoftHebb":
        super().setup(model, optimizer)
        if not hasattr(model, "body") or not hasattr(model, "head"):
            raise TypeError("softhebb needs a model with .body (hidden layers) and .head (read-out), "
                            "like neuroplastic.models.MLP and CNN.")
        layers = [m for m in model.body.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        if not layers:
            raise TypeError("softhebb found no nn.Linear or nn.Conv2d in the model's body.")
        with torch.no_grad():
            for layer in layers:                        # unit-norm rows, the rule's fixed point
                w = layer.weight.reshape(layer.weight.shape[0], -1)
                w.div_(w.norm(dim=1, keepdim=True).clamp_min(1e-12))
                if layer.bias is not None:
                    layer.bias.zero_()
                    layer.bias.requires_grad_(False)
            for p in model.body.parameters():
                p.requires_grad_(False)                 # no gradient ever reaches the hidden layers
        self.rule_ = SoftWTA(layers, lr=self.hebb_lr, tau=self.tau, anti_hebbian=self.anti_hebbian)
        return self

    def _inputs(self, x):
        if not self.normalize_input:
            return x
        flat = x.flatten(1)
        return (flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)).reshape(x.shape)

    def begin(self, exp) -> None:
        super().begin(exp)

    def observe(self, x, y):
        self.model.train()
        x = self._inputs(x)
        hebbian = self.hebbian_experiences is None or self.experiences_ < self.hebbian_experiences
        with torch.no_grad():
            if hebbian:
                self.model.features(x)                   # hooks record every hidden layer
                self.rule_.step()
            else:
                self.rule_.zero_records()
            feats = self.model.features(x)
            self.rule_.zero_records()
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(self.model.head(feats, self.task_), y)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def end(self, exp) -> None:
        self.experiences_ += 1

    @torch.no_grad()
    def predict(self, x, task=None):
        self.model.eval()
        out = self.model(self._inputs(x), task)
        self.rule_.zero_records()
        return out
