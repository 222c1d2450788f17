"""Spike monitors: record what spiking modules emit, count, rate, and draw rasters.

``SpikeMonitor({"hidden": net.lif1, ...})`` registers forward hooks (removed by ``remove()`` or
on leaving a ``with`` block) that keep each call's spikes, the first element of a
``(spikes, state)`` output or the output itself; ``spikes(name)`` stacks them over time:
(T, B, n). Pure helpers: ``spike_counts(z)`` (B, n), ``firing_rates(z, dt_ms)`` in Hz, and
``raster(z, sample=0, ax=None)`` (matplotlib, imported lazily).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..data.encode import spike_count as spike_counts   # spikes per neuron over time: (T, B, ...) -> (B, ...)


def firing_rates(z: Tensor, dt_ms: float = 1.0) -> Tensor:
    """Mean firing rate in Hz of each neuron: (T, B, ...) -> (B, ...)."""
    return z.float().mean(0) * (1000.0 / dt_ms)


def raster(z: Tensor, *, sample: int = 0, ax=None, dt_ms: float = 1.0, title: str | None = None):
    """Raster plot of one sample's spikes (T, B, n) or (T, n): a dot per spike, time on x."""
    import matplotlib.pyplot as plt

    zz = z[:, sample] if z.dim() == 3 else z
    t, n = torch.nonzero(zz.flatten(1) > 0, as_tuple=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    ax.scatter((t.float() * dt_ms).cpu(), n.cpu(), s=2, c="k", marker="|")
    ax.set_xlim(0, len(zz) * dt_ms)
    ax.set_ylim(-0.5, zz.flatten(1).shape[1] - 0.5)
    ax.set_xlabel("time (ms)" if dt_ms != 1.0 else "time step")
    ax.set_ylabel("neuron")
    if title:
        ax.set_title(title)
    return ax


class SpikeMonitor:
    def __init__(self, modules: dict[str, nn.Module]):
        self._records: dict[str, list[Tensor]] = {k: [] for k in modules}
        self._hooks = [m.register_forward_hook(self._hook(k)) for k, m in modules.items()]

    def _hook(self, name):
        def hook(module, inputs, output):
            z = output[0] if isinstance(output, tuple) else output
            self._records[name].append(z.detach())
        return hook

    def spikes(self, name: str) -> Tensor:
        """(T, B, n) if each call emitted one step, else the calls concatenated along time."""
        rec = self._records[name]
        if not rec:
            raise KeyError(f"no spikes recorded for {name!r}: run the network inside the monitor first.")
        return torch.stack(rec) if rec[0].dim() <= 2 else torch.cat(rec)

    def counts(self, name: str) -> Tensor:
        return spike_counts(self.spikes(name))

    def reset(self) -> None:
        for v in self._records.values():
            v.clear()

    def remove(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []

    def __enter__(self) -> "SpikeMonitor":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()
