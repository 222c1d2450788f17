"""GraNet: gradual pruning with zero-cost neuroregeneration (Liu, Chen, Chen, Atashgahi, Yin, Kou,
Shen, Pechenizkiy, Wang & Mocanu 2021, NeurIPS, "Sparse training via boosting pruning plasticity
with neuroregeneration"; VITA-Group/GraNet, CIFAR/sparselearning/core.py), and ``gmp``, the same
gradual magnitude pruning without regrowth (Zhu & Gupta 2017; the repository's ``GMP``).

The weights of every ``nn.Linear`` and ``nn.Conv2d`` carry a binary mask (biases stay dense).
After every optimizer step the masks zero the masked weights and their optimizer state. Every
``update_every`` steps (Delta T):

1. gradual magnitude pruning, while inside the pruning window: keep the fraction
   d = d_f + (d_i - d_f) (1 - (t - t0) / (t_f - t0))^3 of the weights with the largest |w|, over
   all layers (``per_layer=False``: GraNet) or within each (``per_layer=True``: GraNet_uniform);
2. neuroregeneration (``granet`` only): in each layer remove the ceil(r nnz) active weights of
   smallest |w| and regrow as many inactive ones where |gradient| of the last batch is largest
   (``growth="gradient"``; ``"random"``: uniformly, SET-style). Regrown weights start at 0. The
   rate r follows a cosine from ``death_rate`` (0.5) to ``death_rate_min`` (0.005).

``init_density`` < 1 starts sparse (Erdos-Renyi-Kernel random masks: sparse-to-sparse); 1 starts
dense (dense-to-sparse). The official defaults are Delta T = 100 iterations (1000 in the CIFAR
scripts), r = 0.5 -> 0.005, pruning from epoch 0 to epoch 80 of 160, d_f in {0.1, 0.05, 0.02}.

On a stream [I]: the official code trains one task, with the cosine over the whole run. Here the
pruning window is a fraction ``[prune_start, prune_end]`` of the first experience's steps (so a
one-experience stream is the paper's protocol); the network then stays at d_f, and the death-rate
cosine restarts with each experience, so every new task gets the full regrowth (structural
plasticity). If the first experience is too short for the window to end on an update, its end
prunes to d_f. ``trace_`` records, per mask update: the global step, the density, the death rate
and the turnover (the fraction of active weights that are new since the previous update).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..metrics.plasticity import weight_density
from ..streams import Experience
from . import _sparse
from ._method import Method, check, is_number

GROWTH = ("gradient", "random", "none")


def sparse_layers(model: nn.Module) -> list[nn.Module]:
    """The layers whose weights are masked: every nn.Linear and nn.Conv2d, in registration order."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("granet/gmp need a model with nn.Linear or nn.Conv2d layers (e.g. model.name='mlp').")
    return layers


def mask_generator(seed: int) -> torch.Generator:
    """The generator of the random masks (ERK, random regrowth), on a stream apart from
    ``torch.manual_seed(seed)``'s: the runner seeds the global RNG, which draws the model's initial
    weights, with the same seed, and masks drawn from that same sequence keep exactly the weights
    below a value (measured: an ERK mask kept only the negative first-layer weights, and the network
    could not learn)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + 0x6A4E7) % 2**63)


class GraNet(Method):
    def __init__(self, *, final_density: float = 0.1, init_density: float = 1.0, update_every: int = 100,
                 prune_start: float = 0.0, prune_end: float = 0.5, death_rate: float = 0.5,
                 death_rate_min: float = 0.005, growth: str = "gradient", per_layer: bool = False,
                 seed: int = 0) -> None:
        super().__init__()
        check(is_number(final_density) and 0 < final_density <= 1, "final_density", final_density,
              "a number in (0, 1], the fraction of weights kept (e.g. 0.1)")
        check(is_number(init_density) and final_density <= init_density <= 1, "init_density", init_density,
              f"a number in [final_density={final_density}, 1] (1: dense-to-sparse, e.g. 0.5: sparse-to-sparse)")
        check(isinstance(update_every, int) and not isinstance(update_every, bool) and update_every >= 1,
              "update_every", update_every, "an integer >= 1 (optimizer steps between mask updates)")
        check(is_number(prune_start) and 0 <= prune_start <= 1, "prune_start", prune_start,
              "a number in [0, 1] (a fraction of the first experience's steps)")
        check(is_number(prune_end) and prune_start <= prune_end <= 1, "prune_end", prune_end,
              f"a number in [prune_start={prune_start}, 1] (a fraction of the first experience's steps)")
        check(is_number(death_rate) and 0 <= death_rate < 1, "death_rate", death_rate, "a number in [0, 1)")
        check(is_number(death_rate_min) and 0 <= death_rate_min <= death_rate, "death_rate_min", death_rate_min,
              f"a number in [0, death_rate={death_rate}]")
        check(growth in GROWTH, "growth", growth, f"one of {GROWTH}")
        check(isinstance(per_layer, bool), "per_layer", per_layer, "true or false")
        check(isinstance(seed, int) and not isinstance(seed, bool), "seed", seed, "an integer")
        self.final_density, self.init_density, self.update_every = final_density, init_density, update_every
        self.prune_start, self.prune_end = prune_start, prune_end
        self.death_rate, self.death_rate_min, self.growth = death_rate, death_rate_min, growth
        self.per_layer, self.seed = per_layer, seed
        self.masks_: list[Tensor] = []
        self.trace_: dict = {"step": [], "density": [], "death_rate": [], "turnover": []}
        self.experiences_, self.steps_, self.exp_step_, self.exp_steps_ = 0, 0, 0, 0

    # ------------------------------------------------------------------ masks
    def setup(self, model, optimizer):
        super().setup(model, optimizer)
        self.layers_ = sparse_layers(model)
        self.generator_ = mask_generator(self.seed)
        weights = [m.weight for m in self.layers_]
        if self.init_density < 1:          # sparse-to-sparse: Erdos-Renyi-Kernel random masks
            dens = _sparse.erk_densities([tuple(w.shape) for w in weights], self.init_density)
            self.masks_ = [(torch.rand(w.shape, generator=self.generator_) < d).to(w.device)
                           for w, d in zip(weights, dens)]
        else:
            self.masks_ = [torch.ones_like(w, dtype=torch.bool) for w in weights]
        self.apply_masks()
        return self

    @torch.no_grad()
    def apply_masks(self) -> None:
        """Zero the masked weights and the matching entries of their optimizer state (momentum, Adam moments)."""
        for layer, mask in zip(self.layers_, self.masks_):
            w = layer.weight
            w.mul_(mask)
            for v in self.optimizer.state.get(w, {}).values():
                if torch.is_tensor(v) and v.shape == w.shape:
                    v.mul_(mask)

    @property
    def density_(self) -> float:
        return weight_density(self.masks_)

    # ------------------------------------------------------------------ schedule
    def begin(self, exp: Experience) -> None:
        super().begin(exp)
        self.exp_step_ = 0

    def batches(self, exp, *, batch_size, epochs, generator):
        self.exp_steps_ = epochs * math.ceil(len(exp.train[1]) / batch_size)
        yield from super().batches(exp, batch_size=batch_size, epochs=epochs, generator=generator)

    def observe(self, x, y):
        loss = super().observe(x, y)
        self.apply_masks()
        self.exp_step_ += 1
        self.steps_ += 1
        if self.exp_step_ % self.update_every == 0:
            self.update_masks()
        return loss

    @property
    def exp_length_(self) -> int:
        """This experience's steps (as planned by ``batches``, or as counted if more ran)."""
        return max(self.exp_steps_, self.exp_step_)

    def target_density(self) -> float | None:
        """The pruning schedule's density at this step (first experience only), or None."""
        if self.experiences_ > 0:
            return None
        steps = self.exp_length_
        return _sparse.cubic_density(self.exp_step_, start=int(self.prune_start * steps),
                                     end=int(self.prune_end * steps), every=self.update_every,
                                     init_density=self.init_density, final_density=self.final_density)

    @torch.no_grad()
    def update_masks(self) -> None:
        before = [m.clone() for m in self.masks_]
        d = self.target_density()
        if d is not None and d < self.density_:
            self.prune_to(d)
        rate = _sparse.cosine_rate(self.exp_step_, self.exp_length_,
                                   rate=self.death_rate, rate_min=self.death_rate_min)
        if self.growth != "none" and rate > 0:
            self.regrow(rate)
        self.apply_masks()
        nnz = sum(int(m.sum()) for m in self.masks_)
        new = sum(int((m & ~b).sum()) for m, b in zip(self.masks_, before))
        self.trace_["step"].append(self.steps_)
        self.trace_["density"].append(self.density_)
        self.trace_["death_rate"].append(rate if self.growth != "none" else 0.0)
        self.trace_["turnover"].append(new / nnz if nnz else 0.0)

    def prune_to(self, density: float) -> None:
        keep = _sparse.magnitude_masks([m.weight for m in self.layers_], density, per_layer=self.per_layer)
        self.masks_ = [k & m for k, m in zip(keep, self.masks_)]
        self.apply_masks()

    def regrow(self, rate: float) -> None:
        for i, layer in enumerate(self.layers_):
            w, mask = layer.weight, self.masks_[i]
            kept = _sparse.magnitude_death(w, mask, rate)
            n = int(mask.sum()) - int(kept.sum())
            if self.growth == "gradient":
                score = w.grad.abs() if w.grad is not None else torch.zeros_like(w)
            else:
                score = torch.rand(w.shape, generator=self.generator_).to(w.device)
            self.masks_[i] = _sparse.grow(kept, n, score)

    def end(self, exp: Experience) -> None:
        if self.experiences_ == 0 and self.density_ > self.final_density * 1.001:
            with torch.no_grad():
                self.prune_to(self.final_density)
        self.experiences_ += 1


class GMP(GraNet):
    """Gradual magnitude pruning (Zhu & Gupta 2017) on GraNet's schedule, without regrowth."""

    def __init__(self, *, final_density: float = 0.1, init_density: float = 1.0, update_every: int = 100,
                 prune_start: float = 0.0, prune_end: float = 0.5, per_layer: bool = False,
                 seed: int = 0) -> None:
        super().__init__(final_density=final_density, init_density=init_density, update_every=update_every,
                         prune_start=prune_start, prune_end=prune_end, growth="none",
                         per_layer=per_layer, seed=seed)
