"""Refresh learning (Wang, Li, Wen, Chang, Schiele & Sun, "A Unified and General Framework for
Continual Learning", ICLR 2024; read from joey-wang123/CL-refresh-learning, models/derpp.py):
a plug-in that makes any host method unlearn a little of each batch it has just learned.

After each of the host's training steps on a batch (x, y), as the official ``observe`` then
``unlearn``:

    Delta   = lr_u * grad CE(f(x), y)                     one SGD step on -CE, lr_u = 0.01
    u       = Delta * ||theta|| / (||Delta|| + 1e-20)       per parameter tensor
    theta  <- theta + delta * (u + 0.001 eps) / (1 + 0.001 F),   eps ~ N(0, I), delta = 1e-5

F is a Fisher estimate accumulated at each experience's end (``end_task``): the squared
per-sample gradients of log p(y | x), each weighted by p(y | x), averaged over the experience's
training data; F <- tau F + F_new with tau = 1e-5. The paper describes unlearning before
relearning; the official code unlearns after each step, on the same batch, which is what this
does (on a stream of batches the two orders alternate the same way).

``host`` names any registered method and ``host_kwargs`` its hyper-parameters (``seed`` is passed
on when the host takes one); ``delta = 0`` switches the mechanism off and leaves the host alone.
Reconstruction [I]: the per-sample gradients of the Fisher are taken in evaluation mode
(``_fisher.diag_fisher``: exact, in chunks of ``fisher_batch``; the official loop runs the
network in training mode one sample at a time); the unlearning gradient is taken in the mode the
host left the model in (training).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..streams import Experience, as_float
from ._fisher import diag_fisher
from ._hosted import Hosted
from ._method import check, is_number


class Refresh(Hosted):
    def __init__(self, *, host: str = "derpp", host_kwargs: dict | None = None, delta: float = 1e-5,
                 unlearn_lr: float = 0.01, noise: float = 1e-3, damping: float = 1e-3, tau: float = 1e-5,
                 fisher_batch: int = 256, seed: int = 0) -> None:
        super().__init__()
        self.make_host(host, host_kwargs, seed, "'derpp', 'er' or 'ewc'")
        for name, v in (("delta", delta), ("unlearn_lr", unlearn_lr), ("noise", noise), ("damping", damping),
                        ("tau", tau)):
            check(is_number(v) and v >= 0, name, v, "a number >= 0")
        check(isinstance(fisher_batch, int) and fisher_batch >= 1, "fisher_batch", fisher_batch, "an integer >= 1")
        self.host, self.host_kwargs, self.delta, self.unlearn_lr = host, host_kwargs, delta, unlearn_lr
        self.noise, self.damping, self.tau, self.fisher_batch, self.seed = noise, damping, tau, fisher_batch, seed
        self.fisher_: dict[str, Tensor] = {}
        self.generator_: torch.Generator | None = None

    def setup(self, model, optimizer):
        self.generator_ = torch.Generator(device=next(model.parameters()).device).manual_seed(self.seed)
        return super().setup(model, optimizer)

    def observe(self, x: Tensor, y: Tensor) -> Tensor:
        loss = self.host_.observe(x, y)
        if self.delta:
            self._unlearn(x, y)
        return loss

    def _unlearn(self, x: Tensor, y: Tensor) -> None:
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        grads = torch.autograd.grad(F.cross_entropy(self.model(x, self.task_), y), [p for _, p in named],
                                    allow_unused=True)
        with torch.no_grad():
            for (name, p), g in zip(named, grads):
                if g is None:
                    continue
                step = self.unlearn_lr * g                              # theta_temp - theta after ascent
                u = step * (p.norm() / (step.norm() + 1e-20))
                eps = torch.randn(p.shape, generator=self.generator_, device=p.device, dtype=p.dtype)
                fisher = self.fisher_.get(name)
                scale = 1.0 if fisher is None else 1.0 / (1.0 + self.damping * fisher)
                p.add_(self.delta * scale * (u + self.noise * eps))

    def end(self, exp: Experience) -> None:
        self.host_.end(exp)
        if self.delta:
            new = fisher_weighted(self.model, exp, self.task_, self.fisher_batch)
            for name, f in new.items():
                self.fisher_[name] = self.tau * self.fisher_[name] + f if name in self.fisher_ else f


def fisher_weighted(model, exp: Experience, task, chunk: int) -> dict[str, Tensor]:
    """Mean over the experience's training samples of p(y|x) * (d log p(y|x) / d theta)^2, per
    parameter (the official ``end_task``), in evaluation mode (``_fisher.diag_fisher``)."""
    x, y = exp.train
    batches = ((as_float(x[i:i + chunk]), y[i:i + chunk]) for i in range(0, len(y), chunk))
    return diag_fisher(model, batches, task=task, weight="prob")
