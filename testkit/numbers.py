"""Synthetic handwritten numbers for bench.numbers and the tests: digits from testkit.wild's sources
(MNIST test digits, fonts, the stroke templates with their two-stroke 4s, 5s and 7s) set side by side.

Spacing is given at MNIST's scale, a digit 28 px tall, and drawn SCALE times larger:
- spaced: gaps of 4-12 px between the digits' boxes;
- tight: gaps of 0-2 px;
- touching: neighbours overlapping by 1-4 px (their ink merges where they meet);
- photographed: spaced or tight, then photographed as bench.wild photographs a digit.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from lenet.training.pieces import line_of_digits
from testkit.render import encode
from testkit.wild import DigitShapes, ink_patch, photograph

KINDS = ("spaced", "tight", "touching", "photographed")
SCALE = 3  # pixels per MNIST pixel: digits about 84 px tall
GAPS = {"spaced": (4, 12), "tight": (0, 2), "touching": (-4, -1)}  # px between boxes at 28 px tall


def number_ink(
    shapes: DigitShapes, rng: np.random.Generator, length: int, kind: str
) -> tuple[np.ndarray, str, tuple[str, ...]]:
    """(ink coverage (H, W) in [0, 1] of a `length`-digit number, its digits as a string, each digit's
    source as testkit.wild.ink_patch names it)."""
    gaps = GAPS["spaced" if kind == "photographed" and rng.random() < 0.5 else kind if kind in GAPS else "tight"]
    height = 28 * SCALE
    patches, digits, sources = [], "", []
    for _ in range(length):
        patch, label, source = ink_patch(shapes, rng, int(height * rng.uniform(0.88, 1.0)))
        patches.append(patch)
        digits += str(label)
        sources.append(source)
    spaces = [round(rng.uniform(*gaps) * SCALE) for _ in range(length - 1)]
    ink, _ = line_of_digits(patches, spaces, height, margin=6 * SCALE, wave=4 * SCALE, rng=rng)
    return ink, digits, tuple(sources)


def number_image(
    shapes: DigitShapes, rng: np.random.Generator, length: int, kind: str
) -> tuple[bytes, str, tuple[str, ...]]:
    """(encoded image, its digits, each digit's source): a drawing (ink in the alpha of a transparent
    PNG) or, for "photographed", a JPEG photo of the number on paper."""
    ink, digits, sources = number_ink(shapes, rng, length, kind)
    if kind == "photographed":
        height, width = ink.shape
        scale = rng.uniform(1.2, 2.0)  # the number fills a part of the picture
        return photograph(ink, int(width * scale), int(height * scale * rng.uniform(1.5, 3)), rng), digits, sources
    alpha = (ink * 255).astype(np.uint8)
    rgba = np.zeros((*alpha.shape, 4), np.uint8)
    rgba[..., 2] = 200  # blue ink; only its alpha counts
    rgba[..., 3] = alpha
    return encode(Image.fromarray(rgba)), digits, sources


def photographed_number(digits: str, seed: int = 0) -> bytes:
    """`digits` written with the first stroke template of each (testkit.wild.TEMPLATES), side by side,
    and photographed as bench.wild photographs a digit: JPEG bytes (for the app's tests and figures)."""
    from PIL import ImageDraw

    from testkit.render import draw_lines
    from testkit.wild import TEMPLATES, catmull_rom

    side, pen = 150, 14
    ink = Image.new("L", (side * len(digits) + 60, side + 60), 0)
    draw = ImageDraw.Draw(ink)
    for i, digit in enumerate(digits):
        lines = [catmull_rom(line) for line in TEMPLATES[int(digit)][0]]
        draw_lines(draw, lines, (45 + i * side, 30), side * 0.9, pen, 255)
    coverage = np.asarray(ink, np.float32) / 255
    height, width = coverage.shape
    return photograph(coverage, int(width * 1.6), int(height * 2.6), np.random.default_rng(seed))
