"""From stored Results to metric values, and across seeds to mean and 95% CI."""
from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np

from ..metrics import METRICS, continual, mean_ci
from .cell import Result


def result_metrics(r: Result) -> dict[str, float]:
    """Every metric of METRICS for one result (accuracies in %, differences in points)."""
    R = np.asarray(r.R, dtype=float)
    b = r.b
    if r.curves.get("task_ids") and len(R):        # recurring tasks: metrics per task, not per experience
        R, b = continual.per_task(R, r.curves["task_ids"], r.curves["kinds"], r.b)
    if getattr(r, "memory", None) or getattr(r, "experiment", None):    # no accuracy matrix
        out = {k: float("nan") for k in METRICS}
        out["wall_s"] = _num(r.costs.get("wall_s"))
        return out
    if getattr(r, "tta", None):       # test-time adaptation: one row of online accuracies
        nan = float("nan")
        out = {"acc": 100 * float(R[-1].mean()), "bwt": nan, "fwt": nan, "forgetting": nan, "aia": nan,
               "learning_acc": nan}
    else:
        out = {
            "acc": 100 * continual.average_accuracy(R),
            "bwt": 100 * continual.backward_transfer(R),
            "fwt": 100 * continual.forward_transfer(R, b),
            "forgetting": 100 * continual.forgetting(R),
            "aia": 100 * continual.average_incremental_accuracy(R),
            "learning_acc": 100 * continual.learning_accuracy(R),
        }
    acc = np.asarray(r.curves.get("acc") or [], dtype=float)
    if acc.size:
        out["min_acc"] = 100 * continual.min_acc(acc, r.curves["boundaries"])
        out["wc_acc"] = 100 * continual.wc_acc(acc, r.curves["boundaries"])
        out["wf10"] = 100 * continual.windowed_forgetting(acc, 10)
        out["wp10"] = 100 * continual.windowed_plasticity(acc, 10)
        out["lca10"] = 100 * continual.learning_curve_area(acc, r.curves["starts"], 10, r.curves["boundaries"])
    else:
        out.update({k: float("nan") for k in ("min_acc", "wc_acc", "wf10", "wp10", "lca10")})
    dense = (r.cell.get("train") or {}).get("eval_dense", 0)
    out["facilitation"] = (100 * continual.forward_facilitation(acc, r.curves["starts"], r.curves["task_ids"],
                                                                r.curves["kinds"], dense)
                           if acc.size and dense and r.curves.get("task_ids") else float("nan"))
    online = r.curves.get("online") or []
    out["online_acc"] = 100 * continual.online_accuracy(online)
    rec = continual.recovery_times(online, r.curves.get("online_starts") or []) if online else []
    out["recovery"] = float(np.nanmean(rec)) if rec and not np.all(np.isnan(rec)) else float("nan")
    out["fau"] = 100 * _num(r.plasticity.get("fau"))
    out["dormant"] = 100 * _num(r.plasticity.get("dormant"))
    out["eff_rank"] = _num(r.plasticity.get("eff_rank"))
    out["weight_change"] = _num(r.plasticity.get("weight_change"))
    out["density"] = 100 * _num(r.plasticity.get("density"))
    liquid = r.curves.get("method_trace") or {}
    out["branching"] = _num(_last(liquid.get("branching_factor")))
    out["bf_gap"] = abs(out["branching"] - 1.0)
    out["liquid_hz"] = _num(_last(liquid.get("liquid_hz")))
    for k in ("wall_s", "samples_per_s", "peak_mem_mb", "params", "train_gflops"):
        out[k] = _num(r.costs.get(k))
    out["eval_share"] = 100 * _num(r.costs.get("eval_share")) if acc.size else float("nan")
    assert set(out) == set(METRICS), set(out) ^ set(METRICS)
    return out


def _flat(d: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = json.dumps(v, sort_keys=True, default=str)
    return out


_NOT_CONFIG = ("seed", "stream_label", "method_label")


def display_labels(results: list[Result]) -> dict[str, tuple[str, str]]:
    """(stream label, method label) per result key. Results are grouped by their whole
    configuration except the seed: where one label pair covers several configurations (e.g. two
    runs of the same grid with other batch sizes), each gets its own label with the keys that
    differ, e.g. ``finetune [train.batch_size=64]``, so they are never averaged together."""
    configs: dict[tuple[str, str], dict[str, dict[str, str]]] = defaultdict(dict)
    for r in results:
        c = r.cell
        pair = (c.get("stream_label") or c["stream"], c.get("method_label") or c["method"])
        flat = _flat({k: v for k, v in c.items() if k not in _NOT_CONFIG})
        configs[pair][json.dumps(flat, sort_keys=True)] = flat
    out = {}
    for r in results:
        c = r.cell
        pair = (c.get("stream_label") or c["stream"], c.get("method_label") or c["method"])
        variants = list(configs[pair].values())
        if len(variants) == 1:
            out[r.key] = pair
            continue
        mine = _flat({k: v for k, v in c.items() if k not in _NOT_CONFIG})
        keys = sorted({k for v in variants for k in v} - {k for k in mine if all(v.get(k) == mine[k] for v in variants)})
        extra = ", ".join(f"{k}={mine.get(k, '-')}" for k in keys)
        out[r.key] = (pair[0], f"{pair[1]} [{extra}]")
    return out


def summarize(results: list[Result]) -> list[dict]:
    """One row per (stream, method) configuration: seeds and every metric as {mean, ci_low,
    ci_high}. Cells that differ in anything but the seed are separate rows (``display_labels``)."""
    groups: dict[tuple[str, str], list[Result]] = defaultdict(list)
    labels = display_labels(results)
    for r in results:
        groups[labels[r.key]].append(r)
    rows = []
    for (stream, method), rs in groups.items():
        per = [result_metrics(r) for r in rs]
        row = {"stream": stream, "method": method, "seeds": sorted(r.cell["seed"] for r in rs)}
        for name in METRICS:
            m, lo, hi = mean_ci([p[name] for p in per])
            row[name] = {"mean": _clean(m), "ci_low": _clean(lo), "ci_high": _clean(hi)}
        rows.append(row)
    return rows


def _last(v):
    return v[-1] if isinstance(v, list) and v else None


def _num(v) -> float:
    return float("nan") if v is None else float(v)


def _clean(v: float):
    return None if v is None or math.isnan(v) else v
