"""STDP: the sign follows spike order, the magnitude the trace time constants; hooks on (layer, neurons)."""
import math

import pytest
import torch
from torch import nn

from neuroplastic.rules import RULES, stdp, triplet_stdp


def _pair(delay, fn=stdp, **kw):
    """Total dw of one synapse for a pre spike at t = 20 and a post spike at t = 20 + delay."""
    T = 60
    w = torch.zeros(1, 1, dtype=torch.float64)
    n_state = 2 if fn is stdp else 4
    state = [torch.zeros(1, 1, dtype=torch.float64) for _ in range(n_state)]
    total = 0.0
    for t in range(T):
        pre = torch.tensor([[1.0 if t == 20 else 0.0]], dtype=torch.float64)
        post = torch.tensor([[1.0 if t == 20 + delay else 0.0]], dtype=torch.float64)
        dw, *state = fn(w, pre, post, *state, **kw)
        total += float(dw)
    return total


def test_pre_before_post_potentiates_post_before_pre_depresses():
    assert _pair(+5) > 0 and _pair(-5) < 0
    assert _pair(+5, triplet_stdp) > 0 and _pair(-5, triplet_stdp) < 0


@pytest.mark.parametrize("delay", [1, 4, 12])
def test_magnitude_follows_the_trace_time_constants(delay):
    kw = dict(a_plus=0.02, a_minus=0.03, tau_pre=8.0, tau_post=15.0)
    assert _pair(delay, **kw) == pytest.approx(0.02 * math.exp(-delay / 8.0))
    assert _pair(-delay, **kw) == pytest.approx(-0.03 * math.exp(-delay / 15.0))


def test_stdp_rule_on_a_layer_and_its_neurons():
    class Fire(nn.Module):           # a neuron module whose spikes the test dictates
        def __init__(self):
            super().__init__()
            self.next = None

        def forward(self, current):
            return self.next

    fc, fire = nn.Linear(3, 2, bias=False), Fire()
    with torch.no_grad():
        fc.weight.zero_()
    rule = RULES["stdp"]([(fc, fire)], lr=1.0, a_plus=0.1, a_minus=0.1, tau_pre=5.0, tau_post=5.0)
    seq = [([1, 0, 0], [0, 0]), ([0, 0, 0], [1, 0]), ([0, 0, 1], [0, 0])]   # pre0 -> post0 -> pre2
    for pre, post in seq:
        fire.next = torch.tensor([post], dtype=torch.float32)
        fire(fc(torch.tensor([pre], dtype=torch.float32)))
        rule.step()
    w = fc.weight.detach()
    assert w[0, 0] == pytest.approx(0.1 * math.exp(-1 / 5))       # potentiated: pre 1 step before post
    assert w[0, 2] == pytest.approx(-0.1 * math.exp(-1 / 5))      # depressed: post 1 step before pre
    assert w[1].abs().sum() == 0 and w[0, 1] == 0                  # silent neuron / silent input unchanged
    rule.remove()
    assert not fc._forward_hooks and not fire._forward_hooks
