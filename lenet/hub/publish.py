"""Push: a checkpoint folder to a Hub model repo in one commit, with the model card built from it.

The token is whatever huggingface_hub finds (HF_TOKEN, or `hf auth login`); nothing here reads,
prints, logs or writes it.
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import CommitOperationAdd, HfApi

from lenet.checkpoint import METRICS_NAME, CheckpointError, checkpoint_files, load_model, read_metrics
from lenet.hub.card import model_card
from lenet.hub.errors import HubError, hub_errors


def empty_folder(out: str | Path) -> Path:
    """`out`, made if missing; a HubError if it holds anything (a dry run writes exactly what it would upload)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HubError(f"{out} is a file; a dry run writes what would be uploaded into a new folder")
    if out.exists() and any(out.iterdir()):
        raise HubError(f"{out} is not empty; a dry run writes exactly what would be uploaded, into a new folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file where a folder is asked for, or no permission
        raise HubError(f"cannot make {out}: {err.strerror}") from None
    return out


def push(
    checkpoint: str | Path,
    repo_id: str,
    private: bool = False,
    space_id: str | None = None,
    out: str | Path | None = None,
) -> str | None:
    """Push a checkpoint folder to the Hub model repo `repo_id` in one commit and return the commit
    sha to pin: its own files, byte for byte (model.safetensors, config.json, metrics.json), and
    README.md, the model card built from them. With `out`, write those files there instead and
    upload nothing (returns None)."""
    model = load_model(checkpoint)  # strictly: a checkpoint that does not load is not pushed
    metrics = read_metrics(checkpoint)
    where = Path(checkpoint) / METRICS_NAME
    if metrics is None:
        raise CheckpointError(f"{where} is missing: the model card is built from it")
    accuracy = metrics.get("test_accuracy") if isinstance(metrics, dict) else None
    if isinstance(accuracy, bool) or not isinstance(accuracy, int | float) or not 0 <= accuracy <= 1:
        raise CheckpointError(f"{where} has no test_accuracy between 0 and 1 (a digit classifier's): got {accuracy!r}")
    files = checkpoint_files(checkpoint)
    try:
        files["README.md"] = str(model_card(model, metrics, repo_id, space_id)).encode()
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as err:  # a field of the wrong shape
        raise CheckpointError(f"{where} has a field the model card cannot use: {err}") from None
    if out is not None:
        folder = empty_folder(out)
        for name, content in files.items():
            (folder / name).write_bytes(content)
        return None
    message = f"LeNet-5 {metrics.get('recipe', '')}: {metrics['test_accuracy']:.2%} MNIST test accuracy"
    api = HfApi()
    with hub_errors(f"push to {repo_id}"):
        api.create_repo(repo_id, private=private, exist_ok=True)
        operations = [CommitOperationAdd(name, content) for name, content in files.items()]
        commit = api.create_commit(repo_id, operations=operations, commit_message=message)
    return commit.oid
