"""Gradio components for the app: inputs handed to lenet undecoded and bounded, previews written atomically."""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import HTTPException
from gradio.components.base import server
from gradio.components.image_editor import AcceptBlobs, EditorData
from gradio.data_classes import FileData, ImageData
from gradio.utils import get_upload_folder
from PIL import Image
from pydantic import Field

from lenet.pipeline.decode import Sketch
from lenet.serving.guard import NOT_RECEIVED, is_received_file

log = logging.getLogger("lenet.serving.ui")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"  # the app's example images (repo root)
MAX_LAYERS = 4  # the app's Sketchpad has one layer (layers=False); a few more cost nothing
LAYER_BYTES = 1024 * 1024  # a 400x400 RGBA layer is 640 KB uncompressed: no honest layer is larger
BLOB_BYTES = 8 * 1024 * 1024  # all sketches waiting for their event, all visitors together
BLOB_SECONDS = 30.0  # a sketch's blobs are followed by its event within milliseconds


def received_folders() -> list[str]:
    """The folders a request's files may be in: Gradio's upload cache (read when asked, as Gradio
    reads GRADIO_TEMP_DIR) and the bundled examples."""
    return [get_upload_folder(), str(EXAMPLES)]


def refuse(message: str, detail: str) -> gr.Error:
    """A gr.Error for a refused request: one log line here, no traceback from Gradio."""
    log.warning("refused: %s", detail)
    return gr.Error(message, print_exception=False)


def refused_upload(status: int, message: str, detail: str) -> HTTPException:
    """The same for a Sketchpad upload (a plain HTTP route, where a gr.Error would be a 500 and a
    traceback): one log line and an HTTP error with `message`."""
    log.warning("refused a sketch upload: %s", detail)
    return HTTPException(status_code=status, detail=message)


def received_path(path: str) -> str:
    """`path` if a request may name it (see lenet.guard.is_received_file); else refused, without
    saying whether it exists."""
    if not is_received_file(path, received_folders()):
        raise refuse(NOT_RECEIVED, f"a request named a file outside the upload folder ({len(path)} characters)")
    return path


FILE_MARK = {"_type": "gradio.FileData"}


def checked_file(value: Any, what: str, mark_required: bool) -> None:
    """Refuse a payload item that is not None or a file object {"path": str, "meta": FILE_MARK, ...}."""
    if value is None:
        return
    if not isinstance(value, dict) or not isinstance(value.get("path"), str | None):
        raise refuse(f'refused: {what} must be a file object {{"path": ...}} or null', f"{what} of a wrong type")
    if mark_required and value.get("meta") != FILE_MARK:
        raise refuse(f'refused: {what} must carry "meta": {FILE_MARK}', f"{what} without Gradio's file mark")


class PhotoData(ImageData):
    """gr.Image's payload, its shape checked before pydantic validates it: a refusal is then one log
    line and a gr.Error, not a traceback. (Not as a pydantic validator: gr.Error is a ValueError,
    which pydantic would wrap in a ValidationError that Gradio prints whole.)"""

    @classmethod
    def model_validate(cls, obj: Any, **kwargs) -> PhotoData:
        checked_file(obj, "the image", mark_required=False)  # gr.Image accepts it without the mark
        return super().model_validate(obj, **kwargs)


class SketchData(EditorData):
    """gr.Sketchpad's payload, its shape and size checked before pydantic validates it item by item
    (each bad item was three log lines: 100,000 null layers wrote 300,000); null layers allowed."""

    layers: list[FileData | None] = Field(default_factory=list)

    @classmethod
    def model_validate(cls, value: Any, **kwargs) -> SketchData:
        if not isinstance(value, dict):
            raise refuse("refused: a sketch is an object {background, layers, composite}", "a sketch of a wrong type")
        layers = value.get("layers") or []
        if not isinstance(layers, list) or len(layers) > MAX_LAYERS:
            count = len(layers) if isinstance(layers, list) else type(layers).__name__
            raise refuse(f"refused: a sketch has at most {MAX_LAYERS} layers", f"a sketch with {count} layers")
        for key in ("background", "composite"):
            checked_file(value.get(key), f"the sketch's {key}", mark_required=True)
        for layer in layers:
            checked_file(layer, "a sketch layer", mark_required=True)
        if not isinstance(value.get("id"), str | None):
            raise refuse("refused: a sketch's id must be a string", "a sketch id of a wrong type")
        return super().model_validate(value, **kwargs)


class PhotoInput(gr.Image):
    """gr.Image that hands the uploaded file's path to lenet's decoder untouched: Gradio's own
    decoding would fail on a damaged or non-image file with a generic error instead of our message."""

    data_model = PhotoData

    def preprocess(self, payload):
        # Gradio checks a file's path only when the payload carries FILE_MARK; gr.Image's data model
        # accepts one without, so the path is checked here (and, earlier, in lenet.serving.guard).
        return None if payload is None or payload.path is None else received_path(payload.path)

    def get_block_name(self) -> str:
        return "image"  # the browser renders it with gr.Image's own front end


class BlobStore:
    """The Sketchpad layers the browser uploads ahead of their event, until the event takes them.

    gr.Sketchpad keeps them in a plain dict for ever: an index of 20,000,000 allocated a list of that
    length (153 MB), and blobs whose event never came (never sent, or skipped by trigger_mode=
    "always_last") were never freed. Here an upload holds at most MAX_LAYERS layers of LAYER_BYTES
    each; all of them together at most BLOB_BYTES, the oldest dropped first; and what no event took
    within BLOB_SECONDS is dropped. The blob id, chosen by the browser per drawing, is the only
    session key there is, so the bound that holds against many sessions is the global one."""

    def __init__(self):
        self.lock = threading.Lock()
        self.uploads: OrderedDict[str, tuple[float, dict[int, bytes]]] = OrderedDict()  # oldest first
        self.bytes = 0

    def add(self, upload_id: str, index: int, data: bytes) -> None:
        with self.lock:
            self._expire(time.monotonic() - BLOB_SECONDS)
            _, layers = self.uploads.pop(upload_id, (0.0, {}))
            self.bytes += len(data) - len(layers.get(index, b""))
            layers[index] = data
            self.uploads[upload_id] = (time.monotonic(), layers)
            while self.bytes > BLOB_BYTES:
                self._drop(next(iter(self.uploads)))

    def take(self, upload_id: str) -> list[bytes]:
        """The layers of one upload, in index order, removed from the store; [] if unknown or dropped."""
        with self.lock:
            layers = self._drop(upload_id) if upload_id in self.uploads else {}
            self._expire(time.monotonic() - BLOB_SECONDS)
        return [layers[index] for index in sorted(layers)]

    def _drop(self, upload_id: str) -> dict[int, bytes]:
        _, layers = self.uploads.pop(upload_id)
        self.bytes -= sum(len(data) for data in layers.values())
        return layers

    def _expire(self, before: float) -> None:
        while self.uploads and next(iter(self.uploads.values()))[0] < before:
            self._drop(next(iter(self.uploads)))


class SketchInput(gr.Sketchpad):
    """gr.Sketchpad that hands lenet only the stroke layers, undecoded (file paths, or the bytes the
    browser streamed): the ink is the layers' alpha, and decoding the background and the composite
    too, as gr.Sketchpad does, took a fifth of a busy server's time. Its uploads are bounded (see
    BlobStore and SketchData)."""

    data_model = SketchData

    @functools.wraps(gr.Sketchpad.__init__)  # Gradio reads the page's settings from __init__'s signature
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.blobs = BlobStore()

    @server
    def accept_blobs(self, data: AcceptBlobs) -> None:
        """The browser's upload of one image of the canvas ahead of its change event. Only the stroke
        layers are kept: the background and composite are never read."""
        fields, files = data.data, data.files
        if fields.get("type") != "layer":
            return
        try:
            index = int(fields.get("index") or 0)
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index < MAX_LAYERS:
            raise refused_upload(400, f"refused: a sketch has at most {MAX_LAYERS} layers", f"layer {str(index)[:20]}")
        if len(files) != 1 or len(files[0][1]) > LAYER_BYTES:
            raise refused_upload(413, f"refused: one layer of at most {LAYER_BYTES:,} bytes per upload", "a big blob")
        self.blobs.add(str(fields.get("id"))[:64], index, files[0][1])

    def preprocess(self, payload):
        if payload is None:
            return None
        if payload.id is not None:  # the browser sent the canvas as blobs ahead of the event
            layers = self.blobs.take(payload.id[:64])
        else:
            layers = [received_path(layer.path) for layer in payload.layers if layer is not None and layer.path]
        return Sketch(tuple(layers))

    def get_block_name(self) -> str:
        return "imageeditor"  # the browser renders it with gr.Sketchpad's own front end


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
