import pytest
import torch

from neuroplastic import ConfigError, streams
from neuroplastic.streams import Experience
from neuroplastic.streams.concept_shift import rates_per_epoch
from neuroplastic.streams.power_law import recurrence_probabilities

SMALL = {
    "permuted": dict(n_tasks=3, n_train=60, n_test=30),
    "split": dict(n_tasks=5, n_train=40, n_test=20),
    "rotated": dict(n_tasks=3, n_train=60, n_test=30),
    "concept_shift": dict(epochs=2, swaps_per_epoch=3, n_train=90, n_test=30),
    "corrupted": dict(corruptions=["gaussian_noise", "rotation"], severities=[1, 5], n_test=30),
    "domain_shift": dict(n_test=200),
    "shuffled_labels": dict(n_tasks=3, n_train=50),
    "power_law": dict(n_tasks=4, rehearsals_per_task=2, n_rehearse=10, n_train=60, n_test=30),
}


def build(name, **over):
    return streams.make(name, **{**SMALL[name], **over})


def test_every_registered_stream_is_covered():
    assert set(SMALL) == set(streams.STREAMS)


@pytest.mark.parametrize("name", list(streams.STREAMS))
def test_shapes_dtypes_and_indices(name):
    stream = build(name)
    assert stream and all(isinstance(e, Experience) for e in stream)
    assert [e.index for e in stream] == list(range(len(stream)))
    for e in stream:
        for x, y in (e.train, e.test):
            assert x.dtype == torch.uint8 and tuple(x.shape[1:]) == (1, 28, 28)
            assert y.dtype == torch.int64 and len(x) == len(y)
            assert set(y.tolist()) <= set(range(10))
        assert len(e.test[1]) > 0


@pytest.mark.parametrize("name", list(streams.STREAMS))
def test_same_seed_same_tensors_other_seed_differs(name):
    a, b, c = build(name, seed=1), build(name, seed=1), build(name, seed=2)
    assert len(a) == len(b)
    for ea, eb in zip(a, b):
        for part in ("train", "test"):
            for ta, tb in zip(getattr(ea, part), getattr(eb, part)):
                assert torch.equal(ta, tb)
    assert any(not torch.equal(ea.test[0], ec.test[0]) for ea, ec in zip(a, c))


def test_permuted_tasks_hide_identity_and_differ():
    s = build("permuted")
    assert all(e.task is None and e.classes == tuple(range(10)) for e in s)
    perms = [e.meta["permutation"] for e in s]
    assert all(sorted(p.tolist()) == list(range(784)) for p in perms)
    assert not torch.equal(perms[0], perms[1])
    assert not torch.equal(perms[0], torch.arange(784))          # HLOP: every task permuted
    first = build("permuted", first_unpermuted=True)
    assert torch.equal(first[0].meta["permutation"], torch.arange(784))
    assert [e.task for e in build("permuted", task_labels=True)] == [0, 1, 2]


def test_permuted_applies_the_permutation_to_the_same_images():
    s = build("permuted", first_unpermuted=True)
    # same seed draws the same image subset for each task only if the draw is shared; check content
    x1, perm = s[1].test[0].reshape(-1, 784), s[1].meta["permutation"]
    inv = torch.argsort(perm)
    restored = x1[:, inv]
    assert restored.float().mean() == pytest.approx(x1.float().mean())   # a permutation keeps pixels
    assert (restored.reshape(-1, 28, 28)[:, :3, :].float().mean()
            < x1.reshape(-1, 28, 28)[:, :3, :].float().mean())           # MNIST's border is dark


@pytest.mark.parametrize("scenario", ["class", "task"])
def test_split_classes_partition_and_task_ids(scenario):
    s = build("split", scenario=scenario)
    seen = [c for e in s for c in e.classes]
    assert sorted(seen) == list(range(10)) and all(len(e.classes) == 2 for e in s)
    for e in s:
        assert set(e.train[1].tolist()) == set(e.test[1].tolist()) == set(e.classes)
    assert [e.task for e in s] == ([None] * 5 if scenario == "class" else list(range(5)))


def test_split_class_order_follows_seed_and_base_plus_t():
    assert build("split", seed=0)[0].meta["class_order"] != build("split", seed=3)[0].meta["class_order"]
    assert [e.classes for e in build("split", shuffle_classes=False)] == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    bt = build("split", base=5, n_tasks=5)
    assert [len(e.classes) for e in bt] == [5, 1, 1, 1, 1, 1]
    with pytest.raises(ConfigError, match="n_tasks dividing"):
        build("split", n_tasks=3)


def test_split_works_on_fashion_and_digits():
    f = streams.make("split", dataset="fashion_mnist", n_train=10, n_test=10)
    d = streams.make("split", dataset="digits", n_train=10, n_test=10)
    assert tuple(f[0].train[0].shape[1:]) == (1, 28, 28) and tuple(d[0].train[0].shape[1:]) == (1, 8, 8)


def test_rotated_angles():
    s = build("rotated")
    assert [e.meta["angle"] for e in s] == [0.0, 60.0, 120.0]
    assert [e.meta["angle"] for e in build("rotated", angles=[10, 20])] == [10.0, 20.0]
    # rotating by 0 degrees leaves images (almost) unchanged; 120 degrees moves mass
    plain = streams.make("rotated", angles=[0.0, 120.0], n_train=60, n_test=30)
    d0 = (plain[0].test[0].float() - plain[1].test[0].float()).abs().mean()
    assert d0 > 10


def test_concept_shift_swaps_follow_the_protocol():
    s = build("concept_shift")
    assert len(s) == 2 * 3                                   # epochs x swaps_per_epoch stretches
    maps = [torch.tensor(e.meta["mapping"]) for e in s]
    assert torch.equal(maps[0], torch.arange(10))
    for prev, cur in zip(maps, maps[1:]):
        assert (prev != cur).sum() == 2                      # exactly two labels swapped
        assert sorted(cur.tolist()) == list(range(10))
    assert all(e.task is None for e in s)
    # the test labels follow the same mapping (tests share images, not labels)
    base = s[0].test[1]
    for e, m in zip(s, maps):
        assert torch.equal(e.test[1], m[base]) and e.test[0] is s[0].test[0]
    # one epoch covers the training set once
    assert sum(len(e.train[1]) for e in s if e.meta["epoch"] == 0) == 90


def test_concept_shift_without_swaps_and_with_drift():
    s = build("concept_shift", swaps_per_epoch=0)
    assert len(s) == 2 and all(e.meta["mapping"] == tuple(range(10)) for e in s)
    assert rates_per_epoch(1, 5, 9) == [1, 3, 5, 7, 9]
    assert rates_per_epoch([0, 2], 2, None) == [0, 2]
    drift = build("concept_shift", epochs=3, swaps_per_epoch=1, drift_to=5)
    assert [e.meta["rate"] for e in drift if e.meta["swaps_before"] == 0] == [1]
    assert len(drift) == 1 + 3 + 5
    with pytest.raises(ConfigError):
        rates_per_epoch([1], 2, None)


def test_corrupted_has_one_experience_per_corruption_and_severity():
    s = build("corrupted")
    assert [(e.meta["corruption"], e.meta["severity"]) for e in s] == [
        ("gaussian_noise", 1), ("gaussian_noise", 5), ("rotation", 1), ("rotation", 5)]
    assert all(len(e.train[1]) == 0 for e in s)             # source model trains on clean data
    assert all(torch.equal(e.test[1], s[0].test[1]) for e in s)
    with pytest.raises(ConfigError, match="Did you mean 'fog'"):
        build("corrupted", corruptions=["fogg"])


def test_power_law_probabilities_and_sequence():
    p = recurrence_probabilities(torch.tensor([0, 1, 3, 7]), 1.0)
    assert torch.allclose(p, torch.tensor([1, 1 / 2, 1 / 4, 1 / 8], dtype=torch.float64) / (1 + 1 / 2 + 1 / 4 + 1 / 8))
    s = build("power_law")
    kinds = [e.meta["kind"] for e in s]
    assert kinds.count("new") == 4 and kinds.count("rehearsal") == 3 * 2
    for pos, e in enumerate(s):
        if e.meta["kind"] == "rehearsal":
            introduced = {x.meta["task_id"] for x in s[:pos] if x.meta["kind"] == "new"}
            assert e.meta["task_id"] in introduced and len(e.train[1]) == 10


def test_power_law_prefers_recent_tasks():
    s = streams.make("power_law", n_tasks=8, rehearsals_per_task=30, n_rehearse=1, n_train=20, n_test=5, alpha=2.0)
    gaps = []
    for pos, e in enumerate(s):
        if e.meta["kind"] == "rehearsal":
            last = max(i for i in range(pos) if s[i].meta["task_id"] == e.meta["task_id"])
            gaps.append(pos - last)
    assert sum(g == 1 for g in gaps) > len(gaps) / 2         # p(Delta=0) dominates at alpha=2


def test_bad_arguments_are_rejected_with_the_fix():
    with pytest.raises(ConfigError, match="Did you mean 'n_tasks'"):
        streams.make("permuted", n_task=3)
    with pytest.raises(ConfigError, match="only .* available"):
        streams.make("split", n_train=10**6)
    with pytest.raises(ConfigError, match="does not work on dataset"):
        streams.make("corrupted", dataset="digits")
    with pytest.raises(ConfigError, match="non-negative"):
        streams.make("permuted", n_train=-1)
