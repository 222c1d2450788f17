"""FPF and k-FPF (Zhao et al., ICML 2023): module drift, fine-tuning only the chosen modules, and
the claim at small scale: forgetting-prioritised fine-tuning on a small buffer recovers what plain
SGD (k-FPF) or replay (ER + FPF) forgets in class-incremental learning, and s = 0 switches it off."""
from __future__ import annotations

import numpy as np
import torch

from neuroplastic import models
from neuroplastic.methods import _fpf
from neuroplastic.metrics import continual
from neuroplastic.run.cell import Cell, run_cell


def _cnn():
    torch.manual_seed(0)
    return models.make("cnn", in_shape=(1, 8, 8), n_classes=10, channels=(4, 8), hidden=16, norm="bn")


def test_drift_counts_parameters_and_batchnorm_statistics():
    model = _cnn()
    before = _fpf.snapshot(model)
    assert list(before) == ["conv.0", "conv.1", "conv.4", "conv.5", "body.1", "head.fc"]
    model.train()
    model(torch.randn(16, 1, 8, 8) * 3 + 1)            # a forward in training mode moves BN statistics only
    drift = _fpf.relative_drift(before, _fpf.snapshot(model))
    assert drift["conv.1"] > 0 and drift["conv.5"] > 0
    assert drift["conv.0"] == drift["conv.4"] == drift["body.1"] == drift["head.fc"] == 0
    assert _fpf.most_sensitive({"a": [0.1, 0.3], "b": [0.5], "c": [0.0]}, 2) == ["b", "a"]


def test_fine_tuning_moves_only_the_chosen_modules():
    model = _cnn()
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 1, 8, 8), torch.randint(0, 10, (40,))
    data = [x, y, torch.zeros(40, 1), torch.full((40,), -1)]
    before = _fpf.snapshot(model)
    n = _fpf.finetune_on_buffer(model, ["conv.5", "head.fc"], data, epochs=2, lr=0.1, batch_size=16, alpha=0.0,
                                task=None, generator=g)
    drift = _fpf.relative_drift(before, _fpf.snapshot(model))
    assert n == 80
    assert drift["conv.5"] > 0 and drift["head.fc"] > 0
    assert drift["conv.0"] == drift["conv.1"] == drift["conv.4"] == drift["body.1"] == 0
    assert all(p.requires_grad for p in model.parameters())       # nothing left frozen


def _acc(method, kwargs, seed):
    train = {"epochs": 2, "batch_size": 16, "optimizer": "sgd", "lr": 0.05, "momentum": 0.0, "weight_decay": 0.0,
             "eval_every": 0, "eval_subset": 50}
    r = run_cell(Cell("split", {"dataset": "digits", "n_tasks": 5}, method, kwargs, "cnn",
                      {"channels": [8, 16], "hidden": 32, "norm": "bn"}, train, seed, "cpu"))
    return 100 * continual.average_accuracy(np.asarray(r.R)), r.costs


def test_claim_kfpf_recovers_what_plain_sgd_forgets():
    """Class-incremental Split-digits, 2 seeds: k-FPF (plain SGD plus 4 FPF calls per experience on a
    100-sample buffer, the 3 most drifting modules) is far above plain SGD, which is what k-FPF with
    s = 0 is; its recorded compute exceeds plain SGD's by the FPF calls only. (FPF after ER against
    ER alone is measured by the fpf_split_mnist recipe; on this small stream ER alone already keeps
    87% and FPF did not add to it on every seed, so it is not asserted here.)"""
    fpf = {"buffer_size": 100, "fpf_epochs": 5, "fpf_batch_size": 16, "fpf_lr": 0.05, "k": 4}
    for seed in (0, 1):
        kfpf, kc = _acc("kfpf_sgd", {**fpf, "s": 3}, seed)
        off, oc = _acc("kfpf_sgd", {**fpf, "s": 0}, seed)
        assert kfpf > off + 30, (seed, kfpf, off)
        assert oc["grad_samples"] == oc["train_samples"]            # plain SGD: each stream sample once per epoch
        assert kc["grad_samples"] > kc["train_samples"] == oc["train_samples"]
        assert kc["train_gflops"] > oc["train_gflops"] > 0


def test_module_drift_figure_from_a_kfpf_cell():
    from neuroplastic.report import plots

    train = {"epochs": 1, "batch_size": 16, "optimizer": "sgd", "lr": 0.05, "momentum": 0.0, "weight_decay": 0.0,
             "eval_every": 0, "eval_subset": 20}
    r = run_cell(Cell("split", {"dataset": "digits", "n_tasks": 5, "n_train": 40, "n_test": 10}, "kfpf_kd",
                      {"k": 2, "s": 2, "buffer_size": 30, "fpf_epochs": 1}, "cnn",
                      {"channels": [4, 8], "hidden": 16, "norm": "bn"}, train, 0, "cpu"))
    tr = r.curves["method_trace"]
    assert len(tr["drift"]) == 10 and all(len(t) == 2 for t in tr["tuned"])
    assert tr["experience"] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert plots.module_drift({"kfpf_kd": [r]}) is not None
    assert plots.module_drift({"kfpf_kd": [run_cell(Cell("split", {"dataset": "digits", "n_tasks": 5, "n_train": 40,
                                                              "n_test": 10}, "finetune", {}, "mlp", {"widths": [8]},
                                                         train, 0, "cpu"))]}) is None
