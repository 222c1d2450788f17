"""Learning without Forgetting (Li & Hoiem 2017, TPAMI, eq. 2 with the knowledge-distillation
loss of Hinton et al. 2015).

    L = CE(y, f(x)) + alpha * T^2 * KL(softmax(f_old(x)_old / T) || softmax(f(x)_old / T))

f_old is a frozen copy of the network taken at the end of the previous experience and ``_old``
restricts the outputs to the classes seen before the current experience (the old heads).
Defaults as in the paper: alpha (lambda_o) = 1, T = 2.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from ._method import Method, check, is_number


class LwF(Method):
    def __init__(self, *, alpha: float = 1.0, temperature: float = 2.0) -> None:
        super().__init__()
        check(is_number(alpha) and alpha >= 0, "alpha", alpha, "a number >= 0")
        check(is_number(temperature) and temperature > 0, "temperature", temperature, "a number > 0")
        self.alpha, self.temperature = alpha, temperature
        self.old_model_: torch.nn.Module | None = None
        self.old_classes_: list[int] = []

    def begin(self, exp) -> None:
        self.old_classes_ = list(self.seen_classes_)
        super().begin(exp)

    def loss(self, x, y):
        if self.old_model_ is None or not self.old_classes_:
            return super().loss(x, y)
        h = self.model.features(x)
        ce = F.cross_entropy(self.model.head(h, self.task_), y)      # current task's head(s)
        cols = torch.tensor(self.old_classes_, device=h.device)
        new_old = self.model.head(h).index_select(1, cols)             # old heads, unmasked
        with torch.no_grad():
            old = self.old_model_(x).index_select(1, cols)
        t = self.temperature
        kd = F.kl_div(F.log_softmax(new_old / t, 1), F.softmax(old / t, 1), reduction="batchmean")
        return ce + self.alpha * t * t * kd

    def end(self, exp) -> None:
        self.old_model_ = copy.deepcopy(self.model).eval()
        for p in self.old_model_.parameters():
            p.requires_grad_(False)
