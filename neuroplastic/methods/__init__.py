"""Methods: continual-learning (and later plasticity, TTA) algorithms behind one contract."""
from __future__ import annotations

from .._registry import check_kwargs, check_name
from ._method import Method
from .agem import AGEM
from .bn_adapt import BNAdapt
from .derpp import DERpp
from .diehl_cook import DiehlCookMethod
from .eata import EATA
from .esn import ESN
from .er import ER
from .ewc import EWC
from .fetril import FeTrIL, FrozenNCM
from .fpf import FPF
from .finetune import Finetune
from .gpm import GPM
from .granet import GMP, GraNet
from .hebbian_pca import HebbianPCA
from .hlop import HLOP
from .homeostatic_lr import LRH, LRR
from .interventions import AdaptiveUpdateRatio, ReDo, ShrinkPerturb
from .hopfield_memory import HopfieldMemory
from .joint import Joint
from .kfpf import KFPF, KFPFKD
from .lsm import LSM, LSMSTDP, NALSM
from .lwf import LwF
from .metaplastic import Metaplastic
from .nhl import NHL
from .ottt import OTTT
from .owm import OWM
from .refresh import Refresh
from .si import SI
from .softhebb import SoftHebb
from .source import Source
from .tent import TENT

METHODS: dict[str, type[Method]] = {
    "finetune": Finetune, "joint": Joint, "ewc": EWC, "si": SI, "er": ER, "agem": AGEM,
    "lwf": LwF, "derpp": DERpp, "softhebb": SoftHebb, "hebbian_pca": HebbianPCA,
    "diehl_cook": DiehlCookMethod, "ottt": OTTT, "hlop": HLOP, "gpm": GPM, "owm": OWM,
    "source": Source, "bn_adapt": BNAdapt, "tent": TENT, "eata": EATA, "nhl": NHL,
    "hopfield_memory": HopfieldMemory, "lrh": LRH, "lrr": LRR,
    "redo": ReDo, "shrink_perturb": ShrinkPerturb, "adaptive_ur": AdaptiveUpdateRatio,
    "granet": GraNet, "gmp": GMP, "fetril": FeTrIL, "ncm": FrozenNCM,
    "metaplastic": Metaplastic, "nalsm": NALSM, "lsm_stdp": LSMSTDP, "lsm": LSM,
    "esn": ESN, "refresh": Refresh, "fpf": FPF, "kfpf_sgd": KFPF, "kfpf_kd": KFPFKD,
}


def make(name: str, **kwargs) -> Method:
    """Build method ``name``; unknown keywords fail with the valid list."""
    cls = METHODS[check_name(name, METHODS, "method")]
    check_kwargs(cls, kwargs, f"method {name!r}")
    return cls(**kwargs)


__all__ = ["METHODS", "Method", "make", *[c.__name__ for c in METHODS.values()]]
