"""Where the ink is: a page's surround, lighting, colour cast and polarity undone; specks, edges, printing dropped."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from lenet.pipeline.decode import BLANK, NoDigitError, Picture
from lenet.pipeline.strokes import dilate, stroke_width

BACKGROUND_SIDE = 128  # the paper's lighting is estimated on an image this size: it varies slowly
BACKGROUND_KERNEL = 15  # pixels at that size: wider than any stroke, narrower than a shadow's sweep
POLARITY_SIDE = 16  # the paper's level, for telling dark ink from light, is a median on a copy this size
POLARITY_WINDOW = 11  # over windows this wide: most of the picture, yet it follows a shadow's edge
MIN_CONTRAST = 0.12  # ink must differ from the paper by this much (of the full range) to count
SPECK_FRACTION = 0.03  # components smaller than this share of the digit's ink are specks
LABEL_SIDE = 160  # components are found on a copy this size: strokes 3 px apart at 512 px join
NEAR = 0.35  # strokes farther than this (of the digit's size) from the digit are something else
# A component this many times longer than it is thick, and this many times longer than the digit's
# biggest stroke is tall or wide, is a printed line (ruled paper, a margin, a form), not a stroke.
RULE_ASPECT, RULE_LENGTH = 8, 1.5
# A component around others that hold this share of its ink, with none of it over them, is a frame
# (a circle drawn round the digit, a form's box), however much ink it holds: the digit is inside.
FRAME_HELD = 0.15
# A frame the digit touches is one component with it: its rim, the pixels within FRAME_RIM stroke
# widths of the paper outside, is a frame when the ink it encloses weighs FRAME_JOINED of its own (a
# digit, not the tail of a 0's stroke curling inside it: 0.16-0.29 in MNIST's 0s, 6s and 8s), touches
# the rim along under FRAME_CONTACT of its inner edge, and spans under FRAME_SPAN of what the rim
# encloses, each way (joined_frame).
FRAME_RIM, FRAME_JOINED, FRAME_CONTACT, FRAME_SPAN = 1.5, 0.4, 0.25, 0.9
UNDERLINE_ASPECT = 3  # a component under the digit, this many times wider than tall, underlines it
# A straight line across LINE_SPAN of the picture, within LINE_TILT (a slope: 11.3 degrees) of level or
# plumb, is printed (a notebook's ruling or margin, a grid), and may run through the digit. Lines are
# sought at slopes LINE_STEP apart, on a copy at most LINE_SIDE a side. A page is often photographed a
# few degrees askew: at 0.08 (4.6 degrees), ruled pages 8 degrees askew read 53% right, at 0.2 86%,
# and 89% once a line leaving through the top or bottom counted (python -m bench.paper --turn 8; plain 99%).
LINE_SPAN, LINE_TILT, LINE_STEP, LINE_SIDE = 0.8, 0.2, 0.01, 256
LINE_BAND = 5  # a found line is at most this many pixels of that copy thick (3, and slopes' drift)
LINE_GLANCE = 64  # lines are first looked for on a copy at most this size: most photos have none
# A page photographed with a surround of another shade (a screen in its bezel, light or dark mode; a
# sheet on a desk): a region of one shade on the copy the paper's lighting is estimated on, not
# touching the picture's border, covering PAGE_AREA of the picture or more, and holding ink of the
# other shade that spans PAGE_SPAN of its height or width and covers at most PAGE_INK of it, in
# strokes: its paper is more than PAGE_THINNER times as deep (steps from outside it) as the ink's
# heaviest stroke. Inverted, white strokes on black (MNIST as it is) may make a "page" whose "ink",
# a loop's hole, is a blob, deeper than the strokes around it. A page is four-sided: it fills
# PAGE_SQUARE of the smallest rectangle around it, at any angle (an ellipse, a thick white 0 whose
# hole is a slit, fills 0.79). Outside the page nothing is ink: the surround is no part of the digit.
PAGE_AREA, PAGE_SPAN, PAGE_INK, PAGE_THINNER, PAGE_SQUARE = 0.1, 0.15, 0.25, 1.5, 0.9
EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)  # scipy.ndimage.label's structure: diagonal neighbours join


def ink_map(picture: Picture) -> np.ndarray:
    """(H, W) float32 in [0, 1] where 1 is ink, whatever the mode, transparency, polarity or lighting."""
    image = picture.image
    if picture.is_ink:
        # Strokes on a transparent canvas (decode kept their alpha): the ink is where paint is.
        # Ignoring colour keeps a theme's background (dark or light) from leaking into the digit.
        return np.asarray(image, dtype=np.float32) / 255.0
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = torch.from_numpy(np.array(image, dtype=np.float32))  # a copy: torch warns of a read-only view
        low, high = array.min(), array.max()
        rgb = ((array - low) / (high - low) if high > low else torch.zeros_like(array))[None]  # (1, H, W)
    else:
        # Contiguous (3, H, W), transposed while still bytes (a third of the time of transposing
        # floats): every per-channel step below runs several times faster than on a view.
        planes = np.ascontiguousarray(np.asarray(image.convert("RGB")).transpose(2, 0, 1))
        if not planes.flags.writeable:  # a 1-pixel picture is contiguous as it is: Pillow's read-only view
            planes = planes.copy()
        rgb = torch.from_numpy(planes).float().div_(255.0)
    gray = _mean_filter3(rgb.mean(0))  # (H, W), without single-pixel noise
    page = photographed_page(gray)
    if page is not None:
        # A page with a surround: its own shade tells the ink's, whatever the surround's. (The
        # median around a screen in a dark room is the room: the screen lies far above it, and
        # would be taken for light ink; a dark screen in a lit room, for dark ink.)
        if page.light_ink:
            rgb = 1.0 - rgb
    elif _light_ink(gray):
        rgb = 1.0 - rgb  # light ink on a dark ground (chalkboard, inverted MNIST): make the ink dark
    flat = rgb / _paper_brightness(rgb)  # (C, H, W): paper -> 1 everywhere, whatever the light and cast
    ink = (1.0 - flat.amin(0)).clamp(0.0, 1.0).numpy()  # the darkest channel: a blue or red pen counts
    if page is not None:
        ink[~page.mask] = 0.0  # the surround, and the page's edge: a screen's bezel, a desk
    return ink


def _light_ink(gray: torch.Tensor) -> bool:
    """Whether the ink is lighter than its paper: the paper covers most of each part of the picture,
    so the median around a pixel is paper, and the ink is the farther extreme from it."""
    deviation = gray - _nearby_paper(gray)
    return float(deviation.max()) > -float(deviation.min())


@dataclass(frozen=True)
class Page:
    """A page photographed with its surround: `mask`, (H, W) bool, the page less its edge; `light_ink`:
    the page is dark and its ink light (a screen in dark mode)."""

    mask: np.ndarray
    light_ink: bool


def photographed_page(gray: torch.Tensor) -> Page | None:
    """(H, W) grey levels -> the page the digit is on, where the photo shows a page with a surround
    of another shade (PAGE_AREA's comment says what counts); None where it shows none (most photos:
    the paper runs off every side).

    Sought on a copy BACKGROUND_SIDE a side, split into light and dark pixels at Otsu's threshold:
    a light page first, then a dark one; for each, the largest 4-connected regions of its shade
    first, each with all it encloses."""
    height, width = gray.shape
    small = _area_copy(gray[None, None], BACKGROUND_SIDE)[0, 0].numpy()  # (h, w)
    bright = small >= otsu_level(small)
    for shade in (bright, ~bright):
        regions, _ = ndimage.label(shade)  # 4-connected
        areas = np.bincount(regions.ravel())
        areas[0] = 0  # the other shade's pixels
        objects = ndimage.find_objects(regions)
        for label in np.argsort(-areas, kind="stable"):
            if areas[label] < PAGE_AREA * small.size:
                break
            rows, cols = objects[label - 1]
            if rows.start == 0 or cols.start == 0 or rows.stop == small.shape[0] or cols.stop == small.shape[1]:
                continue  # paper running off the picture: no page with a surround
            region = np.pad(regions[rows, cols] == label, 1)  # (h' + 2, w' + 2), blank all round
            filled = _filled(region)
            if _is_page(filled, region, filled & ~np.pad(shade[rows, cols], 1)):
                page = np.zeros(small.shape, bool)
                page[rows, cols] = ndimage.binary_erosion(filled)[1:-1, 1:-1]  # less a pixel of its edge
                # Each full-size pixel takes the copy's pixel it lies in (floor(y * h / H)).
                rows_in, cols_in = (np.arange(n) * m // n for n, m in zip((height, width), small.shape, strict=True))
                return Page(page[rows_in][:, cols_in], light_ink=shade is not bright)
    return None


def _filled(shape: np.ndarray) -> np.ndarray:
    """(h, w) bool, blank all round -> the shape and all it encloses: all but the blank the border
    reaches, 4-connected (binary_fill_holes' result, 4x sooner)."""
    blank, _ = ndimage.label(~shape)
    return blank != blank[0, 0]


def _is_page(filled: np.ndarray, paper: np.ndarray, ink: np.ndarray) -> bool:
    """Whether a region of one shade, `paper`, with all it encloses, `filled`, is a page holding the
    `ink` of the other shade."""
    area = int(filled.sum())
    spans = [(filled.any(axis).sum(), _extent(ink, 1 - axis)) for axis in (1, 0)]  # (rows, ink's rows), (cols, ...)
    if not ink.any() or ink.sum() > PAGE_INK * area or max(inked / whole for whole, inked in spans) < PAGE_SPAN:
        return False
    if area < PAGE_SQUARE * _least_rectangle(filled):
        return False
    strokes, _ = ndimage.label(ink, structure=EIGHT_CONNECTED)
    stroke = strokes == 1 + int(np.argmax(np.bincount(strokes.ravel())[1:]))  # the heaviest
    return bool(_depth(paper) > PAGE_THINNER * _depth(stroke))


def _least_rectangle(mask: np.ndarray) -> float:
    """The area of the smallest rectangle, at any angle, around the pixels (unit squares) of `mask`:
    one side lies along an edge of their convex hull (rotating calipers)."""
    rows = np.flatnonzero(mask.any(1))
    firsts, lasts = mask.argmax(1)[rows], mask.shape[1] - mask[:, ::-1].argmax(1)[rows]  # [first, last + 1)
    # Each row's outer corners, (x, y): its pixels' hull is theirs.
    corners = {
        (int(x), int(y))
        for row, first, last in zip(rows, firsts, lasts, strict=True)
        for x in (first, last)
        for y in (row, row + 1)
    }
    hull = _convex_hull(sorted(corners))
    best = math.inf
    for (x0, y0), (x1, y1) in zip(hull, hull[1:] + hull[:1], strict=True):
        length = math.hypot(x1 - x0, y1 - y0)
        along = [((x - x0) * (x1 - x0) + (y - y0) * (y1 - y0)) / length for x, y in hull]
        across = [((x - x0) * (y1 - y0) - (y - y0) * (x1 - x0)) / length for x, y in hull]
        best = min(best, (max(along) - min(along)) * (max(across) - min(across)))
    return best


def _convex_hull(points: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The convex hull of sorted points, counter-clockwise, without collinear points (Andrew's
    monotone chain)."""

    def half(ordered):
        chain = []
        for point in ordered:
            while len(chain) >= 2 and _turn(chain[-2], chain[-1], point) <= 0:
                chain.pop()
            chain.append(point)
        return chain[:-1]

    return half(points) + half(points[::-1])


def _turn(o: tuple[int, int], a: tuple[int, int], b: tuple[int, int]) -> int:
    """> 0 where o -> a -> b turns counter-clockwise, < 0 clockwise, 0 on a line."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _depth(mask: np.ndarray) -> int:
    """How deep `mask` is: the most steps (diagonals too) from one of its pixels to outside it."""
    return int(ndimage.distance_transform_cdt(mask, metric="chessboard").max())


def otsu_level(values: np.ndarray) -> float:
    """The level in [0, 1] that best splits `values` in [0, 1] into a dark and a bright class (Otsu's
    threshold on 256 bins): where the bright class begins."""
    bins = np.clip((values.ravel() * 256).astype(np.int64), 0, 255)
    counts = np.bincount(bins, minlength=256).astype(np.float64)
    dark = np.cumsum(counts)  # pixels at or below each bin
    light = dark[-1] - dark
    sums = np.cumsum(counts * np.arange(256))
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = dark * light * (sums / dark - (sums[-1] - sums) / light) ** 2
    return (int(np.argmax(np.nan_to_num(spread, nan=-1.0))) + 1) / 256


def _nearby_paper(gray: torch.Tensor) -> torch.Tensor:
    """(H, W) -> (H, W) the paper's grey level around each pixel, dark ink or light: the median of a
    window POLARITY_WINDOW / POLARITY_SIDE of the picture wide, on a copy POLARITY_SIDE a side.

    One median over the whole picture fails where a shadow divides the paper into a lit part and a
    dark one: the lit paper can lie farther from it than the ink does (3 of 3,520 of testkit's photos
    of digits and numbers were taken for light ink, and 1 of 2,500 of them made negative for dark
    ink; none now). Medians of windows this wide follow a shadow's edge and still see mostly paper
    on a digit that fills its picture (all of MNIST's 10,000 test digits, either way round, as before).
    """
    height, width = gray.shape
    small = _area_copy(gray[None, None], POLARITY_SIDE)[0, 0].numpy()  # (h, w)
    paper = torch.from_numpy(ndimage.median_filter(small, size=POLARITY_WINDOW, mode="nearest"))
    return F.interpolate(paper[None, None], size=(height, width), mode="bilinear", align_corners=False)[0, 0]


def _mean_filter3(image: torch.Tensor) -> torch.Tensor:
    """(H, W) -> (H, W) mean of each 3x3 window, windows cut at the edges: the same numbers as
    avg_pool2d(count_include_pad=False), as sums of shifted slices (rows, then columns), which is
    several times faster on the CPU than either pooling or a 3x3 convolution."""
    height, width = image.shape
    padded = F.pad(image[None], (1, 1, 1, 1))[0]  # (H + 2, W + 2), zeros around
    rows = padded[:-2] + padded[1:-1] + padded[2:]  # (H, W + 2): sums of 3 rows
    window_sum = rows[:, :-2] + rows[:, 1:-1] + rows[:, 2:]  # (H, W)
    rows_in, cols_in = torch.full((height,), 3.0), torch.full((width,), 3.0)  # rows, columns in each window
    for count in (rows_in, cols_in):
        count[0] -= 1  # the first and last lose one (a 1-pixel line loses both)
        count[-1] -= 1
    return window_sum / (rows_in[:, None] * cols_in[None, :])


def _area_copy(images: torch.Tensor, side: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, h, w) reduced by area averaging to at most `side` a side, the aspect kept."""
    height, width = images.shape[-2:]
    scale = min(1.0, side / max(height, width))
    return F.interpolate(images, size=(max(1, round(height * scale)), max(1, round(width * scale))), mode="area")


def _paper_brightness(rgb: torch.Tensor) -> torch.Tensor:
    """(C, H, W) -> (C, H, W) the brightness the paper would have at each pixel without ink.

    A morphological closing (max then min filter) on a reduced copy removes every dark feature
    narrower than the kernel (the strokes) but keeps slow gradients and the step of a shadow's edge.
    """
    _, height, width = rgb.shape
    small = _area_copy(rgb[None], BACKGROUND_SIDE)  # (1, C, h, w)
    closed = _min_filter(-_min_filter(-small, BACKGROUND_KERNEL), BACKGROUND_KERNEL)  # max, then min
    closed = F.avg_pool2d(F.pad(closed, (1, 1, 1, 1), mode="replicate"), 3, stride=1)  # soften the blocks
    # Kept off 0 on the small copy: bilinear weights sum to 1, so the full-size one stays off 0 as well.
    closed = closed.clamp(min=0.02)
    # Each channel as an image of its own, (C, 1, h, w): the same numbers as (1, C, h, w), in half the time.
    background = F.interpolate(closed.transpose(0, 1), size=(height, width), mode="bilinear", align_corners=False)
    return background[:, 0]  # (C, H, W)


def max_filter(tensor: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Sliding max over the last two dims of any tensor, same size out; windows are cut at the edges
    (for a max, the same as replicate padding). Odd sizes; an int is square.

    Built from shifted element-wise maxima: torch's CPU max_pool2d with stride 1 is about 40x
    slower at these sizes, and this pipeline runs a dozen of them per image.
    """
    rows, cols = (size, size) if isinstance(size, int) else size
    for dim, radius in ((-2, rows // 2), (-1, cols // 2)):
        source, length = tensor, tensor.shape[dim]
        tensor = tensor.clone()
        for shift in range(1, min(radius, length - 1) + 1):
            ahead, behind = tensor.narrow(dim, 0, length - shift), tensor.narrow(dim, shift, length - shift)
            torch.maximum(ahead, source.narrow(dim, shift, length - shift), out=ahead)  # x[i + shift]
            torch.maximum(behind, source.narrow(dim, 0, length - shift), out=behind)  # x[i - shift]
    return tensor


def _min_filter(tensor: torch.Tensor, size: int) -> torch.Tensor:
    """Square min filter of (N, C, H, W), same size out, windows cut at the edges."""
    return -max_filter(-tensor, size)


def ink_threshold(
    ink: np.ndarray, window: tuple[slice, slice] | None = None, drawn: bool = False
) -> tuple[float, float]:
    """(the ink level that separates strokes from paper, about halfway up the strokes and above the
    paper's noise; the level of the strokes' cores). `window`: where all of the ink is (inked_window);
    a canvas that is mostly blank is then measured there alone, with the same result. `drawn`: the
    alpha of a transparent canvas. Where some of it is fully transparent, its paper is exactly 0
    however much of it is inked (its median, where strokes covered over half of it, was taken for
    the paper, and a blot for a blank canvas); a picture on a half-transparent ground has no such
    pixel, and its paper is measured as a photo's is."""
    if drawn and not ink.all():
        return _stroke_levels(ink if window is None else ink[window], paper=0.0, noise=0.0)
    sample = ink[::2, ::2]  # a quarter of the pixels: the same medians, four times sooner
    if window is not None:
        rows, cols = window
        # Every inked pixel of the sample lies in the window; if they are under half of it, the
        # paper's median and its spread are both exactly 0, and the strokes are all in the window.
        inked = np.count_nonzero(
            ink[rows.start + rows.start % 2 : rows.stop : 2, cols.start + cols.start % 2 : cols.stop : 2]
        )
        if 2 * inked < sample.size:
            return _stroke_levels(ink[window], paper=0.0, noise=0.0)
    paper = float(np.median(sample))
    noise = 1.4826 * float(np.median(np.abs(sample - paper)))  # robust spread of the paper's grain
    return _stroke_levels(ink, paper, noise)


def _stroke_levels(ink: np.ndarray, paper: float, noise: float) -> tuple[float, float]:
    """ink_threshold's levels, given the paper's level and the spread of its grain."""
    floor = paper + max(6 * noise, MIN_CONTRAST)
    strokes = ink[ink > floor]
    if strokes.size == 0:
        raise NoDigitError(BLANK)
    core = float(np.percentile(strokes, 90))  # the strokes' cores, not one hot pixel
    return max(floor, paper + 0.45 * (core - paper)), core


def label_factor(shape: tuple[int, ...], side: int = LABEL_SIDE) -> int:
    """By how much reduce_mask shrinks an image of `shape` so that no side is over `side`."""
    return max(1, math.ceil(max(shape) / side))


def inked_window(ink: np.ndarray, factor: int) -> tuple[slice, slice]:
    """(rows, cols) of the box of ink > 0, grown by a pixel (so no stroke meets its edge unless it
    meets the image's) and out to multiples of `factor` (so reduce_mask's blocks there are the
    image's blocks): digit_mask inside it finds what it finds on the whole image."""
    rows, cols = np.flatnonzero(ink.any(1)), np.flatnonzero(ink.any(0))
    if len(rows) == 0:
        return slice(0, ink.shape[0]), slice(0, ink.shape[1])
    return tuple(
        slice(max(0, first - 1) // factor * factor, min(length, -(-(last + 2) // factor) * factor))
        for (first, last), length in zip(((rows[0], rows[-1]), (cols[0], cols[-1])), ink.shape, strict=True)
    )


def reduce_mask(mask: np.ndarray, factor: int) -> np.ndarray:
    """(H, W) bool -> (ceil(H / factor), ceil(W / factor)) bool: any ink in each factor x factor block.
    Reducing by "any" keeps thin strokes connected, and strokes closer than a block join."""
    return (block_sums(mask.astype(np.float32), factor) > 0).numpy()


def block_sums(array: np.ndarray, factor: int) -> torch.Tensor:
    """(H, W) float32 -> (ceil(H / factor), ceil(W / factor)) sums of factor x factor blocks (the
    last ones cut at the edge). torch's pooling: numpy's sum over a blocked view is 7x slower."""
    height, width = array.shape
    padded = F.pad(torch.from_numpy(array)[None, None], (0, -width % factor, 0, -height % factor))
    return F.avg_pool2d(padded, factor)[0, 0] * factor**2


def digit_ink(ink: np.ndarray, drop_border: bool = True, near: float = NEAR) -> tuple[np.ndarray, float]:
    """(H, W) ink -> ((H, W) float32 ink of the digit alone, scaled so its strokes' cores are 1;
    the level of the strokes' edge in it).

    Specks, far-off marks (farther than `near` times the digit's size), printed lines beside the
    digit, frames around it and lines under it, and (for photos) shadows' and paper's edges, which
    touch the picture's border, and printed lines through the digit are zeroed; the kept strokes
    keep their anti-aliased rims. `drop_border` False: a drawing's alpha (its paper exactly 0).
    Raises NoDigitError.
    """
    # A drawing covers a fraction of its canvas: everything below runs on the box of its ink alone.
    factor = label_factor(ink.shape)
    window = inked_window(ink, factor)
    threshold, core = ink_threshold(ink, window, drawn=not drop_border)
    inked = ink[window]
    mask = inked > threshold
    rows, cols = window
    # The most a line in the window could cover, with the blocks it is counted in rounded up.
    tall, wide = rows.stop - rows.start + 2 * factor, cols.stop - cols.start + 2 * factor
    if drop_border and (tall >= LINE_SPAN * ink.shape[0] or wide >= LINE_SPAN * ink.shape[1]):
        # A photo with ink across it: a notebook's ruling or margin, or a grid, may run through the
        # digit. Sought on the whole picture, as the browser edition does.
        mask &= ~printed_lines(ink > threshold, ink, near)[window]
    keep = digit_mask(mask, inked, drop_border, near, factor)
    if drop_border and (apart := joined_apart(keep, inked)).any():
        keep = digit_mask(mask & ~apart, inked, drop_border, near, factor)
    rims = max_filter(torch.from_numpy(keep.astype(np.float32)), 3).numpy()
    digit = np.zeros_like(ink)
    digit[window] = np.clip(inked / core, 0.0, 1.0) * rims
    return digit, min(threshold / core, 1.0)


def printed_lines(mask: np.ndarray, ink: np.ndarray, near: float) -> np.ndarray:
    """(H, W) bool: the pixels of `mask` on printed lines through or beside the digit, to be left out.

    A line is straight, within LINE_TILT of level or plumb, across LINE_SPAN of the picture, and it
    reaches past the digit's box at both ends by (RULE_LENGTH - 1) / 2 of the digit's height (the
    length printed_line asks of a line that does not touch it). So a tightly cropped 1 or the bar of
    a 7 is not one. Where a stroke crosses a line, the pixels between the stroke's two sides stay the
    stroke's. `ink` and `near` are digit_mask's. Raises NoDigitError for a picture of two or more parallel
    lines and nothing else: a blank page of ruled or squared paper.
    """
    nothing = np.zeros_like(mask)
    height, width = mask.shape[0] * LINE_SPAN, mask.shape[1] * LINE_SPAN  # the least length of a line, each way
    glance = max(1, math.ceil(max(mask.shape) / LINE_GLANCE))
    coarse = reduce_mask(mask, glance)  # (h, w): a first look, a tenth of the work, for photos without lines
    if not (_level_lines(coarse, width / glance).any() or _level_lines(coarse.T, height / glance).any()):
        return nothing
    fine = max(1, math.ceil(max(mask.shape) / LINE_SIDE))
    small = reduce_mask(mask, fine)  # a line 1 px thick stays whole at this size
    across, down = _level_lines(small, width / fine), _level_lines(small.T, height / fine).T  # (h, w) bands
    found = across | down
    on_lines = expand(found, fine, mask.shape) & mask
    lines = on_lines & ~_crossed(on_lines, mask & ~on_lines, LINE_BAND * fine)
    labels, _ = ndimage.label(found, structure=EIGHT_CONNECTED)
    try:
        digit = digit_mask(mask & ~lines, ink, True, near)
    except NoDigitError:  # nothing but lines: a page of ruling or a grid, or a line or two that are the digit
        if max(ndimage.label(band, structure=EIGHT_CONNECTED)[1] for band in (across, down)) > 1:
            raise NoDigitError("no digit found: only printed lines (ruled or squared paper)") from None
        return nothing
    rows, cols = np.flatnonzero(digit.any(1)), np.flatnonzero(digit.any(0))
    # By the height, not the larger side: a number's ink (read_number's) is several digits wide, and
    # ruling across a photo of it cannot reach past it by a quarter of that width.
    past = (RULE_LENGTH - 1) / 2 * (rows[-1] - rows[0])
    printed = []
    for i, (down, across) in enumerate(ndimage.find_objects(labels), start=1):
        first_row, last_row = down.start * fine, down.stop * fine - 1  # full-size pixels
        first_col, last_col = across.start * fine, across.stop * fine - 1
        if (first_col <= cols[0] - past and last_col >= cols[-1] + past) or (
            first_row <= rows[0] - past and last_row >= rows[-1] + past
        ):
            printed.append(i)
    return expand(np.isin(labels, printed) & found, fine, mask.shape) & lines


def joined_apart(digit: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """(H, W) bool: a frame around the digit or a line under it, among the components of the `digit`
    mask at full size, or the rim of a frame the digit touches (joined_frame), or nothing. digit_mask
    labels a reduced copy, on which strokes 3 px apart join (so a broken stroke stays whole), and so
    do a circle or an underline drawn close to the digit; apart here, digit_mask's rules for them
    apply again."""
    labels, count = ndimage.label(digit, structure=EIGHT_CONNECTED)
    nothing = np.zeros_like(digit)
    if count == 0:
        return nothing
    objects = ndimage.find_objects(labels)
    # Ink per component; one alone (most photos) needs no weighing, which costs a millisecond at 512 px.
    weight = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=count + 1)[1:] if count > 1 else np.ones(1)
    seed = int(np.argmax(weight))
    rows, cols = objects[seed]
    if (rim := joined_frame(labels[rows, cols] == seed + 1, ink[rows, cols])).any():
        nothing[rows, cols] = rim
        return nothing
    if count < 2:
        return nothing
    boxes = np.array([_box(slices) for slices in objects])
    kept = weight >= SPECK_FRACTION * weight[seed]
    for i in np.flatnonzero(kept)[np.argsort(-weight[kept], kind="stable")]:  # a frame may weigh less than its digit
        if frame_held(labels, objects, i, kept & (weight >= FRAME_HELD * weight[i])):
            return labels == i + 1
    for i in np.flatnonzero(kept):
        over = np.flatnonzero(kept & (boxes[:, 1] <= boxes[i, 3]) & (boxes[:, 3] >= boxes[i, 1]))  # in its columns
        if len(over := over[over != i]) and _underlines(labels, boxes, i, over):
            return labels == i + 1
    return nothing


def joined_frame(component: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """(h, w) bool: the rim of one component (h, w: its box) that is a frame the digit it holds
    touches (a circle, a form's box), or nothing. The rim, its pixels within FRAME_RIM stroke widths
    of the paper outside it, closes around ink of its own that weighs FRAME_JOINED of the rim's ink,
    spans under FRAME_SPAN of what the rim encloses each way, and touches the rim along under
    FRAME_CONTACT of the rim's inner edge: a frame holds its digit in blank paper. A digit's own loops
    (0, 6, 8, 9) are rim through and through, or hold a stroke's tail; a solid blob has no hole."""
    shape = np.pad(component, 1)  # blank paper all round
    filled = _filled(shape)
    nothing = np.zeros_like(component)
    # A frame holds its digit in the middle of the paper it encloses; a digit's loops enclose paper
    # there (a 0, 6, 9, 4): no frame, known at the cost of the labelling (an 8's middle holds its waist).
    if (middle := _middle(filled & ~shape)) is None or not shape[middle].any():
        return nothing
    paper_edge = ~filled & dilate(shape, 1)  # the paper outside that touches the component (4-neighbours)
    rim = shape & dilate(paper_edge, FRAME_RIM * stroke_width(shape))
    held = shape & ~rim
    weights = np.pad(ink, 1)
    if not held.any() or weights[held].sum() < FRAME_JOINED * weights[rim].sum():
        return nothing
    inside = filled & ~rim  # (h + 2, w + 2): what the rim encloses, paper and ink
    if any(_extent(held, axis) >= FRAME_SPAN * _extent(inside, axis) for axis in (0, 1)):
        return nothing  # from side to side: a slashed 0, a 0 with a bar (8), not a digit held in a frame
    inner_edge = rim & dilate(inside, 1)  # the rim's pixels next to what it encloses
    contact = inner_edge & dilate(held, 1)
    return rim[1:-1, 1:-1] if contact.sum() < FRAME_CONTACT * inner_edge.sum() else nothing


def _first_last(mask: np.ndarray, axis: int) -> tuple[int, int] | None:
    """The first and last row (axis 0) or column (axis 1) that hold some of `mask`; None if none do."""
    lines = np.flatnonzero(mask.any(1 - axis))
    return (int(lines[0]), int(lines[-1])) if len(lines) else None


def _middle(mask: np.ndarray) -> tuple[slice, slice] | None:
    """The middle of the box of `mask`, a quarter of its height and width in from each side; None if
    `mask` is empty."""
    if (rows := _first_last(mask, 0)) is None:
        return None
    middle = []
    for first, last in (rows, _first_last(mask, 1)):
        inset = (last - first) // 4
        middle.append(slice(first + inset, last + 1 - inset))
    return middle[0], middle[1]


def _extent(mask: np.ndarray, axis: int) -> int:
    """How many rows (axis 0) or columns (axis 1) lie from the first to the last that hold some of `mask`."""
    ends = _first_last(mask, axis)
    return ends[1] - ends[0] + 1 if ends else 0


def _underlines(labels: np.ndarray, boxes: np.ndarray, line: int, over: np.ndarray) -> bool:
    """Whether component `line` (an index into `boxes`; labelled line + 1) is a line under the
    components `over`, those in its columns: as digit_mask's underline() asks, but at least as wide
    as the widest of them rather than all of them (a number's underline may be shorter than the
    number, or off to a side), and below them column by column. A sloping underline, or one under a
    number whose digits do not sit on one level, reaches up past the lowest row of the box around
    them, yet lies under each of them; a digit joined to it makes it no thin line (no column of a
    line is over twice its usual thickness, + 2 px)."""
    box = boxes[line]
    wide = box[3] - box[1]
    if wide < (boxes[over, 3] - boxes[over, 1]).max() or wide + 1 < UNDERLINE_ASPECT * (box[2] - box[0] + 1):
        return False
    if box[0] > boxes[over, 2].max():  # wholly below them
        return True
    rows = np.arange(labels.shape[0])[:, None]
    mine = labels == line + 1
    top = np.where(mine, rows, labels.shape[0]).min(0)  # (W,): its highest pixel in each column; H where none
    bottom = np.where(mine, rows, -1).max(0)  # (W,): its lowest; -1 where none
    above = np.where(np.isin(labels, over + 1), rows, -1).max(0)  # (W,): the lowest of theirs; -1 where none
    thickness = (bottom - top + 1)[bottom >= 0]
    return bool((top > above).all() and thickness.max() <= 2 * np.median(thickness) + 2)


def frame_held(labels: np.ndarray, objects: list, seed: int, big: np.ndarray) -> list[int]:
    """The components a frame `seed` holds, or none if it is no frame (labels: seed + 1; objects:
    ndimage.find_objects of labels). A frame encloses some of the `big` components (bool per
    component), none of it lies over the box of those it encloses (less an eighth of its height and
    width each side: a circle drawn close cuts the box's corners), and some of it lies on each side
    of that box: above and below it in its columns, left and right of it in its rows. (A line under
    a number with a digit's stroke joined to it at one end only has the box of a frame.)"""
    box = _box(objects[seed])
    held = [i for i in np.flatnonzero(big) if encloses(box, _box(objects[i]))]
    if not held:
        return []
    top, left, bottom, right = _union(np.array([_box(objects[i]) for i in held]))
    columns, rows = slice(left, right + 1), slice(top, bottom + 1)
    down, across = (bottom - top + 1) // 8, (right - left + 1) // 8
    core = labels[top + down : bottom + 1 - down, left + across : right + 1 - across]
    sides = (labels[:top, columns], labels[bottom + 1 :, columns], labels[rows, :left], labels[rows, right + 1 :])
    if (core == seed + 1).any() or not all((side == seed + 1).any() for side in sides):
        return []
    return held


def _box(object_slices: tuple[slice, slice]) -> np.ndarray:
    """[top, left, bottom, right], inclusive, of ndimage.find_objects' slices (in their own cells)."""
    rows, cols = object_slices
    return np.array([rows.start, cols.start, rows.stop - 1, cols.stop - 1])


def _union(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) boxes [top, left, bottom, right] -> the one box around them all."""
    return np.concatenate([boxes[:, :2].min(0), boxes[:, 2:].max(0)])


def _crossed(lines: np.ndarray, rest: np.ndarray, longest: int) -> np.ndarray:
    """(H, W) bool: the pixels of `lines` in a stretch of them, down a column or along a row, at
    most `longest` long and with ink of `rest` at both ends: where a stroke crosses a line."""
    return _crossed_down(lines, rest, longest) | _crossed_down(lines.T, rest.T, longest).T


def _crossed_down(lines: np.ndarray, rest: np.ndarray, longest: int) -> np.ndarray:
    """_crossed down the columns alone."""
    length = lines.shape[0]
    rows = np.arange(length)[:, None]
    above = np.maximum.accumulate(np.where(lines, -1, rows), axis=0)  # the nearest row off the lines, at or above
    below = np.minimum.accumulate(np.where(lines, length, rows)[::-1], axis=0)[::-1]  # at or below
    columns = np.arange(lines.shape[1])[None, :]
    ends = (above >= 0) & (below < length) & (below - above - 1 <= longest)
    return lines & ends & rest[above.clip(0), columns] & rest[below.clip(max=length - 1), columns]


def expand(small: np.ndarray, factor: int, shape: tuple[int, ...]) -> np.ndarray:
    """(h, w) bool of factor x factor blocks -> (H, W) = `shape` bool, each block's value on its pixels."""
    return np.repeat(np.repeat(small, factor, axis=0), factor, axis=1)[: shape[0], : shape[1]]


def _level_lines(mask: np.ndarray, length: float) -> np.ndarray:
    """(h, w) bool -> (h, w) bool: the bands, 3 rows high and across the whole mask, of lines within
    LINE_TILT of level whose ink covers `length` of its columns (`length` / w of those inside the mask,
    for a line that leaves it through its top or bottom). Each slope LINE_STEP apart shears the
    mask so that its lines lie along rows; a row's ink is counted in its band, which a line between
    two slopes stays in. A line's band is whole where its ink has gaps (crossed by another line)."""
    height, width = mask.shape
    band = mask.copy()
    band[1:] |= mask[:-1]
    band[:-1] |= mask[1:]
    pad = math.ceil(LINE_TILT * width / 2) + 1  # more than any slope's rise: sheared rows stay inside
    rows = height + 2 * pad
    columns = np.arange(width)
    steps = round(LINE_TILT / LINE_STEP)
    step = np.arange(-steps, steps + 1)[:, None]  # (S, 1): every slope at once
    # (S, w) the line's rise at each column from the middle one, rounded half up (as in JavaScript)
    offset = np.floor(step * (2 * columns - (width - 1)) * LINE_STEP / 2 + 0.5).astype(np.int64)
    # Each sheared row's count, from the band's pixels alone (a page is mostly blank): the pixel at
    # (y, x) lies on sheared row y + pad - offset[s, x] of slope s. (S, rows) counts, one bincount.
    ys, xs = np.nonzero(band)
    sheared = ys + pad - offset[:, xs] + rows * np.arange(len(offset))[:, None]  # (S, pixels), a flat index
    counts = np.bincount(sheared.ravel(), minlength=len(offset) * rows).reshape(len(offset), rows)
    # How many of each sheared row's columns lie inside the mask (S, rows): on a page askew, a line near
    # the top or bottom leaves the picture through it, and needs to cover only LINE_SPAN of what is seen
    # of it, if that is half the picture's width or more.
    starts = pad - offset + (rows + 1) * np.arange(len(offset))[:, None]  # (S, w): the first row inside
    edges = np.bincount(starts.ravel(), minlength=len(offset) * (rows + 1))
    edges -= np.bincount((starts + height).ravel(), minlength=len(offset) * (rows + 1))[: len(edges)]
    seen = edges.reshape(len(offset), rows + 1).cumsum(1)[:, :rows]
    slopes, lines = np.nonzero((counts >= length * seen / width) & (2 * seen >= width))  # the rows that are lines
    found = np.zeros((rows, width), dtype=bool)
    found[np.clip(lines[:, None] + offset[slopes], 0, rows - 1), columns] = True
    return found[pad:-pad]


def encloses(outer: np.ndarray, inner: np.ndarray) -> bool:
    """Whether box `outer` lies beyond box `inner` on all four sides ([top, left, bottom, right]): a
    frame around it (a printed box, a circle). No stroke of a digit encloses another."""
    return bool(outer[0] < inner[0] and outer[1] < inner[1] and outer[2] > inner[2] and outer[3] > inner[3])


def printed_line(box: np.ndarray, size: float) -> bool:
    """Whether a component with `box` is a printed line beside a digit `size` pixels tall or wide:
    thin, and longer than the digit by RULE_LENGTH (a notebook's lines and margin, a form's)."""
    height, width = box[2] - box[0] + 1, box[3] - box[1] + 1
    long, thin = max(height, width), min(height, width)
    return bool(long >= RULE_ASPECT * thin and long >= RULE_LENGTH * size)


def underline(line: np.ndarray, box: np.ndarray) -> bool:
    """Whether a component with box `line` is a line drawn under a digit with `box`: wholly below
    it, at least as wide as it, and UNDERLINE_ASPECT times wider than tall. (A digit's stroke apart
    from the rest and below it, as the foot of a broken 5, is narrower than the rest.)"""
    wide = line[3] - line[1]
    return bool(line[0] > box[2] and wide >= box[3] - box[1] and wide + 1 >= UNDERLINE_ASPECT * (line[2] - line[0] + 1))


def digit_mask(
    mask: np.ndarray, ink: np.ndarray, drop_border: bool = True, near: float = NEAR, factor: int | None = None
) -> np.ndarray:
    """The (H, W) bool mask of the digit among the components of `mask`, weighed by their `ink`.

    Components are labelled on the reduced mask (reduce_mask, factor f: label_factor of the mask's
    shape unless given, as for a window of a larger image); each one's ink is the sum
    over its blocks of the ink under the full mask (exactly its full-size sum), its box is its
    blocks' box (to within f - 1 pixels), and it touches the border if a full-size border pixel
    of the mask lies in its blocks. Work at the reduced size: a few times less than at full size.
    """
    height, width = mask.shape
    factor = factor or label_factor(mask.shape)
    small = reduce_mask(mask, factor)
    labels, count = ndimage.label(small, structure=EIGHT_CONNECTED)  # (h, w) int32
    if count == 0:
        raise NoDigitError(BLANK)
    block_ink = block_sums(np.where(mask, ink, 0).astype(np.float32), factor).numpy()  # (h, w)
    weight = np.bincount(labels.ravel(), weights=block_ink.ravel(), minlength=count + 1)[1:]  # ink per component
    objects = ndimage.find_objects(labels)
    boxes = np.array(  # [top, left, bottom, right] in full-size pixels, inclusive
        [
            [
                rows.start * factor,
                cols.start * factor,
                min(rows.stop * factor, height) - 1,
                min(cols.stop * factor, width) - 1,
            ]
            for rows, cols in objects
        ]
    )
    if drop_border:
        last_row, last_col = (height - 1) // factor, (width - 1) // factor
        on_border = np.concatenate(
            [
                labels[0, np.flatnonzero(mask[0]) // factor],
                labels[last_row, np.flatnonzero(mask[-1]) // factor],
                labels[np.flatnonzero(mask[:, 0]) // factor, 0],
                labels[np.flatnonzero(mask[:, -1]) // factor, last_col],
            ]
        )
        inner = ~np.isin(np.arange(1, count + 1), on_border)
        # Keep border-touching ink only when nothing substantial lies inside (a tightly cropped digit).
        if weight[inner].max(initial=0) >= 0.1 * weight.max():
            weight[~inner] = 0
    keep = weight >= SPECK_FRACTION * weight.max()
    # Grow the digit from its biggest stroke: take in every kept component near what is taken so far,
    # but no printed line, frame or underline.
    seed = int(np.argmax(weight))
    big = keep & (weight >= FRAME_HELD * weight[seed])
    if held := frame_held(labels, objects, seed, big):  # a circle or a form's box: the digit is what it holds
        seed = max(held, key=lambda i: weight[i])
    taken = np.zeros_like(keep)
    taken[seed] = True
    box = boxes[seed].copy()
    size = max(box[2] - box[0], box[3] - box[1]) + 1
    keep &= ~np.array([encloses(other, box) or printed_line(other, size) or underline(other, box) for other in boxes])
    changed = True
    while changed:
        changed = False
        reach = near * max(box[2] - box[0], box[3] - box[1])
        for i in np.flatnonzero(keep & ~taken):
            top, left, bottom, right = boxes[i]
            if (
                top <= box[2] + reach
                and bottom >= box[0] - reach
                and left <= box[3] + reach
                and right >= box[1] - reach
            ):
                taken[i] = True
                box = np.array([min(box[0], top), min(box[1], left), max(box[2], bottom), max(box[3], right)])
                changed = True
    small_digit = np.concatenate([[False], taken])[labels]  # (h, w): the blocks of the digit's components
    return expand(small_digit, factor, mask.shape) & mask
