"""Models for the harness: ``mlp``, ``cnn``, ``snn_mlp``, ``diehl_cook``, ``softhebb_cnn``, ``bnn``, ``liquid`` and ``esn``,
single-head or multi-head (task-incremental).

Every model is ``model(x, task=None) -> logits`` over all classes of the stream and has
``features(x)`` (the input of the head) for plasticity figures.
"""
from __future__ import annotations

from torch import nn

from .._registry import check_kwargs, check_name
from .bnn import BNN
from .cnn import CNN
from .diehl_cook import DiehlCook
from .esn import EchoStateNetwork
from .liquid import LiquidModel
from .mlp import MLP
from .snn import SpikingMLP
from .softhebb_cnn import SoftHebbCNN

MODELS = {"mlp": MLP, "cnn": CNN, "snn_mlp": SpikingMLP, "diehl_cook": DiehlCook,
          "softhebb_cnn": SoftHebbCNN, "bnn": BNN, "liquid": LiquidModel,
          "esn": EchoStateNetwork}


def make(name: str, *, in_shape, n_classes: int, task_classes=None, **kwargs) -> nn.Module:
    cls = MODELS[check_name(name, MODELS, "model")]
    check_kwargs(cls, kwargs, f"model {name!r}")
    return cls(in_shape=tuple(in_shape), n_classes=n_classes, task_classes=task_classes, **kwargs)


__all__ = ["BNN", "CNN", "DiehlCook", "EchoStateNetwork", "LiquidModel", "MLP", "MODELS", "SoftHebbCNN", "SpikingMLP", "make"]
