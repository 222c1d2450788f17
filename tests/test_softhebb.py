"""The softhebb method: Hebbian hidden layers (soft_wta, no backprop) and a trained read-out."""
import pytest
import torch


def test_softhebb_trains_hidden_layers_without_gradients():
    from neuroplastic import methods, models, streams

    stream = streams.make("split", dataset="digits", n_tasks=1, seed=0)
    model = models.make("mlp", in_shape=(1, 8, 8), n_classes=10, widths=(64,))
    m = methods.make("softhebb").setup(model, torch.optim.Adam(model.head.parameters(), lr=1e-2))
    hidden = model.body[1].weight
    before = hidden.detach().clone()
    m.begin(stream[0])
    for x, y in m.batches(stream[0], batch_size=32, epochs=1, generator=torch.Generator().manual_seed(0)):
        m.observe(x, y)
        assert hidden.grad is None                       # no error signal reaches the hidden layer
    assert not torch.equal(hidden, before)               # ... yet it learned (Hebbian)
    norms = hidden.detach().norm(dim=1)
    assert norms.max() < before.norm(dim=1).max()         # rows move from the initial radius toward 1


def test_softhebb_reaches_95_percent_on_mnist():
    """SoftHebb's claim at its published size: one hidden layer of 2,000 soft-WTA neurons and a
    linear read-out; one unsupervised epoch, then the read-out (official protocol)."""
    from neuroplastic.run import Cell, run_cell

    cell = Cell("split", {"dataset": "mnist", "n_tasks": 1}, "softhebb", {"hebbian_samples": 60000}, "mlp",
                {"widths": [2000]}, {"epochs": 3, "batch_size": 64, "optimizer": "adam", "lr": 1e-3,
                                     "momentum": 0.0, "weight_decay": 0.0, "eval_every": 0, "eval_subset": 1},
                0, "cpu")
    acc = run_cell(cell).R[-1][0]
    assert acc >= 0.95, acc


@pytest.mark.parametrize("rule", ["sanger", "subspace"])
def test_hebbian_pca_learns_the_principal_subspace_of_digits(rule):
    """hebbian_pca's hidden layer spans the top principal subspace of the (centred) digits
    images, found without backprop, and its linear read-out classifies from it."""
    from neuroplastic import methods, models, streams

    stream = streams.make("split", dataset="digits", n_tasks=1, seed=0)
    exp = stream[0]
    k = 8
    model = models.make("mlp", in_shape=(1, 8, 8), n_classes=10, widths=(k,))
    m = methods.make("hebbian_pca", rule=rule, hebb_lr=0.1).setup(
        model, torch.optim.Adam(model.head.parameters(), lr=1e-2))
    m.begin(exp)
    for x, y in m.batches(exp, batch_size=32, epochs=15, generator=torch.Generator().manual_seed(0)):
        m.observe(x, y)
    w = model.body[1].weight.detach().double()
    from neuroplastic.streams import as_float

    xs = as_float(exp.train[0]).flatten(1).double()
    xs = xs - xs.mean(0)
    _, _, vt = torch.linalg.svd(xs, full_matrices=False)
    top = vt[:k]
    # orthonormal rows spanning the top-k subspace: the projection of w's rows onto it keeps their norm
    assert torch.allclose(w @ w.T, torch.eye(k, dtype=w.dtype), atol=0.1)
    assert float((w @ top.T).norm() ** 2 / k) > 0.9
    if rule == "sanger":                                     # ordered: row i ~ +-component i
        assert float((w[:3] * top[:3]).sum(1).abs().min()) > 0.9
    xt, yt = exp.test
    acc = (m.predict(as_float(xt)).argmax(1) == yt).float().mean()
    assert acc > 0.85, acc
