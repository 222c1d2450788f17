"""Conformance checks for components (scikit-learn's ``check_estimator`` idea), used by
``tests/test_contracts.py`` over every registry entry and available to authors of new methods.

The checks run on a small slice of real data (scikit-learn's 8 x 8 digits, split into tasks).
"""
from __future__ import annotations

import torch

from . import methods, models, streams
from ._registry import ConfigError


def _tiny_stream(scenario: str = "class"):
    return streams.make("split", dataset="digits", n_tasks=5, scenario=scenario, n_train=64, n_test=32, seed=0)


def _run_method(name: str, kwargs: dict, scenario: str, seed: int = 0):
    stream = _tiny_stream(scenario)
    torch.manual_seed(seed)
    task_classes = [e.classes for e in stream] if scenario == "task" else None
    model = models.make("mlp", in_shape=(1, 8, 8), n_classes=10, widths=(32,), task_classes=task_classes)
    method = methods.make(name, **kwargs)
    method.setup(model, torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    g = torch.Generator().manual_seed(seed)
    losses = []
    for exp in stream[:3]:
        method.begin(exp)
        for x, y in method.batches(exp, batch_size=16, epochs=1, generator=g):
            losses.append(method.observe(x, y))
        method.end(exp)
    x = streams.as_float(stream[0].test[0])
    return method, losses, method.predict(x, stream[0].task)


def check_method(name: str, kwargs: dict | None = None) -> None:
    """Raise AssertionError naming the broken part of the Method contract."""
    kwargs = dict(kwargs or {})
    cls = methods.METHODS[name]
    # constructor records keyword-only hyper-parameters under the same names
    method = methods.make(name, **kwargs)
    params = method.get_params()
    assert set(params) == set(cls.param_names()), f"{name}: get_params keys {set(params)}"
    for k, v in kwargs.items():
        assert params[k] == v, f"{name}: get_params()[{k!r}] = {params[k]!r}, constructed with {v!r}"
    # unknown keyword is rejected with the valid list
    try:
        methods.make(name, not_a_parameter=1)
    except ConfigError as e:
        assert "Valid keywords" in str(e), f"{name}: unknown-keyword error lacks the valid list: {e}"
    else:
        raise AssertionError(f"{name}: accepted an unknown keyword")
    for scenario in ("class", "task"):
        m1, losses, out1 = _run_method(name, kwargs, scenario)
        assert losses, f"{name}: no training step ran"
        for loss in losses:
            assert isinstance(loss, torch.Tensor) and loss.dim() == 0, f"{name}: observe must return a 0-dim tensor"
            assert not loss.requires_grad, f"{name}: observe must return a detached loss"
            assert torch.isfinite(loss), f"{name}: non-finite loss {loss}"
        assert out1.shape == (32, 10), f"{name}: predict returned shape {tuple(out1.shape)}, expected (32, 10)"
        _, losses2, out2 = _run_method(name, kwargs, scenario)
        assert torch.equal(out1, out2) and all(torch.equal(a, b) for a, b in zip(losses, losses2)), \
            f"{name}: two runs with one seed differ ({scenario}-incremental)"
