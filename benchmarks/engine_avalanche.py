"""Avalanche 0.6 on the engine protocol (runs in the benchmark venv .bench/avl).
`python engine_avalanche.py finetune|ewc|er CACHE.npz`: its PermutedMNIST benchmark is fed from
the same local MNIST files (written as the IDX files torchvision's MNIST reads), with Naive / EWC
/ Replay and an evaluator that measures accuracy only."""
import struct
import sys
import tempfile
import time
from pathlib import Path

t0 = time.perf_counter()
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from _protocol import BATCH, BUFFER, EPOCHS, EWC_LAMBDA, LR, MOMENTUM, N_TASKS, SEED, report  # noqa: E402

method, cache = sys.argv[1], sys.argv[2]
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else SEED
root = Path(tempfile.mkdtemp())
raw = root / "MNIST" / "raw"
raw.mkdir(parents=True)
with np.load(cache) as z:
    for key, name in (("x_train", "train-images-idx3-ubyte"), ("y_train", "train-labels-idx1-ubyte"),
                      ("x_test", "t10k-images-idx3-ubyte"), ("y_test", "t10k-labels-idx1-ubyte")):
        a = z[key].astype(np.uint8)
        header = bytes([0, 0, 8, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
        (raw / name).write_bytes(header + a.tobytes())

from avalanche.benchmarks.classic import PermutedMNIST  # noqa: E402
from avalanche.evaluation.metrics import accuracy_metrics  # noqa: E402
from avalanche.training.plugins import EvaluationPlugin  # noqa: E402
from avalanche.training.supervised import EWC, Naive, Replay  # noqa: E402

torch.manual_seed(SEED)
bench = PermutedMNIST(N_TASKS, seed=SEED, dataset_root=str(root),
                      train_transform=None, eval_transform=None)   # [0, 1] pixels, as in neuroplastic
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 10))
opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
evaluator = EvaluationPlugin(accuracy_metrics(experience=True, stream=True), loggers=[])
common = dict(train_mb_size=BATCH, train_epochs=EPOCHS, eval_mb_size=1000, device="cpu", evaluator=evaluator)
if method == "finetune":
    strategy = Naive(model=model, optimizer=opt, criterion=nn.CrossEntropyLoss(), **common)
elif method == "ewc":
    strategy = EWC(model=model, optimizer=opt, criterion=nn.CrossEntropyLoss(), ewc_lambda=EWC_LAMBDA, **common)
else:
    strategy = Replay(model=model, optimizer=opt, criterion=nn.CrossEntropyLoss(), mem_size=BUFFER, **common)
for exp in bench.train_stream:
    strategy.train(exp)
    res = strategy.eval(bench.test_stream)
acc = [v for k, v in res.items() if k.startswith("Top1_Acc_Stream/eval_phase/test_stream")][0]
report("avalanche", method, t0, float(acc), seed=SEED, threads=torch.get_num_threads())
