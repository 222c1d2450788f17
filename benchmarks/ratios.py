"""Ratios of the engine benchmark: `python ratios.py engine.jsonl` (means over the seeds run)."""
import json
import sys
from collections import defaultdict
from statistics import mean

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by = defaultdict(list)
for r in rows:
    by[r["impl"], r["method"]].append(r)
t = {k: {"seconds": mean(r["seconds"] for r in v), "final_acc": mean(r["final_acc"] for r in v), "n": len(v)}
     for k, v in by.items()}
print(f"{'method':9s} {'seeds':>5s} {'neuroplastic':>13s} {'plain':>8s} {'avalanche':>10s} {'aval/np':>8s} "
      f"{'np/plain':>9s}   final ACC % np / plain / avalanche")
for m in ("finetune", "ewc", "er"):
    n, p, a = t.get(("neuroplastic", m)), t.get(("plain", m)), t.get(("avalanche", m))
    if not n:
        continue
    s = lambda r: f"{r['seconds']:.1f}s" if r else "-"  # noqa: E731
    acc = lambda r: f"{100 * r['final_acc']:.2f}" if r else "-"  # noqa: E731
    print(f"{m:9s} {n['n']:>5d} {s(n):>13s} {s(p):>8s} {s(a):>10s} "
          f"{(a['seconds'] / n['seconds']) if a else float('nan'):7.2f}x {(n['seconds'] / p['seconds']) if p else float('nan'):8.2f}x"
          f"   {acc(n)} / {acc(p)} / {acc(a)}")
if ("neuroplastic", "ewc") in t and ("neuroplastic", "finetune") in t:
    print(f"neuroplastic ewc / finetune time: {t['neuroplastic', 'ewc']['seconds'] / t['neuroplastic', 'finetune']['seconds']:.2f}x")
print("load averages during the runs:", [round(r["load_avg"], 2) for r in rows])
