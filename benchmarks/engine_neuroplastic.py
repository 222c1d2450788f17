"""neuroplastic on the engine protocol: `python engine_neuroplastic.py finetune|ewc|er`."""
import sys
import time

t0 = time.perf_counter()                      # end-to-end: data load, training, evaluation
import torch  # noqa: E402

from _protocol import BATCH, BUFFER, EPOCHS, EWC_LAMBDA, LR, MOMENTUM, N_TASKS, SEED, WIDTHS, report  # noqa: E402
from neuroplastic.run import Cell, run_cell  # noqa: E402

method = sys.argv[1]
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else SEED
kwargs = {"finetune": {}, "ewc": {"lam": EWC_LAMBDA}, "er": {"buffer_size": BUFFER}}[method]
cell = Cell("permuted", {"n_tasks": N_TASKS}, method, kwargs, "mlp", {"widths": list(WIDTHS)},
            {"epochs": EPOCHS, "batch_size": BATCH, "optimizer": "sgd", "lr": LR, "momentum": MOMENTUM,
             "weight_decay": 0.0, "eval_every": 0, "eval_subset": 1}, SEED, "cpu")
r = run_cell(cell)
report("neuroplastic", method, t0, sum(r.R[-1]) / len(r.R[-1]), seed=SEED, threads=torch.get_num_threads())
