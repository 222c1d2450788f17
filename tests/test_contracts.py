"""Every registered component satisfies its contract (neuroplastic.testing)."""
import pytest

from neuroplastic import methods
from neuroplastic.testing import check_method


@pytest.mark.parametrize("name", list(methods.METHODS))
def test_method_contract(name):
    check_method(name)


@pytest.mark.parametrize("name,kwargs", [
    ("ewc", {"lam": 10.0, "mode": "online", "gamma": 0.9, "fisher": "model"}),
    ("er", {"buffer_size": 50, "replay_batch_size": 8}),
    ("derpp", {"alpha": 0.5, "beta": 0.3}),
    ("si", {"c": 0.3}),
    ("fpf", {"host": "derpp", "host_kwargs": {"buffer_size": 20}, "s": 2, "buffer_size": 20, "alpha": 0.3}),
    ("kfpf_sgd", {"k": 3, "s": 1, "buffer_size": 16, "fpf_epochs": 1}),
])
def test_method_contract_with_options(name, kwargs):
    check_method(name, kwargs)


@pytest.mark.parametrize("name,kwargs,needle", [
    ("ewc", {"lam": -1.0}, "lam=-1.0"),
    ("ewc", {"mode": "onlin"}, "mode='onlin'"),
    ("er", {"buffer_size": 0}, "buffer_size=0"),
    ("si", {"xi": 0}, "xi=0"),
    ("lwf", {"temperature": "hot"}, "temperature='hot'"),
    ("fpf", {"host": "fpf"}, "host='fpf'"),
    ("kfpf_kd", {"k": 0}, "k=0"),
    ("kfpf_sgd", {"s": -1}, "s=-1"),
])
def test_bad_hyper_parameters_name_the_value(name, kwargs, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        methods.make(name, **kwargs)
