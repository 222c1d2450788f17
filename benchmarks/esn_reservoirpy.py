"""reservoirpy's side of the echo-state benchmark (benchmarks/liquid.sh): a 1,000-unit reservoir
(spectral radius 0.9, leak 0.3, recurrent density 0.1, dense input) run over MNIST images read
row by row (28 steps of 28 values), as models/esn.py does; samples/s of the state computation.
reservoirpy's run() takes one sequence at a time (its node is a single network). Prints JSON."""
import json
import os
import sys
import time

import numpy as np
from reservoirpy.nodes import Reservoir

N = int(os.environ.get("ESN_SAMPLES", 200))


def main(npz: str) -> None:
    x = np.load(npz)["images"][:N].astype(np.float32) / 255.0
    res = Reservoir(1000, sr=0.9, lr=0.3, input_scaling=1.0, input_connectivity=1.0, rc_connectivity=0.1,
                    seed=0, dtype=np.float32)
    res.run(x[0])                                      # initialises the weights, not timed
    t = time.perf_counter()
    for img in x:
        res.reset()
        states = res.run(img)
        np.concatenate([states.mean(0), states[-1]])
    print(json.dumps({"impl": "reservoirpy", "esn_samples_per_s": N / (time.perf_counter() - t)}))


if __name__ == "__main__":
    main(sys.argv[1])
