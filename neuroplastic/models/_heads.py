"""Output heads: one shared head, or one head per task (task-incremental learning).

A multi-head output over disjoint class sets is a single linear layer whose logits outside the
sample's task are masked; that is how it is built here (as in Mammoth's task-IL evaluation), so
replay batches that mix tasks need one forward pass. ``task`` may be None (no mask), an int, or a
tensor of one task id per sample.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

MASKED = -1e4   # finite, so distillation and softmax stay free of inf - inf


class Head(nn.Module):
    def __init__(self, n_in: int, n_classes: int, task_classes: list[tuple[int, ...]] | None = None):
        super().__init__()
        self.fc = nn.Linear(n_in, n_classes)
        if task_classes is None:
            self.register_buffer("mask", torch.ones(0, n_classes, dtype=torch.bool), persistent=False)
        else:
            mask = torch.zeros(len(task_classes), n_classes, dtype=torch.bool)
            for t, cls in enumerate(task_classes):
                mask[t, list(cls)] = True
            self.register_buffer("mask", mask, persistent=False)

    @property
    def multi_head(self) -> bool:
        return len(self.mask) > 0

    def forward(self, h: Tensor, task: int | Tensor | None = None) -> Tensor:
        out = self.fc(h)
        if task is None or not self.multi_head:
            return out
        allowed = self.mask[task] if isinstance(task, int) else self.mask[task.to(self.mask.device)]
        return out.masked_fill(~allowed, MASKED)
