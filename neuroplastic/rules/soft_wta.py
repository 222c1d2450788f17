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
    row = None                                           # per-row factor, applied in one pass
    if power:   # demo.py's scheduler: (| ||w_k|| - 1 | + 1e-10)^power; first, while w is in cache
        row = (torch.linalg.vector_norm(w, dim=1, keepdim=True) - 1).abs_().add_(1e-10).pow_(power)
    y = torch.softmax(post if tau == 1 else post / tau, dim=1)
    spare = None                                         # a free (batch, out) buffer, if any
    if anti_hebbian:
        y, spare = _anti_hebbian(y, post)
    # the decay coefficient c_k = sum_b y_bk u_bk (u the pre-temperature activation); reusing the
    # spare buffer keeps the big temporaries few
    c = torch.mul(y, post, out=spare).sum(0)
    dw = torch.mul(w, c.neg_()[:, None]).addmm_(y.T, pre)   # - diag(c) w + y^T x: one GEMM adds into it
    if normalize_delta:                                  # divide by max |dw| (the batch scale cancels)
        lo, hi = torch.aminmax(dw)
        top = torch.maximum(hi, lo.neg_()).clamp_min_(1e-30)
        return dw.div_(top) if row is None else dw.mul_(row.div_(top))
    scale = batch_scale(reduction, len(pre))
    return dw.mul_(scale) if row is None else dw.mul_(row.mul_(scale))


def _anti_hebbian(y: Tensor, post: Tensor) -> tuple[Tensor, Tensor | None]:
    """Losers flip sign, in place; the winner of each sample (the first maximum, demo.py's
    argmax) keeps +y. Returns y and a spare buffer of y's shape (or None) for the caller's reuse.

    On a CPU ``argmax`` is an unvectorised reduction (9x ``amax`` on a 256 x 2,000 batch), so the
    signs come from ``sign(post - max)``: 0 at a row's maximum, -1 elsewhere, and
    y + 2 y s flips every loser in one pass. That is exact when each row has a single maximum,
    which one sum checks; a batch with a tied row (e.g. from all-zero weights) or a NaN takes
    ``argmax``'s first maximum instead, as CUDA always does (there ``argmax`` is fast and the
    check would wait on the device).
    """
    if post.device.type == "cpu" and post.numel() < 2**24:  # the count below is exact in float32
        s = (post - post.amax(1, keepdim=True)).sign_()
        # each row has >= 1 zero (its maximum); the sum is -(numel - rows) iff each has exactly one
        if float(s.sum(dtype=torch.float32)) == len(post) - post.numel():   # a NaN fails too
            return y.addcmul_(y, s, value=2), s
    win = post.argmax(1, keepdim=True)
    return y.neg_().scatter_(1, win, y.gather(1, win).neg_()), None


class SoftWTA(Rule):
    fn = staticmethod(soft_wta)

    def __init__(self, layers, *, lr: float = 0.01, tau: float = 1.0, anti_hebbian: bool = True,
                 normalize_delta: bool = True, power: float = 0.5, reduction: str = "mean"):
        check_hyper(is_number(tau) and tau > 0, "tau", tau, "a number > 0 (softmax temperature)")
        check_hyper(is_number(power) and power >= 0, "power", power, "a number >= 0")
        super().__init__(layers, common_hyper(lr, reduction, tau=tau, anti_hebbian=anti_hebbian,
                                              normalize_delta=normalize_delta, power=power))
