"""The Rule base: a local plasticity rule shaped like ``torch.optim.Optimizer``, fed by forward hooks.

``Rule(layers, defaults)`` takes ``nn.Linear`` / ``nn.Conv2d`` layers (or param-group dicts
``{"layers": [...], "lr": ...}``) and registers a forward hook on each that records the layer's
input ``pre`` and linear output ``post`` (before any nonlinearity that follows the layer) for the
latest batch. Then

* ``deltas()`` returns ``{weight: dw}`` for every layer that has a record (no side effects);
* ``step(modulator=1.0)`` applies ``w += lr * modulator * dw`` (a scalar modulator, or one value
  per output neuron), commits the rule's state (traces, thresholds) and drops the records;
* ``state_dict()`` / ``load_state_dict()`` round-trip hyper-parameters and state;
* ``remove()`` removes the hooks.

A convolution is treated as a linear layer over its input patches: ``pre`` becomes the unfolded
patches (N * L, C_in * k * k), ``post`` the matching outputs (N * L, C_out), the weight its
(C_out, C_in * k * k) view; the update is folded back to the kernel's shape. The border is padded
as the layer pads it (zeros, reflect, replicate or circular). Rules therefore only
see ``w`` (n_out, n_in), ``pre`` (B, n_in) and ``post`` (B, n_out).

Batch reduction: every rule averages over the B rows of the batch (``reduction="mean"``, the
default) or sums them (``reduction="sum"``). For a convolution the rows are all (sample,
position) pairs.

To route an update through a torch optimizer (momentum, weight decay):
``for w, dw in rule.deltas().items(): w.grad = -dw`` then ``opt.step()``.
"""
from __future__ import annotations

import inspect
import math
from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LAYER_TYPES = (nn.Linear, nn.Conv2d)


def check_hyper(cond: bool, name: str, value, expected: str) -> None:
    if not cond:
        raise ValueError(f"{name}={value!r} is invalid: expected {expected}.")


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def common_hyper(lr, reduction: str, **more) -> dict:
    """Validate the hyper-parameters every rule shares; returns them with ``more`` as defaults."""
    check_hyper(is_number(lr) and lr > 0, "lr", lr, "a number > 0")
    check_hyper(reduction in ("mean", "sum"), "reduction", reduction, "'mean' or 'sum'")
    return dict(lr=lr, **more, reduction=reduction)


def as_rows(layer: nn.Module, pre: Tensor, post: Tensor) -> tuple[Tensor, Tensor]:
    """(pre, post) as (B, n_in), (B, n_out) rows; conv inputs become unfolded patches."""
    if isinstance(layer, nn.Linear):
        return pre.reshape(-1, pre.shape[-1]), post.reshape(-1, post.shape[-1])
    if isinstance(layer.padding, str):
        raise ValueError(f"{layer}: give conv padding as numbers, not {layer.padding!r}.")
    padding = layer.padding
    if layer.padding_mode != "zeros":     # reflect / replicate / circular: pad as the layer does
        ph, pw = layer.padding
        pre = F.pad(pre, (pw, pw, ph, ph), mode=layer.padding_mode)
        padding = 0
    patches = F.unfold(pre, layer.kernel_size, dilation=layer.dilation, padding=padding,
                       stride=layer.stride)                                # (N, C*k*k, L)
    if layer.groups != 1:
        raise ValueError(f"{layer}: grouped convolutions are not supported by Rule.")
    rows_pre = patches.transpose(1, 2).reshape(-1, patches.shape[1])
    rows_post = post.flatten(2).transpose(1, 2).reshape(-1, post.shape[1])
    return rows_pre, rows_post


def weight_matrix(layer: nn.Module) -> Tensor:
    """The layer's weight as an (n_out, n_in) view."""
    w = layer.weight
    return w if w.dim() == 2 else w.reshape(w.shape[0], -1)


class Rule:
    """Base class; subclasses implement :meth:`delta` by calling their pure function."""

    #: the pure function: fn(w, pre, post, *state (in state_keys order), **hyper) -> dw or (dw, *state)
    fn = None
    #: names of per-layer state tensors the rule keeps (e.g. ("theta",) for BCM)
    state_keys: tuple[str, ...] = ()
    #: state keys with a leading batch axis (traces); they restart when the batch size changes
    per_sample_state: tuple[str, ...] = ()
    #: whether zero activity gives a zero update (homeostatic rules answer silence by growing)
    silence_is_fixed_point = True

    def __init__(self, layers: Iterable, defaults: dict[str, Any]):
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict[nn.Module, dict[str, Tensor]] = {}
        self._records: dict[nn.Module, tuple[Tensor, Tensor]] = {}
        self._handles: dict[nn.Module, Any] = {}
        self._post_of: dict[nn.Module, nn.Module] = {}
        self._pending: dict[nn.Module, Tensor] = {}
        layers = list(layers) if not isinstance(layers, nn.Module) else [layers]
        if not layers:
            raise ValueError("Rule got no layers; pass e.g. [net[0]] (nn.Linear or nn.Conv2d).")
        groups = layers if isinstance(layers[0], dict) else [{"layers": layers}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups and hooks
    def add_param_group(self, group: dict) -> None:
        group = dict(group)
        layers = group.pop("layers", None)
        if layers is None:
            raise ValueError("a param group needs 'layers': [nn.Linear or nn.Conv2d, ...].")
        layers = [layers] if isinstance(layers, (nn.Module, tuple)) else list(layers)
        pairs = [entry if isinstance(entry, tuple) else (entry, None) for entry in layers]
        layers = [layer for layer, _ in pairs]
        for k in group:
            if k not in self.defaults:
                raise ValueError(f"unknown hyper-parameter {k!r} for {type(self).__name__}; "
                                 f"valid: {', '.join(self.defaults)}.")
        for layer in layers:
            if not isinstance(layer, LAYER_TYPES):
                raise TypeError(f"{type(self).__name__} works on nn.Linear and nn.Conv2d, got "
                                f"{type(layer).__name__}; pass the layer itself, e.g. net[0].")
            if layer in self._handles:
                raise ValueError(f"{layer} is in two param groups.")
        for layer, post_module in pairs:
            if post_module is None:
                self._handles[layer] = layer.register_forward_hook(self._record)
            else:   # pre from the layer's input, post from another module's output (e.g. its neurons)
                self._post_of[post_module] = layer
                self._handles[layer] = (layer.register_forward_hook(self._record_pre),
                                        post_module.register_forward_hook(self._record_post))
        self.param_groups.append({**self.defaults, **group, "layers": layers})

    def _record(self, layer, inputs, output) -> None:
        self._records[layer] = (inputs[0].detach(), output.detach())

    def _record_pre(self, layer, inputs, output) -> None:
        self._pending[layer] = inputs[0].detach()

    def _record_post(self, module, inputs, output) -> None:
        layer = self._post_of[module]
        if layer in self._pending:
            out = output[0] if isinstance(output, tuple) else output
            self._records[layer] = (self._pending.pop(layer), out.detach())

    def remove(self) -> None:
        """Remove the forward hooks and drop any record."""
        for h in self._handles.values():
            for handle in (h if isinstance(h, tuple) else (h,)):
                handle.remove()
        self._handles.clear()
        self._records.clear()
        self._pending.clear()

    def zero_records(self) -> None:
        self._records.clear()

    # ------------------------------------------------------------------ the update
    def initial_state(self, w: Tensor, group: dict, pre: Tensor, post: Tensor) -> dict[str, Tensor]:
        """The state of a layer before its first step (stateful rules override)."""
        return {}

    def fn_kwargs(self, group: dict) -> dict:
        """The hyper-parameters of ``group`` that the pure function takes."""
        names = inspect.signature(type(self).fn).parameters
        return {k: v for k, v in group.items() if k in names}

    def delta(self, w: Tensor, pre: Tensor, post: Tensor, state: dict[str, Tensor],
              group: dict) -> tuple[Tensor, dict[str, Tensor]]:
        """(dw, new_state) for one layer from the pure function; never modifies its inputs."""
        if not state or any(state[k].shape[:1] != pre.shape[:1] and state[k].dim() == pre.dim()
                            for k in self.per_sample_state):
            state = self.initial_state(w, group, pre, post)     # (re)start, e.g. for a new batch size
        out = type(self).fn(w, pre, post, *[state[k] for k in self.state_keys], **self.fn_kwargs(group))
        if not self.state_keys:
            return out, {}
        dw, *new = out
        return dw, dict(zip(self.state_keys, new))

    def _layer_deltas(self):
        for group in self.param_groups:
            for layer in group["layers"]:
                if layer not in self._records:
                    continue
                pre, post = as_rows(layer, *self._records[layer])
                w = weight_matrix(layer).detach()
                state = self.state.get(layer, {})
                dw, new_state = self.delta(w, pre, post, state, group)
                yield group, layer, dw.reshape(layer.weight.shape), new_state

    @torch.no_grad()
    def deltas(self) -> dict[Tensor, Tensor]:
        """``{layer.weight: dw}`` from the latest recorded batch; changes nothing."""
        return {layer.weight: dw for _, layer, dw, _ in self._layer_deltas()}

    @torch.no_grad()
    def step(self, modulator: float | Tensor = 1.0) -> None:
        """``w += lr * modulator * dw`` for every recorded layer, then commit state and drop records.

        ``modulator``: a number, or a tensor with one value per output neuron (n_out,).
        """
        for group, layer, dw, new_state in list(self._layer_deltas()):
            m = modulator
            if isinstance(m, Tensor):                # either way one pass, no weight-sized temporary
                if m.dim() == 1:
                    if m.numel() != dw.shape[0]:
                        raise ValueError(f"a per-neuron modulator needs {dw.shape[0]} values, got {m.numel()}.")
                    m = m.reshape(-1, *([1] * (dw.dim() - 1)))
                layer.weight.addcmul_(m.to(dw), dw, value=group["lr"])
            else:
                layer.weight.add_(dw, alpha=group["lr"] * m)
            self.after_step(layer, group)
            if new_state:
                self.state[layer] = new_state
        self._records.clear()

    def after_step(self, layer: nn.Module, group: dict) -> None:
        """Hook for rules that renormalise weights after the update (no-op by default)."""

    # ------------------------------------------------------------------ persistence
    def _layer_index(self) -> list[nn.Module]:
        return [layer for g in self.param_groups for layer in g["layers"]]

    def state_dict(self) -> dict:
        index = self._layer_index()
        return {
            "state": {index.index(layer): {k: v.clone() for k, v in s.items()} for layer, s in self.state.items()},
            "param_groups": [{k: v for k, v in g.items() if k != "layers"} | {"n_layers": len(g["layers"])}
                             for g in self.param_groups],
        }

    def load_state_dict(self, sd: dict) -> None:
        if len(sd["param_groups"]) != len(self.param_groups):
            raise ValueError(f"state_dict has {len(sd['param_groups'])} param groups, this rule has "
                             f"{len(self.param_groups)}.")
        for g, saved in zip(self.param_groups, sd["param_groups"]):
            if saved["n_layers"] != len(g["layers"]):
                raise ValueError("state_dict was saved for a rule over other layers.")
            g.update({k: v for k, v in saved.items() if k != "n_layers"})
        index = self._layer_index()
        self.state = {index[i]: {k: v.clone() for k, v in s.items()} for i, s in sd["state"].items()}

    def __getstate__(self):
        # the layers keep their hooks (bound to this rule) when pickled, and the handles pickle
        # too, so a copy records and removes as the original does; only the records are dropped
        d = dict(self.__dict__)
        d["_records"] = {}
        d["_pending"] = {}
        return d

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v!r}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({hyper}; {sum(len(g['layers']) for g in self.param_groups)} layers)"


def batch_scale(reduction: str, batch: int) -> float:
    """The factor of the batch reduction: 1 / B for "mean", 1 for "sum"."""
    if reduction == "mean":
        return 1.0 / max(batch, 1)
    if reduction == "sum":
        return 1.0
    raise ValueError(f"reduction={reduction!r} is invalid: expected 'mean' or 'sum'.")


def reduce(x: Tensor, reduction: str, batch: int) -> Tensor:
    if reduction == "mean":
        return x / max(batch, 1)
    if reduction == "sum":
        return x
    raise ValueError(f"reduction={reduction!r} is invalid: expected 'mean' or 'sum'.")
