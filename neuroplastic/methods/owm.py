"""OWM: orthogonal weight modification (Zeng, Chen, Cui & Yu, Nature Machine Intelligence 2019),
the other projection baseline of the HLOP paper.

Per protected layer a projector P (in, in), P_0 = I, is updated after every mini-batch from the
batch-mean input x (recursive least squares, the paper's eq. for P):

    k = P x / (alpha + x^T P x),    P <- P - k x^T P

and weight gradients are modified as dW <- dW P, so later updates are (nearly) orthogonal to every
input seen so far, within and across tasks. Reconstruction [I]: the official code anneals alpha
within a task and per layer (values not recovered here); this version uses a constant ``alpha``
per layer (default 1.0). Biases frozen and optimizer state cleared per task as in
``ProjectionMethod``.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ._method import check, is_number
from ._projection import ProjectionMethod, layer_inputs, per_layer


@torch.no_grad()
def owm_update_(p: Tensor, x: Tensor, alpha: float) -> None:
    """P <- P - (P x)(x^T P) / (alpha + x^T P x) for the mean input x (in,), in place."""
    px = p @ x
    p.sub_(torch.outer(px, px) / (alpha + x @ px))       # P symmetric: x^T P = (P x)^T


class OWM(ProjectionMethod):
    def __init__(self, *, alpha: float | list[float] = 1.0) -> None:
        super().__init__()
        alphas = alpha if isinstance(alpha, list) else [alpha]
        check(len(alphas) > 0 and all(is_number(a) and a > 0 for a in alphas), "alpha", alpha,
              "a positive number or one per layer")
        self.alpha = alpha

    def setup(self, model, optimizer) -> "OWM":
        super().setup(model, optimizer)
        self.alpha_ = per_layer(self.alpha, len(self.layers_), "alpha")
        self.p_ = [torch.eye(layer.weight[0].numel(), device=layer.weight.device) for layer in self.layers_]
        return self

    def project_grads(self) -> None:
        for layer, p in zip(self.layers_, self.p_):
            g = layer.weight.grad.view(layer.weight.shape[0], -1)
            g.copy_(g @ p)

    def after_step(self, x: Tensor) -> None:
        for p, inp, a in zip(self.p_, layer_inputs(self.model, x, self.task_), self.alpha_):
            owm_update_(p, inp.mean(0).to(p.dtype), a)
