"""Synthetic real-world digit images for bench.wild and the app's examples: sketches, photos, pasted
MNIST, photos of screens.

Every generator takes a numpy Generator and returns (encoded image bytes, label). Digit shapes come
from three sources, so no set is MNIST alone: MNIST test digits, glyphs of the fonts on this machine
and hand-written stroke templates below, each jittered, slanted and wobbled.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from lenet.pipeline.strokes import thin
from testkit.render import draw_lines, encode

# Stroke templates in a unit box (x right, y down): each digit has variants, each a list of polylines
# that are smoothed with Catmull-Rom. Written by hand to look like quick mouse-drawn digits.
TEMPLATES: dict[int, list[list[list[tuple[float, float]]]]] = {
    0: [
        [
            [
                (0.5, 0.03),
                (0.2, 0.2),
                (0.15, 0.55),
                (0.3, 0.9),
                (0.55, 0.97),
                (0.8, 0.8),
                (0.85, 0.4),
                (0.7, 0.1),
                (0.5, 0.03),
            ]
        ]
    ],
    1: [
        [[(0.55, 0.03), (0.5, 0.5), (0.45, 0.97)]],
        [[(0.38, 0.17), (0.58, 0.03), (0.55, 0.5), (0.52, 0.97)]],  # a short flag, as most people write it
    ],
    2: [
        [
            [
                (0.18, 0.28),
                (0.35, 0.06),
                (0.6, 0.04),
                (0.8, 0.22),
                (0.72, 0.48),
                (0.45, 0.72),
                (0.15, 0.95),
                (0.5, 0.93),
                (0.88, 0.95),
            ]
        ],
        [[(0.2, 0.2), (0.5, 0.03), (0.78, 0.2), (0.7, 0.45), (0.2, 0.95), (0.85, 0.95)]],
    ],
    3: [
        [
            [(0.18, 0.14), (0.45, 0.03), (0.75, 0.12), (0.75, 0.32), (0.45, 0.48)],
            [(0.45, 0.48), (0.78, 0.6), (0.8, 0.82), (0.5, 0.97), (0.15, 0.88)],
        ],
        [[(0.2, 0.1), (0.5, 0.03), (0.78, 0.2), (0.5, 0.47), (0.8, 0.65), (0.75, 0.9), (0.45, 0.97), (0.15, 0.85)]],
    ],
    4: [
        [[(0.62, 0.97), (0.65, 0.03), (0.12, 0.65), (0.9, 0.65)]],
        [[(0.22, 0.03), (0.15, 0.58), (0.85, 0.58)], [(0.66, 0.2), (0.64, 0.97)]],
    ],
    5: [
        [[(0.8, 0.04), (0.3, 0.04), (0.24, 0.45), (0.55, 0.38), (0.8, 0.55), (0.78, 0.82), (0.5, 0.97), (0.15, 0.88)]],
        [[(0.28, 0.04), (0.22, 0.45), (0.6, 0.4), (0.8, 0.65), (0.6, 0.93), (0.18, 0.9)], [(0.28, 0.04), (0.8, 0.05)]],
    ],
    6: [
        [
            [
                (0.72, 0.04),
                (0.4, 0.22),
                (0.22, 0.55),
                (0.28, 0.88),
                (0.52, 0.97),
                (0.75, 0.82),
                (0.72, 0.58),
                (0.45, 0.5),
                (0.25, 0.65),
            ]
        ]
    ],
    7: [
        [[(0.12, 0.05), (0.88, 0.05), (0.55, 0.5), (0.38, 0.97)]],
        [[(0.12, 0.08), (0.88, 0.05), (0.4, 0.97)], [(0.32, 0.5), (0.78, 0.5)]],
    ],
    8: [
        [
            [
                (0.5, 0.48),
                (0.25, 0.3),
                (0.3, 0.08),
                (0.55, 0.03),
                (0.75, 0.15),
                (0.7, 0.35),
                (0.5, 0.48),
                (0.25, 0.65),
                (0.25, 0.88),
                (0.5, 0.97),
                (0.78, 0.85),
                (0.75, 0.62),
                (0.5, 0.48),
            ]
        ],
    ],
    9: [
        [
            [
                (0.75, 0.25),
                (0.5, 0.04),
                (0.25, 0.15),
                (0.25, 0.4),
                (0.5, 0.5),
                (0.75, 0.3),
                (0.75, 0.05),
                (0.72, 0.5),
                (0.65, 0.97),
            ]
        ],
        [[(0.78, 0.2), (0.55, 0.03), (0.28, 0.12), (0.25, 0.38), (0.5, 0.48), (0.76, 0.3), (0.7, 0.7), (0.6, 0.97)]],
    ],
}

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts", "C:/Windows/Fonts")


def find_fonts(limit: int = 12) -> list[Path]:
    """Upright TrueType fonts on this machine whose digits look like digits (no symbol fonts)."""
    fonts = []
    for folder in FONT_DIRS:
        if Path(folder).is_dir():
            fonts += sorted(p for p in Path(folder).rglob("*.ttf") if not any(s in p.name for s in ("Symbol", "Math")))
    return fonts[:limit]


def catmull_rom(points: list[tuple[float, float]], per_segment: int = 12) -> np.ndarray:
    """A smooth (N, 2) curve through `points` (Catmull-Rom, ends repeated)."""
    p = np.array([points[0], *points, points[-1]], dtype=np.float64)
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(
            0.5
            * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        )
    out.append(p[-2][None])
    return np.concatenate(out)


def skeleton_segments(mask: np.ndarray) -> list[np.ndarray]:
    """A boolean shape -> its skeleton as 2-point segments in the unit box (aspect kept, top-left 0)."""
    skeleton = thin(mask)
    ys, xs = np.nonzero(skeleton)
    if len(ys) == 0:
        return []
    side = max(ys.max() - ys.min(), xs.max() - xs.min(), 1)
    points = {(y, x) for y, x in zip(ys.tolist(), xs.tolist(), strict=True)}
    segments = []
    for y, x in points:
        for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
            if (y + dy, x + dx) in points:
                segments.append(np.array([[x, y], [x + dx, y + dy]], dtype=np.float64))
    origin = np.array([xs.min(), ys.min()])
    return [(s - origin) / side for s in segments] or [np.array([[x, y], [x, y]]) for y, x in points]


class DigitShapes:
    """Digit shapes from MNIST test images, fonts and stroke templates, as polylines in a unit box."""

    def __init__(self, mnist_images: np.ndarray, mnist_labels: np.ndarray, fonts: list[Path]):
        self.mnist_images, self.mnist_labels = mnist_images, mnist_labels
        self.fonts = fonts

    def mnist_index(self, rng: np.random.Generator) -> int:
        return int(rng.integers(len(self.mnist_labels)))

    def strokes(self, rng: np.random.Generator) -> tuple[list[np.ndarray], int, str]:
        """(polylines in the unit box, label, source) drawn from the three sources in turn."""
        source = ("template", "mnist", "font")[int(rng.integers(3)) if self.fonts else int(rng.integers(2))]
        if source == "template":
            label = int(rng.integers(10))
            variants = TEMPLATES[label]
            lines = [catmull_rom(line) for line in variants[int(rng.integers(len(variants)))]]
            return lines, label, source
        if source == "mnist":
            i = self.mnist_index(rng)
            big = Image.fromarray(self.mnist_images[i]).resize((112, 112), Image.Resampling.BICUBIC)
            return skeleton_segments(np.asarray(big) > 110), int(self.mnist_labels[i]), source
        label = int(rng.integers(10))
        glyph = self.glyph(label, rng, size=96)
        return skeleton_segments(np.asarray(glyph) > 128), label, source

    def glyph(self, label: int, rng: np.random.Generator, size: int) -> Image.Image:
        """The digit rendered from a random font: an L image, 255 = ink, cropped to the glyph."""
        font = ImageFont.truetype(str(self.fonts[int(rng.integers(len(self.fonts)))]), size)
        image = Image.new("L", (size * 2, size * 2), 0)
        ImageDraw.Draw(image).text((size // 2, size // 4), str(label), fill=255, font=font)
        return image.crop(image.getbbox())


def wobble(lines: list[np.ndarray], rng: np.random.Generator, amount: float) -> list[np.ndarray]:
    """Slant, squash, rotate and add a smooth hand tremor to unit-box polylines."""
    slant = rng.uniform(-0.35, 0.35)
    aspect = rng.uniform(0.7, 1.15)
    angle = math.radians(rng.uniform(-12, 12))
    freq = rng.uniform(3, 9, size=(2, 2))
    phase = rng.uniform(0, 2 * math.pi, size=(2, 2))
    out = []
    for line in lines:
        x, y = line[:, 0] * aspect, line[:, 1]
        x = x + slant * (0.5 - y)
        x, y = math.cos(angle) * x - math.sin(angle) * y, math.sin(angle) * x + math.cos(angle) * y
        x = x + amount * np.sin(freq[0, 0] * y + phase[0, 0]) * np.cos(freq[0, 1] * x + phase[0, 1])
        y = y + amount * np.sin(freq[1, 0] * x + phase[1, 0]) * np.cos(freq[1, 1] * y + phase[1, 1])
        out.append(np.stack([x, y], axis=1))
    return out


def place(lines: list[np.ndarray], canvas: int, height_frac: float, rng: np.random.Generator):
    """Origin and scale that make the lines `height_frac` of the canvas tall, anywhere on it."""
    points = np.concatenate(lines)
    low, high = points.min(0), points.max(0)
    # As tall as asked, unless that makes a wide digit overflow the canvas.
    scale = min(canvas * height_frac / max(high[1] - low[1], 1e-6), canvas * 0.98 / max(high[0] - low[0], 1e-6))
    size = (high - low) * scale
    left = rng.uniform(0, max(canvas - size[0], 0))
    top = rng.uniform(0, max(canvas - size[1], 0))
    return (left - low[0] * scale, top - low[1] * scale), scale


def sketch(shapes: DigitShapes, rng: np.random.Generator) -> tuple[bytes, int, str]:
    """(a) A mouse drawing: black strokes on an 800x800 transparent canvas, brush 4-40 px,
    the digit 25-90% of the canvas tall, anywhere, slanted and wobbly."""
    lines, label, source = shapes.strokes(rng)
    lines = wobble(lines, rng, amount=rng.uniform(0.0, 0.03))
    canvas = Image.new("RGBA", (800, 800), (0, 0, 0, 0))
    height = rng.uniform(0.25, 0.9)
    brush = int(rng.integers(4, 41))
    brush = min(brush, max(4, int(800 * height / 5)))  # a 40 px brush cannot write a 200 px digit legibly
    origin, scale = place(lines, 800 - brush, height, rng)
    origin = (origin[0] + brush / 2, origin[1] + brush / 2)
    draw_lines(ImageDraw.Draw(canvas), lines, origin, scale, brush, fill=(0, 0, 0, 255))
    return encode(canvas), label, source


def ink_patch(shapes: DigitShapes, rng: np.random.Generator, height: int) -> tuple[np.ndarray, int, str]:
    """(a digit as float ink coverage (h, w) in [0, 1], about `height` px tall, from any source; its
    label; its source: "mnist" or "font" as they are, or drawn with an even pen along the strokes of
    a "template" or the skeleton of an MNIST digit or a glyph, "mnist-pen" or "font-pen")."""
    kind = ("pen", "mnist", "font")[int(rng.integers(3)) if shapes.fonts else int(rng.integers(2))]
    if kind == "mnist":
        i = shapes.mnist_index(rng)
        digit = Image.fromarray(shapes.mnist_images[i])
        digit = digit.crop(digit.getbbox())
        width = max(1, round(digit.width * height / digit.height))
        patch = digit.resize((width, height), Image.Resampling.BICUBIC)
        return np.asarray(patch, dtype=np.float32) / 255.0, int(shapes.mnist_labels[i]), kind
    if kind == "font":
        label = int(rng.integers(10))
        glyph = shapes.glyph(label, rng, size=int(height * 1.4))
        width = max(1, round(glyph.width * height / glyph.height))
        glyph = glyph.resize((width, height), Image.Resampling.LANCZOS)
        return np.asarray(glyph, dtype=np.float32) / 255.0, label, kind
    lines, label, source = shapes.strokes(rng)
    lines = wobble(lines, rng, amount=rng.uniform(0.0, 0.02))
    pen = max(2, int(height * rng.uniform(0.04, 0.12)))
    side = height + 2 * pen
    image = Image.new("L", (side * 2, side), 0)
    origin, scale = place(lines, side - pen, 1.0 * height / side, np.random.default_rng(0))
    draw_lines(ImageDraw.Draw(image), lines, (origin[0] + pen / 2, origin[1] + pen / 2), scale, pen, fill=255)
    image = image.crop(image.getbbox())
    return np.asarray(image, dtype=np.float32) / 255.0, label, source if source == "template" else f"{source}-pen"


def photo(shapes: DigitShapes, rng: np.random.Generator) -> tuple[bytes, int, str]:
    """(b) A phone photo of a digit on paper: colour cast, lighting gradient, sometimes a shadow and
    specks, noise, blur, rotation up to 10 degrees, off-centre, JPEG quality 50-90, and a quarter
    stored sideways with an EXIF orientation tag."""
    width, height = int(rng.integers(480, 1400)), int(rng.integers(480, 1400))
    digit_height = int(min(width, height) * rng.uniform(0.25, 0.7))
    ink, label, source = ink_patch(shapes, rng, digit_height)
    return photograph(ink, width, height, rng), label, source


Printing = Callable[[tuple[int, int, int, int], int, int], tuple[np.ndarray, np.ndarray | None]]


def photograph(
    ink: np.ndarray, width: int, height: int, rng: np.random.Generator, printing: Printing | None = None
) -> bytes:
    """Ink coverage (h, w) in [0, 1] photographed as (b) describes, on a width x height picture: JPEG bytes.

    `printing(box, width, height)`, given the digit's ink box (x0, y0, x1, y1), gives printed matter
    on the paper: its (height, width) coverage in [0, 1] and its colour, or None for more of the
    pen's ink (an underline, a circle). It draws no numbers from `rng`, so a photo with printing and
    one without, from generators in the same state, differ by the printing alone."""
    patch = Image.fromarray((ink * 255).astype(np.uint8)).rotate(
        rng.uniform(-10, 10), Image.Resampling.BICUBIC, expand=True
    )
    coverage = Image.new("L", (width, height), 0)
    left = int(rng.uniform(0.05, 0.95) * max(width - patch.width, 0))
    top = int(rng.uniform(0.05, 0.95) * max(height - patch.height, 0))
    coverage.paste(patch, (left, top))
    printed, print_colour = np.zeros((height, width), np.float32), None
    if printing is not None:
        printed, print_colour = printing(coverage.getbbox() or (0, 0, width, height), width, height)
        if print_colour is None:  # in the pen's ink: part of the coverage
            pen = np.maximum(np.asarray(coverage, dtype=np.float32), 255 * printed)
            coverage, printed = Image.fromarray(pen.astype(np.uint8)), np.zeros_like(printed)
    if rng.random() < 0.3:  # noise specks: dots of ink scattered on the paper
        draw = ImageDraw.Draw(coverage)
        for _ in range(int(rng.integers(1, 12))):
            x, y, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(0.5, 2.5)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.integers(100, 255)))
    m = np.asarray(coverage, dtype=np.float32)[..., None] / 255.0  # (H, W, 1)

    cast = rng.uniform(0.75, 1.0, size=3)
    paper = rng.uniform(0.8, 1.0) * cast / cast.max()
    ink_colour = rng.choice([[0.1, 0.1, 0.12], [0.1, 0.15, 0.45], [0.25, 0.25, 0.25], [0.05, 0.05, 0.05]])
    ink_colour = np.array(ink_colour) * cast * rng.uniform(0.6, 1.2)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    gx, gy = rng.uniform(-0.6, 0.6, size=2)
    light = 1.0 + gx * (xx / width - 0.5) + gy * (yy / height - 0.5)
    light = light * rng.uniform(0.55, 1.05)
    if rng.random() < 0.35:  # a soft shadow (a hand or the phone) across part of the page
        nx, ny = rng.normal(size=2)
        edge = (xx / width - 0.5) * nx + (yy / height - 0.5) * ny - rng.uniform(0.1, 0.5)
        light = light * (1 - rng.uniform(0.2, 0.45) / (1 + np.exp(-edge * rng.uniform(8, 40))))
    p = printed[..., None] * (1 - m)  # (H, W, 1): the printing under the ink
    rgb = light[..., None] * (
        paper * (1 - m - p) + ink_colour * m + (0 if print_colour is None else print_colour * cast) * p
    )
    rgb = rgb + rng.normal(0, rng.uniform(0.005, 0.04), size=rgb.shape)
    image = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8))
    blur = rng.uniform(0, 2.0)
    if blur > 0.3:
        image = image.filter(ImageFilter.GaussianBlur(blur * min(width, height) / 800))
    exif = Image.Exif()
    if rng.random() < 0.25:  # stored sideways: the pixels turned, the tag says how to show them
        turn = int(rng.integers(2))
        image = image.transpose((Image.Transpose.ROTATE_90, Image.Transpose.ROTATE_270)[turn])
        exif[0x0112] = (6, 8)[turn]  # Orientation: rotate 90 clockwise (6) / counter-clockwise (8)
    return encode(image, "JPEG", quality=int(rng.integers(50, 91)), exif=exif.tobytes())


def screen(shapes: DigitShapes, rng: np.random.Generator) -> tuple[bytes, int, str]:
    """(d) A phone photo of a digit shown on a screen: light mode (dark ink on a bright screen) or
    dark mode (light ink on a dark one), in a dark bezel, in a room darker or lighter than the
    screen; the screen's glow falling off to its corners, moire stripes, rotation up to 8 degrees,
    blur, noise, JPEG quality 55-92. A fifth of the screens run off the photo on some side."""
    width, height = int(rng.integers(600, 1400)), int(rng.integers(600, 1400))
    overfill = rng.random() < 0.2  # the screen fills the frame and runs off it
    share = rng.uniform(1.0, 1.3, size=2) if overfill else rng.uniform(0.35, 0.95, size=2)
    sw, sh = int(width * share[0]), int(height * share[1])  # the screen with its bezel
    left, top = (
        int(rng.uniform(min(0, width - sw), max(0, width - sw))),
        int(rng.uniform(min(0, height - sh), max(0, height - sh))),
    )
    bezel = max(3, int(min(sw, sh) * rng.uniform(0.015, 0.08)))
    inner_w, inner_h = sw - 2 * bezel, sh - 2 * bezel
    ink, label, source = ink_patch(shapes, rng, int(min(inner_w, inner_h, width, height) * rng.uniform(0.25, 0.7)))
    # Where the digit sits on the screen, within the part of the screen the photo shows.
    x_room = (max(left + bezel, 0), min(left + bezel + inner_w, width) - ink.shape[1])
    y_room = (max(top + bezel, 0), min(top + bezel + inner_h, height) - ink.shape[0])
    x = int(rng.uniform(x_room[0], max(x_room)))
    y = int(rng.uniform(y_room[0], max(y_room)))
    coverage = np.zeros((height, width), np.float32)
    patch = ink[: height - y, : width - x]
    coverage[y : y + patch.shape[0], x : x + patch.shape[1]] = patch

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    room = rng.uniform(0.05, 0.7) * (
        1 + rng.uniform(-0.3, 0.3) * (xx / width - 0.5) + rng.uniform(-0.3, 0.3) * (yy / height - 0.5)
    )
    rgb = room[..., None] * rng.uniform(0.8, 1.0, size=3)  # (H, W, 3): a wall or desk, its own cast
    on_screen = (xx >= left) & (xx < left + sw) & (yy >= top) & (yy < top + sh)
    inner = (xx >= left + bezel) & (xx < left + sw - bezel) & (yy >= top + bezel) & (yy < top + sh - bezel)
    rgb[on_screen] = rng.uniform(0.02, 0.15)  # the bezel
    light_mode = rng.random() < 0.5
    paper, pen = (
        (rng.uniform(0.85, 1.0), rng.uniform(0.0, 0.15))
        if light_mode
        else (rng.uniform(0.08, 0.2), rng.uniform(0.8, 1.0))
    )
    tint = np.array([rng.uniform(0.85, 1.0), rng.uniform(0.9, 1.0), 1.0])  # screens run cool
    middle = ((xx - left - sw / 2) / (sw / 2)) ** 2 + ((yy - top - sh / 2) / (sh / 2)) ** 2
    glow = rng.uniform(0.75, 1.0) * (1 - rng.uniform(0.0, 0.2) * middle / 2)  # dimmer towards the corners
    angle, period = rng.uniform(0, math.pi), rng.uniform(8, 60)  # moire: the camera's pixels against the screen's
    moire = 1 + rng.uniform(0, 0.06) * np.sin(2 * math.pi * (xx * math.cos(angle) + yy * math.sin(angle)) / period)
    shown = (paper * (1 - coverage) + pen * coverage) * glow * moire
    rgb[inner] = (shown[..., None] * tint)[inner]
    rgb = rgb + rng.normal(0, rng.uniform(0.005, 0.03), size=rgb.shape)
    image = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8))
    corner = tuple(int(v) for v in np.asarray(image)[0, 0])
    image = image.rotate(rng.uniform(-8, 8), Image.Resampling.BICUBIC, fillcolor=corner)
    blur = rng.uniform(0, 1.5)
    if blur > 0.3:
        image = image.filter(ImageFilter.GaussianBlur(blur * min(width, height) / 800))
    return encode(image, "JPEG", quality=int(rng.integers(55, 93))), label, source


def pasted(shapes: DigitShapes, rng: np.random.Generator) -> tuple[bytes, int, str]:
    """(c) An MNIST test digit pasted small into a large canvas, white-on-black or black-on-white."""
    i = shapes.mnist_index(rng)
    side = int(rng.integers(200, 1000))
    digit = Image.fromarray(shapes.mnist_images[i])
    size = int(28 * rng.uniform(1.0, 3.0))
    digit = digit.resize((size, size), Image.Resampling.BICUBIC)
    canvas = Image.new("L", (side, side), 0)
    canvas.paste(digit, (int(rng.integers(0, side - size)), int(rng.integers(0, side - size))))
    if rng.random() < 0.5:
        canvas = Image.eval(canvas, lambda v: 255 - v)
    return encode(canvas), int(shapes.mnist_labels[i]), "mnist"
