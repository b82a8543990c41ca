"""Gradio components for the app: photos handed to lenet undecoded, previews and a number's digits sent inline."""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.data_classes import Base64ImageData, ImageData
from gradio.utils import get_upload_folder
from PIL import Image

from lenet.numbers import NumberReading
from lenet.serving.guard import NOT_RECEIVED, is_received_file

log = logging.getLogger("lenet.serving.ui")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"  # the app's example images (repo root)


def received_folders() -> list[str]:
    """The folders a request's files may be in: Gradio's upload cache (read when asked, as Gradio
    reads GRADIO_TEMP_DIR) and the bundled examples."""
    return [get_upload_folder(), str(EXAMPLES)]


def refuse(message: str, detail: str) -> gr.Error:
    """A gr.Error for a refused request: one log line here, no traceback from Gradio."""
    log.warning("refused: %s", detail)
    return gr.Error(message, print_exception=False)


def received_path(path: str) -> str:
    """`path` if a request may name it (see lenet.guard.is_received_file); else refused, without
    saying whether it exists."""
    if not is_received_file(path, received_folders()):
        raise refuse(NOT_RECEIVED, f"a request named a file outside the upload folder ({len(path)} characters)")
    return path


def checked_file(value: Any, what: str) -> None:
    """Refuse a payload item that is not None or a file object {"path": str, ...}."""
    if value is None:
        return
    if not isinstance(value, dict) or not isinstance(value.get("path"), str | None):
        raise refuse(f'refused: {what} must be a file object {{"path": ...}} or null', f"{what} of a wrong type")


class PhotoData(ImageData):
    """gr.Image's payload, its shape checked before pydantic validates it: a refusal is then one log
    line and a gr.Error, not a traceback. (Not as a pydantic validator: gr.Error is a ValueError,
    which pydantic would wrap in a ValidationError that Gradio prints whole.)"""

    @classmethod
    def model_validate(cls, obj: Any, **kwargs) -> PhotoData:
        checked_file(obj, "the image")
        return super().model_validate(obj, **kwargs)


class PhotoInput(gr.Image):
    """gr.Image that hands the uploaded file's path to lenet's decoder untouched: Gradio's own
    decoding would fail on a damaged or non-image file with a generic error instead of our message."""

    data_model = PhotoData

    def preprocess(self, payload):
        # Gradio checks a file's path only when the payload carries its file mark ("meta"); gr.Image's
        # data model accepts one without, so the path is checked here (and, earlier, in lenet.serving.guard).
        return None if payload is None or payload.path is None else received_path(payload.path)

    def get_block_name(self) -> str:
        return "image"  # the browser renders it with gr.Image's own front end


class DigitChoice(gr.Radio):
    """gr.Radio whose refusal of a value outside its choices says so in a few words: Gradio's own
    message quotes the value whole, in the answer and in the log (500 KB each for a 500 KB value)."""

    def preprocess(self, payload):
        if payload is not None and payload not in [value for _, value in self.choices]:
            raise gr.Error("refused: not one of the choices", print_exception=False)
        return super().preprocess(payload)

    def get_block_name(self) -> str:
        return "radio"  # the browser renders it with gr.Radio's own front end


class PreviewImage(gr.Image):
    """gr.Image output that sends the preview inside the answer, as a PNG data URL (the form gr.Image
    streams a webcam in), instead of a file in Gradio's cache that the page fetches afterwards: no
    file written per answer, no second request, and the preview arrives with the top 3. A 196x196
    enlargement of 28x28 levels is 0.6-0.8 KB of PNG (about 1 KB as base64). API clients get
    {"url": "data:..."}."""

    def postprocess(self, value: Image.Image | None) -> Base64ImageData | None:
        return None if value is None else Base64ImageData(url=png_data_url(value))

    def api_info_as_output(self) -> dict[str, Any]:
        schema = Base64ImageData.model_json_schema()
        schema.pop("description", None)
        return schema

    def get_block_name(self) -> str:
        return "image"


def png_data_url(image: Image.Image) -> str:
    """`image` as a PNG data URL: lossless, so a model input's pixels stay crisp."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


DIGIT_SIDE = 84  # each digit's 28x28 input, 3x, in digit_cards


def digit_cards(reading: NumberReading) -> str:
    """Each digit of a number: its 28x28 input (inside the page, shown 3x) above its top 3, as HTML
    cards that wrap onto a new row on a narrow screen. Only digits and numbers go in the markup."""
    cards = []
    for i, digit in enumerate(reading.digits, start=1):
        guesses = "".join(f"<li><b>{label}</b> {p:.0%}</li>" for label, p in digit.top)
        image = (
            f'<img src="{png_data_url(digit.model_input.preview)}" width="{DIGIT_SIDE}" height="{DIGIT_SIDE}" '
            f'alt="digit {i}, as the model sees it">'
        )
        cards.append(f"<figure>{image}<figcaption><ol>{guesses}</ol></figcaption></figure>")
    return f'<div class="digit-cards">{"".join(cards)}</div>'
