"""FeTrIL: feature translation for exemplar-free class-incremental learning (Petit, Popescu, Schindler,
Picard & Delezoide 2023, WACV; GregoirePetit/FeTrIL, codes/compute_distances.py and
codes/train_classifiers.py), and ``ncm``, the frozen extractor with a nearest-class-mean classifier
(the DeeSIL-like baseline of SYSTEMS.md 2.12).

1. State 0 (the first experience, e.g. the B = 5 base classes of ``split`` with ``base=5``): the
   network trains with cross-entropy as usual; at its end the feature extractor (``model.features``)
   is frozen for good and only the class centroids mu_c of the features are kept (no exemplars).
2. State s > 0: no gradient step. For every past class c, the new class n* with the closest centroid,
   n* = argmin_n ||mu_c - mu_n||, lends its real features as pseudo-features of c:
   f_c = f_{n*} - mu_{n*} + mu_c (every sample of n*).
3. Features are L2-normalised and one linear SVM per class seen so far (one-vs-rest, scikit-learn's
   ``LinearSVC(penalty="l2", dual=False, tol=1e-4, C=1)`` as the official code) is trained anew on
   the real features of the new classes and the pseudo-features of the past ones; state 0 trains
   them on the base classes' real features. Prediction: the SVM scores of the normalised features.

The official backbone is a ResNet-18 trained LUCIR-style on half of CIFAR-100 / ImageNet; here it is
the harness's model trained by ``[train]`` (a reconstruction of the protocol at MNIST scale [I]).
The SVM fits run in ``end()``, so ``train_s`` / ``samples_per_s`` count state 0's training only;
``wall_s`` counts everything.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..streams import Experience, as_float
from ._method import Method, check, is_number


def pseudo_features(feats: Tensor, labels: Tensor, new_classes, centroids: dict[int, Tensor]) -> tuple[Tensor, Tensor]:
    """FeTrIL's translation: for each past class c in ``centroids``, the features of the new class
    whose centroid is nearest to mu_c, shifted by mu_c - mu_{n*}. Returns (features, labels)."""
    new = list(new_classes)
    if not centroids:
        return feats[:0], labels[:0]
    mu_new = torch.stack([feats[labels == n].mean(0) for n in new])
    past = sorted(centroids)
    mu_past = torch.stack([centroids[c] for c in past])
    nearest = torch.cdist(mu_past.double(), mu_new.double()).argmin(1)
    xs, ys = [], []
    for c, j in zip(past, nearest.tolist()):
        src = feats[labels == new[j]]
        xs.append(src - mu_new[j] + centroids[c])
        ys.append(torch.full((len(src),), c, dtype=labels.dtype, device=labels.device))
    return torch.cat(xs), torch.cat(ys)


def fit_linear_svms(x: Tensor, y: Tensor, classes, *, C: float, tol: float) -> tuple[Tensor, Tensor]:
    """One binary ``LinearSVC`` per class (that class against the rest), as train_classifiers.py.
    Returns weights (K, d) and intercepts (K,) on ``x``'s device."""
    from sklearn.svm import LinearSVC

    xn, yn = x.detach().double().cpu().numpy(), y.cpu().numpy()
    ws, bs = [], []
    for c in classes:
        target = np.where(yn == c, 1, -1)
        if (target > 0).all():                  # a single class seen: nothing to separate it from
            ws.append(np.zeros(xn.shape[1])), bs.append(1.0)
            continue
        svm = LinearSVC(penalty="l2", loss="squared_hinge", dual=False, tol=tol, C=C,
                        fit_intercept=True, intercept_scaling=1).fit(xn, target)
        ws.append(svm.coef_[0]), bs.append(float(svm.intercept_[0]))
    return (torch.tensor(np.array(ws), dtype=x.dtype, device=x.device),
            torch.tensor(bs, dtype=x.dtype, device=x.device))


class FeTrIL(Method):
    scenarios = ("class",)

    def __init__(self, *, C: float = 1.0, tol: float = 1e-4) -> None:
        super().__init__()
        check(is_number(C) and C > 0, "C", C, "a number > 0 (the SVMs' inverse regularisation)")
        check(is_number(tol) and tol > 0, "tol", tol, "a number > 0 (the SVMs' stopping tolerance)")
        self.C, self.tol = C, tol
        self.frozen_ = False
        self.centroids_: dict[int, Tensor] = {}
        self.classes_: list[int] = []
        self.coef_: Tensor | None = None
        self.intercept_: Tensor | None = None

    def setup(self, model, optimizer):
        super().setup(model, optimizer)
        if not hasattr(model, "features"):
            raise ValueError(f"{type(self).__name__.lower()} needs a model with a features(x) method "
                             "(e.g. model.name='mlp' or 'cnn').")
        self.n_out_ = [m for m in model.modules() if isinstance(m, nn.Linear)][-1].out_features
        return self

    def batches(self, exp, *, batch_size, epochs, generator):
        if self.frozen_:                 # after state 0 the extractor is frozen: no gradient steps
            return
        yield from super().batches(exp, batch_size=batch_size, epochs=epochs, generator=generator)

    @torch.no_grad()
    def features(self, x: Tensor, batch: int = 1024) -> Tensor:
        self.model.eval()
        return torch.cat([self.model.features(as_float(x[i:i + batch])).flatten(1) for i in range(0, len(x), batch)])

    def end(self, exp: Experience) -> None:
        if not self.frozen_:
            for p in self.model.parameters():
                p.requires_grad_(False)
            self.frozen_ = True
        x, y = exp.train
        feats = self.features(x)
        new = [c for c in exp.classes if bool((y == c).any())]
        self.fit(feats, y, new)

    def fit(self, feats: Tensor, y: Tensor, new: list[int]) -> None:
        """Train the classifier on the real features of ``new`` and pseudo-features of the past classes."""
        px, py = pseudo_features(feats, y, new, self.centroids_)      # an experience holds only its new classes
        xs, ys = torch.cat([feats, px]), torch.cat([y, py])
        for c in new:
            self.centroids_[c] = feats[y == c].mean(0)
        self.classes_ = sorted(self.centroids_)
        self.coef_, self.intercept_ = fit_linear_svms(F.normalize(xs, dim=1), ys, self.classes_, C=self.C, tol=self.tol)

    def scores(self, f: Tensor) -> Tensor:
        return F.normalize(f, dim=1) @ self.coef_.T + self.intercept_

    @torch.no_grad()
    def predict(self, x: Tensor, task: int | None = None) -> Tensor:
        if not self.frozen_:
            return super().predict(x, task)
        s = self.scores(self.features(x))
        out = torch.full((len(x), self.n_out_), -1e9, dtype=s.dtype, device=s.device)
        out[:, self.classes_] = s
        return out


class FrozenNCM(FeTrIL):
    """The frozen state-0 extractor with a nearest-class-mean classifier: cosine similarity of the
    L2-normalised features to each class's mean normalised feature (no pseudo-features, no SVM)."""

    def __init__(self) -> None:
        super().__init__()

    def fit(self, feats: Tensor, y: Tensor, new: list[int]) -> None:
        f = F.normalize(feats, dim=1)
        for c in new:
            self.centroids_[c] = F.normalize(f[y == c].mean(0), dim=0)
        self.classes_ = sorted(self.centroids_)
        self.coef_ = torch.stack([self.centroids_[c] for c in self.classes_])
        self.intercept_ = torch.zeros(len(self.classes_), dtype=f.dtype, device=f.device)
