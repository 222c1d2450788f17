"""Spiking neurons against closed forms, a hand-computed sequence, gradchecks, and the fused path."""
import math

import pytest
import torch

from neuroplastic.neurons import (ALIFParams, LIFParams, alif_init, alif_step, lif_init, lif_multistep,
                                  lif_step, unroll)
from neuroplastic.neurons.surrogate import SURROGATES


def test_lif_constant_current_matches_the_closed_form():
    tau, I, v_th = 10.0, 1.5, 1.0
    p = LIFParams(tau_mem=tau, v_th=v_th, reset="zero")
    x = torch.full((200, 1, 1), I, dtype=torch.float64)
    z, _ = unroll(lif_step, x, params=p)
    spikes = z.flatten().nonzero().flatten().tolist()
    n_first = math.ceil(math.log(1 - v_th / I) / math.log(1 - 1 / tau))   # v[n] = I (1 - (1 - 1/tau)^n)
    assert spikes[0] + 1 == n_first                                        # step index t -> v[t + 1]
    periods = {b - a for a, b in zip(spikes, spikes[1:])}
    assert periods == {n_first}                                            # reset to zero: same every time
    assert z.sum().item() == len(range(n_first - 1, 200, n_first))


def test_lif_below_threshold_never_fires():
    z, s = unroll(lif_step, torch.full((300, 2, 3), 0.99), params=LIFParams(tau_mem=5.0))
    assert z.sum() == 0 and torch.allclose(s.v, torch.full((2, 3), 0.99), atol=1e-3)


def test_lif_hand_computed_sequence_current_based_with_subtractive_reset():
    p = LIFParams(tau_mem=2.0, tau_syn=4.0, v_th=1.0, reset="subtract")
    s = lif_init(torch.zeros(1))
    out = []
    for x in [2.0, 0.0, 1.0]:
        z, s = lif_step(torch.tensor([x]), s, p)
        out.append((round(float(z), 6), round(float(s.v), 6), round(float(s.i), 6)))
    # t0: i = 2, v = 0 + 0.5 (0 - 0 + 2) = 1.0 -> spike, v = 0
    # t1: i = 2 * 0.75 = 1.5, v = 0 + 0.5 * 1.5 = 0.75 -> no spike
    # t2: i = 1.5 * 0.75 + 1 = 2.125, v = 0.75 + 0.5 (2.125 - 0.75) = 1.4375 -> spike, v = 0.4375
    assert out == [(1.0, 0.0, 2.0), (0.0, 0.75, 1.5), (1.0, 0.4375, 2.125)]


def test_alif_threshold_adapts_and_slows_firing():
    x = torch.full((400, 1), 1.3)
    plain, _ = unroll(alif_step, x, params=ALIFParams(beta=0.0, tau_mem=10.0), init=alif_init)
    adapt, s = unroll(alif_step, x, params=ALIFParams(beta=0.5, tau_mem=10.0, tau_adapt=100.0), init=alif_init)
    assert adapt.sum() < plain.sum() and s.a.item() > 0


def _primitive(kind, v, slope, width):
    if kind == "fast_sigmoid":
        return v / (1 + slope * v.abs())
    if kind == "arctan":
        return torch.atan(math.pi / 2 * slope * v) / math.pi + 0.5
    inner = slope * (v / width - v * v.abs() / (2 * width * width))
    return torch.where(v.abs() < width, inner, torch.sign(v) * slope / 2)


@pytest.mark.parametrize("kind,slope,width", [("fast_sigmoid", 10.0, 1.0), ("arctan", 2.0, 1.0),
                                              ("triangle", 1.5, 0.7)])
def test_surrogate_is_the_derivative_of_its_smooth_primitive(kind, slope, width):
    class Smooth(torch.autograd.Function):
        @staticmethod
        def forward(ctx, v):
            ctx.save_for_backward(v)
            return _primitive(kind, v, slope, width)

        @staticmethod
        def backward(ctx, g):
            (v,) = ctx.saved_tensors
            return g * SURROGATES[kind](v, slope, width)

    g = torch.Generator().manual_seed(0)
    v = (torch.rand(40, generator=g, dtype=torch.float64) - 0.5) * 3
    v = v[(v.abs() > 0.05) & ((v.abs() - width).abs() > 0.05)].requires_grad_()   # away from kinks
    assert torch.autograd.gradcheck(Smooth.apply, (v,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("v_th,v_leak", [(1.0, 0.0), (0.7, 0.1)])
@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("kind", list(SURROGATES))
def test_multistep_equals_the_step_loop(reset, kind, v_th, v_leak):
    g = torch.Generator().manual_seed(1)
    xs = torch.rand(25, 8, 30, generator=g, dtype=torch.float64) * 2.5
    p = LIFParams(tau_mem=4.0, v_th=v_th, v_leak=v_leak, reset=reset, surrogate=kind, slope=5.0)
    a = xs.clone().requires_grad_()
    b = xs.clone().requires_grad_()
    z_ref, s_ref = unroll(lif_step, a, params=p)
    z, v = lif_multistep(b, p)
    assert z.sum() > 0 and torch.equal(z, z_ref)
    assert torch.allclose(v, s_ref.v, atol=1e-6)
    w = torch.rand(z.shape, generator=g, dtype=torch.float64)               # an arbitrary loss
    ((z_ref * w).sum() + s_ref.v.sum()).backward()
    ((z * w).sum() + v.sum()).backward()
    assert torch.allclose(a.grad, b.grad, atol=1e-6)


def test_bad_neuron_parameters():
    with pytest.raises(ValueError, match="reset"):
        lif_step(torch.zeros(1), lif_init(torch.zeros(1)), LIFParams(reset="bounce"))
    with pytest.raises(ValueError, match="surrogate"):
        lif_step(torch.ones(1), lif_init(torch.zeros(1)), LIFParams(surrogate="tanh"))


def test_encoders_and_decoders():
    from neuroplastic.data import encode

    g = torch.Generator().manual_seed(0)
    x = torch.tensor([0.0, 0.25, 1.0])
    z = encode.rate(x.expand(4000, 3), 1, generator=g)[0]
    assert torch.allclose(z.mean(0), x, atol=0.03)
    lat = encode.latency(torch.tensor([1.0, 0.5, 0.0]), 11)
    assert lat.sum(0).tolist() == [1.0, 1.0, 0.0]
    assert encode.first_spike(lat).tolist() == [0, 5, 11]
    assert encode.spike_count(lat).tolist() == [1.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        encode.rate(torch.tensor([2.0]), 3)


@pytest.mark.parametrize("kind", list(SURROGATES))
def test_in_place_surrogates_equal_the_pure_functions(kind):
    from neuroplastic.neurons.surrogate import surrogate_

    v = torch.linspace(-3, 3, 601, dtype=torch.float64)
    assert torch.allclose(surrogate_(v.clone(), kind, 3.0, 0.7), SURROGATES[kind](v, 3.0, 0.7), atol=1e-12)
    with pytest.raises(ValueError, match="surrogate"):
        surrogate_(v.clone(), "tanh", 1.0)


def test_multistep_with_decay_one_and_its_single_backward():
    """tau_mem = dt (decay 1): the final membrane's gradient still reaches the last input; the
    fused backward reuses its saved buffer, so a second backward says what to do."""
    g = torch.Generator().manual_seed(2)
    xs = torch.rand(7, 3, 5, generator=g, dtype=torch.float64) * 2
    p = LIFParams(tau_mem=1.0, reset="zero", slope=2.0)
    a, b = xs.clone().requires_grad_(), xs.clone().requires_grad_()
    z_ref, s_ref = unroll(lif_step, a, params=p)
    z, v = lif_multistep(b, p)
    (z_ref.sum() + 3 * s_ref.v.sum()).backward()
    loss = z.sum() + 3 * v.sum()
    loss.backward(retain_graph=True)
    assert torch.allclose(a.grad, b.grad, atol=1e-9)
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()
