"""Shared machinery of the gradient-projection methods (``hlop``, ``gpm``, ``owm``).

Every ``nn.Linear`` and ``nn.Conv2d`` of the model (in registration order: body, then head) is a
protected layer. Its weight gradient, seen as a matrix G (out, in) with ``in`` = the layer's input
dimension (C k k for a convolution: the unfolded patch), is modified on the right by a projector on
the input space: G <- G - (G B^T) B for an orthonormal basis B (k, in) of old-task inputs (HLOP,
GPM), or G <- G P for a general projector P (OWM). Because dL/dW = delta^T x, G B^T B = 0 makes
the update orthogonal to the stored input subspace, so old inputs keep their responses (to
first order for deeper layers).

``layer_inputs(model, x)`` returns each protected layer's input activity as (samples, in):
through forward hooks for ordinary models (conv inputs unfolded by the rules' ``as_rows``), or the model's own ``layer_rates(x)`` for spiking
models whose layers are not called as modules (presynaptic firing rates, as HLOP's traces).

Following HLOP's and GPM's code, the optimizer state is cleared when a task begins (the official
scripts build a new optimizer per task) and the 1-D parameters (biases) are frozen after the first
task (a bias is a weight on a constant input; leaving it plastic would shift old responses).
Projection is exact for SGD (momentum of projected gradients stays in the complement); weight
decay and Adam's per-coordinate scaling would leave the complement, so ``setup`` refuses them.
"""
from __future__ import annotations

import logging

import torch
from torch import Tensor, nn

from ..rules._rule import as_rows
from ._method import Method

log = logging.getLogger(__name__)


def protected_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


@torch.no_grad()
def layer_inputs(model: nn.Module, x: Tensor, task=None) -> list[Tensor]:
    """Each protected layer's input activity on the batch ``x``, as (samples, in) matrices."""
    if hasattr(model, "layer_rates"):
        return model.layer_rates(x)
    layers, out = protected_layers(model), {}
    hooks = [layer.register_forward_hook(lambda m, inp, o, i=i: out.__setitem__(i, as_rows(m, inp[0], o)[0]))
             for i, layer in enumerate(layers)]
    try:
        model(x, task)
    finally:
        for h in hooks:
            h.remove()
    return [out[i] for i in range(len(layers))]


def project_out_(grad: Tensor, basis: Tensor) -> None:
    """grad (out, ...) <- grad - (grad B^T) B for an orthonormal row basis B (k, in), in place."""
    if basis is None or len(basis) == 0:
        return
    g = grad.view(grad.shape[0], -1)
    g.sub_((g @ basis.T) @ basis)


def per_layer(value, n: int, name: str) -> list:
    """A scalar for every layer, or a list with one value per protected layer."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name}={list(value)!r} has {len(value)} values but the model has {n} protected layers "
                             f"(Linear/Conv2d, head included): give {n} values or one for all.")
        return list(value)
    return [value] * n


class ProjectionMethod(Method):
    """Fine-tuning whose weight gradients are projected by ``project_grads`` from the second task
    on; subclasses keep the per-layer bases and update them."""

    scenarios = ("class", "task")

    def setup(self, model, optimizer):
        for group in optimizer.param_groups:
            if group.get("weight_decay", 0):
                raise ValueError(f"method {type(self).__name__.lower()!r} projects the gradients; weight decay would move "
                                 "the weights inside the protected subspace: set train.weight_decay = 0.")
        if not isinstance(optimizer, torch.optim.SGD):
            raise ValueError(f"method {type(self).__name__.lower()!r} projects the gradients, which only an SGD update "
                             "keeps orthogonal to the protected subspace: set train.optimizer = \"sgd\".")
        super().setup(model, optimizer)
        self.layers_ = protected_layers(model)
        self.n_tasks_seen_ = 0
        self.classes_seen_: set[int] = set()
        self.warned_ = False
        return self

    def begin(self, exp) -> None:
        super().begin(exp)
        self.optimizer.state.clear()
        classes = set(exp.classes)
        new = classes - self.classes_seen_
        if self.n_tasks_seen_ and exp.task is None and new and not self.warned_:
            self.warned_ = True
            log.warning("%s on a class-incremental stream: new classes %s reach the single head only through "
                        "inputs outside the protected subspace (biases are frozen), so they may be learned only in "
                        "part or not at all. The method's papers use domain-incremental streams (permuted) or "
                        "task-incremental ones (scenario = \"task\", a head per task).",
                        type(self).__name__.lower(), sorted(new))
        self.classes_seen_ |= classes

    def end(self, exp) -> None:
        self.n_tasks_seen_ += 1

    def project_grads(self) -> None:
        raise NotImplementedError

    def after_step(self, x: Tensor) -> None:
        pass

    def observe(self, x: Tensor, y: Tensor) -> Tensor:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(x, y)
        loss.backward()
        with torch.no_grad():
            if self.n_tasks_seen_ > 0:
                for layer in self.layers_:
                    if layer.bias is not None:
                        layer.bias.grad = None          # frozen after the first task
            self.project_grads()
        self.optimizer.step()
        self.after_step(x)
        return loss.detach()
