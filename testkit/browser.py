"""Debian's Chromium driven by Playwright, as the browser tests and benchmarks use it: its path and
flags, a digit drawn on a drawing pad with real mouse strokes or touches, and a static file server."""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import itertools
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

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


APP_PAD = "#sketchpad canvas"  # the Gradio app's drawing pad
WEB_PAD = "canvas#pad"  # the browser edition's


def pad_box(frame, pad: str = APP_PAD, timeout: float = 60_000) -> dict:
    """The drawing pad's page box, once pad.js listens to it. A canvas is shown before its script has
    run; pad.js sets the canvas's width (a `width` attribute) in the same call that adds its pointer
    listeners, so a stroke sent before that would be lost."""
    canvas = frame.locator(f"{pad}[width]").first
    canvas.wait_for(state="visible", timeout=timeout)
    return canvas.bounding_box()


def digit_strokes(frame, label: int, pad: str = APP_PAD) -> list[list[tuple[float, float]]]:
    """DIGITS[label] as page coordinates on the drawing pad `pad`: each stroke's points, 8 steps
    between the digit's own points (a hand's stroke, not jumps)."""
    box = pad_box(frame, pad)
    side = min(box["width"], box["height"])
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2
    strokes = []
    for line in DIGITS[label]:
        points = [(left + (0.3 + 0.4 * x) * side, top + (0.22 + 0.56 * y) * side) for x, y in line]
        steps = [points[0]]
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            steps += [(x0 + (x1 - x0) * step / 8, y0 + (y1 - y0) * step / 8) for step in range(1, 9)]
        strokes.append(steps)
    return strokes


NUMBER_PAD = "#numberpad canvas"  # the app's pad for a whole number


def number_strokes(frame, labels: str, pad: str = NUMBER_PAD) -> list[list[tuple[float, float]]]:
    """The digits of `labels` (from DIGITS) side by side on a wide pad, each in a square 60% of the
    pad's height, 0.8 of that apart: each stroke's points, 8 steps between the digit's own points."""
    box = pad_box(frame, pad)
    side = 0.6 * box["height"]
    strokes = []
    for i, label in enumerate(labels):
        left, top = box["x"] + 0.05 * box["width"] + i * 0.8 * side, box["y"] + 0.2 * box["height"]
        for line in DIGITS[int(label)]:
            points = [(left + x * side * 0.6, top + y * side) for x, y in line]
            steps = [points[0]]
            for (x0, y0), (x1, y1) in itertools.pairwise(points):
                steps += [(x0 + (x1 - x0) * step / 8, y0 + (y1 - y0) * step / 8) for step in range(1, 9)]
            strokes.append(steps)
    return strokes


def mouse_stroke(page, points: list[tuple[float, float]]) -> None:
    """Press at the first point, move along the rest, release."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point)
    page.mouse.up()


def stroke_digit(page, frame, label: int, pad: str = APP_PAD) -> None:
    """Draw DIGITS[label] on the drawing pad with real mouse strokes (`frame`: the page, or the frame
    the app is embedded in)."""
    for points in digit_strokes(frame, label, pad):
        mouse_stroke(page, points)


def touch_digit(page, label: int, pad: str = APP_PAD) -> None:
    """Draw DIGITS[label] with a finger: Chromium's touch events (CDP), as a phone's screen sends
    them; the page must be opened with has_touch=True."""
    cdp = page.context.new_cdp_session(page)
    for points in digit_strokes(page, label, pad):
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]}
        )
        for x, y in points[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


# window.lenet.predict on an image URL -> [top-1 label, the 28x28 grey levels it read], or [message, null].
READ_IN_PAGE = """async (url) => {
  try {
    const {top, input} = await window.lenet.predict(url);
    return [top[0].label, Array.from(input.data.filter((_, i) => i % 4 === 0))];
  } catch (error) { return [error.message, null]; }
}"""


def read_in_page(page, data: bytes) -> tuple[str, list[int] | None]:
    """An encoded image read by the browser edition open in `page`: (top-1 label, 784 grey levels),
    or (the error's message, None)."""
    mime = "image/jpeg" if data[:2] == b"\xff\xd8" else "image/png"
    label, levels = page.evaluate(READ_IN_PAGE, f"data:{mime};base64," + base64.b64encode(data).decode())
    return label, levels


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no line per request on stderr
        pass


@contextlib.contextmanager
def static_server(folder: str | Path) -> Iterator[str]:
    """Serve `folder` as plain files on a free loopback port, as any static host would; yields its URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def served_site(folder: str | Path | None = None) -> Iterator[str]:
    """The browser edition served on loopback: the site build-web wrote in `folder`, or, with none, one
    built now from the shipped checkpoint into a temporary folder; yields its URL."""
    from lenet.predict import DEFAULT_CHECKPOINT
    from lenet.web import build_site

    with tempfile.TemporaryDirectory(prefix="lenet-site-") as scratch:
        if folder is None:
            folder = Path(scratch) / "site"
            build_site(DEFAULT_CHECKPOINT, folder)
        with static_server(folder) as url:
            yield url
