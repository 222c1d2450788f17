#!/usr/bin/env bash
# LIF MLP 784-1000-10, T = 25, batch 128: neuroplastic (fp32, bf16), a plain PyTorch loop, snnTorch,
# SpikingJelly and Norse, interleaved over ROUNDS rounds in one sitting; prints a table with the
# ratio of the fastest other implementation to neuroplastic. The anchors run in the benchmark venv
# (.bench/avl, created by engine.sh; snntorch, spikingjelly and norse are added here once).
# Timing passes use the default allocator; a separate memory pass per implementation (5 training
# steps) sends large buffers through mmap (MALLOC_MMAP_THRESHOLD_) so that the growth of the peak
# RSS over the set-up tracks the live memory of a training step, not the allocator's free lists;
# it reports the growth of the process peak RSS (ru_maxrss: data and code pages) and the sampled
# peak growth of the anonymous RSS (data only: tensors, allocator, thread stacks).
# ACCURACY_STEPS=469 adds an accuracy pass: that many training steps (469 = one epoch), the same
# batches for every implementation, then the accuracy on the 10,000 test images.
set -euo pipefail
cd "$(dirname "$0")"
ROUNDS=${ROUNDS:-2}
OUT=${1:-../.bench/snn.jsonl}
CACHE=${NEUROPLASTIC_DATA:-$HOME/.cache/neuroplastic}/mnist.npz
AVL=../.bench/avl/bin/python
[ -x "$AVL" ] || bash engine.sh /dev/null
$AVL -c "import snntorch, spikingjelly, norse" 2>/dev/null || \
  $AVL -m pip install -q "snntorch==1.0.0" "spikingjelly==2.0.0" "norse==1.1.0"
: > "$OUT"
bench() {   # python impl
  "$1" snn.py "$2" "$CACHE" 2>/dev/null | tail -1 >> "$OUT"
  SNN_MEMORY=1 MALLOC_MMAP_THRESHOLD_=65536 "$1" snn.py "$2" "$CACHE" 2>/dev/null | tail -1 >> "$OUT"
}
for r in $(seq "$ROUNDS"); do
  for impl in neuroplastic neuroplastic_bf16 plain; do bench ../.venv/bin/python $impl; done
  for impl in snntorch spikingjelly norse; do bench $AVL $impl; done
done
if [ "${ACCURACY_STEPS:-0}" -gt 0 ]; then   # the same number of training steps, then the test accuracy
  for impl in neuroplastic neuroplastic_bf16 plain; do
    SNN_ACCURACY=$ACCURACY_STEPS ../.venv/bin/python snn.py $impl "$CACHE" 2>/dev/null | tail -1 >> "$OUT"; done
  for impl in snntorch spikingjelly norse; do
    SNN_ACCURACY=$ACCURACY_STEPS $AVL snn.py $impl "$CACHE" 2>/dev/null | tail -1 >> "$OUT"; done
fi
../.venv/bin/python - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
acc = {r["impl"]: r["test_accuracy"] for r in rows if "test_accuracy" in r}
rows = [r for r in rows if "test_accuracy" not in r]
by = {}
for r in rows:
    by.setdefault(r["impl"], []).append(r)
med = {k: {m: statistics.median(x[m] for x in v if x["memory_pass"] == m.startswith("peak")) for m in ("train_ms", "forward_ms", "peak_mb", "peak_anon_mb")}
       for k, v in by.items()}
print(f"{'implementation':18s} {'train ms':>9s} {'forward ms':>10s} {'peak RSS MB':>11s} {'peak data MB':>12s}   (medians of {len(rows) // max(2 * len(by), 1)} runs)")
for k, m in med.items():
    print(f"{k:18s} {m['train_ms']:9.1f} {m['forward_ms']:10.1f} {m['peak_mb']:11.1f} {m['peak_anon_mb']:12.1f}")
others = [k for k in med if not k.startswith("neuroplastic")]
best = min(others, key=lambda k: med[k]["train_ms"])
for k in [k for k in med if k.startswith("neuroplastic")]:
    print(f"{k}: train {med[best]['train_ms'] / med[k]['train_ms']:.2f}x faster than the fastest other ({best}), "
          f"forward {min(med[o]['forward_ms'] for o in others) / med[k]['forward_ms']:.2f}x, "
          f"peak RSS growth {med[k]['peak_mb']:.1f} MB vs {min(med[o]['peak_mb'] for o in others):.1f} MB, "
          f"peak data (anonymous RSS) growth {med[k]['peak_anon_mb']:.1f} MB vs {min(med[o]['peak_anon_mb'] for o in others):.1f} MB (least of the others)")
if acc:
    print("test accuracy after the same training steps: " + ", ".join(f"{k} {100 * v:.2f}%" for k, v in acc.items()))
PY
