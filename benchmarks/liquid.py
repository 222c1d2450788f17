"""neuroplastic's side of the liquid benchmark (benchmarks/liquid.sh): the 1,000-neuron NALSM liquid
(seed 0) frozen, SAMPLES MNIST images x 250 ms in batches of BATCH, and the plastic initialisation
phase (STDP + astrocyte, one sample at a time, 20 ms each, PLASTIC samples); and the 1,000-unit
echo-state network over ESN_SAMPLES images. Writes the liquid's synapses and the images to the
.npz given (for Brian2 and reservoirpy) and prints one JSON line."""
import json
import os
import sys
import time

import numpy as np
import torch

from neuroplastic import data
from neuroplastic.metrics.criticality import firing_rate
from neuroplastic.models import EchoStateNetwork
from neuroplastic.reservoir import poisson_rates, simulate, simulate_plastic, spatial_liquid

SAMPLES, BATCH, PLASTIC, ESN = (int(os.environ.get(k, d)) for k, d in
                                (("SAMPLES", 512), ("BATCH", 256), ("PLASTIC", 200), ("ESN_SAMPLES", 2000)))


def main(npz: str) -> None:
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    x = data.load("mnist")[0]
    _, scale = poisson_rates(x)
    rates, _ = poisson_rates(x[:SAMPLES], scale)
    liq = spatial_liquid(generator=torch.Generator().manual_seed(0))
    post, pre = liq.mask.nonzero(as_tuple=True)
    np.savez(npz, post=post.numpy(), pre=pre.numpy(), w=liq.w[post, pre].numpy(), n=liq.n, n_in=liq.n_in,
             rates=rates[:64].numpy(), images=x[:ESN].numpy())
    g = torch.Generator().manual_seed(1)
    simulate(liq, rates[:8], 250, generator=g)                 # warm-up
    t = time.perf_counter()
    counts = torch.cat([simulate(liq, rates[i:i + BATCH], 250, generator=g)[0] for i in range(0, SAMPLES, BATCH)])
    frozen_s = time.perf_counter() - t
    t = time.perf_counter()
    simulate_plastic(liq.clone(), rates[:PLASTIC], 20, generator=g)
    plastic_s = time.perf_counter() - t
    esn = EchoStateNetwork(in_shape=(1, 28, 28), n_classes=10, units=1000)
    images = x[:ESN].float().div(255).unsqueeze(1)
    esn.features(images[:8])
    t = time.perf_counter()
    for i in range(0, ESN, BATCH):
        esn.features(images[i:i + BATCH])
    esn_s = time.perf_counter() - t
    print(json.dumps({"impl": "neuroplastic", "threads": torch.get_num_threads(), "batch": BATCH,
                      "frozen_samples_per_s": SAMPLES / frozen_s, "plastic_samples_per_s": PLASTIC / plastic_s,
                      "esn_samples_per_s": ESN / esn_s, "liquid_hz": firing_rate(counts, 250)}))


if __name__ == "__main__":
    main(sys.argv[1])
