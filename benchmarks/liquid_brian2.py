"""Brian2's side of the liquid benchmark: the same synapses (read from the .npz that liquid.py
wrote), the same LIF constants (tau 64 ms, threshold 20, reset 0, refractory 2 ms), clock-driven
at 1 ms with Cython code generation, one sample at a time as Brian2 simulates one network: each
sample's Poisson rates set, 250 ms run. Differences from the liquid it times, none of which
changes the work per step by much: the input neurons are a PoissonGroup (no LIF layer in between),
and synaptic currents add up over a neuron's spikes (exact exponential, tau 1 ms) where the
official kernel keeps only the last one. The plastic phase adds trace STDP on every synapse
(20 ms per sample) with a fixed depression rate. Prints one JSON line."""
import json
import os
import sys
import time

import numpy as np
from brian2 import Hz, Network, NeuronGroup, PoissonGroup, Synapses, defaultclock, ms, prefs, start_scope

SAMPLES, PLASTIC = int(os.environ.get("BRIAN_SAMPLES", 16)), int(os.environ.get("BRIAN_PLASTIC", 50))


def build(z, plastic: bool):
    start_scope()
    defaultclock.dt = 1 * ms
    n, n_in = int(z["n"]), int(z["n_in"])
    liquid = NeuronGroup(n, "dv/dt = -v / (64*ms) + g / ms : 1 (unless refractory)\ndg/dt = -g / ms : 1",
                         threshold="v >= 20", reset="v = 0", refractory=2 * ms, method="exact")
    inputs = PoissonGroup(n_in, rates=np.zeros(n_in) * Hz)
    post, pre, w = z["post"], z["pre"], z["w"]
    rec, inp = pre < n, pre >= n
    model = "w : 1"
    on_pre, on_post = "g_post += w", None
    if plastic:
        model = """w : 1
                   dxpre/dt = -xpre / (10*ms) : 1 (event-driven)
                   dxpost/dt = -xpost / (10*ms) : 1 (event-driven)"""
        on_pre = "g_post += w\nxpre += 0.1\nw = clip(w - 0.15 * xpost, -3, 3)"
        on_post = "xpost += 0.1\nw = clip(w + 0.15 * xpre, -3, 3)"
    s_rec = Synapses(liquid, liquid, model, on_pre=on_pre, on_post=on_post)
    s_rec.connect(i=pre[rec], j=post[rec])
    s_rec.w = w[rec]
    s_in = Synapses(inputs, liquid, model, on_pre=on_pre, on_post=on_post)
    s_in.connect(i=pre[inp] - n, j=post[inp])
    s_in.w = w[inp]
    return Network(liquid, inputs, s_rec, s_in), inputs


def timed(z, plastic: bool, samples: int, ms_each: int) -> float:
    net, inputs = build(z, plastic)
    rates = z["rates"]
    net.run(0 * ms)                               # code generation and compilation, not timed
    start = time.perf_counter()
    for i in range(samples):
        inputs.rates = rates[i % len(rates)] * 1000 * Hz      # probability per 1-ms step -> Hz
        net.run(ms_each * ms)
    return samples / (time.perf_counter() - start)


def main(npz: str) -> None:
    prefs.codegen.target = os.environ.get("BRIAN_TARGET", "cython")
    z = np.load(npz)
    print(json.dumps({"impl": "brian2", "target": prefs.codegen.target,
                      "frozen_samples_per_s": timed(z, False, SAMPLES, 250),
                      "plastic_samples_per_s": timed(z, True, PLASTIC, 20)}))


if __name__ == "__main__":
    main(sys.argv[1])
