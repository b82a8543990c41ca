"""The app's drawing pad: a gr.HTML canvas (pad.js, pad.css) whose value is the drawing as a PNG data URL."""

from __future__ import annotations

import base64
import binascii
import html
import re
from pathlib import Path
from typing import Any

import gradio as gr

from lenet.serving.ui import refuse

HERE = Path(__file__).resolve().parent
TEMPLATE = """<div class="lenet-pad" data-state="answered" data-blank="true"
  data-width="{width}" data-height="{height}">
  <div class="lenet-surface">
    <canvas role="img" aria-label="Drawing area: {hint}"></canvas>
    <span class="lenet-hint" aria-hidden="true">{hint}</span>
  </div>
  <button type="button" class="lenet-clear">Clear</button>
</div>"""
# pad.js reads a drawing by setting this component's value and triggering "drawn"; the app's event
# answers it and then dispatches ANSWERED on the page, which settles the read.
GLUE = """
const pad = element.querySelector('.lenet-pad');
lenetPad(pad, (canvas) => new Promise((settle) => {
  document.addEventListener('lenet:answered', settle, { once: true });
  props.value = canvas ? canvas.toDataURL('image/png') : '';
  trigger('drawn');
}), { width: Number(pad.dataset.width), height: Number(pad.dataset.height) });
"""
ANSWERED = "() => { document.dispatchEvent(new Event('lenet:answered')); }"
DATA_URL = re.compile(r"data:image/[\w.+-]{1,40};base64,")
USAGE = 'refused: a drawing is an image data URL "data:image/png;base64,..." or "" for none'


class DrawingPad(gr.HTML):
    """A canvas made for one digit (400 px square) or a number (`width` x `height`): no tools but a
    labelled Clear, strokes that begin outside it still draw, touch draws instead of scrolling, and
    answers to a half-drawn digit are marked provisional (see pad.js). Its value, in the page and the
    API, is the drawing as an image data URL, ink in the alpha of a transparent canvas; lenet gets the
    encoded image's bytes. Its event is "drawn": wire it with `.drawn(fn, pad, outputs).then(None, js=ANSWERED)`."""

    def __init__(self, width: int = 400, height: int = 400, hint: str = "Draw one digit here", **kwargs):
        super().__init__(
            value="",
            html_template=TEMPLATE.format(width=int(width), height=int(height), hint=html.escape(hint)),
            css_template=(HERE / "pad.css").read_text(),
            js_on_load=(HERE / "pad.js").read_text() + GLUE,
            **kwargs,
        )

    def preprocess(self, payload: Any) -> bytes | None:
        """A data URL -> the image's bytes ('' or None -> None). Its size is bounded before it gets
        here: the request guard caps a JSON body (lenet.serving.guard.JSON_BYTES)."""
        if payload is None or payload == "":
            return None
        match = DATA_URL.match(payload) if isinstance(payload, str) else None
        if match is None:
            raise refuse(USAGE, f"a drawing that is no data URL ({type(payload).__name__})")
        try:
            return base64.b64decode(payload[match.end() :], validate=True)
        except (binascii.Error, ValueError):
            raise refuse("refused: the drawing's base64 is damaged", "a drawing with damaged base64") from None

    def api_info(self) -> dict[str, Any]:
        return {"type": "string", "description": 'an image data URL, "data:image/png;base64,...", or "" for none'}

    def example_payload(self) -> str:
        return ""

    def example_value(self) -> str:
        return ""
