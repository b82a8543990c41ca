"""Corrections people send ("that was a 4, not a 9"): appended to a bounded folder that the Hub loads
as an image dataset (imagefolder: PNGs beside a metadata.jsonl, and a dataset card), and read back
as tensors to train or evaluate on.

Layout, one run folder per app process (so two replicas, or a restart, never append to one file):

    FOLDER/README.md                               the dataset card
    FOLDER/data/<run>/metadata.jsonl               one JSON object per correction
    FOLDER/data/<run>/<id>-input.png               the 28x28 image the model saw (grey levels, MNIST's way)
    FOLDER/data/<run>/<id>-original.png            the picture sent, at most 256 px a side

A row: {"input_file_name", "original_file_name", "label" (the right digit, 0-9), "predictions"
(the model's top 3: [{"label", "probability"}]), "model_repo", "model_revision", "created" (UTC,
ISO 8601)}. Nothing else: no name, address, session or device.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

log = logging.getLogger("lenet.corrections")
ROWS_NAME = "metadata.jsonl"
DATA_DIR = "data"
CARD_NAME = "README.md"
ORIGINAL_SIDE = 256  # the picture sent is kept at most this large: enough to see the digit, no more
# Bounds: a public app must not let anyone fill its disk or its dataset.
MAX_ROWS = 10_000
MAX_BYTES = 200 * 1024 * 1024  # every file under data/ together
PER_HOUR = 200  # from everyone together
PER_SENDER_HOUR = 20  # from one sender (the app passes the client's address; kept in memory only)


class CorrectionsError(ValueError):
    """A correction cannot be kept (a bound is reached, a bad label), or a folder holds no corrections."""


@dataclass(frozen=True)
class Correction:
    """One answer put right: what the model saw, the picture, the right digit and what the model said."""

    levels: np.ndarray  # (28, 28) uint8: the model's input
    original: Image.Image
    label: int
    predictions: list[tuple[str, float]]  # the model's top 3, most likely first
    model_repo: str | None  # None: the app's bundled weights
    model_revision: str


class CorrectionStore:
    """Appends corrections to `folder` as a Hub-loadable dataset, within MAX_ROWS, MAX_BYTES, PER_HOUR
    and PER_SENDER_HOUR. Thread-safe: each save holds `lock` (a CommitScheduler's, when the folder is pushed,
    so a commit never holds a row whose images are not written yet)."""

    def __init__(
        self,
        folder: str | Path,
        lock: AbstractContextManager | None = None,
        max_rows: int = MAX_ROWS,
        max_bytes: int = MAX_BYTES,
        per_hour: int = PER_HOUR,
        per_sender_hour: int = PER_SENDER_HOUR,
        clock: Callable[[], float] = time.time,
    ):
        self.folder = Path(folder)
        self.lock = lock or threading.Lock()
        self.max_rows, self.max_bytes, self.clock = max_rows, max_bytes, clock
        self.per_hour, self.per_sender_hour = per_hour, per_sender_hour
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run = self.folder / DATA_DIR / f"{stamp}-{uuid.uuid4().hex[:8]}"
        data = self.folder / DATA_DIR
        files = [path for path in data.rglob("*") if path.is_file()] if data.is_dir() else []
        self.rows = sum(_count_lines(path) for path in files if path.name == ROWS_NAME)
        self.bytes = sum(path.stat().st_size for path in files)
        self.recent: deque[tuple[float, str]] = deque()  # (time, sender) of each save in the last hour

    def save(self, correction: Correction, sender: str = "") -> None:
        """Write the two images, then the row that names them; CorrectionsError past a bound. `sender`
        (an address) counts against PER_SENDER_HOUR; it is never written."""
        if not (type(correction.label) is int and 0 <= correction.label <= 9):
            raise CorrectionsError("the right digit must be one of 0-9")
        with self.lock:
            now = self.clock()
            while self.recent and now - self.recent[0][0] > 3600:
                self.recent.popleft()
            if sum(1 for _, who in self.recent if who == sender) >= self.per_sender_hour:
                raise CorrectionsError("thank you: that is as many corrections as one sender can make in an hour")
            if len(self.recent) >= self.per_hour:
                raise CorrectionsError("the app has taken all the corrections it keeps this hour; please try later")
            if self.rows >= self.max_rows or self.bytes >= self.max_bytes:
                raise CorrectionsError("the app's store of corrections is full")
            stem = uuid.uuid4().hex[:12]
            input_path, original_path = self.run / f"{stem}-input.png", self.run / f"{stem}-original.png"
            row = {
                "input_file_name": input_path.name,
                "original_file_name": original_path.name,
                "label": correction.label,
                "predictions": [{"label": label, "probability": round(p, 4)} for label, p in correction.predictions],
                "model_repo": correction.model_repo,
                "model_revision": correction.model_revision,
                "created": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
            }
            line = (json.dumps(row) + "\n").encode()
            card = self.folder / CARD_NAME
            new_card = not card.exists()
            try:
                self.run.mkdir(parents=True, exist_ok=True)
                if new_card:
                    card.write_text(dataset_card())
                Image.fromarray(np.ascontiguousarray(correction.levels, dtype=np.uint8)).save(input_path)  # (28, 28)
                original = correction.original.copy()
                original.thumbnail((ORIGINAL_SIDE, ORIGINAL_SIDE))
                original.save(original_path)
                _append_whole(self.run / ROWS_NAME, line)
            except OSError:
                # A full disk: nothing half-written stays (a torn row would be joined to the next one,
                # and one bad line fails the whole dataset on the Hub), nor images without their row.
                for path in (input_path, original_path, *([card] if new_card else [])):
                    path.unlink(missing_ok=True)
                raise
            self.rows += 1
            self.recent.append((now, sender))
            self.bytes += input_path.stat().st_size + original_path.stat().st_size + len(line)


def _append_whole(path: Path, line: bytes) -> None:
    """Append `line` to `path` whole, or not at all: a write cut short (a full disk) is undone."""
    with open(path, "ab", buffering=0) as rows:
        start = rows.seek(0, os.SEEK_END)
        try:
            if rows.write(line) != len(line):
                raise OSError(28, "No space left on device")  # ENOSPC: a short write
        except OSError:
            rows.truncate(start)
            raise


def _count_lines(path: Path) -> int:
    with open(path, "rb") as file:
        return sum(1 for _ in file)


@dataclass(frozen=True)
class CorrectionSet:
    """Corrections read back: `images` (N, 28, 28) uint8 as MNIST stores digits, `labels` (N,) int64,
    and how many rows were skipped (unreadable, or naming a missing or wrong-sized image)."""

    images: torch.Tensor
    labels: torch.Tensor
    skipped: int


def load_corrections(folder: str | Path, name: str | None = None) -> CorrectionSet:
    """Every correction under `folder` (each metadata.jsonl, each row's 28x28 input and label).
    CorrectionsError, naming the folder as `name` if given, when there is none to read."""
    folder = Path(folder)
    root = Path(os.path.abspath(folder))
    images, labels, skipped = [], [], 0
    for rows in sorted(folder.rglob(ROWS_NAME)):
        for line in rows.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
                label, file_name = row["label"], row["input_file_name"]
                # Normalised, not resolved: a Hub snapshot's files are links into its cache, but a
                # name must not climb out of the folder ("../").
                path = Path(os.path.normpath(os.path.abspath(rows.parent / file_name)))
                if not (type(label) is int and 0 <= label <= 9 and path.is_relative_to(root)):
                    raise ValueError("a label outside 0-9, or a file outside the folder")
                with Image.open(path) as image:
                    if image.size != (28, 28):
                        raise ValueError("not 28x28")
                    images.append(np.asarray(image.convert("L")))
                labels.append(label)
            except (ValueError, TypeError, KeyError, OSError, UnidentifiedImageError):
                skipped += 1
    if not images:
        what = f"no {ROWS_NAME} naming a 28x28 input and a label"
        raise CorrectionsError(f"{name or folder}: no corrections found ({what})")
    if skipped:
        log.warning("%s: skipped %d unreadable correction(s)", name or folder, skipped)
    return CorrectionSet(torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.int64), skipped)


def dataset_card() -> str:
    """The corrections folder's README.md: what a row holds, how it was collected, how to load it."""
    return """---
task_categories:
- image-classification
tags:
- mnist
- handwritten-digits
- lenet
---

# Corrections to the LeNet-5 digit recognizer

Digits that people drew or photographed in the app, where the model's answer was wrong and the
person chose to send the right digit. Each row was saved only when its sender pressed the button
that said what would be kept.

| column | what it is |
|---|---|
| `input` | the 28x28 greyscale image the model saw (white digit on black, as MNIST) |
| `original` | the picture sent, reduced to at most 256 px a side |
| `label` | the right digit, 0-9, as the sender said |
| `predictions` | the model's top 3 (`label`, `probability`), most likely first |
| `model_repo`, `model_revision` | the model that answered (see below) |
| `created` | when it was saved (UTC) |

`model_repo` is `null` when the app served its bundled weights; `model_revision` is then the first
16 hex digits of their `model.safetensors`' SHA-256.

Nothing that identifies a person is kept: no name, address, session or device.

```python
from datasets import load_dataset

corrections = load_dataset("imagefolder", data_dir="PATH")  # or load_dataset("USER/REPO")
```

Train or evaluate on them with the project's CLI:
`python -m lenet train --recipe train/finetune.toml --extra-data PATH_OR_REPO` and
`python -m lenet evaluate --data PATH_OR_REPO`.
"""
