"""Source: the trained model without any adaptation (the TTA lower reference)."""
from __future__ import annotations

from ._tta import TTAMethod


class Source(TTAMethod):
    def __init__(self) -> None:
        super().__init__()
