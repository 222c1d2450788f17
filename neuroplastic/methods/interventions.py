"""Interventions against the loss of plasticity, each fine-tuning plus one mechanism. They act on
the chain of ``nn.Linear`` layers of an MLP-shaped model (hidden layers followed by ReLU, then
the head); a unit is a hidden layer's output neuron.

* ``redo``: ReDo, recycling dormant neurons (Sokar, Agarwal, Castro & Evci 2023, ICML). A unit
  is tau-dormant when its mean |activation| on a batch, divided by the layer's mean of that, is
  <= tau (0.1 here; the paper's DQN default is 0.1 for recycling, 0.025 for the monitor). Every
  ``every`` steps (0: at the start of each experience but the first) dormant units get fresh
  incoming weights (the layer's default initialisation) and zero outgoing weights; their
  optimizer state is cleared.
* ``shrink_perturb``: shrink-and-perturb (Ash & Adams 2020, NeurIPS): at the start of each
  experience but the first, theta <- shrink * theta + perturb * theta_fresh, theta_fresh a new
  default initialisation of the same layer (shrink 0.8, perturb 0.1 here [I]; the paper tunes both).
* ``adaptive_ur``: the adaptive replay ratio of Ma et al. 2024 (ICLR, "Revisiting plasticity in
  visual RL"; Guozheng-Ma/Adaptive-Replay-Ratio) carried to supervised streams [I]: start with
  ``low`` gradient updates per batch; track the fraction of active units (FAU) averaged over
  ``window`` batches; once it changes by at most ``plateau`` between two windows, switch to
  ``high`` updates per batch for the rest of the run (official: RR 0.5 -> 2, window 50 episodes,
  threshold 0.001).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..metrics.plasticity import dormant_mask
from ..streams import Experience, as_float
from ._method import Method, check, is_number


def linear_chain(model: nn.Module) -> list[nn.Linear]:
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(layers) < 2:
        raise ValueError("this intervention needs a model with hidden nn.Linear layers (e.g. model.name='mlp').")
    return layers


def fresh_like(layer: nn.Linear) -> nn.Linear:
    """A new Linear of the same shape, device and dtype, with PyTorch's default initialisation."""
    return nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None).to(layer.weight)


class _HiddenActivations:
    """Records relu(output) of each hidden Linear layer through forward hooks."""

    def __init__(self, layers: list[nn.Linear]):
        self.acts: list[Tensor | None] = [None] * len(layers)
        self.handles = [layer.register_forward_hook(self._hook(i)) for i, layer in enumerate(layers)]

    def _hook(self, i):
        def fn(module, inputs, output):
            self.acts[i] = F.relu(output.detach()).flatten(1)
        return fn


class ReDo(Method):
    def __init__(self, *, tau: float = 0.1, every: int = 0) -> None:
        super().__init__()
        check(is_number(tau) and 0 <= tau < 1, "tau", tau, "a number in [0, 1)")
        check(isinstance(every, int) and every >= 0, "every", every, "an integer >= 0 (0: per experience)")
        self.tau, self.every = tau, every
        self.steps_ = 0
        self.trace_: dict = {"reset_units": []}

    def setup(self, model, optimizer):
        super().setup(model, optimizer)
        self.layers_ = linear_chain(model)
        self.rec_ = _HiddenActivations(self.layers_[:-1])
        return self

    @torch.no_grad()
    def recycle(self, x: Tensor) -> int:
        self.model(x, self.task_)
        n = 0
        for i, act in enumerate(self.rec_.acts):
            dead = dormant_mask(act, self.tau).nonzero().flatten()
            if not len(dead):
                continue
            layer, nxt, fresh = self.layers_[i], self.layers_[i + 1], fresh_like(self.layers_[i])
            layer.weight[dead] = fresh.weight[dead]
            if layer.bias is not None:
                layer.bias[dead] = fresh.bias[dead]
            nxt.weight[:, dead] = 0
            for p, idx in ((layer.weight, dead), (layer.bias, dead)):
                st = self.optimizer.state.get(p, {})
                for v in st.values():
                    if torch.is_tensor(v) and v.shape[:1] == p.shape[:1]:
                        v[idx] = 0
            st = self.optimizer.state.get(nxt.weight, {})
            for v in st.values():
                if torch.is_tensor(v) and v.shape == nxt.weight.shape:
                    v[:, dead] = 0
            n += len(dead)
        self.trace_["reset_units"].append(n)
        return n

    def begin(self, exp: Experience) -> None:
        super().begin(exp)
        if self.every == 0 and exp.index > 0:
            x = exp.train[0]
            self.recycle(as_float(x[torch.randperm(len(x))[:256].to(x.device)]))

    def observe(self, x, y):
        loss = super().observe(x, y)
        self.steps_ += 1
        if self.every and self.steps_ % self.every == 0:
            self.recycle(x)
        return loss


class ShrinkPerturb(Method):
    """Shrink-and-perturb (Ash & Adams 2020): theta <- shrink * theta + perturb * theta_fresh at the
    start of each experience but the first."""

    def __init__(self, *, shrink: float = 0.8, perturb: float = 0.1) -> None:
        super().__init__()
        check(is_number(shrink) and 0 < shrink <= 1, "shrink", shrink, "a number in (0, 1]")
        check(is_number(perturb) and perturb >= 0, "perturb", perturb, "a number >= 0")
        self.shrink, self.perturb = shrink, perturb

    def begin(self, exp: Experience) -> None:
        super().begin(exp)
        if exp.index == 0:
            return
        with torch.no_grad():
            for layer in linear_chain(self.model):
                fresh = fresh_like(layer)
                layer.weight.mul_(self.shrink).add_(self.perturb * fresh.weight)
                if layer.bias is not None:
                    layer.bias.mul_(self.shrink).add_(self.perturb * fresh.bias)


class AdaptiveUpdateRatio(Method):
    """Adaptive replay ratio (Ma et al. 2024) on supervised streams: ``low`` updates per batch until
    the fraction of active units plateaus, then ``high``."""

    def __init__(self, *, low: int = 1, high: int = 2, window: int = 50, plateau: float = 0.001) -> None:
        super().__init__()
        check(isinstance(low, int) and low >= 1, "low", low, "an integer >= 1 (updates per batch)")
        check(isinstance(high, int) and high >= low, "high", high, "an integer >= low")
        check(isinstance(window, int) and window >= 1, "window", window, "an integer >= 1 (batches)")
        check(is_number(plateau) and plateau >= 0, "plateau", plateau, "a number >= 0")
        self.low, self.high, self.window, self.plateau = low, high, window, plateau
        self.ratio_, self.fau_, self.prev_window_ = low, [], None
        self.trace_: dict = {"updates_per_batch": [], "fau": []}

    def setup(self, model, optimizer):
        super().setup(model, optimizer)
        self.rec_ = _HiddenActivations(linear_chain(model)[:-1])
        return self

    def observe(self, x, y):
        for _ in range(self.ratio_):
            loss = super().observe(x, y)
        fau = float(torch.cat([(a > 0).float().mean(0) for a in self.rec_.acts]).mean())
        self.fau_.append(fau)
        if self.ratio_ == self.low and len(self.fau_) == self.window:
            mean = sum(self.fau_) / self.window
            if self.prev_window_ is not None and abs(mean - self.prev_window_) <= self.plateau:
                self.ratio_ = self.high
            self.prev_window_, self.fau_ = mean, []
        elif len(self.fau_) >= self.window:
            self.fau_ = []
        self.trace_["updates_per_batch"].append(self.ratio_)
        self.trace_["fau"].append(fau)
        return loss
