"""The image pipeline, part of the model's contract: any image -> the 28x28 input LeNet-5 was trained on.

decode (any source -> an upright, size-bounded image) -> ink (lighting, polarity and specks undone)
-> strokes (stroke width, 20x20 fit, centre of mass) -> preprocess (the whole path, one function).
"""

from lenet.pipeline.decode import ImageError, ImageSource, NoDigitError, Sketch
from lenet.pipeline.preprocess import ModelInput, preprocess

__all__ = ["ImageError", "ImageSource", "ModelInput", "NoDigitError", "Sketch", "preprocess"]
