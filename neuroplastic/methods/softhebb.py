"""SoftHebb: hidden layers learned by soft winner-take-all Hebbian plasticity, no backprop
(Moraitis et al. 2022, Neuromorph. Comput. Eng.; multilayer form: Journe et al. 2023, ICLR).

Every hidden ``nn.Linear`` / ``nn.Conv2d`` of the model's body learns with the ``soft_wta`` rule
(neuroplastic.rules.soft_wta) from its own input and linear output, recorded by forward hooks:
no error signal ever reaches the hidden layers. The model's head (a linear read-out) learns with
cross-entropy on the detached features, through the harness's optimizer. Each observe() does one
Hebbian step on every hidden layer and one read-out step, so all layers learn at once from the
layer below them (greedy and local). ``hebbian_experiences`` limits Hebbian learning to the first
experiences of a stream and ``hebbian_samples`` to the first samples seen (afterwards only the
read-out trains, on a fixed representation: the official protocol is one unsupervised epoch,
then the classifier).

Defaults follow the official repository's MNIST MLP preset (NeuromorphicComputing/SoftHebb
presets.json, "2SoftMlpMNIST": "soft-c2000-t12-lr0.045-r35", activation "softmax_5") [V]:
soft WTA without the anti-Hebbian term (that belongs to the "softkrotov" conv layers), inverse
temperature 12 (tau = 1/12), learning rate 0.045 with the weight-norm-dependent rate of power
0.5, and the read-out fed with softmax(5 u) of each hidden layer's linear output (in place of
the model's ReLU). Reconstruction choices [I]: "r35" is read as the initial norm of every weight
row (normal init scaled to norm 35); each input sample is scaled to unit L2 norm before the first
layer (``normalize_input``); biases are zero and fixed; the read-out's input is standardised with
running means and variances (``standardize``, like a BatchNorm without affine parameters).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..rules import SoftWTA
from ._method import Method, check, is_number

STATS_MOMENTUM = 0.05   # running mean / variance of the read-out's input features


class SoftHebb(Method):
    def __init__(self, *, hebb_lr: float = 0.045, tau: float = 1 / 12, anti_hebbian: bool = False,
                 init_radius: float = 35.0, normalize_input: bool = True, readout: str = "softmax",
                 readout_t: float = 5.0, standardize: bool = True, hebbian_experiences: int | None = None,
                 hebbian_samples: int | None = None, seed: int = 0) -> None:
        super().__init__()
        check(is_number(hebb_lr) and hebb_lr > 0, "hebb_lr", hebb_lr, "a number > 0")
        check(is_number(tau) and tau > 0, "tau", tau, "a number > 0 (softmax temperature)")
        check(is_number(init_radius) and init_radius > 0, "init_radius", init_radius, "a number > 0")
        check(readout in ("softmax", "relu"), "readout", readout, "'softmax' or 'relu'")
        check(is_number(readout_t) and readout_t > 0, "readout_t", readout_t, "a number > 0")
        check(hebbian_experiences is None or (isinstance(hebbian_experiences, int) and hebbian_experiences >= 0),
              "hebbian_experiences", hebbian_experiences, "a non-negative integer or None (all)")
        self.hebb_lr, self.tau, self.anti_hebbian, self.init_radius = hebb_lr, tau, anti_hebbian, init_radius
        self.normalize_input, self.readout, self.readout_t = normalize_input, readout, readout_t
        check(hebbian_samples is None or (isinstance(hebbian_samples, int) and hebbian_samples >= 0),
              "hebbian_samples", hebbian_samples, "a non-negative integer or None (no limit)")
        self.standardize, self.hebbian_experiences, self.seed = standardize, hebbian_experiences, seed
        self.hebbian_samples = hebbian_samples
        self.samples_ = 0
        self.rule_: SoftWTA | None = None
        self.feat_mean_: torch.Tensor | None = None      # running statistics of the read-out's input
        self.feat_var_: torch.Tensor | None = None
        self.experiences_ = 0

    def setup(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> "SoftHebb":
        super().setup(model, optimizer)
        if not hasattr(model, "body") or not hasattr(model, "head"):
            raise TypeError("softhebb needs a model with .body (hidden layers) and .head (read-out), "
                            "like neuroplastic.models.MLP and CNN.")
        layers = [m for m in model.body.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        if not layers:
            raise TypeError("softhebb found no nn.Linear or nn.Conv2d in the model's body.")
        g = torch.Generator().manual_seed(self.seed)
        with torch.no_grad():
            for layer in layers:
                w = torch.randn(layer.weight.shape, generator=g)
                w = w / w.reshape(len(w), -1).norm(dim=1).reshape(-1, *([1] * (w.dim() - 1))) * self.init_radius
                layer.weight.copy_(w)
                if layer.bias is not None:
                    layer.bias.zero_()
            for p in model.body.parameters():
                p.requires_grad_(False)                 # no gradient ever reaches the hidden layers
        self.rule_ = SoftWTA(layers, lr=self.hebb_lr, tau=self.tau, anti_hebbian=self.anti_hebbian)
        return self

    def _inputs(self, x):
        if not self.normalize_input:
            return x
        flat = x.flatten(1)
        return (flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)).reshape(x.shape)

    def features(self, x):
        """The body's forward with each ReLU replaced by the read-out activation (no grad)."""
        h = self._inputs(x)
        for m in self.model.body:
            if isinstance(m, nn.ReLU) and self.readout == "softmax":
                h = torch.softmax(self.readout_t * h, dim=1)
            else:
                h = m(h)
        return h

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
        self.samples_ += len(y)
        with torch.no_grad():
            feats = self.features(x)                     # hooks record every hidden layer
            if hebbian:
                self.rule_.step()
                feats = self.features(x)
            self.rule_.zero_records()
            feats = self._standardized(feats, update=True)
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
        out = self.model.head(self._standardized(self.features(x), update=False), task)
        self.rule_.zero_records()
        return out
