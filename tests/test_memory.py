"""Associative memories (issue 9): classical, dense and modern Hopfield, the multitasking network,
the CA3 spiking memory, the experiments and their storage."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from neuroplastic.memory import (CA3Memory, ClassicalHopfield, DenseAssociativeMemory, Hopfield, HopfieldLayer,
                                 HopfieldPooling, dense, experiments, hopfield, modern_hopfield, multitask)


def _random_patterns(k, n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (k, n), generator=g).float() * 2 - 1


def _overlap(out, p):
    return (torch.sign(out) * p).mean(1)


def test_classical_capacity_transition():
    """Below 0.1 N the stored patterns are (near-)exact fixed points; past 0.138 N recall collapses."""
    n, g = 500, torch.Generator().manual_seed(0)
    m = {}
    for k in (25, 50, 100):
        p = _random_patterns(k, n, seed=k)
        m[k] = _overlap(ClassicalHopfield().fit(p).recall(p, generator=g), p)
    assert torch.all(m[25] == 1)                  # 0.05 N: every pattern exactly
    assert m[50].mean() > 0.99                    # 0.1 N: a few bits per pattern at most
    assert m[100].mean() < 0.7                    # 0.2 N: past capacity


def test_async_dynamics_never_raise_energy():
    p = _random_patterns(60, 200)
    w = hopfield.hebbian_weights(p)
    g = torch.Generator().manual_seed(1)
    s = torch.randint(0, 2, (16, 200), generator=g).float() * 2 - 1
    e = hopfield.energy(w, s)
    for _ in range(4):
        s = hopfield.async_sweep(w, s, generator=g)
        e2 = hopfield.energy(w, s)
        assert torch.all(e2 <= e + 1e-5)
        e = e2


def test_pseudoinverse_stores_correlated_patterns_hebbian_cannot():
    base = _random_patterns(1, 300)
    g = torch.Generator().manual_seed(2)
    flips = torch.where(torch.rand(20, 300, generator=g) < 0.15, -1.0, 1.0)
    p = base * flips                                            # 20 patterns correlated through base
    hebb = _overlap(ClassicalHopfield().fit(p).recall(p, generator=g), p)
    pinv = _overlap(ClassicalHopfield(rule="pseudoinverse").fit(p).recall(p, generator=g), p)
    assert torch.all(pinv == 1) and hebb.mean() < 0.9


def test_dense_polynomial_stores_more_than_classical():
    n, k = 200, 60                                              # 0.3 N: far past the classical capacity
    p = _random_patterns(k, n, seed=3)
    g = torch.Generator().manual_seed(3)
    classical = _overlap(ClassicalHopfield().fit(p).recall(p, generator=g), p).mean()
    cubic = _overlap(DenseAssociativeMemory(n=3).fit(p).recall(p, generator=g), p).mean()
    assert classical < 0.7 and cubic == 1.0


@pytest.mark.parametrize("energy,kw", [("polynomial", {"n": 2}), ("polynomial", {"n": 4}), ("exponential", {"beta": 0.1})])
def test_dense_sync_equals_async_fixed_points_and_energy_falls(energy, kw):
    p = _random_patterns(30, 100, seed=4)
    g = torch.Generator().manual_seed(4)
    cue = experiments.corrupt(p[:8], noise=0.1, generator=g)
    out = dense.recall(p, cue, energy=energy, generator=g, **kw)
    assert torch.equal(dense.sync_step(p, out, energy=energy, **kw), out)    # a fixed point of both
    assert torch.all(dense.energy(p, out, energy=energy, **kw) <= dense.energy(p, cue, energy=energy, **kw) + 1e-6)


def test_dense_degree_two_matches_classical_update():
    """n = 2: the energy difference is 4 xi_i (a - ...) -> the Hebbian field with zero diagonal."""
    p = _random_patterns(20, 120, seed=5)
    s = _random_patterns(6, 120, seed=6)
    w = hopfield.hebbian_weights(p)
    assert torch.equal(dense.sync_step(p, s, energy="polynomial", n=2), hopfield.sync_step(w, s))


def test_modern_update_is_attention():
    g = torch.Generator().manual_seed(7)
    q, k, v = (torch.randn(2, 3, n, 16, generator=g, dtype=torch.float64) for n in (5, 40, 40))
    ref = F.scaled_dot_product_attention(q, k, v, scale=0.7)
    assert torch.allclose(modern_hopfield.hopfield_update(q, k, beta=0.7, values=v), ref, atol=1e-12)
    ref_kv = F.scaled_dot_product_attention(q, k, k, scale=0.7)
    assert torch.allclose(modern_hopfield.hopfield_update(q, k, beta=0.7), ref_kv, atol=1e-12)


def test_hopfield_layer_equals_multihead_attention_without_norm():
    torch.manual_seed(0)
    layer = Hopfield(32, heads=4, normalize=False).double()
    x = torch.randn(3, 7, 32, dtype=torch.float64)
    q, k, v = (lin(x).view(3, 7, 4, 8).transpose(1, 2) for lin in (layer.q, layer.k, layer.v))
    ref = layer.out(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(3, 7, 32))
    assert torch.allclose(layer(x), ref, atol=1e-12)


def test_modern_energy_falls_and_iteration_converges():
    g = torch.Generator().manual_seed(8)
    x = torch.randn(50, 20, generator=g, dtype=torch.float64)
    xi = torch.randn(4, 20, generator=g, dtype=torch.float64)
    e0 = modern_hopfield.energy(xi, x, beta=0.5)
    one = modern_hopfield.hopfield_retrieve(xi, x, beta=0.5, steps=1)
    assert torch.all(modern_hopfield.energy(one, x, beta=0.5) <= e0 + 1e-12)
    fixed = modern_hopfield.hopfield_retrieve(xi, x, beta=0.5, steps=None, eps=1e-10)
    assert torch.allclose(modern_hopfield.hopfield_update(fixed, x, beta=0.5), fixed, atol=1e-8)


def _mnist_patterns(k):
    return experiments.patterns("mnist", k, generator=torch.Generator().manual_seed(0))


def test_modern_retrieves_masked_mnist_in_one_update():
    """K = 5,000 stored MNIST images, half of each query's pixels masked: one update retrieves."""
    x = _mnist_patterns(5000)
    g = torch.Generator().manual_seed(1)
    pick = torch.randperm(5000, generator=g)[:300]
    cue = experiments.corrupt(x[pick], mask=0.5, generator=g)
    out = modern_hopfield.hopfield_update(cue, x, beta=0.5)
    recall, bits = experiments.score(out, x[pick])
    assert recall > 0.95 and bits > 0.98
    # small beta: the global-average fixed point, whatever the query
    avg = modern_hopfield.hopfield_update(cue, x, beta=1e-5)
    assert torch.allclose(avg, x.mean(0).expand_as(avg), atol=0.02)


def test_multitask_two_regimes():
    g = torch.Generator().manual_seed(0)
    mild = multitask.retrieve(multitask.diluted_patterns(3, 2000, dilution=0.1, generator=g), generator=g).mean(0)
    strong = multitask.retrieve(multitask.diluted_patterns(3, 2000, dilution=0.8, generator=g), generator=g).mean(0)
    assert mild[0] > 0.85 and mild[1] / mild[0] < 0.2 and mild[1] > mild[2]        # hierarchical
    assert torch.all(strong > 0.08) and strong[-1] / strong[0] > 0.5                 # parallel retrieval


def test_multitask_examples_and_temperature():
    g = torch.Generator().manual_seed(1)
    p = multitask.diluted_patterns(3, 1000, dilution=0.2, generator=g)
    ex = multitask.noisy_examples(p, 40, quality=0.5, generator=g)
    assert ex.shape == (3, 40, 1000)
    for sup in (True, False):
        j = multitask.couplings_from_examples(ex, quality=0.5, supervised=sup)
        assert multitask.retrieve(p, j=j, generator=g)[:, 0].mean() > 0.7
    assert multitask.retrieve(p, beta=0.2, sweeps=5, generator=g)[:, 0].mean() < 0.15    # hot: no retrieval


def test_ca3_one_shot_cue_fragment_and_overwrite():
    mem = CA3Memory(5, 10)
    contents = torch.tensor([[1, 1, 0, 0, 0, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0, 0, 0, 0, 0],
                             [0, 0, 0, 0, 1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]], dtype=torch.float32)
    for c in range(4):
        mem.learn(c, contents[c])                         # one presentation each
    assert torch.equal(mem.recall_cue([0, 1, 2, 3]), contents)
    assert mem.recall_cue([4]).sum() == 0                 # an unused address recalls nothing
    addr, full = mem.recall_content(torch.tensor([[0, 0, 0, 0, 0, 1, 0, 0, 0, 0.]]))
    assert addr.tolist() == [[0, 0, 1, 0, 0]] and torch.equal(full[0], contents[2])
    addr, _ = mem.recall_content(torch.tensor([[1, 0, 0, 0, 0, 0, 0, 0, 0, 0.]]))
    assert addr.tolist() == [[1, 0, 0, 1, 0]]             # every address sharing an active bit
    new = torch.tensor([0, 0, 0, 0, 0, 0, 0, 1, 1, 0.])
    mem.learn(0, new)                                      # overwrite address 0
    assert torch.equal(mem.recall_cue([0])[0], new)
    assert torch.equal(mem.recall_cue([1, 2, 3]), contents[1:])
    addr, _ = mem.recall_content(torch.tensor([[0, 1, 0, 0, 0, 0, 0, 0, 0, 0.]]))
    assert addr.sum() == 0                                 # the old content no longer points to 0


def test_ca3_batched_learning_equals_sequential():
    g = torch.Generator().manual_seed(3)
    contents = (torch.rand(6, 12, generator=g) < 0.3).float()
    a, b = CA3Memory(8, 12), CA3Memory(8, 12)
    for i in range(6):
        a.learn(i, contents[i])
    b.learn(torch.arange(6), contents)
    assert torch.equal(a.weight, b.weight)
    with pytest.raises(ValueError, match="distinct"):
        b.learn([1, 1], contents[:2])


def test_layers_shapes_and_gradients():
    torch.manual_seed(0)
    x = torch.randn(4, 9, 16)
    pool = HopfieldPooling(16, num_queries=2, output_size=8)
    assert pool(x).shape == (4, 16)
    layer = HopfieldLayer(16, num_patterns=10, output_size=3)
    out = layer(torch.randn(5, 16))
    out.sum().backward()
    assert out.shape == (5, 3) and layer.stored.grad is not None and layer.values.grad is not None
    it = Hopfield(16, update_steps_max=None)
    assert it(x).shape == (4, 9, 16)


def test_bad_inputs_fail_clearly():
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        hopfield.hebbian_weights(torch.rand(3, 10))
    with pytest.raises(ValueError, match="degree"):
        DenseAssociativeMemory(n=1)
    with pytest.raises(ValueError, match="unknown memory model"):
        experiments.recall_fn("nope")
    with pytest.raises(ValueError, match="unknown patterns"):
        experiments.patterns("cifar", 3)


def test_capacity_cli_stores_resumes_and_reports(tmp_path):
    from neuroplastic.cli import main
    from neuroplastic.run import Store

    db, html = tmp_path / "m.db", tmp_path / "m.html"
    args = ["memory", "capacity", "--patterns", "random", "--n", "100", "--loads", "5,10,40",
            "--queries", "10", "--model", "hopfield", "--model", "modern", "--out", str(db), "--report", str(html)]
    assert main(args) == 0
    assert main(["memory", "multitask", "--n", "200", "--out", str(db), "--no-report"]) == 0
    with Store(db) as s:
        rs = s.results()
        assert len(rs) == 5
    assert main(args) == 0                                   # rerun: nothing new
    with Store(db) as s:
        assert len(s) == 5
    by = {r.cell["method_label"]: r.memory for r in rs}
    assert by["modern"]["load"]["recall"][-1] == 1.0 and by["hopfield"]["load"]["recall"][-1] < 0.5
    assert "Capacity and robustness" in html.read_text()
    assert main(["report", str(db), "-o", str(html)]) == 0
    assert "multitasking Hebbian network" in html.read_text()


def test_hopfield_memory_claim_on_split_mnist():
    """The prototype memory forgets far less than finetune on the same class-incremental stream."""
    import numpy as np

    from neuroplastic.metrics import continual
    from neuroplastic.run.cell import Cell, run_cell
    from neuroplastic.run.grid import DEFAULT_TRAIN

    acc = {}
    for m in ("finetune", "hopfield_memory"):
        c = Cell(stream="split", stream_kwargs={"dataset": "mnist", "n_train": 1000, "n_test": 500}, method=m,
                 method_kwargs={}, model="mlp", model_kwargs={"widths": [256]},
                 train={**DEFAULT_TRAIN, "batch_size": 64, "lr": 0.05, "eval_every": 0}, seed=0)
        acc[m] = 100 * continual.average_accuracy(np.array(run_cell(c).R))
    assert acc["hopfield_memory"] > acc["finetune"] + 40 and acc["hopfield_memory"] > 75, acc


def test_mil_hopfield_pooling_learns_bags(tmp_path):
    from neuroplastic.cli import main
    from neuroplastic.memory.mil import auc, train_mil

    assert auc(torch.tensor([0.1, 0.9, 0.8]), torch.tensor([0.0, 1.0, 1.0])) == 1.0
    r = train_mil(pool="hopfield", n_train=400, n_test=200, epochs=6)
    assert r["auc"] > 0.85 and r["accuracy"] > max(r["positive_fraction"], 1 - r["positive_fraction"]) + 0.1
    db, html = tmp_path / "mil.db", tmp_path / "mil.html"
    assert main(["memory", "mil", "--pool", "mean", "--epochs", "1", "--n-train", "64", "--out", str(db),
                 "--report", str(html)]) == 0
    assert "MNIST-bags MIL" in html.read_text()
