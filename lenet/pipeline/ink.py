"""Where the ink is: lighting and colour casts flattened, polarity detected, specks and edges dropped."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from lenet.pipeline.decode import NoDigitError, Picture

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
    # The paper covers most of each part of the picture, so the median around a pixel is paper; the
    # ink is the farther extreme from it.
    deviation = gray - _nearby_paper(gray)
    if float(deviation.max()) > -float(deviation.min()):
        rgb = 1.0 - rgb  # light ink on a dark ground (chalkboard, inverted MNIST): make the ink dark
    flat = rgb / _paper_brightness(rgb)  # (C, H, W): paper -> 1 everywhere, whatever the light and cast
    return (1.0 - flat.amin(0)).clamp(0.0, 1.0).numpy()  # the darkest channel: a blue or red pen counts


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


def ink_threshold(ink: np.ndarray, window: tuple[slice, slice] | None = None) -> tuple[float, float]:
    """(the ink level that separates strokes from paper, about halfway up the strokes and above the
    paper's noise; the level of the strokes' cores). `window`: where all of the ink is (inked_window);
    a canvas that is mostly blank is then measured there alone, with the same result."""
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
        raise NoDigitError("no digit found: the image is blank")
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

    Specks, far-off marks (farther than `near` times the digit's size) and (for photos) shadows'
    and paper's edges, which touch the picture's border, are zeroed; the kept strokes keep their
    anti-aliased rims. Raises NoDigitError.
    """
    # A drawing covers a fraction of its canvas: everything below runs on the box of its ink alone.
    factor = label_factor(ink.shape)
    window = inked_window(ink, factor)
    threshold, core = ink_threshold(ink, window)
    inked = ink[window]
    keep = digit_mask(inked > threshold, inked, drop_border, near, factor)
    rims = max_filter(torch.from_numpy(keep.astype(np.float32)), 3).numpy()
    digit = np.zeros_like(ink)
    digit[window] = np.clip(inked / core, 0.0, 1.0) * rims
    return digit, min(threshold / core, 1.0)


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
        raise NoDigitError("no digit found: the image is blank")
    block_ink = block_sums(np.where(mask, ink, 0).astype(np.float32), factor).numpy()  # (h, w)
    weight = np.bincount(labels.ravel(), weights=block_ink.ravel(), minlength=count + 1)[1:]  # ink per component
    boxes = np.array(  # [top, left, bottom, right] in full-size pixels, inclusive
        [
            [
                rows.start * factor,
                cols.start * factor,
                min(rows.stop * factor, height) - 1,
                min(cols.stop * factor, width) - 1,
            ]
            for rows, cols in ndimage.find_objects(labels)
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
    # but no printed line or frame.
    seed = int(np.argmax(weight))
    taken = np.zeros_like(keep)
    taken[seed] = True
    box = boxes[seed].copy()
    size = max(box[2] - box[0], box[3] - box[1]) + 1
    keep &= ~np.array([encloses(other, box) or printed_line(other, size) for other in boxes])
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
    return np.repeat(np.repeat(small_digit, factor, axis=0), factor, axis=1)[:height, :width] & mask
