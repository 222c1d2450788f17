"""Soft winner-take-all Hebbian learning: SoftHebb (Moraitis et al. 2022, "SoftHebb: Bayesian
inference in unsupervised Hebbian soft winner-take-all networks"; Journe et al. 2023), in the
form verified in NeuromorphicComputing/SoftHebb demo.py (SYSTEMS.md 2.2):

    u = w x;  y = softmax(u / tau) over the output neurons
    anti-Hebbian losers: y_k <- -y_k for every k != argmax_k u_k      (``anti_hebbian=True``)
    dw_k = <y_k (x - u_k w_k)>  =  <y x^T> - diag(<y u>) w
    dw <- dw / max|dw|                                                (``normalize_delta=True``)
    per-neuron rate: dw_k <- |  ||w_k|| - 1  |^power * dw_k             (``power=0.5``)

The last factor is SoftHebb's weight-norm-dependent learning rate: it vanishes as each neuron's
weight norm reaches 1, which is where the rule drives it; with it, w_k moves towards the
centre of the inputs it wins (a prototype). Updates are ascent (w += lr * dw).
"""
from __future__ import annotations

import torch
from torch import Tensor

from ._rule import Rule, batch_scale, check_hyper, common_hyper, is_number


def soft_wta(w: Tensor, pre: Tensor, post: Tensor, *, tau: float = 1.0, anti_hebbian: bool = True,
             normalize_delta: bool = True, power: float = 0.5, reduction: str = "mean") -> Tensor:
    y = torch.softmax(post if tau == 1 else post / tau, dim=1)
    if anti_hebbian:                                   # losers flip sign, the winner keeps +y
        rows = torch.arange(len(post), device=post.device)
        winner = post.argmax(1)
        keep = y[rows, winner]
        y = y.neg_()
        y[rows, winner] = keep
    scale = batch_scale(reduction, len(pre))
    # one GEMM with the decay term in its epilogue: scale * (y^T x - diag(sum y u) w)
    dw = torch.addmm((y * post).sum(0)[:, None] * w, y.T, pre, beta=-scale, alpha=scale)
    row = None                                          # per-row factor, applied in one pass
    if power:
        row = (w.norm(dim=1, keepdim=True) - 1).abs().pow(power)
    if normalize_delta:
        lo, hi = torch.aminmax(dw)                      # max |dw| without an |dw| temporary
        inv = 1.0 / torch.maximum(hi, -lo).clamp_min(1e-30)
        row = inv if row is None else row * inv
    return dw if row is None else dw.mul_(row)


class SoftWTA(Rule):
    fn = staticmethod(soft_wta)

    def __init__(self, layers, *, lr: float = 0.01, tau: float = 1.0, anti_hebbian: bool = True,
                 normalize_delta: bool = True, power: float = 0.5, reduction: str = "mean"):
        check_hyper(is_number(tau) and tau > 0, "tau", tau, "a number > 0 (softmax temperature)")
        check_hyper(is_number(power) and power >= 0, "power", power, "a number >= 0")
        super().__init__(layers, common_hyper(lr, reduction, tau=tau, anti_hebbian=anti_hebbian,
                                              normalize_delta=normalize_delta, power=power))
