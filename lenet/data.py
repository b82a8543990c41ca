"""MNIST as whole uint8 tensors: loading from a data root, a held-out split, and permutation batches."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import torch

DATA_DIR_ENV = "LENET_DATA_DIR"
DEFAULT_DATA_DIR = "data"


class DataError(RuntimeError):
    """MNIST could not be found or fetched under the data root."""


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data root: an explicit `--data-dir`, else $LENET_DATA_DIR, else `data/`."""
    return Path(data_dir or os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def load_mnist(data_dir: str | Path | None = None, train: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, 28, 28) uint8, labels (N,) int64) of the MNIST train or test set.

    torchvision reads `<root>/MNIST/raw/` and downloads there only when the files are missing.
    """
    from torchvision.datasets import MNIST  # deferred: torchvision's import costs ~1 s

    root = resolve_data_dir(data_dir)
    try:
        dataset = MNIST(str(root), train=train, download=True)
    except (RuntimeError, OSError) as err:
        reason = (str(err).strip() or type(err).__name__).splitlines()[0]  # torchvision appends tracebacks
        raise DataError(
            f"MNIST is not under {root}/MNIST/raw and could not be downloaded ({reason}). "
            f"Point --data-dir or ${DATA_DIR_ENV} at a folder that holds it."
        ) from None
    return dataset.data, dataset.targets


def split_train_val(
    images: torch.Tensor, labels: torch.Tensor, val_size: int, seed: int = 0
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Hold out `val_size` random training images for validation; the test set stays untouched."""
    if not 0 <= val_size < len(images):
        raise ValueError(f"val_size must be in [0, {len(images)}), got {val_size}")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    val, train = order[:val_size], order[val_size:]
    return (images[train], labels[train]), (images[val], labels[val])


def iterate_batches(
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (pixels (B, 1, 28, 28) float in [0, 1], labels (B,)) in a random order, or in order
    when no generator is given. Indexing a preloaded tensor replaces a per-sample DataLoader."""
    count = len(images)
    order = torch.randperm(count, generator=generator) if generator is not None else torch.arange(count)
    stop = count - count % batch_size if drop_last else count
    for start in range(0, stop, batch_size):
        index = order[start : start + batch_size]
        yield to_pixels(images[index]), labels[index]


def to_pixels(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) in [0, 1], the model's input."""
    return images.unsqueeze(1).float().div_(255.0)
