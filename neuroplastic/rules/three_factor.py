"""Three-factor learning: an eligibility trace gated by a modulator (Fremaux & Gerstner 2016,
"Neuromodulated STDP, and theory of three-factor learning rules"; Gerstner et al. 2018):

    e <- decay * e + <post pre^T>        (the Hebbian coincidence, kept as a trace)
    dw = M * e                           (M: the third factor, given to ``step(modulator=M)``)

M is a scalar (e.g. a reward prediction error) or one value per output neuron (e.g. a
neuromodulator layer's output). ``decay`` in [0, 1) sets how long a coincidence stays eligible.
State: ``trace`` (n_out, n_in).
"""
from __future__ import annotations

import torch
from torch import Tensor

from ._rule import Rule, check_hyper, common_hyper, is_number, reduce


def three_factor(w: Tensor, pre: Tensor, post: Tensor, trace: Tensor, *, decay: float = 0.9,
                 reduction: str = "mean") -> tuple[Tensor, Tensor]:
    """Returns (dw, new_trace) with dw = the new trace (the modulator scales it in ``step``)."""
    new_trace = decay * trace + reduce(post.T @ pre, reduction, len(pre))
    return new_trace, new_trace


class ThreeFactor(Rule):
    fn = staticmethod(three_factor)
    state_keys = ("trace",)

    def __init__(self, layers, *, lr: float = 0.01, decay: float = 0.9, reduction: str = "mean"):
        check_hyper(is_number(decay) and 0 <= decay < 1, "decay", decay, "a number in [0, 1)")
        super().__init__(layers, common_hyper(lr, reduction, decay=decay))

    def initial_state(self, w, group, pre=None, post=None):
        return {"trace": torch.zeros_like(w)}
