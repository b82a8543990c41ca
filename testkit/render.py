"""Digits rendered for tests and benchmarks: the brush that draws every polyline (draw_lines), simple
digits drawn with it on canvases, Sketchpad values and phone-like photos; testkit.wild builds on it."""

from __future__ import annotations

import base64
import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Simple digits as polylines in a unit box (x right, y down).
DIGITS = {
    0: [[(0.5 + 0.3 * math.sin(t / 20 * math.tau), 0.5 - 0.45 * math.cos(t / 20 * math.tau)) for t in range(21)]],
    1: [[(0.55, 0.03), (0.45, 0.97)]],
    4: [[(0.3, 0.03), (0.18, 0.6), (0.88, 0.6)], [(0.68, 0.25), (0.65, 0.97)]],
    7: [[(0.12, 0.05), (0.88, 0.05), (0.4, 0.97)]],
}


def draw_lines(draw: ImageDraw.ImageDraw, lines: list[np.ndarray], origin, scale: float, width: int, fill) -> None:
    """Draw polylines (unit-box coordinates) with a round brush of `width` pixels."""
    radius = width / 2
    for line in lines:
        points = [(float(origin[0] + x * scale), float(origin[1] + y * scale)) for x, y in line]
        draw.line(points, fill=fill, width=width, joint="curve")
        for px, py in points:  # round caps and joints, like a brush
            draw.ellipse((px - radius, py - radius, px + radius, py + radius), fill=fill)


def draw(image: Image.Image, label: int, box: tuple[float, float, float], width: int, fill) -> Image.Image:
    """Draw DIGITS[label] on `image` into the square box (left, top, side) with a round brush."""
    left, top, side = box
    draw_lines(ImageDraw.Draw(image), [np.array(line) for line in DIGITS[label]], (left, top), side, width, fill)
    return image


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def data_url(image: Image.Image) -> str:
    """`image` as a PNG data URL, as the app's drawing pad sends a drawing."""
    return "data:image/png;base64," + base64.b64encode(encode(image)).decode()


def pad_drawing(label: int, brush: int = 22) -> str:
    """The drawing pad's value for DIGITS[label]: blue strokes, as wide as its brush (22 px), on a
    transparent 400x400 canvas."""
    canvas = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    return data_url(draw(canvas, label, (80, 60, 260), brush, (37, 99, 235, 255)))


def drawn_digits(labels: list[int], brush: int = 22) -> Image.Image:
    """DIGITS[label] for each of `labels`, side by side across the one-digit pad's transparent
    400x400 canvas, as someone draws a number there."""
    canvas = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    side = 360 / len(labels)
    for i, label in enumerate(labels):
        draw(canvas, label, (20 + i * side, 200 - side / 2, side * 0.85), brush, (37, 99, 235, 255))
    return canvas


def sketch_value(label: int, brush: int, background: tuple[int, int, int, int]) -> dict:
    """A Gradio Sketchpad value: an opaque background in the theme's colour, the strokes in a layer."""
    layer = draw(Image.new("RGBA", (800, 800), (0, 0, 0, 0)), label, (150, 100, 600), brush, (0, 0, 0, 255))
    background_image = Image.new("RGBA", (800, 800), background)
    composite = background_image.copy()
    composite.alpha_composite(layer)
    return {
        "background": np.asarray(background_image),
        "layers": [np.asarray(layer)],
        "composite": np.asarray(composite),
    }


T = Image.Transpose
# EXIF orientation -> how the upright picture is stored (the inverse of what a viewer applies to it).
STORED_AS = {
    2: T.FLIP_LEFT_RIGHT,
    3: T.ROTATE_180,
    4: T.FLIP_TOP_BOTTOM,
    5: T.TRANSPOSE,
    6: T.ROTATE_90,
    7: T.TRANSVERSE,
    8: T.ROTATE_270,
}


def photo_bytes(
    label: int, *, shadow: bool = False, specks: bool = False, orientation: int = 1, seed: int = 0
) -> bytes:
    """A JPEG 'photo': a dark pen digit on off-white paper under a lighting gradient, with noise and
    blur, optionally a hard shadow and ink specks, optionally stored turned with an EXIF tag."""
    rng = np.random.default_rng(seed)
    width, height = 900, 700
    ink = draw(Image.new("L", (width, height), 0), label, (330, 180, 360), 18, 255)
    if specks:
        pen = ImageDraw.Draw(ink)
        for x, y in rng.uniform([20, 20], [width - 20, height - 20], size=(12, 2)):
            pen.ellipse((x - 2, y - 2, x + 2, y + 2), fill=255)
    m = np.asarray(ink, dtype=np.float32)[..., None] / 255  # (H, W, 1)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 0.65 + 0.35 * xx / width  # darker on the left
    if shadow:
        light = light * np.where(xx + 0.5 * yy < 300, 0.6, 1.0)  # a hard-edged shadow over a corner
    paper, pen_colour = np.array([0.95, 0.9, 0.78]), np.array([0.1, 0.12, 0.35])  # warm paper, blue pen
    rgb = light[..., None] * (paper * (1 - m) + pen_colour * m) + rng.normal(0, 0.03, size=(height, width, 3))
    image = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.2))
    exif = Image.Exif()
    if orientation != 1:  # stored turned or mirrored; the tag tells a viewer how to put it upright
        image = image.transpose(STORED_AS[orientation])
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70, exif=exif.tobytes())
    return buffer.getvalue()


PRINTED = ("box", "circle", "margin", "underline", "touched box")


def on_paper(ink: Image.Image, printing: Image.Image, print_colour: tuple[float, float, float]) -> Image.Image:
    """A page: `ink` ("L" coverage) in a dark blue pen over `printing` ("L" coverage) in
    `print_colour` (RGB in [0, 1]) on white paper, softened as a scan or photo softens it."""
    m = np.asarray(ink, dtype=np.float32)[..., None] / 255  # (H, W, 1)
    p = np.asarray(printing, dtype=np.float32)[..., None] / 255 * (1 - m)  # the pen covers the printing
    paper, pen_colour = np.array([0.97, 0.96, 0.93]), np.array([0.1, 0.12, 0.35])
    rgb = paper * (1 - m - p) + pen_colour * m + np.array(print_colour) * p
    return Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1))


def printed_page(label: int, printed: str | None) -> Image.Image:
    """A dark pen digit on white paper beside printed matter of `printed`: a form's box drawn around
    it, a circle around it, a notebook's red double margin line from top to bottom of the page, or
    a line under it that slopes up past its lowest point, beyond its right side (none touching the
    digit), or a form's box whose bottom line the digit sits on (a 1, 4 or 7 touches it; a 0 comes
    within 7 px). The pipeline once read such lines and frames as part of the digit. None: the same
    page with nothing printed."""
    width, height = 900, 700
    ink = draw(Image.new("L", (width, height), 0), label, (330, 180, 360), 18, 255)
    lines = Image.new("L", (width, height), 0)
    pen = ImageDraw.Draw(lines)
    if printed == "box":
        pen.rectangle((250, 110, 770, 610), outline=255, width=3)
    elif printed == "circle":
        pen.ellipse((190, 60, 830, 660), outline=255, width=2)  # lighter than the digit
    elif printed == "touched box":  # the digits' feet: rows 531-538
        pen.rectangle((300, 100, 720, 540), outline=255, width=3)
    elif printed == "margin":
        for x in (150, 160):
            pen.line((x, 0, x, height), fill=255, width=3)
    elif printed == "underline":  # below every column of the digit (rows 181-538, columns 364-655 for 0, 1, 4, 7)
        pen.line((300, 590, 760, 530), fill=255, width=6)
    return on_paper(ink, lines, (0.2, 0.2, 0.2) if printed != "margin" else (0.85, 0.2, 0.25))


def askew_ruled_page(label: int) -> Image.Image:
    """A dark pen digit high on a notebook page photographed 8.5 degrees askew: the ruling slopes, and
    the line through the digit's top leaves the picture through its top edge, three quarters of the
    way across (lenet.pipeline.ink._level_lines counts such a line by what is seen of it)."""
    width, height = 900, 500
    ink = draw(Image.new("L", (width, height), 0), label, (330, 20, 300), 16, 255)
    lines = Image.new("L", (width, height), 0)
    pen = ImageDraw.Draw(lines)
    for left in range(100, 700, 70):  # where each line meets the left edge; it rises 0.15 px a pixel
        pen.line((0, left, width, left - 0.15 * width), fill=255, width=3)
    return on_paper(ink, lines, (0.3, 0.35, 0.5))  # dark ruling: as dark as ink, so found as ink


def blank_page(grid: bool) -> Image.Image:
    """A page of ruled paper with a red margin, or of squared paper, with nothing written on it."""
    page = Image.new("RGB", (600, 400), (250, 248, 240))
    pen = ImageDraw.Draw(page)
    for y in range(20, 400, 40):
        pen.line((0, y, 600, y), fill=(100, 140, 220), width=3)
    for x in range(20, 600, 40) if grid else (80,):
        pen.line((x, 0, x, 400), fill=(100, 140, 220) if grid else (220, 80, 90), width=3)
    return page


def shadowed_page(label: int, softness: float, edge: float) -> Image.Image:
    """A dark pen digit on a page lit at its top left and, past a soft diagonal edge `edge` px in,
    in a shadow that takes 55% of the light (a hand or a phone held over the page): most of the
    paper, the digit's included, is darker than the lit part by more than the ink is darker than it."""
    width, height = 900, 700
    ink = draw(Image.new("L", (width, height), 0), label, (420, 200, 360), 18, 255)
    m = np.asarray(ink, dtype=np.float32)[..., None] / 255  # (H, W, 1)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    lit = 0.5 * (1 - np.tanh((xx + 0.6 * yy - edge) / (2 * softness)))  # 1 in the light, 0 in the shadow
    light = 0.45 + 0.55 * lit
    paper, pen_colour = np.array([0.95, 0.92, 0.85]), np.array([0.12, 0.12, 0.2])
    rgb = light[..., None] * (paper * (1 - m) + pen_colour * m)
    return Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8))


def screen_page(label: int, dark_mode: bool, room: float) -> Image.Image:
    """DIGITS[label] on a screen photographed in its room: a 420x520 screen, white with a black digit
    or (dark mode) near black with a white one, in a 16 px bezel, tilted 4 degrees, small in a 900x800
    picture of a wall `room` bright (0 to 1). Light mode in a dark room made the screen read as light
    ink; a dark screen in a lit room, as dark ink; a bezel darker than the room, as a frame (before
    lenet.pipeline.ink.photographed_page)."""
    width, height = 900, 800
    picture = Image.new("L", (width, height), round(255 * room))
    pen = ImageDraw.Draw(picture)
    pen.rectangle((240, 140, 240 + 451, 140 + 551), fill=12)  # the bezel
    paper, ink = (30, 235) if dark_mode else (240, 20)
    pen.rectangle((256, 156, 256 + 419, 156 + 519), fill=paper)
    draw(picture, label, (330, 260, 280), 16, ink)
    picture = picture.rotate(4, Image.Resampling.BICUBIC, fillcolor=round(255 * room))
    return picture.convert("RGB").filter(ImageFilter.GaussianBlur(1))
