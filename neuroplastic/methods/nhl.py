"""NHL: neuro-modulated Hebbian learning for fully test-time adaptation (Tang et al. 2023,
seed #1). No official code was published; this is the reconstruction of SYSTEMS.md 2.2 [I].

Per unlabelled test batch x, with the classifier locked:
  1. Hebbian step (``mode`` "both" or "hebbian"): the first convolution layer is updated by the
     soft winner-take-all rule ``soft_wta`` (SoftHebb: softmax over the output channels at
     temperature ``tau`` per position, anti-Hebbian losers, dW = <y x> - <y u> W, normalised by
     max|dW|, per-channel rate | ||w_k|| - 1 |^0.5; ascent with ``hebb_lr``) on x; no labels.
  2. Neuromodulator step (``mode`` "both" or "modulator"): a per-channel affine map after the
     first convolution (after its BatchNorm when one follows: before it, batch statistics would
     normalise the map away) (gamma = 1, beta = 0 at the start: the identity) takes ``steps`` Adam
     steps (lr 1e-3, TENT's settings) on the mean prediction entropy.
  3. The prediction is made with the updated model (a forward pass after both steps).
BatchNorm layers, if any, use the test batch's statistics (as in TENT). Adaptation is online
across the stream; ``reset`` restores the source weights and the identity modulator. ``mode``
selects the ablations: "hebbian" (Hebbian only), "modulator" (modulator only), "both".
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..rules import RULES
from ._method import check, is_number
from ._tta import TTAMethod, configure_norm, entropy


class NHL(TTAMethod):
    needs_model = "cnn"
    check_model_kwargs = {"channels": [4, 8], "hidden": 16, "norm": "bn"}

    def __init__(self, *, mode: str = "both", hebb_lr: float = 1e-3, tau: float = 1.0, lr: float = 1e-3,
                 steps: int = 1) -> None:
        super().__init__()
        check(mode in ("both", "hebbian", "modulator"), "mode", mode, "'both', 'hebbian' or 'modulator'")
        check(is_number(hebb_lr) and hebb_lr > 0, "hebb_lr", hebb_lr, "a positive number")
        check(is_number(tau) and tau > 0, "tau", tau, "a positive number (softmax temperature)")
        check(is_number(lr) and lr > 0, "lr", lr, "a positive number")
        check(isinstance(steps, int) and steps > 0, "steps", steps, "a positive integer")
        self.mode, self.hebb_lr, self.tau, self.lr, self.steps = mode, hebb_lr, tau, lr, steps

    def _first_conv(self) -> nn.Conv2d:
        for m in self.model.modules():
            if isinstance(m, nn.Conv2d):
                return m
        raise ValueError("nhl adapts the first convolution layer: use a convolutional model (model.name = \"cnn\").")

    def configure(self) -> None:
        for h in getattr(self, "_hooks", []):
            h.remove()
        if getattr(self, "rule_", None) is not None:
            self.rule_.remove()
        configure_norm(self.model)
        self.model.requires_grad_(False)
        conv = self.conv_ = self._first_conv()
        c = conv.out_channels
        self.gamma_ = torch.ones(c, device=conv.weight.device, requires_grad=True)
        self.beta_ = torch.zeros(c, device=conv.weight.device, requires_grad=True)
        self.tta_optimizer_ = torch.optim.Adam([self.gamma_, self.beta_], lr=self.lr, betas=(0.9, 0.999))
        self.rule_ = RULES["soft_wta"]([conv], lr=self.hebb_lr, tau=self.tau)   # records conv's raw output
        self._hooks = [self._modulated(conv).register_forward_hook(
            lambda m, inp, out: out * self.gamma_[None, :, None, None] + self.beta_[None, :, None, None])]

    def _modulated(self, conv: nn.Conv2d) -> nn.Module:
        """The module whose output the neuromodulator scales: the first convolution, or the
        BatchNorm right after it (a per-channel affine map placed before a BatchNorm that uses
        batch statistics would be normalised away)."""
        mods = list(self.model.modules())
        nxt = mods[mods.index(conv) + 1] if mods.index(conv) + 1 < len(mods) else None
        if isinstance(nxt, nn.BatchNorm2d) and nxt.num_features == conv.out_channels:
            return nxt
        return conv

    def adapt(self, x: Tensor) -> Tensor:
        if self.mode in ("both", "hebbian"):
            with torch.no_grad():
                self.conv_(x)                     # the rule records (x, u) of the first layer
                self.rule_.step()
        self.rule_.zero_records()
        if self.mode in ("both", "modulator"):
            for _ in range(self.steps):
                with torch.enable_grad():
                    loss = entropy(self.model(x)).mean()
                    self.tta_optimizer_.zero_grad(set_to_none=True)
                    loss.backward()
                    self.tta_optimizer_.step()
        with torch.no_grad():
            out = self.model(x)
        self.rule_.zero_records()
        return out

    def end_adaptation(self) -> None:
        super().end_adaptation()                  # restores the source weights ...
        for h in self._hooks:                     # ... and the modulator hook and the rule go
            h.remove()
        self._hooks = []
        self.rule_.remove()
        self.rule_ = None
