"""Local plasticity rules: each a pure function plus a thin ``Rule`` class fed by forward hooks.

>>> rule = neuroplastic.rules.RULES["oja"]([net[0]], lr=1e-3)   # doctest: +SKIP
>>> net(x); rule.step()                                         # doctest: +SKIP
"""
from __future__ import annotations

from .._registry import check_name
from ._rule import Rule
from .bcm import BCM, bcm
from .covariance import Covariance, covariance
from .hebbian import Hebbian, hebbian
from .homeostatic import Homeostatic, synaptic_scaling
from .oja import Oja, oja
from .sanger import Sanger, sanger
from .soft_wta import SoftWTA, soft_wta
from .stdp import STDP, TripletSTDP, stdp, triplet_stdp
from .subspace import Subspace, subspace
from .three_factor import ThreeFactor, three_factor

RULES: dict[str, type[Rule]] = {
    "hebbian": Hebbian, "covariance": Covariance, "oja": Oja, "sanger": Sanger, "subspace": Subspace,
    "soft_wta": SoftWTA, "bcm": BCM, "three_factor": ThreeFactor, "homeostatic": Homeostatic,
    "stdp": STDP, "triplet_stdp": TripletSTDP,
}


def make(name: str, layers, **kwargs) -> Rule:
    from .._registry import check_kwargs

    cls = RULES[check_name(name, RULES, "rule")]
    check_kwargs(cls, kwargs, f"rule {name!r}")
    return cls(layers, **kwargs)


__all__ = ["RULES", "Rule", "make", "bcm", "covariance", "hebbian", "oja", "sanger", "soft_wta",
           "stdp", "subspace", "synaptic_scaling", "three_factor", "triplet_stdp", *[c.__name__ for c in RULES.values()]]
