"""Averaged Gradient Episodic Memory (Chaudhry et al. 2019, ICLR, eq. 11).

With g the gradient on the current batch and g_ref the gradient on a batch of ``sample_size``
examples from the episodic memory: if g . g_ref < 0, g <- g - (g . g_ref / g_ref . g_ref) g_ref.
The memory holds ``buffer_size`` examples split equally over the experiences seen so far (a
random subset of each experience, stored when it ends).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..streams import as_float
from ._buffer import TaskBalanced
from ._method import Method, check
from .er import _as_task, _task_vector


class AGEM(Method):
    def __init__(self, *, buffer_size: int = 500, sample_size: int = 256, seed: int = 0) -> None:
        super().__init__()
        check(isinstance(buffer_size, int) and buffer_size > 0, "buffer_size", buffer_size, "a positive integer")
        check(isinstance(sample_size, int) and sample_size > 0, "sample_size", sample_size, "a positive integer")
        self.buffer_size, self.sample_size, self.seed = buffer_size, sample_size, seed
        self.memory_ = TaskBalanced(buffer_size, torch.Generator().manual_seed(seed))

    def observe(self, x, y):
        self.model.train()
        params = [p for p in self.model.parameters() if p.requires_grad]
        ref = None
        if len(self.memory_):
            mx, my, mt = self.memory_.sample(self.sample_size)
            self.optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(self.model(mx, _as_task(self.task_, mt)), my).backward()
            ref = torch.cat([_flat_grad(p) for p in params])
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(x, y)
        loss.backward()
        if ref is not None:
            g = torch.cat([_flat_grad(p) for p in params])
            dot = torch.dot(g, ref)
            if dot < 0:
                g = g - dot / torch.dot(ref, ref).clamp_min(1e-12) * ref
                offset = 0
                for p in params:
                    n = p.numel()
                    p.grad = g[offset: offset + n].view_as(p).clone()
                    offset += n
        self.optimizer.step()
        return loss.detach()

    def end(self, exp) -> None:
        x, y = exp.train
        self.memory_.add_task(as_float(x), y, _task_vector(exp.task, y))


def _flat_grad(p):
    return (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
