"""The engine benchmark's protocol, shared by the three implementations (no imports beyond stdlib).

Permuted-MNIST, 5 tasks (all permuted), MLP 784-400-400-10, SGD lr 0.01 momentum 0.9, batch 128,
1 epoch per task, evaluation on every task's full test set after each experience; methods
finetune, EWC (lambda below) and ER / replay with a 500-sample buffer.
"""
import json
import os
import time

N_TASKS = 5
WIDTHS = (400, 400)
LR, MOMENTUM, BATCH, EPOCHS = 0.01, 0.9, 128, 1
EWC_LAMBDA = 100.0
BUFFER = 500
SEED = 0


def cpu_load() -> float:
    """1-minute load average of the machine (other processes' CPU demand shows up here)."""
    return os.getloadavg()[0]


def report(impl: str, method: str, t0: float, final_acc: float, **extra) -> None:
    print(json.dumps({"impl": impl, "method": method, "seconds": time.perf_counter() - t0,
                      "final_acc": final_acc, "load_avg": cpu_load(), **extra}), flush=True)
