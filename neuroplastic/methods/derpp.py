"""Dark Experience Replay++ (Buzzega et al. 2020, NeurIPS, eq. 6).

    L = CE(y, f(x)) + alpha * ||f(x') - z'||^2 + beta * CE(y'', f(x''))

(x', z') and (x'', y'') are two independent draws from a reservoir buffer of inputs, labels and
the logits z the network gave when the input was first seen. Defaults alpha = 0.2, beta = 1.0
recall Mammoth's best arguments for Seq-MNIST with a 500-sample buffer [M: not verified here].
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ._buffer import Reservoir
from ._method import Method, check, is_number
from .er import _as_task, _task_vector


class DERpp(Method):
    def __init__(self, *, buffer_size: int = 500, alpha: float = 0.2, beta: float = 1.0,
                 replay_batch_size: int | None = None, seed: int = 0) -> None:
        super().__init__()
        check(isinstance(buffer_size, int) and buffer_size > 0, "buffer_size", buffer_size, "a positive integer")
        check(is_number(alpha) and alpha >= 0, "alpha", alpha, "a number >= 0")
        check(is_number(beta) and beta >= 0, "beta", beta, "a number >= 0")
        check(replay_batch_size is None or (isinstance(replay_batch_size, int) and replay_batch_size > 0),
              "replay_batch_size", replay_batch_size, "a positive integer or None (the training batch size)")
        self.buffer_size, self.alpha, self.beta = buffer_size, alpha, beta
        self.replay_batch_size, self.seed = replay_batch_size, seed
        self.buffer_ = Reservoir(buffer_size, torch.Generator().manual_seed(seed))

    def observe(self, x, y):
        self.model.train()
        task = _task_vector(self.task_, y)
        self.optimizer.zero_grad(set_to_none=True)
        out = self.model(x, self.task_)
        loss = F.cross_entropy(out, y)
        if len(self.buffer_):
            k = self.replay_batch_size or len(y)
            mx, _, mz, mt = self.buffer_.sample(k)
            loss = loss + self.alpha * F.mse_loss(self.model(mx, _as_task(self.task_, mt)), mz)
            mx, my, _, mt = self.buffer_.sample(k)
            loss = loss + self.beta * F.cross_entropy(self.model(mx, _as_task(self.task_, mt)), my)
        loss.backward()
        self.optimizer.step()
        self.buffer_.add(x, y, out.detach(), task)
        return loss.detach()
