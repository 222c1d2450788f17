"""The hippocampal CA3 spiking content-addressable memory (Casanueva-Morato et al., Neural Networks
2024; SpiNNaker model in dancasmor/sPyMem, CA3_content_addressable) as a discrete-time LIF circuit.

Reconstruction [I]: the neuron and STDP constants are the model's configuration (SYSTEMS.md 2.15:
LIF with c_m 0.27 nF, tau_m 3 ms, tau_syn 0.3 ms, v_rest = v_reset = -60 mV, v_th = -57 mV; STDP
tau+- = 3 ms, A+- = 6, w in [0, 6], w0 = 0; static weight 6); the circuit is reduced to what the
documented operations need, one time step = one time unit (1 ms):

* a one-hot **cue** population (C neurons, the address) and a **content** population (M bits);
* one plastic matrix W (M x C) learned by pair STDP with pre = cue and post = content spikes,
  read cue -> content (recall by cue) and content -> cue (recall by content; sPyMem has two STDP
  projections here, one per direction, kept consistent by its relay populations);
* synaptic input is an instantaneous charge, Delta v = w tau_syn / c_m (6 -> 6.7 mV, above the
  3 mV from rest to threshold: one spike through a learned synapse fires its target); at 1 ms
  steps the 1 ms refractory period has ended by the next step, so it is not modelled.

Operations (timing from the sPyMem docs: learn holds the input 3 units, recall uses a 1-unit cue):

* ``learn(cue, content)``: the cue input fires the cue neuron at steps 1..3; the content input
  reaches the content neurons through the conditioning relay one step later (2..4), so the cue
  leads and STDP potentiates cue -> content to w_max. The cue's first spike also recalls what the
  cue held before (at step 2), after which the conditioning population gates recall off; that
  old content then fires once, *before* the cue's later spikes, and STDP depresses it to 1.7,
  below firing: learning with a used cue overwrites (forgets) its old content. STDP is active in
  learn operations only.
* ``recall_cue(cues)``: content bits whose synapse from the cue fires them.
* ``recall_content(fragments)``: every address with at least one active bit of the fragment in its
  content (as the docs say), and the completed content of those addresses.

Operations are batched over queries, and ``learn`` over memories with distinct cues.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..rules.stdp import stdp


@dataclass(frozen=True)
class CA3Params:
    v_rest: float = -60.0
    v_reset: float = -60.0
    v_th: float = -57.0
    tau_m: float = 3.0
    tau_syn: float = 0.3
    c_m: float = 0.27
    w_static: float = 6.0
    w_max: float = 6.0
    a_plus: float = 6.0
    a_minus: float = 6.0
    tau_plus: float = 3.0
    tau_minus: float = 3.0
    hold: int = 3
    wait: int = 7


def lif_charge_step(v: Tensor, charge: Tensor, p: CA3Params) -> tuple[Tensor, Tensor]:
    """One 1-ms step of a LIF neuron receiving instantaneous synaptic charge (weight units)."""
    v = p.v_rest + (v - p.v_rest) * math.exp(-1.0 / p.tau_m) + charge * (p.tau_syn / p.c_m)
    s = (v >= p.v_th).to(v.dtype)
    return torch.where(s > 0, torch.full_like(v, p.v_reset), v), s


class CA3Memory:
    """``mem = CA3Memory(cue_size=5, content_size=10); mem.learn(0, bits); mem.recall_cue([0])``."""

    def __init__(self, cue_size: int, content_size: int, *, params: CA3Params = CA3Params(),
                 dtype: torch.dtype = torch.float32):
        if cue_size < 1 or content_size < 1:
            raise ValueError("cue_size and content_size must be positive")
        self.p, self.cue_size, self.content_size = params, cue_size, content_size
        self.weight = torch.zeros(content_size, cue_size, dtype=dtype)      # W[content, cue]
        self.last_raster: dict[str, Tensor] = {}

    def learn(self, cue, content) -> "CA3Memory":
        """Learn one memory (cue int, content (M,)) or several at once (distinct cues (B,),
        contents (B, M)): each cue touches only its own synapses, so a batch of distinct cues is
        the same as learning them one after another."""
        cues = torch.as_tensor(cue, dtype=torch.long).flatten()
        if cues.numel() == 0 or cues.min() < 0 or cues.max() >= self.cue_size:
            raise ValueError(f"cues must be addresses in [0, {self.cue_size}), got {cue}")
        if len(cues.unique()) != len(cues):
            raise ValueError("cues learned in one call must be distinct; learn repeated cues in separate calls")
        content = torch.as_tensor(content, dtype=self.weight.dtype).reshape(len(cues), -1)
        if content.shape[1] != self.content_size or not torch.all((content == 0) | (content == 1)):
            raise ValueError(f"content must be {self.content_size} bits of 0/1 per cue")
        p = self.p
        cue_in = torch.nn.functional.one_hot(cues, self.cue_size).to(self.weight.dtype)
        v_cue, v_cont = torch.full_like(cue_in, p.v_rest), torch.full_like(content, p.v_rest)
        x_pre, x_post = torch.zeros_like(v_cue), torch.zeros_like(v_cont)
        s_cue, first_cue, raster_cue, raster_cont = torch.zeros_like(v_cue), None, [], []
        for t in range(p.hold + p.wait):
            charge_cont = p.w_static * content * float(2 <= t <= p.hold + 1)       # conditioning relay
            if first_cue is not None and t == first_cue + 1:                          # one recall wave
                charge_cont = charge_cont + s_cue @ self.weight.T
            v_cue, s_cue = lif_charge_step(v_cue, p.w_static * cue_in * float(1 <= t <= p.hold), p)
            v_cont, s_cont = lif_charge_step(v_cont, charge_cont, p)
            if first_cue is None and s_cue.any():
                first_cue = t
            dw, x_pre, x_post = stdp(self.weight, s_cue, s_cont, x_pre, x_post, a_plus=p.a_plus,
                                     a_minus=p.a_minus, tau_pre=p.tau_plus, tau_post=p.tau_minus, reduction="sum")
            self.weight.add_(dw).clamp_(0.0, p.w_max)
            raster_cue.append(s_cue)
            raster_cont.append(s_cont)
        self.last_raster = {"cue": torch.stack(raster_cue, 1), "content": torch.stack(raster_cont, 1)}
        return self

    def recall_cue(self, cues) -> Tensor:
        """Content recalled for each cue address: (B, M) in {0, 1}."""
        cues = torch.as_tensor(cues, dtype=torch.long).flatten()
        if cues.numel() and (cues.min() < 0 or cues.max() >= self.cue_size):
            raise ValueError(f"cues must be addresses in [0, {self.cue_size})")
        p = self.p
        onehot = torch.nn.functional.one_hot(cues, self.cue_size).to(self.weight.dtype)
        v_cue = torch.full_like(onehot, p.v_rest)
        v_cont = torch.full((len(cues), self.content_size), p.v_rest, dtype=self.weight.dtype)
        s_cue, out = torch.zeros_like(onehot), torch.zeros_like(v_cont)
        for t in range(4):
            charge_cont = s_cue @ self.weight.T
            v_cue, s_cue = lif_charge_step(v_cue, p.w_static * onehot * float(t == 1), p)
            v_cont, s_cont = lif_charge_step(v_cont, charge_cont, p)
            out = torch.maximum(out, s_cont)
        return out

    def recall_content(self, fragments) -> tuple[Tensor, Tensor]:
        """(addresses (B, C), completed content (B, M)) for content fragments (B, M) in {0, 1}."""
        frag = torch.as_tensor(fragments, dtype=self.weight.dtype)
        frag = frag.reshape(-1, self.content_size)
        p = self.p
        v_cue = torch.full((len(frag), self.cue_size), p.v_rest, dtype=self.weight.dtype)
        v_cont = torch.full_like(frag, p.v_rest)
        s_cue, s_cont = torch.zeros_like(v_cue), torch.zeros_like(frag)
        addresses, completed = torch.zeros_like(v_cue), torch.zeros_like(frag)
        for t in range(5):
            charge_cue = s_cont @ self.weight if t >= 2 else torch.zeros_like(v_cue)
            charge_cont = p.w_static * frag * float(t == 1) + s_cue @ self.weight.T
            v_cue, s_cue = lif_charge_step(v_cue, charge_cue, p)
            v_cont, s_cont = lif_charge_step(v_cont, charge_cont, p)
            addresses = torch.maximum(addresses, s_cue)
            if t >= 3:
                completed = torch.maximum(completed, s_cont)
        return addresses, completed
