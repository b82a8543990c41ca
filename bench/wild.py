"""Top-1 accuracy on synthetic real-world digits: the project's pipeline vs a naive resize to 28x28.

    python -m bench.wild [--per-set 1000] [--seed 0] [--checkpoint checkpoints/lenet5] [--save DIR] [--figure PNG]

Four sets, generated with a fixed seed by testkit/wild.py:
  (a) sketch: mouse-like strokes on 800x800 transparent canvases, brush 4-40 px, digit 25-90% tall;
  (b) photo: digits on paper with colour casts, lighting gradients, shadows, specks, noise, blur,
      rotation, JPEG 50-90, some stored sideways with an EXIF orientation tag;
  (c) pasted: MNIST test digits pasted small into large canvases of both polarities;
  (d) screen: a digit on a screen in light or dark mode, photographed in its bezel in a darker or
      lighter room, with glow, moire, tilt, blur and JPEG; a fifth run off the photo.
Digits for (a), (b) and (d) come from MNIST test images, this machine's fonts and stroke templates. Each
image is encoded (PNG/JPEG) and decoded again, as an upload would be. The naive baseline opens the
same bytes, converts to greyscale and resizes to 28x28. Target: >= 98% top-1 on every set.
"""

from __future__ import annotations

import argparse
import collections
import io
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from lenet.pipeline.preprocess import ImageError, NoDigitError, preprocess
from lenet.predict import Predictor
from lenet.training.data import load_mnist
from testkit.wild import DigitShapes, find_fonts, pasted, photo, screen, sketch

SETS = {"sketch": sketch, "photo": photo, "pasted": pasted, "screen": screen}


def naive_pixels(data: bytes) -> torch.Tensor:
    """The baseline: greyscale, resized to 28x28, nothing else. (1, 28, 28) in [0, 1]."""
    image = Image.open(io.BytesIO(data)).convert("L").resize((28, 28), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)[None]


def run_set(name: str, predictor: Predictor, shapes: DigitShapes, count: int, seed: int, save: Path | None):
    """Generate `count` images of one set; returns counts and timings for the pipeline and the baseline."""
    rng = np.random.default_rng([seed, list(SETS).index(name)])
    right = collections.Counter()
    total = collections.Counter()
    naive_right = 0
    no_digit = 0
    seconds = 0.0
    for i in range(count):
        data, label, source = SETS[name](shapes, rng)
        total[source] += 1
        start = time.perf_counter()
        try:
            model_input = preprocess(data)
        except (ImageError, NoDigitError):
            no_digit += 1
            guess = -1
        else:
            guess = int(predictor.probabilities(model_input.pixels[None])[0].argmax())
        seconds += time.perf_counter() - start
        right[source] += guess == label
        naive_right += int(predictor.probabilities(naive_pixels(data)[None])[0].argmax()) == label
        if save is not None and (guess != label or i < 8):
            folder = save / name
            folder.mkdir(parents=True, exist_ok=True)
            suffix = "jpg" if data[:2] == b"\xff\xd8" else "png"
            tag = "ok" if guess == label else f"wrong-{guess}"
            (folder / f"{i:04d}-{source}-label{label}-{tag}.{suffix}").write_bytes(data)
            if guess >= 0:
                model_input.preview.resize((112, 112), Image.Resampling.NEAREST).save(
                    folder / f"{i:04d}-{source}-label{label}-{tag}-seen.png"
                )
    return right, total, naive_right, no_digit, seconds


def before_after(shapes: DigitShapes, seed: int, path: Path, per_set: int = 3) -> None:
    """A figure of a few generated inputs per set (one row each): the image, what a naive resize
    gives, and what the pipeline gives the model."""
    from PIL import ImageDraw

    tile, gap, header = 128, 6, 22
    group = 3 * tile + 2 * gap + 4 * gap  # one input | naive | pipeline triple and the space after it
    figure = Image.new("RGB", (per_set * group, header + len(SETS) * (tile + gap)), "white")
    pen = ImageDraw.Draw(figure)
    for g in range(per_set):
        for column, title in enumerate(("input", "naive resize", "pipeline")):
            pen.text((g * group + column * (tile + gap) + 4, 5), title, fill="black")
    for row, generate in enumerate(SETS.values()):
        rng = np.random.default_rng([seed, 99, row])
        top = header + row * (tile + gap)
        for g in range(per_set):
            data, _, _ = generate(shapes, rng)
            original = Image.open(io.BytesIO(data))
            if original.mode == "RGBA":  # show a transparent canvas on white, as the app shows it
                white = Image.new("RGBA", original.size, "white")
                white.alpha_composite(original)
                original = white
            original = ImageOps.exif_transpose(original).convert("RGB")
            original.thumbnail((tile, tile))
            left = g * group
            figure.paste(original, (left + (tile - original.width) // 2, top + (tile - original.height) // 2))
            naive = Image.fromarray((naive_pixels(data)[0].numpy() * 255).astype(np.uint8))
            for column, small in ((1, naive), (2, preprocess(data).preview)):
                small = small.resize((tile, tile), Image.Resampling.NEAREST).convert("RGB")
                figure.paste(small, (left + column * (tile + gap), top))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.save(path)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-set", type=int, default=1000, help="images per set (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default: 0)")
    parser.add_argument(
        "--checkpoint", default="checkpoints/lenet5", help="checkpoint folder (default: checkpoints/lenet5)"
    )
    parser.add_argument("--data-dir", default=None, help="MNIST root (default: $LENET_DATA_DIR, else data/)")
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated sets (default: {','.join(SETS)})")
    parser.add_argument("--save", type=Path, default=None, help="write the first and every wrong image here")
    parser.add_argument("--figure", type=Path, default=None, help="also write a before/after figure (PNG) here")
    args = parser.parse_args()
    if args.per_set < 1:
        parser.error("--per-set must be 1 or more")

    torch.set_grad_enabled(False)
    predictor = Predictor.from_checkpoint(args.checkpoint)
    images, labels = load_mnist(args.data_dir, train=False)
    fonts = find_fonts()
    shapes = DigitShapes(images.numpy(), labels.numpy(), fonts)
    if args.figure:
        before_after(shapes, args.seed, args.figure)
    print(f"checkpoint {args.checkpoint}; {args.per_set} images per set, seed {args.seed}; {len(fonts)} fonts")
    print(f"{'set':8} {'pipeline':>9} {'naive':>7}  {'no digit':>8}  {'ms/img':>6}  by source")
    failed = False
    for name in args.sets.split(","):
        right, total, naive_right, no_digit, seconds = run_set(
            name, predictor, shapes, args.per_set, args.seed, args.save
        )
        accuracy = sum(right.values()) / args.per_set
        failed |= accuracy < 0.98
        by_source = "  ".join(f"{s} {right[s] / total[s]:.1%} ({total[s]})" for s in sorted(total))
        print(
            f"{name:8} {accuracy:9.1%} {naive_right / args.per_set:7.1%}  {no_digit:8d}  "
            f"{1000 * seconds / args.per_set:6.1f}  {by_source}",
            flush=True,
        )
    print("target >= 98.0% on every set:", "met" if not failed else "NOT met")


if __name__ == "__main__":
    main()
