"""EATA: efficient anti-forgetting test-time adaptation (Niu et al., ICML 2022).

TENT's parameters and update (BatchNorm affine, test-batch statistics, Adam on the entropy), with
(1) reliable-sample selection: only samples with entropy below ``e_margin`` x ln(C) (0.4 ln C)
take part, weighted by 1 / exp(H - e_margin ln C); (2) redundancy removal: a sample is dropped
when the cosine similarity of its softmax to the moving average of the selected samples'
softmax (momentum 0.9) is at least ``d_margin``; (3) anti-forgetting: a Fisher-weighted penalty
``fisher_alpha`` sum_i F_i (theta_i - theta_i^0)^2 towards the source parameters, with F the mean
squared gradient of the pseudo-label cross-entropy on ``fisher_samples`` clean samples (here the
last clean training samples the method saw; the paper uses held-out clean data).
Defaults: the paper's e_margin 0.4 ln C and fisher_alpha 2000; d_margin 0.05 is the paper's value
for ImageNet's 1,000 classes; with 10 classes softmax vectors are much more alike, so the default
here is 0.4 [I].
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ._method import check, is_number
from ._tta import entropy
from .tent import TENT


class EATA(TENT):
    def __init__(self, *, lr: float = 1e-3, steps: int = 1, e_margin: float = 0.4, d_margin: float = 0.4,
                 fisher_alpha: float = 2000.0, fisher_samples: int = 500) -> None:
        super().__init__(lr=lr, steps=steps)
        check(is_number(e_margin) and e_margin > 0, "e_margin", e_margin, "a positive fraction of ln(C)")
        check(is_number(d_margin) and 0 < d_margin <= 1, "d_margin", d_margin, "a number in (0, 1]")
        check(is_number(fisher_alpha) and fisher_alpha >= 0, "fisher_alpha", fisher_alpha, "a number >= 0")
        check(isinstance(fisher_samples, int) and fisher_samples > 0, "fisher_samples", fisher_samples,
              "a positive integer")
        self.e_margin, self.d_margin = e_margin, d_margin
        self.fisher_alpha, self.fisher_samples = fisher_alpha, fisher_samples
        self.clean_: Tensor | None = None

    def observe(self, x: Tensor, y: Tensor) -> Tensor:
        keep = x.detach()[-self.fisher_samples:]
        self.clean_ = keep if self.clean_ is None else torch.cat([self.clean_, keep])[-self.fisher_samples:]
        return super().observe(x, y)

    def configure(self) -> None:
        super().configure()
        self.anchor_ = [p.detach().clone() for p in self.params_]
        self.avg_probs_: Tensor | None = None
        if getattr(self, "fisher_", None) is None:
            self.fisher_ = self._fisher()

    def _fisher(self) -> list[Tensor]:
        fisher = [torch.zeros_like(p) for p in self.params_]
        if self.clean_ is None or not self.fisher_alpha:
            return fisher
        for i in range(0, len(self.clean_), 64):
            x = self.clean_[i:i + 64]
            with torch.enable_grad():
                out = self.model(x)
                loss = F.cross_entropy(out, out.argmax(1))
                grads = torch.autograd.grad(loss, self.params_)
            for f, g in zip(fisher, grads):
                f += g.detach() ** 2 * len(x)
        return [f / len(self.clean_) for f in fisher]

    def loss_tta(self, logits: Tensor) -> Tensor:
        ent = entropy(logits)
        margin = self.e_margin * math.log(logits.shape[1])
        keep = ent < margin
        probs = logits.softmax(1).detach()
        if self.avg_probs_ is not None:
            sim = F.cosine_similarity(self.avg_probs_[None], probs, dim=1)
            keep &= sim.abs() < self.d_margin
        sel = keep.nonzero().squeeze(1)
        if len(sel):
            mean_sel = probs[sel].mean(0)
            self.avg_probs_ = mean_sel if self.avg_probs_ is None else 0.9 * self.avg_probs_ + 0.1 * mean_sel
        if not len(sel):
            return None                      # nothing reliable and new in this batch: no step
        weight = torch.exp(-(ent[sel].detach() - margin))
        loss = (ent[sel] * weight).mean()
        if self.fisher_alpha:
            loss = loss + self.fisher_alpha * sum((f * (p - a) ** 2).sum()
                                                  for f, p, a in zip(self.fisher_, self.params_, self.anchor_))
        return loss
