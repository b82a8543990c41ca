"""Loading weights from a local folder or a Hub repo at a pinned revision, with the app's fallback."""

from __future__ import annotations

import logging
from pathlib import Path

from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

from lenet.model import CheckpointError, LeNet5, load_model

log = logging.getLogger("lenet.hub")


class HubError(RuntimeError):
    """A Hub repo or revision is missing, or the Hub cannot be reached and nothing is cached."""


def load_pretrained(source: str | Path, revision: str | None = None) -> LeNet5:
    """A LeNet5 from a checkpoint folder, or from a Hub repo id at `revision` (a commit sha to pin;
    None = main). Safetensors only, strict; offline (HF_HUB_OFFLINE=1) it loads from the cache."""
    if Path(source).is_dir():
        return load_model(source)
    try:
        return LeNet5.from_pretrained(str(source), revision=revision)
    except LocalEntryNotFoundError:
        raise HubError(f"{source}@{revision or 'main'}: not in the local cache and the Hub cannot be reached") from None
    except HfHubHTTPError as err:  # covers missing repos, missing revisions and server errors
        reason = str(err).splitlines()[0]
        raise HubError(f"{source}@{revision or 'main'}: {reason}") from None
    except (OSError, ValueError) as err:  # connection refused, bad repo id
        raise HubError(f"{source}@{revision or 'main'}: {err}") from None


def load_serving_model(repo_id: str | None, revision: str | None, bundled: str | Path) -> tuple[LeNet5, str]:
    """The model the app serves and a line saying which: the Hub repo at `revision` when `repo_id`
    is set and loads, else the `bundled` checkpoint (the Hub being down must not take the app down)."""
    if repo_id:
        try:
            model = load_pretrained(repo_id, revision)
            return model, f"serving {repo_id} at revision {revision or 'main'} from the Hub"
        except (HubError, CheckpointError) as err:
            log.warning("could not load %s (%s); falling back to the bundled weights", repo_id, err)
    return load_model(bundled), f"serving the bundled weights from {bundled}"
