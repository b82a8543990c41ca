"""Any digit image -> the model's 28x28 input, made the way MNIST was made, plus a preview of it.

Pure functions shared by training checks, the CLI, the evaluation and the app. The pipeline:
decode (bounded size, EXIF orientation) -> ink map in [0, 1] (alpha for transparent canvases,
else luminance with the polarity detected from the border) -> crop to the ink -> fit into 20x20
keeping the aspect ratio, anti-aliased -> place in 28x28 by centre of mass.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

SIZE = 28  # the model's input side
BOX = 20  # MNIST fits each digit into 20x20 and centres its mass in 28x28
WORK_SIDE = 512  # larger inputs are reduced to this before analysis: plenty for a digit
MAX_PIXELS = 80_000_000  # refuse larger images before decoding them (decompression bombs)
INK_THRESHOLD = 0.25  # fraction of the ink range that counts as part of the digit


class ImageError(ValueError):
    """The input is not a readable image."""


class NoDigitError(ValueError):
    """The image is readable but holds no digit (blank canvas, flat colour)."""


@dataclass(frozen=True)
class ModelInput:
    """What the model sees: `pixels` (1, 28, 28) float in [0, 1], and the same as a PIL preview."""

    pixels: torch.Tensor
    preview: Image.Image


def load_image(source: Any) -> Image.Image:
    """Decode a path, bytes, file object, numpy array, PIL image or Gradio Sketchpad value;
    upright (EXIF) and size-bounded."""
    if source is None:
        raise NoDigitError("no digit found: nothing was drawn or uploaded")
    if isinstance(source, dict):
        source = sketch_ink(source)
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        image = _from_array(source)
    else:
        image = _open(source)
    with contextlib.suppress(Exception):  # a malformed EXIF block must not lose the picture itself
        image = ImageOps.exif_transpose(image) or image
    if max(image.size) > WORK_SIDE:
        image = image.copy() if image is source else image
        image.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.BOX)
    return image


def sketch_ink(value: dict[str, Any]) -> np.ndarray:
    """A Gradio Sketchpad value {"background", "layers", "composite"} -> (H, W, 4) uint8 black ink
    whose alpha is the union of the layers' alpha. The strokes live in the layers on a transparent
    background; the composite also holds the theme's background, which must not leak in."""
    layers = [np.asarray(layer) for layer in value.get("layers") or [] if layer is not None]
    layers = [layer for layer in layers if layer.ndim == 3 and layer.shape[2] == 4]
    if not layers:
        raise NoDigitError("no digit found: the canvas is empty")
    alpha = np.max(np.stack([layer[..., 3] for layer in layers]), axis=0)  # (H, W)
    ink = np.zeros((*alpha.shape, 4), dtype=np.uint8)
    ink[..., 3] = alpha
    return ink


def _open(source: Any) -> Image.Image:
    name = str(source) if isinstance(source, str | Path) else "image"
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(source)
            if image.width * image.height > MAX_PIXELS:
                raise ImageError(f"{name}: {image.width}x{image.height} pixels is too large (limit {MAX_PIXELS:,})")
            # JPEG can decode at 1/2, 1/4 or 1/8 scale: a 50-megapixel photo costs a fraction.
            image.draft(image.mode if image.mode in ("L", "RGB") else None, (WORK_SIDE, WORK_SIDE))
            image.load()
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{name}: is a directory, not an image") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image file Pillow can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name}: too many pixels (decompression bomb refused)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ImageError(f"{name}: damaged or truncated image ({err})") from None
    return image


def _from_array(array: np.ndarray) -> Image.Image:
    """A (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array, uint8 or float in [0, 1] -> PIL image."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or min(array.shape[:2]) < 1:
        raise ImageError(f"array of shape {array.shape} is not an image (expected H x W, H x W x 3 or H x W x 4)")
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.number):
            raise ImageError(f"array of dtype {array.dtype} is not an image")
        array = np.nan_to_num(array.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        peak = array.max() if array.size else 0.0
        scale = 255.0 if peak <= 1.0 else 1.0  # floats in [0, 1], else already 0..255
        array = np.clip(array * scale, 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array))  # L, RGB or RGBA from the shape


def ink_map(image: Image.Image) -> np.ndarray:
    """(H, W) float32 in [0, 1] where 1 is ink, whatever the mode, transparency or polarity."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        if alpha.min() < 0.9:
            # Strokes on a transparent canvas: the ink is where paint is. Ignoring colour keeps a
            # theme's background (dark or light) from leaking into the digit.
            return alpha
        gray = _luminance(rgba[..., :3])
    else:
        if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            array = np.asarray(image, dtype=np.float32)
            low, high = float(array.min()), float(array.max())
            gray = (array - low) / (high - low) if high > low else np.zeros_like(array)
        else:
            gray = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
            gray = _luminance(gray)
    return _ink_from_gray(gray)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _ink_from_gray(gray: np.ndarray) -> np.ndarray:
    """Grey levels -> ink in [0, 1]: the border's median is the paper, the far end is the ink."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    paper = float(np.median(border))
    ink = paper - gray if paper > 0.5 else gray - paper  # dark ink on light paper, or light on dark
    ink = np.clip(ink, 0.0, None)
    peak = float(ink.max())
    return ink / peak if peak > 0.08 else np.zeros_like(ink)


def center_digit(ink: np.ndarray) -> np.ndarray:
    """Ink map (H, W) -> (28, 28) float32: cropped to the ink, fitted into 20x20 by its longer side
    (anti-aliased), and shifted so its centre of mass sits at the centre, as MNIST was made."""
    mask = ink > INK_THRESHOLD
    if not mask.any():
        raise NoDigitError("no digit found: the image is blank")
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    scale = BOX / max(height, width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    tensor = torch.from_numpy(np.ascontiguousarray(crop))[None, None]  # (1, 1, h, w)
    resized = F.interpolate(tensor, size=(new_h, new_w), mode="bilinear", antialias=True, align_corners=False)
    digit = resized[0, 0].clamp(0, 1).numpy()
    total = digit.sum()
    ys, xs = np.indices(digit.shape)
    com_y, com_x = (ys * digit).sum() / total, (xs * digit).sum() / total
    top = int(np.clip(round(SIZE / 2 - com_y - 0.5), 0, SIZE - new_h))
    left = int(np.clip(round(SIZE / 2 - com_x - 0.5), 0, SIZE - new_w))
    canvas = np.zeros((SIZE, SIZE), dtype=np.float32)
    canvas[top : top + new_h, left : left + new_w] = digit
    return canvas


def preprocess(source: Any) -> ModelInput:
    """The whole pipeline: any image source -> ModelInput. Raises ImageError or NoDigitError."""
    canvas = center_digit(ink_map(load_image(source)))
    # Quantise to 8 bits like MNIST itself, so the preview and the tensor are the same numbers.
    levels = np.round(canvas * 255).astype(np.uint8)  # (28, 28)
    pixels = torch.from_numpy(levels).float().div(255.0)[None]  # (1, 28, 28)
    return ModelInput(pixels=pixels, preview=Image.fromarray(levels))
