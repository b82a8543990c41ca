"""Gradio app: draw, upload or snap a digit and see LeNet-5's top-3 guesses and what the model sees."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
from pathlib import Path

import gradio as gr
import torch
from PIL import Image

from lenet import DEFAULT_CHECKPOINT, ImageError, NoDigitError, Predictor
from lenet.hub import load_serving_model, serving_pin

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
log = logging.getLogger("lenet.app")
EXAMPLES = Path(__file__).resolve().parent / "examples"
PREVIEW_SIDE = 196  # the 28x28 input, 7x, nearest-neighbour so every pixel stays crisp
MAX_FILE_SIZE = "10mb"  # uploads above this are refused by the server before they reach the model
CONCURRENCY = 2  # predictions run at once: one per CPU core of a free Space; the rest wait in the queue
# Uploads and previews older than this are deleted (checked as often), so a busy Space's disk stays bounded.
CACHE_SECONDS = int(os.environ.get("LENET_CACHE_SECONDS", "3600"))
DRAW_HINT = "Draw a digit (0-9) in the box, as large as you like, or pick a photo."
INTRO = (
    "# ✍️ LeNet-5 digit recognizer\n"
    "Draw a digit with the mouse or a finger, or upload, paste or snap a photo of one. "
    "[LeNet-5](https://yann.lecun.com/exdb/publis/pdf/lecun-01a.pdf), trained on MNIST, shows its top 3 guesses "
    "and the 28x28 image it actually sees."
)
# The Sketchpad starts with no tool selected, and clearing it deselects the tool again; it then asks
# to "select the draw tool to start". Select the brush whenever that happens, so drawing just works.
SELECT_BRUSH = """() => {
  const hintShown = (root) => [...root.querySelectorAll('*')].some(
    (e) => e.children.length === 0 && e.textContent.trim().toLowerCase() === 'select the draw tool to start');
  setInterval(() => {
    const pad = document.querySelector('#sketchpad');
    const brush = pad?.querySelector('button[aria-label="Brush"]');
    if (brush && hintShown(pad)) brush.click();
  }, 250);
}"""

# LENET_REPO_ID (+ LENET_REVISION, a commit sha), or the Space's model-pin.json, serves weights from
# the Hub; without either, or when they cannot be loaded, the bundled ones.
model, serving = load_serving_model(*serving_pin(), bundled=DEFAULT_CHECKPOINT)
predictor = Predictor(model)
# CONCURRENCY predictions share the cores: one torch thread pool each, sized so they do not fight.
torch.set_num_threads(max(1, (os.cpu_count() or 1) // CONCURRENCY))
log.info(serving)


class PhotoInput(gr.Image):
    """gr.Image that hands the uploaded file's path to lenet's decoder untouched: Gradio's own
    decoding would fail on a damaged or non-image file with a generic error instead of our message."""

    def preprocess(self, payload):
        return None if payload is None else payload.path

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
                path.parent.mkdir(parents=True, exist_ok=True)
                handle, staging = tempfile.mkstemp(dir=path.parent, prefix=".seen-")
                with os.fdopen(handle, "wb") as file:
                    file.write(data)
                os.replace(staging, path)
            value = str(path)
        return super().postprocess(value)

    def get_block_name(self) -> str:
        return "image"


def _predict(source) -> tuple[dict[str, float] | None, Image.Image | None, str]:
    """Any input -> (top-3 for gr.Label, enlarged model input, status line); never raises."""
    try:
        prediction = predictor.predict(source, k=3)
    except NoDigitError:
        return None, None, DRAW_HINT
    except ImageError as err:
        return None, None, f"⚠️ Could not read that file: {err}"
    preview = prediction.model_input.preview.resize((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.NEAREST)
    label, probability = prediction.top[0]
    return prediction.as_dict(), preview, f"Looks like a **{label}** ({probability:.0%} sure)."


def predict_sketch(sketch: dict | None):
    """Sketchpad value -> top-3, model input, message."""
    return _predict(sketch)


def predict_image(image: str | None):
    """Uploaded, pasted or webcam image (a file path) -> top-3, model input, message."""
    if image is not None:
        image = Path(image)
    return _predict(image)


with gr.Blocks(title="LeNet-5 digit recognizer", delete_cache=(CACHE_SECONDS, CACHE_SECONDS)) as demo:
    gr.Markdown(INTRO)
    with gr.Row(equal_height=False):
        with gr.Column():
            with gr.Tab("Draw"):
                sketchpad = gr.Sketchpad(
                    label="Draw a digit",
                    elem_id="sketchpad",
                    type="numpy",
                    image_mode="RGBA",
                    canvas_size=(400, 400),
                    fixed_canvas=True,
                    layers=False,
                    # A mid blue reads on the light theme's white canvas and on the dark theme's grey.
                    brush=gr.Brush(default_size=22, colors=["#2563eb"], color_mode="fixed"),
                )
            with gr.Tab("Photo"):
                photo = PhotoInput(
                    label="Upload, paste or snap a digit",
                    elem_id="photo",
                    type="filepath",
                    sources=["upload", "webcam", "clipboard"],
                )
                gr.Examples(
                    examples=sorted(str(p) for p in EXAMPLES.glob("*.*") if p.suffix in (".png", ".jpg")),
                    inputs=photo,
                    label="Examples: drawn and photographed digits",
                    examples_per_page=12,
                )
        with gr.Column():
            message = gr.Markdown(DRAW_HINT, elem_id="message")
            top3 = gr.Label(label="Top 3", num_top_classes=3, elem_id="top3")
            seen = PreviewImage(
                label="What the model sees (28x28)",
                elem_id="seen",
                type="pil",
                interactive=False,
                height=PREVIEW_SIDE + 60,  # room for the label above the image
            )
    outputs = [top3, seen, message]
    sketchpad.change(predict_sketch, sketchpad, outputs, api_name="predict_sketch", trigger_mode="always_last")
    photo.change(predict_image, photo, outputs, api_name="predict_image", trigger_mode="always_last")
    demo.load(None, js=SELECT_BRUSH)
demo.queue(default_concurrency_limit=CONCURRENCY)


if __name__ == "__main__":
    # Spaces sets SYSTEM=spaces and expects 0.0.0.0; locally the app stays on localhost.
    host = "0.0.0.0" if os.environ.get("SYSTEM") == "spaces" else "127.0.0.1"
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", host), max_file_size=MAX_FILE_SIZE)
