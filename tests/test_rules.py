"""Local plasticity rules: the contract for every registered rule, then each rule's property."""

import pytest
import torch
from torch import nn

from neuroplastic.rules import RULES
from neuroplastic.testing import check_rule


@pytest.mark.parametrize("name", list(RULES))
def test_rule_contract(name):
    check_rule(name)


@pytest.mark.parametrize("name,kwargs", [("hebbian", {"decay": 0.0, "normalize": True}),
                                         ("soft_wta", {"anti_hebbian": False, "power": 0.0}),
                                         ("bcm", {"activation": "relu"}),
                                         ("homeostatic", {"intrinsic": 0.01}),
                                         ("oja", {"reduction": "sum"})])
def test_rule_contract_with_options(name, kwargs):
    check_rule(name, kwargs)


def test_bad_hyper_parameters_and_layers():
    with pytest.raises(ValueError, match="lr=-1"):
        RULES["oja"]([nn.Linear(2, 2)], lr=-1)
    with pytest.raises(ValueError, match="reduction='max'"):
        RULES["oja"]([nn.Linear(2, 2)], reduction="max")
    with pytest.raises(TypeError, match="nn.Linear and nn.Conv2d"):
        RULES["oja"]([nn.ReLU()])


def _gaussian(n, cov, generator):
    L = torch.linalg.cholesky(cov)
    return torch.randn(n, cov.shape[0], generator=generator, dtype=cov.dtype) @ L.T


def _known_covariance(d=6):
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    eig = torch.tensor([5.0, 3.0, 2.0, 0.5, 0.3, 0.1], dtype=torch.float64)[:d]
    return q @ torch.diag(eig) @ q.T, q, eig


def _train(rule_name, n_out, steps=3000, lr=5e-3, batch=64, **kw):
    cov, q, eig = _known_covariance()
    g = torch.Generator().manual_seed(1)
    layer = nn.Linear(6, n_out, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(0.1 * torch.randn(n_out, 6, generator=g, dtype=torch.float64))
    rule = RULES[rule_name]([layer], lr=lr, **kw)
    for _ in range(steps):
        layer(_gaussian(batch, cov, g))
        rule.step()
    return layer.weight.detach(), q, eig


def test_oja_converges_to_the_unit_norm_top_principal_component():
    w, q, _ = _train("oja", 1)
    assert w.norm() == pytest.approx(1.0, abs=0.02)
    assert abs(float(w[0] @ q[:, 0])) > 0.995


def test_sanger_recovers_the_first_components_in_order():
    w, q, _ = _train("sanger", 3, steps=6000)
    for k in range(3):
        assert abs(float(w[k] @ q[:, k])) > 0.98, k
        assert w[k].norm() == pytest.approx(1.0, abs=0.03)


def test_subspace_rule_converges_to_an_orthonormal_basis_of_the_principal_subspace():
    w, q, _ = _train("subspace", 3, steps=6000)
    assert torch.allclose(w @ w.T, torch.eye(3, dtype=w.dtype), atol=0.03)      # orthonormal rows
    top = q[:, :3]
    captured = (w @ top).norm() ** 2 / 3                                           # 1 = inside the subspace
    assert float(captured) > 0.99


def test_bcm_becomes_selective_to_one_of_two_patterns():
    g = torch.Generator().manual_seed(0)
    patterns = torch.tensor([[1.0, 0.2, 0.0, 0.1], [0.1, 0.0, 1.0, 0.3]], dtype=torch.float64)
    layer = nn.Linear(4, 1, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(torch.full((1, 4), 0.3, dtype=torch.float64))
    rule = RULES["bcm"]([layer], lr=0.02, tau_theta=20.0, activation="relu")
    for _ in range(4000):
        idx = torch.randint(0, 2, (16,), generator=g)
        layer(patterns[idx])
        rule.step()
    with torch.no_grad():
        r = layer(patterns).clamp_min(0).flatten()
    strong, weak = r.max(), r.min()
    assert strong > 0.5 and weak < 0.1 * strong, r


@pytest.mark.parametrize("anti_hebbian", [False, True])
def test_soft_wta_normalises_weights_and_finds_cluster_centres(anti_hebbian):
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(8, 8, generator=g, dtype=torch.float64))
    centres = q[:3]                                                             # three unit-norm clusters
    layer = nn.Linear(8, 3, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(0.3 * torch.randn(3, 8, generator=g, dtype=torch.float64))
    rule = RULES["soft_wta"]([layer], lr=0.02, tau=0.3, anti_hebbian=anti_hebbian)
    for _ in range(3000):
        labels = torch.randint(0, 3, (32,), generator=g)
        layer(centres[labels] + 0.05 * torch.randn(32, 8, generator=g, dtype=torch.float64))
        rule.step()
    w = layer.weight.detach()
    assert torch.allclose(w.norm(dim=1), torch.ones(3, dtype=w.dtype), atol=0.02)
    cos = torch.nn.functional.normalize(w, dim=1) @ centres.T                    # each neuron -> one centre
    assert sorted(cos.argmax(1).tolist()) == [0, 1, 2] and float(cos.max(1).values.min()) > 0.99


def test_three_factor_needs_the_modulator_and_keeps_an_eligibility_trace():
    layer = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        layer.weight.zero_()
    rule = RULES["three_factor"]([layer], lr=1.0, decay=0.5)
    x = torch.tensor([[1.0, 0.0, 0.0]])
    with torch.no_grad():
        layer.weight[0, 0] = 1.0                  # post = [1, 0] for this input
    layer(x)
    rule.step(modulator=0.0)                      # no third factor: no change, trace kept
    assert float(layer.weight[0, 0].detach()) == 1.0 and float(rule.state[layer]["trace"][0, 0]) == 1.0
    layer(torch.zeros(1, 3))
    rule.step(modulator=torch.tensor([2.0, 5.0]))  # per-neuron modulator acts on the decayed trace
    assert float(layer.weight[0, 0].detach()) == pytest.approx(1.0 + 2.0 * 0.5)
    assert float(layer.weight[1, 0].detach()) == 0.0


def test_step_applies_lr_times_modulator_times_delta_for_every_modulator_kind():
    """A number, a 0-dim tensor (any float dtype) and a per-neuron tensor all give w + lr m dw."""
    x = torch.rand(8, 5, generator=torch.Generator().manual_seed(0))
    per_neuron = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    for m, m_rows in [(0.7, 0.7), (torch.tensor(0.7, dtype=torch.float64), 0.7),
                      (per_neuron, per_neuron.float()[:, None])]:
        torch.manual_seed(0)
        layer = nn.Linear(5, 3)
        rule = RULES["oja"]([layer], lr=0.1)
        layer(x)
        w0, dw = layer.weight.detach().clone(), rule.deltas()[layer.weight]
        rule.step(modulator=m)
        assert layer.weight.dtype == torch.float32
        torch.testing.assert_close(layer.weight.detach(), w0 + 0.1 * m_rows * dw)


def test_homeostatic_scaling_moves_rates_toward_the_target():
    g = torch.Generator().manual_seed(0)
    layer = nn.Linear(10, 4)
    with torch.no_grad():
        layer.weight.copy_(torch.rand(4, 10, generator=g) * torch.tensor([[1.0], [2.0], [4.0], [0.3]]))
        layer.bias.zero_()                        # rates between about 0.4 and 5: three far too active
    rule = RULES["homeostatic"]([layer], lr=0.05, target=0.2, tau=5.0)
    x = torch.rand(256, 10, generator=g)
    before = layer(x).clamp_min(0).mean(0)
    rule.zero_records()
    for _ in range(600):
        layer(torch.rand(64, 10, generator=g))
        rule.step()
    after = layer(x).clamp_min(0).mean(0).detach()
    assert (before - 0.2).abs().max() > 1.0
    assert (after - 0.2).abs().max() < 0.03, after


def test_intrinsic_plasticity_revives_a_silent_neuron():
    g = torch.Generator().manual_seed(0)
    layer = nn.Linear(10, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.rand(1, 10, generator=g) * 0.1)
        layer.bias.fill_(-2.0)                    # never fires: scaling alone cannot help
    rule = RULES["homeostatic"]([layer], lr=0.01, target=0.3, tau=5.0, intrinsic=0.05)
    for _ in range(800):
        layer(torch.rand(64, 10, generator=g))
        rule.step()
    rate = layer(torch.rand(512, 10, generator=g)).clamp_min(0).mean().detach()
    assert float(rate) == pytest.approx(0.3, abs=0.05)


def test_conv_update_equals_the_sum_over_positions_of_linear_updates():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 2, bias=False).double()
    x = torch.rand(2, 2, 3, 3, dtype=torch.float64)
    rule = RULES["hebbian"]([conv], reduction="sum")
    y = conv(x)
    dw = rule.deltas()[conv.weight]
    expected = torch.zeros_like(conv.weight)
    for n in range(2):
        for i in range(2):
            for j in range(2):
                patch = x[n, :, i:i + 2, j:j + 2]
                expected += y[n, :, i, j][:, None, None, None] * patch[None]
    assert torch.allclose(dw, expected.detach())


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv_rows_reproduce_the_layer_for_every_padding_mode(mode):
    """The (patch, output) rows a rule sees are the layer's own: patches @ W^T + b = output, with
    the border padded as the layer pads it (SoftHebb's convolutions pad by reflection)."""
    from neuroplastic.rules._rule import as_rows, weight_matrix

    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, (3, 5), padding=(1, 2), stride=(1, 2), padding_mode=mode).double()
    x = torch.rand(2, 2, 6, 7, dtype=torch.float64)
    pre, post = as_rows(conv, x, conv(x))
    assert pre.shape == (post.shape[0], 2 * 3 * 5)
    assert torch.allclose(pre @ weight_matrix(conv).T + conv.bias, post)


def test_deltas_can_drive_a_torch_optimizer():
    layer = nn.Linear(4, 2)
    rule = RULES["oja"]([layer], lr=1.0)
    opt = torch.optim.SGD([layer.weight], lr=0.1, momentum=0.9)
    layer(torch.rand(8, 4))
    before = layer.weight.detach().clone()
    dws = rule.deltas()
    for w, dw in dws.items():
        w.grad = -dw
    opt.step()
    assert torch.allclose(layer.weight - before, 0.1 * dws[layer.weight])


def test_param_groups_have_their_own_rates():
    a, b = nn.Linear(3, 2), nn.Linear(3, 2)
    rule = RULES["hebbian"]([{"layers": [a], "lr": 0.1}, {"layers": [b]}], lr=0.001)
    assert [g["lr"] for g in rule.param_groups] == [0.1, 0.001]
    with pytest.raises(ValueError, match="unknown hyper-parameter"):
        RULES["hebbian"]([{"layers": [a], "rate": 0.1}])



@pytest.mark.parametrize("anti_hebbian", [True, False])
@pytest.mark.parametrize("normalize_delta", [True, False])
@pytest.mark.parametrize("ties", [False, True])
def test_soft_wta_equals_the_literal_equations(anti_hebbian, normalize_delta, ties):
    # the batched form against SYSTEMS.md 2.2 as written (one winner per sample: argmax, the
    # first maximum; with ties, two equal neurons that win most samples, or all-zero weights)
    from neuroplastic.rules import soft_wta
    g = torch.Generator().manual_seed(3)
    w, x = torch.randn(7, 5, generator=g, dtype=torch.float64), torch.randn(11, 5, generator=g, dtype=torch.float64)
    if ties:
        w[2] = w[5] = 3 * x.mean(0)
        x[0] = 0
    u = x @ w.T
    assert not ties or (u == u.amax(1, keepdim=True)).sum(1).max() > 1
    y = torch.softmax(u / 0.5, dim=1)
    if anti_hebbian:
        win = u.argmax(1)
        y = torch.where(torch.arange(7)[None] == win[:, None], y, -y)
    dw = sum(y[b][:, None] * (x[b][None] - u[b][:, None] * w) for b in range(11)) / 11
    if normalize_delta:
        dw = dw / dw.abs().max()
    dw = dw * ((w.norm(dim=1, keepdim=True) - 1).abs() + 1e-10).sqrt()
    got = soft_wta(w, x, u, tau=0.5, anti_hebbian=anti_hebbian, normalize_delta=normalize_delta)
    torch.testing.assert_close(got, dw)
