"""Any digit image -> the model's 28x28 input, made the way MNIST was made, plus a preview of it.

The one pipeline shared by the CLI, the app, the evaluation and the benchmarks:
decode (bounded size, EXIF orientation; lenet.pipeline.decode) -> ink map with lighting, colour cast and
polarity undone -> the digit's strokes, without specks, shadows or paper edges (lenet.pipeline.ink) ->
strokes brought to MNIST's width, fitted into 20x20 anti-aliased, centred by mass in 28x28
(lenet.pipeline.strokes) -> quantised to 8 bits like MNIST.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from lenet.pipeline.decode import ImageError, NoDigitError, load_image
from lenet.pipeline.ink import digit_ink, has_transparency, ink_map
from lenet.pipeline.strokes import center_by_mass, normalize_strokes

__all__ = ["ImageError", "ModelInput", "NoDigitError", "preprocess"]


@dataclass(frozen=True)
class ModelInput:
    """What the model sees: `pixels` (1, 28, 28) float in [0, 1], and the same as a PIL preview."""

    pixels: torch.Tensor
    preview: Image.Image

    @classmethod
    def from_levels(cls, levels: np.ndarray) -> ModelInput:
        """(28, 28) uint8 grey levels, as MNIST stores them -> the tensor and the preview of them."""
        pixels = torch.from_numpy(np.array(levels, dtype=np.uint8)).float().div(255.0)[None]  # (1, 28, 28)
        return cls(pixels=pixels, preview=Image.fromarray(levels))


def preprocess(source: Any) -> ModelInput:
    """The whole pipeline: any image source -> ModelInput. Raises ImageError or NoDigitError."""
    image = load_image(source)
    # Transparent canvases hold nothing but strokes; only photos have shadows and paper edges.
    ink, edge = digit_ink(ink_map(image), drop_border=not has_transparency(image))
    canvas = center_by_mass(normalize_strokes(ink, edge))  # (28, 28) float in [0, 1]
    # Quantise to 8 bits like MNIST itself, so the preview and the tensor are the same numbers.
    return ModelInput.from_levels(np.round(canvas * 255).astype(np.uint8))  # (28, 28)
