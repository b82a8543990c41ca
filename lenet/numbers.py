"""Numbers: a handwritten number read left to right, each digit normalised and read as a single digit is.

decode -> ink_map -> digit_ink (the single-digit pipeline: specks, shadows and edges gone) -> pieces
(lenet.pipeline.segment: strokes grouped by horizontal overlap) -> each piece read as one digit by the
digit model, and the whole number by the line reader (Predictor.line_digits) -> a piece stays one digit
when it is digit-wide and the line reader reads as many digits as there are pieces and this one as the
digit model does, or else when the piece reader reads it as one digit surely enough. Otherwise it is
cut where the reading scores best: every way of cutting it at its candidate columns into digit-wide
parts is scored by the piece reader (Predictor.digit_scores: the sum over the parts of the
log-probability that each is one digit, which two digits run together or half a digit are not) and
the best-scoring reading wins. Where the line reader reads two or more digits in the piece, only
readings with that many digits count: two touching digits are seldom taken for one. Where a piece was
cut, the digits chosen are read again, by the single-digit model, as a single digit is, and by the
line reader through their centres. Each digit's probabilities are combined with the line reader's
for it (their geometric mean, renormalised): from its piece's reading for a piece the line reader
counted, else from its reading of the whole number, levelled through the digits' centres, when it
reads as many digits as were chosen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import torch

from lenet.pipeline.decode import BLANK, NoDigitError, Picture, decode
from lenet.pipeline.ink import digit_ink, ink_map
from lenet.pipeline.line import level, line_pixels
from lenet.pipeline.place import model_levels
from lenet.pipeline.preprocess import ImageSource, ModelInput
from lenet.pipeline.segment import Piece, cut_columns, piece_window, pieces, stroke_owners
from lenet.pipeline.strokes import normalize_strokes, stroke_width

if TYPE_CHECKING:
    from lenet.predict import Predictor

MIN_WIDTH = 0.12  # a digit is at least this wide, in units of the number's height (a 1)
MAX_WIDTH = 1.6  # and at most this wide (a wide 0, 4 or 5)
# A number has at most this many digits. Ink that cannot be cut into so few digit-wide parts (a long
# scribble, a line of text) is refused before the search for cuts, whose cost grows with its width;
# a reading with more digits, after it.
MAX_DIGITS = 10
# The search for cuts normalises every candidate part: about 200 for 8 touching digits, 200-450 for 10
# (bench.numbers' kinds). Ink that would need more than this many (a solid bar ten digits long took
# 13 s) is refused before the search: a few kilobytes of picture must not hold a worker for seconds.
MAX_PARTS = 1200
# Strokes at least this thick, in units of the line's height, are solid ink, not digits (mean stroke
# width: 0.11-0.25 in bench.numbers' and bench.wild's drawings and photos, 0.35 for a heavy display
# font, 0.5 for a filled disc); redrawing such parts MNIST-thin is what makes their search slow.
MAX_STROKE = 0.5
# Each digit a reading adds costs this much log-probability: a cut must earn it. Without it a digit is
# cut into parts whenever they look a little more like digits than the whole does (a wide 0 as 6 and 7).
# 0.5 rather than 1 since the piece reader learnt the parts it scores: touching numbers read 3-4
# points more on each of bench.numbers' seeds and 102 against 100 of 120 of another set, the other
# kinds the same (docs/numbers.md).
PART_COST = 0.5
SURE = math.log(0.75)  # a digit-wide piece read as one digit this surely is not searched for cuts
# The number grows from its heaviest stroke along the line: a neighbour this far (times the size of
# what is taken so far) is still part of it, where a single digit takes in strokes 0.35 away.
NUMBER_NEAR = 1.0


@dataclass(frozen=True)
class DigitReading:
    """One digit of a number: its box [x0, y0, x1, y1) in the input's pixels, its top-k, what the model saw."""

    box: tuple[int, int, int, int]
    top: list[tuple[str, float]]
    model_input: ModelInput


@dataclass(frozen=True)
class NumberReading:
    """The number's digits as a string, the reading's confidence (the product of each digit's top
    probability), and each digit."""

    number: str
    confidence: float
    digits: list[DigitReading]

    def as_dict(self) -> dict:
        """The CLI's and the API's JSON shape."""
        return {
            "number": self.number,
            "confidence": round(self.confidence, 4),
            "digits": [
                {
                    "box": list(digit.box),
                    "predictions": [{"label": label, "probability": round(p, 4)} for label, p in digit.top],
                }
                for digit in self.digits
            ],
        }


@dataclass(frozen=True)
class _Part:
    """A candidate digit: columns [left, right) of a piece, its model input, its probabilities."""

    left: int
    right: int
    model_input: ModelInput | None  # None: no ink between those columns
    box: tuple[int, int, int, int]  # [x0, y0, x1, y1) in work pixels
    line_reading: torch.Tensor | None = None  # (10,) the line reader's probabilities for this digit


@dataclass(frozen=True)
class NumberInk:
    """A number's ink and its pieces: `ink` (H, W) in work pixels, `edge` its strokes' edge level,
    `owners` (H, W) which stroke each pixel belongs to, `pieces` left to right, `height` the line's."""

    ink: np.ndarray
    edge: float
    owners: np.ndarray
    pieces: list[Piece]
    height: float

    @cached_property
    def strokes(self) -> np.ndarray:
        """The ink of all the pieces as one (piece_window's window of it): their strokes, not the dots
        and dashes left out of every piece. Made once per number (the line reader may read it twice)."""
        boxes = np.array([piece.box for piece in self.pieces])  # (pieces, 4): top, left, bottom, right
        box = (*boxes[:, :2].min(0).tolist(), *boxes[:, 2:].max(0).tolist())
        labels = tuple(label for piece in self.pieces for label in piece.labels)
        return piece_window(self.ink, self.owners, Piece(labels, box))[0]


def number_ink(picture: Picture) -> NumberInk:
    """A decoded picture of a number -> its ink, strokes and pieces. Raises NoDigitError."""
    ink, edge = digit_ink(ink_map(picture), drop_border=not picture.is_ink, near=NUMBER_NEAR)
    owners, count = stroke_owners(ink, edge)
    found = pieces(ink, owners, count)
    if not found:
        raise NoDigitError(BLANK)
    height = float(np.median([piece.box[2] - piece.box[0] for piece in found]))
    return NumberInk(ink, edge, owners, found, height)


def read_number(predictor: Predictor, source: ImageSource, k: int = 3) -> NumberReading:
    """Any image of a number -> NumberReading. Raises ImageError or NoDigitError."""
    picture = decode(source)
    line = number_ink(picture)
    fewest = sum(math.ceil(piece.width / (MAX_WIDTH * line.height)) for piece in line.pieces)
    if fewest > MAX_DIGITS:
        raise NoDigitError(
            f"no number found: this ink would make at least {fewest} digits, and a number has 1 to {MAX_DIGITS}"
        )
    if stroke_width(line.strokes > line.edge) >= MAX_STROKE * line.height:
        raise NoDigitError("no number found: this ink is solid blocks, not the strokes of digits")
    spans = [(piece, piece.box[1], piece.box[3]) for piece in line.pieces]
    wholes = zip(line.pieces, _parts(line.ink, line.owners, line.edge, spans), strict=True)
    wholes = [(piece, whole) for piece, whole in wholes if whole.model_input is not None]
    chosen = [whole for _, whole in wholes]  # each piece taken as one digit first
    probabilities, seen = _read_digits(predictor, line, chosen)
    # A piece needs no search for cuts when it is digit-wide and the line reader, reading the whole
    # number as one digit a piece, reads it as the digit model does (most spaced and tight numbers),
    # or else when the piece reader reads it as one digit surely enough.
    digit_wide = [piece.width <= MAX_WIDTH * line.height for piece, _ in wholes]
    unsettled = [
        i
        for i, (wide_enough, row, reading) in enumerate(zip(digit_wide, probabilities, seen, strict=True))
        if not wide_enough or reading is None or int(reading.argmax()) != int(row.argmax())
    ]
    if unsettled:
        scores = predictor.digit_scores(torch.stack([wholes[i][1].model_input.pixels for i in unsettled])).tolist()
        sure = {i for i, score in zip(unsettled, scores, strict=True) if digit_wide[i] and score >= SURE}
        # Where each piece searched may be cut, and the parts that makes: bounded before any is made.
        cuts = {i: cut_spans(line.ink, wholes[i][0], line.height) for i in unsettled if i not in sure}
        if sum(len(spans) for _, spans in cuts.values()) > MAX_PARTS:
            raise NoDigitError(
                f"no number found: this ink is too long or too dense to cut into 1 to {MAX_DIGITS} digits"
            )
        chosen, cut = [], False
        for i, (piece, whole) in enumerate(wholes):
            if i in cuts:
                parts = _cut_piece(predictor, line, piece, cuts[i], whole)
                cut |= len(parts) != 1 or parts[0] is not whole
                chosen += parts
            else:
                chosen.append(whole)
        if len(chosen) > MAX_DIGITS:
            raise NoDigitError(
                f"no number found: this ink reads as {len(chosen)} digits, and a number has 1 to {MAX_DIGITS}"
            )
        if cut:  # new digits: read again, and the whole number again through their centres
            probabilities, seen = _read_digits(predictor, line, chosen)
    # Each digit's probabilities and the line reader's for it (it saw the neighbours, the digit model
    # the digit alone), from the run it was cut from, else from the whole number's line: their
    # geometric mean, renormalised. The same digit wins as with their product, but the product, as if
    # the two readers erred independently, claimed 99.7% for digits 99.1% right (docs/numbers.md).
    seen = [read if part.line_reading is None else part.line_reading for part, read in zip(chosen, seen, strict=True)]
    probabilities = [
        row if reading is None else _geometric_mean(row, reading)
        for row, reading in zip(probabilities, seen, strict=True)
    ]
    digits = [
        DigitReading(
            box=picture.to_source(part.box),
            top=predictor.top_k(row, k),
            model_input=part.model_input,
        )
        for part, row in zip(chosen, probabilities, strict=True)
    ]
    confidence = math.prod(digit.top[0][1] for digit in digits)
    return NumberReading("".join(digit.top[0][0] for digit in digits), confidence, digits)


def _read_digits(predictor: Predictor, line: NumberInk, chosen: list[_Part]) -> tuple[torch.Tensor, list]:
    """The chosen digits read by the single-digit model in one batch, (len(chosen), classes), and
    the line reader's reading of the whole number for each (_number_line_reading)."""
    if not chosen:
        return torch.empty(0, len(predictor.labels)), []
    pixels = torch.stack([part.model_input.pixels for part in chosen])  # (len(chosen), 1, 28, 28)
    return predictor.probabilities(pixels), _number_line_reading(predictor, line, chosen)


def _geometric_mean(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Two readers' (classes,) probabilities -> their geometric mean, renormalised to sum to 1."""
    mean = (first * second).sqrt()
    return mean / mean.sum()


def _parts(ink, owners, edge, spans: list[tuple[Piece, int, int]]) -> list[_Part]:
    """Each (piece, left, right) span's ink normalised as a single digit is, placed in one batch."""
    fitted = []  # (the fitted digit or None for no ink, its box)
    for piece, left, right in spans:
        alone, (top, start) = piece_window(ink, owners, piece, left, right)  # (h, w) from row top, column start
        rows, cols = np.flatnonzero((alone > edge).any(1)), np.flatnonzero((alone > edge).any(0))
        try:
            digit = normalize_strokes(alone, edge) if len(rows) else None
        except NoDigitError:  # a sliver too faint to redraw: no digit, as no ink
            digit = None
        if digit is None:
            fitted.append((None, (left, 0, right, 0)))
        else:
            box = (start + int(cols[0]), top + int(rows[0]), start + int(cols[-1]) + 1, top + int(rows[-1]) + 1)
            fitted.append((digit, box))
    levels = iter(model_levels([digit for digit, _ in fitted if digit is not None]))
    return [
        _Part(left, right, ModelInput(next(levels)) if digit is not None else None, box)
        for (_, left, right), (digit, box) in zip(spans, fitted, strict=True)
    ]


def cut_spans(ink: np.ndarray, piece: Piece, height: float) -> tuple[list[int], list[tuple[int, int]]]:
    """(the piece's candidate columns, left end and right end included; the (i, j) indices of every
    pair of them at most a digit apart): where a piece may be cut, and the parts that makes."""
    _, left, _, right = piece.box
    columns = [left, *cut_columns(ink, piece, max(1, int(MIN_WIDTH * height)), height), right]
    spans = [
        (i, j)
        for i in range(len(columns))
        for j in range(i + 1, len(columns))
        if columns[j] - columns[i] <= MAX_WIDTH * height
    ]
    return columns, spans


def candidate_parts(
    ink: np.ndarray,
    owners: np.ndarray,
    edge: float,
    piece: Piece,
    height: float,
    cuts: tuple[list[int], list[tuple[int, int]]] | None = None,
) -> tuple[list[int], dict[tuple[int, int], _Part]]:
    """(the piece's candidate columns, left end and right end included; every digit-wide part between
    two of them, keyed by their indices): what a piece's readings are made of. `cuts`: cut_spans'
    answer, if already known. The piece reader's training data (lenet.training.pieces.number_parts)
    is made by this same function."""
    columns, spans = cuts or cut_spans(ink, piece, height)
    parts = _parts(ink, owners, edge, [(piece, columns[i], columns[j]) for i, j in spans])
    return columns, dict(zip(spans, parts, strict=True))


def _cut_piece(
    predictor: Predictor, line: NumberInk, piece: Piece, cuts: tuple[list[int], list[tuple[int, int]]], whole: _Part
) -> list[_Part]:
    """The best way of cutting a piece into digits at its `cuts` (cut_spans; as many digits as the
    line reader reads in it, when it reads two or more), or the piece `whole` as one digit if none is better."""
    # Every part between two of the candidate columns that is digit-wide, read in one batch.
    columns, parts = candidate_parts(line.ink, line.owners, line.edge, piece, line.height, cuts)
    readable = [span for span in parts if parts[span].model_input is not None]
    if not readable:
        return [whole]
    batch = torch.stack([parts[span].model_input.pixels for span in readable])  # (N, 1, 28, 28)
    scores = dict(zip(readable, predictor.digit_scores(batch).tolist(), strict=True))
    read = _line_reading(predictor, line, piece)
    if len(read) >= 2 and (spans := _best_cuts(len(columns), parts, scores, count=len(read))):
        return [replace(parts[span], line_reading=digit) for span, digit in zip(spans, read, strict=True)]
    spans = _best_cuts(len(columns), parts, scores)
    return [parts[span] for span in spans] if spans else [whole]  # none: one wide digit


def _number_line_reading(predictor: Predictor, line: NumberInk, chosen: list[_Part]) -> list[torch.Tensor | None]:
    """The line reader's reading of the whole number, levelled through the chosen digits' centres:
    one (10,) per chosen digit when it reads as many as were chosen, else (or for a single digit,
    which reads as predict reads it) None for each."""
    if predictor.lines is None or len(chosen) < 2:
        return [None] * len(chosen)
    centres = [((x0 + x1) / 2, (y0 + y1) / 2) for x0, y0, x1, y1 in (part.box for part in chosen)]
    pixels = line_pixels(level(line.strokes, centres))
    read = predictor.line_digits(pixels) if pixels is not None else []
    return read if len(read) == len(chosen) else [None] * len(chosen)


def _line_reading(predictor: Predictor, line: NumberInk, piece: Piece) -> list[torch.Tensor]:
    """The digits the line reader reads in the piece's ink, each as (10,) probabilities; [] without one."""
    if predictor.lines is None:
        return []
    pixels = line_pixels(piece_window(line.ink, line.owners, piece)[0])
    return predictor.line_digits(pixels) if pixels is not None else []


def _best_cuts(
    ends: int, parts: dict[tuple[int, int], _Part], scores: dict[tuple[int, int], float], count: int | None = None
) -> list[tuple[int, int]] | None:
    """The best-scoring reading of a piece cut at `ends` candidate columns (with `count` digits, when
    given): its parts as (i, j) column indices, or None if there is none."""
    # best[j][n]: the best reading of columns 0..j with n digits, (score, parts): the best over i of
    # (the best reading up to i) + the part i..j; a part with no ink adds nothing (a gap between digits).
    best: list[dict[int, tuple[float, list[tuple[int, int]]]]] = [{0: (0.0, [])}] + [{} for _ in range(ends - 1)]
    for j in range(1, ends):
        for i in range(j):
            if (i, j) not in parts:
                continue
            for digits, (score, path) in best[i].items():
                if (i, j) in scores:
                    digits, score, path = digits + 1, score + scores[(i, j)] - PART_COST, [*path, (i, j)]
                if (count is None or digits <= count) and (digits not in best[j] or score > best[j][digits][0]):
                    best[j][digits] = (score, path)
    readings = best[ends - 1]
    if count is not None:
        return readings[count][1] if count in readings else None
    return max(readings.values(), key=lambda reading: reading[0])[1] if readings else None
