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
