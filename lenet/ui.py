"""Gradio components for the app: inputs handed to lenet undecoded, previews written atomically."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import gradio as gr
from PIL import Image


class PhotoInput(gr.Image):
    """gr.Image that hands the uploaded file's path to lenet's decoder untouched: Gradio's own
    decoding would fail on a damaged or non-image file with a generic error instead of our message."""

    def preprocess(self, payload):
        return None if payload is None else payload.path

    def get_block_name(self) -> str:
        return "image"  # the browser renders it with gr.Image's own front end


class SketchInput(gr.Sketchpad):
    """gr.Sketchpad that hands lenet only the stroke layers, undecoded (file paths, or the bytes the
    browser streamed): the ink is the layers' alpha, and decoding the background and the composite
    too, as gr.Sketchpad does, took a fifth of a busy server's time."""

    def preprocess(self, payload):
        if payload is None:
            return None
        if payload.id is not None:  # the browser sent the canvas as blobs ahead of the event
            cached = self.blob_storage.pop(payload.id, None)
            layers = cached.layers if cached else []
        else:
            layers = [layer.path for layer in payload.layers or [] if layer is not None]
        return {"background": None, "layers": [layer for layer in layers if layer is not None], "composite": None}

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
                path.parent.mkdir(parents=True, exist_ok=True)
                handle, staging = tempfile.mkstemp(dir=path.parent, prefix=".seen-")
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                os.replace(staging, path)
            value = str(path)
        return super().postprocess(value)

    def get_block_name(self) -> str:
        return "image"
