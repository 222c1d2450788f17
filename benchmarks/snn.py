"""LIF MLP training-step speed: neuroplastic vs a plain PyTorch step loop vs snnTorch.

`python benchmarks/snn.py neuroplastic|plain CACHE.npz [cpu|cuda]` (project venv) and
`.bench/avl/bin/python benchmarks/snn.py snntorch|plain CACHE.npz` (benchmark venv).
Protocol (issue 6): LIF MLP 784-1000-10, T = 25, batch 128, rate-coded MNIST (real images from the
cache), tau such that v <- v/2 + x/2 per step, threshold 1, subtractive reset, fast-sigmoid surrogate
(slope 5), spike-count read-out, cross-entropy, Adam; forward + BPTT backward + step per batch, and
forward only. Prints one JSON line with the median ms per batch.
"""
import json
import os
import sys

import numpy as np
import torch
from torch import nn

from _timing import timeit

impl, cache = sys.argv[1], sys.argv[2]
device = torch.device(sys.argv[3] if len(sys.argv) > 3 else "cpu")
T, B, H = 25, 128, 1000
torch.manual_seed(0)
with np.load(cache) as z:
    x_all = torch.from_numpy(z["x_train"][:B * 8].reshape(-1, 784).astype(np.float32) / 255)
    y_all = torch.from_numpy(z["y_train"][:B * 8].astype(np.int64))
batches = [(x_all[i:i + B].to(device), y_all[i:i + B].to(device)) for i in range(0, len(y_all), B)]


class FastSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v):
        ctx.save_for_backward(v)
        return (v >= 0).float()

    @staticmethod
    def backward(ctx, g):
        (v,) = ctx.saved_tensors
        return g / (5 * v.abs() + 1) ** 2


if impl in ("neuroplastic", "neuroplastic_bf16"):
    from neuroplastic.models import SpikingMLP

    net = SpikingMLP(in_shape=(784,), n_classes=10, widths=(H,), T=T, tau_mem=2.0, slope=5.0,
                     precision="bf16" if impl.endswith("bf16") else "fp32")

    def forward(x):
        return net(x)
elif impl == "plain":
    fc1, fc2 = nn.Linear(784, H), nn.Linear(H, 10)
    net = nn.ModuleList([fc1, fc2])

    def forward(x):
        s = (torch.rand(T, *x.shape, device=x.device) < x).float()
        v = torch.zeros(x.shape[0], H, device=x.device)
        count = 0
        for t in range(T):
            v = v + 0.5 * (fc1(s[t]) - v)
            z = FastSigmoid.apply(v - 1.0)
            v = v - z
            count = count + z
        return fc2(count / T)
elif impl == "snntorch":
    import snntorch as snn
    from snntorch import surrogate

    fc1, fc2 = nn.Linear(784, H), nn.Linear(H, 10)
    lif = snn.Leaky(beta=0.5, threshold=1.0, spike_grad=surrogate.fast_sigmoid(slope=5), reset_mechanism="subtract")
    net = nn.ModuleList([fc1, fc2, lif])

    def forward(x):
        s = (torch.rand(T, *x.shape, device=x.device) < x).float()
        mem = lif.init_leaky()
        count = 0
        for t in range(T):
            spk, mem = lif(0.5 * fc1(s[t]), mem)
            count = count + spk
        return fc2(count / T)
else:
    raise SystemExit(f"unknown implementation {impl!r}: neuroplastic, neuroplastic_bf16, plain or snntorch")

net.to(device)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
it = iter(range(10**9))


def train_step():
    x, y = batches[next(it) % len(batches)]
    opt.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(forward(x), y)
    loss.backward()
    opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()


def forward_only():
    with torch.no_grad():
        forward(batches[0][0])
    if device.type == "cuda":
        torch.cuda.synchronize()


train = timeit(train_step, min_s=3.0)
fwd = timeit(forward_only, min_s=2.0)
if device.type == "cuda":
    peak_mb = torch.cuda.max_memory_allocated(device) / 2**20
else:
    import resource
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024     # process peak RSS
print(json.dumps({"impl": impl, "device": str(device), "peak_mb": peak_mb, "train_ms": 1e3 * train, "forward_ms": 1e3 * fwd, "torch": torch.__version__,
                  "threads": torch.get_num_threads(), "load_avg": os.getloadavg()[0]}))
