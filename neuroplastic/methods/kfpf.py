"""k-FPF (Zhao, Zhou, Long, Jiang & Zhang, "Does Continual Learning Equally Forget All
Parameters?", ICML 2023): no replay at every step; plain SGD on the stream, and k times per
experience, at even intervals (the last at the experience's end), forgetting-prioritised
fine-tuning of the most sensitive modules on a small buffer. ``kfpf_sgd`` fine-tunes with
cross-entropy on the buffer; ``kfpf_kd`` adds DER's logit distillation (``alpha`` times the MSE to
the logits stored when each sample was first trained on).

No official code was found; a reconstruction [I]: the buffer is a reservoir over the stream
holding inputs, labels, the logits of the training forward pass and task ids; the sensitivity of
a module is its mean relative drift ||theta - theta'|| / ||theta'|| between consecutive FPF calls
(the first from the start of training), and the ``s`` most sensitive are fine-tuned for
``fpf_epochs`` epochs of SGD (lr ``fpf_lr``, batch ``fpf_batch_size``). The paper spreads k
calls over the whole stream; here k counts per experience, since a method does not know how
many experiences follow. ``s = 0`` switches FPF off (plain fine-tuning). ``trace_`` and
``fpf_samples_`` as in ``fpf``.
"""
from __future__ import annotations

import torch.nn.functional as F

from ..streams import Experience
from . import _fpf
from ._method import Method, check
from .er import _task_vector
from .fpf import check_fpf, fpf_point, init_fpf_state


class KFPF(Method):
    def __init__(self, *, k: int = 4, s: int = 3, buffer_size: int = 500, fpf_epochs: int = 5,
                 fpf_lr: float = 0.03, fpf_batch_size: int = 32, alpha: float = 0.0, seed: int = 0) -> None:
        super().__init__()
        check(isinstance(k, int) and not isinstance(k, bool) and k >= 1, "k", k, "FPF calls per experience, an integer >= 1")
        check_fpf(s, buffer_size, fpf_epochs, fpf_lr, fpf_batch_size, alpha)
        self.k, self.s, self.buffer_size, self.fpf_epochs = k, s, buffer_size, fpf_epochs
        self.fpf_lr, self.fpf_batch_size, self.alpha, self.seed = fpf_lr, fpf_batch_size, alpha, seed
        init_fpf_state(self)
        self.due_: list[int] = []
        self.step_ = 0
        self.index_ = 0

    def setup(self, model, optimizer):
        self.snapshot_ = _fpf.snapshot(model)
        return super().setup(model, optimizer)

    def begin(self, exp: Experience) -> None:
        super().begin(exp)
        self.index_ = exp.index

    def batches(self, exp: Experience, *, batch_size: int, epochs: int, generator):
        n = _fpf.steps_per_experience(len(exp.train[1]), batch_size, epochs)
        self.due_ = sorted({max(1, round(n * (i + 1) / self.k)) for i in range(self.k)})
        self.step_ = 0
        return super().batches(exp, batch_size=batch_size, epochs=epochs, generator=generator)

    def observe(self, x, y):
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        out = self.model(x, self.task_)
        loss = F.cross_entropy(out, y)
        loss.backward()
        self.optimizer.step()
        if self.s:
            self.buffer_.add(x, y, out.detach(), _task_vector(self.task_, y))
        self.step_ += 1
        if self.s and self.step_ in self.due_:
            fpf_point(self, self.index_)
        return loss.detach()


class KFPFKD(KFPF):
    """k-FPF-KD (Zhao, Zhou, Long, Jiang & Zhang, ICML 2023): k-FPF with DER's logit distillation in
    the fine-tuning (``alpha`` > 0); see ``KFPF``."""

    def __init__(self, *, k: int = 4, s: int = 3, buffer_size: int = 500, fpf_epochs: int = 5,
                 fpf_lr: float = 0.03, fpf_batch_size: int = 32, alpha: float = 0.3, seed: int = 0) -> None:
        super().__init__(k=k, s=s, buffer_size=buffer_size, fpf_epochs=fpf_epochs, fpf_lr=fpf_lr,
                         fpf_batch_size=fpf_batch_size, alpha=alpha, seed=seed)
