"""A number's ink -> its pieces, left to right: strokes grouped into digits, and where a piece may be cut.

The ink comes from the single-digit pipeline (ink_map, digit_ink: specks, shadows and paper edges
already gone). Strokes that overlap horizontally belong together (a 4, 5 or 7 drawn in two strokes,
a broken scan); a piece wider than a digit may be several touching digits, and `cut_columns` offers
the columns where it could be cut. Which cuts are right is for the classifier to say (lenet.numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from lenet.pipeline.ink import EIGHT_CONNECTED, inked_window

MERGE_OVERLAP = 0.5  # strokes whose column ranges overlap by this share of the narrower one are one piece
DOT_FRACTION = 0.02  # strokes with less ink than this share of the heaviest are dots and specks
# Candidate cuts in a piece: the deepest valleys of its column profile, at least MIN_CUTS, and
# CUTS_PER_HEIGHT per line height of its width. Touching digits rarely meet at a valley, so the right
# cut is often a shallow one: with the piece reader trained on such parts (train/pieces.toml), 8 a
# height read 45 of 70 touching numbers where 4 read 38 (docs/numbers.md, set A).
MIN_CUTS = 10
CUTS_PER_HEIGHT = 8
SHORT = 0.45  # a piece less tall than this share of the line's median height is part of a digit, or nothing


@dataclass(frozen=True)
class Piece:
    """Strokes that belong together, one digit or several touching: their component labels and box
    ([top, left, bottom, right), work pixels)."""

    labels: tuple[int, ...]
    box: tuple[int, int, int, int]

    @property
    def width(self) -> int:
        return self.box[3] - self.box[1]


def stroke_owners(ink: np.ndarray, edge: float) -> tuple[np.ndarray, int]:
    """((H, W) int32: which stroke (connected component of ink > edge, 1..n) each inked pixel, rims
    included, belongs to, 0 where there is no ink; n)."""
    labels, count = ndimage.label(ink > edge, structure=EIGHT_CONNECTED)
    owners = np.zeros(ink.shape, np.int32)
    if count == 0:
        return owners, 0
    # A rim pixel (ink below the edge) belongs to the stroke nearest to it. Where a blob of ink, rims
    # included, holds one stroke (most digits of a spaced number), that is the blob's stroke; only
    # blobs holding several (touching digits, a 5's bar drawn apart) need the distances. All of it
    # within the box of the ink: a number fills a fraction of its image.
    box = inked_window(ink, 1)  # the box of the ink, grown by a pixel
    inked, strokes = ink[box] > 0, labels[box]
    blobs, blob_count = ndimage.label(inked, structure=EIGHT_CONNECTED)  # (h, w) 1..blob_count
    blob_of_stroke = np.zeros(count + 1, np.int64)  # (count + 1,) the blob each stroke lies in
    blob_of_stroke[strokes] = blobs  # every pixel of a stroke is in the same blob
    single = np.bincount(blob_of_stroke[1:], minlength=blob_count + 1) == 1  # (blob_count + 1,)
    stroke_of_blob = np.zeros(blob_count + 1, np.int32)  # (blob_count + 1,) a one-stroke blob's stroke
    stroke_of_blob[blob_of_stroke[1:]] = np.arange(1, count + 1)
    owned = owners[box]  # a view: (h, w)
    owned[:] = np.where(single[blobs], stroke_of_blob[blobs], 0)
    shared = inked & ~single[blobs]
    if shared.any():  # the nearest stroke, in the box of the blobs that share (it holds their strokes)
        part = inked_window(shared, 1)
        near = strokes[part]
        nearest = ndimage.distance_transform_edt(near == 0, return_distances=False, return_indices=True)
        owned[part] = np.where(shared[part], near[nearest[0], nearest[1]], owned[part])
    return owners, count


def pieces(ink: np.ndarray, owners: np.ndarray, count: int) -> list[Piece]:
    """The strokes grouped into pieces, left to right; dots and specks (DOT_FRACTION) left out."""
    weight = ndimage.sum_labels(ink, owners, index=np.arange(1, count + 1))
    boxes = ndimage.find_objects(owners, max_label=count)
    strokes = [
        (label, (rows.start, cols.start, rows.stop, cols.stop))
        for label, found in enumerate(boxes, start=1)
        if found is not None and weight[label - 1] >= DOT_FRACTION * weight.max()
        for rows, cols in [found]
    ]
    groups: list[tuple[list[int], list[int]]] = []  # (labels, [top, left, bottom, right])
    for label, (top, left, bottom, right) in sorted(strokes, key=lambda stroke: stroke[1][1]):
        for labels, box in groups:
            overlap = min(right, box[3]) - max(left, box[1])
            if overlap >= MERGE_OVERLAP * min(right - left, box[3] - box[1]):
                labels.append(label)
                box[:] = [min(top, box[0]), min(left, box[1]), max(bottom, box[2]), max(right, box[3])]
                break
        else:
            groups.append(([label], [top, left, bottom, right]))
    return _join_short(sorted((Piece(tuple(labels), tuple(box)) for labels, box in groups), key=lambda p: p.box[1]))


def _join_short(found: list[Piece]) -> list[Piece]:
    """Pieces far shorter than the line (SHORT of the median height: a 5's or 7's bar drawn apart, a
    broken stroke) are no digits: each joins the nearest piece within half the line's height of it,
    or, with none so near, is left out (a dash, a dot)."""
    if len(found) < 2:
        return found
    height = float(np.median([piece.box[2] - piece.box[0] for piece in found]))
    tall = [piece for piece in found if piece.box[2] - piece.box[0] >= SHORT * height]
    for short in (piece for piece in found if piece.box[2] - piece.box[0] < SHORT * height):
        gaps = [max(other.box[1] - short.box[3], short.box[1] - other.box[3]) for other in tall]
        if not gaps or min(gaps) > 0.5 * height:
            continue
        i = int(np.argmin(gaps))
        near = tall[i]
        box = tuple(f(a, b) for f, a, b in zip((min, min, max, max), near.box, short.box, strict=True))
        tall[i] = Piece(near.labels + short.labels, box)
    return sorted(tall, key=lambda piece: piece.box[1])


def piece_window(
    ink: np.ndarray, owners: np.ndarray, piece: Piece, left: int | None = None, right: int | None = None
) -> tuple[np.ndarray, tuple[int, int]]:
    """((h, w) float32 ink of `piece` alone, between columns left and right (default: all of it), in
    its box there grown by a blank pixel on each side the image goes on; that window's top row and
    left column). Everything made of it (normalize_strokes' digit, line_pixels' line, a level line)
    is what the whole image, blank around the piece, would give, at a fraction of the work."""
    top, box_left, bottom, box_right = piece.box
    left = box_left if left is None else max(left, box_left)
    right = box_right if right is None else min(right, box_right)
    if left >= right:
        return np.zeros((0, 0), np.float32), (top, box_left)
    height, width = ink.shape
    row, column = max(top - 1, 0), max(left - 1, 0)
    alone = np.zeros((min(bottom + 1, height) - row, min(right + 1, width) - column), np.float32)
    window = np.s_[top:bottom, left:right]  # the piece's ink lies inside its box
    labels = owners[window]  # the strokes there, the piece's and its neighbours'
    ours = np.zeros(max(0, int(labels.max(initial=0)), *piece.labels) + 1, bool)  # stroke label -> the piece's?
    ours[list(piece.labels)] = True
    alone[top - row : bottom - row, left - column : right - column] = np.where(ours[labels], ink[window], 0.0)
    return alone, (row, column)


def cut_columns(ink: np.ndarray, piece: Piece, min_width: int, height: float) -> list[int]:
    """Columns inside `piece` where a cut would cross little ink: the valleys of its (lightly smoothed)
    column profile, CUTS_PER_HEIGHT per line height of its width (at least MIN_CUTS), each at least
    `min_width` from the piece's ends and from the other cuts."""
    top, left, bottom, right = piece.box
    profile = ndimage.uniform_filter1d(ink[top:bottom, left:right].sum(0), max(1, min_width // 3))  # (width,)
    wanted = max(MIN_CUTS, math.ceil(CUTS_PER_HEIGHT * piece.width / height))
    # Where two touching digits meet, the profile dips, if not always as low as inside a thin digit:
    # the valleys (lowest within min_width / 2 either side) first, deepest first; then the rest.
    lowest = ndimage.minimum_filter1d(profile, 2 * (min_width // 2) + 1, mode="nearest")
    valleys = profile <= lowest
    order = sorted(range(len(profile)), key=lambda column: (not valleys[column], profile[column]))
    chosen: list[int] = []
    for column in order:
        if column < min_width or column > len(profile) - min_width:
            continue
        if all(abs(column - other) >= min_width for other in chosen):
            chosen.append(int(column))
            if len(chosen) == wanted:
                break
    return sorted(left + column for column in chosen)
