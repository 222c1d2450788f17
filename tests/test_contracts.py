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
])
def test_method_contract_with_options(name, kwargs):
    check_method(name, kwargs)


@pytest.mark.parametrize("name,kwargs,needle", [
    ("ewc", {"lam": -1.0}, "lam=-1.0"),
    ("ewc", {"mode": "onlin"}, "mode='onlin'"),
    ("er", {"buffer_size": 0}, "buffer_size=0"),
    ("si", {"xi": 0}, "xi=0"),
    ("lwf", {"temperature": "hot"}, "temperature='hot'"),
])
def test_bad_hyper_parameters_name_the_value(name, kwargs, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        methods.make(name, **kwargs)
