"""Gradio app: draw or upload a digit and see LeNet-5's top-3 guesses and what the model sees."""

from __future__ import annotations

import logging
import os

import gradio as gr
from PIL import Image

from lenet import DEFAULT_CHECKPOINT, ImageError, NoDigitError, Predictor

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
log = logging.getLogger("lenet.app")
PREVIEW_SIDE = 196  # the 28x28 input, 7x, nearest-neighbour so every pixel stays crisp
DRAW_HINT = "Draw a digit (0-9) in the box, as large as you like."
INTRO = "# ✍️ LeNet-5 digit recognizer\nDraw a digit or upload a photo of one; LeNet-5, trained on MNIST, guesses."

predictor = Predictor.from_checkpoint(DEFAULT_CHECKPOINT)
log.info("serving the bundled weights from %s", DEFAULT_CHECKPOINT)


def _predict(source) -> tuple[dict[str, float] | None, Image.Image | None, str]:
    """Any input -> (top-3 for gr.Label, enlarged model input, status line); never raises."""
    try:
        prediction = predictor.predict(source, k=3)
    except NoDigitError:
        return None, None, DRAW_HINT
    except ImageError as err:
        return None, None, f"Could not read that image: {err}"
    preview = prediction.model_input.preview.resize((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.NEAREST)
    label, probability = prediction.top[0]
    return prediction.as_dict(), preview, f"Looks like a **{label}** ({probability:.0%} sure)."


def predict_sketch(sketch: dict | None):
    """Sketchpad value -> top-3, model input, message."""
    return _predict(sketch)


def predict_image(image: str | None):
    """Uploaded, pasted or webcam image -> top-3, model input, message."""
    return _predict(image)


with gr.Blocks(title="LeNet-5 digit recognizer") as demo:
    gr.Markdown(INTRO)
    with gr.Row():
        with gr.Column():
            with gr.Tab("Draw"):
                sketchpad = gr.Sketchpad(
                    label="Draw a digit",
                    type="numpy",
                    image_mode="RGBA",
                    canvas_size=(400, 400),
                    layers=False,
                    brush=gr.Brush(default_size=22, colors=["#000000"], color_mode="fixed"),
                )
            with gr.Tab("Photo"):
                # filepath: the file reaches our decoder (size guard, EXIF, clear errors) untouched.
                photo = gr.Image(
                    label="Upload, paste or snap a digit", type="filepath", sources=["upload", "webcam", "clipboard"]
                )
        with gr.Column():
            message = gr.Markdown(DRAW_HINT)
            top3 = gr.Label(label="Top 3", num_top_classes=3)
            seen = gr.Image(label="What the model sees (28x28)", type="pil", interactive=False, height=PREVIEW_SIDE)
    outputs = [top3, seen, message]
    sketchpad.change(predict_sketch, sketchpad, outputs, api_name="predict_sketch", trigger_mode="always_last")
    photo.change(predict_image, photo, outputs, api_name="predict_image")


if __name__ == "__main__":
    # Spaces sets SYSTEM=spaces and expects 0.0.0.0; locally the app stays on localhost.
    host = "0.0.0.0" if os.environ.get("SYSTEM") == "spaces" else "127.0.0.1"
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", host))
