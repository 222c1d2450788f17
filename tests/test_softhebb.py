"""The softhebb method: Hebbian hidden layers (soft_wta, no backprop) and a trained read-out."""
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
