"""Training throughput: the project's tensor pipeline vs a per-sample DataLoader + PIL pipeline vs pure compute.

    python -m bench.train_throughput [--batches 60] [--rounds 3] [--batch-size 128] [--workers 0]

Measures, in one run on this machine with the same model, batch size and thread count:
  (a) the project's training step: batches indexed from one uint8 tensor, augmented as a batch
      (affine + elastic + stroke width) and trained;
  (b) the usual way: torchvision MNIST -> per-sample PIL RandomAffine + ElasticTransform ->
      ToTensor -> DataLoader -> the same training step;
  (c) the compute bound: forward/backward/step on preloaded tensors, no augmentation.
(a) and (c) are timed in alternating rounds and their medians compared, so a burst of load on a
shared machine does not land on one side only. Prints images/s for each and the ratios a/b
(target >= 2.5) and a/c (target >= 0.8).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import torch
import torch.nn.functional as F

from lenet.model import LeNet5
from lenet.training.augment import augment
from lenet.training.data import iterate_batches, load_mnist, resolve_data_dir
from lenet.training.recipe import Recipe


def timed(step, batches, warmup: int = 10) -> float:
    """images/s of `step` over an iterator of (pixels, labels), after `warmup` untimed batches."""
    seen, start = 0, None
    for i, (pixels, labels) in enumerate(batches):
        if i == warmup:
            start, seen = time.perf_counter(), 0
        step(pixels, labels)
        seen += len(labels)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="train/lenet5.toml", help="recipe whose model and augmentation to use")
    parser.add_argument("--batches", type=int, default=60, help="timed batches per round (default: 60)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of (a) and (c) (default: 3)")
    parser.add_argument("--batch-size", type=int, default=128, help="batch size (default: 128)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for (b) (default: 0)")
    parser.add_argument("--data-dir", default=None, help="MNIST root (default: $LENET_DATA_DIR, else data/)")
    args = parser.parse_args()

    recipe = Recipe.from_toml(args.recipe)
    torch.manual_seed(0)
    model = LeNet5(recipe.model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def train_step(pixels: torch.Tensor, labels: torch.Tensor) -> None:
        loss = F.cross_entropy(model(pixels), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    images, labels = load_mnist(args.data_dir, train=True)
    total = args.batches + 10
    generator = torch.Generator().manual_seed(0)

    # (a) the project's pipeline, exactly as train_one_epoch runs it.
    def project_step(pixels, target):
        train_step(augment(pixels, recipe.augment, generator, labels=target), target)

    def project_round() -> float:
        batches = iterate_batches(images, labels, args.batch_size, generator=generator)
        return timed(project_step, itertools.islice(batches, total))

    # (c) the compute bound: the same steps on tensors prepared in advance.
    prepared = list(itertools.islice(iterate_batches(images, labels, args.batch_size, generator=generator), total))

    def compute_round() -> float:
        return timed(train_step, iter(prepared))

    project_rates, compute_rates = [], []
    for _ in range(args.rounds):
        project_rates.append(project_round())
        compute_rates.append(compute_round())
    project, compute = statistics.median(project_rates), statistics.median(compute_rates)

    # (b) per-sample PIL transforms through a DataLoader, with the same ranges of augmentation.
    from torchvision import datasets, transforms

    aug = recipe.augment
    pil_pipeline = transforms.Compose(
        [
            transforms.RandomAffine(
                degrees=aug.rotate,
                translate=(aug.translate / 28, aug.translate / 28),
                scale=(1 - aug.scale, 1 + aug.scale),
                shear=torch.rad2deg(torch.atan(torch.tensor(aug.shear))).item(),
            ),
            transforms.ElasticTransform(alpha=aug.elastic * 8.0, sigma=5.0),
            transforms.ToTensor(),
        ]
    )
    dataset = datasets.MNIST(str(resolve_data_dir(args.data_dir)), train=True, transform=pil_pipeline)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True, num_workers=args.workers)
    per_sample = timed(train_step, itertools.islice(loader, total))

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}; (a), (c): median of "
        f"{args.rounds} alternating rounds of {args.batches} batches; (b): {args.batches} batches"
    )
    print(f"(a) project: tensor batches + batch augmentation   {project:>9,.0f} images/s")
    print(f"(b) DataLoader + per-sample PIL augmentation      {per_sample:>9,.0f} images/s  ({args.workers} workers)")
    print(f"(c) compute bound: preloaded, no augmentation     {compute:>9,.0f} images/s")
    print(f"a/b = {project / per_sample:.2f}  (target >= 2.5)")
    print(f"a/c = {project / compute:.2f}  (target >= 0.8)")


if __name__ == "__main__":
    main()
