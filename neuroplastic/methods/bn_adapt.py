"""BN-adapt: normalise with the test batch's statistics instead of the training ones (Schneider
et al. 2020, "Improving robustness against common corruptions by covariate shift adaptation";
Nado et al. 2020). No parameter changes; needs a model with BatchNorm (``cnn`` with norm="bn")."""
from __future__ import annotations

from ._tta import TTAMethod, configure_norm


class BNAdapt(TTAMethod):
    needs_model = "cnn"
    check_model_kwargs = {"channels": [4, 8], "hidden": 16, "norm": "bn"}

    def __init__(self) -> None:
        super().__init__()

    def configure(self) -> None:
        if not configure_norm(self.model):
            raise ValueError("bn_adapt needs BatchNorm layers: use model.name = \"cnn\" with model.norm = \"bn\".")
