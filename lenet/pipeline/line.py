"""A line of digits as the line reader reads it (lenet.numbers): the box of its ink, 28 px tall."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

LINE_HEIGHT = 28  # as tall as an MNIST digit's box, so C5's columns see about one digit each
MAX_LINE_WIDTH = 40 * LINE_HEIGHT  # a flat scrawl is squeezed to this, not read in thousands of columns
INK_LEVEL = 0.05  # the line's box holds the ink above this (its strokes' cores are 1)


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
