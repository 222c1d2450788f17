"""Diagonal Fisher information from per-sample gradients, without a Python loop over samples.

F_ii = (1/N) sum_n w_n (d log p(y_n | x_n) / d theta_i)^2,   w_n = 1, or p(y_n | x_n) with
``weight="prob"`` (Mammoth's online-EWC and refresh learning's weighting).

For ``nn.Linear`` layers the per-sample gradient of W is the outer product delta_n x_n^T, so
sum_n (delta_n x_n^T)^2 = (delta o delta)^T (x o x): one matrix product per layer and batch
(the trick of BackPACK's DiagGGN/Variance extensions). Every other parameter gets exact
per-sample gradients from ``torch.func.vmap(grad(...))``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap


def _labels(logits: Tensor, y: Tensor, mode: str, generator: torch.Generator | None) -> Tensor:
    if mode == "empirical":
        return y
    if mode == "model":   # y ~ p_theta(y | x), as in Kirkpatrick et al. 2017
        probs = logits.detach().float().softmax(1).cpu()
        return torch.multinomial(probs, 1, generator=generator).squeeze(1).to(y.device)
    raise ValueError(f"fisher={mode!r} is invalid: expected 'empirical' or 'model'.")


def diag_fisher(model: nn.Module, batches, *, task=None, mode: str = "empirical",
                generator: torch.Generator | None = None, weight: str = "none") -> dict[str, Tensor]:
    """Mean squared per-sample gradient of the log-likelihood for every trainable parameter,
    each sample's weighted by its probability of the label with ``weight="prob"``.

    ``batches`` yields (x, y) float/int tensors on the model's device.
    """
    if weight not in ("none", "prob"):
        raise ValueError(f"weight={weight!r} is invalid: expected 'none' or 'prob'.")
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    out = {n: torch.zeros_like(p) for n, p in params.items()}
    linears = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    fast = {f"{n}.weight" for n in linears} | {f"{n}.bias" for n, m in linears.items() if m.bias is not None}
    slow = [n for n in params if n not in fast]
    saved: dict[str, tuple[Tensor, Tensor]] = {}

    def keep(name):
        def hook(mod, inp, outp):
            if inp[0].dim() != 2:
                raise ValueError(f"diag_fisher's fast path needs 2-D inputs to {name}, got {tuple(inp[0].shape)}")
            saved[name] = (inp[0].detach(), outp)
        return hook

    handles_by_name = {n: m.register_forward_hook(keep(n)) for n, m in linears.items()}
    handles = list(handles_by_name.values())
    was_training = model.training
    model.eval()
    n_total = 0
    try:
        for x, y in batches:
            logits = model(x, task)
            target = _labels(logits, y, mode, generator)
            # summed over samples, each sample's delta is its own gradient w.r.t. the layer output;
            # gradients w.r.t. the outputs only: no weight gradients are formed
            if len(saved) < len(linears):     # layers not called as modules (e.g. fused spiking layers)
                missing = [n for n in linears if n not in saved]
                for n in missing:
                    del linears[n]
                    fast -= {f"{n}.weight", f"{n}.bias"}
                slow = [n for n in params if n not in fast]
                for n in missing:
                    handles_by_name[n].remove()
            names = list(saved)
            deltas = torch.autograd.grad(F.cross_entropy(logits, target, reduction="sum"),
                                         [saved[n][1] for n in names])
            w = None
            if weight == "prob":
                w = logits.detach().float().softmax(1).gather(1, target[:, None]).to(logits.dtype)   # (B, 1)
            for n, d in zip(names, deltas):
                a = saved[n][0]
                d2 = d * d if w is None else w * d * d
                out[f"{n}.weight"].addmm_(d2.T, a * a)
                if f"{n}.bias" in out:
                    out[f"{n}.bias"] += d2.sum(0)
            saved.clear()
            if slow:
                for name, g2 in _per_sample_sq(model, params, slow, x, target, task,
                                               None if w is None else w[:, 0]).items():
                    out[name] += g2
            n_total += len(y)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return {n: f / max(n_total, 1) for n, f in out.items()}


def _per_sample_sq(model, params, names, x, y, task, w: Tensor | None = None) -> dict[str, Tensor]:
    """sum_n w_n g_n^2 over the batch for the parameters ``names`` (w_n = 1 when ``w`` is None)."""
    ones = torch.ones(len(y), device=x.device) if w is None else w
    frozen = {n: p.detach() for n, p in params.items() if n not in names}
    buffers = dict(model.named_buffers())

    def loss_one(theta, xi, yi):
        out = functional_call(model, {**frozen, **theta, **buffers}, (xi[None], task))
        return F.cross_entropy(out, yi[None])

    theta = {n: params[n].detach() for n in names}
    try:
        grads = vmap(grad(loss_one), in_dims=(None, 0, 0))(theta, x, y)
        return {n: torch.einsum("b,b...->...", ones, g * g) for n, g in grads.items()}
    except (RuntimeError, NotImplementedError):   # custom autograd functions without vmap support:
        out = {n: torch.zeros_like(params[n]) for n in names}   # one sample at a time
        chosen = [params[n] for n in names]
        for xi, yi, wi in zip(x, y, ones):
            gs = torch.autograd.grad(F.cross_entropy(model(xi[None], task), yi[None]), chosen, allow_unused=True)
            for n, g in zip(names, gs):
                if g is not None:
                    out[n] += wi * g * g
        return out
