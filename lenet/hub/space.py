"""Deploy, each in one commit: the Gradio app as a Space that serves a model repo pinned at one commit
(deploy_space), or the browser edition as a static Space (deploy_static).

The token is whatever huggingface_hub finds (HF_TOKEN, or `hf auth login`); nothing here reads,
prints, logs or writes it.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, SpaceCard, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError

from lenet.checkpoint import CONFIG_NAME, METRICS_NAME, WEIGHTS_NAME
from lenet.hub.errors import HubError, hub_errors
from lenet.hub.publish import empty_folder
from lenet.hub.pull import PIN_FILE, PROJECT_ROOT, load_pretrained

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
    "checkpoints/lenet5-pieces/*.*",  # the piece reader that cuts numbers into digits
    "checkpoints/lenet5-lines/*.*",  # the line reader that counts and reads touching digits
    "docs/**/*.png",  # the README's figures
)


# A Space has no GPU: PyTorch's own index serves torch and torchvision built for the CPU alone, without
# the CUDA libraries that PyPI's default Linux wheels bring. pip takes the "+cpu" build from it (a
# local version sorts above the same public one); everything else still comes from PyPI.
CPU_TORCH = """# Written by `python -m lenet deploy-space`: the CPU-only PyTorch wheels (a Space has no GPU).
--extra-index-url https://download.pytorch.org/whl/cpu
"""


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
    # Fetched into the Space's Hub cache when it is built, so a cold start does not download it.
    card.data.preload_from_hub = [f"{model_repo} {WEIGHTS_NAME},{CONFIG_NAME} {revision}"]
    files["README.md"] = str(card).encode()
    files["requirements.txt"] = CPU_TORCH.encode() + files["requirements.txt"]
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
        return write_files(files, out)
    api = HfApi()
    with hub_errors(f"model {model_repo}@{revision}"):  # fail before touching the Space
        api.model_info(model_repo, revision=revision, files_metadata=False)
    # The pinned weights must load, strictly, as the Space will load them: else it would log a
    # warning and serve its bundled weights instead of the model deployed.
    load_pretrained(model_repo, revision)
    return replace_space(api, space_id, "gradio", private, files, f"Serve {model_repo} at {revision[:12]}")


STATIC_CARD = """
# LeNet-5 digit reader, in the browser

Draw a digit, or drop a picture of one: LeNet-5, trained on MNIST, reads it in your browser with
onnxruntime-web. Nothing is uploaded; once loaded, the page needs no network. {model}

Embed it in a page:

```html
<iframe src="https://{subdomain}.static.hf.space" width="100%" height="720" style="border:0"
        title="LeNet-5 digit reader"></iframe>
```

Built by `python -m lenet deploy-static` from the project's `web/` folder.
"""


def static_files(
    checkpoint: str | Path, model_repo: str | None, revision: str | None, space_id: str, app_url: str | None, root: Path
) -> dict[str, bytes]:
    """{path in the Space: content}: the browser edition's site, and a README whose front matter
    makes it a static Space linked to `model_repo`."""
    from lenet.web import site_files  # the site needs torch.onnx; only this command does

    files = site_files(checkpoint, app_url, root)
    card = SpaceCard.load(Path(root) / "README.md")
    card.data.sdk, card.data.app_file = "static", "index.html"
    for key in ("sdk_version", "python_version"):
        card.data.pop(key, None)
    card.data.models = [model_repo] if model_repo else []
    card.data.tags = [tag for tag in card.data.tags or [] if tag != "mcp-server"]  # a static page serves no MCP
    card.data.short_description = "Draw a digit; LeNet-5 reads it in your browser"
    source = f"The weights are [{model_repo}](https://huggingface.co/{model_repo})" if model_repo else ""
    model = f"{source} at revision `{revision}`." if source and revision else f"{source}." if source else ""
    subdomain = space_id.replace("/", "-").replace("_", "-").replace(".", "-").lower()
    card.text = STATIC_CARD.format(model=model, subdomain=subdomain)
    files["README.md"] = str(card).encode()
    return files


def deploy_static(
    space_id: str,
    checkpoint: str | Path,
    model_repo: str | None = None,
    revision: str | None = None,
    app_url: str | None = None,
    private: bool = False,
    out: str | Path | None = None,
    root: str | Path = PROJECT_ROOT,
) -> str | None:
    """Build the browser edition and upload it to the static Space `space_id` in one commit (stale
    files deleted in it); returns the commit sha. With `model_repo` and `revision` (both or neither)
    the site is built from that model repo's checkpoint at that commit (the pin), not from
    `checkpoint`, and a private model repo goes only to a `private` Space (its weights are in the
    site). With `out`, write the exact files there instead and upload nothing (returns None)."""
    if bool(model_repo) != bool(revision):
        raise HubError("--model-repo and --revision go together: the site is built from that repo at that commit")
    with tempfile.TemporaryDirectory(prefix="lenet-pinned-") as scratch:
        if model_repo and revision:
            with hub_errors(f"model {model_repo}@{revision}"):
                info = HfApi().model_info(model_repo, revision=revision, files_metadata=False)
            if info.private and not private:
                raise HubError(
                    f"{model_repo} is private: its weights would be public in the site; deploy with --private"
                )
            checkpoint = download_checkpoint(model_repo, revision, Path(scratch))
        files = static_files(checkpoint, model_repo, revision, space_id, app_url, Path(root))
    if out is not None:
        return write_files(files, out)
    pinned = f" at {revision[:12]}" if model_repo and revision else ""
    message = f"Browser edition of {model_repo}{pinned}" if model_repo else "Browser edition"
    return replace_space(HfApi(), space_id, "static", private, files, message)


def download_checkpoint(model_repo: str, revision: str, folder: Path) -> Path:
    """The checkpoint files of `model_repo` at `revision` (weights and config; metrics if it has
    them), downloaded into `folder`."""
    with hub_errors(f"model {model_repo}@{revision}"):
        for name in (WEIGHTS_NAME, CONFIG_NAME):
            hf_hub_download(model_repo, name, revision=revision, local_dir=folder)
        with contextlib.suppress(EntryNotFoundError):  # the metrics only label the page; a repo may lack them
            hf_hub_download(model_repo, METRICS_NAME, revision=revision, local_dir=folder)
    return folder


def write_files(files: dict[str, bytes], out: str | Path) -> None:
    """A dry run: `files` written into the new folder `out`."""
    folder = empty_folder(out)
    for path, content in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(content)


def replace_space(api: HfApi, space_id: str, sdk: str, private: bool, files: dict[str, bytes], message: str) -> str:
    """Create the Space if new, then make its files exactly `files` in one commit; returns its sha."""
    with hub_errors(f"deploy to Space {space_id}"):
        api.create_repo(space_id, repo_type="space", space_sdk=sdk, private=private, exist_ok=True)
        stale = [
            p for p in api.list_repo_files(space_id, repo_type="space") if p not in files and p != ".gitattributes"
        ]
        operations = [CommitOperationAdd(path, content) for path, content in files.items()]
        operations += [CommitOperationDelete(path) for path in stale]
        commit = api.create_commit(space_id, repo_type="space", operations=operations, commit_message=message)
    return commit.oid
