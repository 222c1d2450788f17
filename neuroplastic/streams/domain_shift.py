"""Domain shift for test-time adaptation: a model trained on ``source`` meets ``target`` images.

MNIST -> scikit-learn digits: the 8 x 8 digits (both of its splits, 1,797 images) are upsampled
(bilinear) to 20 x 20 and padded to 28 x 28, the framing of MNIST's digits (a 20 x 20 box centred
in 28 x 28), and rescaled to 0-255. One experience whose test part is the target set and whose
training part is empty: the TTA protocol trains its source model on the clean ``source`` data
(``meta["dataset"]``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ._stream import Experience, check_count, generator, load_images, take


def _frame_like_mnist(x: torch.Tensor) -> torch.Tensor:
    up = F.interpolate(x.float(), size=(20, 20), mode="bilinear", align_corners=False)
    up = F.pad(up, (4, 4, 4, 4))
    up = up * (255.0 / up.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6))
    return up.round().clamp(0, 255).to(torch.uint8)


def domain_shift(*, source: str = "mnist", target: str = "digits", n_test: int | None = None,
                 seed: int = 0) -> list[Experience]:
    if (source, target) != ("mnist", "digits"):
        from .._registry import ConfigError
        raise ConfigError(f"domain_shift supports source='mnist', target='digits' (got {source!r} -> {target!r}).")
    check_count(n_test, "n_test")
    _, _, _, _ = load_images(source)                       # fail early if the source data are missing
    x_tr, y_tr, x_te, y_te = load_images(target)
    x = _frame_like_mnist(torch.cat([x_tr, x_te]))
    y = torch.cat([y_tr, y_te])
    x, y = take(x, y, n_test, generator(seed, 8))
    empty = (x[:0], y[:0])
    return [Experience(0, empty, (x, y), tuple(range(10)), None,
                       {"dataset": source, "target": target, "corruption": f"{source}->{target}", "severity": 0})]
