"""Pull: a model from a checkpoint folder or a Hub repo at a pinned revision, and what the app serves.

The token is whatever huggingface_hub finds (HF_TOKEN, or `hf auth login`); nothing here reads,
prints, logs or writes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from lenet.checkpoint import WEIGHTS_NAME, CheckpointError, load_model
from lenet.hub.errors import HubError, hub_errors
from lenet.model import LeNet5

log = logging.getLogger("lenet.hub")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
PIN_FILE = "model-pin.json"  # in a deployed Space: {"repo_id": ..., "revision": ...} that app.py serves


def load_pretrained(source: str | Path, revision: str | None = None) -> LeNet5:
    """A LeNet5 from a checkpoint folder, or from a Hub repo id at `revision` (a commit sha to pin;
    None = main). Safetensors only, strict; offline (HF_HUB_OFFLINE=1) it loads from the cache."""
    if Path(source).is_dir():
        return load_model(source)
    with hub_errors(f"{source}@{revision or 'main'}"):
        try:
            return LeNet5.from_pretrained(str(source), revision=revision)
        except ValueError as err:  # a malformed repo id or revision
            raise HubError(f"{source}@{revision or 'main'}: {err}") from None


def serving_pin(folder: str | Path = PROJECT_ROOT) -> tuple[str | None, str | None]:
    """(repo id, revision) the app should serve: LENET_REPO_ID / LENET_REVISION when set, else the
    pin that `deploy-space` wrote into the Space (model-pin.json), else (None, None)."""
    if os.environ.get("LENET_REPO_ID"):
        return os.environ["LENET_REPO_ID"], os.environ.get("LENET_REVISION") or None
    pin_file = Path(folder) / PIN_FILE
    if not pin_file.is_file():
        return None, None
    try:
        pin = json.loads(pin_file.read_text())
        return str(pin["repo_id"]), str(pin["revision"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("ignoring %s (%s)", pin_file, err)
        return None, None


@dataclass(frozen=True)
class Serving:
    """Which weights the app serves: a Hub repo at a revision, or the bundled folder (repo_id None,
    and the revision is the first 16 hex digits of its model.safetensors' SHA-256). Prints as the log line."""

    repo_id: str | None
    revision: str
    line: str

    def __str__(self) -> str:
        return self.line


def load_serving_model(repo_id: str | None, revision: str | None, bundled: str | Path) -> tuple[LeNet5, Serving]:
    """The model the app serves and which it is: the Hub repo at `revision` when `repo_id` is set and
    loads, else the `bundled` checkpoint (the Hub being down must not take the app down)."""
    if repo_id:
        try:
            model = load_pretrained(repo_id, revision)
            line = f"serving {repo_id} at revision {revision or 'main'} from the Hub"
            return model, Serving(repo_id, revision or "main", line)
        except (HubError, CheckpointError) as err:
            log.warning("could not load %s (%s); falling back to the bundled weights", repo_id, err)
    model = load_model(bundled)
    digest = hashlib.sha256((Path(bundled) / WEIGHTS_NAME).read_bytes()).hexdigest()[:16]
    return model, Serving(None, digest, f"serving the bundled weights from {bundled}")
