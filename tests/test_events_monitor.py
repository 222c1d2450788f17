"""Saccade/delta event encoding (an offline, event-based analogue of N-MNIST) and spike monitors."""
import matplotlib
import pytest
import torch

from neuroplastic.data import encode
from neuroplastic.neurons import LIF, SpikeMonitor, firing_rates, raster, spike_counts

matplotlib.use("Agg")


def test_saccades_shift_the_image_and_return_to_the_start():
    x = torch.zeros(2, 1, 12, 12)
    x[:, :, 5, 5] = 1.0
    frames = encode.saccades(x, 31, amplitude=2.0)
    assert frames.shape == (31, 2, 1, 12, 12)
    torch.testing.assert_close(frames[0], x)                   # the path starts ...
    torch.testing.assert_close(frames[-1], x, atol=1e-5, rtol=0)   # ... and ends at the origin
    ys, xs = torch.nonzero(frames[10, 0, 0] > 0.5, as_tuple=True)  # first corner: (+2 px, +1 px)
    assert (int(xs[0]), int(ys[0])) == (7, 6)


def test_delta_events_follow_log_intensity_changes():
    frames = torch.tensor([0.1, 0.1, 0.5, 0.5, 0.1]).reshape(5, 1, 1, 1, 1).expand(5, 1, 1, 2, 2)
    ev = encode.delta(frames, threshold=0.5)
    assert ev.shape == (5, 1, 2, 2, 2)
    on, off = ev[:, 0, 0, 0, 0], ev[:, 0, 1, 0, 0]
    assert on.tolist() == [0, 0, 1, 0, 0] and off.tolist() == [0, 0, 0, 0, 1]
    assert ev[0].sum() == 0 and ev[1].sum() == 0                 # no change, no event


def test_saccade_events_of_real_digits_are_sparse_edges():
    from neuroplastic import data
    from neuroplastic.streams import as_float

    x = as_float(data.load("digits")[0][:4])                    # (4, 8, 8)
    ev = encode.saccade_events(x, 12, amplitude=1.0, threshold=0.2)
    assert ev.shape == (12, 4, 2, 8, 8)
    rate = float(ev.mean())
    assert 0 < rate < 0.3                                        # events, mostly silence
    assert ev[:, :, 0].sum() > 0 and ev[:, :, 1].sum() > 0       # both polarities


def test_rate_events_are_bernoulli_spikes_sorted_by_step():
    """Geometric gaps give the Bernoulli process of ``rate``: each input's count over T steps has
    mean T p and variance T p (1 - p), every step is equally likely, p = 1 fires at every step and
    p = 0 never; the events come sorted by (t, b, i)."""
    g = torch.Generator().manual_seed(0)
    T, reps = 50, 400
    p = torch.tensor([[0.0, 0.02, 0.3], [1.0, 0.7, 0.0]])
    counts = torch.zeros(reps, 2, 3)
    per_step = torch.zeros(T)
    for r in range(reps):
        t, b, i = encode.rate_events(p, T, generator=g)
        key = (t * 2 + b) * 3 + i
        assert bool((key[1:] > key[:-1]).all())                  # strictly sorted, no duplicates
        counts[r].index_put_((b, i), torch.ones(len(b)), accumulate=True)
        per_step += torch.bincount(t[(b == 0) & (i == 2)], minlength=T)
    mean, var = counts.mean(0), counts.var(0)
    torch.testing.assert_close(mean, T * p, atol=0.35, rtol=0.03)
    torch.testing.assert_close(var, T * p * (1 - p), atol=0.2, rtol=0.2)
    assert counts[:, 1, 0].eq(T).all() and counts[:, 0, 0].eq(0).all() and counts[:, 1, 2].eq(0).all()
    rate = per_step / reps                                       # p = 0.3 at every step
    assert float(rate.min()) > 0.2 and float(rate.max()) < 0.4
    with pytest.raises(ValueError, match="probabilities in"):
        encode.rate_events(p * 2, T)


def test_monitor_records_counts_rates_and_draws_a_raster(tmp_path):
    lif = LIF(tau_mem=5.0, v_th=1.0)
    current = torch.full((3, 4), 3.0)
    with SpikeMonitor({"lif": lif}) as mon:
        state = None
        for _ in range(20):
            _, state = lif(current, state)
        z = mon.spikes("lif")
    assert z.shape == (20, 3, 4)
    assert not lif._forward_hooks                                # hooks removed on exit
    torch.testing.assert_close(mon.counts("lif"), spike_counts(z))
    assert float(spike_counts(z)[0, 0]) > 0
    torch.testing.assert_close(firing_rates(z, dt_ms=1.0), z.mean(0) * 1000)
    ax = raster(z, sample=0)
    ax.figure.savefig(tmp_path / "raster.png")
    assert (tmp_path / "raster.png").stat().st_size > 1000
    with pytest.raises(KeyError, match="no spikes recorded"):
        SpikeMonitor({"x": lif}).spikes("x")
