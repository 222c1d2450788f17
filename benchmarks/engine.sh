#!/usr/bin/env bash
# The engine benchmark: neuroplastic, a plain PyTorch loop and Avalanche 0.6 on one protocol,
# side by side in one run; prints one JSON line per (implementation, method) and the ratios.
# Creates the Avalanche venv (.bench/avl: torch 2.14.1 + torchvision 0.29.1 + avalanche-lib 0.6.0)
# on first use; the project's own venv never needs those.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
AVL=.bench/avl
if [ ! -x "$AVL/bin/python" ] || ! "$AVL/bin/python" -c "import avalanche" 2>/dev/null; then
  python3 -m venv "$AVL"
  "$AVL/bin/pip" -q install torch==2.14.1 torchvision==0.29.1
  "$AVL/bin/pip" -q install avalanche-lib==0.6.0
fi
CACHE=$($PY -c "from neuroplastic import data; data.fetch('mnist'); print(data.cache_path('mnist'))")
OUT=${1:-.bench/engine.jsonl}
: > "$OUT"
cd benchmarks
for seed in ${SEEDS:-0}; do
  for m in finetune ewc er; do
    ../$PY engine_neuroplastic.py $m $seed | tee -a "../$OUT"
    ../$PY engine_plain.py $m $seed | tee -a "../$OUT"
    ../$AVL/bin/python engine_avalanche.py $m "$CACHE" $seed 2>/dev/null | tee -a "../$OUT"
  done
done
cd ..
$PY benchmarks/ratios.py "$OUT"
