"""The pipeline's fixed-shape tail: a fitted digit centred by mass in 28x28 and quantised to 8 bits.

Tensor ops on fixed shapes only (no data-dependent shapes, no Python branches on values), so the
same functions run on the server (lenet.pipeline.preprocess) and inside the ONNX graph the browser
edition runs (lenet.export): one definition of these steps serves both.
"""

from __future__ import annotations

import numpy as np
import torch

from lenet.pipeline.decode import BLANK, NoDigitError

SIZE = 28  # the model's input side
BOX = 20  # MNIST fits each digit into 20x20 and centres its mass in 28x28


def on_canvas(digits: list[np.ndarray]) -> torch.Tensor:
    """Fitted (h, w) digits, h and w <= BOX, in [0, 1] -> (N, 1, 28, 28) float32, each at the top left."""
    canvas = torch.zeros(len(digits), 1, SIZE, SIZE)
    for i, digit in enumerate(digits):
        height, width = digit.shape
        canvas[i, 0, :height, :width] = torch.from_numpy(np.ascontiguousarray(digit, dtype=np.float32))
    return canvas


def center_by_mass(canvas: torch.Tensor) -> torch.Tensor:
    """(N, 1, 28, 28) digits as 8-bit levels (quantize), each at most BOX x BOX anywhere on its canvas ->
    the same digits moved by whole pixels so each one's centre of mass is at the centre, its box kept
    inside the canvas (as MNIST was made). A blank canvas stays blank.

    On whole levels every sum below is exact in float32 (at most 784 x 255 x 27 < 2^24), whatever the
    order of summation, so torch, onnxruntime and onnxruntime-web pick the same pixel even when the
    centre of mass falls on a half."""
    index = torch.arange(SIZE, dtype=canvas.dtype)  # (28,)
    total = canvas.sum(dim=(-2, -1)).clamp(min=1e-12)  # (N, 1)
    shifts = []
    for profile in (canvas.sum(-1), canvas.sum(-2)):  # (N, 1, 28): the ink per row, then per column
        inked = profile > 0
        first = torch.where(inked, index, float(SIZE)).amin(-1)  # (N, 1): where the digit's box starts
        last = torch.where(inked, index, -1.0).amax(-1)  # and ends
        mass = (profile * index).sum(-1) / total  # (N, 1): the centre of mass
        # Where MNIST puts the box: its mass at the centre, the whole box inside the canvas.
        start = torch.round(SIZE / 2 - (mass - first)).clamp(min=0).minimum(SIZE - 1 - last + first)
        shifts.append(start - first)  # (N, 1)
    # Moving by whole pixels as two products with one-hot matrices: out[i, j] = in[i - dy, j - dx].
    # move[n, 0, i, k] = 1 where k == i - shift: (N, 1, 28, 28) each.
    rows, cols = ((index[:, None] - index[None, :] == shift[..., None, None]).to(canvas.dtype) for shift in shifts)
    return rows @ canvas @ cols.transpose(-2, -1)


def quantize(canvas: torch.Tensor) -> torch.Tensor:
    """[0, 1] floats -> the 8-bit grey levels MNIST stores (0..255, as the same dtype)."""
    return torch.round(canvas.clamp(0, 1) * 255)


def model_levels(digits: list[np.ndarray]) -> np.ndarray:
    """Fitted (h, w) digits -> (N, 28, 28) uint8: each centred by mass and quantised, all in one batch
    (a number's candidate parts are many). Raises NoDigitError for a blank one."""
    if not all(digit.sum() > 0 for digit in digits):
        raise NoDigitError(BLANK)
    return center_by_mass(quantize(on_canvas(digits)))[:, 0].numpy().astype(np.uint8)
