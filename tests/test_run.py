import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import neuroplastic
from neuroplastic import ConfigError
from neuroplastic.run import Store, backends, build_cells, load_grid, run_cell, summarize
from neuroplastic.run.grid import DEFAULT_TRAIN

TINY = {
    "seeds": 2,
    "train": {"batch_size": 32, "eval_every": 2, "eval_subset": 20, "lr": 0.05},
    "model": {"name": "mlp", "widths": [32]},
    "streams": {"split": {"dataset": "digits", "n_tasks": 5, "n_train": 64, "n_test": 30}},
    "methods": {"finetune": {}, "er": {"buffer_size": 50}},
}


def test_cells_are_validated_and_keyed():
    cells = build_cells(load_grid(TINY))
    assert len(cells) == 4 and len({c.key for c in cells}) == 4
    again = build_cells(load_grid(TINY))
    assert [c.key for c in cells] == [c.key for c in again]          # canonical, stable keys
    assert cells[0].train == {**DEFAULT_TRAIN, **TINY["train"]}


def test_run_cell_result_shapes():
    cell = build_cells(load_grid(TINY))[0]
    r = run_cell(cell)
    T = 5
    assert len(r.R) == T and all(len(row) == T for row in r.R) and len(r.b) == T
    assert all(0.0 <= a <= 1.0 for row in r.R for a in row)
    acc = r.curves["acc"]
    assert len(acc) == len(r.curves["steps"]) and len(r.curves["boundaries"]) == T
    assert all(len(row) == T for row in acc)
    for key in ("wall_s", "samples_per_s", "peak_mem_mb", "params"):
        assert r.costs[key] > 0
    assert r.env["torch"] and r.env["device"] == "cpu"


def test_same_cell_same_numbers():
    cell = build_cells(load_grid(TINY))[2]
    a, b = run_cell(cell), run_cell(cell)
    assert a.R == b.R
    np.testing.assert_array_equal(np.array(a.curves["acc"]), np.array(b.curves["acc"]))  # NaN-aware


def test_resume_after_interrupt_has_no_duplicates(tmp_path, monkeypatch):
    db = tmp_path / "r.db"
    real_local = backends.local

    def interrupted(cells, **kw):
        for i, outcome in enumerate(real_local(cells, **kw)):
            if i == 2:
                raise KeyboardInterrupt
            yield outcome

    monkeypatch.setitem(backends.BACKENDS, "local", interrupted)
    with pytest.raises(KeyboardInterrupt):
        neuroplastic.run(TINY, out=db)
    with Store(db) as s:
        assert len(s) == 2
    monkeypatch.setitem(backends.BACKENDS, "local", real_local)
    report = neuroplastic.run(TINY, out=db)
    assert report.skipped == 2 and len(report.finished) == 2 and report.ok
    with Store(db) as s:
        keys = [r.key for r in s.results()]
    assert sorted(keys) == sorted(c.key for c in build_cells(load_grid(TINY)))
    assert neuroplastic.run(TINY, out=db).skipped == 4                # nothing left to do


def test_killed_process_keeps_finished_cells(tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text("""
seeds = 6
[train]
batch_size = 16
eval_every = 1
[model]
widths = [64]
[streams.split]
dataset = "digits"
n_train = 200
[methods.finetune]
[methods.si]
""")
    db = tmp_path / "k.db"
    cmd = [sys.executable, "-m", "neuroplastic.cli", "run", str(grid), "--out", str(db), "--workers", "1",
           "--no-report"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    rows = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if db.exists():
            try:
                with sqlite3.connect(db) as c:
                    rows = c.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            except sqlite3.OperationalError:
                rows = 0
            if rows >= 2:
                break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = c.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    assert 2 <= stored <= 12
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert f"{stored} already in" in r.stdout
    with Store(db) as s:
        assert len(s) == 12 and len({x.key for x in s.results()}) == 12


@pytest.mark.parametrize("change,needle", [
    ({"methods": {"ewcc": {}}}, "Did you mean 'ewc'"),
    ({"streams": {"splitt": {}}}, "Did you mean 'split'"),
    ({"methods": {"ewc": {"lam": "strong"}}}, "lam='strong'"),
    ({"methods": {"ewc": {"lamda": 3.0}}}, "Did you mean 'lam'"),
    ({"train": {"lr": -0.1}}, "lr=-0.1 must be a positive number"),
    ({"train": {"epoch": 2}}, "Did you mean 'epochs'"),
    ({"streams": {"split": {"n_tasks": "five"}}}, "n_tasks='five' has the wrong type"),
    ({"model": {"name": "mlp", "width": [3]}}, "Did you mean 'widths'"),
    ({"seeds": 0}, "seeds=0"),
])
def test_bad_configs_fail_before_any_job(tmp_path, monkeypatch, change, needle):
    ran = []
    monkeypatch.setitem(backends.BACKENDS, "local", lambda cells, **kw: ran.extend(cells) or iter(()))
    grid = {**TINY, **change}
    with pytest.raises(ConfigError, match=needle):
        neuroplastic.run(grid, out=tmp_path / "x.db")
    assert ran == [] and not (tmp_path / "x.db").exists()


def test_set_overrides_and_their_errors():
    g = load_grid(TINY, {"train.epochs": 2, "methods.er.buffer_size": 10, "streams.split.dataset": "mnist"})
    assert g["train"]["epochs"] == 2 and g["methods"]["er"]["buffer_size"] == 10
    assert g["streams"]["split"]["dataset"] == "mnist"
    with pytest.raises(ConfigError, match="not in this grid"):
        load_grid(TINY, {"methods.ewc.lam": 1.0})
    with pytest.raises(ConfigError, match="Did you mean 'train'"):
        load_grid(TINY, {"trian.lr": 1.0})


def test_default_grid_is_the_documented_comparison():
    cells = build_cells(load_grid(None))
    assert {c.stream for c in cells} == {"split", "permuted"}
    assert {c.method for c in cells} == {"finetune", "joint", "ewc", "si", "er", "agem", "lwf", "derpp"}
    assert {c.seed for c in cells} == {0, 1, 2} and len(cells) == 2 * 8 * 3
    quick = build_cells(load_grid(None, quick=True))
    assert len(quick) == 16 and all(c.stream_kwargs["n_train"] <= 6000 for c in quick)


def test_diverging_run_says_what_to_do(tmp_path):
    grid = {**TINY, "seeds": 1, "methods": {"finetune": {}}, "train": {**TINY["train"], "lr": 1e30}}
    report = neuroplastic.run(grid, out=tmp_path / "d.db")
    assert len(report.failed) == 1 and "diverged" in report.failed[0][1] and "train.lr" in report.failed[0][1]
    with Store(tmp_path / "d.db") as s:
        assert len(s) == 0


def test_summary_rows_have_every_metric_with_ci(tmp_path):
    neuroplastic.run(TINY, out=tmp_path / "s.db")
    with Store(tmp_path / "s.db") as s:
        rows = summarize(s.results())
    assert {(r["stream"], r["method"]) for r in rows} == {("split", "finetune"), ("split", "er")}
    for r in rows:
        assert r["seeds"] == [0, 1]
        assert r["acc"]["ci_low"] <= r["acc"]["mean"] <= r["acc"]["ci_high"]


def test_workers_pool_gives_the_same_numbers(tmp_path):
    grid = {**TINY, "methods": {"finetune": {}}}
    a = neuroplastic.run(grid, out=tmp_path / "a.db")
    b = neuroplastic.run(grid, out=tmp_path / "b.db", workers=2)
    by_key = {r.key: r.R for r in a.finished}
    assert len(b.finished) == 2 and all(by_key[r.key] == r.R for r in b.finished)


def test_ray_backend(tmp_path):
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        report = neuroplastic.run(TINY, out=tmp_path / "ray.db", backend="ray")
    finally:
        ray.shutdown()
    assert report.ok and len(report.finished) == 4
    local = {r.key: r.R for r in neuroplastic.run(TINY, out=tmp_path / "loc.db").finished}
    assert all(local[r.key] == r.R for r in report.finished)       # same numbers as in-process
    assert all(r.env["pid"] != os.getpid() for r in report.finished)  # ran in Ray workers


def test_cli_run_results_export_list(tmp_path, capsys):
    from neuroplastic.cli import main

    grid = tmp_path / "g.toml"
    grid.write_text('seeds = 2\n[model]\nwidths = [16]\n[streams.split]\ndataset = "digits"\n'
                    'n_train = 40\n[methods.finetune]\n[methods.lwf]\n')
    db = tmp_path / "c.db"
    report = tmp_path / "r.html"
    assert main(["run", str(grid), "--out", str(db), "--set", "train.batch_size=20", "--report", str(report)]) == 0
    assert "4 ran" in capsys.readouterr().out and report.stat().st_size > 10_000
    assert main(["run", str(grid), "--out", str(db), "--set", "train.batch_size=20", "--no-report"]) == 0
    assert "4 already in" in capsys.readouterr().out
    assert main(["results", str(db), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["method"] for r in rows} == {"finetune", "lwf"}
    assert set(rows[0]["acc"]) == {"mean", "ci_low", "ci_high"} and rows[0]["stream"] == "split"
    assert main(["results", str(db), "--metrics", "learning_acc,density"]) == 0
    head = capsys.readouterr().out.splitlines()[0].split()
    assert head == ["stream", "method", "seeds", "learning_acc", "density"]
    assert main(["results", str(db), "--metrics", "acc,learnin_acc"]) == 2
    assert "Did you mean 'learning_acc'" in capsys.readouterr().err
    assert main(["export", str(db), "--csv", str(tmp_path / "o.csv")]) == 0
    assert len((tmp_path / "o.csv").read_text().strip().splitlines()) == 5
    assert main(["list", "methods"]) == 0 and "derpp" in capsys.readouterr().out
    assert main(["list", "rules"]) == 0 and "triplet_stdp" in capsys.readouterr().out
    assert main(["list", "models"]) == 0 and "snn_mlp" in capsys.readouterr().out
    assert main(["run", "--method", "ewcc", "--out", str(db), "--no-report"]) == 2
    assert "Did you mean 'ewc'" in capsys.readouterr().err
    assert main(["results", str(tmp_path / "missing.db")]) == 2


def test_model_defaults_only_apply_to_the_default_model():
    cnn = build_cells(load_grid({**TINY, "model": {}}, {"model.name": "cnn"}))[0]
    assert cnn.model == "cnn" and "widths" not in cnn.model_kwargs
    with pytest.raises(ConfigError, match="model 'cnn': unknown keyword 'widths'"):
        build_cells(load_grid(TINY, {"model.name": "cnn"}))        # the grid's own mlp widths
    snn = build_cells(load_grid({**TINY, "model": {"name": "snn_mlp", "T": 4}}))[0]
    assert snn.model_kwargs == {"T": 4}
    mlp = build_cells(load_grid({**TINY, "model": {}}))[0]
    assert mlp.model == "mlp" and mlp.model_kwargs == {"widths": [400, 400]}


SHIPPED_RECIPES = sorted(p.stem for p in (Path(neuroplastic.__file__).parent / "recipes").glob("*.toml"))


@pytest.mark.parametrize("name", SHIPPED_RECIPES)
def test_every_shipped_recipe_validates(name):
    # every stream, method, model and keyword of a shipped grid passes the checks a run makes
    # before its first job; experiment recipes (their own runner) are read, not expanded
    from neuroplastic.run.grid import read_toml

    grid = read_toml(name)
    if "experiment" in grid:
        assert grid["experiment"] and "settings" in grid
        return
    cells = build_cells(load_grid(name, seeds=1))
    assert cells and all(c.seed == 0 for c in cells)
