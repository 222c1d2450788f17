"""The Method contract: ``begin / observe / end / predict`` (Mammoth's observe(), scikit-learn's
constructor contract).

* The constructor only records keyword-only hyper-parameters under the same names
  (``get_params`` returns them) and validates them with errors that name the bad value.
* ``setup(model, optimizer)`` binds the network and its optimizer (the runner calls it once).
* ``begin(exp)``: an experience starts (task id, classes).
* ``batches(exp, ...)``: the mini-batches to train on; by default shuffled index batches of the
  experience's training data (a method such as ``joint`` trains on more than the current data).
* ``observe(x, y)``: one training step on a float batch on the model's device; returns the
  detached loss.
* ``end(exp)``: the experience is over (consolidation, buffers, Fisher, ...).
* ``predict(x, task=None)``: class scores (N, n_classes). Test-time-adaptation methods adapt here.

Learned state ends in ``_`` (``fisher_``, ``buffer_``).
"""
from __future__ import annotations

import inspect
import math
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..streams import Experience, as_float


def check(cond: bool, name: str, value, expected: str) -> None:
    """Raise ValueError naming the hyper-parameter, the value received and what is expected."""
    if not cond:
        raise ValueError(f"{name}={value!r} is invalid: expected {expected}.")


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class Method:
    """Base class: plain fine-tuning with cross-entropy. Subclasses override what differs."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    #: the model a method needs (None: any harness model); what check_method builds it with
    needs_model: str | None = None
    check_model_kwargs: dict = {}
    #: SGD settings the contract check must use (e.g. plain gradient descent: {"momentum": 0.0})
    check_sgd: dict = {}
    #: the scenarios a method supports (a single-head method cannot run task-incremental)
    scenarios: tuple[str, ...] = ("class", "task")

    def __init__(self) -> None:
        self.task_: int | None = None
        self.seen_classes_: list[int] = []

    # ------------------------------------------------------------------ contract
    @classmethod
    def param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.kind is p.KEYWORD_ONLY]

    def get_params(self) -> dict:
        return {name: getattr(self, name) for name in self.param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def setup(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> "Method":
        self.model, self.optimizer = model, optimizer
        return self

    def begin(self, exp: Experience) -> None:
        self.task_ = exp.task
        self.seen_classes_ = sorted(set(self.seen_classes_) | set(exp.classes))

    def batches(self, exp: Experience, *, batch_size: int, epochs: int,
                generator: torch.Generator) -> Iterator[tuple[Tensor, Tensor]]:
        x, y = exp.train
        yield from index_batches(x, y, batch_size=batch_size, epochs=epochs, generator=generator)

    def observe(self, x: Tensor, y: Tensor) -> Tensor:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(x, y)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def loss(self, x: Tensor, y: Tensor) -> Tensor:
        """The training objective on a batch; regularisation methods add to it."""
        return F.cross_entropy(self.model(x, self.task_), y)

    def end(self, exp: Experience) -> None:
        pass

    @torch.no_grad()
    def predict(self, x: Tensor, task: int | None = None) -> Tensor:
        self.model.eval()
        return self.model(x, task)


def index_batches(x: Tensor, y: Tensor, *, batch_size: int, epochs: int,
                  generator: torch.Generator, extra: tuple[Tensor, ...] = ()) -> Iterator[tuple[Tensor, ...]]:
    """Shuffled mini-batches by index over in-memory tensors, converted to float on their device."""
    n = len(y)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator).to(y.device)
        for i in range(0, n, batch_size):
            idx = order[i : i + batch_size]
            yield (as_float(x[idx]), y[idx], *(e[idx] for e in extra))
