"""LeNet-5 on MNIST: the model, its data, training, preprocessing, prediction and Hub I/O."""

from lenet.checkpoint import CheckpointError, load_model
from lenet.model import LeNet5, LeNetConfig
from lenet.pipeline.preprocess import ImageError, ModelInput, NoDigitError, preprocess
from lenet.predict import DEFAULT_CHECKPOINT, Prediction, Predictor

__all__ = [
    "DEFAULT_CHECKPOINT",
    "CheckpointError",
    "ImageError",
    "LeNet5",
    "LeNetConfig",
    "ModelInput",
    "NoDigitError",
    "Prediction",
    "Predictor",
    "load_model",
    "preprocess",
]
