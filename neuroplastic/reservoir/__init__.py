"""Reservoir computing: spatial spiking liquids (liquid state machines), the plasticity that
shapes them (STDP, the NALSM astrocyte), and their simulation, a batch of samples at once.

The harness model is ``models.LiquidModel`` (``model.name = "liquid"``); the methods are
``lsm``, ``lsm_stdp`` and ``nalsm``; diagnostics live in ``metrics.criticality``.
"""
from __future__ import annotations

from .liquid import Liquid, spatial_liquid
from .plasticity import Astrocyte, simulate_plastic, synapses
from .simulate import LIFParams, poisson_rates, simulate

__all__ = ["Astrocyte", "LIFParams", "Liquid", "poisson_rates", "simulate", "simulate_plastic", "spatial_liquid",
           "synapses"]
