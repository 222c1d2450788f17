"""The ``neuroplastic`` command line. The only module that prints."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from . import __version__
from ._registry import ConfigError, parse_sets


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    from . import data

    names = list(data.DATASETS) if args.name == "all" else [args.name]
    for name in names:
        t = time.perf_counter()
        arrays = data.fetch(name)
        shapes = ", ".join(f"{k} {tuple(v.shape)}" for k, v in arrays.items())
        print(f"{name:14s} ok  {shapes}  ({time.perf_counter() - t:.2f} s) -> {data.cache_path(name)}")
    return 0


def _short(value) -> str:
    if hasattr(value, "shape"):
        return f"<{tuple(value.shape)}>"
    return str(value)


def _summary(obj, width: int = 105, *, own: bool = False) -> str:
    """The first paragraph of the docstring of obj's module (``own``: of obj itself, for the second
    entry of a module that registers several) on one line, cut at a word if long."""
    doc = (obj.__dict__.get("__doc__") if own else None) or sys.modules[obj.__module__].__doc__ or ""
    return _first_paragraph(doc, width)


def _first_paragraph(text: str, width: int) -> str:
    """A text's first paragraph on one line, cut at a word if longer than ``width``."""
    text = " ".join(text.strip().split("\n\n")[0].split())
    return text if len(text) <= width else text[:width].rsplit(" ", 1)[0] + " ..."


def _cmd_streams_list(args: argparse.Namespace) -> int:
    from . import streams
    from ._registry import keyword_names

    for name, fn in streams.STREAMS.items():
        print(f"{name:14s} {_summary(fn)}")
        print(f"{'':14s} keywords: {', '.join(keyword_names(fn))}")
    return 0


def _cmd_streams_show(args: argparse.Namespace) -> int:
    from . import streams

    kwargs = parse_sets(args.set)
    stream = streams.make(args.name, **kwargs)
    print(f"stream {args.name} {kwargs or ''}: {len(stream)} experiences")
    print(f"{'exp':>4} {'train':>7} {'test':>7} {'task':>5}  classes               details")
    for e in stream:
        meta = ", ".join(f"{k}={_short(v)}" for k, v in e.meta.items() if k != "dataset")
        cls = ",".join(map(str, e.classes))
        print(f"{e.index:>4} {len(e.train[1]):>7} {len(e.test[1]):>7} {str(e.task):>5}  {cls:<21} {meta}")
    if args.png:
        from .streams.plot import sample_grid

        path = sample_grid(stream, args.png, title=f"{args.name} {kwargs or ''}")
        print(f"wrote {path}")
    return 0


def _fmt(v: dict | None, digits: int = 1) -> str:
    if v is None or v.get("mean") is None:
        return "-"
    if v.get("ci_low") is None:
        return f"{v['mean']:.{digits}f}"
    return f"{v['mean']:.{digits}f}±{(v['ci_high'] - v['ci_low']) / 2:.{digits}f}"


TABLE_METRICS = ("acc", "bwt", "forgetting", "min_acc", "wc_acc", "wall_s", "samples_per_s")


def _table_metrics(spec: str | None) -> tuple[str, ...]:
    """The columns of ``--metrics a,b,c`` (checked against the metric registry), or the default."""
    if not spec:
        return TABLE_METRICS
    from ._registry import check_name
    from .metrics import METRICS

    return tuple(check_name(m.strip(), METRICS, "metric") for m in spec.split(",") if m.strip())


def _print_table(rows: list[dict], metrics: tuple[str, ...] = TABLE_METRICS) -> None:
    heads = ["stream", "method", "seeds", *metrics]
    body = [[r["stream"], r["method"], str(len(r["seeds"])),
             *[_fmt(r[m], 0 if m in ("samples_per_s", "params") else 1) for m in metrics]] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(heads)]
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths)))
    for b in body:
        print("  ".join(c.ljust(w) for c, w in zip(b, widths)))
    print("mean ± half-width of the 95% t-interval over seeds; accuracies in %, bwt/forgetting in points")


def _cmd_run(args: argparse.Namespace) -> int:
    from .run import Store, run, summarize

    t = time.perf_counter()
    report = run(args.grid, out=args.out, backend=args.backend, workers=args.workers, address=args.address,
                 sets=parse_sets(args.set), streams=args.stream, methods=args.method, seeds=args.seeds,
                 quick=args.quick, device=args.device, command=" ".join(["neuroplastic", *sys.argv[1:]]))
    print(f"{report.cells} cells: {report.skipped} already in {report.out}, {len(report.finished)} ran, "
          f"{len(report.failed)} failed ({time.perf_counter() - t:.1f} s)")
    for cell, why in report.failed:
        s, m = cell.labels
        print(f"FAILED {s}/{m} seed {cell.seed}: {why}", file=sys.stderr)
    with Store(args.out) as store:
        results = store.results()
    _print_table(summarize(results))
    if args.report and results:
        from .report import build_report

        path = build_report(results, args.report, figures_dir=args.figures)
        print(f"report: {path} ({path.stat().st_size / 1024:.0f} KiB)")
    if report.failed:
        print("rerun the same command to retry the failed cells (finished ones are kept)", file=sys.stderr)
    return 1 if report.failed else 0


def _open_store(path: str):
    from pathlib import Path

    from .run import Store

    if not Path(path).is_file():
        raise ConfigError(f"{path} does not exist; run `neuroplastic run --out {path}` first.")
    return Store(path)


def _cmd_results(args: argparse.Namespace) -> int:
    import json

    from .run import summarize

    metrics = _table_metrics(args.metrics)
    with _open_store(args.db) as store:
        rows = summarize(store.results())
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        _print_table(rows, metrics)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import build_report

    with _open_store(args.db) as store:
        results = store.results()
    if not results:
        raise ConfigError(f"{args.db} holds no results yet; run a grid into it first.")
    path = build_report(results, args.output, figures_dir=args.figures, title=args.title)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)" +
          (f"; figures in {args.figures}" if args.figures else ""))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    import csv

    from .metrics import METRICS
    from .run import result_metrics

    with _open_store(args.db) as store:
        results = store.results()
    with open(args.csv, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["key", "stream", "method", "seed", *METRICS])
        for r in results:
            m = result_metrics(r)
            w.writerow([r.key, r.cell.get("stream_label") or r.cell["stream"],
                        r.cell.get("method_label") or r.cell["method"], r.cell["seed"], *(m[k] for k in METRICS)])
    print(f"wrote {len(results)} rows to {args.csv}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from . import methods, metrics, models, rules, streams
    from ._registry import keyword_names

    if args.what == "metrics":
        for name, (desc, higher) in metrics.METRICS.items():
            print(f"{name:14s} {desc} ({'higher' if higher else 'lower'} is better)")
        return 0
    if args.what == "recipes":
        from .run.grid import read_toml, shipped_recipes

        for name, path in shipped_recipes().items():
            print(f"{name:26s} {_first_paragraph(read_toml(path).get('description', ''), 93)}")
        print("run one with `neuroplastic run NAME`; copy and edit its TOML for your own grid")
        return 0
    registry = {"methods": methods.METHODS, "streams": streams.STREAMS, "rules": rules.RULES,
                "models": models.MODELS}[args.what]
    hidden = {"layers", "in_shape", "n_classes", "task_classes"}
    seen: set[str] = set()
    for name, obj in registry.items():
        print(f"{name:14s} {_summary(obj, own=obj.__module__ in seen)}")
        seen.add(obj.__module__)
        print(f"{'':14s} keywords: {', '.join(k for k in keyword_names(obj) if k not in hidden) or '(none)'}")
    return 0


def _cmd_memory(args: argparse.Namespace) -> int:
    from .run.experiments import run_capacity, run_mil, run_multitask
    from .memory.experiments import MODELS
    from .memory.mil import POOLS

    t = time.perf_counter()
    command = " ".join(["neuroplastic", *sys.argv[1:]])
    if args.memory_command == "capacity":
        models = args.model or list(MODELS)
        ran, skipped = run_capacity(models, args.patterns, seeds=args.seeds, out=args.out, command=command,
                                    n=args.n, loads=args.loads, queries=args.queries, degree=args.degree,
                                    beta=args.beta)
    elif args.memory_command == "mil":
        ran, skipped = run_mil(args.pool or list(POOLS), seeds=args.seeds, out=args.out,
                               command=command, epochs=args.epochs, n_train=args.n_train)
    else:
        ran, skipped = run_multitask(seeds=args.seeds, out=args.out, command=command, n=args.n, k=args.k)
    print(f"{ran} memory cells ran, {skipped} already in {args.out} ({time.perf_counter() - t:.1f} s)")
    if args.report:
        from .report import build_report
        from .run import Store

        with Store(args.out) as store:
            path = build_report(store.results(), args.report)
        print(f"report: {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neuroplastic", description=__doc__)
    p.add_argument("--version", action="version", version=f"neuroplastic {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO level)")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("data", help="datasets").add_subparsers(dest="data_command", required=True)
    f = d.add_parser("fetch", help="fetch and verify a dataset into the cache")
    f.add_argument("name", choices=["mnist", "fashion_mnist", "digits", "mnist1d", "all"])
    f.set_defaults(func=_cmd_data_fetch)

    s = sub.add_parser("streams", help="non-stationary streams").add_subparsers(dest="streams_command", required=True)
    s.add_parser("list", help="list the streams and their keywords").set_defaults(func=_cmd_streams_list)
    show = s.add_parser("show", help="build a stream and print its experiences")
    show.add_argument("name")
    show.add_argument("--set", action="append", metavar="KEY=VALUE", help="stream keyword, e.g. n_tasks=3")
    show.add_argument("--png", metavar="FILE", help="save a grid of samples per experience")
    show.set_defaults(func=_cmd_streams_show)
    r = sub.add_parser("run", help="run a grid (default: the built-in comparison) into a results database")
    r.add_argument("grid", nargs="?", help="grid TOML file (default: the built-in comparison)")
    r.add_argument("--stream", action="append", help="only this stream (repeatable)")
    r.add_argument("--method", action="append", help="only this method (repeatable)")
    r.add_argument("--seeds", type=int, help="number of seeds")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override, e.g. train.epochs=2, methods.ewc.lam=100, streams.split.dataset=fashion_mnist")
    r.add_argument("--quick", action="store_true", help="a one-minute subset: small experiences, one seed")
    r.add_argument("--backend", default="local", choices=["local", "ray"])
    r.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    r.add_argument("--workers", type=int, default=0,
                   help="local backend: worker processes (default 0 = one per core; 1 = in this process)")
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default: auto (CUDA when present)")
    r.add_argument("--out", default="results.db", help="SQLite results file (default results.db)")
    r.add_argument("--report", default="report.html", metavar="FILE",
                   help="write the HTML report of the whole database here (default report.html)")
    r.add_argument("--no-report", dest="report", action="store_const", const=None, help="skip the report")
    r.add_argument("--figures", metavar="DIR", help="also write every figure as PNG and PDF into DIR")
    r.set_defaults(func=_cmd_run)

    rep = sub.add_parser("report", help="one self-contained HTML report of a results database")
    rep.add_argument("db")
    rep.add_argument("-o", "--output", default="report.html", metavar="FILE")
    rep.add_argument("--figures", metavar="DIR", help="also write every figure as PNG and PDF into DIR")
    rep.add_argument("--title", default="neuroplastic report")
    rep.set_defaults(func=_cmd_report)

    res = sub.add_parser("results", help="table of metrics with 95%% confidence intervals")
    res.add_argument("db")
    res.add_argument("--json", action="store_true", help="one JSON row per stream x method")
    res.add_argument("--metrics", metavar="A,B,...",
                     help="the table's columns, e.g. acc,learning_acc,density (`neuroplastic list metrics`); "
                          f"default: {','.join(TABLE_METRICS)}")
    res.set_defaults(func=_cmd_results)

    ex = sub.add_parser("export", help="one CSV row per cell")
    ex.add_argument("db")
    ex.add_argument("--csv", required=True, metavar="FILE")
    ex.set_defaults(func=_cmd_export)

    mem = sub.add_parser("memory", help="associative-memory experiments").add_subparsers(
        dest="memory_command", required=True)
    cap = mem.add_parser("capacity", help="recall against load and cue corruption, every model on the same patterns")
    cap.add_argument("--model", action="append", help="hopfield, pseudoinverse, dense, exponential, modern, ca3 "
                     "(repeatable; default all)")
    cap.add_argument("--patterns", default="random", choices=["random", "mnist", "fashion_mnist"])
    cap.add_argument("--n", type=int, help="random patterns: bits per pattern (default 500)")
    cap.add_argument("--loads", type=lambda s: [int(x) for x in s.split(",")], metavar="K,K,...",
                     help="numbers of stored patterns (default 10,25,50,70,100,150,250,500,1000,2000)")
    cap.add_argument("--queries", type=int, help="cues per load (default 100)")
    cap.add_argument("--degree", type=int, help="dense: polynomial degree n (default 3)")
    cap.add_argument("--beta", type=float, help="modern / exponential: inverse temperature")
    mt = mem.add_parser("multitask", help="multitasking Hebbian network: Mattis overlaps against dilution")
    mt.add_argument("--n", type=int, help="neurons (default 2000)")
    mt.add_argument("--k", type=int, help="patterns (default 3)")
    mil = mem.add_parser("mil", help="MNIST-bags multiple-instance learning with HopfieldPooling vs mean/max")
    mil.add_argument("--pool", action="append", help="hopfield, mean, max (repeatable; default all)")
    mil.add_argument("--epochs", type=int, help="training epochs (default 20)")
    mil.add_argument("--n-train", type=int, help="training bags (default 1000)")
    for q in (cap, mt, mil):
        q.add_argument("--seeds", type=int, default=1)
        q.add_argument("--out", default="results.db", help="SQLite results file (default results.db)")
        q.add_argument("--report", default="report.html", metavar="FILE", help="report of the whole database")
        q.add_argument("--no-report", dest="report", action="store_const", const=None)
        q.set_defaults(func=_cmd_memory)

    ls = sub.add_parser("list", help="list methods, streams, rules, models or metrics")
    ls.add_argument("what", choices=["methods", "streams", "rules", "models", "metrics", "recipes"])
    ls.set_defaults(func=_cmd_list)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from .data import DataError
    from .run.store import StoreError

    try:
        return args.func(args)
    except (ConfigError, DataError, StoreError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished cells are stored; rerun the same command to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:      # e.g. `neuroplastic results results.db | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error at exit
        return 141


if __name__ == "__main__":
    sys.exit(main())
