"""Prediction: a model loaded once, turning any digit image into its top-k labels and probabilities."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from lenet.checkpoint import load_model
from lenet.model import LeNet5
from lenet.pipeline.preprocess import ImageSource, ModelInput, preprocess

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "lenet5"


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


class Predictor:
    """Wraps a LeNet5 in eval mode; thread-safe for concurrent predictions (no state changes)."""

    def __init__(self, model: LeNet5):
        self.model = model.eval()
        self.labels = [str(i) for i in range(model.config.num_classes)]

    @classmethod
    def from_checkpoint(cls, path: str | Path = DEFAULT_CHECKPOINT) -> Predictor:
        return cls(load_model(path))

    @torch.inference_mode()
    def probabilities(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) in [0, 1] -> (N, classes) softmax probabilities."""
        return self.model(pixels).softmax(dim=1)

    def top_k(self, probabilities: torch.Tensor, k: int = 3) -> list[tuple[str, float]]:
        """(classes,) probabilities -> the k most likely (label, probability), most likely first."""
        values, indices = probabilities.topk(min(k, len(self.labels)))
        return [(self.labels[i], float(v)) for v, i in zip(values.tolist(), indices.tolist(), strict=True)]

    def predict(self, source: ImageSource, k: int = 3) -> Prediction:
        """Any image source -> Prediction. Raises ImageError or NoDigitError from preprocessing."""
        model_input = preprocess(source)
        probabilities = self.probabilities(model_input.pixels[None])[0]  # (classes,)
        return Prediction(top=self.top_k(probabilities, k), model_input=model_input)
