"""Pure pieces of forgetting-prioritised fine-tuning (FPF / k-FPF, Zhao et al. ICML 2023):
which modules move most between two points of training, and fine-tuning only those on a buffer.

A module is a submodule holding parameters of its own (a convolution, a BatchNorm, a linear layer,
the head). Its drift between two snapshots is ||theta_b - theta_a|| / ||theta_a|| over all its own
parameters and floating-point buffers together (weights, biases, and a BatchNorm's running mean
and variance, which the paper counts among what moves between tasks)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def param_modules(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """Submodules with parameters of their own, in definition order: name -> their parameters."""
    out = {}
    for name, mod in model.named_modules():
        own = [p for p in mod.parameters(recurse=False) if p.requires_grad]
        if own:
            out[name or "model"] = own
    return out


def snapshot(model: nn.Module) -> dict[str, Tensor]:
    """Each module's parameters and floating-point buffers flattened into one detached vector."""
    mods = dict(model.named_modules())
    out = {}
    for n in param_modules(model):
        mod = model if n == "model" else mods[n]
        state = [*mod.parameters(recurse=False), *(b for b in mod.buffers(recurse=False) if b.is_floating_point())]
        out[n] = torch.cat([v.detach().reshape(-1).float() for v in state]).clone()
    return out


def relative_drift(before: dict[str, Tensor], after: dict[str, Tensor]) -> dict[str, float]:
    """||after - before|| / ||before|| per module (a module at zero before: its absolute change)."""
    out = {}
    for n, a in before.items():
        b = after[n]
        norm = float(a.norm())
        out[n] = float((b - a).norm()) / (norm if norm > 0 else 1.0)
    return out


def most_sensitive(scores: dict[str, list[float]], s: int) -> list[str]:
    """The s modules with the largest mean drift (ties: definition order)."""
    means = {n: sum(v) / len(v) for n, v in scores.items() if v}
    return sorted(means, key=lambda n: -means[n])[:s]


def finetune_on_buffer(model: nn.Module, modules: list[str], data: list[Tensor], *, epochs: int, lr: float,
                       batch_size: int, alpha: float, task, generator: torch.Generator) -> int:
    """Fine-tune only ``modules`` on the buffer ``data`` = [x, y, logits, task] with SGD: CE(y) plus,
    when alpha > 0, alpha * MSE between the logits and the stored ones (DER's distillation).
    The model trains in training mode, except BatchNorm layers outside ``modules``, whose running
    statistics stay as they were (those inside follow the buffer). Returns the number
    of samples that went through forward and backward. ``task`` None: the scenario hides tasks
    (one head); otherwise each stored sample's own task selects its head."""
    table = param_modules(model)
    params = [p for n in modules for p in table[n]]
    if not params or epochs == 0 or len(data[0]) == 0:
        return 0
    chosen = {id(p) for p in params}
    frozen = [p for ps in table.values() for p in ps if id(p) not in chosen]
    flags = [p.requires_grad for p in frozen]
    for p in frozen:
        p.requires_grad_(False)
    opt = torch.optim.SGD(params, lr=lr)
    x_all, y_all, z_all, t_all = data[0], data[1], data[2], data[3]
    n, done = len(y_all), 0
    model.train()
    mods = dict(model.named_modules())
    for name, mod in mods.items():          # BatchNorm statistics move only in the modules tuned
        if (name or "model") not in modules and getattr(mod, "track_running_stats", False):
            mod.eval()
    try:
        for _ in range(epochs):
            order = torch.randperm(n, generator=generator).to(y_all.device)
            for i in range(0, n, batch_size):
                idx = order[i:i + batch_size]
                out = model(x_all[idx], None if task is None else t_all[idx])
                loss = F.cross_entropy(out, y_all[idx])
                if alpha > 0:
                    loss = loss + alpha * F.mse_loss(out, z_all[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                done += len(idx)
    finally:
        for p, f in zip(frozen, flags):
            p.requires_grad_(f)
    return done


def steps_per_experience(n: int, batch_size: int, epochs: int) -> int:
    return math.ceil(n / batch_size) * epochs
