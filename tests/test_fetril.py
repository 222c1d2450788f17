"""FeTrIL: the feature translation, the per-class SVMs, the frozen extractor, and the claim that
pseudo-features beat the frozen extractor's nearest-class-mean classifier without exemplars."""
import numpy as np
import pytest
import torch

from neuroplastic import methods, models, streams
from neuroplastic.methods.fetril import fit_linear_svms, pseudo_features
from neuroplastic.run import build_cells, load_grid, result_metrics, run_cell


def test_pseudo_features_translate_the_nearest_new_class_to_each_past_centroid():
    feats = torch.tensor([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 10.0]])
    labels = torch.tensor([5, 5, 7, 7])               # new classes 5 (mean (1, 0)) and 7 (mean (11, 10))
    centroids = {1: torch.tensor([1.0, 3.0]), 2: torch.tensor([20.0, 20.0])}
    x, y = pseudo_features(feats, labels, [5, 7], centroids)
    assert y.tolist() == [1, 1, 2, 2]
    assert torch.allclose(x[:2], feats[:2] - torch.tensor([1.0, 0.0]) + centroids[1])   # nearest: 5
    assert torch.allclose(x[2:], feats[2:] - torch.tensor([11.0, 10.0]) + centroids[2])  # nearest: 7
    assert torch.allclose(x[y == 1].mean(0), centroids[1])           # each pseudo-class sits on its centroid
    empty_x, empty_y = pseudo_features(feats, labels, [5, 7], {})
    assert empty_x.shape == (0, 2) and empty_y.shape == (0,)


def test_per_class_svms_separate_the_classes():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0]])
    y = torch.arange(3).repeat_interleave(40)
    x = centres[y] + 0.3 * torch.randn(120, 2, generator=g)
    w, b = fit_linear_svms(x, y, [0, 1, 2], C=1.0, tol=1e-4)
    assert w.shape == (3, 2) and b.shape == (3,)
    assert float(((x @ w.T + b).argmax(1) == y).float().mean()) == 1.0
    w1, b1 = fit_linear_svms(x[:40], y[:40], [0], C=1.0, tol=1e-4)     # one class: a constant score
    assert not w1.any() and b1.tolist() == [1.0]


def test_extractor_freezes_after_the_first_experience_and_later_ones_take_no_step():
    stream = streams.make("split", dataset="digits", n_tasks=2, base=6, scenario="class", seed=0)
    torch.manual_seed(0)
    model = models.make("mlp", in_shape=(1, 8, 8), n_classes=10, widths=(32,))
    method = methods.make("fetril").setup(model, torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    g = torch.Generator().manual_seed(0)
    steps = []
    for exp in stream:
        method.begin(exp)
        n = 0
        for x, y in method.batches(exp, batch_size=32, epochs=2, generator=g):
            method.observe(x, y)
            n += 1
        steps.append(n)
        before = [p.clone() for p in model.parameters()]
        method.end(exp)
        assert all(torch.equal(a, p) for a, p in zip(before, model.parameters()))
    assert steps[0] > 0 and steps[1:] == [0, 0]
    assert not any(p.requires_grad for p in model.parameters())
    assert method.classes_ == list(range(10)) and sorted(method.centroids_) == list(range(10))
    out = method.predict(streams.as_float(stream[0].test[0]))
    assert out.shape == (len(stream[0].test[0]), 10)
    assert float((out.argmax(1) == stream[0].test[1]).float().mean()) > 0.5


def test_fetril_needs_the_class_incremental_scenario_and_a_feature_model():
    assert methods.METHODS["fetril"].scenarios == ("class",)
    with pytest.raises(ValueError, match="C=0"):
        methods.make("fetril", C=0)
    with pytest.raises(ValueError, match="features"):
        methods.make("fetril").setup(torch.nn.Linear(4, 2), None)


def test_claim_pseudo_features_beat_the_frozen_extractor_ncm_without_exemplars():
    """FeTrIL's claim at MNIST scale (SYSTEMS.md 2.12's offline protocol): B = 5 base classes, then 5
    one-class states, no exemplars. Fine-tuning can only predict the newest class (16.7% = 1/6 of the
    experiences); FeTrIL's SVMs on translated features beat the same frozen extractor's nearest-class
    mean (measured with this grid: 79.2 vs 64.8 % final ACC, 2 seeds)."""
    grid = {"seeds": 2, "train": {"epochs": 2, "eval_every": 0, "lr": 0.05, "momentum": 0.9},
            "model": {"name": "mlp", "widths": [400, 400]},
            "streams": {"s": {"stream": "split", "dataset": "mnist", "n_tasks": 5, "base": 5,
                              "n_train": 1000, "n_test": 500}},
            "methods": {"finetune": {}, "ncm": {}, "fetril": {}}}
    acc = {}
    for cell in build_cells(load_grid(grid)):
        acc.setdefault(cell.method, []).append(result_metrics(run_cell(cell))["acc"])
    ft, ncm, fetril = (float(np.mean(acc[m])) for m in ("finetune", "ncm", "fetril"))
    assert ft < 20
    assert fetril >= ncm + 8 and fetril >= 70, (fetril, ncm)
