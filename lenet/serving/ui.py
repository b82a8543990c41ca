"""Gradio components for the app: photos handed to lenet undecoded, previews written atomically."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.data_classes import ImageData
from gradio.utils import get_upload_folder
from PIL import Image

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


class PreviewImage(gr.Image):
    """gr.Image output that writes each preview into Gradio's cache atomically. gr.Image rewrites a
    cached file in place, so two people shown the same preview at once (both clicked one example)
    could be sent a half-written file; a new name renamed into place cannot be read half-written."""

    def postprocess(self, value):
        if isinstance(value, Image.Image):
            buffer = io.BytesIO()
            value.save(buffer, format="PNG")  # lossless: the preview's pixels must stay crisp
            data = buffer.getvalue()
            path = Path(self.GRADIO_CACHE) / hashlib.sha256(data).hexdigest() / "seen.png"
            if not path.exists():
                _write_atomically(path, data)
            value = str(path)
        return super().postprocess(value)

    def get_block_name(self) -> str:
        return "image"


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `path` under a temporary name in its folder and rename it into place. Tried twice: the
    folder, long empty, may be swept (lenet.guard.sweep_empty_folders) between making it and writing."""
    for attempt in range(2):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, staging = tempfile.mkstemp(dir=path.parent, prefix=".seen-")
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(staging, path)
            return
        except FileNotFoundError:
            if attempt:
                raise
