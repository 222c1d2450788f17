"""Test-time adaptation (TTA) methods: trained like fine-tuning, adapting while they predict.

A TTA method trains its source model with the ordinary ``observe`` (cross-entropy on clean data).
``start_adaptation()`` then snapshots the source state and configures what adapts; from there on
``predict(x)`` adapts on each unlabelled test batch and returns its scores (no label ever reaches
a TTA method: ``predict`` takes none). ``reset()`` restores the source state (TENT's episodic
reset and the reset between corruption shifts). ``end_adaptation()`` restores it for good.

Shared pieces: ``configure_norm`` puts BatchNorm layers into test-batch-statistics mode (TENT's
``configure_model``: train mode, no running statistics), ``entropy`` is the Shannon entropy of
the softmax per sample.
"""
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from ._method import Method

BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d)


def entropy(logits: Tensor) -> Tensor:
    """H(softmax(logits)) per sample (nats)."""
    logp = logits.log_softmax(1)
    return -(logp.exp() * logp).sum(1)


def configure_norm(model: nn.Module) -> list[nn.Module]:
    """BatchNorm layers normalise with the test batch's statistics (and keep no running ones);
    every other module stays in eval mode. Returns the BatchNorm layers."""
    model.eval()
    norms = [m for m in model.modules() if isinstance(m, BN_TYPES)]
    for m in norms:
        m.train()
        m.track_running_stats = False
        m.running_mean, m.running_var = None, None
    return norms


class TTAMethod(Method):
    scenarios = ("class",)
    #: TTA methods run on the test-time-adaptation protocol (``neuroplastic.tta``)
    adapts = True

    def __init__(self) -> None:
        super().__init__()
        self.adapting_ = False

    # ------------------------------------------------------------------ the protocol
    def start_adaptation(self) -> "TTAMethod":
        self._source = copy.deepcopy(self.model)
        self.adapting_ = True
        self.configure()
        return self

    def reset(self) -> None:
        """Back to the source model (state and modules), adaptation state re-initialised."""
        self._restore()
        self.configure()

    def _restore(self) -> None:
        self._restore_norm_modules()
        self.model.load_state_dict(self._source.state_dict())

    def end_adaptation(self) -> None:
        self._restore()
        self.model.requires_grad_(True)
        self.model.eval()
        self.adapting_ = False

    def _restore_norm_modules(self) -> None:
        src = dict(self._source.named_modules())
        for name, m in self.model.named_modules():
            if isinstance(m, BN_TYPES):
                s = src[name]
                m.track_running_stats = s.track_running_stats
                m.running_mean = None if s.running_mean is None else s.running_mean.clone()
                m.running_var = None if s.running_var is None else s.running_var.clone()
                m.num_batches_tracked = None if s.num_batches_tracked is None else s.num_batches_tracked.clone()

    # ------------------------------------------------------------------ subclasses
    def configure(self) -> None:
        """Put the model into its adaptation mode (after start_adaptation and every reset)."""
        self.model.eval()

    def adapt(self, x: Tensor) -> Tensor:
        """Adapt on the batch and return its class scores."""
        with torch.no_grad():
            return self.model(x)

    def predict(self, x: Tensor, task: int | None = None) -> Tensor:
        if not self.adapting_:
            return super().predict(x, task)
        return self.adapt(x).detach()
