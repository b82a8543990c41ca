"""Deploy: the Gradio app as a Space that serves a model repo pinned at one commit, in one commit.

The token is whatever huggingface_hub finds (HF_TOKEN, or `hf auth login`); nothing here reads,
prints, logs or writes it.
"""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, SpaceCard

from lenet.hub.errors import HubError, hub_errors
from lenet.hub.publish import empty_folder
from lenet.hub.pull import PIN_FILE, PROJECT_ROOT

SPACE_FILES = (  # what a Space needs, relative to the project root (globs)
    "app.py",
    "requirements.txt",
    "lenet/**/*.py",
    "lenet/serving/pad.js",  # the drawing pad's script
    "lenet/serving/pad.css",  # and its style
    "examples/*.png",
    "examples/*.jpg",
    "checkpoints/lenet5/config.json",
    "checkpoints/lenet5/model.safetensors",
    "checkpoints/lenet5/metrics.json",
    "docs/**/*.png",  # the README's figures
)


def space_files(model_repo: str, revision: str, root: str | Path = PROJECT_ROOT) -> dict[str, bytes]:
    """{path in the Space: content}: the app, the package, requirements, examples, the bundled
    fallback weights, the README with Spaces front matter naming `model_repo`, and the pin."""
    root = Path(root)
    if not (root / "app.py").is_file():
        raise HubError(f"{root} has no app.py: deploy-space runs from the project's checkout")
    files = {
        path.relative_to(root).as_posix(): path.read_bytes()
        for pattern in SPACE_FILES
        for path in sorted(root.glob(pattern))
        if path.is_file()
    }
    card = SpaceCard.load(root / "README.md")
    card.data.models = [model_repo]  # the Space's page links the model it serves
    files["README.md"] = str(card).encode()
    files[PIN_FILE] = (json.dumps({"repo_id": model_repo, "revision": revision}, indent=2) + "\n").encode()
    return files


def deploy_space(
    space_id: str,
    model_repo: str,
    revision: str,
    private: bool = False,
    out: str | Path | None = None,
    root: str | Path = PROJECT_ROOT,
) -> str | None:
    """Create or update the Gradio Space `space_id` so it serves `model_repo` pinned at `revision`,
    in one commit (files it no longer needs are deleted in the same commit); returns the commit sha.
    With `out`, write the exact files there instead and upload nothing (returns None)."""
    files = space_files(model_repo, revision, root)
    if out is not None:
        folder = empty_folder(out)
        for path, content in files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(content)
        return None
    api = HfApi()
    with hub_errors(f"model {model_repo}@{revision}"):  # fail before touching the Space
        api.model_info(model_repo, revision=revision, files_metadata=False)
    with hub_errors(f"deploy to Space {space_id}"):
        api.create_repo(space_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
        stale = [
            p for p in api.list_repo_files(space_id, repo_type="space") if p not in files and p != ".gitattributes"
        ]
        operations = [CommitOperationAdd(path, content) for path, content in files.items()]
        operations += [CommitOperationDelete(path) for path in stale]
        commit = api.create_commit(
            space_id,
            repo_type="space",
            operations=operations,
            commit_message=f"Serve {model_repo} at {revision[:12]}",
        )
    return commit.oid
