"""Diehl & Cook (2015): the batched STDP network, its exact shortcuts, and its claim."""
import math

import pytest
import torch

from neuroplastic import data, methods
from neuroplastic.models import DiehlCook
from neuroplastic.models import diehl_cook as dc
from neuroplastic.streams import as_float


def _net(**kw):
    return DiehlCook(in_shape=(1, 28, 28), n_classes=10, **kw)


def test_inhibitory_relay_shortcut_equals_simulating_the_inhibitory_layer(monkeypatch):
    x = as_float(data.load("mnist")[0][:6])
    runs = []
    for relay in (True, False):
        monkeypatch.setattr(dc, "inhibition_is_relay", lambda p, r=relay: r)
        net = _net(time=60)
        g = torch.Generator().manual_seed(1)
        counts = net.simulate(x, learn=dc.DCLearning(), norm=78.4, generator=g)
        runs.append((counts, net.w.detach().clone(), net.theta.clone()))
    assert runs[0][0].sum() > 0
    for a, b in zip(*runs):
        torch.testing.assert_close(a, b)


def test_event_driven_step_equals_the_dense_equations():
    """One learning step from a random state against the dense matrix form of BindsNET's
    network.run + DiehlAndCookNodes + PostPre (with one_spike off)."""
    g = torch.Generator().manual_seed(0)
    B, n_in, n = 5, 30, 8
    p = dc.DCParams(one_spike=False)
    learn = dc.DCLearning()
    w = torch.rand(n_in, n, generator=g)
    theta = torch.rand(n, generator=g)
    s_prev = (torch.rand(B, n_in, generator=g) < 0.3).float()
    s_now = (torch.rand(B, n_in, generator=g) < 0.3).float()
    st = dc.dc_init(B, n_in, n, p)
    st = st._replace(v_exc=-65 + 20 * torch.rand(B, n, generator=g), s_inh=(torch.rand(B, n, generator=g) < 0.2).float(),
                     x_in=torch.rand(B, n_in, generator=g), x_exc=torch.rand(B, n, generator=g),
                     ev=dc.step_events(*s_prev.nonzero(as_tuple=True), B))
    ref = {k: v.clone() for k, v in st._asdict().items() if torch.is_tensor(v)}
    w0, th0 = w.clone(), theta.clone()
    b, i = s_now.nonzero(as_tuple=True)
    out = dc.dc_step(dc.step_events(b, i, B), st, w, theta, p, learn=learn)
    # dense reference
    d = torch.exp(torch.tensor(-1 / 100.0))
    i_exc = s_prev @ w0 - p.inh_to_exc * (ref["s_inh"].sum(1, keepdim=True) - ref["s_inh"])
    v = d * (ref["v_exc"] + 65) - 65 + i_exc
    spk = (v >= -52 + th0 * torch.exp(torch.tensor(-1 / 1e7))).float()
    tr = torch.exp(torch.tensor(-1 / 20.0))
    x_in = torch.where(s_now > 0, 1.0, ref["x_in"] * tr)
    x_exc = torch.where(spk > 0, 1.0, ref["x_exc"] * tr)
    w_ref = (w0 - 1e-4 * s_now.T @ x_exc + 1e-2 * x_in.T @ spk).clamp(0, 1)
    torch.testing.assert_close(out.s_exc, spk)
    torch.testing.assert_close(out.x_in, x_in)
    torch.testing.assert_close(w, w_ref)
    torch.testing.assert_close(out.v_exc, torch.where(spk > 0, -60.0, v))


def _dense_step(s_prev, s_now, st, w, theta, p, learn, prio):
    """The full equations in dense matrix form, nothing skipped (BindsNET's network.run +
    DiehlAndCookNodes with one_spike + PostPre, the inhibitory layer as a one-step relay)."""
    v, ref, s_exc, s_inh, x_in, x_exc = st
    i_exc = s_prev @ w - p.inh_to_exc * (s_inh.sum(1, keepdim=True) - s_inh)
    d = torch.exp(torch.tensor(-p.dt / p.exc_tau))
    v = d * (v - p.exc_rest) + p.exc_rest + torch.where(ref > 0, 0.0, i_exc)
    ref = ref - p.dt
    theta.mul_(torch.exp(torch.tensor(-p.dt / p.tau_theta)))
    crossed = v >= theta + p.exc_thresh
    ref = torch.where(crossed, p.exc_refrac, ref)
    v = torch.where(crossed, p.exc_reset, v)
    theta.add_(p.theta_plus * crossed.float().sum(0))
    top, pick = (crossed * prio).max(1)
    s = torch.nn.functional.one_hot(pick, v.shape[1]).float() * (top > 0).float()[:, None]
    tr = torch.exp(torch.tensor(-p.dt / p.tau_trace))
    x_in = torch.where(s_now > 0, 1.0, x_in * tr)
    x_exc = torch.where(s > 0, 1.0, x_exc * tr)
    w.copy_((w - learn.nu_pre * s_now.T @ x_exc + learn.nu_post * x_in.T @ s).clamp(learn.wmin, learn.wmax))
    return v, ref, s, s_exc, x_in, x_exc


def test_event_driven_steps_with_their_shortcuts_equal_the_dense_equations_over_a_presentation():
    """80 learning steps on two MNIST digits with strong weights, so that neurons fire, inhibit,
    sit out their refractory periods and rest again: the event-driven steps (which skip the work
    known to be zero) track the dense equations step by step."""
    g = torch.Generator().manual_seed(3)
    B, n = 2, 20
    x = as_float(data.load("mnist")[0][:B]).flatten(1)
    p, learn = dc.DCParams(), dc.DCLearning()
    w = 0.3 * torch.rand(784, n, generator=g)
    w_ref, theta, theta_ref = w.clone(), torch.zeros(n), torch.zeros(n)
    st = dc.dc_init(B, 784, n, p)
    ref_st = (st.v_exc.clone(), torch.zeros(B, n), torch.zeros(B, n), torch.zeros(B, n), torch.zeros(B, 784),
              torch.zeros(B, n))
    s_prev = torch.zeros(B, 784)
    fired = refractory_gap = 0
    for t in range(80):
        s_now = (torch.rand(B, 784, generator=g) < 0.2 * x).float()
        prio = torch.rand(n, generator=g) + 1
        st = dc.dc_step(dc.step_events(*s_now.nonzero(as_tuple=True), B), st, w, theta, p, learn=learn, prio=prio)
        ref_st = _dense_step(s_prev, s_now, ref_st, w_ref, theta_ref, p, learn, prio)
        s_prev = s_now
        torch.testing.assert_close(st.s_exc, ref_st[2])
        torch.testing.assert_close(st.v_exc, ref_st[0])
        torch.testing.assert_close(w, w_ref)
        torch.testing.assert_close(theta, theta_ref)
        fired += bool(st.s_exc.any())
        refractory_gap += st.ref_left <= 0
    assert 10 < fired < 70 and refractory_gap > 0, (fired, refractory_gap)   # both paths ran


def test_a_batch_decays_the_thresholds_like_its_samples_shown_one_after_another():
    """batch_time: B samples shown at once stand for B presentations in sequence, so the adaptive
    thresholds decay B presentations' worth (blank images: no spike, decay only)."""
    x = torch.zeros(4, 1, 28, 28, dtype=torch.float64)
    thetas = []
    for batched in (True, False):
        net = _net(time=50, batch_time=batched).double()
        net.params = net.params._replace(tau_theta=1e3)
        net.theta.fill_(1.0)
        net.simulate(x, learn=dc.DCLearning())
        thetas.append(net.theta.clone())
    seq = _net(time=50).double()
    seq.params = seq.params._replace(tau_theta=1e3)
    seq.theta.fill_(1.0)
    for i in range(4):
        seq.simulate(x[i:i + 1], learn=dc.DCLearning())
    torch.testing.assert_close(thetas[0], seq.theta)
    torch.testing.assert_close(thetas[0], torch.full((100,), math.exp(-200 / 1e3), dtype=torch.float64))
    torch.testing.assert_close(thetas[1], torch.full((100,), math.exp(-50 / 1e3), dtype=torch.float64))


def test_one_spike_lets_one_crossing_neuron_per_sample_through():
    g = torch.Generator().manual_seed(0)
    net = _net(time=80)
    x = as_float(data.load("mnist")[0][:8])
    with torch.no_grad():
        net.w.fill_(1.0)                                      # everything crosses at once
    st = dc.dc_init(8, 784, 100, net.params)
    for t in range(5):
        u = torch.rand(8, 784, generator=g) < x.flatten(1) * 0.5
        b, i = u.nonzero(as_tuple=True)
        st = dc.dc_step(dc.step_events(b, i, 8), st, net.w, net.theta, net.params, generator=g)
        assert (st.s_exc.sum(1) <= 1).all()


def test_diehl_cook_learns_digits_from_a_small_stream_without_labels_reaching_the_weights():
    xtr, ytr, xte, yte = data.load("mnist")
    net = _net(time=150)
    m = methods.make("diehl_cook", norm_every=10, label_samples=0).setup(net, torch.optim.SGD(net.parameters(), lr=0))
    w0 = net.w.detach().clone()
    for i in range(0, 600, 50):
        m.observe(as_float(xtr[i:i + 50]), ytr[i:i + 50])
    assert net.w.grad is None and not torch.equal(net.w, w0)
    assert float(net.w.min()) >= 0 and float(net.w.max()) <= 1
    torch.testing.assert_close(net.w.sum(0), torch.full((100,), 78.4), rtol=0.02, atol=0)
    assert float(net.theta.mean()) > 0
    acc = (m.predict(as_float(xte[:300])).argmax(1) == yte[:300]).float().mean()
    assert acc > 0.4, acc                     # chance is 0.1; measured 0.49 after these 600 samples


def test_diehl_cook_needs_its_network():
    from neuroplastic.models import MLP

    mlp = MLP(in_shape=(1, 28, 28), n_classes=10)
    with pytest.raises(TypeError, match="model='diehl_cook'"):
        methods.make("diehl_cook").setup(mlp, torch.optim.SGD(mlp.parameters(), lr=0.1))


@pytest.fixture
def one_thread():
    """Diehl & Cook's steps are small ops: one CPU thread runs them fastest (no fork/join)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.slow
def test_diehl_cook_100_neurons_reaches_80_percent_after_10000_samples(one_thread):
    """The claim (issue 6): one pass over 10,000 MNIST samples, 100 at once, the labelling pass,
    >= 80% on the 10,000 test images (measured: 81.5%; seeds 1-2 of the benchmark: 81.7, 81.5)."""
    from neuroplastic.streams import Experience

    xtr, ytr, xte, yte = data.load("mnist")
    net = _net()
    m = methods.make("diehl_cook").setup(net, torch.optim.SGD(net.parameters(), lr=0))
    for i in range(0, 10000, 100):
        m.observe(as_float(xtr[i:i + 100]), ytr[i:i + 100])
    m.end(Experience(0, (xtr[:10000], ytr[:10000]), (xte, yte), tuple(range(10))))
    acc = torch.cat([m.predict(as_float(xte[i:i + 1000])).argmax(1) for i in range(0, 10000, 1000)]).eq(yte).float().mean()
    assert acc >= 0.80, acc
