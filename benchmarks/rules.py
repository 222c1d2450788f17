"""Local-rule update speed against the machine's float32 matrix-multiply peak, in one run.

`python benchmarks/rules.py [--threads N]`: for a 2000 x 784 layer at batch 256, times
(forward u = x W^T) + (the rule's update) for neuroplastic's soft_wta and oja, and compares:

* peak: the best GFLOP/s of three float32 matrix products timed in the same run at the same
  thread count: the forward's (256 x 784) @ (784 x 2000), the update's (2000 x 256) @ (256 x 784)
  and a square one (1024 on a CPU, 8192 on a GPU); each line also gives the fraction of the
  forward's product alone (``fraction_of_forward_product``), the previous sessions' yardstick;
* outer: the same Oja update written as SpikingJelly's learners write theirs, materialising the
  per-sample outer products as a (batch, out, in) tensor before the batch reduction;
* loop: pytorch-hebbian's Oja reproduced: a Python loop over samples and output neurons
  (timed on a few samples and scaled to the batch).

FLOPs counted: 2 B out in for the forward plus 2 B out in for the Hebbian product (elementwise
terms ignored), so a rule at "100% of peak" costs two matrix products. Prints JSON lines.
"""
import argparse
import json
import os

import torch

from _timing import faults_per_call, keep_freed_memory, timeit, timeit_interleaved

from neuroplastic.rules import oja, soft_wta

OUT, IN, B = 2000, 784, 256




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=B)
    ap.add_argument("--malloc", choices=["default", "keep"], default="default",
                    help="keep: glibc keeps freed memory (no page faults from trimming; "
                         "see _timing.keep_freed_memory)")
    args = ap.parse_args()
    if args.malloc == "keep" and not keep_freed_memory():
        raise SystemExit("--malloc keep needs glibc's mallopt; run with --malloc default")
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    dev, Bn = torch.device(args.device), args.batch
    w = (torch.randn(OUT, IN, generator=g) / IN ** 0.5).to(dev)
    x = torch.rand(Bn, IN, generator=g).to(dev)
    flops = 4 * Bn * OUT * IN
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def step_softwta():
        out = soft_wta(w, x, x @ w.T, tau=1.0)
        sync()
        return out

    def step_oja():
        out = oja(w, x, x @ w.T)
        sync()
        return out

    y_fixed = torch.rand(Bn, OUT, generator=g).to(dev)
    n_sq = 1024 if dev.type == "cpu" else 8192
    a_sq, b_sq = torch.rand(n_sq, n_sq, generator=g).to(dev), torch.rand(n_sq, n_sq, generator=g).to(dev)

    def timed(f):
        def call():
            out = f()
            sync()
            return out
        return call

    # the machine's float32 matmul rate: the best of three shapes, one of them square; the
    # (256 x 784) @ (784 x 2000) forward alone is bimodal here (4.2 or 5.3 ms from one process
    # to the next) while the other two are not, so it alone would flatter the rules in some runs
    products = {"matmul, forward shape": (timed(lambda: x @ w.T), 2 * Bn * OUT * IN),
                "matmul, update shape": (timed(lambda: y_fixed.T @ x), 2 * Bn * OUT * IN),
                f"matmul, {n_sq} square": (timed(lambda: a_sq @ b_sq), 2 * n_sq ** 3)}

    def two_mm():
        out = (x @ w.T).T @ x
        sync()
        return out

    def step_outer():                      # (batch, out, in) outer products, then the mean
        y = x @ w.T
        per_sample = y[:, :, None] * (x[:, None, :] - y[:, :, None] * w[None])
        return per_sample.mean(0)

    def loop_oja(n):                       # per sample, per output neuron (pytorch-hebbian style)
        dw = torch.zeros_like(w)
        for b in range(n):
            for i in range(OUT):
                yi = torch.dot(w[i], x[b])
                dw[i] += yi * (x[b] - yi * w[i])
        return dw / n

    # the products and the batched rules are timed in turn, round after round, so that bursts of
    # other processes on the shared cores hit them alike; the slow references are timed on their own
    batched = {k: f for k, (f, _) in products.items()}
    batched.update({"two matrix products": two_mm, "soft_wta": step_softwta, "oja": step_oja})
    t = timeit_interleaved(batched, min_s=6.0)
    faults = {k: faults_per_call(fn) for k, fn in batched.items()} if dev.type == "cpu" else {}
    rows = [(k, t[k], n / t[k] / 1e9) for k, (_, n) in products.items()]
    peak = max(gf for _, _, gf in rows)
    forward = rows[0][2]
    rows.insert(0, ("matmul peak", None, peak))
    rows += [(k, t[k], flops / t[k] / 1e9) for k in ("two matrix products", "soft_wta", "oja")]
    if Bn * OUT * IN <= 2**31:
        t_outer = timeit(lambda: (step_outer(), sync()))
        rows.append(("oja as (B, out, in) outer", t_outer, flops / t_outer / 1e9))
    if dev.type == "cpu":
        n_loop = 2
        t_loop = timeit(lambda: loop_oja(n_loop), min_s=2.0) * Bn / n_loop
        rows.append(("oja as Python loop (scaled to batch)", t_loop, flops / t_loop / 1e9))
    load = os.getloadavg()[0]
    t_oja = t["oja"]
    for name, sec, gf in rows:
        print(json.dumps({"what": name, "ms_per_update": None if sec is None else 1e3 * sec, "gflops": gf,
                          "fraction_of_peak": gf / peak, "fraction_of_forward_product": gf / forward,
                          "slowdown_vs_oja": None if sec is None else sec / t_oja,
                          "threads": args.threads, "device": str(dev), "batch": Bn, "load_avg": load,
                          "malloc": args.malloc, "page_faults_per_call": faults.get(name)}))


if __name__ == "__main__":
    main()
