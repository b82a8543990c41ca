"""What a number's cuts look like, for the piece reader that scores them (lenet.numbers): MNIST training
digits run together or cut apart, labelled "not one digit", and digits with a sliver of a neighbour,
labelled as the digit. Built at MNIST's scale, 28 px tall on a CANVAS-wide canvas, for
lenet.training.data.through_pipeline to render as the number reader renders each part.
"""

from __future__ import annotations

import numpy as np
import torch

CANVAS = 84  # room for three digits side by side
KINDS = ("two", "three", "part", "sliver")
SHARES = (0.4, 0.1, 0.3, 0.2)  # of the images made, per kind


def _columns(image: np.ndarray) -> np.ndarray:
    """A (28, w) digit cropped to its inked columns."""
    inked = np.flatnonzero(image.max(0) > 0)
    return image[:, inked[0] : inked[-1] + 1] if len(inked) else image[:, :1]


def side_by_side(parts: list[np.ndarray], gaps: list[int]) -> np.ndarray:
    """uint8 (28, CANVAS): the (28, w) parts left to right, `gaps` px apart (negative: overlapping,
    where the brighter ink wins), cut at the canvas's right edge."""
    canvas = np.zeros((28, CANVAS), np.uint8)
    x = 0
    for i, part in enumerate(parts):
        width = min(part.shape[1], CANVAS - x)
        if width <= 0:
            break
        canvas[:, x : x + width] = np.maximum(canvas[:, x : x + width], part[:, :width])
        x = max(0, x + part.shape[1] + (gaps[i] if i < len(gaps) else 0))
    return canvas


def piece_images(
    images: torch.Tensor, labels: torch.Tensor, count: int, seed: int, not_one_digit: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 (count, 28, CANVAS) images, int64 (count,) labels) made from `images` (N, 28, 28):
    two or three digits run together (gaps of -4 to 2 px) and the lesser part of a digit cut at
    25-75% of its width (not 1s, whose parts are 1s), labelled `not_one_digit`; and a digit with 1-4
    px of a neighbour beside it, labelled as the digit."""
    rng = np.random.default_rng(seed)
    source, digit_labels = images.numpy(), labels.numpy()
    kinds = rng.choice(len(KINDS), size=count, p=SHARES)
    out = np.zeros((count, 28, CANVAS), np.uint8)
    out_labels = np.full(count, not_one_digit, np.int64)
    for i, kind in enumerate(kinds):
        picks = rng.integers(len(source), size=3)
        digits = [_columns(source[j]) for j in picks]
        if KINDS[kind] == "two":
            out[i] = side_by_side(digits[:2], [int(rng.integers(-4, 3))])
        elif KINDS[kind] == "three":
            out[i] = side_by_side(digits, [int(rng.integers(-3, 3)) for _ in range(2)])
        elif KINDS[kind] == "part":
            j = next((j for j in picks if digit_labels[j] != 1), picks[0])
            digit = _columns(source[j])
            cut = max(1, int(digit.shape[1] * rng.uniform(0.25, 0.75)))
            left, right = digit[:, :cut], digit[:, cut:]
            out[i] = side_by_side([left if int(left.sum()) < int(right.sum()) else right], [])  # the lesser part
        else:  # a digit with a sliver of its neighbour: still that digit
            sliver = digits[1][:, -int(rng.integers(1, 5)) :] if rng.random() < 0.5 else None
            after = digits[1][:, : int(rng.integers(1, 5))]
            parts = [sliver, digits[0]] if sliver is not None else [digits[0], after]
            out[i] = side_by_side(parts, [int(rng.integers(-1, 2))])
            out_labels[i] = digit_labels[picks[0]]
    return torch.from_numpy(out), torch.from_numpy(out_labels)
