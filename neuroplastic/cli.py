"""The ``neuroplastic`` command line. The only module that prints."""
from __future__ import annotations

import argparse
import logging
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


def _cmd_streams_list(args: argparse.Namespace) -> int:
    from . import streams
    from ._registry import keyword_names

    for name, fn in streams.STREAMS.items():
        summary = (fn.__module__ and sys.modules[fn.__module__].__doc__ or "").strip().splitlines()[0]
        print(f"{name:14s} {summary}")
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
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from .data import DataError

    try:
        return args.func(args)
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
