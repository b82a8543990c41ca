"""MNIST-style strokes: a digit's ink brought to MNIST's stroke width and fitted into 20x20."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from lenet.pipeline.decode import BLANK, NoDigitError
from lenet.pipeline.place import BOX

FINE = 4  # strokes are normalised at FINE x the final scale (an 80 px box), then reduced
# Stroke width in final (28x28) pixels. MNIST's middle 80% lies between 1.9 and 3.45 (stroke_width
# of 2,000 test digits at the fine scale): widths inside are kept, widths outside brought to the edge.
MIN_WIDTH, MAX_WIDTH = 1.9, 3.4
# Ink whose mean stroke width is this share of its longer side or more is a dot or a blot, no digit: a
# disc is 0.5, a filled square 0.64; the boldest of MNIST's 70,000 digits, a short thick 1, 0.455.
BLOT = 0.48
BLOTTED = "no digit found: a dot or a blot, not the strokes of a digit"
DISK_RADIUS = 4.5  # dilate: above this radius a distance transform is faster than the disk (0.3 ms at 108 px)


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a boolean (H, W) mask in pixels: area / length, where the strokes' length
    comes from their edge count (a curve of length L crosses 8L/pi pixel edges on average)."""
    area = np.count_nonzero(mask)
    if area == 0:
        return 0.0
    # Edges between neighbours that differ, and between an ink pixel and the blank outside.
    edges = (
        np.count_nonzero(mask[1:] != mask[:-1])
        + np.count_nonzero(mask[:, 1:] != mask[:, :-1])
        + np.count_nonzero(mask[0])
        + np.count_nonzero(mask[-1])
        + np.count_nonzero(mask[:, 0])
        + np.count_nonzero(mask[:, -1])
    )
    return 8 * area / (math.pi * edges)


def _removable(step: int) -> np.ndarray:
    """(256,) bool: whether Zhang-Suen's sub-step `step` (0 or 1) removes an ink pixel whose eight
    neighbours, P2 (north) to P9 (north-west) clockwise, are the bits of the index, P2 the lowest."""
    codes = np.arange(256)
    n = [(codes >> i) & 1 == 1 for i in range(8)]  # P2..P9
    count = sum(x.astype(np.int8) for x in n)
    transitions = sum((~n[i] & n[(i + 1) % 8]).astype(np.int8) for i in range(8))  # 0 -> 1 going round
    if step == 0:
        keep_shape = ~(n[0] & n[2] & n[4]) & ~(n[2] & n[4] & n[6])
    else:
        keep_shape = ~(n[0] & n[2] & n[6]) & ~(n[0] & n[4] & n[6])
    return (count >= 2) & (count <= 6) & (transitions == 1) & keep_shape


_REMOVABLE = (_removable(0), _removable(1))
# Where P2..P9 lie in the mask padded by one pixel, relative to the pixel's own top-left neighbour.
_NEIGHBOURS = ((0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0), (0, 0))


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a boolean (H, W) mask to lines one pixel wide, connectivity kept."""
    mask = mask.astype(bool)
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if len(rows) == 0:
        return mask
    # Only the box of the ink changes (a restroked digit lies inside a blank margin): thin it alone.
    box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
    thinned = np.zeros_like(mask)
    thinned[box] = _zhang_suen(mask[box])
    return thinned


def _zhang_suen(mask: np.ndarray) -> np.ndarray:
    """thin() on the whole of a boolean (H, W) mask, as a new array."""
    padded = np.pad(mask, 1)  # a blank frame: every pixel has eight neighbours
    image = padded[1:-1, 1:-1]  # a view: removing from it removes from `padded`
    height, width = image.shape
    levels = padded.view(np.uint8)
    while True:
        changed = False
        for removable in _REMOVABLE:
            # Each pixel's neighbours as one byte (H, W), then one table lookup for the whole sub-step.
            codes = levels[0:height, 1 : width + 1].copy()
            for bit, (dy, dx) in enumerate(_NEIGHBOURS[1:], 1):
                codes |= levels[dy : dy + height, dx : dx + width] << bit
            remove = image & removable[codes]
            if remove.any():
                image &= ~remove
                changed = True
        if not changed:
            return image.copy()


def _disk(radius: float) -> np.ndarray:
    """(k, k) bool: the pixels within `radius` of the centre one (k = 2 * ceil(radius - 0.5) + 1)."""
    r = max(0, math.ceil(radius - 0.5))
    ys, xs = np.ogrid[-r : r + 1, -r : r + 1]
    return ys**2 + xs**2 <= radius**2 + 0.25


def dilate(mask: np.ndarray, radius: float) -> np.ndarray:
    """Grow a boolean mask by a disk of `radius` pixels (outside the mask counts as blank).

    scipy's binary morphology: the same pixels as a convolution with the disk and, at these sizes,
    as fast or faster on an idle CPU; torch's convolution slowed 20-50x while training held the cores.
    Its cost grows with the disk's area, so past DISK_RADIUS the same pixels come from a distance
    transform, whose cost does not: a fat marker's strokes (radius 20) 14 ms -> 0.3 ms an 80 px digit."""
    if radius <= DISK_RADIUS:
        return ndimage.binary_dilation(mask, structure=_disk(radius))
    if not mask.any():
        return np.zeros(mask.shape, bool)
    # The disk holds the offsets whose squared length is at most radius^2 + 1/4 (_disk); squared
    # distances between pixels are whole numbers, so rounding undoes the transform's float error.
    distance = ndimage.distance_transform_edt(~mask)  # (H, W): to the nearest pixel of the mask
    return np.rint(distance * distance) <= radius * radius + 0.25


def erode(mask: np.ndarray, radius: float) -> np.ndarray:
    """Shrink a boolean mask by a disk of `radius` pixels."""
    return ~dilate(~mask, radius)


def normalize_strokes(ink: np.ndarray, edge: float = 0.5, blots: bool = True) -> np.ndarray:
    """A digit's ink (H, W) in [0, 1], `edge` at the strokes' edges, at any size -> float (h, w) ink
    in [0, 1] whose longer side is BOX pixels and whose strokes are MNIST-wide: a 4 px mouse line on
    an 800 px canvas and a fat marker alike. Strokes already MNIST-wide are only resized. `blots`
    False: a dot or a blot (BLOT) raises NoDigitError; blown up to 20x20, it read as a confident 0."""
    mask = ink > edge
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if len(rows) == 0:
        raise NoDigitError(BLANK)
    crop = ink[max(rows[0] - 1, 0) : rows[-1] + 2, max(cols[0] - 1, 0) : cols[-1] + 2]  # with the rims
    scale = BOX / (max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1)  # source pixels -> final pixels
    width = stroke_width(crop > edge) * scale  # the stroke width it would have at the final size
    if not blots and width >= BLOT * BOX:
        raise NoDigitError(BLOTTED)
    if MIN_WIDTH <= width <= MAX_WIDTH:
        return _fit_box(crop, edge / 2)
    return _fit_box(_restroke(crop, edge, scale * FINE, width * FINE), 0.25)


def _restroke(crop: np.ndarray, edge: float, scale: float, width: float) -> np.ndarray:
    """Redraw the strokes of `crop` at `scale` (the fine scale), `width` px wide there, to a width
    inside MNIST's range: a binary (h, w) float image."""
    margin = math.ceil(MAX_WIDTH * FINE)  # room for strokes to grow without touching the edge
    size = (max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale)))
    tensor = torch.from_numpy(np.ascontiguousarray(crop, dtype=np.float32))[None, None]  # (1, 1, h, w)
    # Smooth upsampling of the grey ink gives clean outlines to small digits; antialiased downsampling
    # keeps thin lines as faint ones.
    coverage = F.interpolate(tensor, size=size, mode="bilinear", antialias=True, align_corners=False)[0, 0]
    coverage = F.pad(coverage, (margin,) * 4).numpy()
    # A line thinner than a fine pixel covers only part of each pixel it crosses: lower the bar.
    fine = coverage > edge * min(1.0, 0.9 * width)
    low, high = MIN_WIDTH * FINE, MAX_WIDTH * FINE
    if width < low:
        return dilate(fine, (low - max(width, 1.0)) / 2).astype(np.float32)
    # Thin fat strokes from both sides, but keep a MNIST-wide line along every stroke's middle so
    # thin parts of a variable-width stroke (a serif font's hairlines) survive.
    return (erode(fine, (width - high) / 2) | dilate(thin(fine), low / 2)).astype(np.float32)


def _fit_box(shape: np.ndarray, level: float) -> np.ndarray:
    """Crop to the ink above `level` and fit the longer side to BOX: area averaging when shrinking,
    which gives the anti-aliased grey edges MNIST has, bilinear when enlarging."""
    rows, cols = np.flatnonzero((shape > level).any(1)), np.flatnonzero((shape > level).any(0))
    if len(rows) == 0:  # a sliver of ink too thin to survive redrawing (a cut's edge, a faint speck)
        raise NoDigitError("no digit found: the strokes are too faint")
    shape = shape[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    shrink = BOX / max(shape.shape)
    size = (max(1, round(shape.shape[0] * shrink)), max(1, round(shape.shape[1] * shrink)))
    tensor = torch.from_numpy(np.ascontiguousarray(shape, dtype=np.float32))[None, None]
    if shrink < 1:
        digit = F.interpolate(tensor, size=size, mode="area")
    else:
        digit = F.interpolate(tensor, size=size, mode="bilinear", align_corners=False)
    return digit[0, 0].clamp(0, 1).numpy()
