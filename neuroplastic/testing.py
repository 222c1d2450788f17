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


def train_stream(method, stream, *, batch_size: int = 32, epochs: int = 1, seed: int = 0) -> list[torch.Tensor]:
    """Train a set-up method over a stream as the runner does (begin, its batches, observe, end),
    with batch order from ``seed``; returns the losses."""
    g = torch.Generator().manual_seed(seed)
    losses = []
    for exp in stream:
        method.begin(exp)
        for x, y in method.batches(exp, batch_size=batch_size, epochs=epochs, generator=g):
            losses.append(method.observe(x, y))
        method.end(exp)
    return losses


def _run_method(name: str, kwargs: dict, scenario: str, seed: int = 0):
    stream = _tiny_stream(scenario)
    torch.manual_seed(seed)
    task_classes = [e.classes for e in stream] if scenario == "task" else None
    cls = methods.METHODS[name]
    if cls.needs_model:
        model = models.make(cls.needs_model, in_shape=(1, 8, 8), n_classes=10, task_classes=task_classes,
                            **cls.check_model_kwargs)
    else:
        model = models.make("mlp", in_shape=(1, 8, 8), n_classes=10, widths=(32,), task_classes=task_classes)
    method = methods.make(name, **kwargs)
    method.setup(model, torch.optim.SGD(model.parameters(), **{"lr": 0.05, "momentum": 0.9, **cls.check_sgd}))
    losses = train_stream(method, stream[:3], batch_size=16, epochs=1, seed=seed)
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
    for scenario in cls.scenarios:
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


def _rule_layers(kind: str, dtype, device="cpu"):
    from torch import nn

    torch.manual_seed(0)
    if kind == "linear":
        return nn.Linear(12, 5).to(dtype).to(device), torch.rand(16, 12, dtype=dtype).to(device)
    return (nn.Conv2d(3, 4, 3, padding=1, stride=1).to(dtype).to(device),
            torch.rand(4, 3, 6, 6, dtype=dtype).to(device))


def check_rule(name: str, kwargs: dict | None = None, device: str = "cpu") -> None:
    """Raise AssertionError naming the broken part of the Rule contract (on ``device``)."""
    import copy
    import pickle

    from . import rules
    from .rules._rule import as_rows, weight_matrix

    kwargs = dict(kwargs or {})
    cls = rules.RULES[name]
    assert cls.fn is not None, f"{name}: the class names no pure function (fn)"
    try:
        rules.make(name, [torch.nn.Linear(2, 2)], not_a_parameter=1)
    except ConfigError as e:
        assert "Valid keywords" in str(e), f"{name}: unknown-keyword error lacks the valid list"
    else:
        raise AssertionError(f"{name}: accepted an unknown keyword")
    for kind in ("linear", "conv"):
        for dtype in (torch.float32, torch.float64):
            layer, x = _rule_layers(kind, dtype, device)
            rule = cls([layer], **kwargs)
            where = f"{name} on {kind} {dtype}"
            # zero activity -> zero update
            if cls.silence_is_fixed_point:
                with torch.no_grad():
                    layer.bias.zero_()
                layer(torch.zeros_like(x))
                for dw in rule.deltas().values():
                    assert torch.count_nonzero(dw) == 0, f"{where}: zero activity gave a non-zero update"
                rule.zero_records()
                layer, x = _rule_layers(kind, dtype, device)
                rule.remove()
                rule = cls([layer], **kwargs)
            # deltas() has no side effects; step() applies lr * (the pure function's dw)
            out = layer(x)
            d1 = {k: v.clone() for k, v in rule.deltas().items()}
            d2 = rule.deltas()
            assert list(d1) == [layer.weight] and torch.equal(d1[layer.weight], d2[layer.weight]), \
                f"{where}: deltas() is not repeatable"
            assert d1[layer.weight].dtype == dtype and d1[layer.weight].shape == layer.weight.shape, \
                f"{where}: delta has dtype/shape {d1[layer.weight].dtype}/{tuple(d1[layer.weight].shape)}"
            pre, post = as_rows(layer, x, out.detach())
            w = weight_matrix(layer).detach().clone()
            group = rule.param_groups[0]
            state = rule.initial_state(w, group, pre, post)
            ref = cls.fn(w, pre, post, *[state[k] for k in cls.state_keys], **rule.fn_kwargs(group))
            ref = ref[0] if cls.state_keys else ref
            assert torch.allclose(ref.reshape(layer.weight.shape), d1[layer.weight], rtol=1e-5, atol=1e-7), \
                f"{where}: class and pure function disagree"
            before = layer.weight.detach().clone()
            snapshot = copy.deepcopy(layer)
            rule.step()
            if not group.get("normalize") and not group.get("intrinsic"):   # those also renormalise / move bias
                assert torch.allclose(layer.weight - before, group["lr"] * d1[layer.weight], rtol=1e-4, atol=1e-7), \
                    f"{where}: step() did not apply lr * delta"
            assert not rule._records, f"{where}: step() kept the records"
            # state_dict round trip: a rule on a copy of the layer, loaded, gives the same next delta
            layer(x)
            rule2 = cls([snapshot], **kwargs)
            rule2.load_state_dict(rule.state_dict())
            with torch.no_grad():
                snapshot.weight.copy_(layer.weight)
                if snapshot.bias is not None:
                    snapshot.bias.copy_(layer.bias)
            snapshot(x)
            assert torch.allclose(rule.deltas()[layer.weight], rule2.deltas()[snapshot.weight]), \
                f"{where}: state_dict() round trip changed the next update"
            for k in cls.state_keys:
                assert torch.equal(rule.state[layer][k], rule2.state[snapshot][k]), f"{where}: state {k} lost"
            # pickling keeps hyper-parameters and state, and the copy records again
            clone = pickle.loads(pickle.dumps(rule))
            assert clone.param_groups[0]["lr"] == group["lr"]
            clone_layer = clone.param_groups[0]["layers"][0]
            clone_layer(x)
            assert torch.allclose(clone.deltas()[clone_layer.weight], rule.deltas()[layer.weight]), \
                f"{where}: a pickled rule computes another update"
            # remove() takes the hooks away
            rule.remove()
            rule2.remove()
            assert not layer._forward_hooks, f"{where}: hooks left after remove()"
            layer(x)
            assert not rule.deltas(), f"{where}: a removed rule still records"
