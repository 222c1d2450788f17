"""MNIST-bags multiple-instance learning with ``HopfieldPooling`` (the ml-jku/hopfield-layers
MNIST-bags example, reimplemented; Ilse, Tomczak & Welling 2018 built the task).

A bag holds ``bag_size`` MNIST images drawn at random; it is positive when it contains at least
one ``target`` digit. Instances are encoded by a small MLP, pooled into one vector per bag by
``HopfieldPooling`` (a learned query attending over the bag; ``pool="mean"`` or ``"max"`` are the
baselines) and classified with a logistic output. Bags have a fixed size so that they batch
[I: the reference draws sizes around a mean]. Real MNIST only: training bags from the training
set, test bags from the test set.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .modern_hopfield import HopfieldPooling

POOLS = ("hopfield", "mean", "max")


def mnist_bags(n_bags: int, *, bag_size: int = 10, target: int = 9, split: str = "train",
               generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """(bags (n_bags, bag_size, 784) in [0, 1], labels (n_bags,) in {0, 1})."""
    from .. import data

    x_tr, y_tr, x_te, y_te = data.load("mnist")
    x, y = (x_tr, y_tr) if split == "train" else (x_te, y_te)
    idx = torch.randint(0, len(y), (n_bags, bag_size), generator=generator)
    bags = x[idx].flatten(2).float() / 255.0
    return bags, (y[idx] == target).any(1).float()


class BagClassifier(nn.Module):
    def __init__(self, *, pool: str = "hopfield", hidden: int = 128, heads: int = 1):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        self.pool = pool
        self.encoder = nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.pooling = HopfieldPooling(hidden, heads=heads, hidden_size=32) if pool == "hopfield" else None
        self.out = nn.Linear(hidden, 1)

    def forward(self, bags: Tensor) -> Tensor:
        h = self.encoder(bags)                                   # (B, L, hidden)
        if self.pool == "hopfield":
            z = self.pooling(h)
        else:
            z = h.mean(1) if self.pool == "mean" else h.amax(1)
        return self.out(z).squeeze(-1)


def auc(scores: Tensor, labels: Tensor) -> float:
    """Area under the ROC curve (Mann-Whitney U with tied ranks averaged)."""
    pos, neg = scores[labels > 0.5], scores[labels <= 0.5]
    if not len(pos) or not len(neg):
        return float("nan")
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0).float() + 0.5 * (diff == 0).float()).mean())


def train_mil(*, pool: str = "hopfield", seed: int = 0, n_train: int = 1000, n_test: int = 500,
              bag_size: int = 10, target: int = 9, epochs: int = 20, batch_size: int = 32,
              lr: float = 1e-3) -> dict:
    """Train one bag classifier; returns test accuracy and AUC (and the loss per epoch)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    xb, yb = mnist_bags(n_train, bag_size=bag_size, target=target, split="train", generator=g)
    xt, yt = mnist_bags(n_test, bag_size=bag_size, target=target, split="test", generator=g)
    model = BagClassifier(pool=pool)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(epochs):
        model.train()
        order, total = torch.randperm(n_train, generator=g), 0.0
        for i in range(0, n_train, batch_size):
            idx = order[i:i + batch_size]
            loss = F.binary_cross_entropy_with_logits(model(xb[idx]), yb[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / n_train)
    model.eval()
    with torch.no_grad():
        s = model(xt)
    return {"pool": pool, "accuracy": float(((s > 0).float() == yt).float().mean()), "auc": auc(s, yt),
            "positive_fraction": float(yt.mean()), "loss": losses, "n_train": n_train, "n_test": n_test,
            "bag_size": bag_size, "target": target, "epochs": epochs}
