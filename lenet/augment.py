"""Batch augmentation as tensor ops: one random affine + elastic warp for a whole (N, 1, H, W) batch."""

from __future__ import annotations

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

    @property
    def enabled(self) -> bool:
        return any((self.rotate, self.scale, self.shear, self.translate, self.elastic, self.stroke))


def augment(pixels: torch.Tensor, config: AugmentConfig, generator: torch.Generator) -> torch.Tensor:
    """Warp every image of `pixels` (N, 1, H, W) by its own random transform, in one grid_sample."""
    if not config.enabled:
        return pixels
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
        field = F.interpolate(field, size=(height, width), mode="bicubic", align_corners=True)
        grid = grid + field.permute(0, 2, 3, 1)
    warped = F.grid_sample(pixels, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if config.stroke:
        warped = _random_stroke_width(warped, config.stroke, generator)
    return warped


def _random_stroke_width(pixels: torch.Tensor, probability: float, generator: torch.Generator) -> torch.Tensor:
    """Dilate (thicker ink) or erode (thinner ink) a random subset of the batch with a 3x3 max-pool."""
    n = pixels.shape[0]
    choice = torch.rand(n, generator=generator).to(pixels.device)
    thicker = F.max_pool2d(pixels, 3, stride=1, padding=1)
    thinner = -F.max_pool2d(-pixels, 3, stride=1, padding=1)
    # Blend halfway: a full 3x3 dilation of a 28x28 digit is a 2 px change, far more than needed.
    thicker = 0.5 * (pixels + thicker)
    thinner = 0.5 * (pixels + thinner)
    # Eroding a 2 px MNIST stroke dims it rather than thinning it: restore each image's peak ink.
    peak = pixels.amax(dim=(1, 2, 3), keepdim=True)
    thinner = (thinner * peak / thinner.amax(dim=(1, 2, 3), keepdim=True).clamp(min=1e-6)).clamp(0, 1)
    pick_thick = (choice < probability / 2).view(n, 1, 1, 1)
    pick_thin = ((choice >= probability / 2) & (choice < probability)).view(n, 1, 1, 1)
    return torch.where(pick_thick, thicker, torch.where(pick_thin, thinner, pixels))
