"""LeNet-5 on MNIST: the model, its data, training, preprocessing, prediction and Hub I/O."""

from lenet.checkpoint import CheckpointError, load_model
from lenet.model import LeNet5, LeNetConfig
from lenet.numbers import DigitReading, NumberReading
from lenet.pipeline.preprocess import ImageError, ImageSource, ModelInput, NoDigitError, Sketch, preprocess
from lenet.predict import DEFAULT_CHECKPOINT, Prediction, Predictor

__all__ = [
    "DEFAULT_CHECKPOINT",
    "CheckpointError",
    "DigitReading",
    "ImageError",
    "ImageSource",
    "LeNet5",
    "LeNetConfig",
    "ModelInput",
    "NoDigitError",
    "NumberReading",
    "Prediction",
    "Predictor",
    "Sketch",
    "load_model",
    "preprocess",
]
