"""Batch augmentation as tensor ops: one random affine + elastic warp for a whole (N, 1, H, W) batch."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random warp; all zero means no augmentation."""

    rotate: float = 0.0  # max rotation, degrees (uniform in +-rotate)
    scale: float = 0.0  # max relative zoom (uniform in 1 +- scale)
    shear: float = 0.0  # max horizontal shear (slant), as a tangent
    translate: float = 0.0  # max shift, pixels
    elastic: float = 0.0  # max displacement of the elastic field, pixels
    elastic_grid: int = 4  # the random field is drawn on a coarse grid and smoothly upsampled
    stroke: float = 0.0  # probability of thickening or thinning the strokes by one pixel
    flag_ones: float = 0.0  # probability of giving a 1 the flag at its top that many people write

    @property
    def enabled(self) -> bool:
        return any((self.rotate, self.scale, self.shear, self.translate, self.elastic, self.stroke, self.flag_ones))


def augment(
    pixels: torch.Tensor, config: AugmentConfig, generator: torch.Generator, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """Warp every image of `pixels` (N, 1, H, W) by its own random transform, in one grid_sample.
    `labels` (N,) are needed only for `flag_ones`."""
    if not config.enabled:
        return pixels
    if config.flag_ones and labels is not None:
        pixels = _flag_ones(pixels, labels, config.flag_ones, generator)
    n, _, height, width = pixels.shape

    def uniform(*shape: int, bound: float) -> torch.Tensor:
        # Drawn on the CPU generator so runs are reproducible on any device.
        return ((torch.rand(*shape, generator=generator) * 2 - 1) * bound).to(pixels.device)

    angle = uniform(n, bound=math.radians(config.rotate))
    zoom = 1 + uniform(n, bound=config.scale)
    shear = uniform(n, bound=config.shear)
    shift = uniform(n, 2, bound=2 * config.translate / width)  # pixels -> [-1, 1] grid units
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    # theta maps output coordinates to input coordinates: rotate * shear / zoom, then shift.
    theta = torch.stack(
        [
            torch.stack([cos, cos * shear - sin, shift[:, 0]], dim=1),
            torch.stack([sin, sin * shear + cos, shift[:, 1]], dim=1),
        ],
        dim=1,
    )  # (N, 2, 3)
    grid = F.affine_grid(theta, [n, 1, height, width], align_corners=False)  # (N, H, W, 2)
    if config.elastic:
        k = config.elastic_grid
        field = uniform(n, 2, k, k, bound=2 * config.elastic / width)  # (N, 2, k, k), grid units
        # Bicubic upsampling is separable: (H, k) @ field @ (k, W), far cheaper than F.interpolate.
        rows, cols = _bicubic_matrix(k, height).to(pixels.device), _bicubic_matrix(k, width).to(pixels.device)
        field = torch.einsum("hk,nckl,wl->nhwc", rows, field, cols)  # (N, H, W, 2)
        grid = grid + field
    warped = F.grid_sample(pixels, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if config.stroke:
        warped = _random_stroke_width(warped, config.stroke, generator)
    return warped


@functools.lru_cache(maxsize=8)
def _bicubic_matrix(k: int, size: int) -> torch.Tensor:
    """(size, k) weights that upsample k samples to `size` as bicubic interpolation, align_corners."""
    identity = torch.eye(k).view(1, 1, k, k)
    return F.interpolate(identity, size=(size, k), mode="bicubic", align_corners=True)[0, 0]


def _random_stroke_width(pixels: torch.Tensor, probability: float, generator: torch.Generator) -> torch.Tensor:
    """Dilate (thicker ink) or erode (thinner ink) a random subset of the batch with a 3x3 max-pool."""
    choice = torch.rand(pixels.shape[0], generator=generator)
    thick = (choice < probability / 2).nonzero().flatten().to(pixels.device)
    thin = ((choice >= probability / 2) & (choice < probability)).nonzero().flatten().to(pixels.device)
    out = pixels.clone()
    # Only the chosen images are pooled. Blending halfway: a full 3x3 dilation of a 28x28 digit is
    # a 2 px change, far more than needed.
    some = pixels[thick]
    out[thick] = 0.5 * (some + F.max_pool2d(some, 3, stride=1, padding=1))
    some = pixels[thin]
    thinner = 0.5 * (some - F.max_pool2d(-some, 3, stride=1, padding=1))
    # Eroding a 2 px MNIST stroke dims it rather than thinning it: restore each image's peak ink.
    peak = some.amax(dim=(1, 2, 3), keepdim=True)
    out[thin] = (thinner * peak / thinner.amax(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6)).clamp(0, 1)
    return out


def _flag_ones(
    pixels: torch.Tensor, labels: torch.Tensor, probability: float, generator: torch.Generator
) -> torch.Tensor:
    """Add to a random share of the 1s the short up-stroke at the top (the "continental" 1). MNIST's
    writers rarely drew it, so without this a flagged 1 reads as a 7 to the model."""
    draws = torch.rand(len(labels), 3, generator=generator)  # one row per image, used or not: reproducible
    chosen = ((labels.cpu() == 1) & (draws[:, 0] < probability)).nonzero().flatten()
    if len(chosen) == 0:
        return pixels
    ink = pixels[chosen.to(pixels.device), 0]  # (k, H, W)
    height, width = ink.shape[1:]
    ys = torch.arange(height, device=ink.device, dtype=ink.dtype)
    xs = torch.arange(width, device=ink.device, dtype=ink.dtype)
    rows = ink.amax(dim=2) > 0.5  # (k, H): rows that hold the stroke
    top = rows.float().argmax(dim=1).to(ink.dtype)  # (k,) first inked row
    bottom = height - 1 - rows.flip(1).float().argmax(dim=1).to(ink.dtype)  # (k,) last inked row
    band = ((ys >= top[:, None]) & (ys <= top[:, None] + 2)).to(ink.dtype)  # (k, H): the stroke's top 3 rows
    weight = ink * band[:, :, None]  # (k, H, W)
    column = (weight.sum(1) * xs).sum(1) / weight.sum((1, 2)).clamp(min=1e-6)  # (k,)
    # The flag: from the top, 20-35% of the digit's height long, 20-50 degrees below horizontal, leftwards.
    length = (0.2 + 0.15 * draws[chosen, 1].to(ink.device)) * (bottom - top + 1)
    angle = torch.deg2rad(20 + 30 * draws[chosen, 2].to(ink.device))
    start = torch.stack([column, top], dim=1)  # (k, 2) as (x, y)
    end = start + length[:, None] * torch.stack([-torch.cos(angle), torch.sin(angle)], dim=1)
    points = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)  # (H, W, 2) as (x, y)
    segment = (end - start)[:, None, None]  # (k, 1, 1, 2)
    along = (((points - start[:, None, None]) * segment).sum(-1) / (segment**2).sum(-1).clamp(min=1e-6)).clamp(0, 1)
    distance = (points - start[:, None, None] - along[..., None] * segment).norm(dim=-1)  # (k, H, W)
    peak = ink.amax(dim=(1, 2), keepdim=True)
    flag = (1.5 - distance).clamp(0, 1) * peak  # about 2 px wide with soft edges, like MNIST's strokes
    out = pixels.clone()
    out[chosen.to(pixels.device), 0] = torch.maximum(ink, flag)
    return out
