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
    u = post if tau == 1 else post / tau
    y = torch.softmax(u, dim=1)
    scatter = anti_hebbian and pre.device.type == "cpu"
    if anti_hebbian and not scatter:
        # on GPUs the elementwise flip is cheap and, unlike a scatter-add, deterministic:
        # losers flip sign, the winner(s) of each sample keep +y
        y = torch.where(post == post.amax(1, keepdim=True), y, -y)
    # the decay coefficient c_k = sum_b y_bk u_bk (u the pre-temperature activation)
    c = torch.einsum("bk,bk->k", y, post)
    dw = torch.mm(y.T, pre)
    if scatter:
        # CPU: y_anti = 2 y_win onehot(win) - y.  The flip is applied by negating the whole
        # update at the end; only the B winners need the correction, a scatter of B rows
        # instead of passes over the (B, out) activations. Ties for the maximum all count as winners.
        rows, win = (post == post.amax(1, keepdim=True)).nonzero(as_tuple=True)
        y_win = y[rows, win]
        c.index_add_(0, win, post[rows, win] * y_win, alpha=-2)
        dw.index_add_(0, win, pre[rows] * y_win[:, None], alpha=-2)
    sign = -1.0 if scatter else 1.0                      # dw holds sign * (y^T x - ...)
    dw.addcmul_(c[:, None], w, value=-1)                 # - diag(c) w
    row = None                                           # per-row factor, applied in one pass
    if power:
        row = (w.norm(dim=1, keepdim=True) - 1).abs().pow(power)
    if normalize_delta:                                  # max |dw| (the batch scale cancels)
        lo, hi = torch.aminmax(dw)
        factor = sign / torch.maximum(hi, -lo).clamp_min(1e-30)
    else:
        factor = sign * batch_scale(reduction, len(pre))
    return dw.mul_(factor if row is None else row * factor)


class SoftWTA(Rule):
    fn = staticmethod(soft_wta)

    def __init__(self, layers, *, lr: float = 0.01, tau: float = 1.0, anti_hebbian: bool = True,
                 normalize_delta: bool = True, power: float = 0.5, reduction: str = "mean"):
        check_hyper(is_number(tau) and tau > 0, "tau", tau, "a number > 0 (softmax temperature)")
        check_hyper(is_number(power) and power >= 0, "power", power, "a number >= 0")
        super().__init__(layers, common_hyper(lr, reduction, tau=tau, anti_hebbian=anti_hebbian,
                                              normalize_delta=normalize_delta, power=power))
