"""Bad inputs fail before any job: exit code 2 (or ConfigError), one line that names the bad key
and the fix, no traceback, no cell started, no file created or changed."""
from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuroplastic
from neuroplastic import ConfigError, cli
from neuroplastic.run import backends, build_cells, load_grid

TINY = """seeds = 1
[train]
batch_size = 32
eval_every = 0
[model]
name = "mlp"
widths = [16]
[streams.split]
dataset = "digits"
n_tasks = 5
n_train = 50
n_test = 20
[methods.finetune]
"""


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A folder holding the grid, a foreign SQLite file and a text file; cells are counted."""
    import sqlite3

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.toml").write_text(TINY)
    conn = sqlite3.connect(tmp_path / "foreign.db")
    conn.execute("CREATE TABLE t (a)")
    conn.commit()
    conn.close()
    (tmp_path / "notes.txt").write_text("not a database\n")
    started = []
    monkeypatch.setattr(backends, "run_cell", lambda cell, *a, **k: started.append(cell) or 1 / 0)
    return tmp_path, started


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# (arguments, words the message must hold: the bad key or value, and the fix)
BAD_CLI = [
    (["run", "tiny.toml", "--set", "streams.split.dataset=bogus"], ["bogus", "Valid datasets"]),
    (["run", "tiny.toml", "--set", "streams.split.n_tasks=0"], ["streams.split", "n_tasks=0"]),
    (["run", "tiny.toml", "--set", "streams.split.n_tasks=1000000"], ["n_tasks=1000000", "fewer"]),
    (["run", "tiny.toml", "--set", "streams.split.n_train=-5"], ["n_train", "-5"]),
    (["run", "tiny.toml", "--set", "train.eval_dense=-1"], ["eval_dense=-1", "non-negative"]),
    (["run", "tiny.toml", "--set", "streams.split.n_train=nan"], ["streams.split.n_train", "finite"]),
    (["run", "tiny.toml", "--set", "streams.split.n_train=100000"], ["streams.split", "lower n_train"]),
    (["run", "tiny.toml", "--set", "streams.split.scenario=bogus"], ["scenario", "bogus"]),
    (["run", "tiny.toml", "--set", "streams.split.n_tsks=3"], ["n_tsks", "Did you mean 'n_tasks'"]),
    (["run", "tiny.toml", "--set", "streams.split.n_tasks=\"five\""], ["n_tasks", "wrong type"]),
    (["run", "tiny.toml", "--set", "model.widths=[-5]"], ["model 'mlp'", "widths"]),
    (["run", "tiny.toml", "--set", "model.name=bogus"], ["bogus", "Valid models"]),
    (["run", "tiny.toml", "--set", "model.depth=3"], ["depth", "Valid keywords"]),
    (["run", "tiny.toml", "--set", "model.activation=tanh"], ["activation", "relu"]),
    (["run", "tiny.toml", "--set", "device=cuda:99"], ["cuda:99", "--device"]),
    (["run", "tiny.toml", "--set", "device=tpu"], ["tpu", "auto, cpu, cuda"]),
    (["run", "tiny.toml", "--set", "seeds=[-1]"], ["seeds", "0..4294967295"]),
    (["run", "tiny.toml", "--set", "seeds=[1,1]"], ["seeds", "once"]),
    (["run", "tiny.toml", "--set", "seeds=0"], ["seeds=0", "positive"]),
    (["run", "tiny.toml", "--set", "train.lr=nan"], ["train.lr", "finite"]),
    (["run", "tiny.toml", "--set", "train.lr=inf"], ["train.lr", "finite"]),
    (["run", "tiny.toml", "--set", "train.lr=-1"], ["lr=-1", "--set train.lr="]),
    (["run", "tiny.toml", "--set", "train.epochs=0"], ["epochs=0", "positive integer"]),
    (["run", "tiny.toml", "--set", "train.optimizer=rmsprop"], ["rmsprop", "adam"]),
    (["run", "tiny.toml", "--set", "train.lrr=0.1"], ["lrr", "Did you mean 'lr'"]),
    (["run", "tiny.toml", "--set", "train=1"], ["[train]", "table"]),
    (["run", "tiny.toml", "--set", "streams=5"], ["streams", "streams.NAME.KEY"]),
    (["run", "tiny.toml", "--set", "methods=[1,2]"], ["methods", "methods.NAME.KEY"]),
    (["run", "tiny.toml", "--set", "model=\"mlp\""], ["[model]", "model.name=mlp"]),
    (["run", "tiny.toml", "--set", "methods.finetune.train=3"], ["methods.finetune.train", "table"]),
    (["run", "tiny.toml", "--set", "methods.finetune.lam=1"], ["lam", "finetune"]),
    (["run", "tiny.toml", "--method", "ewc", "--set", "methods.ewc.lam=nan"], ["methods.ewc.lam", "finite"]),
    (["run", "tiny.toml", "--method", "ewc", "--set", "methods.ewc.lam=-1"], ["methods.ewc", "lam"]),
    (["run", "tiny.toml", "--method", "bogus"], ["bogus", "Valid methods"]),
    (["run", "tiny.toml", "--method", "metaplastic"], ["methods.metaplastic", "model.name=bnn"]),
    (["run", "tiny.toml", "--stream", "bogus"], ["bogus", "Valid streams"]),
    (["run", "tiny.toml", "--set", "bogus=1"], ["bogus", "Valid"]),
    (["run", "tiny.toml", "--set", "=1"], ["key=value"]),
    (["run", "tiny.toml", "--set", "train.lr=" + "[" * 3000 + "]" * 3000], ["nests too deeply"]),
    (["run", "tiny.toml", "--workers", "-5"], ["--workers", ">= 0"]),
    (["run", "tiny.toml", "--seeds", "100000000"], ["--seeds", "at most"]),
    (["run", "tiny.toml", "--seeds", "0"], ["--seeds", ">= 1"]),
    (["run", "tiny.toml", "--out", "nowhere/r.db"], ["--out", "mkdir -p"]),
    (["run", "tiny.toml", "--out", "."], ["--out", "directory"]),
    (["run", "tiny.toml", "--out", "foreign.db"], ["foreign.db", "something else"]),
    (["run", "tiny.toml", "--out", "notes.txt"], ["notes.txt", "not a neuroplastic results database"]),
    (["run", "tiny.toml", "--report", "nowhere/r.html"], ["--report", "mkdir -p"]),
    (["run", "tiny.toml", "--figures", "notes.txt"], ["--figures", "not a folder"]),
    (["run", "nope.toml"], ["nope.toml", "does not exist"]),
    (["run", "."], ["is a directory", "TOML file"]),
    (["run", "/dev/null"], ["not a regular file"]),
    (["run", "binary.toml"], ["UTF-8"]),
    (["run", "deep.toml"], ["too deeply"]),
    (["run", "streams5.toml"], ["streams must be a table"]),
    (["run", "broken.toml"], ["not valid TOML"]),
    (["results", "foreign.db"], ["foreign.db", "no results table"]),
    (["results", "notes.txt"], ["notes.txt", "not a neuroplastic results database"]),
    (["results", "missing.db"], ["missing.db", "does not exist"]),
    (["results", "."], ["directory"]),
    (["report", "foreign.db"], ["foreign.db", "no results table"]),
    (["export", "foreign.db", "--csv", "out.csv"], ["foreign.db", "no results table"]),
    (["export", "foreign.db", "--csv", "nowhere/x.csv"], ["--csv", "mkdir -p"]),
    (["results", "foreign.db", "--metrics", "acc,bogus"], ["bogus", "Valid metrics"]),
    (["streams", "show", "split", "--set", "n_tasks=0"], ["split", "n_tasks=0"]),
    (["streams", "show", "split", "--png", "nowhere/x.png"], ["--png", "mkdir -p"]),
    (["memory", "capacity", "--n", "-5"], ["--n", ">= 1"]),
    (["memory", "capacity", "--n", "0"], ["--n", ">= 1"]),
    (["memory", "capacity", "--loads", "10,-3"], ["--loads", "positive"]),
    (["memory", "capacity", "--beta", "nan"], ["--beta", "finite"]),
    (["memory", "mil", "--epochs", "-1"], ["--epochs", ">= 1"]),
    (["memory", "multitask", "--k", "0"], ["--k", ">= 1"]),
    (["memory", "capacity", "--out", "nowhere/m.db"], ["--out", "mkdir -p"]),
]


def _extra_files(folder: Path) -> None:
    (folder / "binary.toml").write_bytes(b"seeds = 1\n\xff\xfe\n")
    (folder / "deep.toml").write_text("a = " + "[" * 3000 + "]" * 3000 + "\n")
    (folder / "streams5.toml").write_text("streams = 5\n")
    (folder / "broken.toml").write_text("[train\nlr = 1\n")


@pytest.mark.parametrize("args,words", BAD_CLI, ids=[" ".join(a)[:60] for a, _ in BAD_CLI])
def test_bad_cli_input_fails_before_any_job(args, words, sandbox, capsys):
    folder, started = sandbox
    _extra_files(folder)
    before = _snapshot(folder)
    try:
        code = cli.main(args)
    except SystemExit as e:          # argparse: usage line plus one error line, exit 2
        code = e.code
    out = capsys.readouterr()
    text = out.err + out.out
    assert code == 2, text
    assert "Traceback" not in text
    for word in words:
        assert word in text, (word, text)
    assert started == []
    assert _snapshot(folder) == before


BAD_API = [
    ({"streams": {"split": {"dataset": "digits", "n_tasks": 0}}}, "n_tasks"),
    ({"streams": {"split": {"dataset": "nope"}}}, "nope"),
    ({"train": {"lr": math.nan}}, "train.lr"),
    ({"train": {"momentum": math.inf}}, "train.momentum"),
    ({"seeds": [0, -1]}, "seeds"),
    ({"model": {"name": "mlp", "widths": [0]}}, "widths"),
    ({"methods": {"finetune": 3}}, "methods.finetune"),
    ({"streams": {"split": {"dataset": "digits", "train": {"lr": -1}}}}, "streams.split.train"),
]


@pytest.mark.parametrize("change,word", BAD_API)
def test_bad_grid_through_the_python_api_raises_config_error(change, word, sandbox):
    folder, started = sandbox
    import tomllib

    grid = tomllib.loads(TINY)
    for k, v in change.items():
        grid[k] = {**grid[k], **v} if isinstance(v, dict) and isinstance(grid.get(k), dict) and k != "streams" else v
    before = _snapshot(folder)
    with pytest.raises(ConfigError, match=None) as e:
        neuroplastic.run(grid, out=folder / "api.db")
    assert word in str(e.value)
    assert started == [] and _snapshot(folder) == before


def test_bad_workers_through_the_python_api(sandbox):
    folder, _ = sandbox
    with pytest.raises(ConfigError, match="workers"):
        neuroplastic.run(str(folder / "tiny.toml"), out=folder / "w.db", workers=-5)
    assert not (folder / "w.db").exists()


def test_unwritable_data_home_is_refused_before_a_tta_job(tmp_path, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere: folder permissions cannot be tested")
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(0o500)
    monkeypatch.setenv("NEUROPLASTIC_DATA", str(home))
    with pytest.raises(Exception, match="NEUROPLASTIC_DATA"):
        neuroplastic.run({"streams": {"c": {"stream": "corrupted", "dataset": "mnist"}}, "methods": {"tent": {}},
                          "model": {"name": "cnn", "norm": "bn"}}, out=tmp_path / "x.db")


# hypothesis: malformed grids (random values where tables, numbers and names go) never escape
# as anything but a ConfigError, and never start a cell
_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                  st.text(max_size=8))
_value = st.recursive(_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                      max_leaves=8)
_keys = st.sampled_from(["seeds", "device", "train", "model", "streams", "methods", "description", "bogus"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(_keys, _value, max_size=4))
def test_malformed_grids_raise_config_error_only(monkeypatch, grid):
    import tomllib

    called = []
    monkeypatch.setattr(backends, "run_cell", lambda *a, **k: called.append(1))
    base = tomllib.loads(TINY)
    try:
        build_cells(load_grid({**base, **grid}))
    except ConfigError as e:
        assert str(e) and "\n" not in str(e).strip()
    assert called == []
