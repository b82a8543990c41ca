"""The corrections flywheel, measured: the shipped model's own misses become corrections, a fine-tune
learns half of them, and this prints what changed, on them and on everything else.

    python -m bench.corrections [--per-set 1500] [--seed 10] [--fresh-per-set 1000] [--out runs/bench-corrections]

1. bench.wild's three sets (sketches, photos, pasted digits; seed --seed, not bench.wild's 0), built
   from MNIST *train* digits (the fine-tune must not see a test digit), go through the app's
   pipeline; every image the shipped model reads wrong is saved as a correction with its true
   digit, exactly as the app saves one (lenet.corrections.CorrectionStore).
2. Alternate misses go to a "learn" folder and a "held out" folder.
3. train/finetune.toml fine-tunes the shipped weights with the learn folder mixed in (--weight).
4. Before and after: accuracy on the learned misses, on the held-out misses (a correction should
   help beyond its own image), on a fresh bench.wild draw (seed 0 and MNIST test digits, as
   bench.wild's own), and on MNIST test (as stored, and through the pipeline).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lenet.checkpoint import load_model
from lenet.corrections import Correction, CorrectionStore, load_corrections
from lenet.pipeline.decode import decode
from lenet.pipeline.preprocess import ImageError, NoDigitError, preprocess
from lenet.predict import DEFAULT_CHECKPOINT, Predictor
from lenet.training.data import load_mnist, through_pipeline
from lenet.training.recipe import Recipe
from lenet.training.train import ExtraData, evaluate, train
from testkit.wild import DigitShapes, find_fonts, pasted, photo, sketch

SETS = {"sketch": sketch, "photo": photo, "pasted": pasted}
CPU = torch.device("cpu")


def wild_inputs(shapes: DigitShapes, per_set: int, seed: int) -> list[tuple[bytes, np.ndarray, int]]:
    """(image bytes, the pipeline's 28x28 levels, true digit) for bench.wild's sets at `seed`."""
    made = []
    for index, (name, generate) in enumerate(SETS.items()):
        rng = np.random.default_rng([seed, index])
        for _ in range(per_set):
            data, label, _ = generate(shapes, rng)
            try:
                made.append((data, preprocess(data).levels, label))
            except (ImageError, NoDigitError):
                continue  # bench.wild counts these; a correction needs an answer to correct
        print(f"  {name}: {per_set} images", flush=True)
    return made


def top3(predictor: Predictor, levels: np.ndarray) -> list[tuple[str, float]]:
    """The predictor's top 3 for one 28x28 input."""
    pixels = torch.from_numpy(levels.astype(np.float32) / 255).view(1, 1, 28, 28)
    return predictor.top_k(predictor.probabilities(pixels)[0])


def accuracy(model, levels: np.ndarray, labels: np.ndarray) -> float:
    return evaluate(model, torch.from_numpy(levels), torch.from_numpy(labels), CPU)["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-set", type=int, default=1500, help="images per set to mine misses from (default: 1500)")
    parser.add_argument("--seed", type=int, default=10, help="seed of the images mined (default: 10)")
    parser.add_argument("--fresh-per-set", type=int, default=1000, help="fresh images per set, seed 0 (default: 1000)")
    parser.add_argument(
        "--weight", type=float, default=0.01, help="the corrections' share of each epoch (default: 0.01)"
    )
    parser.add_argument("--recipe", default="train/finetune.toml", help="recipe (default: train/finetune.toml)")
    parser.add_argument("--out", default="runs/bench-corrections", help="where the fine-tuned model goes")
    parser.add_argument("--data-dir", default=None, help="MNIST root (default: $LENET_DATA_DIR, else data/)")
    args = parser.parse_args()

    start = time.perf_counter()
    shipped = Predictor.from_checkpoint(DEFAULT_CHECKPOINT, pieces=None)
    images, labels = load_mnist(args.data_dir, train=False)
    fonts = find_fonts()
    # Misses are mined from images built of MNIST *train* digits: the fine-tune must not see a test digit.
    train_images, train_labels = load_mnist(args.data_dir, train=True)
    print(f"mining the shipped model's misses: bench.wild's sets of MNIST train digits, seed {args.seed}")
    mined = wild_inputs(DigitShapes(train_images.numpy(), train_labels.numpy(), fonts), args.per_set, args.seed)
    misses = [item for item in mined if top3(shipped, item[1])[0][0] != str(item[2])]
    print(f"{len(misses)} misses in {len(mined)} images ({1 - len(misses) / len(mined):.2%} right)")

    with tempfile.TemporaryDirectory(prefix="lenet-corrections-") as scratch:
        folders = {"learn": Path(scratch) / "learn", "held out": Path(scratch) / "held-out"}
        stores = {name: CorrectionStore(folder) for name, folder in folders.items()}
        for i, (data, levels, label) in enumerate(misses):
            correction = Correction(levels, decode(data).as_seen(), label, top3(shipped, levels), None, "bench")
            stores["learn" if i % 2 == 0 else "held out"].save(correction)
        sets = {name: load_corrections(folder) for name, folder in folders.items()}

        recipe = Recipe.from_toml(args.recipe)
        extra = ExtraData("bench misses", sets["learn"].images, sets["learn"].labels, args.weight)
        train(recipe, out=args.out, data_dir=args.data_dir, extra=extra, log=lambda line: print(" ", line, flush=True))

    print(f"fresh images: bench.wild's sets, seed 0, {args.fresh_per_set} per set")
    fresh = wild_inputs(DigitShapes(images.numpy(), labels.numpy(), fonts), args.fresh_per_set, 0)
    fresh_levels, fresh_labels = np.stack([f[1] for f in fresh]), np.array([f[2] for f in fresh])
    mnist_pipeline = through_pipeline(images, "mnist-test")
    rows = []
    for name, model in (("shipped", load_model(DEFAULT_CHECKPOINT)), ("fine-tuned", load_model(args.out))):
        rows.append(
            (
                name,
                accuracy(model, sets["learn"].images.numpy(), sets["learn"].labels.numpy()),
                accuracy(model, sets["held out"].images.numpy(), sets["held out"].labels.numpy()),
                accuracy(model, fresh_levels, fresh_labels),
                evaluate(model, images, labels, CPU)["accuracy"],
                evaluate(model, mnist_pipeline, labels, CPU)["accuracy"],
            )
        )
    learn, held = len(sets["learn"].labels), len(sets["held out"].labels)
    columns = [f"learned ({learn})", f"held out ({held})", "fresh wild", "MNIST", "MNIST pipeline"]
    print("\n" + f"{'model':11} " + " ".join(f"{c:>15}" for c in columns))
    for name, *figures in rows:
        print(f"{name:11} " + " ".join(f"{v:>15.2%}" for v in figures))
    print(f"({args.recipe}, corrections {args.weight:.0%} of each epoch; {time.perf_counter() - start:.0f} s in all)")


if __name__ == "__main__":
    main()
