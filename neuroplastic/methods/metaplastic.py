"""Synaptic metaplasticity in binarized neural networks (Laborieux, Ernoult, Hirtzlin & Querlioz
2021, Nature Communications; Laborieux-Axel/SynapticMetaplasticityBNN, models_utils.py
``Adam_meta`` and main.py), on the ``bnn`` model.

The hidden weight h of a binary synapse sign(h) learns with Adam, except that a step which would
shrink |h| (towards a sign flip: sign(h) * m > 0, m the first Adam moment, the step being
-lr m_hat / (sqrt(v_hat) + eps)) is scaled by

    f_meta(h) = 1 - tanh^2(meta * |h|),

so a synapse that has grown a large hidden weight becomes hard to flip (consolidated) while
steps that grow |h| are never damped. 1-D parameters (BatchNorm) take plain Adam steps. meta = 0
is plain Adam on the BNN (the paper's non-metaplastic control); the paper's permuted-MNIST runs
use meta = 1.35, lr 0.005, 5 epochs per task, hidden layers of 1024 (the code's defaults), and a
fresh optimizer for each task, as here. The method builds that optimizer itself from ``train.lr``
(betas 0.9, 0.999; ``train.optimizer`` and ``momentum`` are not used).

BatchNorm per task (``task_norm``, main.py's default ``--scenario task``): when the stream gives
task ids (``permuted`` with ``task_labels = true``), the BatchNorm scales and shifts reached at the
end of each task are stored (2 x width numbers per layer) and loaded to predict that task; the
binary weights stay shared. Without task ids every task uses the current ones (``--scenario domain``).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..models.bnn import BinaryLinear
from ..streams import Experience
from ._method import Method, check, is_number


def meta_factor(h: Tensor, m: Tensor, meta: float) -> Tensor:
    """The per-synapse step scale: 1 - tanh^2(meta |h|) where the step would shrink |h| (sign(h) m > 0), else 1."""
    damp = 1 - torch.tanh(meta * h.abs()).square()
    return torch.where(h.sign() * m > 0, damp, torch.ones_like(h))


class AdamMeta(torch.optim.Optimizer):
    """Adam (Kingma & Ba 2015, with bias correction) whose steps on weight matrices are scaled by
    ``meta_factor``. ``meta = 0`` is exactly Adam."""

    def __init__(self, params, *, lr: float = 0.005, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, meta: float = 1.35):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, meta=meta))

    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["step"], st["exp_avg"], st["exp_avg_sq"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                st["step"] += 1
                m, v = st["exp_avg"], st["exp_avg_sq"]
                m.mul_(b1).add_(p.grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                size = group["lr"] * math.sqrt(1 - b2 ** st["step"]) / (1 - b1 ** st["step"])
                step = m / v.sqrt().add_(group["eps"])
                if p.dim() > 1 and group["meta"]:
                    step.mul_(meta_factor(p, m, group["meta"]))
                p.add_(step, alpha=-size)
        return loss


class Metaplastic(Method):
    needs_model = "bnn"
    check_model_kwargs = {"widths": (32,)}

    def __init__(self, *, meta: float = 1.35, reset_optimizer: bool = True, task_norm: bool = True) -> None:
        super().__init__()
        check(is_number(meta) and meta >= 0, "meta", meta, "a number >= 0 (0: plain Adam; the paper: 1.35)")
        check(isinstance(reset_optimizer, bool), "reset_optimizer", reset_optimizer, "true or false")
        check(isinstance(task_norm, bool), "task_norm", task_norm, "true or false")
        self.meta, self.reset_optimizer, self.task_norm = meta, reset_optimizer, task_norm
        self.norm_states_: dict[int, list[Tensor]] = {}

    def setup(self, model, optimizer):
        if not any(isinstance(m, BinaryLinear) for m in model.modules()):
            raise ValueError("metaplastic acts on binary synapses: use the binarized model "
                             "(model.name = 'bnn', or --set model.name=bnn).")
        lr = optimizer.param_groups[0]["lr"] if optimizer is not None else 0.005
        return super().setup(model, AdamMeta(model.parameters(), lr=lr, meta=self.meta))

    def begin(self, exp: Experience) -> None:
        super().begin(exp)
        if self.reset_optimizer:          # main.py builds a new Adam_meta for every task
            self.optimizer.state.clear()

    def _norm_params(self) -> list[Tensor]:
        return [p for m in self.model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
                for p in (m.weight, m.bias) if p is not None]

    def end(self, exp: Experience) -> None:
        if self.task_norm and exp.task is not None:
            self.norm_states_[exp.task] = [p.detach().clone() for p in self._norm_params()]

    @torch.no_grad()
    def predict(self, x: Tensor, task: int | None = None) -> Tensor:
        stored = self.norm_states_.get(task) if self.task_norm and task is not None and task != self.task_ else None
        if stored is None:
            return super().predict(x, task)
        params = self._norm_params()
        current = [p.clone() for p in params]
        for p, s in zip(params, stored):
            p.copy_(s)
        try:
            return super().predict(x, task)
        finally:
            for p, c in zip(params, current):
                p.copy_(c)

