"""Files a public Space gets, made on the spot: damaged, disguised, exotic, huge, blank; each with the
answer it must get. Used by tests/test_bad_input.py and bench/bad_input.py."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from testkit.render import DIGITS, blank_page, draw, photo_bytes

UNREADABLE, NO_DIGIT = "unreadable", "no digit"


@dataclass(frozen=True)
class Case:
    file: Path
    expect: str  # a digit, UNREADABLE or NO_DIGIT
    says: str = ""  # a phrase the message must contain


def digit_image(label: int, mode: str = "RGB", size: int = 300) -> Image.Image:
    """Dark ink on white paper, upright, in `mode`."""
    return draw(Image.new("RGB", (size, size), "white"), label, (60, 40, 200), 16, (25, 25, 25)).convert(mode)


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming width x height, then a tiny IDAT: a decompression bomb's
    opening, which must be refused from the header alone."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def make_bad_files(folder: Path) -> list[Case]:
    """Write every kind of file into `folder`; the cases, in a fixed order."""
    made: list[Case] = []

    def add(name: str, data: bytes, expect: str, says: str = "") -> None:
        (folder / name).write_bytes(data)
        made.append(Case(folder / name, expect, says))

    seven_png = encode(digit_image(7), "PNG")
    seven_jpeg = encode(digit_image(7), "JPEG", quality=90)
    add("empty.png", b"", UNREADABLE, "empty")
    add("truncated.png", seven_png[: len(seven_png) // 2], UNREADABLE, "truncated")
    add("truncated.jpg", seven_jpeg[: len(seven_jpeg) * 2 // 3], UNREADABLE, "truncated")
    add("notes.png", b"Shopping list: eggs, milk, a 7.\n" * 20, UNREADABLE, "not an image")
    add("document.png", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n", UNREADABLE, "PDF")
    points = " ".join(f"{x * 100:.0f},{y * 100:.0f}" for x, y in DIGITS[7][0])
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><polyline points="{points}"/></svg>'
    add("drawing.svg", svg.encode(), UNREADABLE, "SVG")
    frames = [digit_image(7, "P"), digit_image(1, "P")]
    add("animated.gif", encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=500, loop=0), "7")
    ink = np.asarray(digit_image(4, "L"), dtype=np.float64) / 255  # 1 = paper
    add("deep.png", encode(Image.fromarray((3000 + ink * 60000).astype(np.uint16)), "PNG"), "4")
    add("print.jpg", encode(digit_image(4).convert("CMYK"), "JPEG", quality=90), "4")
    # Large scans in modes Pillow cannot reduce as they are: 16-bit grey (reduce() refused it), and
    # 1-bit and palette line art (resized by nearest neighbour, which dropped 3 px strokes: read as 1s).
    deep = np.asarray(digit_image(4, "L").resize((2100, 2100)), dtype=np.float64) / 255
    add("deep-large.png", encode(Image.fromarray((3000 + deep * 60000).astype(np.uint16)), "PNG"), "4")
    line_art = draw(Image.new("L", (2400, 2400), 255), 4, (400, 300, 1600), 3, 0)
    add("scan-1bit.png", encode(line_art.convert("1", dither=Image.Dither.NONE), "PNG"), "4")
    line_art = draw(Image.new("L", (2400, 2400), 255), 7, (400, 300, 1600), 3, 0)
    add("scan-palette.png", encode(line_art.convert("P", palette=Image.Palette.ADAPTIVE, colors=4), "PNG"), "7")
    palette = Image.new("P", (300, 300), 0)
    palette.putpalette([255, 255, 255, 30, 60, 200] + [0, 0, 0] * 254)
    draw(palette, 7, (60, 40, 200), 16, 1)
    add("palette.png", encode(palette, "PNG", transparency=0), "7")
    for orientation in range(1, 9):
        add(f"exif-{orientation}.jpg", photo_bytes(4, orientation=orientation, seed=orientation), "4")
    add("pixel.png", encode(Image.new("RGB", (1, 1), "black"), "PNG"), NO_DIGIT)
    add("bomb.png", png_header_only(20_000, 20_000), UNREADABLE, "pixels")
    # A 50-megapixel phone photo (8660 x 5774): decoded at reduced size, it must still be quick.
    big = Image.open(io.BytesIO(photo_bytes(7, shadow=True, seed=5))).resize((8660, 5774), Image.Resampling.BICUBIC)
    add("huge.jpg", encode(big, "JPEG", quality=85), "7")
    add("white.png", encode(Image.new("RGB", (400, 300), "white"), "PNG"), NO_DIGIT)
    add("black.png", encode(Image.new("RGB", (400, 300), "black"), "PNG"), NO_DIGIT)
    add("transparent.png", encode(Image.new("RGBA", (400, 300), (255, 255, 255, 0)), "PNG"), NO_DIGIT)
    add("ruled-page.png", encode(blank_page(grid=False), "PNG"), NO_DIGIT)  # only printed lines
    add("squared-page.png", encode(blank_page(grid=True), "PNG"), NO_DIGIT)
    return made
