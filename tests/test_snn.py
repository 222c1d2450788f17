"""The spiking MLP (rate code, fused multi-step LIF, BPTT with surrogate gradients) in the harness."""
import pytest
import torch

from neuroplastic.models import SpikingMLP
from neuroplastic.run import Cell, run_cell


def _cell(n_train, widths, T, epochs, n_test=2000):
    return Cell("split", {"dataset": "mnist", "n_tasks": 1, "n_train": n_train, "n_test": n_test}, "finetune", {},
                "snn_mlp", {"widths": widths, "T": T},
                {"epochs": epochs, "batch_size": 128, "optimizer": "adam", "lr": 2e-3, "momentum": 0.0,
                 "weight_decay": 0.0, "eval_every": 0, "eval_subset": 1}, 0, "cpu")


def test_spiking_mlp_shapes_and_gradients_reach_the_first_layer():
    torch.manual_seed(0)
    net = SpikingMLP(in_shape=(1, 28, 28), n_classes=10, widths=(64, 32), T=8)
    x = torch.rand(5, 1, 28, 28)
    spikes = net.spikes(x)
    assert [tuple(s.shape) for s in spikes] == [(8, 5, 64), (8, 5, 32)]
    assert set(torch.unique(spikes[0]).tolist()) <= {0.0, 1.0}
    out = net(x)
    assert out.shape == (5, 10)
    out.sum().backward()
    assert net.layers[0].weight.grad is not None and net.layers[0].weight.grad.abs().sum() > 0


def test_spiking_mlp_learns_mnist_subset():
    """Fast variant of the BPTT claim: 10,000 training images, 256 LIF neurons, T = 10, one epoch."""
    acc = run_cell(_cell(10000, [256], 10, 1)).R[-1][0]
    assert acc >= 0.88, acc


@pytest.mark.slow
def test_spiking_mlp_reaches_97_percent_on_mnist():
    """LIF MLP 784-1000-10, T = 25, rate-coded MNIST, BPTT with surrogate gradients, full data."""
    acc = run_cell(_cell(None, [1000], 25, 4, n_test=None)).R[-1][0]
    assert acc >= 0.97, acc


def _fp32_and_bf16(monkeypatch, native: bool):
    """The same network in fp32 and in bf16 precision, and one input; ``native``: whether the
    device is taken to have native bfloat16 products."""
    from neuroplastic.models import snn

    monkeypatch.setattr(snn, "native_bf16", lambda device_type: native)
    torch.manual_seed(0)
    a = SpikingMLP(in_shape=(784,), n_classes=10, widths=(64,), T=6)
    b = SpikingMLP(in_shape=(784,), n_classes=10, widths=(64,), T=6, precision="bf16")
    b.load_state_dict(a.state_dict())
    return a, b, torch.rand(16, 784)


def test_bf16_spike_products_match_fp32_closely(monkeypatch):
    a, b, x = _fp32_and_bf16(monkeypatch, native=True)      # the bf16 path, on any CPU
    torch.manual_seed(1)
    ya = a(x)
    ya.sum().backward()
    torch.manual_seed(1)
    yb = b(x)
    yb.sum().backward()
    assert torch.allclose(ya, yb, atol=0.05)
    ga, gb = a.layers[0].weight.grad, b.layers[0].weight.grad
    assert torch.nn.functional.cosine_similarity(ga.flatten(), gb.flatten(), dim=0) > 0.95
    with pytest.raises(ValueError, match="precision"):
        SpikingMLP(in_shape=(784,), n_classes=10, precision="fp8")


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_fused_spiking_layers_equal_linear_plus_the_step_loop(reset):
    """Binary inputs make the rate code deterministic; the fused layers (event-driven columns,
    LIF in place in the product's buffer, hand-written backward) then equal nn.Linear + lif_step."""
    from neuroplastic.neurons import lif_step, unroll

    g = torch.Generator().manual_seed(3)
    net = SpikingMLP(in_shape=(40,), n_classes=3, widths=(30, 20), T=9, tau_mem=3.0, slope=4.0).double()
    net.params_lif = net.params_lif._replace(reset=reset)
    with torch.no_grad():
        for layer in net.layers:
            layer.weight.mul_(2).add_(0.12)
            layer.bias.fill_(0.2)
    x = (torch.rand(6, 40, generator=g) < 0.3).double()
    x[:, :5] = 0                                      # columns that never spike
    out = net(x)
    out.pow(2).sum().backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    z = x.expand(9, 6, 40)
    for layer in net.layers:
        z, _ = unroll(lif_step, layer(z), params=net.params_lif)
        assert 0.05 < z.mean() < 0.95
    ref = net.head(z.mean(0))
    ref.pow(2).sum().backward()
    assert torch.allclose(out, ref, atol=1e-12)
    for a, p in zip(grads, net.parameters()):
        assert torch.allclose(a, p.grad, atol=1e-10)
    assert torch.equal(grads[0][:, :5], torch.zeros(30, 5, dtype=torch.float64))


def test_bf16_without_native_support_warns_and_runs_fp32(monkeypatch, caplog):
    a, b, x = _fp32_and_bf16(monkeypatch, native=False)
    torch.manual_seed(1)
    ya = a(x)
    torch.manual_seed(1)
    with caplog.at_level("WARNING", logger="neuroplastic.models.snn"):
        yb = b(x)
        b(x)
    assert torch.equal(ya, yb)
    assert len([r for r in caplog.records if "no native bfloat16" in r.getMessage()]) == 1
