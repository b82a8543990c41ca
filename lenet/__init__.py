"""LeNet-5 on MNIST: the model, its data, training, preprocessing, prediction and Hub I/O."""

from lenet.model import CheckpointError, LeNet5, load_model
from lenet.predict import DEFAULT_CHECKPOINT, Prediction, Predictor
from lenet.preprocess import ImageError, ModelInput, NoDigitError, preprocess

__all__ = [
    "DEFAULT_CHECKPOINT",
    "CheckpointError",
    "ImageError",
    "LeNet5",
    "ModelInput",
    "NoDigitError",
    "Prediction",
    "Predictor",
    "load_model",
    "preprocess",
]
