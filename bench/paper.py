"""Top-1 accuracy on photos of digits written on printed paper, each against the same photo on plain paper.

    python -m bench.paper [--per-kind 200] [--numbers 100] [--seed 0] [--kinds ruled,...] [--turn 0] [--save DIR]

Kinds (testkit/paper.py): ruled (the digit on a notebook's line), across (a big digit across its
lines), grid (squared paper), underlined and circled (in the same pen), box (a form's printed box).
Then numbers of 2-6 digits on ruled and squared paper and underlined, read whole by read_number.
Each photo is paired with its twin without the printing, so the gap between the two columns is
what the printing costs. Goal: no kind more than 2 points below its plain twin. `--turn DEGREES`
turns every photo, both twins, as if the page lay that far askew under the camera (testkit.paper.askew).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import torch

from bench.numbers import read
from lenet.pipeline.preprocess import ImageError, NoDigitError, preprocess
from lenet.predict import Predictor
from lenet.training.data import load_mnist
from testkit.paper import KINDS, NUMBER_KINDS, askew, paper_number, paper_photo
from testkit.wild import DigitShapes, find_fonts

GOAL = 0.02  # the most a kind may read below its plain twins


def guess(predictor: Predictor, data: bytes) -> int:
    """The pipeline's top digit for an encoded image, or -1 where it finds none."""
    try:
        pixels = preprocess(data).pixels
    except (ImageError, NoDigitError):
        return -1
    return int(predictor.probabilities(pixels[None])[0].argmax())


def run_kind(
    kind: str, predictor: Predictor, shapes: DigitShapes, count: int, seed: int, save: Path | None, turn: float = 0.0
):
    """(right on printed paper, right on plain paper, no digit found on printed paper) of `count`
    pairs, each turned `turn` degrees."""
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    printed_right = plain_right = none = 0
    for i in range(count):
        printed, plain, label, source = paper_photo(shapes, rng, kind)
        printed, plain = askew(printed, turn), askew(plain, turn)
        on_printed, on_plain = guess(predictor, printed), guess(predictor, plain)
        printed_right += on_printed == label
        plain_right += on_plain == label
        none += on_printed < 0
        if save is not None and on_printed != label:
            (save / kind).mkdir(parents=True, exist_ok=True)
            (save / kind / f"{i:04d}-{source}-label{label}-read{on_printed}.jpg").write_bytes(printed)
    return printed_right, plain_right, none


def run_numbers(kind: str, predictor: Predictor, shapes: DigitShapes, count: int, seed: int, turn: float = 0.0):
    """(numbers read exactly on printed paper, on plain paper) of `count` pairs, each turned `turn` degrees."""
    rng = np.random.default_rng([seed, 100 + NUMBER_KINDS.index(kind)])
    printed_right = plain_right = 0
    for _ in range(count):
        printed, plain, digits = paper_number(shapes, rng, kind)
        printed, plain = askew(printed, turn), askew(plain, turn)
        printed_right += read(predictor, printed) == digits
        plain_right += read(predictor, plain) == digits
    return printed_right, plain_right


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=200, help="photo pairs per kind (default: 200)")
    parser.add_argument("--numbers", type=int, default=100, help="number photo pairs per kind (default: 100)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default: 0)")
    parser.add_argument(
        "--checkpoint", default="checkpoints/lenet5", help="checkpoint folder (default: checkpoints/lenet5)"
    )
    parser.add_argument("--data-dir", default=None, help="MNIST root (default: $LENET_DATA_DIR, else data/)")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated kinds (default: {','.join(KINDS)})")
    parser.add_argument(
        "--turn", type=float, default=0.0, help="turn every photo this many degrees, the page askew (default: 0)"
    )
    parser.add_argument("--save", type=Path, default=None, help="write every photo read wrong here")
    args = parser.parse_args()
    if args.per_kind < 1 or args.numbers < 0:
        parser.error("--per-kind must be 1 or more and --numbers 0 or more")
    if not (math.isfinite(args.turn) and abs(args.turn) < 45):
        parser.error("--turn must be a number of degrees between -45 and 45 (a page turned further is sideways)")
    kinds = args.kinds.split(",")
    if unknown := sorted(set(kinds) - set(KINDS)):
        parser.error(f"unknown kind {', '.join(unknown)}; choose from {', '.join(KINDS)}")

    torch.set_grad_enabled(False)
    predictor = Predictor.from_checkpoint(args.checkpoint)
    images, labels = load_mnist(args.data_dir, train=False)
    shapes = DigitShapes(images.numpy(), labels.numpy(), find_fonts())
    turned = f", turned {args.turn:g} degrees" if args.turn else ""
    print(f"checkpoint {args.checkpoint}; {args.per_kind} photo pairs per kind, seed {args.seed}{turned}")
    print(f"{'kind':11} {'printed':>8} {'plain':>7} {'gap':>6}  {'no digit':>8}")
    missed = []
    for kind in kinds:
        printed_right, plain_right, none = run_kind(
            kind, predictor, shapes, args.per_kind, args.seed, args.save, args.turn
        )
        gap = (printed_right - plain_right) / args.per_kind  # negative where the printing costs digits
        if gap < -GOAL:
            missed.append(kind)
        print(
            f"{kind:11} {printed_right / args.per_kind:8.1%} {plain_right / args.per_kind:7.1%} "
            f"{100 * gap:+5.1f}p  {none:8d}",
            flush=True,
        )
    if args.numbers:
        print(f"numbers of 2-6 digits, read exactly; {args.numbers} photo pairs per kind")
        for kind in NUMBER_KINDS:
            printed_right, plain_right = run_numbers(kind, predictor, shapes, args.numbers, args.seed, args.turn)
            gap = (printed_right - plain_right) / args.numbers
            if gap < -GOAL:
                missed.append(f"{kind} numbers")
            print(
                f"{kind:11} {printed_right / args.numbers:8.1%} {plain_right / args.numbers:7.1%} {100 * gap:+5.1f}p",
                flush=True,
            )
    print(
        f"goal: no kind more than {100 * GOAL:.0f} points below plain paper:",
        f"missed by {', '.join(missed)}" if missed else "met",
    )


if __name__ == "__main__":
    main()
