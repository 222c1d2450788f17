"""One cell of a grid: (stream, method, model, training config, seed) -> Result.

``run_cell`` is the only place that seeds global RNGs. Data stay in memory as tensors on the
run's device; batches are index slices. After each experience every experience is evaluated
(the accuracy matrix R); every ``eval_every`` steps, and after each of the first ``eval_dense``
steps of every experience, a fixed subset of each seen experience is evaluated (curves for the
stability gap); ``eval_s`` and ``eval_share`` in the costs say what those evaluations took.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import json
import logging
import math
import os
import platform
import random
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import methods, models, streams
from ..metrics import plasticity
from .compute import ComputeMeter, forward_flops
from ..streams import Experience, as_float

log = logging.getLogger(__name__)


class Diverged(RuntimeError):
    """Training produced a non-finite loss."""


@dataclass(frozen=True)
class Cell:
    """Everything that determines a result. ``key`` hashes its canonical JSON."""

    stream: str                    # registered stream name
    stream_kwargs: dict
    method: str                    # registered method name
    method_kwargs: dict
    model: str
    model_kwargs: dict
    train: dict
    seed: int
    device: str = "auto"
    stream_label: str = ""         # the grid's table name (defaults to the stream name)
    method_label: str = ""

    def config(self) -> dict:
        return asdict(self)

    @property
    def key(self) -> str:
        canon = json.dumps(self.config(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canon.encode()).hexdigest()[:20]

    @property
    def labels(self) -> tuple[str, str]:
        return self.stream_label or self.stream, self.method_label or self.method


@dataclass
class Result:
    key: str
    cell: dict
    R: list                        # R[i][j]: accuracy on j after training i
    b: list                        # accuracy of the initial model on each experience
    curves: dict                   # steps, acc (S x T, NaN = unseen), starts, boundaries
    costs: dict
    plasticity: dict
    env: dict = field(default_factory=dict)
    #: test-time adaptation cells: setting, online error per experience, source error, labels
    tta: dict = field(default_factory=dict)
    #: associative-memory experiments (``neuroplastic memory ...``): curves, no accuracy matrix
    memory: dict = field(default_factory=dict)
    #: stand-alone experiments (neuroplastic.experiments, e.g. critical periods)
    experiment: dict = field(default_factory=dict)

    def to_json(self) -> str:
        """Strict JSON (NaN stored as null), readable by SQLite's json functions too."""
        return json.dumps(_nan_to_none(asdict(self)), default=_json_default, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> "Result":
        return cls(**json.loads(text))


def _nan_to_none(o):
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _nan_to_none(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_nan_to_none(v) for v in o]
    return o


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, torch.Tensor):
        return o.tolist()
    raise TypeError(f"cannot store {type(o).__name__} in a result")


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device={device!r} but CUDA is not available here; use --device cpu or auto.")
    return torch.device(device)


@functools.lru_cache(maxsize=1)
def code_identity() -> dict:
    """The code that computes results: the package version and, in a git checkout, its commit."""
    import neuroplastic

    commit = None
    root = Path(neuroplastic.__file__).resolve().parent.parent
    if (root / ".git").exists():
        try:
            commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                    text=True, timeout=5).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            commit = None
    return {"neuroplastic": neuroplastic.__version__, "git_commit": commit}


def is_stale(env: dict, code: dict) -> bool:
    """Whether a result's environment says other code computed it (another version, or another
    commit where both are known)."""
    if env.get("neuroplastic") != code["neuroplastic"]:
        return True
    return bool(env.get("git_commit") and code["git_commit"] and env["git_commit"] != code["git_commit"])


def environment(device: torch.device) -> dict:
    return {
        **code_identity(), "torch": torch.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "platform": platform.platform(), "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "threads": torch.get_num_threads(),
    }


def reset_peak_rss() -> bool:
    """Reset the process's peak resident set size (Linux >= 4.0); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """Peak RSS since the last reset (Linux: VmHWM), else the process's peak as psutil reports it
    (Windows: peak working set), else its current RSS (macOS reports no peak)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import psutil

    info = psutil.Process().memory_info()
    return getattr(info, "peak_wset", info.rss) / 2**20


#: a weight tensor whose norm grows past this factor times (its initial norm + 1) has exploded
EXPLODED = 1e5


def _rates(cell: Cell) -> list[str]:
    """The step sizes that could have driven a divergence, each with the --set that lowers it."""
    mlabel = cell.labels[1]
    out = [f"train.lr={cell.train['lr']:g} (--set methods.{mlabel}.train.lr={cell.train['lr'] / 10:g})"]
    signature = inspect.signature(methods.METHODS[cell.method].__init__).parameters
    for name in methods.METHODS[cell.method].param_names():
        if name == "lr" or name.endswith("_lr") or name.endswith("_rate") or name == "eta":
            value = cell.method_kwargs.get(name, signature[name].default)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out.insert(0 if name in cell.method_kwargs else len(out),
                           f"the method's own {name}={value:g} (--set methods.{mlabel}.{name}={value / 10:g})")
    return out


def divergence(cell: Cell, model: torch.nn.Module, what: str, experience: int, step: int) -> "Diverged":
    """A Diverged error that names the weights that went bad and the rates that drive them."""
    bad = [n for n, p in model.named_parameters() if not torch.isfinite(p).all()]
    where = f"; non-finite weights: {', '.join(bad[:4])}" if bad else ""
    return Diverged(f"{cell.method} on {cell.stream} (seed {cell.seed}) diverged at experience {experience}, step "
                    f"{step}: {what}{where}. Lower the step size that drives it: {'; or '.join(_rates(cell))}.")


@torch.no_grad()
def check_weights(cell: Cell, model: torch.nn.Module, norm0: dict[str, float], experience: int, step: int) -> None:
    """Raise Diverged when a weight is non-finite or its norm exploded (a learning rule with too
    large a rate can keep the loss finite while its weights run off to 1e13)."""
    for name, p in model.named_parameters():
        norm = float(p.detach().double().norm())
        if not math.isfinite(norm):
            raise divergence(cell, model, f"{name} is not finite", experience, step)
        if norm > EXPLODED * (norm0.get(name, 0.0) + 1.0):
            raise divergence(cell, model, f"the norm of {name} exploded from {norm0.get(name, 0.0):.3g} to "
                             f"{norm:.3g}", experience, step)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _to_device(exp: Experience, device: torch.device) -> Experience:
    mv = lambda pair: tuple(t.to(device) for t in pair)  # noqa: E731
    return Experience(exp.index, mv(exp.train), mv(exp.test), exp.classes, exp.task, exp.meta)


@torch.no_grad()
def predicted_labels(method, x: torch.Tensor, task, batch_size: int = 2000) -> torch.Tensor:
    return torch.cat([method.predict(as_float(x[i:i + batch_size]), task).argmax(1)
                      for i in range(0, len(x), batch_size)]) if len(x) else torch.zeros(0, dtype=torch.long)


def accuracy_row(method, stream: list[Experience]) -> list[float]:
    """Accuracy on every experience's test set. Experiences that share one test tensor (e.g.
    concept shift: same images, other labels) are predicted once and scored against each one's
    labels, so a stream of T such experiences costs T predictions per row, not T^2."""
    cache: dict = {}
    row = []
    for e in stream:
        x, y = e.test
        if len(y) == 0:
            row.append(float("nan"))
            continue
        key = (x.data_ptr(), tuple(x.shape), x.dtype, e.task)
        if key not in cache:
            cache[key] = predicted_labels(method, x, e.task)
        row.append(int((cache[key] == y).sum()) / len(y))
    return row


def accuracy(method, x: torch.Tensor, y: torch.Tensor, task, batch_size: int = 2000) -> float:
    if len(y) == 0:
        return float("nan")
    return int((predicted_labels(method, x, task, batch_size) == y).sum()) / len(y)


def make_optimizer(params, train: dict) -> torch.optim.Optimizer:
    name = train["optimizer"]
    if name == "sgd":
        return torch.optim.SGD(params, lr=train["lr"], momentum=train["momentum"],
                               weight_decay=train["weight_decay"])
    if name == "adam":
        return torch.optim.Adam(params, lr=train["lr"], weight_decay=train["weight_decay"])
    raise ValueError(f"optimizer {name!r} is unknown: use 'sgd' or 'adam'.")


def _hidden_activations(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    acts: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda m, i, o: acts.append(o.flatten(1)))
             for m in model.modules() if isinstance(m, torch.nn.ReLU)]
    try:
        model(x)
    finally:
        for h in hooks:
            h.remove()
    return acts


@torch.no_grad()
def plasticity_figures(model, x, w0: dict) -> dict:
    model.eval()
    acts = _hidden_activations(model, x)
    feats = model.features(x)
    weights = {n: p for n, p in model.named_parameters() if p.dim() > 1}
    change = [plasticity.relative_weight_change(p, w0[n]) for n, p in weights.items()]
    return {
        "fau": float(np.mean([plasticity.fraction_active(a) for a in acts])) if acts else float("nan"),
        "dormant": float(np.mean([plasticity.dormant_ratio(a) for a in acts])) if acts else float("nan"),
        "eff_rank": plasticity.effective_rank(feats.cpu()),
        "weight_change": float(np.mean(change)),
        "weight_norm": float(torch.sqrt(sum((p.double() ** 2).sum() for p in weights.values()))),
        "density": plasticity.weight_density(weights.values()),
    }


def model_inputs(stream: list[Experience], *, heads: bool = True) -> dict:
    """What a model needs to know of a stream: input shape, class count and, where the stream
    gives task ids (and ``heads``), the classes of each task's head."""
    in_shape = tuple(stream[0].test[0].shape[1:])
    n_classes = max(max(e.classes) for e in stream) + 1
    task_ids = sorted({e.task for e in stream if e.task is not None})
    task_classes = None
    if task_ids and heads:
        by_task = {e.task: e.classes for e in stream if e.task is not None}
        task_classes = [by_task[t] for t in range(max(task_ids) + 1)]
    return {"in_shape": in_shape, "n_classes": n_classes, "task_classes": task_classes}


def run_cell(cell: Cell, progress=None) -> Result:
    """Train and evaluate one cell. ``progress(done, total)`` is called after each experience."""
    if getattr(methods.METHODS[cell.method], "adapts", False):
        return run_tta_cell(cell, progress)
    t_start = time.perf_counter()
    rss_reset = reset_peak_rss()
    seed_everything(cell.seed)
    device = resolve_device(cell.device)
    tr = cell.train
    stream_kwargs = {"seed": cell.seed, **cell.stream_kwargs}
    stream = [_to_device(e, device) for e in streams.make(cell.stream, **stream_kwargs)]
    if not stream:
        raise ValueError(f"stream {cell.stream!r} produced no experiences")
    model = models.make(cell.model, **model_inputs(stream), **cell.model_kwargs).to(device)
    w0 = {n: p.detach().clone() for n, p in model.named_parameters() if p.dim() > 1}
    norm0 = {n: float(p.detach().double().norm()) for n, p in model.named_parameters()}
    method_kwargs = dict(cell.method_kwargs)
    if "seed" in methods.METHODS[cell.method].param_names():
        method_kwargs.setdefault("seed", cell.seed)
    method = methods.make(cell.method, **method_kwargs)
    method.setup(model, make_optimizer(model.parameters(), tr))
    fwd_flops = forward_flops(model, as_float(stream[0].train[0][:1]), stream[0].task)
    meter = ComputeMeter(model)

    T = len(stream)
    g = torch.Generator().manual_seed(cell.seed)
    sub = [(e.test[0][: tr["eval_subset"]], e.test[1][: tr["eval_subset"]]) for e in stream]
    b = accuracy_row(method, stream)
    R: list[list[float]] = []
    steps: list[int] = []
    curve: list[list[float]] = []
    starts: list[int] = []
    boundaries: list[int] = []
    step, n_seen, train_time = 0, 0, 0.0
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    # a fixed probe batch drawn from every experience's test set, for the plasticity figures
    probe = as_float(torch.cat([e.test[0][: max(1, 1000 // T)] for e in stream]))
    trace: list[dict] = []
    online_eval, online, online_starts = bool(tr.get("online_eval", False)), [], []

    every, dense = tr["eval_every"], tr.get("eval_dense", 0)
    eval_time = 0.0

    def evaluate_curve(upto: int) -> None:
        nonlocal eval_time
        if every <= 0 and dense <= 0:
            return
        t_eval = time.perf_counter()
        row = [accuracy(method, sub[j][0], sub[j][1], stream[j].task) if j <= upto else float("nan")
               for j in range(T)]
        steps.append(step)
        curve.append(row)
        eval_time += time.perf_counter() - t_eval

    for i, exp in enumerate(stream):
        with meter.counting():
            method.begin(exp)
        starts.append(len(curve))
        evaluate_curve(i)
        t0 = time.perf_counter()
        online_starts.append(len(online))
        step0 = step
        for x, y in method.batches(exp, batch_size=tr["batch_size"], epochs=tr["epochs"], generator=g):
            if online_eval:          # prequential: score the batch before training on it
                online.append(float((method.predict(x, exp.task).argmax(1) == y).float().mean()))
            with meter.counting():
                loss = method.observe(x, y)
            step += 1
            n_seen += len(y)
            if not math.isfinite(float(loss)):
                raise divergence(cell, model, f"the loss is {float(loss)}", i, step)
            if (every > 0 and step % every == 0) or step - step0 <= dense:
                train_time += time.perf_counter() - t0
                check_weights(cell, model, norm0, i, step)
                evaluate_curve(i)
                t0 = time.perf_counter()
        train_time += time.perf_counter() - t0
        with meter.counting():
            method.end(exp)
        check_weights(cell, model, norm0, i, step)
        boundaries.append(len(curve))
        evaluate_curve(i)
        R.append(accuracy_row(method, stream))
        trace.append(plasticity_figures(model, probe, w0))
        if progress is not None:
            progress(i + 1, T)

    meter.remove()
    figures = {**trace[-1], "trace": trace}     # final values, and one entry per experience
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak_mb = peak_rss_mb()
    wall = time.perf_counter() - t_start
    costs = {
        "wall_s": wall, "train_s": train_time,
        "samples_per_s": n_seen / train_time if train_time > 0 else float("nan"),
        "train_samples": n_seen, "steps": step, "peak_mem_mb": peak_mb,
        "peak_mem_kind": ("cuda max allocated" if device.type == "cuda" else
                          "peak RSS during the cell" if rss_reset else "process peak RSS"),
        "params": sum(p.numel() for p in model.parameters()),
        "grad_samples": meter.grad_samples, "nograd_samples": meter.nograd_samples, "fwd_flops": fwd_flops,
        "train_gflops": fwd_flops * (3 * meter.grad_samples + meter.nograd_samples) / 1e9,
        "eval_s": eval_time, "eval_share": eval_time / max(wall, 1e-9),
    }
    curves = {"steps": steps, "acc": curve, "starts": starts, "boundaries": boundaries}
    if all("task_id" in (e.meta or {}) and "kind" in (e.meta or {}) for e in stream):   # recurring tasks
        curves.update(task_ids=[e.meta["task_id"] for e in stream], kinds=[e.meta["kind"] for e in stream])
    if online_eval:
        curves.update(online=online, online_starts=online_starts)
    if getattr(method, "trace_", None):      # a method's own per-step record, e.g. its learning rate
        curves["method_trace"] = method.trace_
    env = environment(device)
    env["pid"] = os.getpid()
    return Result(cell.key, cell.config(), R, b, curves, costs, figures, env)


def run_tta_cell(cell: Cell, progress=None) -> Result:
    """A test-time-adaptation cell: the source model trained on the clean training set of the
    stream's dataset (cached under ``$NEUROPLASTIC_DATA/sources``, once per configuration and
    seed), then one online pass over the stream's test experiences under ``train.tta_setting``.
    R has one row: the online accuracy per experience; ``b`` holds the source accuracy."""
    from ..data._fetch import data_home
    from ..streams._stream import load_images
    from ..tta import run_tta, train_source

    t_start = time.perf_counter()
    rss_reset = reset_peak_rss()
    seed_everything(cell.seed)
    device = resolve_device(cell.device)
    tr = cell.train
    stream = [_to_device(e, device) for e in streams.make(cell.stream, **{"seed": cell.seed, **cell.stream_kwargs})]
    dataset = (stream[0].meta or {}).get("dataset")
    if not dataset:
        raise ValueError(f"{cell.method} is a test-time-adaptation method: its stream must say which clean dataset "
                         f"trains the source model (use stream 'corrupted' or 'domain_shift', not {cell.stream!r}).")
    x_tr, y_tr, _, _ = load_images(dataset)
    model = models.make(cell.model, **model_inputs(stream, heads=False), **cell.model_kwargs).to(device)
    method = methods.make(cell.method, **cell.method_kwargs)
    method.setup(model, make_optimizer(model.parameters(), tr))
    source_train = {k: tr[k] for k in ("epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay")}
    t0 = time.perf_counter()
    train_source(method, x_tr.to(device), y_tr.to(device), epochs=tr["epochs"], batch_size=tr["batch_size"],
                 seed=cell.seed, cache=data_home() / "sources",
                 key={"dataset": dataset, "model": cell.model, "model_kwargs": cell.model_kwargs,
                      "train": source_train, "torch": torch.__version__.split("+")[0]})
    source_s = time.perf_counter() - t0
    b = [accuracy(method, e.test[0], e.test[1], None) for e in stream]
    setting, bs = tr.get("tta_setting", "reset_each_shift"), tr.get("tta_batch_size", 128)
    t0 = time.perf_counter()
    out = run_tta(method, stream, setting=setting, batch_size=bs, seed=cell.seed)
    adapt_s = time.perf_counter() - t0
    if progress is not None:
        progress(len(stream), len(stream))
    n_test = sum(out["n"])
    meta = [e.meta or {} for e in stream]
    tta = {"setting": setting, "batch_size": bs, "error": out["error"], "mean_error": out["mean_error"],
           "source_error": [100 * (1 - a) for a in b], "corruption": [m.get("corruption", str(i)) for i, m in enumerate(meta)],
           "severity": [m.get("severity", 0) for m in meta], "dataset": dataset}
    costs = {"wall_s": time.perf_counter() - t_start, "train_s": adapt_s, "source_train_s": source_s,
             "samples_per_s": n_test / adapt_s if adapt_s > 0 else float("nan"), "train_samples": n_test,
             "steps": len(range(0, n_test, bs)),
             "peak_mem_mb": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else peak_rss_mb(),
             "peak_mem_kind": ("cuda max allocated" if device.type == "cuda" else
                               "peak RSS during the cell" if rss_reset else "process peak RSS"),
             "params": sum(p.numel() for p in model.parameters())}
    R = [[1 - e / 100 for e in out["error"]]]
    curves = {"steps": [], "acc": [], "starts": [], "boundaries": []}
    env = environment(device)
    env["pid"] = os.getpid()
    return Result(cell.key, cell.config(), R, b, curves, costs, {}, env, tta)
