"""The report's figures (matplotlib, Agg). Each function takes the Results of one stream,
grouped by method, and returns a Figure. Colours: Okabe & Ito's colour-blind-safe palette."""
from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
STYLE = {
    "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "legend.fontsize": 8,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False, "axes.spines.right": False,
    "figure.dpi": 110, "savefig.bbox": "tight",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)
    return plt


def colour(i: int) -> str:
    return OKABE_ITO[i % len(OKABE_ITO)]


def _grid(n: int, per_row: int = 4, w: float = 2.6, h: float = 2.4, xlabel: str = "", ylabel: str = ""):
    """A grid of n panels; axis labels only on the left column and the bottom row."""
    plt = _plt()
    cols = min(n, per_row)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(w * cols + 0.8, h * rows + 0.6), squeeze=False,
                             layout="constrained")
    for ax in axes.flat[n:]:
        ax.axis("off")
    for k, ax in enumerate(axes.flat[:n]):
        if k % cols == 0:
            ax.set_ylabel(ylabel)
        if k + cols >= n:
            ax.set_xlabel(xlabel)
    return fig, list(axes.flat[:n])


def accuracy_matrices(by_method: dict[str, list]) -> "Figure":
    """R averaged over seeds, one heatmap per method (rows: after training on; cols: tested on)."""
    fig, axes = _grid(len(by_method), h=2.7, xlabel="tested on experience", ylabel="after training on")
    for ax, (method, rs) in zip(axes, by_method.items()):
        R = 100 * np.nanmean([np.asarray(r.R, dtype=float) for r in rs], axis=0)
        T = len(R)
        im = ax.imshow(R, vmin=0, vmax=100, cmap="viridis")
        ax.set_title(method)
        ax.set_xticks(range(T)), ax.set_yticks(range(T))
        if T <= 10:
            for i in range(T):
                for j in range(T):
                    ax.text(j, i, f"{R[i, j]:.0f}", ha="center", va="center", fontsize=7,
                            color="white" if R[i, j] < 60 else "black")
    fig.colorbar(im, ax=axes, shrink=0.6, label="accuracy (%)")
    return fig


def curves(by_method: dict[str, list]) -> "Figure | None":
    """Continual evaluation: accuracy on each experience over training steps (mean over seeds),
    with the experience boundaries dashed: dips right after a boundary are the stability gap."""
    have = {m: rs for m, rs in by_method.items() if rs[0].curves.get("acc")}
    if not have:
        return None
    fig, axes = _grid(len(have), per_row=2, w=4.6, h=2.5, xlabel="training step", ylabel="accuracy (%)")
    for ax, (method, rs) in zip(axes, have.items()):
        n = min(len(r.curves["acc"]) for r in rs)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)       # unseen experiences are all-NaN
            acc = 100 * np.nanmean([np.asarray(r.curves["acc"][:n], dtype=float) for r in rs], axis=0)
        steps = np.asarray(rs[0].curves["steps"][:n])
        for j in range(acc.shape[1]):
            ax.plot(steps, acc[:, j], color=colour(j), lw=1.2, label=f"exp {j}")
        for b in rs[0].curves["boundaries"][:-1]:
            if b < n:
                ax.axvline(steps[b], color="grey", ls="--", lw=0.7)
        ax.set_ylim(-2, 102)
        ax.set_title(method)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, [f"accuracy on {lab}" for lab in labels], loc="outside upper center",
               ncol=min(len(labels), 6), frameon=False)
    return fig


def gap_zoom(by_method: dict[str, list], window: int = 50) -> "Figure | None":
    """The stability gap up close: for each experience k after the first, the accuracy on
    experience k - 1 (the one just learned) over the first ``window`` steps of k (mean over
    seeds), one line per k. Drawn for cells evaluated step by step there (``train.eval_dense``)
    with at least five evaluations inside the window."""
    def zoom(r):
        steps = np.asarray(r.curves["steps"])
        acc = np.asarray(r.curves["acc"], dtype=float)
        out = {}
        for k, s in enumerate(r.curves["starts"][1:], start=1):
            rel = steps[s:] - steps[s]
            n = int(np.searchsorted(rel, window, side="right"))
            if n >= 6:                  # the start plus at least five evaluations inside the window
                out[k] = (rel[:n], 100 * acc[s:s + n, k - 1])
        return out
    have = {m: [zoom(r) for r in rs] for m, rs in by_method.items()
            if rs[0].curves.get("acc") and (rs[0].cell.get("train") or {}).get("eval_dense", 0) > 0}
    have = {m: zs for m, zs in have.items() if zs and zs[0]}
    if not have:
        return None
    fig, axes = _grid(len(have), per_row=3, w=3.4, h=2.5, xlabel="steps into experience k",
                      ylabel="accuracy on experience k - 1 (%)")
    for ax, (method, zs) in zip(axes, have.items()):
        for k in zs[0]:
            runs = [z[k] for z in zs if k in z]
            n = min(len(x) for x, _ in runs)
            ax.plot(runs[0][0][:n], np.mean([y[:n] for _, y in runs], axis=0), color=colour(k), lw=1.2,
                    label=f"k = {k}")
        ax.set_ylim(-2, 102)
        ax.set_title(method)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=min(len(labels), 6), frameon=False)
    return fig


def module_drift(by_method: dict[str, list]) -> "Figure | None":
    """Which modules move most: each module's relative drift between consecutive FPF points
    (experience ends for ``fpf``, the FPF calls of ``kfpf_*``), mean over seeds, as a heat map per
    method; the modules FPF fine-tuned at the last point are marked with a star."""
    have = {m: rs for m, rs in by_method.items() if (rs[0].curves.get("method_trace") or {}).get("drift")}
    if not have:
        return None
    fig, axes = _grid(len(have), per_row=2, w=4.8, h=2.8, xlabel="FPF point", ylabel="")
    for ax, (method, rs) in zip(axes, have.items()):
        traces = [r.curves["method_trace"] for r in rs]
        names = list(traces[0]["drift"][0])
        n = min(len(t["drift"]) for t in traces)
        d = np.mean([[[t["drift"][i][m] for i in range(n)] for m in names] for t in traces], axis=0)
        im = ax.imshow(d, aspect="auto", cmap="viridis")
        tuned = traces[0]["tuned"][n - 1] if traces[0]["tuned"] else []
        ax.set_yticks(range(len(names)), [f"{m} *" if m in tuned else m for m in names], fontsize=7)
        ax.set_title(method)
        fig.colorbar(im, ax=ax, shrink=0.8, label="relative drift")
    return fig


def forgetting_per_experience(by_method: dict[str, list]) -> "Figure":
    """max_l R[l, j] - R[T-1, j] for every experience j < T-1, mean over seeds, one bar per method."""
    plt = _plt()
    T = len(next(iter(by_method.values()))[0].R)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * T + 2), 2.8))
    width = 0.8 / max(1, len(by_method))
    for k, (method, rs) in enumerate(by_method.items()):
        vals = []
        for r in rs:
            R = 100 * np.asarray(r.R, dtype=float)
            vals.append([R[j:T - 1, j].max() - R[-1, j] for j in range(T - 1)])
        mean = np.nanmean(vals, axis=0) if T > 1 else []
        ax.bar(np.arange(T - 1) + k * width, mean, width, color=colour(k), label=method)
    ax.set_xticks(np.arange(T - 1) + width * (len(by_method) - 1) / 2)
    ax.set_xticklabels([str(j) for j in range(T - 1)])
    ax.set_xlabel("experience")
    ax.set_ylabel("forgetting (points)")
    ax.legend(ncol=min(4, len(by_method)), frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


PLASTICITY = (("fau", "fraction of active units (%)", 100), ("dormant", "dormant units (%)", 100),
              ("eff_rank", "effective rank of features", 1), ("weight_change", "relative weight change", 1),
              ("weight_norm", "weight norm ||W||", 1))


def plasticity(by_method: dict[str, list]) -> "Figure | None":
    """Plasticity figures after each experience (mean over seeds)."""
    if not all(r.plasticity.get("trace") for rs in by_method.values() for r in rs):
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(PLASTICITY) + 1, figsize=(3.0 * (len(PLASTICITY) + 1), 2.9),
                             layout="constrained")
    for k, (method, rs) in enumerate(by_method.items()):     # plasticity in task terms: the new task
        diag = np.nanmean([np.diag(np.asarray(r.R, dtype=float)) for r in rs], axis=0) * 100
        axes[-1].plot(range(len(diag)), diag, marker="o", ms=3, color=colour(k), label=method)
    axes[-1].set_xlabel("experience")
    axes[-1].set_ylabel("accuracy on it right after (%)")
    for ax, (key, label, scale) in zip(axes, PLASTICITY):
        for k, (method, rs) in enumerate(by_method.items()):
            arr = np.asarray([[scale * (t.get(key) if t.get(key) is not None else np.nan)
                               for t in r.plasticity["trace"]] for r in rs], dtype=float)
            counts = np.isfinite(arr).sum(0)
            vals = np.where(counts > 0, np.nansum(arr, 0) / np.maximum(counts, 1), np.nan)
            ax.plot(range(len(vals)), vals, marker="o", ms=3, color=colour(k), label=method)
        ax.set_xlabel("after experience")
        ax.set_ylabel(label)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncol=min(len(labels), 8), frameon=False)
    return fig


def costs(by_method: dict[str, list]) -> "Figure":
    plt = _plt()
    items = (("wall_s", "wall time (s)"), ("samples_per_s", "training samples / s"),
             ("peak_mem_mb", "peak memory (MB)"), ("params", "parameters"))
    fig, axes = plt.subplots(1, len(items), figsize=(3.0 * len(items), 2.6))
    names = list(by_method)
    for ax, (key, label) in zip(axes, items):
        vals = [np.nanmean([r.costs.get(key) or np.nan for r in by_method[m]]) for m in names]
        ax.barh(range(len(names)), vals, color=[colour(i) for i in range(len(names))])
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names if ax is axes[0] else [""] * len(names))
        ax.invert_yaxis()
        ax.set_xlabel(label)
    fig.tight_layout()
    return fig


def tta_error_vs_severity(by_method: dict[str, list]) -> "Figure | None":
    """Test-time adaptation: online error against corruption severity, mean over corruptions and
    seeds (the source's error, dashed, from the first method's source evaluation)."""
    first = next(iter(by_method.values()))[0]
    sev = sorted({s for s in first.tta.get("severity", []) if s})
    if len(sev) < 2:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.6, 3.2))

    def by_severity(rs, key):
        return [np.nanmean([np.mean([e for e, s in zip(r.tta[key], r.tta["severity"]) if s == level])
                            for r in rs]) for level in sev]
    for i, (method, rs) in enumerate(by_method.items()):
        ax.plot(sev, by_severity(rs, "error"), marker="o", color=colour(i), label=method)
    ax.plot(sev, by_severity(next(iter(by_method.values())), "source_error"), ls="--", color="0.5",
            label="source (no adaptation)")
    ax.set_xlabel("severity")
    ax.set_ylabel("online error (%)")
    ax.set_xticks(sev)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def memory_curves(by_method: dict[str, list]) -> "Figure":
    """Associative memory: recall against load (clean and 10 %-noise cues) and against cue
    corruption (flipped bits, masked bits) at a fixed load; mean over seeds."""
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(12.0, 2.9))
    panels = (("load", "recall", "load K (stored patterns)", "clean cues"),
              ("load", "recall_noisy", "load K (stored patterns)", "cues with 10% flipped bits"),
              ("noise", "recall", "fraction of cue bits flipped", None),
              ("mask", "recall", "fraction of cue bits masked", None))
    for ax, (part, key, xlabel, title) in zip(axes, panels):
        for i, (method, rs) in enumerate(by_method.items()):
            xs = rs[0].memory[part]["k" if part == "load" else "level"]
            ys = np.nanmean([r.memory[part][key] for r in rs], axis=0)
            ax.plot(xs, ys, marker="o", ms=3, color=colour(i), label=method)
        if part == "load":
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(title or f"at K = {rs[0].memory['corruption_load']}")
    axes[0].set_ylabel("recall (overlap >= 0.95)")
    axes[-1].legend(frameon=False, loc="lower left")
    fig.tight_layout()
    return fig


def multitask_overlaps(by_method: dict[str, list]) -> "Figure":
    """Multitasking network: sorted Mattis overlaps against dilution (mean over seeds), with the
    hierarchical prediction (1 - d) d^i dashed."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(by_method), figsize=(4.2 * len(by_method), 3.0), squeeze=False)
    for ax, (method, rs) in zip(axes[0], by_method.items()):
        d = rs[0].memory["dilution"]
        over = np.nanmean([r.memory["overlaps"] for r in rs], axis=0)
        hier = np.asarray(rs[0].memory["hierarchical"])
        for i in range(over.shape[1]):
            ax.plot(d, over[:, i], marker="o", ms=3, color=colour(i), label=f"overlap {i + 1}")
            ax.plot(d, hier[:, i], ls="--", lw=0.8, color=colour(i))
        ax.set_xlabel("dilution d")
        ax.set_title(method)
    axes[0][0].set_ylabel("|Mattis overlap| (sorted)")
    axes[0][-1].legend(frameon=False)
    fig.tight_layout()
    return fig


def online_and_trace(by_method: dict[str, list]) -> "Figure | None":
    """Prequential (online) accuracy over training batches, smoothed over 50 batches, with the
    experience starts (e.g. label swaps) dotted; and each method's own learning-rate trace."""
    have_online = [m for m, rs in by_method.items() if rs[0].curves.get("online")]
    have_lr = [m for m, rs in by_method.items() if (rs[0].curves.get("method_trace") or {}).get("lr")]
    if not have_online and not have_lr:
        return None
    plt = _plt()
    n = int(bool(have_online)) + int(bool(have_lr))
    fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 3.0), squeeze=False)
    axes = list(axes[0])
    names = list(by_method)
    if have_online:
        ax = axes.pop(0)
        for m in have_online:
            rs = by_method[m]
            length = min(len(r.curves["online"]) for r in rs)
            mean = np.mean([r.curves["online"][:length] for r in rs], axis=0)
            k = min(50, max(1, length // 20))
            ax.plot(np.convolve(mean, np.ones(k) / k, mode="valid") * 100, lw=1, color=colour(names.index(m)), label=m)
        starts = by_method[have_online[0]][0].curves.get("online_starts", [])[1:]
        if len(starts) <= 40:
            for s in starts:
                ax.axvline(s, color="0.8", lw=0.6, ls=":")
        ax.set_xlabel("training batch")
        ax.set_ylabel("online accuracy (%)")
        ax.legend(frameon=False, fontsize=7)
    if have_lr:
        ax = axes.pop(0)
        for m in have_lr:
            rs = by_method[m]
            length = min(len(r.curves["method_trace"]["lr"]) for r in rs)
            ax.plot(np.mean([r.curves["method_trace"]["lr"][:length] for r in rs], axis=0), lw=1,
                    color=colour(names.index(m)), label=m)
        ax.set_xlabel("training batch")
        ax.set_ylabel("learning rate")
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def critical_periods(results: list) -> "Figure":
    """Deprived-pathway error and whole-network error against deficit duration, one line per
    depth (mean over seeds)."""
    plt = _plt()
    cp = [r.experiment["critical_periods"] for r in results]
    depths, deficits = cp[0]["depths"], cp[0]["deficits"]
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.0))
    for ax, key, label in ((axes[0], "deprived_error", "deprived pathway alone: relative error"),
                           (axes[1], "total_error", "whole network: relative error")):
        mean = np.mean([c[key] for c in cp], axis=0)
        for i, dp in enumerate(depths):
            ax.plot(deficits, mean[i], marker="o", ms=3, color=colour(i), label=f"depth {dp}")
        ax.set_xlabel("deficit duration t_d (steps)")
        ax.set_ylabel(label)
    axes[0].legend(frameon=False)
    fig.tight_layout()
    return fig


def liquid(by_method: dict[str, list]) -> "Figure | None":
    """Spiking liquids. Top: branching factor (1 = critical) and firing rate of the frozen liquid
    per method, each seed a dot; the astrocyte state, the liquid's spikes per sample and the
    branching factor over the plastic initialisation (mean over seeds). Bottom: a raster of each
    method's liquid on one sample (the first seed). None when no result carries a liquid's
    diagnostics."""
    def trace(r):
        return r.curves.get("method_trace") or {}

    have = [m for m, rs in by_method.items() if any(trace(r).get("branching_factor") for r in rs)]
    if not have:
        return None
    plt = _plt()
    fig = plt.figure(figsize=(15.0, 5.6), layout="constrained")
    top = fig.subfigures(2, 1, height_ratios=[1.0, 0.9])
    axes = top[0].subplots(1, 5)
    for ax, key, label in ((axes[0], "branching_factor", "branching factor"), (axes[1], "liquid_hz", "firing rate (Hz)")):
        for i, m in enumerate(have):
            vals = [trace(r)[key][-1] for r in by_method[m] if trace(r).get(key)]
            vals = [np.nan if v is None else v for v in vals]
            ax.bar(i, np.nanmean(vals) if not np.isnan(vals).all() else 0.0, color=colour(i), alpha=0.6)
            ax.plot([i] * len(vals), vals, "k.", ms=4)
        ax.set_xticks(range(len(have)))
        ax.set_xticklabels(have, rotation=30, ha="right")
        ax.set_ylabel(label)
    axes[0].axhline(1.0, color="k", lw=0.8, ls="--")
    for ax, key, label in ((axes[2], "init_astro", "astrocyte state A"),
                           (axes[3], "init_liquid_spikes", "liquid spikes per ms")):
        for i, m in enumerate(have):
            runs = [trace(r)[key] for r in by_method[m] if trace(r).get(key)]
            if runs:
                length = min(len(t) for t in runs)
                ax.plot(np.mean([t[:length] for t in runs], axis=0), lw=0.8, color=colour(i), label=m)
        ax.set_xlabel("initialisation sample")
        ax.set_ylabel(label)
    for i, m in enumerate(have):
        runs = [trace(r) for r in by_method[m] if trace(r).get("init_branching")]
        if runs:
            at = runs[0]["init_branching_at"]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)      # NaN where no spike fell in the window
                bf = np.nanmean([[np.nan if v is None else v for v in t["init_branching"]] for t in runs], axis=0)
            axes[4].plot(at, bf, "o-", ms=3, lw=0.8, color=colour(i), label=m)
    axes[4].axhline(1.0, color="k", lw=0.8, ls="--")
    axes[4].set_xlabel("initialisation sample")
    axes[4].set_ylabel("branching factor")
    for ax in axes[2:]:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    rasters = [(i, m, trace(by_method[m][0])) for i, m in enumerate(have) if "raster_t" in trace(by_method[m][0])]
    if rasters:
        bottom = top[1].subplots(1, len(rasters), squeeze=False)[0]
        for ax, (i, m, t) in zip(bottom, rasters):
            ax.plot(t["raster_t"], t["raster_neuron"], "|", ms=1.5, mew=0.5, color=colour(i))
            ax.set_title(f"{m} (seed {by_method[m][0].cell['seed']})", fontsize=8)
            ax.set_xlabel("time (ms)")
        bottom[0].set_ylabel("liquid neuron")
    return fig


def liquid_sizes(by_method: dict[str, list]) -> "Figure | None":
    """Read-out accuracy against reservoir size (liquid neurons, or ESN units), one line per
    registered method, mean and 95% CI over seeds. None unless some method ran at two sizes."""
    from ..metrics import average_accuracy
    from ..metrics.stats import mean_ci

    points: dict[str, dict[int, list[float]]] = {}
    for rs in by_method.values():
        for r in rs:
            kw = r.cell.get("model_kwargs") or {}
            if r.cell.get("model") == "liquid":
                size = int(np.prod(kw.get("grid", (10, 10, 10))))
            elif r.cell.get("model") == "esn":
                size = int(kw.get("units", 1000))
            else:
                continue
            points.setdefault(r.cell["method"], {}).setdefault(size, []).append(100 * average_accuracy(np.array(r.R)))
    if not any(len(v) > 1 for v in points.values()):
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.2, 3.0), layout="constrained")
    for i, (m, by_size) in enumerate(points.items()):
        sizes = sorted(by_size)
        stats = [mean_ci(by_size[n]) for n in sizes]
        mean = [s[0] for s in stats]
        ax.plot(sizes, mean, "o-", color=colour(i), label=m, ms=4)
        lo, hi = np.clip([s[1] for s in stats], 0, 100), np.clip([s[2] for s in stats], 0, 100)
        ax.fill_between(sizes, lo, hi, color=colour(i), alpha=0.15)
    ax.set_xscale("log")
    ticks = sorted({n for v in points.values() for n in v})
    ax.set_xticks(ticks, [f"{n:,}" for n in ticks])
    ax.minorticks_off()
    ax.set_xlabel("reservoir size (neurons / units)")
    ax.set_ylabel("accuracy (%)")
    ax.legend(fontsize=7)
    return fig
