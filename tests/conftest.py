"""Shared fixtures: the real MNIST files (never downloaded in tests) and the repository paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from lenet.data import DATA_DIR_ENV, load_mnist, resolve_data_dir

ROOT = Path(__file__).resolve().parent.parent
RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = resolve_data_dir()
    missing = [name for name in RAW_FILES if not (root / "MNIST" / "raw" / name).is_file()]
    if missing:
        pytest.fail(f"MNIST is not under {root}/MNIST/raw (missing {missing}); set {DATA_DIR_ENV} to its root")
    return root.resolve()


@pytest.fixture(scope="session")
def mnist_test(data_dir) -> tuple[torch.Tensor, torch.Tensor]:
    return load_mnist(data_dir, train=False)


@pytest.fixture(scope="session")
def mnist_train(data_dir) -> tuple[torch.Tensor, torch.Tensor]:
    return load_mnist(data_dir, train=True)


@pytest.fixture
def cli_env(data_dir) -> dict[str, str]:
    """Environment for `python -m lenet` subprocesses: the repo importable, the data root set."""
    return {**os.environ, "PYTHONPATH": str(ROOT), DATA_DIR_ENV: str(data_dir)}
