#!/usr/bin/env bash
# The prepared GPU check (issues 5 and 6), run on a CUDA machine from the repository root:
# the CUDA-path tests, then the GPU benchmarks (rules vs matmul peak, LIF MLP step vs a plain
# loop and snnTorch, Diehl & Cook speed and accuracy). Expects MNIST's IDX files under
# .gpu/data/raw/mnist and optional wheels (snntorch) under .gpu/whl; writes to $OUT (or /tmp/gpu_out).
# GPU_BUDGET_S (default 480): each step after the tests runs only if its time limit still fits.
set -u
OUT=${OUT:-/tmp/gpu_out}
BUDGET=${GPU_BUDGET_S:-480}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 NEUROPLASTIC_DATA=/tmp/npdata
mkdir -p "$NEUROPLASTIC_DATA/raw" && cp -r .gpu/data/raw/mnist "$NEUROPLASTIC_DATA/raw/"
if ls .gpu/whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu/whl/*.whl
fi
export PYTHONPATH="$PWD:/tmp/site"
fits() { [ $((SECONDS + $1)) -le "$BUDGET" ] || { echo "skipped (budget): ${*:2}" | tee -a "$OUT/skipped.txt"; false; }; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/device.txt"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" | tee -a "$OUT/device.txt"
python3 -c "from neuroplastic import data; data.fetch('mnist'); data.fetch('digits')" 2>&1 | tail -2
timeout 200 python3 -m pytest -q -p no:cacheprovider -x --durations=8 tests/test_cuda.py 2>&1 \
    | tail -40 | tee "$OUT/tests.txt"
cd benchmarks
for b in 256 8192; do
    fits 60 rules "$b" && timeout 60 python3 rules.py --device cuda --batch "$b" 2>&1
done | tee "$OUT/rules.jsonl"
for impl in neuroplastic neuroplastic_bf16 plain snntorch; do
    fits 45 snn "$impl" && timeout 45 python3 snn.py "$impl" "$NEUROPLASTIC_DATA/mnist.npz" cuda 2>&1 | tail -3
done | tee "$OUT/snn.jsonl"
for b in 1000 100; do
    fits 100 diehl_cook "$b" && timeout 100 python3 diehl_cook.py --device cuda --batch "$b" --train 10000 --test 10000 2>&1 | tail -3
done | tee "$OUT/diehl_cook.jsonl"
echo "total ${SECONDS}s" | tee -a "$OUT/device.txt"
