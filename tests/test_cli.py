import subprocess
import sys

import pytest

from neuroplastic.cli import main


def test_data_fetch_and_streams_show(capsys, tmp_path):
    assert main(["data", "fetch", "digits"]) == 0
    assert "digits" in capsys.readouterr().out
    png = tmp_path / "s.png"
    assert main(["streams", "show", "split", "--set", "n_train=20", "--set", "n_test=10",
                 "--set", "dataset=digits", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert "5 experiences" in out and png.stat().st_size > 1000


def test_streams_list(capsys):
    assert main(["streams", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("permuted", "split", "rotated", "concept_shift", "corrupted", "power_law"):
        assert name in out


@pytest.mark.parametrize("argv,needle", [
    (["streams", "show", "splt"], "Did you mean 'split'"),
    (["streams", "show", "split", "--set", "n_task=3"], "Did you mean 'n_tasks'"),
    (["streams", "show", "split", "--set", "n_tasks"], "key=value"),
])
def test_bad_input_exits_2_with_the_fix(capsys, argv, needle):
    assert main(argv) == 2
    assert needle in capsys.readouterr().err


def test_console_script_runs():
    r = subprocess.run([sys.executable, "-m", "neuroplastic.cli", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and "neuroplastic" in r.stdout
