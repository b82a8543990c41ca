"""A line of digits as the line reader reads it (lenet.numbers): level, the box of its ink, 28 px tall."""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

LINE_HEIGHT = 28  # as tall as an MNIST digit's box, so C5's columns see about one digit each
MAX_LINE_WIDTH = 40 * LINE_HEIGHT  # a flat scrawl is squeezed to this, not read in thousands of columns
INK_LEVEL = 0.05  # the line's box holds the ink above this (its strokes' cores are 1)
MAX_TILT = 15.0  # degrees: a number is levelled by at most this (a photo is seldom held more askew)
# Below this a line is left as it is: the turn would shift a digit's ink by under half a pixel at 28 px
# (tan 1 deg x 28), less than resampling blurs it. It saves a 0.5 ms rotation on most drawn numbers;
# bench.numbers read 4 more of seeds 0-2's 1,680 numbers, and 2 more and 2 fewer of seeds 3-4's.
MIN_TILT = 1.0


def line_pixels(ink: np.ndarray) -> torch.Tensor | None:
    """(H, W) float ink in [0, 1] (strokes' cores 1) -> float32 (1, 28, W') in [0, 1]: the box of the
    ink above INK_LEVEL, scaled (area filter) to 28 px tall with its aspect kept; None without ink."""
    inked = ink > INK_LEVEL
    rows, cols = np.flatnonzero(inked.any(1)), np.flatnonzero(inked.any(0))
    if len(rows) == 0:
        return None
    box = np.ascontiguousarray(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], dtype=np.float32)
    height, width = box.shape
    scaled_width = min(MAX_LINE_WIDTH, max(1, round(width * LINE_HEIGHT / height)))
    scaled = Image.fromarray(box, "F").resize((scaled_width, LINE_HEIGHT), Image.Resampling.BOX)
    return torch.from_numpy(np.clip(np.asarray(scaled), 0.0, 1.0))[None]


def level(ink: np.ndarray, centres: list[tuple[float, float]]) -> np.ndarray:
    """(H, W) float ink of a number and its digits' centres (x, y) -> the box of its ink, turned so
    that the line through the centres (least squares) is level, by at most MAX_TILT degrees (and not
    at all below MIN_TILT). A photographed number is seldom level, and a tilted line's box is taller
    than its digits: they would reach the line reader smaller than it learnt them."""
    inked = ink > INK_LEVEL
    rows, cols = np.flatnonzero(inked.any(1)), np.flatnonzero(inked.any(0))
    if len(rows) == 0:
        return ink
    box = np.ascontiguousarray(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], dtype=np.float32)
    xs, ys = np.array(centres, dtype=np.float64).reshape(-1, 2).T
    spread = float(((xs - xs.mean()) ** 2).sum())
    if len(xs) < 2 or spread == 0:
        return box
    slope = float(((xs - xs.mean()) * (ys - ys.mean())).sum()) / spread  # rows down per column right
    # PIL turns counter-clockwise by a positive angle, which lifts a line that falls to the right.
    angle = max(-MAX_TILT, min(MAX_TILT, math.degrees(math.atan(slope))))
    if abs(angle) < MIN_TILT:
        return box
    return np.asarray(Image.fromarray(box, "F").rotate(angle, Image.Resampling.BILINEAR, expand=True))
