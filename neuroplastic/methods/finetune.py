"""Fine-tuning: plain SGD on each experience in turn, no protection against forgetting (the lower bound)."""
from __future__ import annotations

from ._method import Method


class Finetune(Method):
    """Minimise cross-entropy on the current experience only."""

    def __init__(self) -> None:
        super().__init__()
