"""What a number's cuts look like, for the piece reader that scores them (lenet.numbers), from MNIST
training digits only:
- piece_images: digits run together or cut apart, labelled "not one digit", and digits with a sliver
  of a neighbour, labelled as the digit; 28 px tall on a CANVAS-wide canvas, for
  lenet.training.data.through_pipeline to render as the number reader renders each part;
- number_parts: synthetic handwritten numbers (touching, tight or spaced; digits as MNIST has them,
  redrawn with an even pen, bolder or thinner), cut by lenet.numbers.candidate_parts exactly as the
  reader cuts them, each candidate part labelled by whose ink it holds.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from scipy import ndimage

import lenet.numbers
import lenet.pipeline.segment
from lenet.numbers import candidate_parts, number_ink
from lenet.pipeline.decode import NoDigitError, Sketch, decode
from lenet.pipeline.strokes import thin
from lenet.training.data import cached_tensors, on_all_cores, pipeline_version

CANVAS = 84  # room for three digits side by side
KINDS = ("two", "three", "part", "sliver")
SHARES = (0.4, 0.1, 0.3, 0.2)  # of the images made, per kind

# Synthetic numbers (number_parts): digits DIGIT_HEIGHT px tall (bench.numbers' scale), 2 to 8 of them,
# gaps in MNIST pixels (x 3) drawn from touching (-4 to -1), tight (0 to 2) or spaced (4 to 12).
DIGIT_HEIGHT = 84
GAPS = ((-4, -1), (0, 2), (4, 12))
GAP_SHARES = (0.55, 0.3, 0.15)
NUMBERS_PER_JOB = 100  # numbers made per job (one seed each): the same parts on any number of cores
# A part is one digit when it holds ONE_DIGIT of that digit's ink and the others' ink in it is at most
# SLIVER of that; "not one digit" when it holds under HALF of every digit's ink, or two digits' ink
# of which the lesser is MIXED or more of the greater. Parts in between are left out, not guessed.
ONE_DIGIT, SLIVER, HALF, MIXED = 0.85, 0.15, 0.6, 0.3


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


def styled_digit(digit: np.ndarray, height: int, rng: np.random.Generator) -> np.ndarray:
    """A (28, 28) uint8 MNIST digit -> float ink (height, w) in [0, 1]: enlarged as it is (35%), redrawn
    along its skeleton with an even round pen 4-12% of its height wide, as pens and mice draw (40%),
    bolder (15%) or thinner (10%)."""
    image = Image.fromarray(digit)
    image = image.crop(image.getbbox())
    width = max(1, round(image.width * height / image.height))
    ink = np.asarray(image.resize((width, height), Image.Resampling.BICUBIC), np.float32) / 255
    style = rng.random()
    if style < 0.4:
        radius = height * rng.uniform(0.02, 0.06)
        ink = (ndimage.distance_transform_edt(~thin(ink > 0.5)) <= radius).astype(np.float32)
        ink = ndimage.gaussian_filter(ink, 0.7)  # anti-aliased edges
    elif style < 0.55:
        ink = ndimage.grey_dilation(ink, size=(int(rng.integers(2, 6)),) * 2)
    elif style < 0.65:
        ink = ndimage.grey_erosion(ink, size=(int(rng.integers(2, 4)),) * 2)
    return np.clip(ink, 0.0, 1.0)


def line_of_digits(
    digits: list[np.ndarray], spaces: list[int], height: int, margin: int, wave: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(float ink (H, W), uint8 (H, W) which digit's ink is strongest at each pixel): the (h, w) digit
    inks, at most `height` tall, left to right `spaces` px apart (negative: overlapping, their ink
    merged), each centred on a line `height` tall and moved down by up to `wave` px (a wavy baseline),
    with `margin` px around."""
    width = 2 * margin + sum(digit.shape[1] for digit in digits) + sum(spaces)
    layers = np.zeros((len(digits), height + 2 * margin + wave, max(width, 1)), np.float32)
    x = margin
    for i, digit in enumerate(digits):
        y = margin + int(rng.integers(0, wave)) + (height - digit.shape[0]) // 2
        layers[i, y : y + digit.shape[0], x : x + digit.shape[1]] = digit
        x += digit.shape[1] + (spaces[i] if i < len(spaces) else 0)
    return layers.max(0), layers.argmax(0).astype(np.uint8)


def synthetic_number(
    images: np.ndarray, labels: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(float ink (H, W) of a 2- to 8-digit number made of `images` (N, 28, 28), uint8 (H, W): which
    digit's ink is strongest at each pixel, the digits' labels left to right)."""
    length = int(rng.integers(2, 9))
    gaps = GAPS[rng.choice(len(GAPS), p=GAP_SHARES)]
    picks = rng.integers(len(images), size=length)
    digits = [styled_digit(images[i], int(DIGIT_HEIGHT * rng.uniform(0.88, 1.0)), rng) for i in picks]
    spaces = [round(rng.uniform(*gaps) * DIGIT_HEIGHT / 28) for _ in range(length - 1)]
    ink, owner = line_of_digits(digits, spaces, DIGIT_HEIGHT, DIGIT_HEIGHT // 4, DIGIT_HEIGHT // 7, rng)
    return ink, owner, [int(labels[i]) for i in picks]


def labelled_parts(ink: np.ndarray, owner: np.ndarray, digits: list[int], not_one_digit: int) -> list[tuple]:
    """[(uint8 (28, 28) model input, label)] for every candidate part the number reader would score
    in this drawing (ink on a transparent canvas), labelled by whose ink it holds (ONE_DIGIT, ...)."""
    alpha = (ink * 255).astype(np.uint8)
    picture = decode(Sketch((np.dstack([np.zeros((*alpha.shape, 3), np.uint8), alpha]),)))
    try:
        line = number_ink(picture)
    except NoDigitError:
        return []
    # Whose ink each work pixel is: the owner map reduced as decode reduced the drawing.
    whose = np.asarray(Image.fromarray(owner).resize(picture.image.size, Image.Resampling.NEAREST))
    totals = np.bincount(whose.ravel(), weights=line.ink.ravel(), minlength=len(digits))[: len(digits)]
    made = []
    for piece in line.pieces:
        columns, parts = candidate_parts(line.ink, line.owners, line.edge, piece, line.height)
        in_piece = np.isin(line.owners, piece.labels)
        for (i, j), part in parts.items():
            if part.model_input is None:
                continue
            inside = np.zeros_like(in_piece)
            inside[:, columns[i] : columns[j]] = in_piece[:, columns[i] : columns[j]]
            held = np.bincount(whose[inside], weights=line.ink[inside], minlength=len(digits))[: len(digits)]
            share = held / np.maximum(totals, 1e-6)
            best = int(np.argmax(share))
            others = held.sum() - held[best]
            if share[best] >= ONE_DIGIT and others <= SLIVER * held[best]:
                made.append((part.model_input.levels, digits[best]))
            elif share[best] < HALF or others >= MIXED * held[best]:
                made.append((part.model_input.levels, not_one_digit))
    return made


def _parts_job(job: tuple) -> tuple[np.ndarray, np.ndarray]:
    images, labels, seed, count, not_one_digit = job
    torch.set_num_threads(1)  # one process per core does the parallel work
    rng = np.random.default_rng(seed)
    made = [
        part for _ in range(count) for part in labelled_parts(*synthetic_number(images, labels, rng), not_one_digit)
    ]
    if not made:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.int64)
    return np.stack([levels for levels, _ in made]), np.array([label for _, label in made], np.int64)


def number_parts(
    images: torch.Tensor, labels: torch.Tensor, count: int, seed: int, not_one_digit: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 (M, 28, 28) model inputs, int64 (M,) labels): the labelled candidate parts of `count`
    synthetic numbers made from `images` (N, 28, 28) and `labels`, about 70 parts a number, 5 in 6
    of them "not one digit". Minutes of work for thousands of numbers: run on all cores."""
    jobs = []
    for job in range(-(-count // NUMBERS_PER_JOB)):
        # Each job gets its own draw of digits (8 a number), not all of MNIST to copy to its process.
        drawn = np.random.default_rng([seed, job, 0]).integers(len(images), size=8 * NUMBERS_PER_JOB)
        numbers = min(NUMBERS_PER_JOB, count - job * NUMBERS_PER_JOB)
        jobs.append((images.numpy()[drawn], labels.numpy()[drawn], [seed, job], numbers, not_one_digit))
    done = on_all_cores(_parts_job, jobs)
    parts, part_labels = np.concatenate([d[0] for d in done]), np.concatenate([d[1] for d in done])
    return torch.from_numpy(parts), torch.from_numpy(part_labels)


def cached_number_parts(
    images: torch.Tensor, labels: torch.Tensor, count: int, seed: int, not_one_digit: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """number_parts, made once for these digits, count, seed and code (the pipeline, lenet.numbers,
    lenet.pipeline.segment and this module), then read back (lenet.training.data.cached_tensors)."""
    code = hashlib.sha256(pipeline_version().encode())
    for module in (lenet.numbers, lenet.pipeline.segment):
        code.update(Path(module.__file__).read_bytes())
    code.update(Path(__file__).read_bytes())
    code.update(images.numpy().tobytes())

    def make() -> dict[str, torch.Tensor]:
        parts, part_labels = number_parts(images, labels, count, seed, not_one_digit)
        return {"images": parts, "labels": part_labels}

    def well_formed(tensors: dict[str, torch.Tensor]) -> bool:
        parts, part_labels = tensors.get("images"), tensors.get("labels")
        return (
            parts is not None
            and part_labels is not None
            and parts.dtype == torch.uint8
            and parts.shape[1:] == (28, 28)
            and part_labels.dtype == torch.int64
            and part_labels.shape == (len(parts),)
            and bool(((part_labels >= 0) & (part_labels <= not_one_digit)).all())
        )

    made = cached_tensors(f"number-parts-{count}-seed{seed}-{code.hexdigest()[:12]}", make, valid=well_formed)
    return made["images"], made["labels"]
