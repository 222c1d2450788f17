"""Hebbian PCA features and a linear read-out: the classic baseline for local-rule representation
learning. The hidden layer learns the principal components of its (running-mean centred) input
with Sanger's generalised Hebbian algorithm (Sanger 1989; ``rule="sanger"``: ordered components)
or Oja's subspace rule (Oja 1989; ``rule="subspace"``: an orthonormal basis of the principal
subspace), no backprop; the read-out learns with cross-entropy on the detached, standardised
projections. Keep ``hebb_lr`` times the largest eigenvalue of the input covariance well below 1
(MNIST in [0, 1]: about 5, so the default 0.01; scikit-learn's digits: about 0.7, 0.1 works). With ``activation="linear"`` (default) the features are the projections
themselves; ``"relu"`` keeps the model's ReLU. Deeper bodies stack PCA layers, each on the
(centred) output of the one below.

This is a baseline, not a paper's system: it is what the Hebbian literature compares SoftHebb
and friends against (e.g. Moraitis et al. 2022 discuss PCA-like Hebbian features).
"""
from __future__ import annotations

import torch
from torch import nn

from ..rules import Sanger, Subspace
from ._method import check, is_number
from ._readout import STATS_MOMENTUM, LocalRuleReadout

RULES = {"sanger": Sanger, "subspace": Subspace}


class HebbianPCA(LocalRuleReadout):
    def __init__(self, *, rule: str = "sanger", hebb_lr: float = 0.01, activation: str = "linear",
                 init_std: float = 0.01, standardize: bool = True, hebbian_experiences: int | None = None,
                 hebbian_samples: int | None = None, readout_after: int | None = None, seed: int = 0) -> None:
        super().__init__(standardize=standardize, hebbian_experiences=hebbian_experiences,
                         hebbian_samples=hebbian_samples, readout_after=readout_after)
        check(rule in RULES, "rule", rule, "'sanger' or 'subspace'")
        check(is_number(hebb_lr) and hebb_lr > 0, "hebb_lr", hebb_lr, "a number > 0")
        check(activation in ("linear", "relu"), "activation", activation, "'linear' or 'relu'")
        check(is_number(init_std) and init_std > 0, "init_std", init_std, "a number > 0")
        self.rule, self.hebb_lr, self.activation, self.init_std, self.seed = rule, hebb_lr, activation, init_std, seed
        self.means_: list[torch.Tensor | None] = []     # running mean of each hidden layer's input

    def setup(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> "HebbianPCA":
        super().setup(model, optimizer)
        layers = self.hidden_layers(model, "hebbian_pca")
        if any(isinstance(m, nn.Conv2d) for m in layers):
            raise TypeError("hebbian_pca works on fully connected bodies: use model 'mlp' "
                            "(softhebb handles 'cnn').")
        g = torch.Generator().manual_seed(self.seed)
        with torch.no_grad():
            for layer in layers:
                layer.weight.copy_(self.init_std * torch.randn(layer.weight.shape, generator=g))
                if layer.bias is not None:
                    layer.bias.zero_()
        self.means_ = [None] * len(layers)
        self.rule_ = RULES[self.rule](layers, lr=self.hebb_lr)
        return self

    def features(self, x, update=False):
        h, i = x, 0
        for m in self.model.body:
            if isinstance(m, nn.Linear):
                if update:
                    mean = h.mean(0)
                    self.means_[i] = mean if self.means_[i] is None else self.means_[i].lerp(mean, STATS_MOMENTUM)
                h = m(h - self.means_[i]) if self.means_[i] is not None else m(h)
                i += 1
            elif isinstance(m, nn.ReLU) and self.activation == "linear":
                continue
            else:
                h = m(h)
        return h
