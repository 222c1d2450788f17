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
    linear read-out; Hebbian learning in the first epoch only, the read-out in all 3 (alongside
    the Hebbian epoch, then on the frozen features)."""
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


def test_triangle_is_the_rectified_deviation_from_the_channel_mean():
    from neuroplastic.models.softhebb_cnn import triangle

    u = torch.tensor([1.0, 2.0, 6.0, 3.0]).reshape(1, 4, 1, 1)       # channel mean 3
    assert torch.equal(triangle(u, 2.0).flatten(), torch.tensor([0.0, 0.0, 9.0, 0.0]))
    assert torch.equal(triangle(u, 1.0).flatten(), torch.tensor([0.0, 0.0, 3.0, 0.0]))
    v = torch.tensor([0.0, 0.0, 3.0, 1.0]).reshape(1, 4, 1, 1).requires_grad_()   # mean 1: d = (-1, -1, 2, 0)
    triangle(v, 0.7).sum().backward()                   # backprop (finetune) through power < 1: no NaN at d <= 0
    d_ = torch.tensor([-1.0, -1.0, 2.0, 0.0])
    expected = 0.7 * d_.clamp_min(1e-30) ** -0.3 * (d_ > 0)                      # d out / d d
    torch.testing.assert_close(v.grad.flatten(), expected - expected.mean())     # through the centring


def test_softhebb_cnn_builds_the_official_blocks():
    from torch import nn

    from neuroplastic import models

    net = models.make("softhebb_cnn", in_shape=(1, 28, 28), n_classes=10, channels=(8, 16), kernels=(5, 3),
                      powers=(0.7, 1.4), pool="max")
    convs = [m for m in net.body if isinstance(m, nn.Conv2d)]
    assert [c.padding_mode for c in convs] == ["reflect", "reflect"] and all(c.bias is None for c in convs)
    assert [m.affine for m in net.body if isinstance(m, nn.BatchNorm2d)] == [False, False]
    x = torch.rand(4, 1, 28, 28)
    assert net.features(x).shape == (4, 16 * 7 * 7) and net(x).shape == (4, 10)     # 28 -> 14 -> 7
    with pytest.raises(ValueError, match="one entry per block"):
        models.make("softhebb_cnn", in_shape=(1, 28, 28), n_classes=10, channels=(8,), kernels=(5, 3))
    with pytest.raises(ValueError, match="odd kernel"):
        models.make("softhebb_cnn", in_shape=(1, 28, 28), n_classes=10, kernels=(4,))


def test_soft_wta_on_a_reflect_padded_conv_equals_demo_py_equations():
    """SoftHebbConv2d of the official demo.py, written out independently (float64): competition
    over channels at every position, anti-Hebbian losers, dW = sum y * x_patch - (sum y u) W,
    divided by max |dW|, times the weight-norm-dependent rate."""
    import torch.nn.functional as F
    from torch import nn

    from neuroplastic.rules import RULES

    g = torch.Generator().manual_seed(0)
    conv = nn.Conv2d(3, 6, 5, padding=2, padding_mode="reflect", bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(torch.randn(6, 3, 5, 5, generator=g, dtype=torch.float64))
    x = torch.randn(4, 3, 9, 9, generator=g, dtype=torch.float64)
    t_invert = 0.65
    rule = RULES["soft_wta"]([conv], tau=1 / t_invert)
    conv(x)
    got = rule.deltas()[conv.weight]

    w = conv.weight.detach()
    xp = F.pad(x, (2, 2, 2, 2), mode="reflect")
    u = F.conv2d(xp, w)                                                  # (B, OC, 9, 9)
    y = torch.softmax(t_invert * u, dim=1)
    winner = F.one_hot(u.argmax(1), 6).permute(0, 3, 1, 2).bool()
    y = torch.where(winner, y, -y)
    yx = torch.zeros_like(w)
    for i in range(5):
        for j in range(5):
            yx[:, :, i, j] = torch.einsum("bkpq,bcpq->kc", y, xp[:, :, i:i + 9, j:j + 9])
    dw = yx - (y * u).sum((0, 2, 3))[:, None, None, None] * w
    dw = dw / dw.abs().max()
    rate = ((w.flatten(1).norm(dim=1) - 1).abs() + 1e-10) ** 0.5
    torch.testing.assert_close(got, dw * rate[:, None, None, None])


def test_softhebb_trains_a_convolutional_network_without_gradients():
    """Two softhebb_cnn blocks on the digits, per-layer hyper-parameters of the official presets,
    Hebbian steps on chunks of 10 samples: the convolutions learn with no gradient, their rows move
    from the initial radius toward unit norm, and the read-out classifies from them."""
    from torch import nn

    from neuroplastic import methods, models, streams
    from neuroplastic.streams import as_float

    stream = streams.make("split", dataset="digits", n_tasks=1, seed=0)
    exp = stream[0]
    torch.manual_seed(0)
    net = models.make("softhebb_cnn", in_shape=(1, 8, 8), n_classes=10, channels=(16, 32), kernels=(3, 3),
                      powers=(0.7, 1.4))
    m = methods.make("softhebb", hebb_lr=[0.08, 0.005], tau=[1.0, 1 / 0.65], anti_hebbian=True, init_radius=25.0,
                     normalize_input=False, hebbian_batch=10).setup(
        net, torch.optim.Adam(net.head.parameters(), lr=1e-2))
    assert [(gr["lr"], gr["tau"]) for gr in m.rule_.param_groups] == [(0.08, 1.0), (0.005, 1 / 0.65)]
    convs = [c for c in net.body if isinstance(c, nn.Conv2d)]
    before = [c.weight.detach().clone() for c in convs]
    m.begin(exp)
    for x, y in m.batches(exp, batch_size=64, epochs=3, generator=torch.Generator().manual_seed(0)):
        m.observe(x, y)
        assert all(c.weight.grad is None for c in convs)
    assert all(not torch.equal(c.weight, b) for c, b in zip(convs, before))
    assert float(convs[0].weight.flatten(1).norm(dim=1).max()) < 25.0
    xt, yt = exp.test
    acc = (m.predict(as_float(xt)).argmax(1) == yt).float().mean()
    assert acc > 0.8, acc                                # chance: 0.1
    with pytest.raises(ValueError, match="one value per hidden layer"):
        methods.make("softhebb", hebb_lr=[0.1]).setup(net, torch.optim.Adam(net.head.parameters()))


@pytest.mark.parametrize("bad", [{"hebb_lr": []}, {"tau": [1.0, -1.0]}, {"anti_hebbian": [True, 1]},
                                 {"init_radius": "25"}, {"hebbian_batch": 0}])
def test_softhebb_rejects_bad_per_layer_values(bad):
    from neuroplastic import methods

    with pytest.raises(ValueError, match=f"{next(iter(bad))}=.* is invalid"):
        methods.make("softhebb", **bad)


def test_readout_after_waits_for_the_unsupervised_phase():
    """``readout_after=N``: the hidden layers learn from the start, the read-out only once N
    training samples have gone by (demo.py: one unsupervised epoch, then the classifier)."""
    from neuroplastic import methods, models, streams

    exp = streams.make("split", dataset="digits", n_tasks=1, seed=0)[0]
    model = models.make("mlp", in_shape=(1, 8, 8), n_classes=10, widths=(32,))
    m = methods.make("softhebb", hebbian_samples=96, readout_after=96).setup(
        model, torch.optim.Adam(model.head.parameters(), lr=1e-2))
    head = [p.detach().clone() for p in model.head.parameters()]
    hidden = model.body[1].weight
    m.begin(exp)
    batches = m.batches(exp, batch_size=32, epochs=1, generator=torch.Generator().manual_seed(0))
    for step, (x, y) in enumerate(batches):
        before = hidden.detach().clone()
        loss = m.observe(x, y)
        assert torch.isfinite(loss)
        learned_hidden = not torch.equal(hidden, before)
        head_same = all(torch.equal(p, q) for p, q in zip(model.head.parameters(), head))
        assert (learned_hidden, head_same) == ((True, True) if step < 3 else (False, False)), step
        if step == 4:
            break
    with pytest.raises(ValueError, match="readout_after=-1 is invalid"):
        methods.make("hebbian_pca", readout_after=-1)
