"""OTTT (online training through time): exact at T = 1, the paper's gradient at T > 1, memory
constant in T, and it learns MNIST like BPTT does."""
import pytest
import torch
import torch.nn.functional as F

from neuroplastic.models import SpikingMLP
from neuroplastic.neurons import spike
from neuroplastic.neurons.ottt import ottt_pass
from neuroplastic.neurons.unroll import lif_config
from neuroplastic.run import Cell, run_cell


def _net(T, seed=0):
    torch.manual_seed(seed)
    net = SpikingMLP(in_shape=(30,), n_classes=4, widths=(20, 12), T=T, tau_mem=3.0, slope=4.0).double()
    with torch.no_grad():
        for layer in net.layers:
            layer.weight.mul_(2).add_(0.15)
            layer.bias.fill_(0.2)
    return net


def _binary_batch():
    g = torch.Generator().manual_seed(1)
    return (torch.rand(8, 30, generator=g) < 0.4).double(), torch.randint(0, 4, (8,), generator=g)


def _grads(net):
    return [p.grad.clone() for p in net.parameters()]


def test_ottt_equals_bptt_at_one_time_step():
    x, y = _binary_batch()                 # binary inputs: the rate code is deterministic
    net = _net(T=1)
    ottt_pass(net, x, y)
    g_ottt = _grads(net)
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    for a, b in zip(g_ottt, _grads(net)):
        assert torch.allclose(a, b, atol=1e-12)


def test_ottt_gradient_is_the_papers_trace_form():
    """Independent formulation (the official code's "replace" trick, one graph over all steps):
    value from the spikes, weight gradient from the traces, membranes detached across steps."""
    T = 6
    x, y = _binary_batch()
    net = _net(T)
    ottt_pass(net, x, y)
    g_ottt = _grads(net)
    net.zero_grad()
    c = lif_config(net.params_lif)
    lam = 1 - c.decay
    a = [torch.zeros(8, n, dtype=torch.float64) for n in (30, 20, 12)]
    v = [torch.zeros(8, n, dtype=torch.float64) for n in (20, 12)]
    loss = 0
    for _ in range(T):
        s = x
        a[0] = lam * a[0] + s
        for i, layer in enumerate(net.layers):
            h = a[i].detach() + (s - s.detach())             # value: trace; gradient: to s
            cur = F.linear(h, layer.weight, layer.bias)
            cur = cur + (F.linear(s, layer.weight, layer.bias) - cur).detach()
            v_pre = v[i].detach() + c.decay * (cur - v[i].detach())
            s = spike(v_pre - c.v_th, c.kind, c.slope, c.width)
            v[i] = (v_pre - s * c.v_th).detach()
            a[i + 1] = lam * a[i + 1] + s.detach()
        h = a[-1] + (s - s.detach())
        out = net.head(h)
        out = out + (net.head(s) - out).detach()
        loss = loss + F.cross_entropy(out, y) / T
    loss.backward()
    assert sum(p.grad.abs().sum() for p in net.layers[0].parameters()) > 0
    for g1, g2 in zip(g_ottt, _grads(net)):
        assert torch.allclose(g1, g2, atol=1e-12)


class _LiveSaved:
    """Peak bytes of tensors saved for backward that are alive at the same time."""

    def __init__(self):
        self.live = self.peak = 0

    def pack(self, t):
        outer = self

        class Holder:
            def __init__(self):
                self.t, self.n = t, t.numel() * t.element_size()
                outer.live += self.n
                outer.peak = max(outer.peak, outer.live)

            def __del__(self):
                outer.live -= self.n
        return Holder()

    @staticmethod
    def unpack(h):
        return h.t


def _peak_saved(T, train):
    net = SpikingMLP(in_shape=(784,), n_classes=10, widths=(64,), T=T)
    x, y = torch.rand(16, 784), torch.randint(0, 10, (16,))
    m = _LiveSaved()
    with torch.autograd.graph.saved_tensors_hooks(m.pack, m.unpack):
        train(net, x, y)
    return m.peak


def test_ottt_memory_is_constant_in_time_steps_unlike_bptt():
    bptt = lambda net, x, y: F.cross_entropy(net(x), y).backward()     # noqa: E731
    ottt = lambda net, x, y: ottt_pass(net, x, y)                       # noqa: E731
    assert _peak_saved(32, ottt) == _peak_saved(4, ottt) > 0
    assert _peak_saved(32, bptt) > 4 * _peak_saved(4, bptt)


def test_online_update_needs_an_optimizer():
    x, y = _binary_batch()
    with pytest.raises(ValueError, match="optimizer"):
        ottt_pass(_net(2), x, y, online=True)


def _cell(method, T=6):
    return Cell("split", {"dataset": "mnist", "n_tasks": 1, "n_train": 6000, "n_test": 2000}, method, {},
                "snn_mlp", {"widths": [256], "T": T},
                {"epochs": 1, "batch_size": 64, "optimizer": "adam", "lr": 2e-3, "momentum": 0.0,
                 "weight_decay": 0.0, "eval_every": 0, "eval_subset": 1}, 0, "cpu")


def test_ottt_learns_mnist_close_to_bptt():
    acc_ottt = run_cell(_cell("ottt")).R[-1][0]
    acc_bptt = run_cell(_cell("finetune")).R[-1][0]
    assert acc_ottt >= 0.85 and acc_ottt >= acc_bptt - 0.04, (acc_ottt, acc_bptt)
