#!/usr/bin/env bash
# The 1,000-neuron NALSM liquid: neuroplastic (batched, frozen; one sample at a time, plastic)
# against Brian2 2.9 (Cython, one network, one sample at a time), in one sitting; prints the
# samples/s of each and the ratios. Brian2 runs in its own venv (.bench/brian), made here once.
set -euo pipefail
cd "$(dirname "$0")"
BR=../.bench/brian/bin/python
[ -x "$BR" ] || { python3 -m venv ../.bench/brian && $BR -m pip install -q "brian2==2.9.0" "numpy<2.3" "cython"; }
NPZ=$(mktemp --suffix .npz)
lscpu | grep -m1 "Model name" || true
NP=$(../.venv/bin/python liquid.py "$NPZ" | tail -1)
BRIAN=$($BR liquid_brian2.py "$NPZ" 2>/dev/null | tail -1)
rm -f "$NPZ"
echo "$NP"
echo "$BRIAN"
../.venv/bin/python - "$NP" "$BRIAN" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for k in ("frozen_samples_per_s", "plastic_samples_per_s"):
    print(f"{k}: neuroplastic {a[k]:.1f}, brian2 {b[k]:.1f}, ratio {a[k] / b[k]:.1f}x")
PY
