"""The HTML report: built from a small stored run, checked statically and in headless Chromium."""
import base64
import io
import re
import shutil
import subprocess

import numpy as np
import pytest

import neuroplastic
from neuroplastic.report import build_report
from neuroplastic.run import Store

GRID = {
    "seeds": 2,
    "train": {"batch_size": 32, "eval_every": 3, "eval_subset": 30},
    "model": {"name": "mlp", "widths": [32]},
    "streams": {"split": {"dataset": "digits", "n_tasks": 5},
                "permuted": {"dataset": "digits", "n_tasks": 3}},
    "methods": {"finetune": {}, "er": {"buffer_size": 100}, "ewc": {}},
}
SECTIONS = ("stream-permuted", "stream-split", "provenance", "definitions")
HEADINGS = ("Summary", "Accuracy matrices", "Continual evaluation curves", "Forgetting per experience",
            "Plasticity over experiences", "Cost")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    neuroplastic.run(GRID, out=tmp / "r.db", command="neuroplastic run test-grid")
    with Store(tmp / "r.db") as store:
        results = store.results()
    path = build_report(results, tmp / "report.html", figures_dir=tmp / "figs")
    return path, tmp


def test_report_is_self_contained_and_complete(report):
    path, tmp = report
    page = path.read_text()
    for section in SECTIONS:
        assert f'id="{section}"' in page
    for heading in HEADINGS:
        assert page.count(f"<h3>{heading}</h3>") == 2          # once per stream
    assert "http://" not in page and "https://" not in page     # nothing fetched from the network
    assert "paired t-test" in page and "neuroplastic run test-grid" in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2 * len(HEADINGS[1:])
    import matplotlib.image as mpimg

    for data in images:                                        # every inline image decodes
        img = mpimg.imread(io.BytesIO(base64.b64decode(data)), format="png")
        assert img.shape[0] > 50 and img.shape[1] > 50 and img.std() > 0.01


def test_figures_dir_has_png_and_pdf(report):
    _, tmp = report
    figs = sorted(p.name for p in (tmp / "figs").iterdir())
    assert "split_matrices.png" in figs and "split_matrices.pdf" in figs
    assert len([f for f in figs if f.endswith(".pdf")]) == len([f for f in figs if f.endswith(".png")]) == 10


def test_best_value_marked_and_table_has_every_method(report):
    page = report[0].read_text()
    split = page[page.index('id="stream-split"'):page.index('id="stream-permuted"')] \
        if page.index('id="stream-split"') < page.index('id="stream-permuted"') else \
        page[page.index('id="stream-split"'):]
    table = split[split.index("<table>"):split.index("</table>")]
    for method in ("finetune", "er", "ewc"):
        assert f"<td>{method}</td>" in table
    assert table.count('class="best"') >= 8                    # one per column at least


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"]


def test_report_in_headless_chromium(report):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Chromium is not installed: `make setup` installs it as root (apt-get install chromium); "
                    "tests never install software")
    path, tmp = report
    url = path.resolve().as_uri()
    dom = subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp / 'profile1'}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console                                # no console messages, errors included
    assert 'data-broken-images="0"' in dom.stdout               # every image loaded in the browser
    n = int(re.search(r'data-images="(\d+)"', dom.stdout).group(1))
    assert n == 10
    for section in SECTIONS:
        assert f'id="{section}"' in dom.stdout
    shot = tmp / "shot.png"
    r = subprocess.run([chromium, *FLAGS, f"--user-data-dir={tmp / 'profile2'}", "--window-size=1280,2400",
                        f"--screenshot={shot}", url], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    import matplotlib.image as mpimg

    img = mpimg.imread(shot)
    assert img.shape[0] >= 2000 and img[..., :3].std() > 0.05   # not a blank page
    assert (np.abs(img[..., :3] - 1.0) > 0.1).mean() > 0.05       # a real share of non-white pixels
