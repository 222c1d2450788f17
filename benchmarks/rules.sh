#!/usr/bin/env bash
# Local-rule speed: neuroplastic's updates vs the machine's matmul peak, a (batch, out, in) outer
# product and a Python loop (benchmarks/rules.py; with malloc as it comes, then keeping freed
# memory), then SpikingJelly's STDPLearner in the benchmark
# venv (.bench/avl, created by engine.sh; spikingjelly is added to it here).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python benchmarks/rules.py                  # glibc's malloc as it comes
.venv/bin/python benchmarks/rules.py --malloc keep    # freed memory kept: no page-fault churn
AVL=.bench/avl
if [ -x "$AVL/bin/python" ]; then
  "$AVL/bin/python" -c "import spikingjelly" 2>/dev/null || "$AVL/bin/pip" -q install spikingjelly
  "$AVL/bin/python" benchmarks/rules_spikingjelly.py
else
  echo "skip SpikingJelly: run benchmarks/engine.sh once to create $AVL" >&2
fi
