"""Debian's Chromium driven by Playwright, as the browser tests and bench.draw_latency use it: its
path and flags, and a digit drawn with real mouse strokes on the app's Sketchpad."""

from __future__ import annotations

import itertools
import os

from testkit.render import DIGITS

CHROMIUM = os.environ.get("LENET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def stroke_digit(page, frame, label: int) -> None:
    """Draw DIGITS[label] on the Sketchpad with real mouse strokes: press, move along, release."""
    canvas = frame.locator("#sketchpad canvas").first
    box = canvas.bounding_box()
    side = min(box["width"], box["height"])
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    for line in DIGITS[label]:
        points = [(left + (0.3 + 0.4 * x) * side, top + (0.22 + 0.56 * y) * side) for x, y in line]
        page.mouse.move(*points[0])
        page.mouse.down()
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            for step in range(1, 9):  # intermediate moves: a hand's stroke, not a jump
                page.mouse.move(x0 + (x1 - x0) * step / 8, y0 + (y1 - y0) * step / 8)
        page.mouse.up()
