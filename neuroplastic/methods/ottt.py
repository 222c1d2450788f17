"""OTTT: a spiking MLP trained online through time (Xiao et al., NeurIPS 2022), memory constant in T.

Each training batch runs ``neurons.ottt.ottt_pass``: the network one time step at a time, the
instantaneous loss back-propagated at every step through that step's layers only, weight gradients
from presynaptic eligibility traces. ``online=False`` (OTTT_A, the default) steps the optimizer once
per batch with the gradients summed over the T steps; ``online=True`` (OTTT_O) after every step.
Otherwise plain fine-tuning (no protection against forgetting); predictions use the model's
ordinary forward pass (same dynamics, no gradients).
"""
from __future__ import annotations

from torch import Tensor

from ..neurons.ottt import ottt_pass
from ._method import Method, check


class OTTT(Method):
    needs_model = "snn_mlp"
    check_model_kwargs = {"widths": [32], "T": 4}

    def __init__(self, *, online: bool = False) -> None:
        super().__init__()
        check(isinstance(online, bool), "online", online, "true (update every time step, OTTT_O) or false (OTTT_A)")
        self.online = online

    def setup(self, model, optimizer) -> "OTTT":
        if not hasattr(model, "params_lif") or not hasattr(model, "layers"):
            raise ValueError(f"method 'ottt' trains a spiking MLP: set model.name = \"snn_mlp\" (got {type(model).__name__}).")
        return super().setup(model, optimizer)

    def observe(self, x: Tensor, y: Tensor) -> Tensor:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss, _ = ottt_pass(self.model, x, y, task=self.task_, optimizer=self.optimizer, online=self.online)
        if not self.online:
            self.optimizer.step()
        return loss
