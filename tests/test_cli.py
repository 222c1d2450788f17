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


def test_list_gives_whole_summaries(capsys):
    """Each entry's line is its module docstring's first paragraph, cut only at a word."""
    assert main(["list", "rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    sanger = next(line for line in lines if line.startswith("sanger "))
    assert "dw = <y x^T>" in sanger                 # the paragraph goes on past the first line break
    assert all(len(line) <= 15 + 105 + 4 for line in lines if not line.startswith(" "))
    assert main(["list", "methods"]) == 0           # a module's second entry: its class's own docstring
    lines = capsys.readouterr().out.splitlines()
    gmp, granet = (next(line for line in lines if line.startswith(n + " ")) for n in ("gmp", "granet"))
    assert "without regrowth" in gmp and "neuroregeneration" in granet


def test_list_recipes_names_each_shipped_recipe_with_its_description(capsys):
    from neuroplastic.run.grid import shipped_recipes

    assert main(["list", "recipes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split()[0] for line in lines[:-1]]
    assert names == list(shipped_recipes()) and "granet_mnist" in names and "metaplastic_pmnist" in names
    assert all(len(line.split()) > 3 for line in lines[:-1])      # a description follows every name
    assert "neuroplastic run NAME" in lines[-1]


def test_closed_pipe_is_not_a_traceback():
    """`neuroplastic list methods | head -1`: the reader leaves early; no BrokenPipeError trace."""
    code = "import sys; from neuroplastic.cli import main; sys.exit(main(['list', 'methods']))"
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()                              # the reader is gone before the first line
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 141 and "Traceback" not in err, err
