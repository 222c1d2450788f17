"""SpikingJelly's STDPLearner on the rules benchmark's layer (2000 x 784, batch 256), timed beside two
matrix products in the same process (run in the benchmark venv: .bench/avl/bin/python).
Prints one JSON line: ms per STDP step, ms for two matrix products, and their ratio."""
import json
import os

import torch
from torch import nn
from spikingjelly.activation_based import learning

from _timing import timeit

OUT, IN, B = 2000, 784, 256




torch.manual_seed(0)
syn = nn.Linear(IN, OUT, bias=False)
sn = nn.Identity()
net = nn.Sequential(syn, sn)
learner = learning.STDPLearner(step_mode="s", synapse=syn, sn=sn, tau_pre=2.0, tau_post=2.0)
x = (torch.rand(B, IN) < 0.2).float()


def stdp_step():
    with torch.no_grad():
        net(x)
    learner.step(on_grad=False)


w = syn.weight.detach()
two_mm = timeit(lambda: (x @ w.T).T @ x)
t = timeit(stdp_step)
print(json.dumps({"what": "spikingjelly STDPLearner step", "ms_per_update": 1e3 * t,
                  "two_matmul_ms": 1e3 * two_mm, "slowdown_vs_two_matmuls": t / two_mm,
                  "torch": torch.__version__, "threads": torch.get_num_threads(), "load_avg": os.getloadavg()[0]}))
