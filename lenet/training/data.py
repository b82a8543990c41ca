"""MNIST as whole uint8 tensors: loading, a held-out split, permutation batches, and pipeline-rendered copies."""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

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
    made = [folder for folder in (root, root / "MNIST", root / "MNIST" / "raw") if not folder.exists()]
    try:
        dataset = MNIST(str(root), train=train, download=True)
    except (RuntimeError, OSError) as err:
        for folder in reversed(made):  # torchvision made them for a download that failed: no empty folders left
            with contextlib.suppress(OSError):
                folder.rmdir()
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
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) in [0, 1], the model's input. (N, K, 28, 28), K
    versions of each image, passes through as float (N, K, 28, 28)."""
    return (images.unsqueeze(1) if images.dim() == 3 else images).float().div_(255.0)


def pipeline_version() -> str:
    """A short hash of the preprocessing code: images rendered by another version are not reused."""
    package = Path(__file__).resolve().parents[1] / "pipeline"
    digest = hashlib.sha256()
    for name in ("decode.py", "ink.py", "strokes.py", "place.py", "preprocess.py"):
        digest.update((package / name).read_bytes())
    return digest.hexdigest()[:12]


def _render_chunk(images: np.ndarray) -> np.ndarray:
    from lenet.pipeline.preprocess import NoDigitError, preprocess

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one process per core does the parallel work
    out = np.zeros((len(images), 28, 28), np.uint8)
    try:
        for i, image in enumerate(images):
            try:
                out[i] = np.asarray(preprocess(image).preview)
            except NoDigitError:  # a digit too faint to find stays as MNIST has it (other sizes: blank)
                if image.shape == (28, 28):
                    out[i] = image
    finally:
        torch.set_num_threads(threads)  # a chunk rendered in the caller's own process leaves its threads be
    return out


def through_pipeline(images: torch.Tensor, name: str, cache_dir: str | Path | None = None) -> torch.Tensor:
    """uint8 (N, H, W) images, MNIST digits or anything built from them -> uint8 (N, 28, 28): the same
    images as the preprocessing pipeline renders them, so training sees exactly what the app and the
    CLI will feed the model.

    Computed once on all cores (a few ms per image), then cached (cached_tensors), keyed by the
    images and the code's hash.
    """
    digest = hashlib.sha256(images.numpy().tobytes()).hexdigest()[:12]

    def render() -> dict[str, torch.Tensor]:
        chunks = np.array_split(images.numpy(), max(1, len(images) // 1000))
        return {"images": torch.from_numpy(np.concatenate(on_all_cores(_render_chunk, chunks)))}

    def holds_these(tensors: dict[str, torch.Tensor]) -> bool:
        rendered = tensors.get("images")
        return rendered is not None and rendered.shape == (len(images), 28, 28) and rendered.dtype == torch.uint8

    key = f"{name}-{len(images)}-{digest}-pipeline-{pipeline_version()}"
    return cached_tensors(key, render, cache_dir, valid=holds_these)["images"]


def on_all_cores(work, items: list) -> list:
    """[work(item) for item in items], in one process per core (spawned: fork and torch's thread
    pools do not mix); `work` must be a module-level function."""
    workers = min(os.cpu_count() or 1, len(items))
    if workers <= 1:
        return [work(item) for item in items]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(work, items))


def cached_tensors(
    key: str, make, cache_dir: str | Path | None = None, valid=lambda tensors: True
) -> dict[str, torch.Tensor]:
    """make() -> {name: tensor}, computed once and kept as safetensors under `cache_dir` (default
    $XDG_CACHE_HOME/lenet, else ~/.cache/lenet) as `key`.safetensors. A file that cannot be read, or
    whose tensors `valid` refuses (not the names, shapes or types make() gives), is never trusted:
    it is made again and replaced. A cache that cannot be written only means computing it again."""
    cache_root = (
        Path(cache_dir) if cache_dir else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lenet"
    )
    path = cache_root / f"{key}.safetensors"
    if path.is_file():
        with contextlib.suppress(Exception):
            cached = load_file(str(path))
            if valid(cached):
                return cached
    result = make()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        save_file({name: tensor.contiguous() for name, tensor in result.items()}, str(partial))
        partial.replace(path)
    return result
