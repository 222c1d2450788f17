"""A spiking MLP trained with BPTT through surrogate gradients.

    x in [0, 1] --rate code (T steps)--> [Linear -> LIF] x len(widths) --spike counts--> head

The rate code is event-driven (``rate_code_active``: only the input columns that are non-zero
somewhere in the batch enter the first product and its weight gradient, and random numbers are
drawn only for non-zero pixels). Each hidden layer applies its Linear to all T steps at once (one
(T*B, in) x (in, out) product)
and runs the LIF layer over time in place in that product's buffer, the whole layer one autograd
node (``neurons.unroll.lif_forward_`` / ``lif_backward_``: the forward loop and a hand-written
backward, instead of T x several autograd nodes; no full-size temporaries). ``features``
returns the last hidden layer's mean firing rate per neuron; the head is the usual linear
(optionally multi-head) read-out of those rates, i.e. a spike-count decoder. ``precision="bf16"``
runs the spike-input products (forward and weight gradient) in bfloat16 where the device has
native bf16 products (``native_bf16``); elsewhere it warns once and runs in fp32, since emulated
bf16 is about 5x slower. The default is fp32. The rate code draws
from torch's global RNG, which ``run_cell`` seeds.
"""
from __future__ import annotations

import functools
import logging
import math

import torch
from torch import Tensor, nn

from ..neurons import LIFParams
from ..neurons.unroll import lif_backward_, lif_config, lif_forward_
from ._heads import Head


log = logging.getLogger(__name__)
_PAD = 64


def rate_code_active(x: Tensor, T: int, dtype: torch.dtype = torch.uint8) -> tuple[Tensor, Tensor]:
    """Bernoulli rate code of ``x`` (B, D) in [0, 1] over T steps, event-driven: only the input
    columns that are non-zero somewhere in the batch are kept (a zero pixel never spikes; on MNIST
    about two thirds of the 784 columns per batch of 128) and random numbers are drawn only for the
    non-zero entries (about a fifth of MNIST's pixels). Returns the spikes (T * B, A) in ``dtype``
    (uint8 by default: a quarter of float32's memory; the spiking layer converts them in blocks)
    and the A kept column indices (A rounded up to a multiple of 64 with silent columns, so that the
    matrix-product kernels see few distinct shapes). Same distribution as ``rand(T, B, D) < x``,
    other draws."""
    x = x.clamp(0, 1)
    active = (x > 0).any(0)
    extra = min(int(active.numel()), -(-int(active.sum()) // _PAD) * _PAD) - int(active.sum())
    if extra:                            # pad with silent columns: few distinct product shapes
        active[(~active).nonzero().squeeze(1)[:extra]] = True
    cols = active.nonzero().squeeze(1)
    flat = x.index_select(1, cols).reshape(-1)
    nz = flat.nonzero().squeeze(1)
    z = torch.zeros(T, flat.numel(), dtype=dtype, device=x.device)
    z.index_copy_(1, nz, (torch.rand(T, nz.numel(), device=x.device, dtype=x.dtype) < flat[nz]).to(dtype))
    return z.view(T * x.shape[0], cols.numel()), cols


_BLOCKS = 8


def _blocks(n: int) -> list[tuple[int, int]]:
    step = -(-n // _BLOCKS)
    return [(lo, min(n, lo + step)) for lo in range(0, n, step)]


def spike_product(s: Tensor, m: Tensor, out_dtype: torch.dtype) -> Tensor:
    """s @ m for spikes ``s`` (N, A): float spikes in one product; uint8 spikes block by block of
    rows, each block converted to m's dtype (the float copy of s never exists whole), written into
    an ``out_dtype`` result."""
    if s.dtype.is_floating_point:
        return (s @ m).to(out_dtype)
    out = torch.empty(s.shape[0], m.shape[1], dtype=out_dtype, device=m.device)
    for lo, hi in _blocks(s.shape[0]):
        if out_dtype == m.dtype:
            torch.mm(s[lo:hi].to(m.dtype), m, out=out[lo:hi])
        else:
            out[lo:hi] = s[lo:hi].to(m.dtype) @ m
    return out


def spike_grad_product(g: Tensor, s: Tensor, dtype: torch.dtype) -> Tensor:
    """g^T @ s (the weight gradient) for currents' gradient ``g`` (N, K) and spikes ``s`` (N, A),
    block by block of rows in ``dtype`` (the products' precision), summed in g's dtype."""
    if s.dtype.is_floating_point and dtype == g.dtype:
        return g.T @ s.to(dtype)
    acc = torch.zeros(g.shape[1], s.shape[1], dtype=g.dtype, device=g.device)
    for lo, hi in _blocks(s.shape[0]):
        if dtype == g.dtype:
            acc.addmm_(g[lo:hi].T, s[lo:hi].to(dtype))
        else:
            acc.add_(g[lo:hi].to(dtype).T @ s[lo:hi].to(dtype))
    return acc


class _SpikingLayer(torch.autograd.Function):
    """One hidden layer in one autograd node: currents x W[:, cols]^T + b for binary spike inputs
    ``s`` (T*B, A) given on the columns ``cols`` only (or all columns when ``cols`` is None), then
    the multi-step LIF run in place in the current buffer (``lif_forward_``); the backward runs
    ``lif_backward_`` in place in that buffer and the two products from it. With ``bf16`` the
    products run in bfloat16 (fp32 accumulation inside the kernel): spikes are exact in bf16, the
    weights and the incoming gradient are rounded to 8-bit mantissas for the products only;
    parameters, membranes and gradients stay fp32. The weight gradient of the columns left out is
    exactly zero (their inputs are zero). With ``counts`` it returns the spike counts over time
    (B, out) instead of the train (T, B, out). One backward per forward (the buffer is reused)."""

    @staticmethod
    def forward(ctx, s, w, b, cols, bf16, T, c, counts):
        wa = w if cols is None else w.index_select(1, cols)
        if bf16:
            wa = wa.to(torch.bfloat16)
            if s.dtype.is_floating_point:
                s = s.to(torch.bfloat16)
        cur = spike_product(s, wa.T, w.dtype)
        if b is not None:
            cur.add_(b)
        vs = cur.view(T, -1, w.shape[0])
        zs, _ = lif_forward_(vs, torch.zeros_like(vs[0]), c, counts)
        # the weights are needed again only for the input's gradient (not the first layer's)
        ctx.save_for_backward(s, wa if ctx.needs_input_grad[0] else None, cols)
        ctx.vs = vs                          # an intermediate: dropped from ctx in the backward
        ctx.c, ctx.w_shape, ctx.dtype, ctx.bf16 = c, w.shape, w.dtype, bf16
        return zs

    @staticmethod
    def backward(ctx, gz):
        vs, ctx.vs = ctx.vs, None
        if vs is None:
            raise RuntimeError("a spiking layer's backward reuses its saved membranes in place and runs once per "
                               "forward; run the forward again instead of backward(retain_graph=True) twice.")
        s, wa, cols = ctx.saved_tensors
        if gz.dim() == 2:                   # counts: the same gradient at every step
            gz = gz.expand_as(vs)
        g = lif_backward_(vs, gz, None, ctx.c)[0].view(-1, ctx.w_shape[0])   # dL/d current
        gb = g.sum(0) if ctx.needs_input_grad[2] else None
        del vs
        gs = spike_product(g.to(wa.dtype), wa, ctx.dtype) if ctx.needs_input_grad[0] else None
        gwa = spike_grad_product(g, s, torch.bfloat16 if ctx.bf16 else ctx.dtype)
        del g
        if cols is None:
            gw = gwa
        else:
            gw = torch.zeros(ctx.w_shape, dtype=ctx.dtype, device=gwa.device).index_copy_(1, cols, gwa)
        return gs, gw, gb, None, None, None, None, None


@functools.lru_cache(maxsize=None)
def native_bf16(device_type: str) -> bool:
    """Whether bfloat16 matrix products run natively here: a CUDA GPU that supports bf16, or a
    CPU with AVX512-BF16 / AMX-BF16 (x86) or the BF16 extension (Arm). Elsewhere PyTorch emulates
    bf16, measured 5.3x slower than fp32 on an AVX2-only AMD EPYC (LIF MLP train step 464 vs 87 ms)."""
    if device_type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if device_type != "cpu":
        return False
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})
    except OSError:
        pass
    return False


class SpikingMLP(nn.Module):
    def __init__(self, *, in_shape: tuple[int, ...], n_classes: int, widths: tuple[int, ...] = (1000,),
                 T: int = 25, tau_mem: float = 2.0, v_th: float = 1.0, surrogate: str = "fast_sigmoid",
                 slope: float = 5.0, precision: str = "fp32",
                 task_classes: list[tuple[int, ...]] | None = None):
        super().__init__()
        if not widths or any(int(w) < 1 for w in widths) or T < 1:
            raise ValueError(f"need positive widths and T, got widths={widths!r}, T={T!r}.")
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision={precision!r} is invalid: expected 'fp32' or 'bf16' (spike products in bfloat16).")
        self.T, self.precision = int(T), precision
        self.params_lif = LIFParams(tau_mem=tau_mem, v_th=v_th, surrogate=surrogate, slope=slope)
        n_in = math.prod(in_shape)
        self.layers = nn.ModuleList()
        for w in widths:
            self.layers.append(nn.Linear(n_in, int(w)))
            n_in = int(w)
        self.head = Head(n_in, n_classes, task_classes)

    def _run(self, x: Tensor, counts: bool) -> list[Tensor]:
        x = x.flatten(1)
        bf16 = self.precision == "bf16"      # spikes are binary: exact in bf16, 2x faster products
        if bf16 and not native_bf16(x.device.type):        # emulated bf16 is a trap: 5x slower
            if not getattr(self, "_warned_bf16", False):
                log.warning("precision='bf16' but this %s has no native bfloat16 products (emulated bf16 runs "
                            "about 5x slower than fp32); running in fp32 instead", x.device.type)
                self._warned_bf16 = True
            bf16 = False
        flat, cols = rate_code_active(x, self.T)
        B, out, c = x.shape[0], [], lif_config(self.params_lif)
        for i, layer in enumerate(self.layers):
            last = i == len(self.layers) - 1
            z = _SpikingLayer.apply(flat, layer.weight, layer.bias, cols, bf16, self.T, c, counts and last)
            out.append(z)
            if not last:
                flat, cols = z.reshape(self.T * B, -1), None
        return out

    def spikes(self, x: Tensor) -> list[Tensor]:
        """Spike trains (T, B, width) of every hidden layer."""
        return self._run(x, counts=False)

    def features(self, x: Tensor) -> Tensor:
        """Mean firing rate of the last hidden layer (its spike train is never stored)."""
        return self._run(x, counts=True)[-1] / self.T

    @torch.no_grad()
    def layer_rates(self, x: Tensor) -> list[Tensor]:
        """Presynaptic firing rates of every weight layer, head included: the input intensities
        (the rate code's expected rates), then each hidden layer's mean spikes over the T steps
        (what gradient-projection methods such as HLOP record for a spiking network)."""
        return [x.flatten(1).clamp(0, 1)] + [z.mean(0) for z in self.spikes(x)]

    def forward(self, x: Tensor, task=None) -> Tensor:
        return self.head(self.features(x), task)
