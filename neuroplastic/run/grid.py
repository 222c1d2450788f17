"""Grid configs: TOML (or a dict) -> validated list of Cells, before any job starts.

```toml
seeds = 3                  # or a list: [0, 1, 2]
device = "auto"            # auto | cpu | cuda

[train]                    # defaults: DEFAULT_TRAIN
epochs = 1
lr = 0.01

[model]
name = "mlp"
widths = [400, 400]

[streams.split]            # table name = label; `stream = "..."` picks another registered stream
n_tasks = 5
[streams.split.train]      # optional per-stream overrides of [train] (and [streams.X.model])
epochs = 2

[methods.ewc]
lam = 100
[methods.ewc_online]       # a second configuration of the same method
                           # (a method table may hold train = { optimizer = "adam", lr = 1e-3 }
                           #  and its own model = { name = "esn" })
method = "ewc"
mode = "online"
```

``--set key=value`` overrides any value: ``train.epochs=2``, ``streams.split.dataset=fashion_mnist``,
``methods.ewc.lam=10``, ``seeds=1``. Unknown keys fail with the valid ones and a did-you-mean.
"""
from __future__ import annotations

import copy
import inspect
import math
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from .. import methods, models, streams
from .._registry import ConfigError, check_name, did_you_mean, keyword_names
from .cell import Cell

DEFAULT_TRAIN = {
    "epochs": 1,            # passes over each experience's training data
    "batch_size": 128,
    "optimizer": "sgd",     # sgd | adam
    "lr": 0.01,
    "momentum": 0.9,        # sgd only
    "weight_decay": 0.0,
    "eval_every": 50,       # steps between continual evaluations (0: off)
    "eval_subset": 200,     # test samples per experience in continual evaluations
}
#: optional [train] keys (not added to cells that do not set them, so existing results keep their keys)
OPTIONAL_TRAIN = {
    "tta_setting": "reset_each_shift",   # test-time adaptation: see neuroplastic.tta.SETTINGS
    "tta_batch_size": 128,               # test batch size of the TTA pass
    "online_eval": False,                # score every training batch before training on it
    "eval_dense": 0,                     # continual evaluation after each of the first N steps of every experience
}
DEFAULT_MODEL = {"name": "mlp", "widths": [400, 400]}
TOP_KEYS = ("description", "seeds", "device", "train", "model", "streams", "methods")
EXPERIMENT_KEYS = ("description", "seeds", "device", "experiment", "settings")   # experiment recipes
QUICK = {"n_train": 6000, "n_test": 1000}


def default_grid_path() -> Path:
    return Path(str(resources.files("neuroplastic") / "recipes" / "default.toml"))


def shipped_recipes() -> dict[str, Path]:
    """The recipes shipped with the package, by name (``neuroplastic run NAME``)."""
    shipped = Path(str(resources.files("neuroplastic") / "recipes"))
    return {p.stem: p for p in sorted(shipped.glob("*.toml"))}


def recipe_path(path: str | Path) -> Path:
    """A grid file as given, else a recipe shipped with the package: ``recipes/NAME.toml``,
    ``NAME.toml`` or ``NAME`` resolve to ``neuroplastic/recipes/NAME.toml``."""
    path = Path(path)
    if path.is_file():
        return path
    if path.exists():
        kind = "a directory" if path.is_dir() else "not a regular file"
        raise ConfigError(f"grid file {path} is {kind}; give a TOML file (or a shipped recipe's name: "
                          f"neuroplastic list recipes).")
    recipes = shipped_recipes()
    name = path.stem if path.suffix == ".toml" else path.name
    if name in recipes:
        return recipes[name]
    known = list(recipes)
    raise ConfigError(f"grid file {path} does not exist{did_you_mean(path.stem, known)} "
                      f"(shipped recipes: {', '.join(known)}).")


def read_toml(path: str | Path) -> dict:
    path = recipe_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path} is not UTF-8 text (byte {e.start}): save the grid as UTF-8 TOML.") from e
    except OSError as e:
        raise ConfigError(f"cannot read grid file {path}: {e.strerror or e}; check its permissions.") from e
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from e
    except RecursionError as e:
        raise ConfigError(f"{path} nests arrays or tables too deeply to read; a grid needs at most a few levels.") from e


#: limits that keep a typo from asking for more than a machine holds
MAX_SEEDS = 10_000
MAX_SEED = 2**32 - 1          # numpy's seed range


def check_finite(node, where: str = "") -> None:
    """Every number in a grid must be finite: NaN compares false with every bound, inf overflows."""
    if isinstance(node, float) and not math.isfinite(node):
        raise ConfigError(f"{where or 'value'}={node!r}: numbers must be finite (no nan or inf); "
                          f"give a finite value with --set {where or 'KEY'}=... or in the grid file.")
    if isinstance(node, dict):
        for k, v in node.items():
            check_finite(v, f"{where}.{k}" if where else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_finite(v, f"{where}[{i}]")


def _need_table(value, where: str, example: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table, got {value!r}; e.g. {example}.")
    return value


def check_shape(grid: dict) -> None:
    """The grid's top level has the right kinds of values (tables where tables go)."""
    if not isinstance(grid, dict):
        raise ConfigError(f"a grid must be a table of keys (streams, methods, ...), got {type(grid).__name__}.")
    for key in grid:
        if key not in TOP_KEYS and key not in EXPERIMENT_KEYS:
            raise ConfigError(f"unknown grid key {key!r}.{did_you_mean(key, TOP_KEYS)} Valid: {', '.join(TOP_KEYS)}.")
    if "train" in grid:
        _need_table(grid["train"], "[train]", "--set train.lr=0.01 or a [train] table with lr = 0.01")
    if "model" in grid:
        _need_table(grid["model"], "[model]", '--set model.name=mlp or a [model] table with name = "mlp"')
    for kind, example in (("streams", "[streams.split] with n_tasks = 5"), ("methods", "[methods.ewc] with lam = 100")):
        if kind in grid:
            table = _need_table(grid[kind], kind, example)
            for label, sub in table.items():
                _need_table(sub, f"{kind}.{label}", example)
                for nested, example in (("train", "{ lr = 0.01 }"), ("model", '{ name = "mlp" }')):
                    if nested in sub:
                        _need_table(sub[nested], f"{kind}.{label}.{nested}", f"{kind}.{label}.{nested} = {example}")
    for key in ("description", "device"):
        if key in grid and not isinstance(grid[key], str):
            raise ConfigError(f"{key}={grid[key]!r} must be a string, e.g. {key} = \"{'cpu' if key == 'device' else 'my grid'}\".")


def apply_sets(grid: dict, sets: dict[str, Any]) -> dict:
    """Apply ``--set`` overrides (dotted keys) to a copy of ``grid``."""
    grid = copy.deepcopy(grid)
    for dotted, value in sets.items():
        parts = dotted.split(".")
        if parts[0] not in TOP_KEYS:
            raise ConfigError(f"--set {dotted}: unknown top-level key {parts[0]!r}."
                              f"{did_you_mean(parts[0], TOP_KEYS)} Valid: {', '.join(TOP_KEYS)}.")
        if parts[0] in ("streams", "methods"):
            if len(parts) < 3:
                raise ConfigError(f"--set {dotted}: expected {parts[0]}.NAME.KEY=VALUE.")
            table = grid.setdefault(parts[0], {})
            if parts[1] not in table:
                raise ConfigError(
                    f"--set {dotted}: {parts[0][:-1]} {parts[1]!r} is not in this grid"
                    f"{did_you_mean(parts[1], table)} (it has: {', '.join(table) or 'none'}); "
                    f"add it with --{parts[0][:-1]} {parts[1]} or in the grid file.")
        node = grid
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {dotted}: {p!r} is a value, not a table.")
        node[parts[-1]] = value
    return grid


def _check_type(fn, key: str, value, where: str) -> None:
    """Compare a value with the type of the parameter's default (annotations are strings here)."""
    param = inspect.signature(fn).parameters[key]
    default = param.default
    ok = True
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    if not ok:
        raise ConfigError(f"{where}: {key}={value!r} has the wrong type; expected "
                          f"{type(default).__name__} like the default {default!r}.")


def _check_train(train: dict, where: str) -> dict:
    valid = {**DEFAULT_TRAIN, **OPTIONAL_TRAIN}
    for key, value in train.items():
        if key not in valid:
            raise ConfigError(f"{where}: unknown key {key!r}.{did_you_mean(key, valid)} "
                              f"Valid keys: {', '.join(valid)}.")
    t = {**DEFAULT_TRAIN, **train}
    if "tta_setting" in t:
        from ..tta import SETTINGS
        if t["tta_setting"] not in SETTINGS:
            raise ConfigError(f"{where}: tta_setting={t['tta_setting']!r} is unknown."
                              f"{did_you_mean(str(t['tta_setting']), SETTINGS)} Valid: {', '.join(SETTINGS)}.")
    if "tta_batch_size" in t and (not isinstance(t["tta_batch_size"], int) or isinstance(t["tta_batch_size"], bool)
                                  or t["tta_batch_size"] < 1):
        raise ConfigError(f"{where}: tta_batch_size={t['tta_batch_size']!r} must be a positive integer.")
    if "eval_dense" in t and (not isinstance(t["eval_dense"], int) or isinstance(t["eval_dense"], bool)
                              or t["eval_dense"] < 0):
        raise ConfigError(f"{where}: eval_dense={t['eval_dense']!r} must be a non-negative integer "
                          f"(steps evaluated one by one at the start of each experience).")
    if "online_eval" in t and not isinstance(t["online_eval"], bool):
        raise ConfigError(f"{where}: online_eval={t['online_eval']!r} must be true or false.")
    for key in ("epochs", "batch_size", "eval_every", "eval_subset"):
        v = t[key]
        if not isinstance(v, int) or isinstance(v, bool) or v < (0 if key == "eval_every" else 1):
            raise ConfigError(f"{where}: {key}={v!r} must be a {'non-negative' if key == 'eval_every' else 'positive'} integer.")
    for key in ("lr", "momentum", "weight_decay"):
        v = t[key]
        if (not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0
                or (key == "lr" and v == 0)):
            raise ConfigError(f"{where}: {key}={v!r} must be a {'positive' if key == 'lr' else 'non-negative'} "
                              f"number (e.g. --set train.{key}={DEFAULT_TRAIN[key]}).")
    if t["optimizer"] not in ("sgd", "adam"):
        raise ConfigError(f"{where}: optimizer={t['optimizer']!r} is unknown; use 'sgd' or 'adam'.")
    return t


def _model_table(base: dict, override: dict) -> dict:
    """The model table: an override that names another model starts afresh; the defaults
    (mlp 400-400) apply only to the default model."""
    name = override.get("name", base.get("name", DEFAULT_MODEL["name"]))
    table = {**base, **override} if name == base.get("name", DEFAULT_MODEL["name"]) else dict(override)
    table["name"] = name
    return {**DEFAULT_MODEL, **table} if name == DEFAULT_MODEL["name"] else table


def _split_table(name: str, table: dict, kind: str) -> tuple[str, dict, dict]:
    """(registered name, kwargs, nested overrides) of a [streams.X] / [methods.X] table."""
    if not isinstance(table, dict):
        raise ConfigError(f"{kind}s.{name} must be a table of keywords, got {table!r}.")
    table = dict(table)
    registered = table.pop(kind, name)
    nested = {k: table.pop(k) for k in ("train", "model") if kind == "stream" and k in table}
    return registered, table, nested


def _check_model(model: dict, where: str) -> str:
    """The model table's name and keywords exist; returns the name."""
    model_name = model["name"]
    cls = models.MODELS[check_name(model_name, models.MODELS, "model")]
    valid_m = [k for k in keyword_names(cls) if k not in ("in_shape", "n_classes", "task_classes")]
    for k in model:
        if k != "name" and k not in valid_m:
            raise ConfigError(f"{where} {model_name!r}: unknown keyword {k!r}.{did_you_mean(k, valid_m)} "
                              f"Valid keywords: {', '.join(valid_m)}.")
    return model_name


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, int) and not isinstance(seeds, bool) and 0 < seeds <= MAX_SEEDS:
        return list(range(seeds))
    if isinstance(seeds, int) and not isinstance(seeds, bool) and seeds > MAX_SEEDS:
        raise ConfigError(f"seeds={seeds}: at most {MAX_SEEDS:,} seeds per grid; give fewer (e.g. --seeds 5).")
    if (isinstance(seeds, list) and 0 < len(seeds) <= MAX_SEEDS
            and all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED for s in seeds)):
        if len(set(seeds)) != len(seeds):
            raise ConfigError(f"seeds={seeds!r} repeats a seed; list each seed once.")
        return seeds
    raise ConfigError(f"seeds={seeds!r}: give a positive count (seeds = 3) or a list of distinct integers "
                      f"in 0..{MAX_SEED} (seeds = [0, 1, 2]).")


def check_device(device) -> str:
    """auto, cpu, cuda or cuda:N, where N is a GPU this machine has."""
    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise ConfigError(f"device={device!r}: use auto, cpu, cuda or cuda:N (e.g. --device cpu).")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(f"device={device!r} but CUDA is not available here; use --device cpu or auto.")
        index = int(device.split(":")[1]) if ":" in device else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device={device!r} but this machine has {torch.cuda.device_count()} GPU(s) "
                              f"(cuda:0..cuda:{torch.cuda.device_count() - 1}); use one of those or auto.")
    return device


def build_cells(grid: dict) -> list[Cell]:
    """Validate everything and expand the grid into cells (stream x method x seed)."""
    check_shape(grid)
    check_finite(grid)
    for key in grid:
        if key not in TOP_KEYS:
            raise ConfigError(f"unknown grid key {key!r}.{did_you_mean(key, TOP_KEYS)} Valid: {', '.join(TOP_KEYS)}.")
    seeds = _check_seeds(grid.get("seeds", 1))
    device = check_device(grid.get("device", "auto"))
    _check_train(grid.get("train", {}), "[train]")       # the grid-wide table; streams may override
    base_model = dict(grid.get("model", {}))
    if not grid.get("streams"):
        raise ConfigError("the grid has no [streams.NAME] table; add one (e.g. --stream split).")
    if not grid.get("methods"):
        raise ConfigError("the grid has no [methods.NAME] table; add one (e.g. --method finetune).")

    stream_specs = []
    for label, table in grid["streams"].items():
        name, kwargs, nested = _split_table(label, table, "stream")
        fn = streams.STREAMS[check_name(name, streams.STREAMS, "stream")]
        valid = [k for k in keyword_names(fn) if k != "seed"]
        for k, v in kwargs.items():
            if k not in valid:
                raise ConfigError(f"streams.{label}: unknown keyword {k!r}.{did_you_mean(k, valid)} "
                                  f"Valid keywords: {', '.join(valid)}, plus train and model tables.")
            _check_type(fn, k, v, f"streams.{label}")
        t = _check_train({**grid.get("train", {}), **nested.get("train", {})}, f"streams.{label}.train")
        model = _model_table(base_model, nested.get("model", {}))
        model_name = _check_model(model, "model")
        model.pop("name")
        stream_specs.append((label, name, kwargs, model_name, model, t))

    method_specs = []
    for label, table in grid["methods"].items():
        table = dict(table)
        method_train = table.pop("train", {})
        method_model = table.pop("model", None)
        if not isinstance(method_train, dict):
            raise ConfigError(f"methods.{label}.train must be a table of [train] keys, e.g. train = {{ optimizer = \"adam\" }}.")
        name, kwargs, _ = _split_table(label, table, "method")
        try:
            methods.make(name, **kwargs)             # validates names, keywords and values
        except ValueError as e:                       # ConfigError is a ValueError too
            raise ConfigError(f"methods.{label}: {e}") from e
        except TypeError as e:
            raise ConfigError(f"methods.{label}: {e}") from e
        method_specs.append((label, name, kwargs, method_train, method_model))

    cells = []
    for slabel, sname, skw, mname, mkw, t in stream_specs:
        for mlabel, meth, methkw, mtrain, mmodel in method_specs:
            tt = _check_train({**t, **mtrain}, f"methods.{mlabel}.train") if mtrain else t
            name_m, kw_m = mname, mkw
            if mmodel is not None:            # the method's own model (e.g. esn beside liquid state machines)
                kw_m = _model_table({"name": mname, **mkw}, mmodel)
                name_m = _check_model(kw_m, f"methods.{mlabel}.model")
                kw_m.pop("name")
            for seed in seeds:
                cells.append(Cell(sname, skw, meth, methkw, name_m, kw_m, tt, seed, device, slabel, mlabel))
    return cells


def load_grid(source: str | Path | dict | None = None, sets: dict | None = None, *,
              streams_only: list[str] | None = None, methods_only: list[str] | None = None,
              seeds: int | None = None, quick: bool = False) -> dict:
    """Read a grid (None: the default comparison), then restrict and override it."""
    if source is None:
        grid = read_toml(default_grid_path())
    elif isinstance(source, dict):
        grid = copy.deepcopy(source)
    else:
        grid = read_toml(source)
    check_shape(grid)
    for kind, only in (("streams", streams_only), ("methods", methods_only)):
        if only:
            table = grid.get(kind, {})
            grid[kind] = {name: table.get(name, {}) for name in only}
    if seeds is not None:
        grid["seeds"] = seeds
    if quick:
        grid["seeds"] = 1
        for label, table in grid.get("streams", {}).items():
            name = table.get("stream", label)
            fn = streams.STREAMS.get(name)
            if fn is not None:
                for k, v in QUICK.items():
                    if k in keyword_names(fn) and not (k == "n_train" and table.get(k) == 0):
                        table[k] = min(v, table.get(k) or v)
        grid.setdefault("train", {})["eval_every"] = 10
    grid = apply_sets(grid, sets or {})
    check_shape(grid)
    check_finite(grid)
    return grid
