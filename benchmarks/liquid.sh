#!/usr/bin/env bash
# The 1,000-neuron NALSM liquid: neuroplastic (batched, frozen; one sample at a time, plastic)
# against Brian2 2.9 (Cython, one network, one sample at a time), and the 1,000-unit echo-state
# network against reservoirpy 0.4, in one sitting; prints the samples/s of each and the ratios.
# Brian2 and reservoirpy run in their own venv (.bench/brian), made here once. THREADS=1 pins
# neuroplastic to one thread (Brian2's Cython code and reservoirpy run on one).
set -euo pipefail
cd "$(dirname "$0")"
BR=../.bench/brian/bin/python
[ -x "$BR" ] || python3 -m venv ../.bench/brian
$BR -c "import brian2, reservoirpy" 2>/dev/null || \
  $BR -m pip install -q "brian2==2.9.0" "reservoirpy==0.4.2" "numpy<2.3" "cython"
NPZ=$(mktemp --suffix .npz)
lscpu | grep -m1 "Model name" || true
NP=$(../.venv/bin/python liquid.py "$NPZ" | tail -1)
BRIAN=$($BR liquid_brian2.py "$NPZ" 2>/dev/null | tail -1)
RPY=$($BR esn_reservoirpy.py "$NPZ" 2>/dev/null | tail -1)
rm -f "$NPZ"
echo "$NP"
echo "$BRIAN"
echo "$RPY"
../.venv/bin/python - "$NP" "$BRIAN" "$RPY" <<'PY'
import json, sys
a, b, c = (json.loads(s) for s in sys.argv[1:])
for k in ("frozen_samples_per_s", "plastic_samples_per_s"):
    print(f"{k}: neuroplastic {a[k]:.1f}, brian2 {b[k]:.1f}, ratio {a[k] / b[k]:.1f}x")
k = "esn_samples_per_s"
print(f"{k}: neuroplastic {a[k]:.1f}, reservoirpy {c[k]:.1f}, ratio {a[k] / c[k]:.1f}x")
PY
