"""MNIST loading, the validation split, permutation batches and batch augmentation on the real files."""

from __future__ import annotations

import torch

from lenet.training.augment import AugmentConfig, augment
from lenet.training.data import iterate_batches, split_train_val


def test_split_is_disjoint_and_seeded(mnist_train):
    images, labels = mnist_train
    index = torch.arange(len(images))
    (train_index, _), (val_index, _) = split_train_val(index, labels, val_size=5000, seed=0)
    assert len(val_index) == 5000 and len(train_index) == 55_000
    assert set(train_index.tolist()).isdisjoint(val_index.tolist())
    (_, _), (again, _) = split_train_val(index, labels, val_size=5000, seed=0)
    assert torch.equal(again, val_index)


def test_batches_cover_every_image_once(mnist_test):
    images, _ = mnist_test
    index = torch.arange(len(images))
    seen = []
    for pixels, batch_index in iterate_batches(images, index, 384, generator=torch.Generator().manual_seed(3)):
        assert pixels.dtype == torch.float32 and pixels.shape[1:] == (1, 28, 28)
        assert pixels.min() >= 0.0 and pixels.max() <= 1.0
        assert torch.equal(pixels[:, 0], images[batch_index].float() / 255)
        seen.append(batch_index)
    seen = torch.cat(seen)
    assert sorted(seen.tolist()) == list(range(len(images)))
    assert not torch.equal(seen, index), "batches should come in a shuffled order"


def centre(pixels):
    """(N, 1, H, W) -> (N, 2) centre of mass (row, column)."""
    rows = torch.arange(pixels.shape[2], dtype=torch.float32).view(1, 1, -1, 1)
    cols = torch.arange(pixels.shape[3], dtype=torch.float32).view(1, 1, 1, -1)
    mass = pixels.sum(dim=(1, 2, 3))
    return torch.stack([(pixels * rows).sum(dim=(1, 2, 3)) / mass, (pixels * cols).sum(dim=(1, 2, 3)) / mass], 1)


def test_augment_warps_each_image_differently_and_reproducibly(mnist_test):
    images, _ = mnist_test
    pixels = images[:64].unsqueeze(1).float() / 255
    config = AugmentConfig(rotate=12, scale=0.12, shear=0.25, translate=2.5, elastic=1.0, stroke=0.3)
    first = augment(pixels, config, torch.Generator().manual_seed(0))
    again = augment(pixels, config, torch.Generator().manual_seed(0))
    other = augment(pixels, config, torch.Generator().manual_seed(1))
    assert first.shape == pixels.shape
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert (first - pixels).abs().flatten(1).sum(1).min() > 0, "every image should be changed"
    # A warp moves and reshapes the ink but keeps the digit: its amount stays within the zoom and
    # stroke-width ranges, its centre within a few pixels, and its peak intensity unchanged.
    ratio = first.flatten(1).sum(1) / pixels.flatten(1).sum(1)
    assert ratio.min() > 0.4 and ratio.max() < 2.0
    assert (centre(first) - centre(pixels)).norm(dim=1).max() < 5
    assert (first.amax(dim=(1, 2, 3)) > 0.8).all()
    assert augment(pixels, AugmentConfig(), torch.Generator()) is pixels


def test_rendering_through_the_pipeline_in_this_process_leaves_its_threads(mnist_test, tmp_path):
    """A few images are rendered in the caller's own process (one chunk), whose torch threads the
    renderer set to 1 and left so: a dry run's --threads 2 trained, and reported, on one thread."""
    from lenet.training.data import through_pipeline

    images, _ = mnist_test
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        rendered = through_pipeline(images[:20], "threads", cache_dir=tmp_path)
        assert rendered.shape == (20, 28, 28) and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
