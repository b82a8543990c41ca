"""Prediction: a model loaded once, turning any digit image into its top-k labels and probabilities."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from lenet.checkpoint import CheckpointError, load_digit_model, load_model
from lenet.model import LeNet5, best_path
from lenet.pipeline.preprocess import ImageSource, ModelInput, preprocess

if TYPE_CHECKING:
    from lenet.numbers import NumberReading

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "lenet5"
DIGIT_CLASSES = 10  # a digit classifier's classes; the piece reader adds an 11th, "not one digit"
DEFAULT_PIECES = DEFAULT_CHECKPOINT.parent / "lenet5-pieces"  # the piece reader (train/pieces.toml)
DEFAULT_LINES = DEFAULT_CHECKPOINT.parent / "lenet5-lines"  # the line reader (train/lines.toml)


def load_readers(
    pieces: str | Path | None = DEFAULT_PIECES, lines: str | Path | None = DEFAULT_LINES
) -> tuple[LeNet5 | None, LeNet5 | None]:
    """The piece and line readers that numbers are read with, each from its folder: the bundled ones
    where that is not there (an installed package without them), any other only if it exists."""
    readers = []
    for folder, bundled in ((pieces, DEFAULT_PIECES), (lines, DEFAULT_LINES)):
        if folder and not Path(folder).is_dir() and Path(folder) != Path(bundled):
            raise CheckpointError(f"{Path(folder).name}: no such checkpoint folder")
        readers.append(load_model(folder) if folder and Path(folder).is_dir() else None)
    return tuple(readers)


def checked_k(k: int) -> int:
    """`k`, the number of top guesses asked for, if it is a whole number of at least 1; else ValueError."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k, the number of guesses to return, must be a whole number of at least 1, not {k!r}")
    return k


@dataclass(frozen=True)
class Prediction:
    """The top-k (label, probability) pairs, most likely first, and what the model saw."""

    top: list[tuple[str, float]]
    model_input: ModelInput

    @property
    def label(self) -> str:
        return self.top[0][0]

    def as_dict(self) -> dict[str, float]:
        """{label: probability}: the shape gr.Label takes."""
        return dict(self.top)

    def as_json(self) -> dict:
        """The CLI's and the API's JSON shape: {"predictions": [{"label": "7", "probability": 0.98}, ...]}."""
        return {"predictions": [{"label": label, "probability": round(p, 4)} for label, p in self.top]}


class Predictor:
    """Wraps a LeNet5 in eval mode, and optionally the readers that numbers need: the piece reader
    that scores how to cut a number into digits (an 11-class LeNet5: the digits and "not one digit",
    train/pieces.toml) and the line reader that counts a run of touching digits and reads each number
    whole as a second opinion (train/lines.toml); thread-safe for concurrent predictions (no state
    changes)."""

    def __init__(self, model: LeNet5, pieces: LeNet5 | None = None, lines: LeNet5 | None = None):
        if model.config.line_hidden:
            raise ValueError("the model is a line reader (train/lines.toml), not a digit classifier")
        self.model = model.eval()
        self.labels = [str(i) for i in range(model.config.num_classes)]
        if pieces is not None and (pieces.config.line_hidden or pieces.config.num_classes != DIGIT_CLASSES + 1):
            raise ValueError(
                f'the piece reader must be a LeNet5 with {DIGIT_CLASSES + 1} classes, the digits and "not one '
                'digit" (train/pieces.toml)'
            )
        self.pieces = pieces.eval() if pieces is not None else None
        if lines is not None and not lines.config.line_hidden:
            raise ValueError("the line reader must be a LeNet5 with line_hidden > 0 (train/lines.toml)")
        self.lines = lines.eval() if lines is not None else None

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path = DEFAULT_CHECKPOINT,
        pieces: str | Path | None = DEFAULT_PIECES,
        lines: str | Path | None = DEFAULT_LINES,
    ) -> Predictor:
        """The digit classifier in `path`; the piece and line readers in `pieces` and `lines` (None:
        without; the bundled ones where they are not installed; any other folder must exist)."""
        model = load_digit_model(path)
        if model.config.num_classes != DIGIT_CLASSES:  # the piece reader's 11th class, "not one digit", is no answer
            raise CheckpointError(
                f"{Path(path).name} has {model.config.num_classes} classes (the piece reader, which numbers use, "
                "has 11): not a digit classifier"
            )
        return cls(model, *load_readers(pieces, lines))

    @torch.inference_mode()
    def digit_scores(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) candidate digits -> (N,) log-probability that each is one digit, its best
        one: by the piece reader, which also knows "not one digit"; else by the model itself."""
        if self.pieces is None:
            return self.model(pixels).log_softmax(dim=1).amax(dim=1)
        return self.pieces(pixels).log_softmax(dim=1)[:, :-1].amax(dim=1)  # the last class: not one digit

    @torch.inference_mode()
    def line_digits(self, pixels: torch.Tensor) -> list[torch.Tensor]:
        """(1, 28, W) a run of digits (lenet.pipeline.line) -> the digits the line reader reads in it,
        left to right, each as (10,) probabilities: its best path's (CTC: repeated classes merged,
        blanks dropped), each digit's probabilities the most any of its columns gives, renormalised."""
        probabilities = self.lines(pixels[None])[0].softmax(-1)  # (T, 11), the last class the blank
        blank = probabilities.shape[-1] - 1
        digits = [probabilities[first:last, :blank].amax(0) for _, first, last in best_path(probabilities)]
        return [digit / digit.sum() for digit in digits]

    @torch.inference_mode()
    def probabilities(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) in [0, 1] -> (N, classes) softmax probabilities."""
        return self.model(pixels).softmax(dim=1)

    def top_k(self, probabilities: torch.Tensor, k: int = 3) -> list[tuple[str, float]]:
        """(classes,) probabilities -> the k most likely (label, probability), most likely first."""
        values, indices = probabilities.topk(min(k, len(self.labels)))
        return [(self.labels[i], float(v)) for v, i in zip(values.tolist(), indices.tolist(), strict=True)]

    def read_number(self, source: ImageSource, k: int = 3) -> NumberReading:
        """An image of a number (1 to 10 digits) -> NumberReading: the digits left to right, a
        confidence, and per digit its box in the input's pixels, its top-k and its 28x28 input."""
        from lenet.numbers import read_number  # lenet.numbers reads with this class's methods

        return read_number(self, source, checked_k(k))

    def predict(self, source: ImageSource, k: int = 3) -> Prediction:
        """Any image source -> Prediction. Raises ImageError or NoDigitError from preprocessing."""
        checked_k(k)
        model_input = preprocess(source)
        probabilities = self.probabilities(model_input.pixels[None])[0]  # (classes,)
        return Prediction(top=self.top_k(probabilities, k), model_input=model_input)
