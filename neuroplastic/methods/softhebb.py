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
from torch import nn

from ..rules import SoftWTA
from ._method import check, is_number
from ._readout import LocalRuleReadout


class SoftHebb(LocalRuleReadout):
    def __init__(self, *, hebb_lr: float = 0.045, tau: float = 1 / 12, anti_hebbian: bool = False,
                 init_radius: float = 35.0, normalize_input: bool = True, readout: str = "softmax",
                 readout_t: float = 5.0, standardize: bool = True, hebbian_experiences: int | None = None,
                 hebbian_samples: int | None = None, seed: int = 0) -> None:
        super().__init__(standardize=standardize, hebbian_experiences=hebbian_experiences,
                         hebbian_samples=hebbian_samples)
        check(is_number(hebb_lr) and hebb_lr > 0, "hebb_lr", hebb_lr, "a number > 0")
        check(is_number(tau) and tau > 0, "tau", tau, "a number > 0 (softmax temperature)")
        check(is_number(init_radius) and init_radius > 0, "init_radius", init_radius, "a number > 0")
        check(readout in ("softmax", "relu"), "readout", readout, "'softmax' or 'relu'")
        check(is_number(readout_t) and readout_t > 0, "readout_t", readout_t, "a number > 0")
        self.hebb_lr, self.tau, self.anti_hebbian, self.init_radius = hebb_lr, tau, anti_hebbian, init_radius
        self.normalize_input, self.readout, self.readout_t = normalize_input, readout, readout_t
        self.seed = seed

    def setup(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> "SoftHebb":
        super().setup(model, optimizer)
        layers = self.hidden_layers(model, "softhebb")
        g = torch.Generator().manual_seed(self.seed)
        with torch.no_grad():
            for layer in layers:
                w = torch.randn(layer.weight.shape, generator=g)
                w = w / w.reshape(len(w), -1).norm(dim=1).reshape(-1, *([1] * (w.dim() - 1))) * self.init_radius
                layer.weight.copy_(w)
                if layer.bias is not None:
                    layer.bias.zero_()
        self.rule_ = SoftWTA(layers, lr=self.hebb_lr, tau=self.tau, anti_hebbian=self.anti_hebbian)
        return self

    def _inputs(self, x):
        if not self.normalize_input:
            return x
        flat = x.flatten(1)
        return (flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)).reshape(x.shape)

    def features(self, x, update=False):
        """The body's forward with each ReLU replaced by the read-out activation (no grad)."""
        h = self._inputs(x)
        for m in self.model.body:
            if isinstance(m, nn.ReLU) and self.readout == "softmax":
                h = torch.softmax(self.readout_t * h, dim=1)
            else:
                h = m(h)
        return h
