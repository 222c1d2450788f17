"""Shared machinery of the methods whose hidden layers learn by a local rule (no backprop) and
whose linear read-out learns with cross-entropy on the detached features: softhebb, hebbian_pca.

Subclasses set ``self.rule_`` in ``setup`` and define ``features(x)``; each observe() does one
local-rule step on the hidden layers (while Hebbian learning is on; one per ``hebbian_batch``
samples of the batch if that is set) and one read-out step (once ``readout_after`` training
samples have been seen, if that is set: the official SoftHebb protocol trains the read-out only
after the unsupervised epoch).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._method import Method, check

STATS_MOMENTUM = 0.05   # running mean / variance of the read-out's input features


class LocalRuleReadout(Method):
    def __init__(self, *, standardize: bool, hebbian_experiences: int | None,
                 hebbian_samples: int | None, hebbian_batch: int | None = None,
                 readout_after: int | None = None) -> None:
        super().__init__()
        check(hebbian_batch is None or (isinstance(hebbian_batch, int) and hebbian_batch >= 1),
              "hebbian_batch", hebbian_batch, "a positive integer or None (the training batch)")
        self.hebbian_batch = hebbian_batch
        check(hebbian_experiences is None or (isinstance(hebbian_experiences, int) and hebbian_experiences >= 0),
              "hebbian_experiences", hebbian_experiences, "a non-negative integer or None (all)")
        check(hebbian_samples is None or (isinstance(hebbian_samples, int) and hebbian_samples >= 0),
              "hebbian_samples", hebbian_samples, "a non-negative integer or None (no limit)")
        self.standardize, self.hebbian_experiences = standardize, hebbian_experiences
        self.hebbian_samples = hebbian_samples
        check(readout_after is None or (isinstance(readout_after, int) and readout_after >= 0),
              "readout_after", readout_after, "a non-negative integer (training samples) or None (from the start)")
        self.readout_after = readout_after
        self.samples_ = 0
        self.experiences_ = 0
        self.rule_ = None
        self.feat_mean_: torch.Tensor | None = None      # running statistics of the read-out's input
        self.feat_var_: torch.Tensor | None = None

    @staticmethod
    def hidden_layers(model: nn.Module, name: str) -> list[nn.Module]:
        """The body's Linear / Conv2d layers, frozen to gradients (a local rule trains them)."""
        if not hasattr(model, "body") or not hasattr(model, "head"):
            raise TypeError(f"{name} needs a model with .body (hidden layers) and .head (read-out), "
                            "like neuroplastic.models.MLP and CNN.")
        layers = [m for m in model.body.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        if not layers:
            raise TypeError(f"{name} found no nn.Linear or nn.Conv2d in the model's body.")
        for p in model.body.parameters():
            p.requires_grad_(False)                     # no gradient ever reaches the hidden layers
        return layers

    def features(self, x: torch.Tensor, update: bool = False) -> torch.Tensor:
        """The read-out's input; ``update`` is True on the first forward of a Hebbian training
        step (for statistics the features keep, e.g. running means)."""
        raise NotImplementedError

    def _standardized(self, feats, update: bool):
        if not self.standardize or (self.feat_mean_ is None and not update):
            return feats
        flat = feats.flatten(1)
        if update:
            m, v = flat.mean(0), flat.var(0, unbiased=False)
            if self.feat_mean_ is None:
                self.feat_mean_, self.feat_var_ = m, v
            else:
                self.feat_mean_ = self.feat_mean_.lerp(m, STATS_MOMENTUM)
                self.feat_var_ = self.feat_var_.lerp(v, STATS_MOMENTUM)
        return ((flat - self.feat_mean_) / (self.feat_var_ + 1e-8).sqrt()).reshape(feats.shape)

    def observe(self, x, y):
        self.model.train()
        hebbian = ((self.hebbian_experiences is None or self.experiences_ < self.hebbian_experiences)
                   and (self.hebbian_samples is None or self.samples_ < self.hebbian_samples))
        readout = self.readout_after is None or self.samples_ >= self.readout_after
        self.samples_ += len(y)
        with torch.no_grad():
            if hebbian:          # local-rule steps on chunks of hebbian_batch samples (default: all)
                for chunk in (x.split(self.hebbian_batch) if self.hebbian_batch else (x,)):
                    self.features(chunk, update=True)      # hooks record every hidden layer
                    self.rule_.step()
            feats = self.features(x)
            self.rule_.zero_records()
            feats = self._standardized(feats, update=True)
        with torch.set_grad_enabled(readout):   # while the read-out waits, its loss is still reported
            loss = F.cross_entropy(self.model.head(feats, self.task_), y)
        if readout:
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        return loss.detach()

    def end(self, exp) -> None:
        self.experiences_ += 1

    @torch.no_grad()
    def predict(self, x, task=None):
        self.model.eval()
        out = self.model.head(self._standardized(self.features(x), update=False), task)
        self.rule_.zero_records()
        return out
