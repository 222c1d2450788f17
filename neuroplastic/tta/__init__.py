"""The test-time-adaptation protocol: a source model trained once on clean data, then an online
pass over the corrupted test experiences under one of the settings the TTA literature uses."""
from .protocol import SETTINGS, run_tta, tta_batches, train_source

__all__ = ["SETTINGS", "run_tta", "tta_batches", "train_source"]
