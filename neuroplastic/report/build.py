"""One self-contained HTML report from stored results: per stream a summary table with 95%
confidence intervals and significance against the best method, accuracy matrices, continual-
evaluation curves, forgetting per experience, plasticity and cost figures; then provenance.

Figures are inline base64 PNGs (no network, styles inline); ``figures_dir`` also writes each one
as PNG and PDF for papers.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import re
from collections import OrderedDict
from importlib import resources
from pathlib import Path
from string import Template

import numpy as np

from ..metrics import METRICS, mean_ci, paired_test
from ..run.cell import Result
from ..run.summary import result_metrics
from . import plots

TABLE = ("acc", "bwt", "forgetting", "min_acc", "wc_acc", "online_acc", "recovery", "branching", "liquid_hz", "fau",
         "wall_s", "samples_per_s", "train_gflops", "eval_share")
OPTIONAL_COLUMNS = ("online_acc", "recovery", "branching", "liquid_hz", "train_gflops", "eval_share")
ALPHA = 0.05
FIGURES = (
    ("matrices", plots.accuracy_matrices, "Accuracy matrices (mean over seeds): row i, column j is the "
     "accuracy on experience j after training on experience i. Below the diagonal: what is kept; above: "
     "accuracy on experiences not yet trained."),
    ("curves", plots.curves, "Continual evaluation: accuracy on each experience's fixed test subset during "
     "training (mean over seeds); dashed lines mark the ends of experiences. A dip right after a boundary "
     "that recovers later is the stability gap (De Lange et al. 2023)."),
    ("gap_zoom", plots.gap_zoom, "The stability gap up close: the accuracy on experience k - 1, the one "
     "just learned, over the first 50 steps of experience k, one line per k (mean over seeds); drawn "
     "where the curves were evaluated step by step there (train.eval_dense). A dip that recovers within "
     "the experience is invisible to evaluation at experience ends only."),
    ("module_drift", plots.module_drift, "Module sensitivity (FPF): each module's relative drift "
     "||theta - theta'|| / ||theta'|| (parameters and BatchNorm statistics) between consecutive FPF points, "
     "mean over seeds; a star marks the modules fine-tuned at the last point."),
    ("forgetting", plots.forgetting_per_experience, "Forgetting of each experience at the end: its best "
     "accuracy after being trained minus its final accuracy (mean over seeds)."),
    ("plasticity", plots.plasticity, "Plasticity after each experience, on a fixed probe batch: fraction "
     "of active ReLU units, dormant units (ReDo, tau = 0.025), effective rank of the head's input "
     "features, relative change of the weights since initialisation, the weights' norm, and the "
     "accuracy on each experience right after training on it (mean over seeds)."),
    ("online", plots.online_and_trace, "Online (prequential) accuracy: each training batch scored before the "
     "learner trains on it, smoothed; dotted lines mark experience starts (e.g. label swaps). Right: the "
     "learning rate of methods that regulate their own (mean over seeds)."),
    ("liquid", plots.liquid, "Spiking liquids: the branching factor of the frozen liquid (descendant spikes "
     "per spike within 4 ms; 1, dashed, is critical) and its firing rate, per method (bars: mean, dots: "
     "seeds); the astrocyte state and the liquid's spikes per ms over the plastic initialisation, per "
     "sample, and the branching factor at even points of it (mean over seeds). Bottom: each liquid's "
     "spikes on one training sample (first seed)."),
    ("liquid_sizes", plots.liquid_sizes, "Read-out accuracy against reservoir size (liquid neurons or "
     "echo-state units), per method: mean and 95% CI over seeds."),
    ("costs", plots.costs, "Cost per cell (mean over seeds): wall time, training throughput, peak memory "
     "(CPU: peak RSS of the process that ran the cell; CUDA: peak allocated), parameters."),
)


def group(results: list[Result]) -> "OrderedDict[str, OrderedDict[str, list[Result]]]":
    """stream label -> method label -> results; configurations that share a label are told
    apart by their differing keys (``run.summary.display_labels``), never averaged together."""
    from ..run.summary import display_labels

    labels = display_labels(results)
    out: OrderedDict = OrderedDict()
    for r in sorted(results, key=lambda r: (*labels[r.key], r.cell["seed"])):
        s, m = labels[r.key]
        out.setdefault(s, OrderedDict()).setdefault(m, []).append(r)
    return out


def _fig_html(fig, name: str, caption: str, figures_dir: Path | None) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    if figures_dir is not None:
        figures_dir.mkdir(parents=True, exist_ok=True)
        fig.savefig(figures_dir / f"{name}.png")
        fig.savefig(figures_dir / f"{name}.pdf")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return (f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _fmt(mean: float, lo: float, hi: float, metric: str) -> str:
    digits = 0 if metric in ("samples_per_s", "params") else 1
    if mean is None or np.isnan(mean):
        return "&ndash;"
    text = f"{mean:,.{digits}f}"
    if lo is not None and not np.isnan(lo):
        text += f' <span class="ci">&plusmn;{(hi - lo) / 2:,.{digits}f}</span>'
    return text


def _nanmean(values) -> float:
    """Mean of the finite values; NaN (no warning) when there are none (e.g. BWT of a TTA cell)."""
    a = np.asarray(values, dtype=float)
    return float(np.nanmean(a)) if np.isfinite(a).any() else float("nan")


def summary_table(by_method: dict[str, list[Result]]) -> tuple[str, str]:
    """HTML table and a sentence on the test used."""
    values = {m: {r.cell["seed"]: result_metrics(r) for r in rs} for m, rs in by_method.items()}
    # optional columns appear only where some cell has them
    cols = [k for k in TABLE if k not in OPTIONAL_COLUMNS
            or any(np.isfinite(v[k]) for per in values.values() for v in per.values())]
    head = "".join(f"<th title='{html.escape(METRICS[k][0])}'>{k}</th>" for k in cols)
    rows = []
    best = {}
    for k in cols:
        higher = METRICS[k][1]
        means = {m: _nanmean([v[k] for v in values[m].values()]) for m in values}
        finite = {m: v for m, v in means.items() if not np.isnan(v)}
        best[k] = (max if higher else min)(finite, key=finite.get) if finite and higher is not None else None
    for m in values:
        cells = []
        for k in cols:
            seeds = sorted(values[m])
            mean, lo, hi = mean_ci([values[m][s][k] for s in seeds])
            cls, mark = "", ""
            if best[k] == m:
                cls = ' class="best"'
            elif best[k] is not None:
                common = sorted(set(seeds) & set(values[best[k]]))
                if len(common) >= 2:
                    p, _ = paired_test([values[m][s][k] for s in common], [values[best[k]][s][k] for s in common])
                    if not np.isnan(p) and p < ALPHA:
                        mark = '<span class="sig" title="differs from the best (paired t-test, p &lt; 0.05)">*</span>'
            cells.append(f"<td{cls}>{_fmt(mean, lo, hi, k)}{mark}</td>")
        n = len(values[m])
        rows.append(f"<tr><td>{html.escape(m)}</td><td>{n}</td>{''.join(cells)}</tr>")
    table = f"<table><tr><th>method</th><th>seeds</th>{head}</tr>{''.join(rows)}</table>"
    note = ("Mean &plusmn; half-width of the 95% confidence interval over seeds (t-distribution). Bold: the "
            "best mean per column. <span class='sig'>*</span>: differs from the best method in that column "
            f"(two-sided paired t-test over matched seeds, p &lt; {ALPHA}); with few seeds the test has little "
            "power, so no star does not mean no difference. Accuracies in %, bwt and forgetting in points.")
    return table, note


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]+", "-", text).strip("-") or "stream"


def tta_table(by_method: dict[str, list[Result]]) -> str:
    """Corruption x method: online error (%) per corruption (mean over its severities and the
    seeds), the mean over corruptions, and the source model's error in the first row."""
    first = next(iter(by_method.values()))[0].tta
    names = list(dict.fromkeys(first["corruption"]))

    def per_corruption(rs, key):
        out = []
        for name in names:
            vals = [np.mean([e for e, c in zip(r.tta[key], r.tta["corruption"]) if c == name]) for r in rs]
            out.append(float(np.mean(vals)))
        return out
    rows = [("source (no adaptation)", per_corruption(next(iter(by_method.values())), "source_error"))]
    rows += [(m, per_corruption(rs, "error")) for m, rs in by_method.items()]
    best = [min(r[1][j] for r in rows[1:]) for j in range(len(names))]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = []
    for label, errs in rows:
        marks = [' class="best"' if label != rows[0][0] and e == best[j] else "" for j, e in enumerate(errs)]
        cells = "".join(f"<td{mark}>{e:.1f}</td>" for mark, e in zip(marks, errs))
        body.append(f"<tr><td>{html.escape(label)}</td>{cells}<td>{np.mean(errs):.1f}</td></tr>")
    return (f"<table><tr><th>method</th>{head}<th>mean</th></tr>{''.join(body)}</table>"
            f'<p class="note">Test-time adaptation, setting <b>{html.escape(first["setting"])}</b>, test batch '
            f'{first["batch_size"]}: online error in % (each batch predicted before the next is seen), mean over '
            "severities and seeds; bold: the lowest per column. Source: the same trained model without adaptation.</p>")


def memory_table(by_method: dict[str, list[Result]]) -> str:
    """Per model: capacity (largest load with recall >= 95 %, clean and noisy cues) and recall at the
    corruption load under half-masked and 20 %-noise cues, mean and 95 % CI over seeds."""
    from ..memory.experiments import capacity_at

    def cell(vals, digits=0):
        m, lo, hi = mean_ci(vals)
        return _fmt(m, lo, hi, "params" if digits == 0 else "acc")

    def at(r, part, level):
        d = r.memory[part]
        return 100 * d["recall"][d["level"].index(level)] if level in d["level"] else float("nan")
    body = []
    for method, rs in by_method.items():
        body.append(f"<tr><td>{html.escape(method)}</td>"
                    f"<td>{cell([capacity_at(r.memory['load']) for r in rs])}</td>"
                    f"<td>{cell([capacity_at(r.memory['load'], key='recall_noisy') for r in rs])}</td>"
                    f"<td>{cell([at(r, 'mask', 0.5) for r in rs], 1)}</td>"
                    f"<td>{cell([at(r, 'noise', 0.2) for r in rs], 1)}</td></tr>")
    r0 = next(iter(by_method.values()))[0].memory
    return ("<table><tr><th>model</th><th>capacity, clean cues</th><th>capacity, 10% noise</th>"
            f"<th>recall %, 50% masked (K={r0['corruption_load']})</th><th>recall %, 20% noise</th></tr>"
            + "".join(body) + "</table>"
            f'<p class="note">N = {r0["n"]} bits; capacity: the largest tested load K at which at least 95% '
            f'of {r0["queries"]} cues are recalled (overlap with the stored pattern at least {r0["threshold"]}); '
            "mean &plusmn; 95% CI over seeds.</p>")


def memory_section(stream: str, by_method: dict[str, list[Result]], figures_dir: Path | None) -> str:
    first = next(iter(by_method.values()))
    r = first[0]
    kw = ", ".join(f"{k}={v}" for k, v in r.cell["stream_kwargs"].items())
    parts = [f'<section id="stream-{_slug(stream)}" class="stream"><h2>{html.escape(stream)}</h2>',
             f'<p class="note">{html.escape(kw)}; seeds {sorted(x.cell["seed"] for x in first)}.</p>']
    if "mil" in r.memory:
        rows = []
        for method, rs in by_method.items():
            cells = [_fmt(*mean_ci([100 * x.memory["mil"][k] for x in rs]), "acc") for k in ("accuracy", "auc")]
            rows.append(f"<tr><td>{html.escape(method)}</td><td>{cells[0]}</td><td>{cells[1]}</td></tr>")
        m = r.memory["mil"]
        parts += ["<table><tr><th>pooling</th><th>test accuracy %</th><th>test AUC %</th></tr>", *rows, "</table>",
                  f'<p class="note">Bags of {m["bag_size"]} MNIST images, positive when one is a {m["target"]}; '
                  f'{m["n_train"]} training bags, {m["n_test"]} test bags ({100 * m["positive_fraction"]:.0f}% '
                  f'positive), {m["epochs"]} epochs; mean &plusmn; 95% CI over seeds.</p>']
    elif "overlaps" in r.memory:
        parts.append(_fig_html(plots.multitask_overlaps(by_method), f"{_slug(stream)}_overlaps",
                               "Multitasking Hebbian network: Mattis overlaps of the relaxed state with each "
                               "pattern, sorted, against dilution (mean over states and seeds); dashed: the "
                               "hierarchical prediction (1 - d) d^i.", figures_dir))
    else:
        parts += ["<h3>Capacity and robustness</h3>", memory_table(by_method),
                  _fig_html(plots.memory_curves(by_method), f"{_slug(stream)}_memory",
                            "Recall against load and against cue corruption, every model on the same patterns "
                            "(mean over seeds).", figures_dir)]
    parts.append("</section>")
    return "\n".join(parts)


def experiment_section(stream: str, by_method: dict[str, list[Result]], figures_dir: Path | None) -> str:
    rs = [r for v in by_method.values() for r in v]
    kw = ", ".join(f"{k}={v}" for k, v in rs[0].cell["stream_kwargs"].items()) or "defaults"
    parts = [f'<section id="stream-{_slug(stream)}" class="stream"><h2>{html.escape(stream)}</h2>',
             f'<p class="note">{html.escape(kw)}; seeds {sorted(r.cell["seed"] for r in rs)}.</p>']
    if "critical_periods" in rs[0].experiment:
        parts.append(_fig_html(plots.critical_periods(rs), f"{_slug(stream)}_critical",
                               "Deep linear two-pathway networks: pathway b deprived for the first t_d steps, "
                               "then trained normally; relative test error of the deprived pathway alone "
                               "(1: it contributes nothing) and of the whole network, per depth (mean over seeds).",
                               figures_dir))
    parts.append("</section>")
    return "\n".join(parts)


def stream_section(stream: str, by_method: dict[str, list[Result]], figures_dir: Path | None) -> str:
    if all(getattr(r, "experiment", None) for rs in by_method.values() for r in rs):
        return experiment_section(stream, by_method, figures_dir)
    if all(getattr(r, "memory", None) for rs in by_method.values() for r in rs):
        return memory_section(stream, by_method, figures_dir)
    table, note = summary_table(by_method)
    parts = [f'<section id="stream-{_slug(stream)}" class="stream"><h2>Stream: {html.escape(stream)}</h2>',
             _stream_line(by_method), "<h3>Summary</h3>", table, f'<p class="note">{note}</p>']
    if all(getattr(r, "tta", None) for rs in by_method.values() for r in rs):
        parts += ["<h3>Test-time adaptation: error per corruption</h3>", tta_table(by_method)]
        fig = plots.tta_error_vs_severity(by_method)
        if fig is not None:
            parts += ["<h3>Error against severity</h3>",
                      _fig_html(fig, f"{_slug(stream)}_severity", "Online error against corruption severity, "
                                "mean over corruptions and seeds; dashed: the source model.", figures_dir)]
        parts.append(_fig_html(plots.costs(by_method), f"{_slug(stream)}_costs", FIGURES[-1][2], figures_dir))
        parts.append("</section>")
        return "\n".join(parts)
    titles = {"matrices": "Accuracy matrices", "curves": "Continual evaluation curves",
              "gap_zoom": "The stability gap, first steps of each experience",
              "module_drift": "Module sensitivity",
              "forgetting": "Forgetting per experience", "plasticity": "Plasticity over experiences",
              "online": "Online accuracy and learning rate", "liquid": "Spiking liquids",
              "liquid_sizes": "Accuracy against reservoir size",
              "costs": "Cost"}
    for name, fn, caption in FIGURES:
        fig = fn(by_method)
        if fig is None:
            continue
        parts.append(f"<h3>{titles[name]}</h3>")
        parts.append(_fig_html(fig, f"{_slug(stream)}_{name}", caption, figures_dir))
    parts.append("</section>")
    return "\n".join(parts)


def _stream_line(by_method) -> str:
    r = next(iter(by_method.values()))[0]
    c = r.cell
    kw = ", ".join(f"{k}={v}" for k, v in c["stream_kwargs"].items()) or "defaults"
    model = ", ".join(f"{k}={v}" for k, v in c["model_kwargs"].items())
    t = c["train"]
    return (f'<p class="note"><b>{html.escape(c["stream"])}</b>({html.escape(kw)}); {len(r.R)} experiences; '
            f'model {html.escape(c["model"])}({html.escape(model)}); {t["optimizer"]} lr {t["lr"]}, '
            f'batch {t["batch_size"]}, {t["epochs"]} epoch(s) per experience.</p>')


def provenance(results: list[Result]) -> str:
    envs = {json.dumps({k: v for k, v in r.env.items() if k not in ("pid", "threads")}, sort_keys=True)
            for r in results}
    env_rows = []
    for e in sorted(envs):
        d = json.loads(e)
        env_rows.append("<tr>" + "".join(f"<td>{html.escape(str(d.get(k, '')))}</td>" for k in
                        ("neuroplastic", "torch", "numpy", "python", "device", "device_name", "git_commit")) + "</tr>")
    commands = sorted({r.env.get("command", "") for r in results})
    configs = sorted({json.dumps({k: v for k, v in r.cell.items() if k != "seed"}, sort_keys=True) for r in results})
    cfg = "\n".join(json.dumps(json.loads(c), sort_keys=True) for c in configs)
    seeds = sorted({r.cell["seed"] for r in results})
    return ("<h3>Environment</h3><table><tr><th>neuroplastic</th><th>torch</th><th>numpy</th><th>python</th>"
            "<th>device</th><th>device name</th><th>git commit</th></tr>" + "".join(env_rows) + "</table>"
            "<h3>Command</h3><pre>" + html.escape("\n".join(commands)) + "</pre>"
            f"<h3>Cell configurations</h3><p class='note'>Seeds: {seeds}. One JSON object per configuration "
            "(each ran once per seed).</p><pre>" + html.escape(cfg) + "</pre>")


def definitions() -> str:
    return "".join(f"<dt>{k}</dt><dd>{html.escape(desc)}"
                   f"{'' if hi is None else '; higher is better' if hi else '; lower is better'}.</dd>"
                   for k, (desc, hi) in METRICS.items())


def failures_section(failures: list[dict]) -> str:
    """The cells that raised, with their error: a report never hides a failed cell."""
    rows = "".join(f"<tr><td>{html.escape(str(f['stream']))}</td><td>{html.escape(str(f['method']))}</td>"
                   f"<td>{f['seed']}</td><td style='text-align:left;white-space:normal'>{html.escape(f['error'])}</td></tr>"
                   for f in failures)
    return (f'<section id="failures"><h2>Failed cells ({len(failures)})</h2><p class="note">These cells raised; '
            "their configurations are stored with the error. Rerunning the same command retries them.</p>"
            "<table><tr><th>stream</th><th>method</th><th>seed</th><th>error</th></tr>" + rows + "</table></section>")


def build_report(results: list[Result], out: str | Path = "report.html", *,
                 figures_dir: str | Path | None = None, title: str = "neuroplastic report",
                 failures: list[dict] | None = None) -> Path:
    if not results:
        raise ValueError("no results to report; run a grid first (neuroplastic run).")
    figures_dir = Path(figures_dir) if figures_dir else None
    groups = group(results)
    sections = [stream_section(s, by_method, figures_dir) for s, by_method in groups.items()]
    nav = " ".join(f'<a href="#stream-{_slug(s)}">{html.escape(s)}</a>' for s in groups)
    if failures:
        sections.append(failures_section(failures))
        nav += f' <a href="#failures">failed cells ({len(failures)})</a>'
    nav += ' <a href="#provenance">provenance</a> <a href="#definitions">definitions</a>'
    n_methods = len({m for g in groups.values() for m in g})
    subtitle = (f"{len(results)} cells: {len(groups)} stream(s) &times; {n_methods} method(s) &times; seeds. "
                f"Generated {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}.")
    template = Template((resources.files("neuroplastic") / "report" / "template.html").read_text())
    page = template.substitute(title=html.escape(title), subtitle=subtitle, nav=nav,
                               sections="\n".join(sections), provenance=provenance(results),
                               definitions=definitions())
    out = Path(out)
    out.write_text(page)
    return out
