"""The stability-gap paper's ER (De Lange et al. 2023): the class-balanced memory filled at the end
of each experience and the weighted new/replay losses."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from neuroplastic import methods, models, streams
from neuroplastic.methods._buffer import ClassBalanced


def test_class_balanced_memory_splits_its_size_over_the_classes_seen():
    mem = ClassBalanced(10, torch.Generator().manual_seed(0))
    mem.add_experience(torch.tensor([0] * 8 + [1] * 8), torch.arange(16.0))
    assert {c: len(v[0]) for c, v in mem.classes_.items()} == {0: 5, 1: 5}
    mem.add_experience(torch.tensor([2] * 5 + [3] * 5 + [4] * 2), torch.arange(100.0, 112.0))
    assert {c: len(v[0]) for c, v in mem.classes_.items()} == {0: 2, 1: 2, 2: 2, 3: 2, 4: 2}
    for c, (y, x) in mem.classes_.items():                 # items stay with their labels
        assert (y == c).all() and ((x < 16) == (c < 2)).all()
    y, x = mem.sample(6)
    assert len(y) == 6 and len(set(x.tolist())) == 6


def test_er_weighs_new_and_replayed_losses_apart():
    """new_weight = w: w CE(new) + (1 - w) CE(replay) (ContinualEvaluation's Lw_new)."""
    torch.manual_seed(0)
    stream = streams.make("split", dataset="digits", n_tasks=5, n_train=40, n_test=10, seed=0)
    model = models.make("mlp", in_shape=(1, 8, 8), n_classes=10, widths=(16,))
    er = methods.make("er", storage="class_balanced", new_weight=0.3, buffer_size=20, replay_batch_size=8)
    er.setup(model, torch.optim.SGD(model.parameters(), lr=0.0))
    er.begin(stream[0])
    x, y = streams.as_float(stream[0].train[0][:8]), stream[0].train[1][:8]
    first = er.observe(x, y)
    torch.testing.assert_close(first, 0.3 * F.cross_entropy(model(x), y))      # empty memory: new data only
    er.end(stream[0])
    assert len(er.buffer_) == 20
    er.begin(stream[1])
    g = er.buffer_.generator.get_state()
    x1, y1 = streams.as_float(stream[1].train[0][:8]), stream[1].train[1][:8]
    loss = er.observe(x1, y1)
    er.buffer_.generator.set_state(g)
    my, mx, _ = er.buffer_.sample(8)
    want = 0.3 * F.cross_entropy(model(x1), y1) + 0.7 * F.cross_entropy(model(mx), my)
    torch.testing.assert_close(loss, want)
