"""HLOP: Hebbian learning based orthogonal projection (Xiao et al., ICLR 2024; SYSTEMS.md 2.1,
checked against the official code pkuxmq/HLOP-SNN: modules/hlop_module.py, proj_linear.py,
spiking_train_pmnist.py).

Per protected layer (every Linear/Conv2d, head included) a set of lateral "subspace neurons"
H (M, N) over the layer's input x learns the principal subspace of the input activity with the
Hebbian/anti-Hebbian (Oja subspace) rule

    y = H x,   x_hat = H^T y,   dH = (1/B) y (x - x_hat)^T, clamped to [-10, 10],
    m <- 0.9 m + 0.1 dH,   H <- H + lr m        (``hebb_iters`` = 5 times per mini-batch)

(``hlop_update_``). At each task new rows are added (orthogonal initialisation) and trained
while the rows of earlier tasks stay frozen (their momentum kept); after the task they are
merged into the old subspace. From the second task on, the weight gradients use the input with
the old subspace projected out, x - H_old^T H_old x, i.e. dW <- dW - (dW H_old^T) H_old, and the
biases are frozen (``ProjectionMethod``).

Sizes as in the official PMNIST script (``hlop_out_num = [80, 200, 100]``, ``hlop_out_num_inc =
[70, 70, 70]``, 20 fewer from task 3, 6 and 9 on), carried to other widths as fractions of each
layer's input dimension (784 for the first layer, 800 for the others), so that on 784-800-800-10
they are exactly the official numbers: ``subspace`` rows for the first task (80/784 of the input
for the first layer, 200/800 for the layers between, 100/800 for the head), then ``grow`` (70)
more per later task, reduced by ``shrink`` (20) at tasks 3, 6, 9, ... (``shrink_every`` = 3):
the first layer adds 80, 70, 70, 50, 50, 50, 30, 30, 30, 10 rows over ten tasks; never more than
the input dimension. (Absolute numbers on a narrower net would fill the whole input space of a
256-wide layer after two tasks and freeze it.) Hebbian rates (``hebb_lr``): 0.03 for the first
layer and 0.01 for the others by default. The official models use 0.001 for the first layer; this
default differs because here a task has far fewer mini-batches than the official 10 tasks x
60,000 images, and at 0.001 the first layer's rows barely move from their random start
(``hebb_lr=[0.001, 0.01]`` gives the official rates). The subspace neurons are not quantised (the
official ``spiking=False`` path); for spiking models the inputs are presynaptic firing rates
(``layer_rates``), HLOP's rate traces. Reconstruction [I]: the official script rebuilds the
optimizer per task (here: its state is cleared). Optional replay as in the official script
(``replay`` samples per class per task, 50 there when enabled; off by default): after each task
from the second on, a phase of plain SGD (``replay_lr`` 0.01) over the memory of every task,
``replay_batch`` (50) samples of each task per step, no projection, biases frozen.

Reconstruction [I], ``orthonormalize=True`` (default): when a task ends, the learned rows are
replaced by an orthonormal basis of their span (QR) before they are frozen. The official code
freezes them as learned; with a few hundred mini-batches per task the rows added late are not yet
orthonormal, and I - H^T H is then no projector (it can even amplify directions with singular
value above sqrt 2). Measured on Permuted-MNIST, 10 tasks x 6,000 images, 784-800-800-10, one
epoch, SGD 0.05: BWT -13.3 without, -2.2 with (ACC 78.5 -> 88.5). ``orthonormalize=False``
reproduces the official behaviour.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ._method import check, is_number
from ._projection import ProjectionMethod, layer_inputs, per_layer, project_out_


@torch.no_grad()
def hlop_update_(h: Tensor, mom: Tensor, x: Tensor, n_fixed: int, *, lr: float, iters: int = 5,
                 m: float = 0.9) -> None:
    """``iters`` Oja-subspace steps of the rows ``h[n_fixed:]`` on inputs x (B, N), in place; the
    first ``n_fixed`` rows take part in the reconstruction but do not change."""
    for _ in range(iters):
        y = x @ h.T
        dh = (y.T @ (x - y @ h) / x.shape[0]).clamp_(-10, 10)
        mom[n_fixed:].mul_(m).add_(dh[n_fixed:], alpha=1 - m)
        h[n_fixed:].add_(mom[n_fixed:], alpha=lr)


def _int_or_list(v) -> bool:
    items = v if isinstance(v, (list, tuple)) else [v]
    return len(items) > 0 and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in items)


class HLOP(ProjectionMethod):
    def __init__(self, *, subspace: int | list[int] | None = None, grow: int | list[int] | None = None,
                 shrink: int | None = None, shrink_every: int = 3, hebb_lr: float | list[float] = (0.03, 0.01),
                 hebb_iters: int = 5, orthonormalize: bool = True, replay: int = 0, replay_epochs: int = 1,
                 replay_lr: float = 0.01, replay_batch: int = 50, seed: int = 0) -> None:
        super().__init__()
        subspace, hebb_lr = (list(v) if isinstance(v, tuple) else v for v in (subspace, hebb_lr))
        check(subspace is None or _int_or_list(subspace), "subspace", subspace,
              "None (the paper's sizes relative to each layer's input), a non-negative integer or one per layer")
        check(grow is None or _int_or_list(grow), "grow", grow, "None, a non-negative integer or one per layer")
        check(shrink is None or (isinstance(shrink, int) and shrink >= 0), "shrink", shrink,
              "None or a non-negative integer")
        check(isinstance(shrink_every, int) and shrink_every > 0, "shrink_every", shrink_every, "a positive integer")
        lrs = hebb_lr if isinstance(hebb_lr, list) else [hebb_lr]
        check(len(lrs) > 0 and all(is_number(v) and v > 0 for v in lrs), "hebb_lr", hebb_lr,
              "a positive number, [first layer, other layers] or one per layer")
        check(isinstance(hebb_iters, int) and hebb_iters > 0, "hebb_iters", hebb_iters, "a positive integer")
        check(isinstance(orthonormalize, bool), "orthonormalize", orthonormalize, "true or false")
        for name, v in (("replay", replay), ("replay_epochs", replay_epochs), ("replay_batch", replay_batch)):
            check(isinstance(v, int) and not isinstance(v, bool) and v >= (0 if name == "replay" else 1), name, v,
                  "a non-negative integer" if name == "replay" else "a positive integer")
        check(is_number(replay_lr) and replay_lr > 0, "replay_lr", replay_lr, "a positive number")
        self.subspace, self.grow, self.shrink, self.shrink_every = subspace, grow, shrink, shrink_every
        self.hebb_lr, self.hebb_iters, self.orthonormalize, self.seed = hebb_lr, hebb_iters, orthonormalize, seed
        self.replay, self.replay_epochs, self.replay_lr, self.replay_batch = replay, replay_epochs, replay_lr, replay_batch
        self.memory_: list[tuple[Tensor, Tensor]] = []

    def setup(self, model, optimizer) -> "HLOP":
        super().setup(model, optimizer)
        n = len(self.layers_)
        n_in = [layer.weight[0].numel() for layer in self.layers_]
        first, grow = self.subspace, self.grow
        if first is None:          # the paper's 784-800-800-10 sizes as fractions of each input
            frac = [80 / 784] if n == 1 else [80 / 784] + [200 / 800] * (n - 2) + [100 / 800]
            first = [max(1, round(f * d)) for f, d in zip(frac, n_in)]
        base = [784] + [800] * (n - 1)          # the official layers' input dimensions
        if grow is None:
            grow = [max(1, round(70 / b * d)) for b, d in zip(base, n_in)]
        self.first_ = per_layer(first, n, "subspace")
        self.grow_ = per_layer(grow, n, "grow")
        self.shrink_ = per_layer(self.shrink, n, "shrink") if self.shrink is not None else \
            [round(20 / b * d) for b, d in zip(base, n_in)]
        lr = self.hebb_lr
        if isinstance(lr, list) and len(lr) == 2 and n != 2:
            lr = [lr[0]] + [lr[1]] * (n - 1)
        self.lr_ = per_layer(lr, n, "hebb_lr")
        self.h_: list[Tensor | None] = [None] * n
        self.mom_: list[Tensor | None] = [None] * n
        self.n_old_ = [0] * n
        return self

    def _n_new(self, layer: int, k: int) -> int:
        if k == 0:
            return self.first_[layer]
        return max(0, self.grow_[layer] - self.shrink_[layer] * (k // self.shrink_every))   # shrink at 3, 6, 9

    def begin(self, exp) -> None:
        super().begin(exp)
        g = torch.Generator().manual_seed(self.seed * 7919 + self.n_tasks_seen_)
        for i, layer in enumerate(self.layers_):
            n_in = layer.weight[0].numel()
            old = self.h_[i] if self.h_[i] is not None else layer.weight.new_zeros(0, n_in)
            add = min(self._n_new(i, self.n_tasks_seen_), n_in - len(old))
            new = torch.empty(add, n_in)
            if add:
                torch.nn.init.orthogonal_(new, generator=g)
            dev = layer.weight.device
            self.h_[i] = torch.cat([old, new.to(dev, old.dtype)])
            mom = self.mom_[i] if self.mom_[i] is not None else old.new_zeros(0, n_in)
            self.mom_[i] = torch.cat([mom, torch.zeros(add, n_in, device=dev, dtype=old.dtype)])

    def project_grads(self) -> None:
        for layer, h, n_old in zip(self.layers_, self.h_, self.n_old_):
            if n_old:
                project_out_(layer.weight.grad, h[:n_old])

    def after_step(self, x: Tensor) -> None:
        for i, inp in enumerate(layer_inputs(self.model, x, self.task_)):
            hlop_update_(self.h_[i], self.mom_[i], inp.to(self.h_[i].dtype), self.n_old_[i],
                         lr=self.lr_[i], iters=self.hebb_iters)

    def end(self, exp) -> None:
        super().end(exp)
        if self.orthonormalize:       # exact projector from the learned rows (their span kept)
            for i, h in enumerate(self.h_):
                if len(h):
                    q, _ = torch.linalg.qr(h.T.double())
                    self.h_[i] = q.T.to(h.dtype).contiguous()
        self.n_old_ = [len(h) for h in self.h_]          # merge: all rows become the old subspace
        if self.replay:
            self._remember(exp)
            if len(self.memory_) > 1:
                self._replay()

    def _remember(self, exp) -> None:
        """The first ``replay`` training samples of each class of the experience (official code)."""
        x, y = exp.train
        idx = torch.cat([(y == c).nonzero().squeeze(1)[: self.replay] for c in y.unique()])
        self.memory_.append((x[idx], y[idx]))

    def _replay(self) -> None:
        """The official replay phase after a task: plain SGD (``replay_lr``) on the weights (biases
        stay frozen), each step summing the losses of ``replay_batch`` samples of every stored task,
        no projection, ``replay_epochs`` passes over the memory."""
        from ..streams import as_float
        import torch.nn.functional as F

        weights = [p for p in self.model.parameters() if p.dim() > 1]
        opt = torch.optim.SGD(weights, lr=self.replay_lr)
        g = torch.Generator().manual_seed(self.seed * 31 + len(self.memory_))
        n = min(len(y) for _, y in self.memory_)
        self.model.train()
        for _ in range(self.replay_epochs):
            order = torch.randperm(n, generator=g)
            for i in range(0, n, self.replay_batch):
                opt.zero_grad(set_to_none=True)
                for task, (x, y) in enumerate(self.memory_):
                    idx = order[i:i + self.replay_batch].to(y.device)
                    F.cross_entropy(self.model(as_float(x[idx]), self.task_), y[idx]).backward()
                opt.step()
