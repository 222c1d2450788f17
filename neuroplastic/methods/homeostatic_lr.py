"""Homeostatic learning-rate regulation (Man, Damasio & Neven 2022, "Need is All You Need:
Homeostatic Neural Networks Adapt to Concept Shift", arXiv 2205.08645; official NumPy code
kingsonman/homeostatic-neural-networks lrh.py / lrr.py, SYSTEMS.md 2.4), vectorised in torch.

Labels carry a "need": a class >= ``valence_threshold`` (5) is excitatory (raises the learning
rate), a smaller one inhibitory (lowers it); the step is eta0 / 10 and eta is clipped at 1e-8.
Training is plain mini-batch gradient descent (the harness's SGD must have momentum 0 and no
weight decay; the method sets the learning rate of its parameter groups).

* ``lrh`` (homeostatic decision): at most once per mini-batch, at the batch's first sample i whose
  global index is a multiple of ``interval`` (once more than ``memory`` samples have been seen);
  with a batch no larger than ``interval`` (the paper's 10 and 10) that is every ``interval``
  samples, as in the official loop, while a larger batch holds fewer decisions. At sample i the
  learner simulates two updates with the gradient accumulated in the
  current batch so far: "leave it" (eta) and "take it" (eta +- step by the valence of its own
  *prediction* for sample i), and scores both on the ``memory`` most recent samples before i. If
  "take it" scores higher, eta moves by the step in the direction of sample i's *true* label's
  valence (a wrong perception pushes it the wrong way). Then the normal batch update.
* ``lrr`` (random regulation): at the same points, with probability 1/2, eta moves by the step in
  the direction of the true label's valence.

As in the official loop, the samples in memory keep the labels they have *now*: after a label
swap (a concept-shift experience boundary) they are relabelled with the new mapping. ``trace_``
records eta after every batch (stored with the result and plotted in the report).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.func import functional_call

from ..streams import Experience
from ._method import Method, check, is_number


class _RegulatedLR(Method):
    check_sgd = {"momentum": 0.0}

    def __init__(self, *, interval: int = 10, memory: int = 20, valence_threshold: int = 5,
                 step_fraction: float = 0.1, seed: int = 0) -> None:
        super().__init__()
        check(isinstance(interval, int) and interval >= 1, "interval", interval, "an integer >= 1 (samples)")
        check(isinstance(memory, int) and memory >= 1, "memory", memory, "an integer >= 1 (samples)")
        check(isinstance(valence_threshold, int), "valence_threshold", valence_threshold, "an integer class")
        check(is_number(step_fraction) and step_fraction > 0, "step_fraction", step_fraction, "a number > 0")
        self.interval, self.memory, self.valence_threshold = interval, memory, valence_threshold
        self.step_fraction, self.seed = step_fraction, seed
        self.seen_ = 0
        self.mem_x_: Tensor | None = None
        self.mem_y_: Tensor | None = None
        self.mapping_: Tensor | None = None
        self.trace_: dict = {"lr": []}

    def setup(self, model, optimizer):
        super().setup(model, optimizer)
        if not isinstance(optimizer, torch.optim.SGD) or any(
                grp.get("momentum", 0) or grp.get("weight_decay", 0) for grp in optimizer.param_groups):
            raise ValueError(f"{type(self).__name__.lower()} regulates plain gradient descent: use "
                             "train.optimizer='sgd' with train.momentum=0 and train.weight_decay=0.")
        self.eta_ = self.eta0_ = float(optimizer.param_groups[0]["lr"])
        self.step_ = self.eta0_ * self.step_fraction
        self.rng_ = torch.Generator().manual_seed(self.seed)
        return self

    def begin(self, exp: Experience) -> None:
        super().begin(exp)
        mapping = exp.meta.get("mapping")
        if mapping is None:
            return
        mapping = torch.as_tensor(mapping)
        if self.mapping_ is not None and self.mem_y_ is not None:
            inverse = torch.empty_like(self.mapping_)
            inverse[self.mapping_] = torch.arange(len(self.mapping_))
            self.mem_y_ = mapping.to(self.mem_y_.device)[inverse.to(self.mem_y_.device)[self.mem_y_]]
        self.mapping_ = mapping

    def _valence(self, label: int) -> float:
        return 1.0 if int(label) >= self.valence_threshold else -1.0

    def _nudge(self, eta: float, direction: float) -> float:
        eta = eta + direction * self.step_
        return 1e-8 if eta < 0 else eta

    def _decide(self, x: Tensor, y: Tensor, k: int) -> None:
        """Regulate eta at batch sample k (the global sample index is a multiple of interval)."""
        raise NotImplementedError

    def observe(self, x: Tensor, y: Tensor) -> Tensor:
        n = len(y)
        # the first sample of this batch whose global index is a decision point
        first = (-self.seen_) % self.interval
        if first < n and self.seen_ + first > self.memory and self.mem_x_ is not None:
            self._decide(x, y, first)
        for grp in self.optimizer.param_groups:
            grp["lr"] = self.eta_
        loss = super().observe(x, y)
        self.seen_ += n
        xs = x if self.mem_x_ is None else torch.cat([self.mem_x_, x])
        ys = y if self.mem_y_ is None else torch.cat([self.mem_y_, y])
        self.mem_x_, self.mem_y_ = xs[-(self.memory + n):], ys[-(self.memory + n):]
        self.trace_["lr"].append(self.eta_)
        return loss


class LRR(_RegulatedLR):
    """Random regulation: with probability 1/2, eta moves by the true label's valence."""

    def _decide(self, x, y, k):
        if float(torch.rand((), generator=self.rng_)) < 0.5:
            self.eta_ = self._nudge(self.eta_, self._valence(y[k]))


class LRH(_RegulatedLR):
    """Homeostatic decision: simulate keeping vs changing eta on the recent samples."""

    def _decide(self, x, y, k):
        model = self.model
        params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        # gradient of the batch so far (samples 0..k), summed as in the official loop; / m below
        loss = F.cross_entropy(model(x[:k + 1], self.task_), y[:k + 1], reduction="sum")
        grads = torch.autograd.grad(loss, list(params.values()))
        m = len(y)
        with torch.no_grad():
            guess = int(model(x[k:k + 1], self.task_).argmax(1))
            # the `memory` samples just before sample k: earlier batches, then this batch's first k
            mem_x = torch.cat([self.mem_x_, x[:k]])[-self.memory:]
            mem_y = torch.cat([self.mem_y_, y[:k]])[-self.memory:]
            sim2 = self._nudge(self.eta_, self._valence(guess))

            def recent_acc(eta: float) -> float:
                new = {n: p - eta / m * g for (n, p), g in zip(params.items(), grads)}
                out = functional_call(model, new, (mem_x, self.task_))
                return float((out.argmax(1) == mem_y).float().mean())
            if recent_acc(sim2) > recent_acc(self.eta_):
                self.eta_ = self._nudge(self.eta_, self._valence(y[k]))
