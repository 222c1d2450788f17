"""Diehl & Cook (2015), 100 excitatory neurons, 350 ms per sample: training speed and accuracy.

`python benchmarks/diehl_cook.py [--device cpu|cuda] [--batch B] [--train N] [--test M]`
trains on the first N MNIST training images (one pass, B samples at once), runs the paper's
labelling pass on them (learning off), and tests on the first M test images. Prints one JSON
line: training samples/s (the simulation with STDP, excluding the labelling pass), the labelling
and test throughput, the accuracy, and the ratio to BindsNET 0.3.4's 8.7 samples/s measured on
one thread of this project's 2-core machine (issue 6; not rerun here).
"""
import argparse
import json
import os
import time

import torch

from neuroplastic import data, methods
from neuroplastic.models import DiehlCook
from neuroplastic.streams import Experience, as_float

BINDSNET_SAMPLES_PER_S = 8.7


def settings(items):
    """KEY=VALUE strings -> a dict, each value read as JSON (numbers, true/false)."""
    return {k: json.loads(v) for k, v in (item.split("=", 1) for item in items)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--train", type=int, default=10000)
    ap.add_argument("--test", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (BindsNET's figure is one thread)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a diehl_cook method setting, e.g. --set min_spikes=5 (repeatable)")
    ap.add_argument("--model", action="append", default=[], metavar="KEY=VALUE",
                    help="a DiehlCook model setting, e.g. --model batch_time=false (repeatable)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    xtr, ytr, xte, yte = data.load("mnist")
    xtr, ytr = xtr[: args.train].to(dev), ytr[: args.train].to(dev)
    torch.manual_seed(args.seed)
    model_kw = settings(args.model)
    net = DiehlCook(in_shape=(1, 28, 28), n_classes=10, seed=args.seed, **model_kw).to(dev)
    kw = settings(args.set)
    m = methods.make("diehl_cook", seed=args.seed, **kw).setup(net, torch.optim.SGD(net.parameters(), lr=0))
    sync()
    t0 = time.perf_counter()
    for i in range(0, len(xtr), args.batch):
        m.observe(as_float(xtr[i:i + args.batch]), ytr[i:i + args.batch])
    sync()
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    m.end(Experience(0, (xtr, ytr), (xte, yte), tuple(range(10))))
    sync()
    t_label = time.perf_counter() - t0
    t0 = time.perf_counter()
    correct = 0
    for i in range(0, args.test, 1000):
        xb = as_float(xte[i:min(i + 1000, args.test)]).to(dev)
        correct += int((m.predict(xb).argmax(1).cpu() == yte[i:i + len(xb)]).sum())
    sync()
    t_test = time.perf_counter() - t0
    sps = args.train / t_train
    print(json.dumps({"what": "diehl_cook", "device": str(dev), "batch": args.batch, "train_samples": args.train,
                      "train_samples_per_s": sps, "label_samples_per_s": args.train / t_label,
                      "test_samples_per_s": args.test / t_test, "test_images": args.test,
                      "accuracy": correct / args.test, "speedup_vs_bindsnet_8.7": sps / BINDSNET_SAMPLES_PER_S,
                      "settings": kw, "model": model_kw, "threads": torch.get_num_threads(), "load_avg": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
