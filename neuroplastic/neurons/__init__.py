"""Spiking neurons: pure ``*_step(x, state, params)`` functions with NamedTuple state and params,
thin modules, surrogate gradients, and ``unroll`` / ``lif_multistep`` over time."""
from .alif import ALIF, ALIFParams, ALIFState, alif_init, alif_step
from .lif import LIF, LIFParams, LIFState, lif_init, lif_step
from .monitor import SpikeMonitor, firing_rates, raster, spike_counts
from .surrogate import SURROGATES, arctan, fast_sigmoid, spike, triangle
from .ottt import ottt_pass
from .unroll import lif_multistep, unroll

__all__ = ["ALIF", "ALIFParams", "ALIFState", "LIF", "LIFParams", "LIFState", "SURROGATES", "SpikeMonitor", "firing_rates", "raster", "spike_counts", "alif_init",
           "alif_step", "arctan", "fast_sigmoid", "lif_init", "lif_multistep", "lif_step", "ottt_pass", "spike",
           "triangle", "unroll"]
