"""A picture of a stream: a few samples of every experience, one row each."""
from __future__ import annotations

from pathlib import Path


from ._stream import Experience, as_float

MAX_ROWS = 24


def sample_grid(stream: list[Experience], path: str | Path, *, per_row: int = 8, title: str = "") -> Path:
    """Save a PNG with ``per_row`` test samples of each experience (the first ``MAX_ROWS``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = stream[:MAX_ROWS]
    fig, axes = plt.subplots(len(rows), per_row, figsize=(per_row * 0.9, len(rows) * 0.95 + 0.5),
                             squeeze=False)
    for r, exp in enumerate(rows):
        x, y = exp.test if len(exp.test[1]) else exp.train
        for c in range(per_row):
            ax = axes[r][c]
            ax.set_xticks([]), ax.set_yticks([])
            if c >= len(y):
                ax.axis("off")
                continue
            img = as_float(x[c])
            if img.dim() == 3:
                ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1)
            else:                                   # 1-D signals (MNIST-1D)
                ax.plot(img.numpy(), lw=0.8)
            ax.set_title(str(int(y[c])), fontsize=7, pad=1)
        label = ", ".join(f"{k}={v}" for k, v in exp.meta.items()
                          if k in ("angle", "corruption", "severity", "task_id", "kind", "epoch"))
        axes[r][0].set_ylabel(f"exp {exp.index}\n{label}", fontsize=6, rotation=0, ha="right", va="center")
    if len(stream) > MAX_ROWS:
        title += f" (first {MAX_ROWS} of {len(stream)} experiences)"
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
