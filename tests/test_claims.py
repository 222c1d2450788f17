"""Each baseline's headline claim at small scale, fixed seeds, same stream for every method.

Split-MNIST class-incremental: rehearsal (ER, DER++) beats fine-tuning by >= 20 points of ACC
(Buzzega et al. 2020; Chaudhry et al. 2019). Permuted-MNIST: EWC and SI forget less than
fine-tuning (Kirkpatrick et al. 2017; Zenke et al. 2017).
"""
import numpy as np
import pytest

from neuroplastic.run import build_cells, load_grid, result_metrics, run_cell


def _metrics(grid):
    out = {}
    for cell in build_cells(load_grid(grid)):
        out.setdefault(cell.method, []).append(result_metrics(run_cell(cell)))
    return out


SPLIT = {
    "seeds": [0, 1],
    "train": {"eval_every": 0},
    "streams": {"split": {"dataset": "mnist", "n_tasks": 5, "scenario": "class", "n_test": 1000}},
    "methods": {"finetune": {}, "er": {}, "derpp": {}},
}
PERMUTED = {
    "seeds": [0, 1, 2],
    "train": {"epochs": 4, "eval_every": 0},
    "streams": {"permuted": {"dataset": "mnist", "n_tasks": 5, "n_train": 2000, "n_test": 500}},
    "methods": {"finetune": {}, "ewc": {}, "si": {}},
}


def _mean(results, metric):
    return float(np.mean([r[metric] for r in results]))


def test_rehearsal_beats_finetune_on_split_mnist_class_incremental():
    m = _metrics(SPLIT)
    ft = _mean(m["finetune"], "acc")
    assert ft < 25                                   # fine-tuning only knows the last two classes
    for method in ("er", "derpp"):
        assert _mean(m[method], "acc") >= ft + 20, (method, _mean(m[method], "acc"), ft)


def test_regularisation_forgets_less_on_permuted_mnist():
    m = _metrics(PERMUTED)
    ft = _mean(m["finetune"], "forgetting")
    assert ft > 5                                    # there is forgetting to reduce
    for method in ("ewc", "si"):
        assert _mean(m[method], "forgetting") < ft, (method, _mean(m[method], "forgetting"), ft)


@pytest.mark.slow
def test_claims_on_the_default_protocol():
    """The full default comparison's streams (all data, 1 epoch, 3 seeds)."""
    split = _metrics({**SPLIT, "seeds": 3, "streams": {"split": {"n_tasks": 5}}})
    ft = _mean(split["finetune"], "acc")
    assert _mean(split["er"], "acc") >= ft + 20 and _mean(split["derpp"], "acc") >= ft + 20
    perm = _metrics({"seeds": 3, "streams": {"permuted": {"n_tasks": 5}},
                     "methods": {"finetune": {}, "ewc": {}, "si": {}}})
    ft = _mean(perm["finetune"], "forgetting")
    assert _mean(perm["ewc"], "forgetting") < ft and _mean(perm["si"], "forgetting") < ft
