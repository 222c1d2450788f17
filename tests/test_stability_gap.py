"""The stability-gap paper's ER (De Lange et al. 2023): the class-balanced memory filled at the end
of each experience and the weighted new/replay losses."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from neuroplastic import methods, models, streams
from neuroplastic.methods._buffer import ClassBalanced


def test_class_balanced_memory_splits_its_size_over_the_classes_seen():
    mem = ClassBalanced(10, torch.Generator().manual_seed(0))
    mem.add_experience(torch.tensor([0] * 8 + [1] * 8), torch.arange(16.0))
    assert {c: len(v[0]) for c, v in mem.classes_.items()} == {0: 5, 1: 5}
    mem.add_experience(torch.tensor([2] * 5 + [3] * 5 + [4] * 2), torch.arange(100.0, 112.0))
    assert {c: len(v[0]) for c, v in mem.classes_.items()} == {0: 2, 1: 2, 2: 2, 3: 2, 4: 2}
    for c, (y, x) in mem.classes_.items():                 # items stay with their labels
        assert (y == c).all() and ((x < 16) == (c < 2)).all()
    y, x = mem.sample(6)
    assert len(y) == 6 and len(set(x.tolist())) == 6


def test_er_weighs_new_and_replayed_losses_apart():
    """new_weight = w: w CE(new) + (1 - w) CE(replay) (ContinualEvaluation's Lw_new)."""
    torch.manual_seed(0)
    stream = streams.make("split", dataset="digits", n_tasks=5, n_train=40, n_test=10, seed=0)
    model = models.make("mlp", in_shape=(1, 8, 8), n_classes=10, widths=(16,))
    er = methods.make("er", storage="class_balanced", new_weight=0.3, buffer_size=20, replay_batch_size=8)
    er.setup(model, torch.optim.SGD(model.parameters(), lr=0.0))
    er.begin(stream[0])
    x, y = streams.as_float(stream[0].train[0][:8]), stream[0].train[1][:8]
    first = er.observe(x, y)
    torch.testing.assert_close(first, 0.3 * F.cross_entropy(model(x), y))      # empty memory: new data only
    er.end(stream[0])
    assert len(er.buffer_) == 20
    er.begin(stream[1])
    g = er.buffer_.generator.get_state()
    x1, y1 = streams.as_float(stream[1].train[0][:8]), stream[1].train[1][:8]
    loss = er.observe(x1, y1)
    er.buffer_.generator.set_state(g)
    my, mx, _ = er.buffer_.sample(8)
    want = 0.3 * F.cross_entropy(model(x1), y1) + 0.7 * F.cross_entropy(model(mx), my)
    torch.testing.assert_close(loss, want)


def _er_split_mnist(train: dict):
    """ER (memory 2,000, Lw_new 0.3) on class-incremental Split-MNIST, classes in order, the paper's
    MLP and SGD, 3 epochs per task instead of 10 and 500 test images per task."""
    from neuroplastic.run.cell import Cell, run_cell
    base = {"epochs": 3, "batch_size": 256, "optimizer": "sgd", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0,
            "eval_subset": 500}
    cell = Cell("split", {"dataset": "mnist", "n_tasks": 5, "shuffle_classes": False, "n_test": 500},
                "er", {"buffer_size": 2000, "replay_batch_size": 256, "storage": "class_balanced", "new_weight": 0.3},
                "mlp", {"widths": [400, 400]}, {**base, **train}, 0, "cpu")
    return run_cell(cell)


def test_claim_stability_gap_er_split_mnist():
    """De Lange et al. (2023): evaluated step by step, ER's accuracy on an earlier task collapses in the
    first steps of a new task and recovers before the task ends; evaluated only at task ends (the
    accuracy matrix R, which is what a run with eval_every = 0 records: evaluation does not change
    training) the collapse is invisible."""
    import numpy as np

    r = _er_split_mnist({"eval_every": 10, "eval_dense": 30})
    acc, starts, ends = np.asarray(r.curves["acc"]), r.curves["starts"], r.curves["boundaries"]
    R = np.asarray(r.R)
    drops, recovered = [], []
    for k in range(1, len(starts)):
        j = k - 1                                     # the task learned just before k
        window = acc[starts[k]:starts[k] + 31, j]     # the first 30 steps of task k, step by step
        drops.append(acc[starts[k], j] - window.min())
        recovered.append(acc[ends[k], j] - window.min())
    assert r.costs["eval_share"] < 0.5
    # the gap: >20 points below the value at the switch, and >20 points regained by the task's end
    assert max(drops) > 0.20 and max(recovered) > 0.20, (drops, recovered)
    # what task-end evaluation sees of the same run: every earlier task's worst value in R
    hidden = min(R[j:, j].min() for j in range(len(R) - 1))
    assert 100 * acc[ends[0]:, :-1][~np.isnan(acc[ends[0]:, :-1])].min() < 100 * hidden - 20



def test_dense_evaluation_at_each_start_and_the_zoomed_figure():
    """eval_dense = N evaluates after each of the first N steps of every experience (on top of
    eval_every); the report's zoomed figure appears only for such cells."""
    import numpy as np
    from neuroplastic.report import plots
    from neuroplastic.run.cell import Cell, run_cell

    train = {"epochs": 2, "batch_size": 10, "optimizer": "sgd", "lr": 0.05, "momentum": 0.0, "weight_decay": 0.0,
             "eval_every": 20, "eval_subset": 20}
    cell = Cell("split", {"dataset": "digits", "n_tasks": 5, "n_train": 60, "n_test": 20}, "finetune", {},
                "mlp", {"widths": [16]}, {**train, "eval_dense": 6}, 0, "cpu")
    r = run_cell(cell)
    steps, starts = np.asarray(r.curves["steps"]), r.curves["starts"]
    for s in starts:
        assert list(steps[s:s + 7] - steps[s]) == list(range(7))     # the start, then 6 single steps
    assert 0 < r.costs["eval_share"] < 1 and r.costs["eval_s"] > 0
    assert plots.gap_zoom({"finetune": [r]}) is not None
    sparse = run_cell(Cell("split", {"dataset": "digits", "n_tasks": 5, "n_train": 60, "n_test": 20}, "finetune",
                           {}, "mlp", {"widths": [16]}, train, 0, "cpu"))
    assert 0 < len(steps) - len(sparse.curves["steps"]) <= 5 * 6
    assert sparse.R == r.R                    # evaluating more often does not change training
    assert plots.gap_zoom({"finetune": [sparse]}) is None
