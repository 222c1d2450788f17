"""The ``neuroplastic`` command line. The only module that prints."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from . import __version__
from ._paths import check_writable_dir, check_writable_file
from ._registry import ConfigError, parse_sets


def _int_at_least(low: int, high: int | None = None):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"{v} is too small: give an integer >= {low}")
        if high is not None and v > high:
            raise argparse.ArgumentTypeError(f"{v} is too large: give at most {high:,}")
        return v
    parse.__name__ = "integer"
    return parse


def _positive_float(text: str) -> float:
    import math

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a finite number > 0")
    return v


def _int_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive integers separated by commas, e.g. 10,50,100") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every value must be a positive integer, e.g. 10,50,100")
    return values


POSITIVE, NON_NEGATIVE, SEEDS = _int_at_least(1), _int_at_least(0), _int_at_least(1, 10_000)


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
    if args.png:
        check_writable_file(args.png, "--png")
    try:
        stream = streams.make(args.name, **kwargs)
    except (ValueError, TypeError) as e:
        raise ConfigError(f"stream {args.name!r}: {e}") from e
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
    if not rows:
        print("no results stored yet")
        return
    heads = ["stream", "method", "seeds", *metrics]
    body = [[r["stream"], r["method"], str(len(r["seeds"])),
             *[_fmt(r[m], 0 if m in ("samples_per_s", "params") else 1) for m in metrics]] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(heads)]
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths)))
    for b in body:
        print("  ".join(c.ljust(w) for c, w in zip(b, widths)))
    print("mean ± half-width of the 95% t-interval over seeds; accuracies in %, bwt/forgetting in points")


def _report_path(args: argparse.Namespace) -> str | None:
    """``--report``: None when off; by default report.html beside ``--out``."""
    from pathlib import Path

    if args.report is None:
        return None
    return args.report or str(Path(args.out).parent / "report.html")


def _check_outputs(args: argparse.Namespace) -> None:
    """Every output path is writable before any job starts."""
    check_writable_file(args.out, "--out")
    report = _report_path(args)
    if report:
        check_writable_file(report, "--report")
    if getattr(args, "figures", None):
        check_writable_dir(args.figures, "--figures")


def _print_problems(store) -> None:
    """Damaged rows and failed cells of a results file, on stderr."""
    for key, why in store.damaged:
        print(f"warning: stored row {key} cannot be read ({why}); skipped. Rerun the grid to recompute it.",
              file=sys.stderr)
    failures = store.failures()
    for f in failures:
        print(f"FAILED {f['stream']}/{f['method']} seed {f['seed']}: {f['error']}", file=sys.stderr)
    if failures:
        print(f"{len(failures)} failed cell(s) stored; rerun the same command to retry them", file=sys.stderr)


def _cmd_run(args: argparse.Namespace) -> int:
    from .run import Store, run, summarize

    _check_outputs(args)
    t = time.perf_counter()
    report = run(args.grid, out=args.out, backend=args.backend, workers=args.workers, address=args.address,
                 sets=parse_sets(args.set), streams=args.stream, methods=args.method, seeds=args.seeds,
                 quick=args.quick, device=args.device, command=" ".join(["neuroplastic", *sys.argv[1:]]),
                 rerun_stale=args.rerun_stale)
    print(f"{report.cells} cells: {report.skipped} already in {report.out}, {len(report.finished)} ran, "
          f"{len(report.failed)} failed" + (f", {report.busy} left to another run on the same file" if report.busy
                                            else "") + f" ({time.perf_counter() - t:.1f} s)")
    if report.stale:
        print(f"warning: {report.stale} stored result(s) of this grid come from other code (another version or "
              "commit); they were kept. Rerun with --rerun-stale to recompute them.", file=sys.stderr)
    with Store(args.out, readonly=True) as store:
        results = store.results()
        failures = store.failures()
        _print_problems(store)
    _print_table(summarize(results))
    path = _report_path(args)
    if path and results:
        from .report import build_report

        path = build_report(results, path, figures_dir=args.figures, failures=failures)
        print(f"report: {path} ({path.stat().st_size / 1024:.0f} KiB)")
    if not results:
        print("no cell finished: fix the errors above and rerun the same command", file=sys.stderr)
    return 1 if report.failed else 0


def _open_store(path: str):
    from .run import Store

    return Store(path, readonly=True)


def _cmd_results(args: argparse.Namespace) -> int:
    import json

    from .run import summarize

    metrics = _table_metrics(args.metrics)
    with _open_store(args.db) as store:
        rows = summarize(store.results())
        _print_problems(store)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        _print_table(rows, metrics)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import build_report

    check_writable_file(args.output, "--output")
    if args.figures:
        check_writable_dir(args.figures, "--figures")
    with _open_store(args.db) as store:
        results = store.results()
        failures = store.failures()
        _print_problems(store)
    if not results:
        raise ConfigError(f"{args.db} holds no results yet; run a grid into it first.")
    path = build_report(results, args.output, figures_dir=args.figures, title=args.title, failures=failures)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)" +
          (f"; figures in {args.figures}" if args.figures else ""))
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    import csv

    from .metrics import METRICS
    from .run import result_metrics

    check_writable_file(args.csv, "--csv")
    with _open_store(args.db) as store:
        results = store.results()
        _print_problems(store)
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
            print(f"{name:14s} {desc}" + ("" if higher is None else f" ({'higher' if higher else 'lower'} is better)"))
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

    _check_outputs(args)
    report = _report_path(args)
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
    if report:
        from .report import build_report
        from .run import Store

        with Store(args.out, readonly=True) as store:
            path = build_report(store.results(), report)
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
    r.add_argument("--seeds", type=SEEDS, help="number of seeds")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override, e.g. train.epochs=2, methods.ewc.lam=100, streams.split.dataset=fashion_mnist")
    r.add_argument("--quick", action="store_true", help="a one-minute subset: small experiences, one seed")
    r.add_argument("--backend", default="local", choices=["local", "ray"])
    r.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    r.add_argument("--workers", type=NON_NEGATIVE, default=0,
                   help="local backend: worker processes (default 0 = one per core; 1 = in this process)")
    r.add_argument("--device", choices=["auto", "cpu", "cuda"], help="default: auto (CUDA when present)")
    r.add_argument("--out", default="results.db", help="SQLite results file (default results.db)")
    r.add_argument("--report", default="", metavar="FILE",
                   help="write the HTML report of the whole database here (default: report.html beside --out)")
    r.add_argument("--rerun-stale", action="store_true",
                   help="recompute stored results that another version or commit of neuroplastic computed")
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
    cap.add_argument("--n", type=POSITIVE, help="random patterns: bits per pattern (default 500)")
    cap.add_argument("--loads", type=_int_list, metavar="K,K,...",
                     help="numbers of stored patterns (default 10,25,50,70,100,150,250,500,1000,2000)")
    cap.add_argument("--queries", type=POSITIVE, help="cues per load (default 100)")
    cap.add_argument("--degree", type=POSITIVE, help="dense: polynomial degree n (default 3)")
    cap.add_argument("--beta", type=_positive_float, help="modern / exponential: inverse temperature")
    mt = mem.add_parser("multitask", help="multitasking Hebbian network: Mattis overlaps against dilution")
    mt.add_argument("--n", type=POSITIVE, help="neurons (default 2000)")
    mt.add_argument("--k", type=POSITIVE, help="patterns (default 3)")
    mil = mem.add_parser("mil", help="MNIST-bags multiple-instance learning with HopfieldPooling vs mean/max")
    mil.add_argument("--pool", action="append", help="hopfield, mean, max (repeatable; default all)")
    mil.add_argument("--epochs", type=POSITIVE, help="training epochs (default 20)")
    mil.add_argument("--n-train", type=POSITIVE, help="training bags (default 1000)")
    for q in (cap, mt, mil):
        q.add_argument("--seeds", type=SEEDS, default=1)
        q.add_argument("--out", default="results.db", help="SQLite results file (default results.db)")
        q.add_argument("--report", default="", metavar="FILE",
                       help="report of the whole database (default: report.html beside --out)")
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
