"""Push: a checkpoint folder to a Hub model repo in one commit, with the model card built from it.

The token is whatever huggingface_hub finds (HF_TOKEN, or `hf auth login`); nothing here reads,
prints, logs or writes it.
"""

from __future__ import annotations

from pathlib import Path

from lenet.checkpoint import read_metrics
from lenet.hub.errors import HubError, hub_errors
from lenet.model import CheckpointError, load_model


def empty_folder(out: str | Path) -> Path:
    """`out`, made if missing; a HubError if it holds anything (a dry run writes exactly what it would upload)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise HubError(f"{out} is not empty; a dry run writes exactly what would be uploaded, into a new folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def push(
    checkpoint: str | Path,
    repo_id: str,
    private: bool = False,
    space_id: str | None = None,
    out: str | Path | None = None,
) -> str | None:
    """Push a checkpoint folder to the Hub model repo `repo_id` in one commit (model.safetensors,
    config.json, README.md with the card) and return the commit sha to pin. With `out`, write that
    exact folder there instead and upload nothing (returns None)."""
    model = load_model(checkpoint)
    metrics = read_metrics(checkpoint)
    if not metrics or "test_accuracy" not in metrics:
        raise CheckpointError(f"{Path(checkpoint) / 'metrics.json'} is missing: the model card is built from it")
    card = {"metrics": metrics, "repo_id": repo_id, "space_id": space_id}
    if out is not None:
        # What push_to_hub uploads is exactly what save_pretrained writes into its temporary folder.
        model.save_pretrained(empty_folder(out), model_card_kwargs=card)
        return None
    message = f"LeNet-5 {metrics.get('recipe', '')}: {metrics['test_accuracy']:.2%} MNIST test accuracy"
    with hub_errors(f"push to {repo_id}"):
        commit = model.push_to_hub(repo_id, private=private, commit_message=message, model_card_kwargs=card)
    return commit.oid
