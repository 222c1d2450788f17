"""HLOP and its projection baselines (GPM, OWM): projection algebra, subspace learning, claims."""
import numpy as np
import pytest
import torch

from neuroplastic.methods._projection import project_out_
from neuroplastic.methods.gpm import gpm_extend
from neuroplastic.methods.hlop import hlop_update_
from neuroplastic.methods.owm import owm_update_
from neuroplastic.run import Cell, run_cell


def _synthetic_subspace_data(n=4000, d=30, k=4, seed=0):
    """Synthetic (clearly not a dataset): Gaussian data with a known top-k principal subspace."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    scales = torch.cat([torch.tensor([3.0, 2.5, 2.0, 1.6]), torch.full((d - k,), 0.3)]).double()
    x = torch.randn(n, d, generator=g, dtype=torch.float64) * scales @ q.T
    return x, q[:, :k]


def test_projection_removes_the_stored_subspace_component_exactly():
    g = torch.Generator().manual_seed(0)
    basis, _ = torch.linalg.qr(torch.randn(20, 5, generator=g, dtype=torch.float64))
    grad = torch.randn(7, 20, generator=g, dtype=torch.float64)
    project_out_(grad, basis.T)
    assert (grad @ basis).abs().max() < 1e-12
    x_old = torch.randn(5, generator=g, dtype=torch.float64) @ basis.T      # an input inside the subspace
    assert (grad @ x_old).abs().max() < 1e-12                               # its response does not move


def test_hlop_rule_learns_an_orthonormal_basis_of_the_principal_subspace():
    x, top = _synthetic_subspace_data()
    g = torch.Generator().manual_seed(1)
    h = torch.nn.init.orthogonal_(torch.empty(4, 30, dtype=torch.float64), generator=g)
    mom = torch.zeros_like(h)
    for lr in (0.01, 0.01, 0.003, 0.001):                                  # a decaying rate removes the noise floor
        for i in range(0, len(x), 50):
            hlop_update_(h, mom, x[i:i + 50], 0, lr=lr)
    assert (h @ h.T - torch.eye(4, dtype=torch.float64)).abs().max() < 0.02
    assert (h.T @ h - top @ top.T).norm() < 0.05                            # same projector
    # new rows with old rows frozen learn the next directions, orthogonal to the old ones
    h2 = torch.cat([h[:2], torch.nn.init.orthogonal_(torch.empty(2, 30, dtype=torch.float64), generator=g)])
    mom2 = torch.zeros_like(h2)
    frozen = h2[:2].clone()
    for i in range(0, len(x), 50):
        hlop_update_(h2, mom2, x[i:i + 50], 2, lr=0.01)
    assert torch.equal(h2[:2], frozen)
    assert (h2.T @ h2 - top @ top.T).norm() < 0.1


def test_hlop_projection_of_an_exactly_learned_subspace_keeps_old_responses():
    x, top = _synthetic_subspace_data()
    basis = top.T                                                            # an exactly learned H
    w = torch.randn(6, 30, dtype=torch.float64)
    grad = torch.randn(6, 30, dtype=torch.float64)
    project_out_(grad, basis)
    x_in = (x @ top) @ top.T                                                 # old inputs, in the subspace
    assert ((w - 0.1 * grad) @ x_in.T - w @ x_in.T).abs().max() < 1e-10


def test_gpm_keeps_the_energy_threshold_and_an_orthonormal_basis():
    x, _ = _synthetic_subspace_data(n=300)
    b = gpm_extend(None, x.float(), 0.9)
    r = x.float()
    kept = ((r @ b.T) ** 2).sum() / (r ** 2).sum()
    assert kept >= 0.9 and (b @ b.T - torch.eye(len(b))).abs().max() < 1e-5
    b2 = gpm_extend(b, r * torch.linspace(0.5, 2, 30), 0.97)                 # new activity: the basis grows
    assert len(b2) > len(b) and torch.equal(b2[:len(b)], b)
    assert (b2 @ b2.T - torch.eye(len(b2))).abs().max() < 1e-5


def test_owm_projector_annihilates_seen_inputs():
    g = torch.Generator().manual_seed(0)
    p = torch.eye(10, dtype=torch.float64)
    xs = torch.randn(3, 10, generator=g, dtype=torch.float64)
    for x in xs:
        owm_update_(p, x, 1e-6)
    assert (p @ xs.T).abs().max() < 1e-4
    u = torch.randn(10, generator=g, dtype=torch.float64)
    u -= xs.T @ torch.linalg.lstsq(xs.T, u).solution                         # orthogonal to all of them
    assert torch.allclose(p @ u, u, atol=1e-6)


def test_projection_methods_refuse_weight_decay_and_adam():
    from neuroplastic import methods, models
    model = models.make("mlp", in_shape=(4,), n_classes=2, widths=(3,))
    with pytest.raises(ValueError, match="weight_decay"):
        methods.make("hlop").setup(model, torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-4))
    with pytest.raises(ValueError, match="sgd"):
        methods.make("gpm").setup(model, torch.optim.Adam(model.parameters()))
    with pytest.raises(ValueError, match="protected layers"):
        methods.make("hlop", subspace=[5, 5, 5]).setup(model, torch.optim.SGD(model.parameters(), lr=0.1))


def test_projection_methods_warn_once_on_a_class_incremental_stream(caplog):
    """On split digits (class-incremental, single head) the new classes cannot be learned once the
    first task's features span the head's input: a warning says so, once; permuted digits
    (domain-incremental: the same classes) gives none."""
    import logging

    train = {"epochs": 1, "batch_size": 32, "optimizer": "sgd", "lr": 0.05, "momentum": 0.0,
             "weight_decay": 0.0, "eval_every": 0, "eval_subset": 1}
    for stream, expected in (("split", 1), ("permuted", 0)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="neuroplastic.methods._projection"):
            R = run_cell(Cell(stream, {"dataset": "digits", "n_tasks": 2}, "hlop", {}, "mlp", {}, train, 0, "cpu")).R
        warned = [r for r in caplog.records if "class-incremental" in r.getMessage()]
        assert len(warned) == expected, (stream, [r.getMessage() for r in caplog.records])
        if stream == "split":
            assert "scenario = \"task\"" in warned[0].getMessage()
            assert R[-1][-1] < 0.2                 # the last task's classes: (almost) nothing learned


def _acc_bwt(method, model="mlp", model_kw=None, n_tasks=5, lr=0.05, kw=None, n_train=6000):
    c = Cell("permuted", {"dataset": "mnist", "n_tasks": n_tasks, "n_train": n_train, "n_test": 1000},
             method, kw or {}, model, model_kw or {"widths": [256, 256]},
             {"epochs": 1, "batch_size": 64, "optimizer": "sgd", "lr": lr, "momentum": 0.9,
              "weight_decay": 0.0, "eval_every": 0, "eval_subset": 1}, 0, "cpu")
    R = np.array(run_cell(c).R)
    return 100 * R[-1].mean(), 100 * np.mean([R[-1][i] - R[i][i] for i in range(len(R) - 1)])


def test_hlop_claim_on_permuted_mnist_small():
    """Permuted-MNIST, 5 tasks x 10,000 images, MLP 784-256-256-10, single head, one epoch: HLOP's
    BWT above -3 points, fine-tuning's below -15, HLOP's ACC within 5 points of joint training."""
    acc_h, bwt_h = _acc_bwt("hlop", n_train=10000)
    acc_f, bwt_f = _acc_bwt("finetune", n_train=10000)
    acc_j, _ = _acc_bwt("joint", n_train=10000)
    assert bwt_h > -3 and bwt_f < -15, (bwt_h, bwt_f)
    assert acc_h > acc_j - 5, (acc_h, acc_j)


def test_gpm_and_owm_forget_less_than_finetune():
    _, bwt_f = _acc_bwt("finetune", n_tasks=3)
    _, bwt_g = _acc_bwt("gpm", n_tasks=3)
    _, bwt_o = _acc_bwt("owm", n_tasks=3)
    assert bwt_g > bwt_f + 10 and bwt_o > bwt_f + 10, (bwt_f, bwt_g, bwt_o)


def test_spiking_hlop_forgets_less_than_spiking_finetune():
    snn = {"widths": [256], "T": 4}
    _, bwt_h = _acc_bwt("hlop", "snn_mlp", snn, n_tasks=4, lr=0.1)
    _, bwt_f = _acc_bwt("finetune", "snn_mlp", snn, n_tasks=4, lr=0.1)
    assert bwt_h > -3 and bwt_f < bwt_h - 8, (bwt_h, bwt_f)


@pytest.mark.slow
def test_hlop_recipe_claims_one_seed():
    """The shipped recipe's cells (seed 0): Permuted-MNIST 10 tasks x 60,000 images on
    784-800-800-10, and the spiking 784-800-10 variant."""
    from neuroplastic.run.grid import build_cells, load_grid

    cells = {(c.stream_label, c.method): c for c in build_cells(load_grid("recipes/hlop_pmnist.toml", seeds=1))
             if c.method in ("hlop", "finetune", "joint")}
    res = {}
    for key, cell in cells.items():
        R = np.array(run_cell(cell).R)
        res[key] = (100 * R[-1].mean(), 100 * np.mean([R[-1][i] - R[i][i] for i in range(len(R) - 1)]))
    ann = {m: v for (s, m), v in res.items() if s == "pmnist"}
    snn = {m: v for (s, m), v in res.items() if s == "pmnist_snn"}
    assert ann["hlop"][1] > -3 and ann["finetune"][1] < -15, res
    assert ann["hlop"][0] > ann["joint"][0] - 5, res
    assert snn["hlop"][1] > -3 and snn["finetune"][1] < snn["hlop"][1] - 8, res


def test_conv_layers_are_protected_through_their_input_patches():
    """On a CNN, each convolution's input is its unfolded patches (C k k); a basis learned from
    them makes the projected update leave the responses to those patches unchanged."""
    from neuroplastic import methods, models

    torch.manual_seed(0)
    model = models.make("cnn", in_shape=(1, 12, 12), n_classes=3, channels=(4, 6), hidden=8)
    hlop = methods.make("hlop", subspace=[9, 36, 20, 4]).setup(model, torch.optim.SGD(model.parameters(), lr=0.1))
    x = torch.rand(16, 1, 12, 12)
    inputs = layer_inputs_of(model, x)
    assert [tuple(r.shape[1:]) for r in inputs] == [(9,), (36,), (6 * 3 * 3,), (8,)]
    conv = hlop.layers_[0]
    basis = torch.linalg.svd(inputs[0], full_matrices=False)[2][:4]          # top-4 patch directions
    old_patches = inputs[0] @ basis.T @ basis                                  # patches inside that subspace
    grad = torch.randn_like(conv.weight)
    project_out_(grad, basis)
    assert (grad.view(4, -1) @ old_patches.T).abs().max() < 1e-4
    assert grad.abs().sum() > 0


def layer_inputs_of(model, x):
    from neuroplastic.methods._projection import layer_inputs
    return layer_inputs(model, x)


def test_hlop_optional_replay_keeps_a_per_class_memory_and_runs():
    """The memory holds, per task, the first ``replay`` training samples of each class, unchanged;
    the replay phase after a task changes the weights (with replay off, nothing is kept)."""
    from neuroplastic import methods, models, streams
    from neuroplastic.testing import check_method, train_stream

    check_method("hlop", {"replay": 2})
    stream = streams.make("permuted", dataset="digits", n_tasks=3, seed=0)
    for replay in (0, 5):
        torch.manual_seed(0)
        model = models.make("mlp", in_shape=(1, 8, 8), n_classes=10, widths=(32,))
        m = methods.make("hlop", replay=replay).setup(model, torch.optim.SGD(model.parameters(), lr=0.05))
        before = []
        orig_replay = m._replay
        m._replay = lambda: (before.append({n: p.clone() for n, p in model.named_parameters()}), orig_replay())
        train_stream(m, stream, batch_size=32)
        if replay == 0:
            assert m.memory_ == [] and before == []
            continue
        assert len(m.memory_) == 3 and len(before) == 2           # replay after tasks 2 and 3
        for exp, (mx, my) in zip(stream, m.memory_):
            x, y = exp.train
            assert sorted(my.tolist()) == sorted([c for c in range(10) for _ in range(5)])
            for c in range(10):
                first = x[(y == c).nonzero().squeeze(1)[:5]]
                assert torch.equal(first, mx[my == c])
        assert any(not torch.equal(before[-1][n], p) for n, p in model.named_parameters())
