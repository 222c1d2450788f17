"""Metrics: pure functions over accuracy matrices, evaluation curves and activations."""
from __future__ import annotations

from .continual import (average_accuracy, average_incremental_accuracy, backward_transfer,
                        forgetting, forward_transfer, learning_accuracy, learning_curve_area, min_acc, online_accuracy,
                        recovery_times, wc_acc,
                        windowed_forgetting, windowed_plasticity)
from .plasticity import dormant_ratio, effective_rank, fraction_active, relative_weight_change, weight_density
from .stats import mean_ci, paired_test

# name -> (description, higher is better); computed from a Result by neuroplastic.run.summary
METRICS = {
    "acc": ("final average accuracy (%)", True),
    "bwt": ("backward transfer (points)", True),
    "fwt": ("forward transfer (points)", True),
    "forgetting": ("average forgetting (points)", False),
    "aia": ("average incremental accuracy (%)", True),
    "learning_acc": ("learning accuracy: on each experience right after training on it (%)", True),
    "min_acc": ("average min-ACC over previous experiences (%)", True),
    "wc_acc": ("worst-case accuracy WC-ACC (%)", True),
    "wf10": ("windowed forgetting, w = 10 evaluations (points)", False),
    "wp10": ("windowed plasticity, w = 10 evaluations (points)", True),
    "facilitation": ("forward facilitation: accuracy on each new task after its first train.eval_dense steps minus the first task's, on streams whose tasks recur (points)", True),
    "lca10": ("learning-curve area: mean accuracy over each experience's first 11 evaluations while it trains (beta = 10; none where fewer) (%)", True),
    "online_acc": ("prequential accuracy: each batch scored before training on it (%), train.online_eval", True),
    "recovery": ("batches to recover the pre-shift online accuracy after a shift (mean)", False),
    "fau": ("fraction of active units at the end (%)", True),
    "dormant": ("dormant-unit ratio at the end (%)", False),
    "eff_rank": ("effective rank of the final features", True),
    "weight_change": ("relative weight change ||W - W0|| / ||W0||", False),
    "wall_s": ("wall time of the cell (s)", False),
    "samples_per_s": ("training samples per second", True),
    "train_gflops": ("training compute estimate: forward GFLOPs x (3 x samples with gradients + samples without)", False),
    "eval_share": ("share of the cell's wall time spent in continual evaluation (%)", False),
    "peak_mem_mb": ("peak memory (MB)", False),
    "params": ("parameter count", False),
    "density": ("fraction of non-zero entries of the weight matrices and kernels (2+ dimensional parameters) at the end (%)", False),
    "branching": ("branching factor of a spiking liquid after its initialisation (1 = critical; bf_gap ranks it)", None),
    "bf_gap": ("distance of the liquid's branching factor from 1, |BF - 1|", False),
    "liquid_hz": ("mean firing rate of a spiking liquid's neurons (Hz)", None),
}

__all__ = [
    "METRICS", "average_accuracy", "average_incremental_accuracy", "backward_transfer",
    "dormant_ratio", "effective_rank", "forgetting", "forward_transfer", "fraction_active",
    "learning_accuracy", "learning_curve_area", "mean_ci", "min_acc", "online_accuracy", "recovery_times", "paired_test", "relative_weight_change", "wc_acc", "weight_density",
    "windowed_forgetting", "windowed_plasticity",
]
