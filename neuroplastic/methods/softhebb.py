"""SoftHebb: hidden layers learned by soft winner-take-all Hebbian plasticity, no backprop
(Moraitis et al. 2022, Neuromorph. Comput. Eng.; multilayer form: Journe et al. 2023, ICLR).

Every hidden ``nn.Linear`` / ``nn.Conv2d`` of the model's body learns with the ``soft_wta`` rule
(neuroplastic.rules.soft_wta) from its own input and linear output, recorded by forward hooks:
no error signal ever reaches the hidden layers. The model's head (a linear read-out) learns with
cross-entropy on the detached features, through the harness's optimizer. Each observe() does one
Hebbian step on every hidden layer (one per ``hebbian_batch`` samples, if set) and one read-out
step, so all layers learn at once from the layer below them (greedy and local).
``hebbian_experiences`` limits Hebbian learning to the first experiences of a stream and
``hebbian_samples`` to the first samples seen (afterwards only the read-out trains, on a fixed
representation). The official protocol is one unsupervised epoch, then the classifier:
``hebbian_samples=60000, readout_after=60000`` on MNIST (the read-out waits for that many samples).

Defaults follow the official repository's MNIST MLP preset (NeuromorphicComputing/SoftHebb
presets.json, "2SoftMlpMNIST": "soft-c2000-t12-lr0.045-r35", activation "softmax_5") [V]:
soft WTA without the anti-Hebbian term (that belongs to the "softkrotov" conv layers), inverse
temperature 12 (tau = 1/12), learning rate 0.045 with the weight-norm-dependent rate of power
0.5, and the read-out fed with softmax(5 u) of each hidden layer's linear output (in place of
the model's ReLU). Reconstruction choices [I]: "r35" is read as the initial norm of every weight
row (normal init scaled to norm 35); each input sample is scaled to unit L2 norm before the first
layer (``normalize_input``); biases are zero and fixed; the read-out's input is standardised with
running means and variances (``standardize``, like a BatchNorm without affine parameters).

Convolutional SoftHebb: use the model ``softhebb_cnn`` (neuroplastic.models.softhebb_cnn: the
official blocks BatchNorm -> reflect-padded conv -> triangle -> pooling) with the official conv
preset, "softkrotov-c96-k5-p2-...-t1-lr0.08-lp0.5" [V]: ``anti_hebbian=True, tau=1.0,
hebb_lr=0.08, init_radius=25.0, normalize_input=False, hebbian_batch=10``. ``hebb_lr``, ``tau``,
``anti_hebbian`` and ``init_radius`` take one value per hidden layer for deeper presets (e.g.
``tau=[1.0, 1 / 0.65]``, ``hebb_lr=[0.08, 0.005]``). ``hebbian_batch=10`` is demo.py's
unsupervised batch size: the Hebbian steps run on chunks of 10 samples of each training batch,
the read-out step on the whole batch. demo.py draws each conv weight from N(0, (25 / sqrt(fan_in))^2),
rows of norm about 25; here every row is scaled to exactly ``init_radius``.
"""
from __future__ import annotations

import torch
from torch import nn

from ..rules import SoftWTA
from ._method import check, is_number
from ._readout import LocalRuleReadout


class SoftHebb(LocalRuleReadout):
    def __init__(self, *, hebb_lr: float | list[float] = 0.045, tau: float | list[float] = 1 / 12,
                 anti_hebbian: bool | list[bool] = False, init_radius: float | list[float] = 35.0,
                 normalize_input: bool = True, readout: str = "softmax", readout_t: float = 5.0,
                 standardize: bool = True, hebbian_experiences: int | None = None,
                 hebbian_samples: int | None = None, hebbian_batch: int | None = None,
                 readout_after: int | None = None, seed: int = 0) -> None:
        super().__init__(standardize=standardize, hebbian_experiences=hebbian_experiences,
                         hebbian_samples=hebbian_samples, hebbian_batch=hebbian_batch,
                         readout_after=readout_after)
        positive = lambda v: is_number(v) and v > 0                         # noqa: E731
        for name, value, ok, what in (("hebb_lr", hebb_lr, positive, "a number > 0"),
                                      ("tau", tau, positive, "a number > 0 (softmax temperature)"),
                                      ("init_radius", init_radius, positive, "a number > 0"),
                                      ("anti_hebbian", anti_hebbian, lambda v: isinstance(v, bool), "True or False")):
            values = _per_layer(value)
            check(len(values) > 0 and all(map(ok, values)), name, value,
                  f"{what}, or a list of them (one per hidden layer)")
        check(readout in ("softmax", "relu"), "readout", readout, "'softmax' or 'relu'")
        check(is_number(readout_t) and readout_t > 0, "readout_t", readout_t, "a number > 0")
        self.hebb_lr, self.tau, self.anti_hebbian, self.init_radius = hebb_lr, tau, anti_hebbian, init_radius
        self.normalize_input, self.readout, self.readout_t = normalize_input, readout, readout_t
        self.seed = seed

    def setup(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> "SoftHebb":
        super().setup(model, optimizer)
        layers = self.hidden_layers(model, "softhebb")
        hyper = {name: _for_layers(name, getattr(self, name), len(layers))
                 for name in ("hebb_lr", "tau", "anti_hebbian", "init_radius")}
        g = torch.Generator().manual_seed(self.seed)
        with torch.no_grad():
            for layer, radius in zip(layers, hyper["init_radius"]):
                w = torch.randn(layer.weight.shape, generator=g)
                w = w / w.reshape(len(w), -1).norm(dim=1).reshape(-1, *([1] * (w.dim() - 1))) * radius
                layer.weight.copy_(w)
                if layer.bias is not None:
                    layer.bias.zero_()
        groups = [{"layers": [layer], "lr": lr, "tau": tau, "anti_hebbian": anti}
                  for layer, lr, tau, anti in zip(layers, hyper["hebb_lr"], hyper["tau"], hyper["anti_hebbian"])]
        self.rule_ = SoftWTA(groups)
        return self

    def _inputs(self, x):
        if not self.normalize_input:
            return x
        flat = x.flatten(1)
        return (flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)).reshape(x.shape)

    def features(self, x, update=False):
        """The body's forward with each ReLU directly in it (an MLP's hidden activations)
        replaced by the read-out activation; other modules, e.g. softhebb_cnn's blocks, run as they are."""
        h = self._inputs(x)
        for m in self.model.body:
            if isinstance(m, nn.ReLU) and self.readout == "softmax":
                h = torch.softmax(self.readout_t * h, dim=1)
            else:
                h = m(h)
        return h


def _per_layer(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _for_layers(name: str, value, n_layers: int) -> list:
    """One value per hidden layer: a scalar is shared; a list must have one entry per layer."""
    if not isinstance(value, (list, tuple)):
        return [value] * n_layers
    check(len(value) == n_layers, name, value, f"one value per hidden layer: this model has {n_layers}")
    return list(value)

