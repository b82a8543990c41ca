"""Writes the app's example images: mouse-style drawings and phone-style photos, one digit each.

    python -m examples.make_examples [--data-dir ../shared/data] [--seed 3]

They come from testkit/wild.py's generators (stroke templates, fonts and MNIST *test* digits,
drawn on transparent canvases or photographed on paper), so they are rendered, not real photos.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lenet.predict import Predictor
from lenet.training.data import load_mnist
from testkit.wild import DigitShapes, find_fonts, photo, sketch

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=None, help="MNIST root (default: $LENET_DATA_DIR, else data/)")
    parser.add_argument("--seed", type=int, default=3, help="generator seed (default: 3)")
    parser.add_argument("--count", type=int, default=6, help="examples of each kind (default: 6)")
    args = parser.parse_args()

    images, labels = load_mnist(args.data_dir, train=False)
    shapes = DigitShapes(images.numpy(), labels.numpy(), find_fonts())
    predictor = Predictor.from_checkpoint()
    rng = np.random.default_rng(args.seed)
    for kind, generate, suffix in (("drawn", sketch, "png"), ("photo", photo, "jpg")):
        seen: set[int] = set()
        while len(seen) < args.count:
            data, label, _ = generate(shapes, rng)
            # Distinct digits, and only ones the shipped model gets right: examples show the app working.
            if label in seen or predictor.predict(data).label != str(label):
                continue
            seen.add(label)
            path = HERE / f"{kind}-{label}.{suffix}"
            path.write_bytes(data)
            print(f"wrote {path.relative_to(HERE.parent)} ({len(data) // 1024} KiB)")


if __name__ == "__main__":
    main()
