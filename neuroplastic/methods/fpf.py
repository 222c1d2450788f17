"""FPF, forgetting-prioritised fine-tuning (Zhao, Zhou, Long, Jiang & Zhang, "Does Continual
Learning Equally Forget All Parameters?", ICML 2023): after a host continual-learning method
finishes an experience, fine-tune only the few modules that move most between experiences on a
small replay buffer.

No official code was found; everything but the idea is a reconstruction [I]:
* sensitivity: each module's relative drift ||theta_t - theta_{t-1}|| / ||theta_{t-1}|| between
  consecutive experience ends (the first experience is measured from the start of training); the
  ``s`` modules with the largest mean drift so far are fine-tuned (the paper reads the same
  training dynamics off a ResNet-18 and finds BatchNorm layers and the head most sensitive in
  class-incremental learning);
* FPF runs at the end of every experience from the second on (the paper runs it once, after the
  last; the final model is the same kind of object, and the accuracy matrix gets a row per
  experience), ``fpf_epochs`` epochs of SGD (lr ``fpf_lr``, batch ``fpf_batch_size``) on a
  reservoir buffer of ``buffer_size`` samples kept by FPF itself, with cross-entropy, plus
  ``alpha`` times DER's logit distillation on the stored logits when alpha > 0;
* ``s = 0`` switches FPF off and leaves the host alone.

``host`` names any registered method and ``host_kwargs`` its hyper-parameters. ``trace_`` records
per experience the drift of every module and the modules fine-tuned; ``fpf_samples_`` counts the
samples that went through forward and backward during FPF.
"""
from __future__ import annotations

import torch

from ..streams import Experience
from . import _fpf
from ._buffer import Reservoir
from ._hosted import Hosted
from ._method import check, is_number
from .er import _task_vector


def check_fpf(s, buffer_size, fpf_epochs, fpf_lr, fpf_batch_size, alpha) -> None:
    check(isinstance(s, int) and not isinstance(s, bool) and s >= 0, "s", s,
          "the number of most sensitive modules to fine-tune, an integer >= 0 (0: off)")
    check(isinstance(buffer_size, int) and buffer_size > 0, "buffer_size", buffer_size, "a positive integer")
    check(isinstance(fpf_epochs, int) and fpf_epochs >= 0, "fpf_epochs", fpf_epochs, "an integer >= 0")
    check(is_number(fpf_lr) and fpf_lr > 0, "fpf_lr", fpf_lr, "a positive number")
    check(isinstance(fpf_batch_size, int) and fpf_batch_size > 0, "fpf_batch_size", fpf_batch_size,
          "a positive integer")
    check(is_number(alpha) and alpha >= 0, "alpha", alpha, "a number >= 0 (0: cross-entropy only)")


class FPF(Hosted):
    def __init__(self, *, host: str = "er", host_kwargs: dict | None = None, s: int = 3, buffer_size: int = 500,
                 fpf_epochs: int = 5, fpf_lr: float = 0.03, fpf_batch_size: int = 32, alpha: float = 0.0,
                 seed: int = 0) -> None:
        super().__init__()
        self.make_host(host, host_kwargs, seed, "'er', 'derpp' or 'finetune'")
        check_fpf(s, buffer_size, fpf_epochs, fpf_lr, fpf_batch_size, alpha)
        self.host, self.host_kwargs, self.s, self.buffer_size = host, host_kwargs, s, buffer_size
        self.fpf_epochs, self.fpf_lr, self.fpf_batch_size, self.alpha, self.seed = (
            fpf_epochs, fpf_lr, fpf_batch_size, alpha, seed)
        init_fpf_state(self)

    def setup(self, model, optimizer):
        self.snapshot_ = _fpf.snapshot(model)
        return super().setup(model, optimizer)

    def observe(self, x, y):
        loss = self.host_.observe(x, y)
        if self.s:
            if self.alpha > 0:          # the logits to distil: one more forward pass (the host's are hidden)
                with torch.no_grad():
                    self.model.eval()
                    z = self.model(x, self.task_)
            else:
                z = torch.zeros(len(y), 1, device=y.device)
            self.buffer_.add(x, y, z, _task_vector(self.task_, y))
        return loss

    def end(self, exp: Experience) -> None:
        self.host_.end(exp)
        fpf_point(self, exp.index, tune=exp.index > 0)


def init_fpf_state(m) -> None:
    """The learned state of an FPF method: its buffer, drift scores, last snapshot and trace."""
    m.buffer_ = Reservoir(m.buffer_size, torch.Generator().manual_seed(m.seed + 1))
    m.generator_ = torch.Generator().manual_seed(m.seed + 2)
    m.scores_: dict[str, list[float]] = {}
    m.snapshot_: dict | None = None
    m.fpf_samples_ = 0
    m.trace_: dict = {"experience": [], "drift": [], "tuned": []}


def fpf_point(m, index: int, *, tune: bool = True) -> None:
    """One FPF point: record each module's drift since the last point, fine-tune the s most
    sensitive on the buffer (when ``tune`` and s > 0), take a new snapshot, trace it."""
    drift = _fpf.relative_drift(m.snapshot_, _fpf.snapshot(m.model))
    for n, d in drift.items():
        m.scores_.setdefault(n, []).append(d)
    tuned = _fpf.most_sensitive(m.scores_, m.s) if m.s and tune else []
    if tuned:
        m.fpf_samples_ += _fpf.finetune_on_buffer(
            m.model, tuned, m.buffer_.sample(len(m.buffer_)), epochs=m.fpf_epochs, lr=m.fpf_lr,
            batch_size=m.fpf_batch_size, alpha=m.alpha, task=m.task_, generator=m.generator_)
    m.snapshot_ = _fpf.snapshot(m.model)
    m.trace_["experience"].append(index)
    m.trace_["drift"].append(drift)
    m.trace_["tuned"].append(tuned)
