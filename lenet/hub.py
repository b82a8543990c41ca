"""Hub I/O: push a checkpoint with its model card, pull it at a pinned revision, deploy the Space.

The token is whatever huggingface_hub finds (HF_TOKEN, or `hf auth login`); nothing here reads,
prints, logs or writes it.
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, SpaceCard
from huggingface_hub.errors import (
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from lenet.checkpoint import read_metrics
from lenet.model import CheckpointError, LeNet5, load_model

try:  # huggingface_hub 2.x talks through httpx2, 1.x through httpx: their connection errors
    from httpx2 import HTTPError as TransportError
except ImportError:  # pragma: no cover
    from httpx import HTTPError as TransportError

log = logging.getLogger("lenet.hub")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PIN_FILE = "model-pin.json"  # in a deployed Space: {"repo_id": ..., "revision": ...} that app.py serves
SPACE_FILES = (  # what a Space needs, relative to the project root (globs)
    "app.py",
    "requirements.txt",
    "lenet/*.py",
    "examples/*.png",
    "examples/*.jpg",
    "checkpoints/lenet5/config.json",
    "checkpoints/lenet5/model.safetensors",
    "checkpoints/lenet5/metrics.json",
    "docs/**/*.png",  # the README's figures
)


class HubError(RuntimeError):
    """A Hub repo or revision is missing, the Hub refused a request, or it cannot be reached."""


@contextmanager
def _hub_errors(what: str):
    """Turn the client's exceptions into one HubError line that names `what` (never the token)."""
    try:
        yield
    except RevisionNotFoundError:
        raise HubError(f"{what}: no such revision") from None
    except RepositoryNotFoundError:
        raise HubError(f"{what}: repository not found (or private, and no token with access)") from None
    except LocalEntryNotFoundError:
        raise HubError(f"{what}: not in the local cache and the Hub cannot be reached") from None
    except HfHubHTTPError as err:
        raise HubError(f"{what}: {str(err).splitlines()[0]}") from None
    except (TransportError, OSError) as err:
        raise HubError(f"{what}: the Hub cannot be reached ({err})") from None


# ---- pull ----------------------------------------------------------------------------------------


def load_pretrained(source: str | Path, revision: str | None = None) -> LeNet5:
    """A LeNet5 from a checkpoint folder, or from a Hub repo id at `revision` (a commit sha to pin;
    None = main). Safetensors only, strict; offline (HF_HUB_OFFLINE=1) it loads from the cache."""
    if Path(source).is_dir():
        return load_model(source)
    with _hub_errors(f"{source}@{revision or 'main'}"):
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


# ---- push ----------------------------------------------------------------------------------------


def _empty_folder(out: str | Path) -> Path:
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
        model.save_pretrained(_empty_folder(out), model_card_kwargs=card)
        return None
    message = f"LeNet-5 {metrics.get('recipe', '')}: {metrics['test_accuracy']:.2%} MNIST test accuracy"
    with _hub_errors(f"push to {repo_id}"):
        commit = model.push_to_hub(repo_id, private=private, commit_message=message, model_card_kwargs=card)
    return commit.oid


# ---- deploy the Space ----------------------------------------------------------------------------


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
        folder = _empty_folder(out)
        for path, content in files.items():
            (folder / path).parent.mkdir(parents=True, exist_ok=True)
            (folder / path).write_bytes(content)
        return None
    api = HfApi()
    with _hub_errors(f"model {model_repo}@{revision}"):  # fail before touching the Space
        api.model_info(model_repo, revision=revision, files_metadata=False)
    with _hub_errors(f"deploy to Space {space_id}"):
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
