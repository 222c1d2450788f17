import pytest
import torch

from neuroplastic.streams._stream import as_float, load_images
from neuroplastic.streams.corrupted import corrupt
from neuroplastic.streams.corruptions import CORRUPTIONS

N = 200


@pytest.fixture(scope="module", params=["mnist", "fashion_mnist"])
def clean(request):
    return load_images(request.param)[2][:N]


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_distance_to_clean_grows_with_severity(clean, name):
    dist = [(as_float(corrupt(clean, name, s, seed=0)) - as_float(clean)).flatten(1).norm(dim=1).mean().item()
            for s in range(1, 6)]
    assert dist[0] > 0.05
    assert all(b > a for a, b in zip(dist, dist[1:])), dist


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_deterministic_uint8_same_shape(clean, name):
    a, b = corrupt(clean[:20], name, 3, seed=5), corrupt(clean[:20], name, 3, seed=5)
    assert a.dtype == torch.uint8 and a.shape == clean[:20].shape and torch.equal(a, b)


def test_severity_out_of_range():
    x = torch.rand(2, 1, 28, 28)
    with pytest.raises(ValueError, match="1 to 5"):
        CORRUPTIONS["contrast"](x, 6, torch.Generator())
