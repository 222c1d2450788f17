"""Homeostatic plasticity: synaptic scaling and intrinsic plasticity toward a target rate.

* Synaptic scaling (Turrigiano et al. 1998; van Rossum, Bi & Turrigiano 2000): every incoming
  weight of neuron i is scaled multiplicatively, dw_i = (target - r_i) w_i, where r_i is a running
  average of the neuron's rate max(post, 0): r <- r + (<max(post, 0)> - r) / tau.
* Intrinsic plasticity of the threshold (``intrinsic > 0``): the layer's bias (minus the
  threshold) moves toward the target, b_i += intrinsic * (target - r_i) on every step.

Unlike the other rules, silence is not a fixed point: a silent neuron is below target and its
weights and bias grow. State: ``rate`` (n_out,), initialised to the target.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ._rule import Rule, check_hyper, is_number


def synaptic_scaling(w: Tensor, pre: Tensor, post: Tensor, rate: Tensor, *, target: float = 0.1,
                     tau: float = 10.0) -> tuple[Tensor, Tensor]:
    """Returns (dw, new_rate)."""
    new_rate = rate + (post.clamp_min(0).mean(0) - rate) / tau
    return (target - new_rate)[:, None] * w, new_rate


class Homeostatic(Rule):
    fn = staticmethod(synaptic_scaling)
    state_keys = ("rate",)
    silence_is_fixed_point = False

    def __init__(self, layers, *, lr: float = 0.01, target: float = 0.1, tau: float = 10.0,
                 intrinsic: float = 0.0):
        check_hyper(is_number(lr) and lr > 0, "lr", lr, "a number > 0")
        check_hyper(is_number(target) and target >= 0, "target", target, "a number >= 0 (target rate)")
        check_hyper(is_number(tau) and tau >= 1, "tau", tau, "a number >= 1 (averaging steps)")
        check_hyper(is_number(intrinsic) and intrinsic >= 0, "intrinsic", intrinsic, "a number >= 0")
        super().__init__(layers, dict(lr=lr, target=target, tau=tau, intrinsic=intrinsic))

    def initial_state(self, w, group, pre=None, post=None):
        return {"rate": torch.full((w.shape[0],), float(group["target"]), dtype=w.dtype, device=w.device)}

    @torch.no_grad()
    def step(self, modulator=1.0) -> None:
        recorded = [layer for g in self.param_groups for layer in g["layers"] if layer in self._records]
        super().step(modulator)
        for group in self.param_groups:
            if group["intrinsic"] <= 0:
                continue
            for layer in group["layers"]:
                if layer in recorded and layer.bias is not None:
                    layer.bias.add_(group["intrinsic"] * (group["target"] - self.state[layer]["rate"]).to(layer.bias))
