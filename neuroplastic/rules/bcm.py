"""BCM rule (Bienenstock, Cooper & Munro 1982; Intrator & Cooper 1992 form):

    dw = <phi(y, theta) x^T>,  phi = y (y - theta),  theta <- theta + (<y^2> - theta) / tau_theta

with y = w x (``activation="linear"``) or max(w x, 0) (``"relu"``). The sliding threshold theta
(one per neuron) rises with recent activity, so a neuron ends up selective: it responds strongly to
one input pattern and weakly to the others. State: ``theta`` (n_out,), initialised to
``theta_init``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ._rule import Rule, check_hyper, common_hyper, is_number, reduce


def bcm(w: Tensor, pre: Tensor, post: Tensor, theta: Tensor, *, tau_theta: float = 100.0,
        activation: str = "linear", reduction: str = "mean") -> tuple[Tensor, Tensor]:
    """Returns (dw, new_theta)."""
    y = post.clamp_min(0) if activation == "relu" else post
    phi = y * (y - theta)
    dw = reduce(phi.T @ pre, reduction, len(pre))
    new_theta = theta + ((y * y).mean(0) - theta) / tau_theta
    return dw, new_theta


class BCM(Rule):
    fn = staticmethod(bcm)
    state_keys = ("theta",)

    def __init__(self, layers, *, lr: float = 0.01, tau_theta: float = 100.0, theta_init: float = 0.0,
                 activation: str = "linear", reduction: str = "mean"):
        check_hyper(is_number(tau_theta) and tau_theta >= 1, "tau_theta", tau_theta, "a number >= 1")
        check_hyper(is_number(theta_init) and theta_init >= 0, "theta_init", theta_init, "a number >= 0")
        check_hyper(activation in ("linear", "relu"), "activation", activation, "'linear' or 'relu'")
        super().__init__(layers, common_hyper(lr, reduction, tau_theta=tau_theta, theta_init=theta_init,
                                              activation=activation))

    def initial_state(self, w, group, pre=None, post=None):
        return {"theta": torch.full((w.shape[0],), float(group["theta_init"]), dtype=w.dtype, device=w.device)}
