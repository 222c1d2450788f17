"""Results that cannot mislead: failed cells stored and retried, configurations never averaged
together, stale rows warned about, read-only opens, claims between concurrent runs, damaged rows
and divergence that the store records."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time


import neuroplastic
from neuroplastic import cli
from neuroplastic.run import Store, backends, summarize
from neuroplastic.run.cell import run_cell as real_run_cell

TINY = {
    "seeds": 2,
    "train": {"batch_size": 32, "eval_every": 0, "lr": 0.05},
    "model": {"name": "mlp", "widths": [16]},
    "streams": {"split": {"dataset": "digits", "n_tasks": 5, "n_train": 50, "n_test": 20}},
    "methods": {"finetune": {}, "er": {"buffer_size": 20}},
}


def test_an_all_failed_run_shows_the_failures_and_the_hint(tmp_path, capsys):
    grid = tmp_path / "g.toml"
    grid.write_text('seeds = 1\n[train]\nlr = 1e30\neval_every = 0\n[model]\nwidths = [8]\n'
                    '[streams.split]\ndataset = "digits"\nn_train = 40\nn_test = 10\n[methods.finetune]\n')
    db = tmp_path / "f.db"
    code = cli.main(["run", str(grid), "--out", str(db), "--workers", "1"])
    out = capsys.readouterr()
    assert code == 1
    assert "FAILED split/finetune seed 0" in out.err and "rerun the same command" in out.err
    assert "no results stored yet" in out.out and not (tmp_path / "report.html").exists()
    assert cli.main(["results", str(db)]) == 0                      # an empty table, not a crash
    out = capsys.readouterr()
    assert "no results stored yet" in out.out and "1 failed cell(s) stored" in out.err


def test_two_configurations_under_one_label_are_separate_rows(tmp_path):
    db = tmp_path / "c.db"
    neuroplastic.run({**TINY, "methods": {"finetune": {}}}, out=db)
    neuroplastic.run({**TINY, "methods": {"finetune": {}}, "train": {**TINY["train"], "batch_size": 16}}, out=db)
    with Store(db, readonly=True) as s:
        rows = summarize(s.results())
    assert len(rows) == 2 and all(len(r["seeds"]) == 2 for r in rows)
    assert sorted(r["method"] for r in rows) == ["finetune [train.batch_size=16]", "finetune [train.batch_size=32]"]


def test_failed_cells_are_stored_then_retried(tmp_path, monkeypatch):
    db = tmp_path / "r.db"

    def flaky(cell, *a, **k):
        if cell.method == "er":
            raise RuntimeError("disk on fire")
        return real_run_cell(cell, *a, **k)

    monkeypatch.setattr(backends, "run_cell", flaky)
    report = neuroplastic.run(TINY, out=db)
    assert len(report.failed) == 2 and len(report.finished) == 2
    with Store(db, readonly=True) as s:
        failures = s.failures()
    assert [(f["method"], f["seed"]) for f in failures] == [("er", 0), ("er", 1)]
    assert "disk on fire" in failures[0]["error"] and failures[0]["config"]["method"] == "er"
    assert failures[0]["env"]["neuroplastic"] == neuroplastic.__version__
    monkeypatch.setattr(backends, "run_cell", real_run_cell)
    again = neuroplastic.run(TINY, out=db)
    assert again.skipped == 2 and len(again.finished) == 2 and again.ok
    with Store(db, readonly=True) as s:
        assert s.failures() == [] and len(s) == 4


def _rewrite_env(db, **env):
    with sqlite3.connect(db) as c:
        for key, text in c.execute("SELECT key, result FROM results").fetchall():
            r = json.loads(text)
            r["env"].update(env)
            c.execute("UPDATE results SET result = ? WHERE key = ?", (json.dumps(r), key))


def test_rows_from_other_code_are_warned_about_and_rerun_on_request(tmp_path, caplog):
    db = tmp_path / "s.db"
    neuroplastic.run(TINY, out=db)
    _rewrite_env(db, neuroplastic="0.0.1")
    report = neuroplastic.run(TINY, out=db)
    assert report.stale == 4 and report.skipped == 4 and not report.finished
    assert "other code" in caplog.text and "--rerun-stale" in caplog.text
    report = neuroplastic.run(TINY, out=db, rerun_stale=True)
    assert len(report.finished) == 4 and report.stale == 0
    with Store(db, readonly=True) as s:
        assert len(s) == 4 and {r.env["neuroplastic"] for r in s.results()} == {neuroplastic.__version__}
    assert neuroplastic.run(TINY, out=db).stale == 0


def test_read_only_commands_leave_a_foreign_file_unchanged(tmp_path, capsys):
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as c:
        c.execute("CREATE TABLE notes (x)")
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    for f in (foreign, empty):
        before = f.read_bytes()
        for args in (["results", str(f)], ["report", str(f), "-o", str(tmp_path / "r.html")],
                     ["export", str(f), "--csv", str(tmp_path / "x.csv")]):
            assert cli.main(args) == 2
            assert "not a neuroplastic results database" in capsys.readouterr().err
        assert f.read_bytes() == before
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "x.csv").exists()


def test_two_concurrent_runs_compute_each_cell_once(tmp_path):
    grid = tmp_path / "g.toml"
    grid.write_text('seeds = 4\n[train]\nbatch_size = 16\neval_every = 0\n[model]\nwidths = [64]\n'
                    '[streams.split]\ndataset = "digits"\nn_train = 200\n[methods.finetune]\n[methods.si]\n')
    db = tmp_path / "both.db"
    Store(db).close()                                  # the file exists before either run starts
    cmd = [sys.executable, "-m", "neuroplastic.cli", "run", str(grid), "--out", str(db), "--workers", "1",
           "--no-report"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    ran = [int(o.split(" ran")[0].rsplit(" ", 1)[1]) for o, _ in outs]
    assert sum(ran) == 8, outs                         # each of the 8 cells computed once
    with Store(db, readonly=True) as s:
        results = s.results()
    assert len(results) == 8 and len({r.key for r in results}) == 8


def test_a_claim_of_a_dead_process_expires(tmp_path):
    db = tmp_path / "k.db"
    with Store(db) as s:
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout.strip()
        with s.conn:
            s.conn.execute("INSERT INTO claims VALUES ('abc', ?, ?, ?)", (s._host, int(dead), time.time()))
            s.conn.execute("INSERT INTO claims VALUES ('live', ?, ?, ?)", (s._host, 1, time.time()))
        assert s.claim("abc")                           # its process is gone: the claim expired
        assert not s.claim("live")                      # pid 1 is alive: left to it


def test_a_damaged_row_is_reported_and_recomputed(tmp_path, capsys):
    db = tmp_path / "d.db"
    neuroplastic.run(TINY, out=db)
    with sqlite3.connect(db) as c:
        key = c.execute("SELECT key FROM results LIMIT 1").fetchone()[0]
        c.execute("UPDATE results SET result = '{\"key\": broken' WHERE key = ?", (key,))
    assert cli.main(["results", str(db)]) == 0
    out = capsys.readouterr()
    assert f"stored row {key} cannot be read" in out.err and "finetune" in out.out
    assert cli.main(["export", str(db), "--csv", str(tmp_path / "x.csv")]) == 0
    assert "wrote 3 rows" in capsys.readouterr().out
    report = neuroplastic.run(TINY, out=db)
    assert len(report.finished) == 1 and report.damaged[0][0] == key
    with Store(db, readonly=True) as s:
        assert len(s.results()) == 4 and not s.damaged


def test_exploding_weights_are_divergence_naming_the_rate(tmp_path):
    grid = {**TINY, "seeds": 1, "methods": {"softhebb": {"hebb_lr": 1e6}}, "model": {"name": "mlp", "widths": [32]}}
    report = neuroplastic.run(grid, out=tmp_path / "x.db")
    assert len(report.failed) == 1, report
    why = report.failed[0][1]
    assert "Diverged" in why and "exploded" in why and "hebb_lr=1e+06" in why
    assert "--set methods.softhebb.hebb_lr=" in why and "--set methods.softhebb.train.lr=" in why


def test_report_is_written_beside_the_results_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    sub = tmp_path / "out"
    sub.mkdir()
    grid = tmp_path / "g.toml"
    grid.write_text('seeds = 1\n[train]\neval_every = 0\n[model]\nwidths = [8]\n'
                    '[streams.split]\ndataset = "digits"\nn_train = 40\nn_test = 10\n[methods.finetune]\n')
    assert cli.main(["run", str(grid), "--out", str(sub / "r.db"), "--workers", "1"]) == 0
    assert (sub / "report.html").is_file() and not (tmp_path / "report.html").exists()
