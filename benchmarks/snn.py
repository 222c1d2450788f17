"""LIF MLP training-step speed: neuroplastic vs a plain PyTorch step loop, snnTorch, SpikingJelly, Norse.

`python benchmarks/snn.py neuroplastic|plain CACHE.npz [cpu|cuda]` (project venv) and
`.bench/avl/bin/python benchmarks/snn.py snntorch|spikingjelly|norse|plain CACHE.npz` (benchmark venv).
Protocol (issue 6): LIF MLP 784-1000-10, T = 25, batch 128, rate-coded MNIST (real images from the
cache), tau such that v <- v/2 + x/2 per step, threshold 1, subtractive reset, fast-sigmoid surrogate
(slope 5), spike-count read-out, cross-entropy, Adam; forward + BPTT backward + step per batch, and
forward only. Prints one JSON line with the median ms per batch. ``SNN_ACCURACY=N``: instead, N
training steps on shuffled MNIST (the same order for every implementation; the same initial
weights where the layers are created in the same order), then the accuracy on the 10,000 test
images (rate-coded, T = 25).
"""
import json
import os
import sys
import time

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
elif impl == "spikingjelly":
    # SpikingJelly 2.x: multi-step LIFNode (its fused lif_multi_step over all T), soft reset
    # (v_reset=None), SuperSpike = fast sigmoid; the input layer applied to all T steps at once.
    from spikingjelly.activation_based import functional as sjf, neuron, surrogate as sjs

    fc1, fc2 = nn.Linear(784, H), nn.Linear(H, 10)
    lif = neuron.LIFNode(tau=2.0, v_threshold=1.0, v_reset=None, step_mode="m",
                         surrogate_function=sjs.SuperSpike(alpha=5.0))
    net = nn.ModuleList([fc1, fc2, lif])

    def forward(x):
        sjf.reset_net(net)
        s = (torch.rand(T, *x.shape, device=x.device) < x).float()
        spikes = lif(fc1(s.flatten(0, 1)).unflatten(0, (T, x.shape[0])))
        return fc2(spikes.mean(0))
elif impl == "norse":
    # Norse 1.x: LIFBoxCell (LIF without synaptic current), dt * tau_mem_inv = 0.5 so that
    # v <- v + (x - v)/2, subtractive reset, SuperSpike (fast sigmoid) with alpha 5, one cell call per step.
    from norse.torch import LIFBoxCell, LIFBoxParameters
    from norse.torch.functional.reset import reset_subtract

    fc1, fc2 = nn.Linear(784, H), nn.Linear(H, 10)
    lif = LIFBoxCell(LIFBoxParameters(tau_mem_inv=torch.tensor(500.0), v_th=torch.tensor(1.0),
                                      method="super", alpha=torch.tensor(5.0), reset_method=reset_subtract), dt=1e-3)
    net = nn.ModuleList([fc1, fc2, lif])

    def forward(x):
        s = (torch.rand(T, *x.shape, device=x.device) < x).float()
        state, count = None, 0
        for t in range(T):
            z, state = lif(fc1(s[t]), state)
            count = count + z
        return fc2(count / T)
else:
    raise SystemExit(f"unknown implementation {impl!r}: neuroplastic, neuroplastic_bf16, plain, snntorch, spikingjelly or norse")

import resource


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


net.to(device)
rss_before = rss_mb()
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


def rss_anon_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("RssAnon")) / 1024


anon = {"before": 0.0, "peak": 0.0}
if os.environ.get("SNN_ACCURACY"):  # accuracy pass: SNN_ACCURACY training steps over shuffled MNIST, then the test set
    steps = int(os.environ["SNN_ACCURACY"])
    with np.load(cache) as z:
        xtr = torch.from_numpy(z["x_train"].reshape(-1, 784)).float().div_(255)
        ytr = torch.from_numpy(z["y_train"].astype(np.int64))
        xte = torch.from_numpy(z["x_test"].reshape(-1, 784)).float().div_(255)
        yte = torch.from_numpy(z["y_test"].astype(np.int64))
    order = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(0))
    t0 = time.perf_counter()
    for k in range(steps):
        idx = order[(k * B) % len(order):][:B]
        x, y = xtr[idx].to(device), ytr[idx].to(device)
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(forward(x), y).backward()
        opt.step()
    t_train = time.perf_counter() - t0
    with torch.no_grad():
        correct = sum(int((forward(xte[i:i + 1000].to(device)).argmax(1).cpu() == yte[i:i + 1000]).sum())
                      for i in range(0, len(yte), 1000))
    print(json.dumps({"impl": impl, "device": str(device), "steps": steps, "batch": B, "test_accuracy": correct / len(yte),
                      "train_s": t_train, "torch": torch.__version__, "threads": torch.get_num_threads()}))
    raise SystemExit(0)
if os.environ.get("SNN_MEMORY"):     # memory pass (snn.sh runs it with MALLOC_MMAP_THRESHOLD_): 5 steps
    import threading                  # sample the anonymous (data) RSS; ru_maxrss also counts code pages
    anon["before"] = anon["peak"] = rss_anon_mb()

    def sample():
        while True:
            anon["peak"] = max(anon["peak"], rss_anon_mb())
            time.sleep(2e-4)
    threading.Thread(target=sample, daemon=True).start()
    for _ in range(5):
        train_step()
    time.sleep(0.01)
    train = fwd = float("nan")
else:
    train = timeit(train_step, min_s=3.0)
    fwd = timeit(forward_only, min_s=2.0)
if device.type == "cuda":
    peak_mb = torch.cuda.max_memory_allocated(device) / 2**20
else:   # growth of the process peak RSS over the set-up
    peak_mb = rss_mb() - rss_before
print(json.dumps({"impl": impl, "device": str(device), "peak_mb": peak_mb, "peak_anon_mb": anon["peak"] - anon["before"], "train_ms": 1e3 * train, "forward_ms": 1e3 * fwd, "torch": torch.__version__,
                  "threads": torch.get_num_threads(), "load_avg": os.getloadavg()[0], "memory_pass": bool(os.environ.get("SNN_MEMORY"))}))
