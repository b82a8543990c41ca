"""ONNX export: the model with the pipeline's fixed-shape tail (centre by mass, 8-bit levels) as one graph.

The graph is what the browser edition runs in onnxruntime-web and what anyone can run in onnxruntime:
- input `digit`: (N, 1, 28, 28) float32, a digit's ink in [0, 1] fitted into 20x20 (lenet.pipeline
  up to normalize_strokes), anywhere on the canvas; an MNIST image is a valid input too;
- outputs `logits` and `probabilities`: (N, 10) float32; `levels`: (N, 28, 28) uint8, what the
  model saw (the digit centred by mass and quantised, lenet.pipeline.place).
Exported by torch.onnx's dynamo exporter (needs the `onnx` and `onnxscript` packages, not needed to
run the app) at opset OPSET, the weights inside the file, the batch size free.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from torch import nn

from lenet.model import LeNet5
from lenet.pipeline.place import SIZE, center_by_mass, quantize

OPSET = 18  # onnxruntime-web 1.30 runs opset 18 on its wasm backend; so does every onnxruntime since 1.14
INPUT_NAMES = ["digit"]
OUTPUT_NAMES = ["logits", "probabilities", "levels"]


class ExportError(RuntimeError):
    """The exporter's packages are missing."""


class PlacedLeNet5(nn.Module):
    """LeNet5 behind the pipeline's last steps: a fitted digit -> (logits, probabilities, levels)."""

    def __init__(self, model: LeNet5):
        super().__init__()
        self.model = model.eval()

    def forward(self, digit: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        levels = center_by_mass(quantize(digit))  # (N, 1, 28, 28) in 0..255
        logits = self.model(levels / 255)  # (N, 10)
        return logits, logits.softmax(dim=1), levels[:, 0].to(torch.uint8)


@contextlib.contextmanager
def _as_export_error():
    """The exporter's failures as one ExportError line (its own message is pages of graph dumps)."""
    try:
        yield
    except Exception as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
        raise ExportError(f"torch.onnx could not export the model: {first}") from err


def export_onnx(model: LeNet5, out: str | Path) -> Path:
    """Write `model` with the pipeline's tail as a self-contained ONNX file at `out`; returns its path."""
    try:
        import onnxscript  # noqa: F401  (the dynamo exporter needs it; say so before it fails deep inside)
    except ImportError:
        raise ExportError(
            'exporting to ONNX needs the onnx and onnxscript packages: pip install "onnxscript>=0.5"'
        ) from None
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"{out.name} is a folder: give the ONNX file's name (e.g. model.onnx)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file where a folder is asked for, or no permission
        raise ExportError(f"cannot make the folder for {out.name}: {err.strerror}") from None
    example = torch.zeros(2, 1, SIZE, SIZE)
    with torch.no_grad(), _as_export_error():
        program = torch.onnx.export(
            PlacedLeNet5(model).eval(),
            (example,),
            dynamo=True,
            opset_version=OPSET,
            input_names=INPUT_NAMES,
            output_names=OUTPUT_NAMES,
            dynamic_shapes={"digit": {0: torch.export.Dim("batch", min=1, max=4096)}},
            verbose=False,
        )
    # The exporter notes each node's Python stack trace and module path: the builder's folders (a home
    # folder, a user name) in a public file, and a different file from each checkout. Not kept.
    for node in program.model.graph.all_nodes():
        node.metadata_props.clear()
    program.save(str(out), external_data=False)  # one file: the weights are 250 KB
    return out
