"""Numbers read whole: exact-number and per-digit accuracy on synthetic handwritten numbers, and the time.

    python -m bench.numbers [--seeds 0 1 2] [--per-cell 20] [--checkpoint checkpoints/lenet5]
        [--lines checkpoints/lenet5-lines]

For each seed, testkit.numbers builds `--per-cell` numbers of every kind (spaced, tight, touching,
photographed) and length (2 to 8 digits) from MNIST *test* digits and the project's stroke templates
(two-stroke 4s, 5s and 7s among them; no fonts). Each is read by Predictor.read_number; a number
counts only if every digit is right and none is missing or extra. Per-digit accuracy aligns the
reading with the truth (edit distance: a missing, extra or wrong digit each costs one). Time: on the
4-digit numbers, each number's read_number time over Predictor.predict's on the same image, their
median (the target's figure); then, as printed before, the median read_number time over the median
predict time, which sets a number's time against another image's; then the medians per kind.
Where the misses come from: per kind, how many numbers were read with a digit too many or too few;
then, in the numbers read with the right count, how many digits were misread, by the digit's
source (an MNIST test digit as it is, its skeleton redrawn with an even pen, a stroke template).
Targets (issue 16): spaced and tight >= 98% exact, touching >= 90%, photographed >= 95%, per digit
>= 99.3%; a 4-digit number in <= 3x the time of one single-digit prediction.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import statistics
import time
from pathlib import Path

import numpy as np

from lenet.checkpoint import CheckpointError
from lenet.predict import DEFAULT_CHECKPOINT, DEFAULT_LINES, Predictor
from lenet.training.data import load_mnist
from testkit.numbers import KINDS, number_image
from testkit.wild import DigitShapes

LENGTHS = range(2, 9)
TARGETS = {"spaced": 0.98, "tight": 0.98, "touching": 0.90, "photographed": 0.95}
PER_DIGIT = 0.993


def edit_distance(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def read(predictor: Predictor, data: bytes) -> str:
    try:
        return predictor.read_number(data).number
    except ValueError:  # no digit found, unreadable: an empty reading
        return ""


def run_seed(predictor: Predictor, shapes: DigitShapes, seed: int, per_cell: int) -> dict:
    rng = np.random.default_rng(seed)
    exact = {(kind, length): 0 for kind in KINDS for length in LENGTHS}
    digits_right = digits_total = 0
    number_ms = {kind: [] for kind in KINDS}  # the 4-digit numbers' times, per kind
    single_ms = {kind: [] for kind in KINDS}  # predict's on the same images, in the same order
    miscounted = collections.Counter()  # per kind: numbers read with a digit too many or too few
    by_source = collections.defaultdict(lambda: [0, 0])  # source: [misread, digits] in right-count readings
    for kind in KINDS:
        for length in LENGTHS:
            for _ in range(per_cell):
                data, truth, sources = number_image(shapes, rng, length, kind)
                start = time.perf_counter()
                reading = read(predictor, data)
                elapsed = time.perf_counter() - start
                exact[(kind, length)] += reading == truth
                digits_right += max(0, len(truth) - edit_distance(reading, truth))
                digits_total += len(truth)
                if len(reading) != len(truth):
                    miscounted[kind] += 1
                else:
                    for read_digit, true_digit, source in zip(reading, truth, sources, strict=True):
                        by_source[source][0] += read_digit != true_digit
                        by_source[source][1] += 1
                if length == 4:
                    number_ms[kind].append(elapsed * 1000)
                    start = time.perf_counter()
                    with contextlib.suppress(ValueError):
                        predictor.predict(data)
                    single_ms[kind].append((time.perf_counter() - start) * 1000)
    ratios = [n / s for kind in KINDS for n, s in zip(number_ms[kind], single_ms[kind], strict=True)]
    return {
        "exact": exact,
        "miscounted": miscounted,
        "by_source": dict(by_source),
        "ratio": statistics.median(ratios),
        "per_digit": digits_right / digits_total,
        "number_ms": statistics.median(ms for kind in KINDS for ms in number_ms[kind]),
        "single_ms": statistics.median(ms for kind in KINDS for ms in single_ms[kind]),
        "by_kind": {kind: (statistics.median(number_ms[kind]), statistics.median(single_ms[kind])) for kind in KINDS},
    }


def source_rates(by_source: dict[str, list[int]]) -> str:
    """{source: [misread, digits]} -> "mnist 5 of 700 (0.71%), ..." in a fixed order."""
    return ", ".join(
        f"{source} {wrong} of {total:,} ({wrong / total:.2%})"
        for source, (wrong, total) in sorted(by_source.items())
        if total
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one set per seed (default: 0 1 2)")
    parser.add_argument("--per-cell", type=int, default=20, help="numbers per kind and length (default: 20)")
    parser.add_argument("--checkpoint", default=None, help="the digit model's folder (default: checkpoints/lenet5)")
    parser.add_argument("--lines", default=None, help="the line reader's folder (default: checkpoints/lenet5-lines)")
    parser.add_argument("--data-dir", default=None, help="MNIST root (default: $LENET_DATA_DIR, else data/)")
    args = parser.parse_args()
    if args.lines and not Path(args.lines).is_dir():  # Predictor would go on without a line reader
        parser.error(f"--lines: no checkpoint folder {args.lines}")

    images, labels = load_mnist(args.data_dir, train=False)
    shapes = DigitShapes(images.numpy(), labels.numpy(), fonts=[])  # MNIST test digits and stroke templates
    try:
        predictor = Predictor.from_checkpoint(args.checkpoint or DEFAULT_CHECKPOINT, lines=args.lines or DEFAULT_LINES)
    except CheckpointError as err:  # a folder that is missing or does not hold a model
        parser.error(str(err))
    reader = "the piece reader (checkpoints/lenet5-pieces)" if predictor.pieces is not None else "the digit model"
    lines = args.lines or "checkpoints/lenet5-lines"
    counted = f"; touching runs counted, and every number read, by the line reader too ({lines})"
    counted = counted if predictor.lines is not None else ""
    print(f"{args.per_cell} numbers per kind and length 2-8, seeds {args.seeds}; cuts scored by {reader}{counted}")
    lengths = " ".join(f"{length:>5}" for length in LENGTHS)
    all_sources = collections.defaultdict(lambda: [0, 0])
    for seed in args.seeds:
        result = run_seed(predictor, shapes, seed, args.per_cell)
        print(f"\nseed {seed}: exact-number accuracy by kind and length")
        print(f"{'kind':<13} {'all':>6}  {lengths}   target")
        for kind in KINDS:
            cells = [result["exact"][(kind, length)] / args.per_cell for length in LENGTHS]
            overall = sum(cells) / len(cells)
            verdict = "met" if overall >= TARGETS[kind] else "NOT met"
            row = " ".join(f"{cell:>5.0%}" for cell in cells)
            print(f"{kind:<13} {overall:>6.1%}  {row}   {TARGETS[kind]:.0%} {verdict}")
        verdict = "met" if result["per_digit"] >= PER_DIGIT else "NOT met"
        print(f"per digit: {result['per_digit']:.2%} (target {PER_DIGIT:.1%}: {verdict})")
        ratio = result["ratio"]
        print(
            f"4-digit numbers: read_number/predict on the same image, p50 {ratio:.2f}x"
            f" (target 3x: {'met' if ratio <= 3 else 'NOT met'}); read_number p50 {result['number_ms']:.1f} ms"
            f" over predict p50 {result['single_ms']:.1f} ms: {result['number_ms'] / result['single_ms']:.2f}x"
        )
        # Where the time goes: the medians above mix small drawings with large photos.
        by_kind = ", ".join(f"{kind} {n:.1f}/{s:.1f} ms {n / s:.1f}x" for kind, (n, s) in result["by_kind"].items())
        print(f"  by kind, read_number/predict p50: {by_kind}")
        numbers = args.per_cell * len(LENGTHS)
        misses = ", ".join(
            f"{kind} {numbers - sum(result['exact'][(kind, n)] for n in LENGTHS)} ({result['miscounted'][kind]})"
            for kind in KINDS
        )
        print(f"misses of {numbers} a kind (of them, with a digit too many or too few): {misses}")
        print(f"  digits misread in numbers read with the right count, by source: {source_rates(result['by_source'])}")
        for source, (wrong, total) in result["by_source"].items():
            all_sources[source][0] += wrong
            all_sources[source][1] += total
    if len(args.seeds) > 1:
        print(f"\nall seeds, digits misread in numbers read with the right count: {source_rates(all_sources)}")


if __name__ == "__main__":
    main()
