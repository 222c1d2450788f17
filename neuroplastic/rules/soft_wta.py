"""Soft winner-take-all Hebbian learning: SoftHebb (Moraitis et al. 2022, "SoftHebb: Bayesian
inference in unsupervised Hebbian soft winner-take-all networks"; Journe et al. 2023), in the
form verified in NeuromorphicComputing/SoftHebb demo.py (SYSTEMS.md 2.2):

    u = w x;  y = softmax(u / tau) over the output neurons
    anti-Hebbian losers: y_k <- -y_k for every k != argmax_k u_k      (``anti_hebbian=True``;
                                            one winner per sample, the first maximum)
    dw_k = <y_k (x - u_k w_k)>  =  <y x^T> - diag(<y u>) w
    dw <- dw / max|dw|                                                (``normalize_delta=True``)
    per-neuron rate: dw_k <- (|  ||w_k|| - 1  | + 1e-10)^power * dw_k    (``power=0.5``)

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
    u = post if tau == 1 else post / tau
    y = torch.softmax(u, dim=1)
    if anti_hebbian:
        # losers flip sign; the winner of each sample (the first maximum, demo.py's argmax) keeps +y
        win = post.argmax(1, keepdim=True)
        y = y.neg().scatter_(1, win, y.gather(1, win))
    # the decay coefficient c_k = sum_b y_bk u_bk (u the pre-temperature activation)
    c = torch.linalg.vecdot(y, post, dim=0)
    dw = torch.mul(w, c.neg_()[:, None]).addmm_(y.T, pre)   # - diag(c) w + y^T x: one GEMM adds into it
    row = None                                           # per-row factor, applied in one pass
    if power:                                            # demo.py's scheduler: (| ||w_k|| - 1 | + 1e-10)^power
        row = (torch.linalg.vector_norm(w, dim=1, keepdim=True) - 1).abs_().add_(1e-10).pow_(power)
    if normalize_delta:                                  # max |dw| (the batch scale cancels)
        lo, hi = torch.aminmax(dw)
        factor = 1 / torch.maximum(hi, -lo).clamp_min(1e-30)
    else:
        factor = batch_scale(reduction, len(pre))
    return dw.mul_(factor if row is None else row * factor)


class SoftWTA(Rule):
    fn = staticmethod(soft_wta)

    def __init__(self, layers, *, lr: float = 0.01, tau: float = 1.0, anti_hebbian: bool = True,
                 normalize_delta: bool = True, power: float = 0.5, reduction: str = "mean"):
        check_hyper(is_number(tau) and tau > 0, "tau", tau, "a number > 0 (softmax temperature)")
        check_hyper(is_number(power) and power >= 0, "power", power, "a number >= 0")
        super().__init__(layers, common_hyper(lr, reduction, tau=tau, anti_hebbian=anti_hebbian,
                                              normalize_delta=normalize_delta, power=power))
