"""Any digit image -> the model's 28x28 input, made the way MNIST was made, plus a preview of it.

The one pipeline shared by the CLI, the app, the evaluation and the benchmarks:
decode (bounded size, EXIF orientation; lenet.pipeline.decode) -> ink map with lighting, colour cast and
polarity undone -> the digit's strokes, without specks, shadows or paper edges (lenet.pipeline.ink) ->
strokes brought to MNIST's width, fitted into 20x20 anti-aliased (lenet.pipeline.strokes) -> centred
by mass in 28x28 and quantised to 8 bits like MNIST (lenet.pipeline.place, which the ONNX graph of the
browser edition also runs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

from lenet.pipeline.decode import ImageError, ImageSource, NoDigitError, Sketch, decode
from lenet.pipeline.ink import EIGHT_CONNECTED, digit_ink, ink_map
from lenet.pipeline.place import model_levels
from lenet.pipeline.strokes import normalize_strokes

__all__ = ["ImageError", "ImageSource", "ModelInput", "NoDigitError", "Sketch", "preprocess"]


@dataclass(frozen=True)
class ModelInput:
    """What the model sees: `levels`, (28, 28) uint8 grey levels as MNIST stores them; the model's
    tensor and the preview are both derived from them, so they cannot disagree. `beside`: for a
    drawing, the share of its painted pixels in strokes left out beside the digit (`strokes_beside`:
    most often more digits, as when a number is drawn); 0 for a photo."""

    levels: np.ndarray
    beside: float = 0.0

    @property
    def pixels(self) -> torch.Tensor:
        """(1, 28, 28) float in [0, 1]: the model's input."""
        return torch.from_numpy(self.levels.astype(np.float32)).div(255.0)[None]  # a copy: levels stay read-only

    @property
    def preview(self) -> Image.Image:
        """The same levels as a 28x28 greyscale PIL image."""
        return Image.fromarray(self.levels)


def preprocess(source: ImageSource) -> ModelInput:
    """The whole pipeline: any image source -> ModelInput. Raises ImageError or NoDigitError."""
    picture = decode(source)
    # Transparent canvases hold nothing but strokes; only photos have shadows and paper edges.
    painted = ink_map(picture)
    ink, edge = digit_ink(painted, drop_border=not picture.is_ink)
    # Centred by mass and quantised to 8 bits like MNIST itself: the levels the model and the preview share.
    levels = model_levels([normalize_strokes(ink, edge, blots=False)])[0]  # (28, 28) uint8
    return ModelInput(levels, beside=strokes_beside(painted, ink) if picture.is_ink else 0.0)


def strokes_beside(painted: np.ndarray, digit: np.ndarray) -> float:
    """(H, W) ink of a drawing and of the digit kept from it -> the share of its painted pixels in
    strokes left out that share no column with the digit: other digits of a number. An underline, a
    frame or a 1's base, left out too, share its columns; a photo's left-out ink is mostly paper."""
    left = (painted > 0) & (digit == 0)  # rims count on both sides, as they are kept with strokes
    if not left.any():  # most drawings: the digit is all there is
        return 0.0
    columns = np.flatnonzero(digit.any(0))
    labels, _ = ndimage.label(left, structure=EIGHT_CONNECTED)
    areas = np.bincount(labels.ravel())
    beside = [
        label
        for label, (_, cols) in enumerate(ndimage.find_objects(labels), start=1)
        if cols.stop <= columns[0] or cols.start > columns[-1]
    ]
    return float(areas[beside].sum()) / np.count_nonzero(painted)
