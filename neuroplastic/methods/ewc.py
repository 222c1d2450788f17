"""Elastic Weight Consolidation (Kirkpatrick et al. 2017, PNAS, eq. 3) and online EWC
(Schwarz et al. 2018, "Progress & Compress", eq. 8).

    L(theta) = L_t(theta) + (lam / 2) sum_k sum_i F_{k,i} (theta_i - theta*_{k,i})^2

``mode="separate"``: one penalty per past experience k, with its own Fisher F_k and anchor
theta*_k. ``mode="online"``: a single penalty, F <- gamma F + F_t, anchored at the latest
theta*. The diagonal Fisher comes from exact per-sample gradients (``_fisher.diag_fisher``),
with true labels by default (``fisher="empirical"``, as most public code) or labels sampled from
the model (``fisher="model"``, the paper's definition), over a random subset of
``fisher_samples`` = 10,000 training samples of the experience (None: all of them). The exact
per-sample pass costs about as much as a training epoch over the same samples, so the subset
keeps EWC within 1.3x of fine-tuning's time at one epoch per experience (see benchmarks/).

The separate penalties are summed in closed form, sum_k F_k (theta - theta*_k)^2 =
theta^2 sum F_k - 2 theta sum F_k theta*_k + const, so a step costs the same for any number of
experiences; the gradient lam (A theta - B) is added to the parameters' gradients directly.
"""
from __future__ import annotations

import torch

from ._fisher import diag_fisher
from ._method import Method, check, index_batches, is_number


class EWC(Method):
    def __init__(self, *, lam: float = 100.0, mode: str = "separate", gamma: float = 1.0,
                 fisher: str = "empirical", fisher_samples: int | None = 10000,
                 fisher_batch_size: int = 1024, seed: int = 0) -> None:
        super().__init__()
        check(is_number(lam) and lam >= 0, "lam", lam, "a number >= 0")
        check(mode in ("separate", "online"), "mode", mode, "'separate' or 'online'")
        check(is_number(gamma) and 0 <= gamma <= 1, "gamma", gamma, "a number in [0, 1]")
        check(fisher in ("empirical", "model"), "fisher", fisher, "'empirical' or 'model'")
        check(fisher_samples is None or (isinstance(fisher_samples, int) and fisher_samples > 0),
              "fisher_samples", fisher_samples, "a positive integer or None (all)")
        check(isinstance(fisher_batch_size, int) and fisher_batch_size > 0, "fisher_batch_size",
              fisher_batch_size, "a positive integer")
        self.lam, self.mode, self.gamma, self.fisher = lam, mode, gamma, fisher
        self.fisher_samples, self.fisher_batch_size, self.seed = fisher_samples, fisher_batch_size, seed
        self.a_: dict[str, torch.Tensor] = {}   # sum_k F_k
        self.b_: dict[str, torch.Tensor] = {}   # sum_k F_k theta*_k
        self.c_: float = 0.0                    # sum_k F_k theta*_k^2 (for the penalty value only)
        self._terms: list = []                  # (parameter, A, B) triples used by observe

    def observe(self, x, y):
        """One step; returns the task loss (the penalty enters through the gradients)."""
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(x, y)
        loss.backward()
        if self.a_:
            with torch.no_grad():   # grad += lam (A theta - B), two fused ops over all tensors
                terms = [(p, a, b) for p, a, b in self._terms if p.grad is not None]
                grads = [p.grad for p, _, _ in terms]
                torch._foreach_addcmul_(grads, [a for _, a, _ in terms], [p for p, _, _ in terms], value=self.lam)
                torch._foreach_add_(grads, [b for _, _, b in terms], alpha=-self.lam)
        self.optimizer.step()
        return loss.detach()

    @torch.no_grad()
    def penalty(self) -> float:
        """(lam / 2) sum_k F_k (theta - theta*_k)^2 at the current weights."""
        if not self.a_:
            return 0.0
        total = self.c_
        for name, p in self.model.named_parameters():
            if name in self.a_:
                total += float((p * (self.a_[name] * p - 2 * self.b_[name])).sum())
        return 0.5 * self.lam * total

    def end(self, exp) -> None:
        x, y = exp.train
        g = torch.Generator().manual_seed(self.seed * 1000 + exp.index)
        if self.fisher_samples is not None and self.fisher_samples < len(y):
            idx = torch.randperm(len(y), generator=g)[: self.fisher_samples].to(y.device)
            x, y = x[idx], y[idx]
        batches = index_batches(x, y, batch_size=self.fisher_batch_size, epochs=1, generator=g)
        fisher = diag_fisher(self.model, batches, task=self.task_, mode=self.fisher, generator=g)
        with torch.no_grad():
            params = dict(self.model.named_parameters())
            if self.mode == "online" and self.a_:
                for name in self.a_:   # decay the old Fisher; re-anchor at the current weights
                    self.a_[name].mul_(self.gamma)
            for name, f in fisher.items():
                theta = params[name].detach()
                if self.mode == "online":
                    a = self.a_.get(name, torch.zeros_like(f)) + f
                    self.a_[name], self.b_[name] = a, a * theta
                else:
                    self.a_[name] = self.a_.get(name, torch.zeros_like(f)) + f
                    self.b_[name] = self.b_.get(name, torch.zeros_like(f)) + f * theta
            self._terms = [(params[n], self.a_[n], self.b_[n]) for n in self.a_]
            if self.mode == "online":
                self.c_ = sum(float((self.a_[n] * params[n] ** 2).sum()) for n in self.a_)
            else:
                self.c_ += sum(float((f * params[n] ** 2).sum()) for n, f in fisher.items())
