"""NALSM (Ivanov & Michmizos 2021): astrocyte-modulated STDP shapes a spiking liquid, then a read-out
of its spike counts learns; with its baselines LSM+STDP and the random LSM (Maass et al. 2002).

The liquid (``model="liquid"``) is frozen after its optional plastic initialisation; a linear
read-out of its spike counts is the only trained part.

* ``nalsm``: NALSM (Ivanov & Michmizos, "Increasing Liquid State Machine Performance with Edge-of-
  Chaos Dynamics Organized by Astrocyte-modulated Plasticity", NeurIPS 2021; read from
  combra-lab/NALSM). Before the first experience the liquid runs an initialisation phase on
  ``init_samples`` training samples, ``init_ms`` (20) ms each, one at a time, with trace STDP
  whose depression rate is a global astrocyte's state (``reservoir.plasticity``); the paper uses
  50,000 samples.
* ``lsm_stdp``: the same phase with the depression rate fixed to the potentiation rate, no
  astrocyte (the paper's LSM+STDP baseline).
* ``lsm``: the random liquid, never plastic (Maass et al. 2002, the paper's LSM baseline).

Each sample is presented for the model's ``steps`` (250) ms; the read-out (``readout="softmax"``)
is a linear softmax on the spike counts trained after each experience on its counts with Adadelta
(lr 0.1 and L2 5e-10 as NALSM_OUTPUT_LAYER.py; mini-batches of 256 [I]) for at most
``readout_epochs`` epochs, keeping the epoch with the best accuracy on a validation split of
``val_fraction`` of the experience's training samples (the paper: 10,000 of 60,000), patience
``patience`` epochs. ``readout="ncm"`` keeps the mean count vector of every class seen and
predicts the nearest one: a class-incremental read-out that does not forget, since the liquid is
frozen. The softmax read-out is retrained on each experience's counts only, so on a stream it
forgets old classes as fine-tuning does.

Before the first experience's read-out, the liquid's branching factor and firing rate are
measured on ``probe`` (32) training samples at the model's presentation length and recorded in
``trace_`` (the ``branching``, ``bf_gap`` and ``liquid_hz`` metrics), with the astrocyte state and
the liquid's spikes per sample over the initialisation phase, the branching factor at
``init_probes`` (10) even points of that phase, and a raster of the first probe sample (its first
``raster_neurons`` neurons).

The training batches only drive the frozen liquid: ``observe`` records their spike counts (one
pass, ``train.epochs`` ignored) and returns the current read-out's loss on them.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..metrics.criticality import branching_factor, firing_rate
from ..reservoir.plasticity import Astrocyte, simulate_plastic
from ..reservoir.simulate import simulate
from ..streams import Experience, as_float
from ._frozen import FrozenFeatures
from ._method import check, is_number


class _LSM(FrozenFeatures):
    needs_model = "liquid"
    check_model_kwargs = {"grid": [4, 4, 4], "steps": 20}
    scenarios = ("class", "task")
    plastic: str = "none"          # none | stdp | astro

    def __init__(self, *, init_samples: int = 5000, init_ms: int = 20, eta: float = 0.15,
                 astro_w: float = 0.015, astro_tau: float = 100.0, readout: str = "softmax",
                 readout_lr: float = 0.1, readout_epochs: int = 100, patience: int = 10,
                 val_fraction: float = 0.1, probe: int = 32, init_probes: int = 10, raster_neurons: int = 200,
                 seed: int = 0) -> None:
        super().__init__()
        check(isinstance(init_samples, int) and init_samples >= 0, "init_samples", init_samples, "an integer >= 0")
        check(isinstance(init_ms, int) and init_ms >= 1, "init_ms", init_ms,
              "an integer >= 1 (ms per sample; the step is 1 ms)")
        for name, v in (("eta", eta), ("astro_tau", astro_tau), ("readout_lr", readout_lr)):
            check(is_number(v) and v > 0, name, v, "a number > 0")
        check(is_number(astro_w), "astro_w", astro_w, "a number (0.015 for 1,000 neurons, 0.0075 for 8,000)")
        check(readout in ("softmax", "ncm"), "readout", readout, "'softmax' or 'ncm'")
        check(isinstance(readout_epochs, int) and readout_epochs >= 1, "readout_epochs", readout_epochs, "an integer >= 1")
        check(isinstance(patience, int) and patience >= 1, "patience", patience, "an integer >= 1")
        check(is_number(val_fraction) and 0 <= val_fraction < 1, "val_fraction", val_fraction, "a number in [0, 1)")
        self.init_samples, self.init_ms, self.eta, self.astro_w, self.astro_tau = init_samples, init_ms, eta, astro_w, astro_tau
        self.readout, self.readout_lr, self.readout_epochs, self.patience = readout, readout_lr, readout_epochs, patience
        check(isinstance(probe, int) and probe >= 1, "probe", probe, "an integer >= 1 (samples for the diagnostics)")
        check(isinstance(init_probes, int) and init_probes >= 0, "init_probes", init_probes,
              "an integer >= 0 (branching-factor measurements during the initialisation; 0: none)")
        check(isinstance(raster_neurons, int) and raster_neurons >= 0, "raster_neurons", raster_neurons,
              "an integer >= 0 (liquid neurons kept in the recorded raster)")
        self.val_fraction, self.probe, self.seed = val_fraction, probe, seed
        self.init_probes, self.raster_neurons = init_probes, raster_neurons
        self.means_: dict[int, Tensor] = {}
        self.trace_: dict = {}

    def setup(self, model, optimizer):
        if not hasattr(model, "liquid"):
            raise ValueError(f"{type(self).__name__.lower()} drives a spiking liquid: use model.name = \"liquid\".")
        return super().setup(model, optimizer)

    def begin(self, exp: Experience) -> None:
        first = self.task_ is None and not self.seen_classes_
        super().begin(exp)
        x = exp.train[0]
        if first:
            self.model.rates(as_float(x))                     # the encoding's scale: the official train-set max
            probe = as_float(x[-self.probe:])
            if self.plastic != "none" and self.init_samples:
                self._initialise(x, probe)
            self._diagnose(probe)
            if self.trace_.get("init_branching_at"):            # the phase's last point: the liquid as used
                self.trace_["init_branching_at"].append(min(self.init_samples, len(x)))
                self.trace_["init_branching"].append(self.trace_["branching_factor"][0])

    def _initialise(self, x: Tensor, probe: Tensor) -> None:
        """The plastic phase on ``init_samples`` training samples, in ``init_probes`` parts with the
        frozen liquid's branching factor measured on ``probe`` before each."""
        g = torch.Generator().manual_seed(self.seed)
        idx = torch.randperm(len(x), generator=g)[: self.init_samples].to(x.device)
        astro = Astrocyte(w=self.astro_w, tau=self.astro_tau) if self.plastic == "astro" else None
        gen = torch.Generator(device=x.device).manual_seed(self.seed + 1)
        bounds = torch.linspace(0, len(idx), self.init_probes + 1).round().long().tolist() if self.init_probes else [0, len(idx)]
        traces, astro_l, rate_l, at, bf = None, [], [], [], []
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            if self.init_probes:
                at.append(lo)
                bf.append(self._branching(probe))
            if hi == lo:
                continue
            part = simulate_plastic(self.model.liquid, self.model.rates(as_float(x[idx[lo:hi]])), self.init_ms,
                                    self.model.params_lif, eta=self.eta, astrocyte=astro, generator=gen, traces=traces)
            traces = part.traces
            astro_l.append(part.astro)
            rate_l.append(part.rate)
        per_sample = lambda t: torch.cat(t).reshape(-1, self.init_ms).mean(1).tolist()   # noqa: E731
        self.trace_["init_astro"] = per_sample(astro_l) if astro else []
        self.trace_["init_liquid_spikes"] = per_sample(rate_l)
        self.trace_["init_branching_at"], self.trace_["init_branching"] = at, bf

    @torch.no_grad()
    def _simulate_probe(self, x: Tensor):
        model = self.model
        g = torch.Generator(device=x.device).manual_seed(self.seed + 3)
        return simulate(model.liquid, model.rates(x), model.steps, model.params_lif, generator=g, record=True)

    def _branching(self, x: Tensor, trains: Tensor | None = None) -> float:
        """Branching factor of the liquid on ``x`` (or of ``trains`` already simulated from it)."""
        if trains is None:
            _, trains = self._simulate_probe(x)
        return branching_factor(trains, self.model.liquid.mask[:, : self.model.liquid.n])

    @torch.no_grad()
    def _diagnose(self, x: Tensor) -> None:
        """Branching factor and firing rate of the liquid as it will be used (frozen), on ``probe``
        training samples presented for the model's ``steps`` ms (``metrics.criticality``), and the
        first probe sample's raster (spike times and neurons, the first ``raster_neurons``)."""
        counts, trains = self._simulate_probe(x)
        self.trace_["branching_factor"] = [self._branching(x, trains)]
        self.trace_["liquid_hz"] = [firing_rate(counts, self.model.steps)]
        t, neuron = trains[:, 0, : self.raster_neurons].nonzero(as_tuple=True)
        self.trace_["raster_t"], self.trace_["raster_neuron"] = t.tolist(), neuron.tolist()

    def end(self, exp: Experience) -> None:
        feats, y = self.recorded()
        if self.readout == "ncm":
            for c in y.unique().tolist():
                self.means_[c] = feats[y == c].mean(0)
            return
        self._fit_softmax(feats, y)

    def _fit_softmax(self, feats: Tensor, y: Tensor) -> None:
        head = self.model.head
        g = torch.Generator().manual_seed(self.seed + 2)
        perm = torch.randperm(len(y), generator=g).to(y.device)
        n_val = int(len(y) * self.val_fraction)
        val, tr = perm[:n_val], perm[n_val:]
        opt = torch.optim.Adadelta(head.parameters(), lr=self.readout_lr, weight_decay=5e-10)
        best, best_state, waited = -1.0, None, 0
        for epoch in range(self.readout_epochs):
            order = tr[torch.randperm(len(tr), generator=g).to(y.device)]
            for i in range(0, len(order), 256):
                b = order[i:i + 256]
                loss = F.cross_entropy(head(feats[b], self.task_), y[b])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if n_val == 0:
                continue
            with torch.no_grad():
                acc = float((head(feats[val], self.task_).argmax(1) == y[val]).float().mean())
            if acc > best:
                best, waited = acc, 0
                best_state = {k: v.detach().clone() for k, v in head.state_dict().items()}
            else:
                waited += 1
                if waited >= self.patience:
                    break
        if best_state is not None:
            head.load_state_dict(best_state)
        self.trace_.setdefault("readout_val_acc", []).append(best)
        self.trace_.setdefault("readout_epochs", []).append(epoch + 1)

    @torch.no_grad()
    def predict(self, x: Tensor, task: int | None = None) -> Tensor:
        if self.readout != "ncm":
            return super().predict(x, task)
        counts = self.model.features(x)
        scores = torch.full((len(x), self.model.head.fc.out_features), -1e30, device=x.device)
        for c, mu in self.means_.items():
            scores[:, c] = -(counts - mu).pow(2).sum(1)
        return scores


class LSM(_LSM):
    """Random liquid, no plasticity (Maass et al. 2002): the paper's LSM baseline."""

    plastic = "none"


class LSMSTDP(_LSM):
    """STDP in the liquid with a fixed depression rate (= eta), no astrocyte: the LSM+STDP baseline."""

    plastic = "stdp"


class NALSM(_LSM):
    """STDP whose depression rate is set by a global astrocyte (NALSM, Ivanov & Michmizos 2021)."""

    plastic = "astro"
