"""Photos of a pen digit on printed paper, each paired with the same photo on plain paper: bench.paper.

Kinds: a notebook's ruling with the digit sitting on a line, or written across several lines;
squared paper; the digit underlined, or circled, in the same pen; a form's printed box around it.
The digit and the photo (light, cast, blur, specks, JPEG) are testkit.wild's photo set; only the
printing differs between the two images of a pair.
"""

from __future__ import annotations

import copy
import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from testkit.numbers import SCALE, number_ink
from testkit.render import encode
from testkit.wild import DigitShapes, Printing, ink_patch, photograph

KINDS = ("ruled", "across", "grid", "underlined", "circled", "box")
NUMBER_KINDS = ("ruled", "grid", "underlined")  # a number on a notebook's line, on squared paper, underlined
FRAMED, FRAMED_ROOM = ("underlined", "circled", "box"), 0.45  # kinds drawn around the digit; room they need
SUPERSAMPLE = 4  # shapes are drawn this much larger and reduced: anti-aliased edges, fractional widths


def rows(length: int, centres, width: float) -> np.ndarray:
    """(length,) coverage in [0, 1] of lines `width` px thick across an axis at `centres`, anti-aliased."""
    axis = np.arange(length, dtype=np.float32)[:, None] + 0.5
    distance = np.abs(axis - np.asarray(list(centres), dtype=np.float32)[None, :])  # (length, lines)
    return np.clip(width / 2 + 0.5 - distance, 0, 1).max(1, initial=0.0)


def drawn(width: int, height: int, shape) -> np.ndarray:
    """(height, width) coverage of what `shape(pen, scale)` draws in white on a supersampled canvas."""
    canvas = Image.new("L", (width * SUPERSAMPLE, height * SUPERSAMPLE), 0)
    shape(ImageDraw.Draw(canvas), SUPERSAMPLE)
    return np.asarray(canvas.reduce(SUPERSAMPLE), dtype=np.float32) / 255.0


def printing(kind: str, digit_height: int, rng: np.random.Generator) -> Printing:
    """Printed matter of `kind` for a digit `digit_height` px tall; every random number is drawn now."""
    pen = digit_height * 0.08  # about a pen stroke at this size
    blue = np.array([rng.uniform(0.45, 0.65), rng.uniform(0.65, 0.8), rng.uniform(0.85, 0.95)])  # a notebook's
    red = np.array([0.9, rng.uniform(0.3, 0.5), rng.uniform(0.4, 0.55)])  # its margin
    if kind in ("ruled", "across"):
        # On a line: the digit 0.8-1.3 spacings tall, its foot within 6% of a line. Across: 1.4-2.5.
        spacing = digit_height / (rng.uniform(0.8, 1.3) if kind == "ruled" else rng.uniform(1.4, 2.5))
        line, margin = max(1.0, pen * rng.uniform(0.25, 0.5)), rng.uniform(0.2, 0.8)
        offset = rng.uniform(-0.06, 0.06) * digit_height if kind == "ruled" else rng.uniform(0, 1) * spacing

        def ruled(box, width, height):
            start = box[3] + offset  # a line at the digit's foot, or anywhere
            ys = start + spacing * np.arange(-int(start / spacing) - 1, int((height - start) / spacing) + 2)
            lines = np.broadcast_to(rows(height, ys, line)[:, None], (height, width))
            x = margin * box[0]  # the margin's double red line, left of the digit
            margins = np.broadcast_to(rows(width, (x, x + 3 * line), line)[None, :], (height, width))
            colour = np.where(margins[..., None] > lines[..., None], red, blue)
            return np.maximum(lines, margins), colour

        return ruled
    if kind == "grid":
        spacing, line = digit_height / rng.uniform(1.0, 2.2), max(1.0, pen * rng.uniform(0.2, 0.45))
        grey = rng.uniform(0.55, 0.75)
        colour = np.array([grey, grey, grey]) if rng.random() < 0.5 else np.array([grey - 0.1, grey, grey + 0.15])
        phase = rng.uniform(0, 1, size=2)

        def grid(box, width, height):
            across = rows(height, np.arange(phase[0] * spacing, height, spacing), line)
            down = rows(width, np.arange(phase[1] * spacing, width, spacing), line)
            return np.maximum(across[:, None], down[None, :]), colour

        return grid
    if kind == "underlined":
        # In the same pen, 3-15% of the digit's height below it, 0.8-1.6 times as long, a slight slope.
        gap, length, slope = rng.uniform(0.03, 0.15), rng.uniform(0.8, 1.6), rng.uniform(-0.06, 0.06)
        shift = rng.uniform(-0.2, 0.2)

        def underline(box, width, height):
            span = max(box[2] - box[0], 0.35 * digit_height) * length
            middle, y = (box[0] + box[2]) / 2 + shift * span, box[3] + gap * digit_height
            ends = [(middle - span / 2, y - slope * span / 2), (middle + span / 2, y + slope * span / 2)]

            def shape(draw, k):
                draw.line([(x * k, y * k) for x, y in ends], fill=255, width=round(pen * k))
                for x, y in ends:  # round ends, as a pen leaves them
                    draw.ellipse([(x - pen / 2) * k, (y - pen / 2) * k, (x + pen / 2) * k, (y + pen / 2) * k], fill=255)

            return drawn(width, height, shape), None

        return underline
    # A frame around the digit, 5-35% of its height out: a circle in the pen, or a form's printed box.
    room = rng.uniform(0.1, 0.35) if kind == "circled" else rng.uniform(0.05, 0.3)
    line = pen * (rng.uniform(0.5, 1.0) if kind == "circled" else rng.uniform(0.3, 0.8))
    dark = np.full(3, 0.15 * rng.uniform(0.5, 2.5))
    square = rng.random() < 0.5

    def frame(box, width, height):
        x0, y0, x1, y1 = (box[0] - room * digit_height, box[1] - room * digit_height,
                          box[2] + room * digit_height, box[3] + room * digit_height)  # fmt: skip
        if kind == "circled" or square:  # as wide as tall, around the same centre
            half = max(x1 - x0, y1 - y0) / 2 * (1.05 if kind == "circled" else 1.0)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            x0, y0, x1, y1 = cx - half, cy - half, cx + half, cy + half

        def shape(draw, k):
            outline = [x0 * k, y0 * k, x1 * k, y1 * k]
            (draw.ellipse if kind == "circled" else draw.rectangle)(outline, outline=255, width=max(1, round(line * k)))

        return drawn(width, height, shape), (None if kind == "circled" else dark)

    return frame


def paper_photo(shapes: DigitShapes, rng: np.random.Generator, kind: str) -> tuple[bytes, bytes, int, str]:
    """(a photo of a digit on paper printed with `kind`, the same photo on plain paper, its label,
    its source). The digit is 25-45% of the picture's shorter side tall."""
    width, height = int(rng.integers(640, 1400)), int(rng.integers(640, 1400))
    digit_height = int(min(width, height) * rng.uniform(0.25, 0.45))
    ink, label, source = ink_patch(shapes, rng, digit_height)
    if kind in FRAMED:  # blank paper around the digit, so a frame or an underline stays in the picture
        ink = np.pad(ink, round(FRAMED_ROOM * digit_height))
    printed = printing(kind, digit_height, rng)
    twin = copy.deepcopy(rng)  # the plain photo draws the same numbers
    return photograph(ink, width, height, rng, printed), photograph(ink, width, height, twin), label, source


def paper_number(shapes: DigitShapes, rng: np.random.Generator, kind: str) -> tuple[bytes, bytes, str]:
    """(a photo of a number of 2-6 spaced digits (testkit.numbers) on paper printed with `kind`, the
    same photo on plain paper, the number's digits)."""
    ink, digits, _ = number_ink(shapes, rng, int(rng.integers(2, 7)), "spaced")
    if kind in FRAMED:
        ink = np.pad(ink, round(FRAMED_ROOM * 28 * SCALE))
    height, width = int(ink.shape[0] * rng.uniform(2.0, 3.0)), int(ink.shape[1] * rng.uniform(1.2, 1.6))
    printed = printing(kind, 28 * SCALE, rng)  # digits 28 * SCALE px tall
    twin = copy.deepcopy(rng)
    return photograph(ink, width, height, rng, printed), photograph(ink, width, height, twin), digits


def askew(photo: bytes, degrees: float) -> bytes:
    """`photo` as if the page had been `degrees` askew under the camera (counter-clockwise): turned
    about its centre, upright as it is seen, and cut to the largest centred rectangle of its own
    shape that lies inside the turned picture (all page, no blank corners; the digit may be cut
    where it came close to an edge), saved as a JPEG."""
    if degrees == 0:
        return photo
    with Image.open(io.BytesIO(photo)) as stored:
        image = ImageOps.exif_transpose(stored).convert("RGB")  # the pixels as a person sees them
    width, height = image.size
    turn = math.radians(abs(degrees))
    # A w x h rectangle turned by `turn` holds a centred k w x k h one, k as below.
    keep = 1 / (math.cos(turn) + math.sin(turn) * max(width / height, height / width))
    cut_x, cut_y = round(width * (1 - keep) / 2), round(height * (1 - keep) / 2)
    turned = image.rotate(degrees, resample=Image.Resampling.BICUBIC)
    return encode(turned.crop((cut_x, cut_y, width - cut_x, height - cut_y)), "JPEG", quality=90)
