"""Refresh learning: the weighted Fisher against a per-sample loop, the unlearning step against
its equation, delta = 0 leaves the host alone, hosts and bad settings."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from neuroplastic import ConfigError, methods, models, streams
from neuroplastic.methods.refresh import fisher_weighted
from neuroplastic.testing import check_method, train_stream


def _setup(name="refresh", **kwargs):
    torch.manual_seed(0)
    stream = streams.make("split", dataset="digits", n_tasks=5, n_train=64, n_test=32, seed=0)
    model = models.make("mlp", in_shape=(1, 8, 8), n_classes=10, widths=(16,))
    method = methods.make(name, **kwargs).setup(model, torch.optim.SGD(model.parameters(), lr=0.05))
    return method, model, stream


def test_weighted_fisher_equals_a_loop_over_samples():
    _, model, stream = _setup()
    exp = stream[0]
    got = fisher_weighted(model, exp, None, chunk=7)
    x, y = streams.as_float(exp.train[0]), exp.train[1]
    model.eval()
    want = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    for xi, yi in zip(x, y):
        model.zero_grad()
        logp = F.log_softmax(model(xi[None]), 1)[0, yi]
        logp.backward()
        for n, p in model.named_parameters():
            want[n] += logp.exp().detach() * p.grad ** 2
    for n in want:
        torch.testing.assert_close(got[n], want[n] / len(y), rtol=1e-4, atol=1e-8)


def test_the_unlearning_step_follows_its_equation():
    """theta + delta (u + noise eps) / (1 + damping F), u = lr grad CE rescaled to ||theta||."""
    method, model, stream = _setup(delta=0.1, noise=0.0, damping=0.5)
    method.begin(stream[0])
    method.fisher_ = {n: torch.full_like(p, 2.0) for n, p in model.named_parameters()}
    x, y = streams.as_float(stream[0].train[0][:16]), stream[0].train[1][:16]
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), list(model.parameters()))
    method._unlearn(x, y)
    for (n, p), g in zip(model.named_parameters(), grads):
        u = g * (before[n].norm() / g.norm())
        torch.testing.assert_close(p.detach(), before[n] + 0.1 * u / (1 + 0.5 * 2.0))


@pytest.mark.parametrize("host,kwargs", [("derpp", {"buffer_size": 40}), ("er", {"buffer_size": 40}), ("ewc", {})])
def test_delta_zero_leaves_the_host_alone_and_refresh_changes_it(host, kwargs):
    outs = {}
    for label, name, kw in (("host", host, kwargs), ("off", "refresh", {"host": host, "host_kwargs": kwargs, "delta": 0.0}),
                            ("on", "refresh", {"host": host, "host_kwargs": kwargs, "delta": 1e-3})):
        method, model, stream = _setup(name, **kw)
        train_stream(method, stream[:2], batch_size=16)
        outs[label] = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert torch.equal(outs["host"], outs["off"])
    assert not torch.allclose(outs["host"], outs["on"])


def test_refresh_contract_with_each_host():
    for kwargs in ({"host": "er", "host_kwargs": {"buffer_size": 30}}, {"host": "ewc"}):
        check_method("refresh", kwargs)


@pytest.mark.parametrize("kwargs,needle", [
    ({"host": "nope"}, "host='nope'"), ({"host": "refresh"}, "host='refresh'"),
    ({"delta": -1.0}, "delta=-1.0"), ({"host_kwargs": 3}, "host_kwargs=3"),
])
def test_bad_refresh_settings_name_the_value(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        methods.make("refresh", **kwargs)


def test_an_unknown_host_keyword_names_the_host():
    with pytest.raises(ConfigError, match="derpp"):
        methods.make("refresh", host="derpp", host_kwargs={"bufer_size": 3})
