"""The browser edition: a static site from web/, the app's drawing pad, onnxruntime-web and the model as ONNX.

The site is plain files (index.html and what it loads, all from its own folder): any static host
serves it, a free static Space included, and once loaded it works offline. Its preprocessing is
web/preprocess.js (mirroring lenet.pipeline up to the fitted digit) and the ONNX graph (lenet.export:
the pipeline's fixed-shape tail and the model); contract.js hands the page the Python constants.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from lenet.checkpoint import load_model, read_metrics
from lenet.export import export_onnx
from lenet.hub.pull import PROJECT_ROOT
from lenet.pipeline import decode, ink, place, strokes

WEB_DIR = "web"  # the site's sources, relative to the project root
PAGE_FILES = ("index.html", "style.css", "boot.js", "page.js", "lenet.js", "preprocess.js")
PAD_FILES = ("pad.js", "pad.css")  # the drawing pad, shared with the Gradio app (lenet/serving)
RUNTIME_DIR = "node_modules/onnxruntime-web/dist"  # inside web/, installed by `npm ci` from package-lock.json
# onnxruntime-web's wasm build: its ES module, the module that loads the wasm, and the wasm (SIMD; one
# thread needs no cross-origin isolation). Served from the site's own ort/ folder.
RUNTIME_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MODEL_FILE = "model.onnx"
BUILD_MARKS = ("index.html", "contract.js", MODEL_FILE)  # a folder holding these is an earlier build, replaced
MAX_FILE_BYTES = 50 * 1024 * 1024  # the page refuses larger files before decoding them (the tab's memory)


class WebError(RuntimeError):
    """The site cannot be built: the runtime is not installed and npm is missing, or the output is not ours."""


def contract(checkpoint: str | Path, app_url: str | None) -> dict:
    """What preprocess.js and lenet.js take from Python: the pipeline's constants, the labels, the model."""
    model = load_model(checkpoint)
    metrics = read_metrics(checkpoint) or {}
    return {
        "WORK_SIDE": decode.WORK_SIDE,
        "OPAQUE": decode.OPAQUE,
        "MAX_PIXELS": decode.MAX_PIXELS,
        "MAX_FILE_BYTES": MAX_FILE_BYTES,
        "BACKGROUND_SIDE": ink.BACKGROUND_SIDE,
        "BACKGROUND_KERNEL": ink.BACKGROUND_KERNEL,
        "POLARITY_SIDE": ink.POLARITY_SIDE,
        "POLARITY_WINDOW": ink.POLARITY_WINDOW,
        "MIN_CONTRAST": ink.MIN_CONTRAST,
        "SPECK_FRACTION": ink.SPECK_FRACTION,
        "LABEL_SIDE": ink.LABEL_SIDE,
        "NEAR": ink.NEAR,
        "RULE_ASPECT": ink.RULE_ASPECT,
        "RULE_LENGTH": ink.RULE_LENGTH,
        "PAGE_AREA": ink.PAGE_AREA,
        "PAGE_SPAN": ink.PAGE_SPAN,
        "PAGE_INK": ink.PAGE_INK,
        "PAGE_THINNER": ink.PAGE_THINNER,
        "PAGE_SQUARE": ink.PAGE_SQUARE,
        "FRAME_HELD": ink.FRAME_HELD,
        "FRAME_RIM": ink.FRAME_RIM,
        "FRAME_JOINED": ink.FRAME_JOINED,
        "FRAME_CONTACT": ink.FRAME_CONTACT,
        "FRAME_SPAN": ink.FRAME_SPAN,
        "UNDERLINE_ASPECT": ink.UNDERLINE_ASPECT,
        "LINE_SPAN": ink.LINE_SPAN,
        "LINE_TILT": ink.LINE_TILT,
        "LINE_STEP": ink.LINE_STEP,
        "LINE_SIDE": ink.LINE_SIDE,
        "LINE_BAND": ink.LINE_BAND,
        "LINE_GLANCE": ink.LINE_GLANCE,
        "FINE": strokes.FINE,
        "MIN_WIDTH": strokes.MIN_WIDTH,
        "MAX_WIDTH": strokes.MAX_WIDTH,
        "BLOT": strokes.BLOT,
        "BLOTTED": strokes.BLOTTED,
        "BOX": place.BOX,
        "SIZE": place.SIZE,
        "LABELS": [str(i) for i in range(model.config.num_classes)],
        "MODEL": {
            "variant": model.config.variant,
            "parameters": model.num_parameters(),
            "test_accuracy": metrics.get("test_accuracy"),
        },
        "APP_URL": app_url,
        "MODEL_FILE": MODEL_FILE,
        "RUNTIME_FILES": [f"ort/{name}" for name in RUNTIME_FILES],
    }


def runtime_folder(root: Path) -> Path:
    """onnxruntime-web's dist folder in web/node_modules, installed with `npm ci` (the versions
    package-lock.json pins, from the npm registry) if it is not there yet."""
    folder = root / WEB_DIR / RUNTIME_DIR
    if all((folder / name).is_file() for name in RUNTIME_FILES):
        return folder
    npm = shutil.which("npm")
    if npm is None:
        raise WebError("onnxruntime-web is not installed and npm is missing: install Node.js, then `npm ci` in web/")
    command = [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"]
    done = subprocess.run(command, cwd=root / WEB_DIR, capture_output=True, text=True)
    if done.returncode != 0 or not all((folder / name).is_file() for name in RUNTIME_FILES):
        raise WebError(f"`npm ci` in web/ could not install onnxruntime-web: {done.stderr.strip()[-500:]}")
    return folder


def site_files(checkpoint: str | Path, app_url: str | None = None, root: str | Path = PROJECT_ROOT) -> dict[str, bytes]:
    """{path in the site: content}: the page, the pad, the runtime under ort/, the model and the contract."""
    root = Path(root)
    if not (root / WEB_DIR / "index.html").is_file():
        raise WebError(f"no {WEB_DIR}/index.html: build-web runs from the project's checkout")
    files = {name: (root / WEB_DIR / name).read_bytes() for name in PAGE_FILES}
    files |= {name: (root / "lenet" / "serving" / name).read_bytes() for name in PAD_FILES}
    runtime = runtime_folder(root)
    files |= {f"ort/{name}": (runtime / name).read_bytes() for name in RUNTIME_FILES}
    with tempfile.TemporaryDirectory(prefix="lenet-onnx-") as scratch:
        files[MODEL_FILE] = export_onnx(load_model(checkpoint), Path(scratch) / MODEL_FILE).read_bytes()
    files["contract.js"] = (
        "// Written by `python -m lenet build-web` from the Python modules: do not edit.\n"
        f"export default {json.dumps(contract(checkpoint, app_url), indent=2)};\n"
    ).encode()
    return files


def build_site(
    checkpoint: str | Path, out: str | Path, app_url: str | None = None, root: str | Path = PROJECT_ROOT
) -> dict[str, int]:
    """Write the site to `out` (a new folder, or one an earlier build wrote, which is replaced only once
    the new one is complete); returns {path: bytes} of what it wrote."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise WebError(f"{out} is a file: give a folder for the site")
    earlier = out.exists() and any(out.iterdir())
    if earlier and not all((out / name).is_file() for name in BUILD_MARKS):
        raise WebError(f"{out} is not empty and holds no earlier build: give a new folder")
    files = site_files(checkpoint, app_url, root)
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    for path, content in files.items():
        (partial / path).parent.mkdir(parents=True, exist_ok=True)
        (partial / path).write_bytes(content)
    if out.exists():
        shutil.rmtree(out)
    partial.rename(out)
    return {path: len(content) for path, content in files.items()}
