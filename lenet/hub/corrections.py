"""Corrections on the Hub: a local corrections folder pushed to a dataset repo in batches (huggingface_hub's
CommitScheduler), and a folder or dataset repo brought here to train or evaluate on."""

from __future__ import annotations

import logging
from pathlib import Path

from huggingface_hub import CommitScheduler, snapshot_download
from huggingface_hub.errors import HFValidationError

from lenet.corrections import CARD_NAME, DATA_DIR, CorrectionStore
from lenet.hub.errors import HubError, hub_errors

log = logging.getLogger("lenet.hub")
PUSH_MINUTES = 5.0  # one commit per batch of corrections, never one per click
PATTERNS = [f"{DATA_DIR}/**", CARD_NAME]  # the dataset's files, nothing else the folder may hold


def push_on_schedule(folder: str | Path, repo_id: str, every_minutes: float = PUSH_MINUTES) -> CommitScheduler:
    """A CommitScheduler that pushes `folder`'s new corrections to the dataset repo `repo_id` every
    `every_minutes`, creating the repo (private) if it does not exist; the token is whatever
    huggingface_hub finds (HF_TOKEN). Pass its `lock` to the CorrectionStore. HubError when the
    repo cannot be created or reached."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    with hub_errors(f"dataset {repo_id}"):
        return CommitScheduler(
            repo_id=repo_id,
            repo_type="dataset",
            folder_path=folder,
            every=every_minutes,
            allow_patterns=PATTERNS,
            private=True,  # people's drawings: public only when the repo's owner decides so
        )


def open_corrections(folder: str | Path, repo_id: str | None = None) -> CorrectionStore | None:
    """The app's store of corrections in `folder` ("" = saving turned off: None), pushed to the
    dataset repo `repo_id` in batches when given. A repo that cannot be reached leaves the
    corrections on local disk, with a warning: feedback must not keep the app from starting."""
    if not str(folder):
        return None
    if repo_id:
        try:
            scheduler = push_on_schedule(folder, repo_id)
            log.info("corrections go to %s and are pushed to dataset %s every %g min", folder, repo_id, PUSH_MINUTES)
            return CorrectionStore(folder, lock=scheduler.lock)
        except (HubError, HFValidationError) as err:  # unreachable, refused, or not a repo id
            log.warning("corrections stay in %s, not pushed: %s", folder, err)
        except OSError as err:  # the folder cannot be made: each save will say so
            log.warning("corrections cannot be kept in %s: %s", folder, err.strerror or err)
    return CorrectionStore(folder)


def corrections_folder(source: str | Path, revision: str | None = None) -> Path:
    """A local folder of corrections: `source` itself when it is a folder, else the dataset repo
    `source` (at `revision`) downloaded into the Hub cache. HubError when it cannot be had."""
    if Path(source).is_dir():
        return Path(source)
    try:
        with hub_errors(f"dataset {source}@{revision or 'main'}"):
            local = snapshot_download(str(source), repo_type="dataset", revision=revision, allow_patterns=PATTERNS)
    except HFValidationError:
        raise HubError(f"{source}: neither a folder nor a dataset repo id (USER/NAME)") from None
    return Path(local)


__all__ = ["PUSH_MINUTES", "corrections_folder", "open_corrections", "push_on_schedule"]
