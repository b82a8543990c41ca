"""Decoding: any digit source (ImageSource) -> an upright, size-bounded Picture, telling ink from photo."""

from __future__ import annotations

import contextlib
import io
import math
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

WORK_SIDE = 512  # larger inputs are reduced to this before analysis: plenty for a digit
NAME_CHARS = 60  # messages name a file by its own name, cut to this: never its folder (a server path)
OPAQUE = 230  # a canvas whose least alpha is this or more is opaque: a picture, not strokes
MAX_PIXELS = 80_000_000  # refuse larger images before decoding them (decompression bombs)
SOURCE_SIZE = "lenet_source_size"  # image.info key: (width, height) as stored, before a draft decode


class ImageError(ValueError):
    """The input is not a readable image."""


class NoDigitError(ValueError):
    """The image is readable but holds no digit (blank canvas, flat colour)."""


# NoDigitError's messages for nothing there at all (a page shows its hint instead of these).
NOTHING_GIVEN = "no digit found: nothing was drawn or uploaded"
EMPTY_CANVAS = "no digit found: the canvas is empty"
BLANK = "no digit found: the image is blank"
NOTHING_THERE = (NOTHING_GIVEN, EMPTY_CANVAS, BLANK)


@dataclass(frozen=True)
class Sketch:
    """A drawing: its stroke layers, each on a transparent canvas; the ink is the union of their
    alpha. A layer is a file path, encoded bytes, an RGBA array or a PIL image."""

    layers: tuple[Any, ...]

    @classmethod
    def from_gradio(cls, value: dict[str, Any]) -> Sketch:
        """From a Gradio Sketchpad value {"background", "layers", "composite"}: only the layers hold
        strokes alone (the composite also holds the theme's background, which must not leak in)."""
        return cls(tuple(layer for layer in value.get("layers") or [] if layer is not None))


# Every source the pipeline reads, named once: a path, encoded bytes, a binary file object, an
# (H, W[, 1|3|4]) array, a PIL image, a Sketch, or a Gradio Sketchpad value (dict).
ImageSource = str | os.PathLike | bytes | bytearray | BinaryIO | np.ndarray | Image.Image | Sketch | dict


@dataclass(frozen=True)
class Picture:
    """A decoded source, upright and at most WORK_SIDE pixels a side. `is_ink`: `image` is already
    the ink, an "L" image of the alpha of strokes on a transparent canvas (a sketch, a transparent
    PNG); otherwise it is a photo or scan whose ink the pipeline still has to find."""

    image: Image.Image
    is_ink: bool
    source_size: tuple[int, int] | None = None  # (width, height) of the source, upright; None: image's

    def to_source(self, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        """A box [x0, y0, x1, y1) in `image`'s pixels -> the same box in the source's pixels, inside it.
        Each axis has its own scale: a reduced side is rounded to whole pixels on its own."""
        return self._mapped(box, self.source_size or self.image.size, self.image.size)

    def from_source(self, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        """The inverse of to_source: a box in the source's pixels -> in `image`'s, inside it."""
        return self._mapped(box, self.image.size, self.source_size or self.image.size)

    @staticmethod
    def _mapped(box, size: tuple[int, int], unit: tuple[int, int]) -> tuple[int, int, int, int]:
        """`box` in pixels of an image of size `unit` -> in pixels of one of `size`, clipped to it."""
        scales = (size[0] / unit[0], size[1] / unit[1], size[0] / unit[0], size[1] / unit[1])
        limits = (size[0], size[1], size[0], size[1])
        return tuple(min(limit, max(0, round(v * k))) for v, k, limit in zip(box, scales, limits, strict=True))

    def as_seen(self) -> Image.Image:
        """The picture in RGB as a person sees it: a drawing's ink dark on white, a photo as it is."""
        return ImageOps.invert(self.image).convert("RGB") if self.is_ink else self.image.convert("RGB")


def decode(source: ImageSource) -> Picture:
    """The one entry point: any ImageSource -> Picture. Raises ImageError or NoDigitError."""
    if source is None:
        raise NoDigitError(NOTHING_GIVEN)
    if isinstance(source, dict):
        source = Sketch.from_gradio(source)
    if isinstance(source, Sketch):
        full = Image.fromarray(sketch_alpha(source))
        alpha = _bounded_strokes(full)
        # A canvas painted all over is no sketch.
        return Picture(alpha, is_ink=alpha.getextrema()[0] < OPAQUE, source_size=full.size)
    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, np.ndarray):
        image = _from_array(source)
    else:
        image = _open(source)
    if min(image.size) < 1:
        raise ImageError(f"{display_name(source)}: the image has no pixels ({image.width}x{image.height})")
    size = image.info.get(SOURCE_SIZE, image.size)  # before a JPEG's draft decode reduced it
    stored = image.size
    with contextlib.suppress(Exception):  # a malformed EXIF block must not lose the picture itself
        if image is source:  # the caller's own image: turned on a copy
            image = ImageOps.exif_transpose(image) or image
        else:  # in place: without an orientation tag, no copy of every pixel
            ImageOps.exif_transpose(image, in_place=True)
    if image.size != stored:  # turned by a quarter: the source's sides swap too
        size = size[::-1]
    alpha = _alpha(image)
    # Strokes painted on transparent pixels (sketches, canvas exports): the ink is where paint is, so
    # only the alpha band is reduced, a quarter of the work of reducing RGBA. An opaque alpha (its
    # least value OPAQUE or more, which no reduction can lower) marks a picture, not strokes.
    if alpha is not None and alpha.getextrema()[0] < OPAQUE:
        alpha = _bounded_strokes(alpha)
        if alpha.getextrema()[0] < OPAQUE:
            return Picture(alpha, is_ink=True, source_size=size)
    image = _bounded(_averageable(image))
    return Picture(image, is_ink=False, source_size=size)


def _averageable(image: Image.Image) -> Image.Image:
    """The image in a mode whose pixels can be averaged (reduced with a box filter) and turned into
    RGB: Pillow resizes palette and 1-bit images by nearest neighbour, which drops thin strokes; its
    reduce() has no 16-bit grey; premultiplied La and RGBa convert to nothing else."""
    mode = {"1": "L", "P": "RGB", "PA": "RGB", "La": "LA", "RGBa": "RGBA"}.get(image.mode)
    if image.mode.startswith("I;16"):
        mode = "I"  # the same levels, 32 bits
    return image.convert(mode) if mode else image


def _bounded(image: Image.Image) -> Image.Image:
    """`image` reduced to at most WORK_SIDE a side (box filter: every pixel counts), as a new image."""
    if max(image.size) <= WORK_SIDE:
        return image
    # reducing_gap as Image.thumbnail has it: from 4x WORK_SIDE a side, reduce() by whole blocks first.
    return image.resize(_reduced_size(image.size), Image.Resampling.BOX, reducing_gap=2.0)


def _reduced_size(size: tuple[int, int]) -> tuple[int, int]:
    """(width, height) with the longer side WORK_SIDE and the aspect kept."""
    shrink = WORK_SIDE / max(size)
    return max(1, round(size[0] * shrink)), max(1, round(size[1] * shrink))


def _bounded_strokes(alpha: Image.Image) -> Image.Image:
    """A transparent canvas's alpha ("L") reduced as _bounded reduces it, but only where it is painted:
    a digit covers a fraction of its canvas, and the blank rest reduces to 0 at no cost. On a square
    canvas under 4x WORK_SIDE a side, the same pixels as _bounded; otherwise a source pixel that lies
    exactly on the edge of a reduced pixel's window may fall the other way (float rounding), and from
    4x WORK_SIDE this keeps the fair box filter where _bounded first reduces by whole blocks."""
    if max(alpha.size) <= WORK_SIDE:
        return alpha
    painted = alpha.getbbox()  # (left, top, right, bottom) of alpha > 0; None: nothing painted
    if painted is None:
        return _bounded(alpha)
    size = _reduced_size(alpha.size)
    step_x, step_y = alpha.width / size[0], alpha.height / size[1]  # source pixels per reduced pixel
    # The reduced pixels whose box-filter window meets the painted box; every other one is 0.
    left, top = math.floor(painted[0] / step_x), math.floor(painted[1] / step_y)
    right, bottom = min(size[0], math.ceil(painted[2] / step_x)), min(size[1], math.ceil(painted[3] / step_y))
    window = (left * step_x, top * step_y, right * step_x, bottom * step_y)
    reduced = Image.new("L", size)
    reduced.paste(alpha.resize((right - left, bottom - top), Image.Resampling.BOX, box=window), (left, top))
    return reduced


def _alpha(image: Image.Image) -> Image.Image | None:
    """The image's alpha band as a new "L" image; None when it has no transparency at all."""
    if image.mode in ("RGBA", "LA"):
        return image.getchannel("A")
    if image.mode == "PA" or (image.mode == "P" and "transparency" in image.info):
        return image.convert("RGBA").getchannel("A")
    return None


def sketch_alpha(sketch: Sketch) -> np.ndarray:
    """(H, W) uint8: the union (maximum) of the layers' alpha. NoDigitError if no layer has any."""
    alphas = [alpha for layer in sketch.layers if (alpha := _layer_alpha(layer)) is not None]
    if not alphas:
        raise NoDigitError(EMPTY_CANVAS)
    if len({alpha.shape for alpha in alphas}) > 1:
        raise ImageError(f"sketch layers differ in size: {sorted({alpha.shape for alpha in alphas})}")
    return np.maximum.reduce(alphas)


def _layer_alpha(layer: Any) -> np.ndarray | None:
    """The (H, W) uint8 alpha of one Sketchpad layer; None for a layer without transparency."""
    if layer is None:
        return None
    if isinstance(layer, np.ndarray):
        return layer[..., 3] if layer.ndim == 3 and layer.shape[2] == 4 else None
    image = layer if isinstance(layer, Image.Image) else _open(layer)
    if "A" not in image.getbands() and "transparency" not in image.info:
        return None
    return np.asarray(image.convert("RGBA").getchannel("A"))


def display_name(source: Any) -> str:
    """How messages name a source: a file's own name, without its folder (on a server that is a
    private path) and cut to NAME_CHARS; "image" for bytes and file objects."""
    if not isinstance(source, str | Path):
        return "image"
    name = Path(source).name or "image"
    return name if len(name) <= NAME_CHARS else f"{name[: NAME_CHARS - 12]}...{name[-9:]}"


def _open(source: Any) -> Image.Image:
    name = display_name(source)
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    elif not isinstance(source, str | Path) and not hasattr(source, "read"):
        # A tensor or a number: Pillow would say "object has no attribute 'read'".
        raise ImageError(
            f"cannot read an image from a {type(source).__name__} value: give a file path, bytes, a file "
            "object, a PIL image, a numpy array or a drawing"
        )
    try:
        if isinstance(source, str | Path):
            _check_regular_file(source, name)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(source)
            if image.width * image.height > MAX_PIXELS:
                raise ImageError(f"{name}: {image.width}x{image.height} pixels is too large (limit {MAX_PIXELS:,})")
            # JPEG can decode at 1/2, 1/4 or 1/8 scale: a 50-megapixel photo costs a fraction. Ask for
            # the size the image will be reduced to below; draft keeps both sides at least that big.
            shrink = min(1.0, WORK_SIDE / max(1, *image.size))
            box = (math.ceil(image.width * shrink), math.ceil(image.height * shrink))
            source_size = image.size
            image.draft(image.mode if image.mode in ("L", "RGB") else None, box)
            image.load()
            image.info[SOURCE_SIZE] = source_size
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageError(f"{name}: is a directory, not an image") from None
    except UnidentifiedImageError:
        raise ImageError(f"{name}: {_not_an_image(source)}") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"{name}: too many pixels (decompression bomb refused)") from None
    except PermissionError:
        raise ImageError(f"{name}: cannot be read (permission denied)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        # An OSError about a file names its path: say only what went wrong.
        reason = err.strerror if isinstance(err, OSError) and err.filename else str(err)
        raise ImageError(f"{name}: damaged or truncated image ({str(reason)[:200]})") from None
    return image


def _check_regular_file(path: str | Path, name: str) -> None:
    """Refuse a pipe, device or socket before opening it: reading a FIFO would wait for a writer,
    and /dev/zero would never end. FileNotFoundError and PermissionError pass to the caller."""
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise ImageError(f"{name}: is a directory, not an image")
    if not stat.S_ISREG(mode):
        raise ImageError(f"{name}: not a regular file (a pipe, device or socket), so not an image")


def _not_an_image(source: Any) -> str:
    """Why Pillow could not identify `source`, from its first bytes: the usual suspects by name."""
    try:
        if isinstance(source, str | Path):
            with open(source, "rb") as file:
                head = file.read(1024)
        else:
            source.seek(0)
            head = source.read(1024)
    except (OSError, AttributeError):
        head = b"?"
    if not head:
        return "the file is empty (0 bytes)"
    if head.startswith(b"%PDF"):
        return "a PDF document, not an image: export the page as PNG or JPEG"
    if b"<svg" in head.lower():
        return "an SVG drawing, which cannot be read here: export it as PNG"
    return "not an image file Pillow can read (PNG, JPEG, WebP, GIF, BMP, TIFF ...)"


def _from_array(array: np.ndarray) -> Image.Image:
    """A (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array -> PIL image: uint8 as it is, bool as a
    mask, other numbers scaled from [0, 1], 0..255 or 16-bit; NaN and inf count as 0."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or min(array.shape[:2]) < 1:
        raise ImageError(f"array of shape {array.shape} is not an image (expected H x W, H x W x 3 or H x W x 4)")
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
            raise ImageError(f"array of dtype {array.dtype} is not an image")
        array = np.nan_to_num(array.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        peak = float(array.max()) if array.size else 0.0
        # Guess the range from the values: [0, 1] (floats, masks), 0..255, 16-bit, else its own maximum.
        scale = 255.0 if peak <= 1.0 else 1.0 if peak <= 255.0 else 255.0 / 65535 if peak <= 65535 else 255.0 / peak
        array = np.clip(array * scale, 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array))  # L, RGB or RGBA from the shape
