"""Procedural image corruptions in the style of MNIST-C (Mu & Gilmer 2019) and CIFAR-10-C
(Hendrycks & Dietterich 2019), as pure batched torch functions.

Each function maps float images (N, C, H, W) in [0, 1] and a severity 1-5 to corrupted images in
[0, 1]. Randomness comes only from the generator passed in; the streams seed it per corruption
(not per severity), so the noise pattern, blur direction or displacement field of an image is
the same at every severity and only its strength grows. The severity tables follow CIFAR-10-C's
where they transfer to 28 x 28 digits; blur sizes, displacements and JPEG qualities are scaled to
the small images (a reconstruction: MNIST-C's exact parameters are not reproduced).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .rotated import rotate


def _level(table, severity: int):
    if severity not in (1, 2, 3, 4, 5):
        raise ValueError(f"severity must be an integer from 1 to 5, got {severity!r}.")
    return table[severity - 1]


def gaussian_noise(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    c = _level([0.08, 0.12, 0.18, 0.26, 0.38], severity)
    return (x + c * torch.randn(x.shape, generator=g)).clamp(0, 1)


def shot_noise(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    c = _level([60.0, 25.0, 12.0, 5.0, 3.0], severity)
    return (torch.poisson(x * c, generator=g) / c).clamp(0, 1)


def impulse_noise(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    a = _level([0.03, 0.06, 0.09, 0.17, 0.27], severity)
    u = torch.rand(x.shape, generator=g)
    out = torch.where(u < a / 2, torch.ones_like(x), x)
    return torch.where((u >= a / 2) & (u < a), torch.zeros_like(x), out)


def _conv_same(x: Tensor, kernel: Tensor) -> Tensor:
    """Convolve every channel with ``kernel``: (k, k) for all images or (N, k, k) per image."""
    n, c, h, w = x.shape
    k = kernel.shape[-1]
    pad = k // 2
    xp = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    if kernel.dim() == 2:
        return F.conv2d(xp.reshape(n * c, 1, h + 2 * pad, w + 2 * pad), kernel[None, None]).reshape(n, c, h, w)
    weight = kernel.repeat_interleave(c, 0)[:, None]              # (N*C, 1, k, k)
    out = F.conv2d(xp.reshape(1, n * c, h + 2 * pad, w + 2 * pad), weight, groups=n * c)
    return out.reshape(n, c, h, w)


def defocus_blur(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    r = _level([0.6, 1.0, 1.5, 2.0, 2.5], severity)
    k = 2 * math.ceil(r) + 1
    ax = torch.arange(k, dtype=torch.float32) - k // 2
    dist = (ax[:, None] ** 2 + ax[None, :] ** 2).sqrt()
    disk = (r + 0.5 - dist).clamp(0, 1)                           # anti-aliased disk
    return _conv_same(x, disk / disk.sum()).clamp(0, 1)


def motion_blur(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    length = _level([2.0, 3.0, 4.5, 6.0, 7.5], severity)          # pixels, one direction per image
    angle = torch.rand(x.shape[0], generator=g) * math.pi
    k = 2 * math.ceil(length / 2) + 1
    ax = torch.arange(k, dtype=torch.float32) - k // 2
    py, px = ax[:, None].expand(k, k), ax[None, :].expand(k, k)
    d = torch.stack([angle.cos(), angle.sin()], 1)[:, :, None, None]   # (N, 2, 1, 1)
    along = px * d[:, 0] + py * d[:, 1]                                  # (N, k, k)
    across = (-px * d[:, 1] + py * d[:, 0]).abs()
    kern = (1 - across).clamp(0, 1) * (length / 2 + 0.5 - along.abs()).clamp(0, 1)
    return _conv_same(x, kern / kern.sum((1, 2), keepdim=True)).clamp(0, 1)


def _scale(x: Tensor, zoom: float) -> Tensor:
    mat = torch.tensor([[1.0 / zoom, 0, 0], [0, 1.0 / zoom, 0]]).expand(x.shape[0], 2, 3)
    grid = F.affine_grid(mat, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def zoom_blur(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    top = _level([1.12, 1.2, 1.3, 1.4, 1.5], severity)
    zooms = torch.arange(1.0, top + 1e-6, 0.04).tolist()
    return torch.stack([_scale(x, z) for z in zooms]).mean(0).clamp(0, 1)


def contrast(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    c = _level([0.4, 0.3, 0.2, 0.1, 0.05], severity)
    mean = x.mean((1, 2, 3), keepdim=True)
    return ((x - mean) * c + mean).clamp(0, 1)


def brightness(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    c = _level([0.1, 0.2, 0.3, 0.4, 0.5], severity)
    return (x + c).clamp(0, 1)


def fog(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    """Low-frequency noise (sum of upsampled coarse noise at three scales) added and renormalised."""
    c = _level([0.3, 0.5, 0.7, 0.9, 1.1], severity)
    n, ch, h, w = x.shape
    noise = torch.zeros(n, 1, h, w)
    for cells, weight in ((3, 1.0), (5, 0.5), (9, 0.25)):
        coarse = torch.rand(n, 1, cells, cells, generator=g)
        noise += weight * F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=False)
    noise = (noise - noise.amin((2, 3), keepdim=True)) / (noise.amax((2, 3), keepdim=True)
                                                          - noise.amin((2, 3), keepdim=True) + 1e-8)
    peak = x.amax((1, 2, 3), keepdim=True)
    return ((x + c * noise) * peak / (peak + c)).clamp(0, 1)


def elastic(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    """Smooth random displacement fields (Simard et al. 2003) of growing amplitude."""
    alpha = _level([1.0, 1.6, 2.2, 2.8, 3.4], severity)           # peak displacement, pixels
    n, ch, h, w = x.shape
    field = torch.rand(n, 2, h, w, generator=g) * 2 - 1
    sigma = 3.0
    ax = torch.arange(-6, 7, dtype=torch.float32)
    k1 = torch.exp(-ax ** 2 / (2 * sigma ** 2))
    k1 = k1 / k1.sum()
    field = F.conv2d(F.pad(field.reshape(n * 2, 1, h, w), (6, 6, 0, 0), mode="reflect"), k1[None, None, None, :])
    field = F.conv2d(F.pad(field, (0, 0, 6, 6), mode="reflect"), k1[None, None, :, None]).reshape(n, 2, h, w)
    field = field / field.abs().amax((1, 2, 3), keepdim=True).clamp_min(1e-8)
    ident = F.affine_grid(torch.eye(2, 3).expand(n, 2, 3), list(x.shape), align_corners=False)
    shift = field.permute(0, 2, 3, 1) * alpha * torch.tensor([2.0 / w, 2.0 / h])
    return F.grid_sample(x, ident + shift, mode="bilinear", padding_mode="zeros", align_corners=False)


def pixelate(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    f = _level([0.8, 0.65, 0.55, 0.45, 0.35], severity)
    h, w = x.shape[-2:]
    small = F.interpolate(x, size=(max(1, round(h * f)), max(1, round(w * f))), mode="area")
    return F.interpolate(small, size=(h, w), mode="nearest")


_JPEG_LUMA = torch.tensor([
    [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56], [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99],
], dtype=torch.float32)


def _dct_matrix(n: int = 8) -> Tensor:
    k = torch.arange(n, dtype=torch.float32)
    m = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * math.sqrt(2.0 / n)
    m[0] /= math.sqrt(2.0)
    return m


def jpeg(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    """JPEG-like quantisation: 8 x 8 block DCT, the standard luminance table scaled to a quality."""
    quality = _level([40, 25, 15, 10, 6], severity)
    scale = 5000.0 / quality if quality < 50 else 200.0 - 2 * quality
    q = ((_JPEG_LUMA * scale + 50) / 100).floor().clamp(1, 255)
    n, ch, h, w = x.shape
    ph, pw = (-h) % 8, (-w) % 8
    xp = F.pad(x * 255 - 128, (0, pw, 0, ph), mode="replicate")
    H, W = xp.shape[-2:]
    blocks = xp.reshape(n, ch, H // 8, 8, W // 8, 8).transpose(3, 4)   # (n, ch, bh, bw, 8, 8)
    d = _dct_matrix()
    coef = d @ blocks @ d.T
    blocks = d.T @ ((coef / q).round() * q) @ d
    out = blocks.transpose(3, 4).reshape(n, ch, H, W)[..., :h, :w]
    return ((out + 128) / 255).clamp(0, 1)


def rotation(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    deg = _level([12.0, 24.0, 36.0, 48.0, 60.0], severity)
    sign = torch.randint(0, 2, (x.shape[0],), generator=g).float() * 2 - 1
    return rotate(x, sign * deg)


def translation(x: Tensor, severity: int, g: torch.Generator) -> Tensor:
    frac = _level([0.06, 0.1, 0.14, 0.18, 0.22], severity)          # of the image width
    angle = torch.rand(x.shape[0], generator=g) * 2 * math.pi
    n = x.shape[0]
    mat = torch.zeros(n, 2, 3)
    mat[:, 0, 0] = mat[:, 1, 1] = 1.0
    mat[:, 0, 2], mat[:, 1, 2] = -2 * frac * angle.cos(), -2 * frac * angle.sin()
    grid = F.affine_grid(mat, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


CORRUPTIONS = {
    f.__name__: f for f in (
        gaussian_noise, shot_noise, impulse_noise, defocus_blur, motion_blur, zoom_blur,
        contrast, brightness, fog, elastic, pixelate, jpeg, rotation, translation,
    )
}
