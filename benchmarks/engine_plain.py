"""The floor: a plain, index-batched PyTorch loop on the engine protocol (no framework).
`python engine_plain.py finetune|ewc|er`. EWC uses a naive Fisher (squared batch gradients),
replay a reservoir buffer."""
import sys
import time

t0 = time.perf_counter()
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from _protocol import BATCH, BUFFER, EWC_LAMBDA, LR, MOMENTUM, N_TASKS, SEED, report  # noqa: E402
from neuroplastic.data import load  # noqa: E402

method = sys.argv[1]
SEED = int(sys.argv[2]) if len(sys.argv) > 2 else SEED
torch.manual_seed(SEED)
x_tr, y_tr, x_te, y_te = load("mnist")
x_tr, x_te = x_tr.reshape(-1, 784).float() / 255, x_te.reshape(-1, 784).float() / 255
perms = [torch.randperm(784) for _ in range(N_TASKS)]
model = nn.Sequential(nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 10))
opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
fishers, anchors = [], []
buf_x, buf_y, seen = torch.zeros(BUFFER, 784), torch.zeros(BUFFER, dtype=torch.long), 0

for t, p in enumerate(perms):
    xs = x_tr[:, p]
    order = torch.randperm(len(xs))
    for i in range(0, len(xs), BATCH):
        idx = order[i:i + BATCH]
        x, y = xs[idx], y_tr[idx]
        if method == "er" and seen:
            j = torch.randint(0, min(seen, BUFFER), (BATCH,))
            x, y = torch.cat([x, buf_x[j]]), torch.cat([y, buf_y[j]])
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        for f, a in zip(fishers, anchors):
            loss = loss + EWC_LAMBDA / 2 * sum((fi * (q - ai) ** 2).sum() for fi, q, ai in zip(f, model.parameters(), a))
        loss.backward()
        opt.step()
        if method == "er":
            for k in idx.tolist():                       # reservoir, sample by sample
                if seen < BUFFER:
                    buf_x[seen], buf_y[seen] = xs[k], y_tr[k]
                else:
                    j = int(torch.randint(0, seen + 1, ()))
                    if j < BUFFER:
                        buf_x[j], buf_y[j] = xs[k], y_tr[k]
                seen += 1
    if method == "ewc":
        f = [torch.zeros_like(q) for q in model.parameters()]
        n = 0
        for i in range(0, len(xs), BATCH):
            model.zero_grad()
            F.cross_entropy(model(xs[i:i + BATCH]), y_tr[i:i + BATCH]).backward()
            for fi, q in zip(f, model.parameters()):
                fi += q.grad.detach() ** 2
            n += 1
        fishers.append([fi / n for fi in f])
        anchors.append([q.detach().clone() for q in model.parameters()])
    with torch.no_grad():
        accs = [float((model(x_te[:, q]).argmax(1) == y_te).float().mean()) for q in perms]

report("plain", method, t0, sum(accs) / len(accs), seed=SEED, threads=torch.get_num_threads())
