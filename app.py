"""Gradio app: draw, upload or snap a digit and see LeNet-5's top-3 guesses and what the model sees."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import signal
from pathlib import Path

import anyio
import gradio as gr
from gradio.utils import get_upload_folder
from PIL import Image
from starlette.middleware import Middleware

from lenet import DEFAULT_CHECKPOINT, ImageError, NoDigitError
from lenet.corrections import Correction, CorrectionsError
from lenet.hub import bound_hub_waits, load_serving_model, serving_pin
from lenet.hub.corrections import open_corrections
from lenet.pipeline.decode import NOTHING_THERE, decode
from lenet.predict import load_readers
from lenet.serving.fetch import INLINE_BYTES
from lenet.serving.guard import (
    CallerEchoes,
    RequestGuard,
    UploadBudget,
    endpoint_table,
    sender,
    stream_waiting,
    sweeping_lifespan,
)
from lenet.serving.pad import ANSWERED, DrawingPad
from lenet.serving.pool import WorkerError, make_predictor
from lenet.serving.tools import answer, description
from lenet.serving.ui import EXAMPLES, DigitChoice, PhotoInput, PreviewImage, digit_cards, received_folders

# Gradio recomputes a pandas summary of its last 10,000 events after every event (for its monitoring
# page), which costs 3 ms of the server's one Python thread at 100 events and 18 ms at 10,000: once
# every 1,000 events is plenty. Read when the queue is created.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
for _handler in logging.getLogger().handlers:  # a caller's request is not copied into the log
    _handler.addFilter(CallerEchoes())
log = logging.getLogger("lenet.app")
PREVIEW_SIDE = 196  # the 28x28 input, 7x, nearest-neighbour so every pixel stays crisp
MAX_FILE_BYTES = 10 * 1024 * 1024  # uploads above this are refused by the server before they reach the model
# Predictions run at once, one per worker process; the rest wait in the queue. 2 = the cores of a free
# Space (see bench.load).
CONCURRENCY = int(os.environ.get("LENET_CONCURRENCY", "2"))
QUEUE_SIZE = 64
# Gradio keeps each visitor's page state (15-30 KB) for this many visitors, 10,000 by default; the
# app adds a few short strings, so a few hundred bound the memory (every API call is a new visitor).
SESSIONS = 500
# Uploads and previews older than this are deleted (checked as often), so a busy Space's disk stays bounded.
CACHE_SECONDS = int(os.environ.get("LENET_CACHE_SECONDS", "3600"))
# What uploads may leave on disk until they are deleted (2 x CACHE_SECONDS at most): a photo, paste or
# snapshot is one upload of at most MAX_FILE_BYTES, so a person makes a few a minute; a school behind
# one address, a few dozen.
UPLOADS_PER_MINUTE = int(os.environ.get("LENET_UPLOADS_PER_MINUTE", "60"))  # from one address (load tests raise it)
UPLOAD_BYTES_PER_SENDER = 500 * 1024 * 1024  # from one address, while its uploads are kept
UPLOAD_BYTES_IN_ALL = 5 * 1024 * 1024 * 1024  # from everyone together, while their uploads are kept
# Whether a proxy in front appends each client's address to X-Forwarded-For: a Space's does
# (SYSTEM=spaces); elsewhere only when LENET_TRUST_PROXY=1 says so.
TRUST_PROXY = os.environ.get("LENET_TRUST_PROXY", "1" if os.environ.get("SYSTEM") == "spaces" else "0") == "1"


def launch_options() -> dict:
    """demo.launch()'s settings, fresh each call (Gradio edits app_kwargs in place): the limits above,
    and lenet.serving.guard around Gradio's server: request bodies and uploads bounded before they are
    read, no request naming a server file it did not upload or an endpoint the app does not have, the
    folders of expired uploads removed."""
    uploads = UploadBudget(UPLOADS_PER_MINUTE, UPLOAD_BYTES_PER_SENDER, UPLOAD_BYTES_IN_ALL, window=2 * CACHE_SECONDS)
    guard = Middleware(
        RequestGuard,
        folders=received_folders,
        upload_bytes=MAX_FILE_BYTES,
        tools=[tool.__name__ for tool in TOOLS],
        uploads=uploads,
        trust_proxy=TRUST_PROXY,
        # Read at the first call, when every event is in place (bench/noop_app.py adds one after import).
        endpoints=functools.cache(lambda: endpoint_table(demo.fns, demo.get_api_info()["named_endpoints"])),
        streams=lambda path, query: stream_waiting(demo._queue, path, query),
    )
    return {
        "css": CSS,
        "js": PAGE_JS,
        "max_file_size": MAX_FILE_BYTES,
        "state_session_capacity": SESSIONS,
        # Agents connect at /gradio_api/mcp/ (streamable HTTP); GRADIO_MCP_SERVER=False turns it off.
        "mcp_server": os.environ.get("GRADIO_MCP_SERVER", "True").lower() != "false",
        "app_kwargs": {"middleware": [guard], "lifespan": sweeping_lifespan(get_upload_folder, every=CACHE_SECONDS)},
    }


DRAW_HINT = "Draw a digit (0-9) in the box, as large as you like, or pick a photo."
# A drawing with this share of its strokes or more left out beside the digit read: a number drawn
# on the one-digit pad ("10" leaves out 0.31, "714" 0.59; an underline or a frame, none).
SEVERAL = 0.15
SEVERAL_NOTE = "Only one digit is read here: for a number, use the **Number** tab."
NUMBER_HINT = "Write a number (1 to 10 digits) in the box, or pick a photo of one."
DIGITS = [str(digit) for digit in range(10)]
PER_VISITOR = 20  # corrections one visit may send (lenet/corrections.py bounds everyone's together)
KEPT = (
    "Saving is your choice, for this answer only. **Save this correction** keeps: the 28x28 image the "
    "model saw, your picture reduced to at most 256 px, the digit you pick, the model's top 3, which "
    "model answered, and the time. Nothing about you (no name, account, address or device). They may "
    "be published as a dataset to train the next model."
)
INTRO = (
    "# ✍️ LeNet-5 digit recognizer\n"
    "Draw a digit with the mouse or a finger, or upload, paste or snap a photo of one. "
    "[LeNet-5](https://yann.lecun.com/exdb/publis/pdf/lecun-01a.pdf), trained on MNIST, shows its top 3 guesses "
    "and the 28x28 image it actually sees. A whole number? Write it in the **Number** tab."
)
CSS = """
/* The drawing pads are their own boxes: no padding around them, so they span the column on a phone. */
:is(#sketchpad, #numberpad) .html-container { padding: 0; }
/* The Number tab's digits: cards that wrap on a phone, each input crisp above its top 3. */
#number-digits .digit-cards { display: flex; flex-wrap: wrap; gap: 12px; }
#number-digits figure { margin: 0; }
#number-digits img { image-rendering: pixelated; border-radius: 4px; display: block; }
#number-digits ol { list-style: none; margin: 4px 0 0; padding: 0; font-variant-numeric: tabular-nums; }
/* An answer to a drawing still in progress is dimmed (lenet/serving/pad.js), words and all: the
   first stroke of a 4 is not a 1 for certain. */
html[data-lenet-pad="provisional"] :is(#top3, #seen, #message, #number, #number-boxes, #number-digits) {
  opacity: 0.35; transition: opacity 0.1s;
}
"""
# Run once when the page loads. Answers are announced to screen readers as they arrive (a status
# region each), and each example photo gets a name to be read out (Gradio's example buttons hold
# only a thumbnail without alt text); examples render when their tab is first shown, hence watching.
PAGE_JS = r"""() => {
  const name = () => {
    for (const id of ["message", "number"]) {
      const element = document.getElementById(id);
      if (element && !element.hasAttribute("aria-live")) {
        element.setAttribute("role", "status");
        element.setAttribute("aria-live", "polite");
      }
    }
    for (const button of document.querySelectorAll("button.gallery-item:not([aria-label])")) {
      const source = button.querySelector("img")?.getAttribute("src") || "";
      const file = decodeURIComponent(source.split(/[?#]/)[0].split("/").pop() || "");
      if (file) button.setAttribute("aria-label", "Example: " + file.replace(/\.\w+$/, "").replace(/[-_]/g, " "));
    }
  };
  name();
  new MutationObserver(name).observe(document.body, { childList: true, subtree: true });
}"""

# LENET_REPO_ID (+ LENET_REVISION, a commit sha), or the Space's model-pin.json, serves weights from
# the Hub; without either, or when they cannot be loaded, the bundled ones. A Hub that does not answer
# is a Hub that cannot be reached, after seconds, not a start that never ends.
bound_hub_waits()
model, serving = load_serving_model(*serving_pin(), bundled=DEFAULT_CHECKPOINT)
log.info(serving)
# Predictions run in CONCURRENCY worker processes (lenet/serving/pool.py): Gradio's request handling
# and the image pipeline then use different cores instead of taking turns under one GIL, and a crash
# or hang on one image costs that answer, not the app. Where processes cannot start, in this one.
# Numbers are cut into digits with the bundled piece reader (train/pieces.toml; without it, with the
# model); runs of touching digits are counted, and every number read again whole, by the bundled line
# reader (train/lines.toml).
pieces, lines = load_readers()
predictor = make_predictor(model, workers=CONCURRENCY, pieces=pieces, lines=lines)
# Corrections go to LENET_FEEDBACK_DIR (a Hub-loadable dataset folder); with LENET_FEEDBACK_REPO set (and
# HF_TOKEN able to write to it), a CommitScheduler pushes them there in batches. LENET_FEEDBACK_DIR=""
# turns saving off.
corrections = open_corrections(
    os.environ.get("LENET_FEEDBACK_DIR", "corrections"), os.environ.get("LENET_FEEDBACK_REPO")
)


def a_digit(label: str) -> str:
    """A digit in bold with its article, as it is read aloud: a **7**, an **8**."""
    return f"{'an' if label == '8' else 'a'} **{label}**"


def no_answer(err: NoDigitError, source, hint: str, drawn: bool) -> str:
    """The status line when no digit was found: the hint for nothing given and for a blank pad; for a
    picture without one, or a drawing that is none (a dot, a blot, ink that is no number), why, then
    the hint."""
    reason = str(err)
    if source is None or (drawn and reason in NOTHING_THERE):  # a pad with nothing on it: its hint says enough
        return hint
    return f"🔍 {reason[:1].upper()}{reason[1:]}. {hint}"


def _predict(source, drawn: bool = False) -> tuple[dict[str, float] | None, Image.Image | None, str]:
    """Any input (`drawn`: from the pad) -> (top-3 for gr.Label, enlarged model input, status line);
    never raises."""
    try:
        prediction = predictor.predict(source, k=3)
    except NoDigitError as err:
        return None, None, no_answer(err, source, DRAW_HINT, drawn)
    except ImageError as err:
        return None, None, f"⚠️ Could not read that file: {err}"
    except WorkerError as err:
        return None, None, f"⚠️ Sorry, no answer this time: {err}"
    preview = prediction.model_input.preview.resize((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.NEAREST)
    label, probability = prediction.top[0]
    message = f"Looks like {a_digit(label)} ({probability:.0%} sure)."
    if drawn and prediction.model_input.beside >= SEVERAL:
        message += " " + SEVERAL_NOTE
    return prediction.as_dict(), preview, message


def save_correction(
    drawing: bytes | None,
    image: str | None,
    answered: str,
    right: str | None,
    sent: int,
    saved_before: list[str],
    request: gr.Request,
):
    """The answer shown was wrong: keep the picture, what the model saw, the right digit and the
    model's answer (lenet/corrections.py), when the visitor presses Save. The picture is the one the
    answer shown was about (`answered`: "draw" or "photo", set after each answer); -> (message,
    corrections sent, fingerprints of the pictures this visit saved: each picture is saved once)."""
    source = drawing if answered == "draw" else Path(image) if answered == "photo" and image is not None else None
    if corrections is None:
        return "Saving corrections is turned off on this app.", sent, saved_before
    if source is None:
        return "Draw or pick a digit first, then say which digit it is.", sent, saved_before
    fingerprint = hashlib.sha256(source if isinstance(source, bytes) else str(source).encode()).hexdigest()
    if fingerprint in saved_before:
        return "This one is saved already: thank you.", sent, saved_before
    if right is None or right not in DIGITS:
        return "Pick the right digit (0-9) first.", sent, saved_before
    if sent >= PER_VISITOR:
        return f"Thank you! One visit can send {PER_VISITOR} corrections; that is all for now.", sent, saved_before
    try:
        prediction = predictor.predict(source, k=3)
        picture = decode(source).as_seen()
        correction = Correction(
            prediction.model_input.levels, picture, int(right), prediction.top, serving.repo_id, serving.revision
        )
        corrections.save(correction, sender=sender(request, TRUST_PROXY))
    except (ImageError, NoDigitError, WorkerError, CorrectionsError) as err:
        return f"⚠️ Not saved: {err}", sent, saved_before
    except OSError as err:  # the disk: full, or not writable
        log.warning("could not save a correction: %s", err)
        return "⚠️ Not saved: the app could not write it (its disk).", sent, saved_before
    return (
        f"✅ Saved as {a_digit(right)}. Thank you: it will help train the next model.",
        sent + 1,
        [*saved_before, fingerprint],
    )


def _read_number(source, drawn: bool = False) -> tuple[str, tuple | None, str]:
    """Any input (`drawn`: from the pad) -> (status line, the input with each digit's box for
    gr.AnnotatedImage, each digit's 28x28 input with its top 3 as HTML); never raises."""
    try:
        reading = predictor.read_number(source, k=3)
    except NoDigitError as err:
        return no_answer(err, source, NUMBER_HINT, drawn), None, ""
    except ImageError as err:
        return f"⚠️ Could not read that file: {err}", None, ""
    except WorkerError as err:
        return f"⚠️ Sorry, no answer this time: {err}", None, ""
    # Shown on the picture the pipeline worked on (upright, at most 512 px; ink dark on white for a
    # drawing): decoded again here, within the pipeline's limits, and the boxes scaled to it.
    picture = decode(source)
    shown = picture.as_seen()
    boxes = [(picture.from_source(digit.box), f"{digit.top[0][0]} ({digit.top[0][1]:.0%})") for digit in reading.digits]
    return f"### Reads **{reading.number}** ({reading.confidence:.0%} sure)", (shown, boxes), digit_cards(reading)


def read_number_sketch(drawing: bytes | None):
    """A number written on the wide pad (PNG bytes; None when blank) -> message, boxes, digits."""
    return _read_number(drawing, drawn=True)


def read_number_photo(image: str | None):
    """An uploaded image of a handwritten number (a file path) -> the number, each digit's box and top 3."""
    return _read_number(Path(image) if image is not None else None)


def predict_sketch(drawing: bytes | None):
    """The pad's drawing (PNG bytes; None when blank) -> top-3, model input, message."""
    return _predict(drawing, drawn=True)


def predict_image(image: str | None):
    """Uploaded, pasted or webcam image (a file path) -> top-3, model input, message."""
    if image is not None:
        image = Path(image)
    return _predict(image)


def answer_in_view(answered_input: str, in_view: str, drawing: bytes | None, image: str | None):
    """After an answer to `answered_input` ("draw" or "photo") is shown: where that input's tab is in
    view, the answer stands, and a correction is about it from now on (its pick and "Saved" line
    cleared); where the other tab is (a photo read after the Draw tab was shown, or a slow read
    finishing after a quick switch), that tab's input is read again. -> top 3, preview, message,
    answered input, pick, saved line."""
    if answered_input == in_view:
        return gr.skip(), gr.skip(), gr.skip(), answered_input, None, ""
    return *(predict_sketch(drawing) if in_view == "draw" else predict_image(image)), in_view, None, ""


def number_left(changed: str, drawing: bytes | None, image: str | None):
    """After the Number tab's pad ("pad") or photo ("photo") changed: where it is now empty and the
    other holds a picture, the other's reading (the answer shown is always about an input on the
    page); otherwise nothing changes."""
    if changed == "pad" and drawing is None and image is not None:
        return read_number_photo(image)
    if changed == "photo" and image is None and drawing is not None:
        return read_number_sketch(drawing)
    return gr.skip(), gr.skip(), gr.skip()


# ---- Tools for agents (MCP) and API callers: the only endpoints listed in the API docs and as MCP
# tools; their docstrings are the tools' descriptions. The page's own endpoints below are undocumented:
# still callable (gradio_client), but their outputs are made for the page, not for a program.
IMAGE_ARG = (
    "the image, as a public http(s) URL or as a data: URL with base64 content (data:image/png;base64,...); "
    f"PNG, JPEG, WebP, GIF, BMP or TIFF, at most {MAX_FILE_BYTES // 2**20} MB by URL and {INLINE_BYTES // 2**20} MB "
    "as a data: URL. Files on the server are not opened."
)


async def read_digit(image: str) -> str:
    """Read one handwritten digit (0-9) from an image: a drawing, scan or photo of a single digit. For a
    number of several digits, use read_number.

    Args:
        image: {IMAGE_ARG}

    Returns:
        A JSON object with the 3 most likely digits, most likely first:
        {"predictions": [{"label": "7", "probability": 0.98}, ...]}; or {"error": "why"} when the image
        cannot be had or read, or shows no digit.
    """
    return await answer(
        lambda data: predictor.predict(data, k=3).as_json(), image, MAX_FILE_BYTES, tool_slots, fetch_slots
    )


async def read_number(image: str) -> str:
    """Read a handwritten number of 1 to 10 digits (a year, a price, a house number) from an image,
    left to right, digits spaced or touching. For a single digit, read_digit is more accurate.

    Args:
        image: {IMAGE_ARG}

    Returns:
        A JSON object: {"number": "2026", "confidence": 0.93, "digits": [{"box": [x0, y0, x1, y1],
        "predictions": [{"label": "2", "probability": 0.98}, ...]}, ...]}, each digit's box in the
        image's pixels and its 3 most likely readings; or {"error": "why"} when the image cannot be had
        or read, or shows no digit.
    """
    return await answer(
        lambda data: predictor.read_number(data, k=3).as_dict(), image, MAX_FILE_BYTES, tool_slots, fetch_slots
    )


TOOLS = (read_digit, read_number)
# The tools' own bounds, whether called over MCP or HTTP: at most this many readings at once, waiting
# for the workers beside the page's, and FETCHES images by URL being fetched at once (each up to
# MAX_FILE_BYTES); the rest wait briefly, then get {"error": "the app is busy ..."}.
FETCHES = 4
tool_slots, fetch_slots = anyio.Semaphore(CONCURRENCY), anyio.Semaphore(FETCHES)
# The shared text goes in once; Gradio reads the docstrings when the app is built.
for _tool in TOOLS:
    _tool.__doc__ = _tool.__doc__.replace("{IMAGE_ARG}", IMAGE_ARG)


with gr.Blocks(title="LeNet-5 digit recognizer", delete_cache=(CACHE_SECONDS, CACHE_SECONDS)) as demo:
    gr.Markdown(INTRO)
    with gr.Tab("One digit"), gr.Row(equal_height=False):
        with gr.Column():
            with gr.Tab("Draw") as draw_tab:
                sketchpad = DrawingPad(elem_id="sketchpad")
            with gr.Tab("Photo") as photo_tab:
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
                buttons=["download"],  # not "share", which works on Spaces alone and fails elsewhere
                alt_text="The 28x28 image the model reads, enlarged",
            )
            # Per visitor, on the server: which input the answer shown is about ("draw" or "photo"),
            # how many corrections were sent, and fingerprints of the pictures saved (at most PER_VISITOR).
            answered, sent, saved_pictures = gr.State(""), gr.State(0), gr.State([])
            in_view = gr.State("draw")  # the tab in view, "draw" or "photo": the answer shown is its input's
            with gr.Accordion("Wrong? Tell it the right digit", open=False, elem_id="correct"):
                gr.Markdown(KEPT)
                right = DigitChoice(DIGITS, label="The right digit", elem_id="right-digit")
                save = gr.Button("Save this correction", elem_id="save-correction", size="sm")
                saved = gr.Markdown("", elem_id="saved")
    with gr.Tab("Number"):
        # The answer right under the pad, where the eye is; a photo below, as the other way in.
        numberpad = DrawingPad(width=900, height=300, hint="Write a number here", elem_id="numberpad")
        number = gr.Markdown(NUMBER_HINT, elem_id="number")
        with gr.Row(equal_height=False):
            # Each box's label in the legend below the picture (hovering one there shows its box).
            boxes = gr.AnnotatedImage(label="Where each digit is", elem_id="number-boxes")
            with gr.Column():
                gr.Markdown("**Each digit: what the model sees, and its top 3**")
                digits = gr.HTML("", elem_id="number-digits")
        number_photo = PhotoInput(
            label="Or upload, paste or snap a number",
            elem_id="number-photo",
            type="filepath",
            sources=["upload", "webcam", "clipboard"],
            height=240,
        )
    number_outputs = [number, boxes, digits]
    outputs = [top3, seen, message]
    # All endpoints share one pool of CONCURRENCY workers (one concurrency_id), not a pool each.
    events = {"trigger_mode": "always_last", "concurrency_id": "predict", "api_visibility": "undocumented"}
    drawn = sketchpad.drawn(predict_sketch, sketchpad, outputs, api_name="predict_sketch", **events)
    drawn.then(None, js=ANSWERED)
    photographed = photo.change(predict_image, photo, outputs, api_name="predict_image", **events)
    # The Draw and Photo tabs share the answer: on showing one, its own input is read again, so that
    # the answer (and a correction) is never about the picture of the tab just left; and an answer
    # that comes in for the tab not in view (a photo uploaded, or a slow read, finishing after the
    # switch) is followed by the input in view read again (answer_in_view). Which input the answer
    # is about is set once it is shown; a new answer also clears the last one's pick and "Saved" line.
    private = {**events, "api_visibility": "private"}
    after = {"queue": False, "api_visibility": "private"}
    draw_tab.select(lambda: "draw", None, in_view, **after)
    photo_tab.select(lambda: "photo", None, in_view, **after)
    drawn_shown = draw_tab.select(predict_sketch, sketchpad, outputs, **private)
    photographed_shown = photo_tab.select(predict_image, photo, outputs, **private)
    in_view_inputs, in_view_outputs = [in_view, sketchpad, photo], [*outputs, answered, right, saved]
    for event, which in (
        (drawn, "draw"),
        (drawn_shown, "draw"),
        (photographed, "photo"),
        (photographed_shown, "photo"),
    ):
        event.then(functools.partial(answer_in_view, which), in_view_inputs, in_view_outputs, **after)
    number_drawn = numberpad.drawn(
        read_number_sketch, numberpad, number_outputs, api_name="read_number_sketch", **events
    )
    number_drawn.then(None, js=ANSWERED)
    number_photographed = number_photo.change(
        read_number_photo, number_photo, number_outputs, api_name="read_number_photo", **events
    )
    # The pad and the photo share the answer: clearing one shows the other's reading, if it holds one.
    for event, changed in ((number_drawn, "pad"), (number_photographed, "photo")):
        event.then(functools.partial(number_left, changed), [numberpad, number_photo], number_outputs, **after)
    # Private: the page's own button, not an API (corrections are bounded per sender and in all).
    save_inputs = [sketchpad, photo, answered, right, sent, saved_pictures]
    save.click(save_correction, save_inputs, [saved, sent, saved_pictures], api_name="save_correction", **private)
    # The tools are bounded by their own slots (above), not by Gradio's queue: a URL is awaited on the
    # event loop (up to 10 s, holding no queue slot), then the prediction waits its turn for the same
    # worker processes. Over HTTP (/gradio_api/call/read_digit) they pass through the queue with no
    # limit of their own (concurrency_limit=None): a queue limit of 2 let two slow URLs hold every
    # other call for 10 s. Gradio's MCP server calls them in process, not over HTTP.
    for tool in TOOLS:
        gr.api(tool, api_name=tool.__name__, api_description=description(tool), queue=False, concurrency_limit=None)

# A bounded queue: past QUEUE_SIZE waiting requests (seconds of work), people are told the app is busy
# instead of waiting on a spinner for minutes.
demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_SIZE)


def stop_on_sigterm(signum, frame) -> None:
    """SIGTERM (a Space restarting, `docker stop`) ends the app as Ctrl+C does, so that its exit
    handlers run: the corrections' CommitScheduler pushes what its last batch did not take. Python's
    own SIGTERM ends the process at once, and a Space's disk goes with it."""
    raise KeyboardInterrupt  # Gradio's launch() closes the server on it and returns


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    # Spaces sets SYSTEM=spaces and expects 0.0.0.0; locally the app stays on localhost.
    host = "0.0.0.0" if os.environ.get("SYSTEM") == "spaces" else "127.0.0.1"
    # uvicorn takes X-Forwarded-For from a proxy on this machine as the client's address: through a
    # local proxy that passes the header on as the client wrote it, one caller could pass for any
    # number of senders. lenet.serving.guard.sender reads the header itself, when TRUST_PROXY says so.
    os.environ.setdefault("FORWARDED_ALLOW_IPS", "")
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", host), **launch_options())
