"""Continual-learning metrics as pure functions (SYSTEMS.md section 4).

``R`` is the accuracy matrix: ``R[i, j]`` is the accuracy on experience j after training on
experience i (T x T, fractions in [0, 1]). ``b[j]`` is the accuracy of the initial model on j.

Continual-evaluation metrics (De Lange et al. 2023, "Continual evaluation for lifelong learning:
identifying the stability gap", ContinualEvaluation's plugin metrics) take ``curves``: ``acc`` of
shape (S, T), the accuracy on every experience at S evaluation points during training (NaN where
an experience has not been seen yet), and ``boundaries``: for each experience, the index of the
first evaluation after its training ended.
"""
from __future__ import annotations

import numpy as np


def _R(R) -> np.ndarray:
    R = np.asarray(R, dtype=float)
    if R.ndim != 2 or R.shape[0] != R.shape[1]:
        raise ValueError(f"R must be a square T x T matrix, got shape {R.shape}.")
    return R


def average_accuracy(R) -> float:
    """ACC = (1/T) sum_j R[T-1, j]."""
    return float(_R(R)[-1].mean())


def backward_transfer(R) -> float:
    """BWT = (1/(T-1)) sum_{j<T-1} (R[T-1, j] - R[j, j]) (Lopez-Paz & Ranzato 2017)."""
    R = _R(R)
    T = len(R)
    return float(np.mean(R[-1, : T - 1] - np.diag(R)[: T - 1])) if T > 1 else float("nan")


def forward_transfer(R, b) -> float:
    """FWT = (1/(T-1)) sum_{j>0} (R[j-1, j] - b[j]) (Lopez-Paz & Ranzato 2017)."""
    R, b = _R(R), np.asarray(b, dtype=float)
    T = len(R)
    return float(np.mean([R[j - 1, j] - b[j] for j in range(1, T)])) if T > 1 else float("nan")


def forgetting(R) -> float:
    """FORG = (1/(T-1)) sum_{j<T-1} max_{j<=l<T-1} (R[l, j] - R[T-1, j]) (Chaudhry et al. 2018)."""
    R = _R(R)
    T = len(R)
    if T < 2:
        return float("nan")
    return float(np.mean([R[j : T - 1, j].max() - R[-1, j] for j in range(T - 1)]))


def learning_accuracy(R) -> float:
    """LA = (1/T) sum_j R[j, j]: the accuracy on each experience right after training on it
    (Riemer et al. 2019, ICLR), a measure of plasticity: how well the network still learns."""
    return float(np.mean(np.diag(_R(R))))


def average_incremental_accuracy(R) -> float:
    """(1/T) sum_i mean_{j<=i} R[i, j] (Rebuffi et al. 2017)."""
    R = _R(R)
    return float(np.mean([R[i, : i + 1].mean() for i in range(len(R))]))


def _curves(acc) -> np.ndarray:
    acc = np.asarray(acc, dtype=float)
    if acc.ndim != 2:
        raise ValueError(f"curves must be (evaluations, experiences), got shape {acc.shape}.")
    return acc


def min_acc(acc, boundaries) -> float:
    """Avg-min-ACC: for each experience j but the last, the minimum accuracy at any evaluation
    after its training ended, averaged over those experiences."""
    acc = _curves(acc)
    T = acc.shape[1]
    mins = [np.nanmin(acc[boundaries[j]:, j]) for j in range(T - 1) if boundaries[j] < len(acc)]
    return float(np.mean(mins)) if mins else float("nan")


def wc_acc(acc, boundaries) -> float:
    """WC-ACC at the last experience k = T: (1/k) a_k + (1 - 1/k) Avg-min-ACC."""
    acc = _curves(acc)
    k = acc.shape[1]
    last = float(acc[-1, -1])
    return last if k == 1 else last / k + (1 - 1 / k) * min_acc(acc, boundaries)


def _windowed(acc, w: int, sign: float) -> float:
    acc = _curves(acc)
    if w < 2:
        raise ValueError(f"window must be at least 2 evaluations, got {w}.")
    per_task = []
    for j in range(acc.shape[1]):
        a = acc[~np.isnan(acc[:, j]), j]
        if len(a) < 2:
            continue
        best = 0.0
        for s in range(len(a) - 1):
            win = a[s : s + w]
            # max over i < j inside the window of sign * (A_i - A_j)
            diff = sign * (win[:, None] - win[None, :])
            best = max(best, float(np.max(np.triu(diff, 1))))
        per_task.append(best)
    return float(np.mean(per_task)) if per_task else float("nan")


def windowed_forgetting(acc, w: int = 10) -> float:
    """WF_w: per experience, the largest drop A_i - A_j (i < j) within any w consecutive evaluations; mean."""
    return _windowed(acc, w, 1.0)


def windowed_plasticity(acc, w: int = 10) -> float:
    """WP_w: per experience, the largest rise A_j - A_i (i < j) within any w consecutive evaluations; mean."""
    return _windowed(acc, w, -1.0)


def learning_curve_area(acc, starts, beta: int = 10, boundaries=None) -> float:
    """LCA_beta (Chaudhry et al. 2019): mean over experiences k of the mean accuracy on k over its
    first beta + 1 evaluations (b = 0..beta, the first at the start of its training, ``starts[k]``).

    The window is clipped to the experience: only evaluations taken while k trains count (before
    ``boundaries[k]``, the end of its training), and an experience with fewer than beta + 1 of them
    gives no value, as ContinualEvaluation's ``TrackingLCAPluginMetric`` does; NaN when no
    experience has enough. Without ``boundaries`` each window ends at the next experience's start."""
    acc = _curves(acc)
    ends = list(boundaries) if boundaries is not None else [*starts[1:], len(acc)]
    vals = [np.nanmean(acc[s : s + beta + 1, k]) for k, (s, e) in enumerate(zip(starts, ends))
            if min(e, len(acc)) - s >= beta + 1]
    return float(np.mean(vals)) if vals else float("nan")


def online_accuracy(online) -> float:
    """Mean prequential accuracy: each batch scored before the learner trains on it."""
    o = np.asarray(online, dtype=float)
    return float(o.mean()) if o.size else float("nan")


def recovery_times(online, starts, window: int = 10, tol: float = 0.02) -> list[float]:
    """Batches after each shift (experience start but the first) until the moving mean over
    ``window`` batches of online accuracy is back within ``tol`` of its mean over the ``window``
    batches before the shift; NaN when it never recovers before the next shift (or the end)."""
    o = np.asarray(online, dtype=float)
    out = []
    for k, s in enumerate(starts[1:], start=1):
        end = starts[k + 1] if k + 1 < len(starts) else len(o)
        if s - window < 0 or end - s < window:
            continue
        before = o[s - window:s].mean()
        seg = np.convolve(o[s:end], np.ones(window) / window, mode="valid")
        hit = np.nonzero(seg >= before - tol)[0]
        out.append(float(hit[0]) if hit.size else float("nan"))
    return out


def per_task(R, task_ids, kinds, b=None):
    """The accuracy matrix per task of a stream whose tasks recur (rehearsal experiences repeat a
    task's test set): columns are each task's first experience, rows the state at the end of each
    task's phase (just before the next new task, or at the stream's end). ``kinds`` marks each
    experience ``"new"`` or not. Returns R (and b's matching entries when given)."""
    R = _R(R)
    first: dict = {}
    for j, t in enumerate(task_ids):
        first.setdefault(t, j)
    cols = list(first.values())
    news = [j for j, k in enumerate(kinds) if k == "new"]
    rows = [n - 1 for n in news[1:]] + [len(kinds) - 1]
    out = R[np.ix_(rows, cols)]
    return out if b is None else (out, [b[j] for j in cols])


def forward_facilitation(acc, starts, task_ids, kinds, k: int) -> float:
    """Learning speed on each new task against the first: the accuracy on a new task k
    evaluations into its first experience (``train.eval_dense`` >= k evaluates after each of the
    first k steps) minus the first task's at the same point, mean over the later tasks; NaN when
    an experience has fewer than k evaluations."""
    acc = _curves(acc)
    news = [j for j, kind in enumerate(kinds) if kind == "new"]
    ends = [*starts[1:], len(acc)]
    if len(news) < 2 or any(ends[j] - starts[j] <= k for j in news):
        return float("nan")
    at_k = [acc[starts[j] + k, j] for j in news]
    return float(np.mean(at_k[1:]) - at_k[0])
