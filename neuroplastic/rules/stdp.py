"""Spike-timing-dependent plasticity with traces, batched over samples.

Pair-based STDP (Song, Miller & Abbott 2000; trace form of Morrison, Diesmann & Gerstner 2008):

    x_pre  <- x_pre  exp(-dt / tau_pre)  + s_pre        (presynaptic trace, per sample)
    dw      = a_plus  <s_post^T x_pre>  -  a_minus <x_post^T s_pre>
    x_post <- x_post exp(-dt / tau_post) + s_post

The post trace used for depression is the one before the current post spikes are added, and the
pre trace used for potentiation includes the current pre spikes, so a pre spike at t and a post
spike at t' >= t potentiate by a_plus exp(-(t' - t) / tau_pre) and a post spike at t' < t depresses
by a_minus exp(-(t - t') / tau_post).

Triplet STDP (Pfister & Gerstner 2006, "minimal" all-to-all model): slow traces r2 (pre, tau_x)
and o2 (post, tau_y) add the triplet terms: potentiation a_plus + a3_plus o2 (o2 before the
current spike), depression a_minus + a3_minus r2 (r2 before the current spike).

Feed the rule pre- and postsynaptic *spikes*: pass ``(layer, neurons)`` pairs so that pre is the
layer's input and post the output of the neuron module after it, e.g.
``STDP([(net.fc, net.lif)])``; one ``step()`` per time step. State: traces of shape (B, n).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ._rule import Rule, batch_scale, check_hyper, common_hyper, is_number


def stdp(w: Tensor, pre: Tensor, post: Tensor, x_pre: Tensor, x_post: Tensor, *, a_plus: float = 0.01,
         a_minus: float = 0.012, tau_pre: float = 20.0, tau_post: float = 20.0, dt: float = 1.0,
         reduction: str = "mean") -> tuple[Tensor, Tensor, Tensor]:
    """Returns (dw, new x_pre, new x_post)."""
    x_pre = x_pre * math.exp(-dt / tau_pre) + pre
    x_post_old = x_post * math.exp(-dt / tau_post)
    scale = batch_scale(reduction, len(pre))
    dw = scale * (a_plus * (post.T @ x_pre) - a_minus * (x_post_old.T @ pre))
    return dw, x_pre, x_post_old + post


def triplet_stdp(w: Tensor, pre: Tensor, post: Tensor, x_pre: Tensor, x_post: Tensor, r2: Tensor, o2: Tensor, *,
                 a_plus: float = 5e-3, a_minus: float = 7e-3, a3_plus: float = 6.2e-3, a3_minus: float = 2.3e-4,
                 tau_pre: float = 16.8, tau_post: float = 33.7, tau_x: float = 101.0, tau_y: float = 125.0,
                 dt: float = 1.0, reduction: str = "mean") -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Returns (dw, x_pre, x_post, r2, o2). Defaults: Pfister & Gerstner 2006, visual cortex
    all-to-all minimal model (Table 4)."""
    x_pre = x_pre * math.exp(-dt / tau_pre) + pre
    x_post_old = x_post * math.exp(-dt / tau_post)
    r2_old = r2 * math.exp(-dt / tau_x)
    o2_old = o2 * math.exp(-dt / tau_y)
    scale = batch_scale(reduction, len(pre))
    ltp = (post * (a_plus + a3_plus * o2_old)).T @ x_pre
    ltd = x_post_old.T @ pre * a_minus + a3_minus * (x_post_old.T @ (pre * r2_old))
    return scale * (ltp - ltd), x_pre, x_post_old + post, r2_old + pre, o2_old + post


class STDP(Rule):
    fn = staticmethod(stdp)
    state_keys = ("x_pre", "x_post")
    per_sample_state = ("x_pre", "x_post")

    def __init__(self, layers, *, lr: float = 1.0, a_plus: float = 0.01, a_minus: float = 0.012,
                 tau_pre: float = 20.0, tau_post: float = 20.0, dt: float = 1.0, reduction: str = "mean"):
        for name, v in (("a_plus", a_plus), ("a_minus", a_minus)):
            check_hyper(is_number(v) and v >= 0, name, v, "a number >= 0")
        for name, v in (("tau_pre", tau_pre), ("tau_post", tau_post), ("dt", dt)):
            check_hyper(is_number(v) and v > 0, name, v, "a number > 0")
        super().__init__(layers, common_hyper(lr, reduction, a_plus=a_plus, a_minus=a_minus, tau_pre=tau_pre,
                                              tau_post=tau_post, dt=dt))

    def initial_state(self, w, group, pre=None, post=None):
        return {"x_pre": torch.zeros_like(pre), "x_post": torch.zeros_like(post)}


class TripletSTDP(Rule):
    """Triplet STDP (Pfister & Gerstner 2006, minimal all-to-all model): pair STDP plus slow traces
    r2 (pre) and o2 (post) that add the triplet terms a3_plus o2 and a3_minus r2."""

    fn = staticmethod(triplet_stdp)
    state_keys = ("x_pre", "x_post", "r2", "o2")
    per_sample_state = ("x_pre", "x_post", "r2", "o2")

    def __init__(self, layers, *, lr: float = 1.0, a_plus: float = 5e-3, a_minus: float = 7e-3,
                 a3_plus: float = 6.2e-3, a3_minus: float = 2.3e-4, tau_pre: float = 16.8, tau_post: float = 33.7,
                 tau_x: float = 101.0, tau_y: float = 125.0, dt: float = 1.0, reduction: str = "mean"):
        for name, v in (("a_plus", a_plus), ("a_minus", a_minus), ("a3_plus", a3_plus), ("a3_minus", a3_minus)):
            check_hyper(is_number(v) and v >= 0, name, v, "a number >= 0")
        for name, v in (("tau_pre", tau_pre), ("tau_post", tau_post), ("tau_x", tau_x), ("tau_y", tau_y), ("dt", dt)):
            check_hyper(is_number(v) and v > 0, name, v, "a number > 0")
        super().__init__(layers, common_hyper(lr, reduction, a_plus=a_plus, a_minus=a_minus, a3_plus=a3_plus,
                                              a3_minus=a3_minus, tau_pre=tau_pre, tau_post=tau_post,
                                              tau_x=tau_x, tau_y=tau_y, dt=dt))

    def initial_state(self, w, group, pre=None, post=None):
        z_pre, z_post = torch.zeros_like(pre), torch.zeros_like(post)
        return {"x_pre": z_pre, "x_post": z_post, "r2": z_pre.clone(), "o2": z_post.clone()}
