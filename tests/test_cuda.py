"""The CUDA path: rules, neurons, models, methods and the engine on a GPU, checked against the
CPU. Skipped where no CUDA device is present (CI has none; run on a GPU machine)."""
import pytest
import torch

from neuroplastic.rules import RULES
from neuroplastic.testing import check_rule

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.parametrize("name", list(RULES))
def test_rule_contract_on_cuda(name):
    check_rule(name, device="cuda")


@pytest.mark.parametrize("name", ["oja", "soft_wta", "sanger", "bcm", "hebbian"])
def test_rule_update_on_cuda_equals_cpu(name):
    from torch import nn

    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 20, generator=g, dtype=torch.float64)
    deltas = []
    for dev in ("cpu", "cuda"):
        torch.manual_seed(0)
        layer = nn.Linear(20, 7).double().to(dev)
        rule = RULES[name]([layer], lr=0.01)
        layer(x.to(dev))
        deltas.append(rule.deltas()[layer.weight].cpu())
    torch.testing.assert_close(deltas[0], deltas[1])


def test_lif_multistep_on_cuda_equals_the_step_loop_and_the_cpu():
    from neuroplastic.neurons import LIFParams, lif_init, lif_multistep, lif_step

    xs = torch.randn(30, 8, 16, dtype=torch.float64, device="cuda") + 0.4
    p = LIFParams(tau_mem=3.0)
    z, _ = lif_multistep(xs, p)
    st, loop = lif_init(xs[0], p), []
    for t in range(len(xs)):
        s, st = lif_step(xs[t], st, p)
        loop.append(s)
    torch.testing.assert_close(z, torch.stack(loop), atol=1e-6, rtol=0)
    z_cpu, _ = lif_multistep(xs.cpu(), p)
    torch.testing.assert_close(z.cpu(), z_cpu, atol=1e-6, rtol=0)


@pytest.mark.parametrize("method,model,kwargs", [
    ("finetune", "mlp", {}), ("ewc", "mlp", {}), ("er", "mlp", {}), ("softhebb", "mlp", {}),
    ("hebbian_pca", "mlp", {}), ("finetune", "cnn", {}), ("finetune", "snn_mlp", {}),
])
def test_run_cell_on_cuda(method, model, kwargs):
    from neuroplastic.run import Cell, run_cell

    train = {"epochs": 1, "batch_size": 32, "optimizer": "adam", "lr": 1e-3, "momentum": 0.0,
             "weight_decay": 0.0, "eval_every": 0, "eval_subset": 64}
    cell = Cell("split", {"dataset": "digits", "n_tasks": 2}, method, kwargs, model, {}, train, 0, "cuda")
    res = run_cell(cell)
    acc = res.R[-1][-1]
    assert 0.0 <= acc <= 1.0 and acc > 0.2, acc


def test_diehl_cook_on_cuda_learns():
    from neuroplastic import data, methods
    from neuroplastic.models import DiehlCook
    from neuroplastic.streams import as_float

    xtr, ytr, xte, yte = data.load("mnist")
    net = DiehlCook(in_shape=(1, 28, 28), n_classes=10, time=150).cuda()
    m = methods.make("diehl_cook", norm_every=10, label_samples=0).setup(net, torch.optim.SGD(net.parameters(), lr=0))
    for i in range(0, 1000, 100):
        m.observe(as_float(xtr[i:i + 100]).cuda(), ytr[i:i + 100].cuda())
    acc = (m.predict(as_float(xte[:500]).cuda()).argmax(1).cpu() == yte[:500]).float().mean()
    assert acc > 0.3, acc
