"""Hub I/O with the real huggingface_hub client against a Hub-compatible server on loopback.

`python -m lenet push` / `deploy-space` and the app's loader run as subprocesses with HF_ENDPOINT
pointing at tests/hubserver.py (huggingface_hub reads it at import), a throwaway HF_HOME cache and a
made-up token, which must never show up anywhere but the Authorization header.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from huggingface_hub import ModelCard, SpaceCard
from huggingface_hub.repocard_data import model_index_to_eval_results

from lenet.checkpoint import read_metrics
from lenet.hub import PIN_FILE, space_files

from .conftest import ROOT
from .hubserver import HubServer

TOKEN = "hf_" + secrets.token_hex(16)
REPO = "tester/lenet5"
SPACE = "tester/digits"
CHECKPOINT = ROOT / "checkpoints" / "lenet5"
CLASSIC = ROOT / "checkpoints" / "lenet5-classic"

# Loads what the app would serve, and checks its logits against a local checkpoint's, in one process.
SERVE = """
import json, logging, sys, torch
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
from lenet.hub import load_serving_model, serving_pin
from lenet.checkpoint import load_model
from lenet.predict import DEFAULT_CHECKPOINT
repo_id, revision, compare_with = sys.argv[1:4]
model, line = load_serving_model(*(serving_pin() if repo_id == "pin" else (repo_id or None, revision or None)),
                                 bundled=DEFAULT_CHECKPOINT)
pixels = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    same = torch.equal(model.eval()(pixels), load_model(compare_with).eval()(pixels)) if compare_with else None
print(json.dumps({"line": str(line), "same_logits": same}))
"""


@pytest.fixture
def hub():
    with HubServer(TOKEN) as server:
        yield server


@pytest.fixture
def env(cli_env, hub, tmp_path) -> dict[str, str]:
    """A client environment: the loopback Hub, the token, an empty cache of its own."""
    return {
        **cli_env,
        "HF_ENDPOINT": hub.url,
        "HF_TOKEN": TOKEN,
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_ETAG_TIMEOUT": "5",
    }


def run(env: dict[str, str], *args: str, cwd: Path = ROOT, expect: int = 0) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    assert result.returncode == expect, result.stdout + result.stderr
    assert TOKEN not in result.stdout + result.stderr  # no secret on the terminal or in logs
    assert "Traceback" not in result.stderr, result.stderr
    return result


def lenet(env: dict[str, str], *args: str, expect: int = 0) -> subprocess.CompletedProcess:
    return run(env, sys.executable, "-m", "lenet", *args, expect=expect)


def push(env: dict[str, str], checkpoint: Path = CHECKPOINT, *extra: str) -> str:
    out = lenet(env, "push", "--checkpoint", str(checkpoint), "--repo-id", REPO, "--space-id", SPACE, *extra).stdout
    return re.search(r"^commit ([0-9a-f]{40})$", out, re.M)[1]


def serve(env: dict[str, str], repo_id: str, revision: str = "", compare_with: Path | str = "", **extra) -> dict:
    result = run({**env, **extra}, sys.executable, "-c", SERVE, repo_id, revision, str(compare_with))
    return {**json.loads(result.stdout), "log": result.stderr}


def assert_token_stayed_in_the_header(hub: HubServer) -> None:
    assert hub.state.requests, "the client sent nothing"
    assert not [request for request in hub.state.requests if TOKEN in request]
    writes = [(line, ok) for line, ok in hub.state.authorized if line.startswith("POST")]
    assert writes and all(ok for _, ok in writes), writes  # ...and every write did carry it


# ---- push and pull -------------------------------------------------------------------------------


def test_push_then_pull_at_the_sha_gives_identical_logits(hub, env):
    sha = push(env)
    repo = hub.state.repos[("model", REPO)]
    assert repo.log[-1] == sha and len(repo.log) == 2  # the repo's first commit, then exactly one push
    pushed = hub.files("model", REPO, sha)
    assert set(pushed) == {".gitattributes", "model.safetensors", "config.json", "metrics.json", "README.md"}
    for name in ("model.safetensors", "config.json", "metrics.json"):  # the bytes that were trained and evaluated
        assert pushed[name] == (CHECKPOINT / name).read_bytes(), name
    served = serve(env, REPO, sha, CHECKPOINT)
    assert served["line"] == f"serving {REPO} at revision {sha} from the Hub"
    assert served["same_logits"] is True
    assert_token_stayed_in_the_header(hub)


def test_a_second_push_is_a_new_revision_and_the_old_sha_keeps_the_old_weights(hub, env):
    first = push(env, CHECKPOINT)
    second = push(env, CLASSIC)
    assert first != second
    assert serve(env, REPO, first, CHECKPOINT)["same_logits"] is True
    assert serve(env, REPO, second, CLASSIC)["same_logits"] is True
    assert serve(env, REPO, "", CLASSIC)["same_logits"] is True  # main moved on


def test_push_refuses_metrics_the_card_cannot_use_with_one_line(hub, env, tmp_path):
    """metrics.json without a test accuracy (a line reader's), with one that is not a number, or with
    a field of the wrong shape: one line naming the file, nothing uploaded (they were tracebacks,
    or said the file was missing)."""
    lines = ROOT / "checkpoints" / "lenet5-lines"
    result = lenet(env, "push", "--checkpoint", str(lines), "--repo-id", REPO, expect=2)
    assert "metrics.json has no test_accuracy between 0 and 1" in result.stderr, result.stderr
    for change, says in (({"test_accuracy": "99%"}, "has no test_accuracy"), ({"recipe_config": "x"}, "cannot use")):
        folder = tmp_path / "bad"
        shutil.copytree(CHECKPOINT, folder, dirs_exist_ok=True)
        metrics = json.loads((CHECKPOINT / "metrics.json").read_text())
        (folder / "metrics.json").write_text(json.dumps({**metrics, **change}))
        result = lenet(env, "push", "--checkpoint", str(folder), "--repo-id", REPO, expect=2)
        assert says in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert ("model", REPO) not in hub.state.repos


def test_the_pushed_card_parses_and_carries_the_test_accuracy(hub, env, tmp_path):
    sha = push(env)
    metrics = read_metrics(CHECKPOINT)
    readme = tmp_path / "README.md"
    readme.write_bytes(hub.files("model", REPO, sha)["README.md"])
    card = ModelCard.load(readme)
    data = card.data.to_dict()
    assert data["library_name"] == "lenet" and data["license"] == "mit" and data["datasets"] == ["mnist"]
    assert data["pipeline_tag"] == "image-classification" and "mnist" in data["tags"]
    model_name, results = model_index_to_eval_results(data["model-index"])
    assert model_name and len(results) == 1
    (accuracy,) = results
    assert (accuracy.metric_type, accuracy.dataset_type, accuracy.dataset_split) == ("accuracy", "mnist", "test")
    assert accuracy.metric_value == metrics["test_accuracy"]
    text = card.text
    for section in ("## Architecture", "## Training", "## Results", "## Usage", "## Preprocessing", "## Limitations"):
        assert section in text, section
    assert f"{metrics['parameters']:,}" in text
    assert all(f"{a:.2%}" in text for a in metrics["per_class_accuracy"])
    assert f'LeNet5.from_pretrained("{REPO}"' in text
    assert f"/spaces/{SPACE}" in text


def test_dry_run_writes_exactly_what_push_uploads_and_uploads_nothing(hub, env, tmp_path):
    out = tmp_path / "dry"
    lenet(env, "push", "--repo-id", REPO, "--space-id", SPACE, "--dry-run", "--out", str(out))
    assert hub.state.requests == []
    dry = {p.name: p.read_bytes() for p in out.iterdir()}
    sha = push(env)
    uploaded = hub.files("model", REPO, sha)
    assert dry == {name: content for name, content in uploaded.items() if name != ".gitattributes"}
    lenet(env, "push", "--repo-id", REPO, "--dry-run", "--out", str(out), expect=2)  # never into a used folder


def test_private_repo_needs_the_token(hub, env):
    sha = push(env, CHECKPOINT, "--private")
    assert hub.state.repos[("model", REPO)].private
    anonymous = {key: value for key, value in env.items() if key != "HF_TOKEN"}
    served = serve(anonymous, REPO, sha)
    assert served["line"].startswith("serving the bundled weights")
    assert "repository not found (or private, and no token with access)" in served["log"]
    assert serve(env, REPO, sha, CHECKPOINT)["same_logits"] is True


# ---- failures: the loader falls back to the bundled weights and says why ---------------------------


def test_a_missing_repo_or_revision_is_a_clear_error_and_the_app_falls_back(hub, env):
    served = serve(env, "tester/nothing-here", "", CHECKPOINT)
    assert served["line"].startswith("serving the bundled weights") and served["same_logits"] is True
    assert "tester/nothing-here@main: repository not found" in served["log"]
    push(env)
    served = serve(env, REPO, "0" * 40)
    assert served["line"].startswith("serving the bundled weights")
    assert f"{REPO}@{'0' * 40}: no such revision" in served["log"]


def test_offline_mode_serves_the_pinned_revision_from_the_cache(hub, env):
    sha = push(env)
    assert serve(env, REPO, sha, CHECKPOINT)["same_logits"] is True  # fills the cache
    hub.stop()
    served = serve(env, REPO, sha, CHECKPOINT, HF_HUB_OFFLINE="1")
    assert served["line"] == f"serving {REPO} at revision {sha} from the Hub" and served["same_logits"] is True


def test_hub_down_at_start_up_serves_the_bundled_weights(hub, env):
    sha = push(env)
    hub.stop()  # nothing cached in this HF_HOME, and the server is gone
    served = serve(env, REPO, sha, CHECKPOINT)
    assert served["line"].startswith("serving the bundled weights") and served["same_logits"] is True
    assert f"could not load {REPO}" in served["log"] and "falling back to the bundled weights" in served["log"]


def test_no_repo_serves_the_bundled_weights(cli_env):
    served = serve(cli_env, "", "", CHECKPOINT)
    assert served["line"].startswith("serving the bundled weights from") and served["same_logits"] is True
    assert served["log"] == ""


def test_unreachable_hub_falls_back_to_the_bundled_weights(cli_env):
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    served = serve(cli_env, REPO, "0" * 40, HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_ETAG_TIMEOUT="2")
    assert served["line"].startswith("serving the bundled weights")
    assert f"could not load {REPO}" in served["log"] and "falling back to the bundled weights" in served["log"]


def test_offline_without_cache_falls_back(cli_env, tmp_path):
    served = serve(cli_env, REPO, "", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    assert served["line"].startswith("serving the bundled weights")
    assert "not in the local cache" in served["log"]


# ---- the Space -----------------------------------------------------------------------------------


def test_deploy_space_uploads_the_app_pinned_to_the_model_in_one_commit(hub, env, tmp_path):
    sha = push(env)
    dry = tmp_path / "dry-space"
    args = ("deploy-space", "--space-id", SPACE, "--model-repo", REPO, "--revision", sha)
    lenet(env, *args, "--dry-run", "--out", str(dry))
    assert ("space", SPACE) not in hub.state.repos
    out = lenet(env, *args).stdout
    space = hub.state.repos[("space", SPACE)]
    assert space.sdk == "gradio" and len(space.log) == 2  # created, then one commit
    assert re.search(r"^commit ([0-9a-f]{40})$", out, re.M)[1] == space.main
    files = hub.files("space", SPACE)

    # Exactly the dry run's files, which are the app, the package, the fallback weights and the pin.
    dry_files = {p.relative_to(dry).as_posix(): p.read_bytes() for p in dry.rglob("*") if p.is_file()}
    assert {k: v for k, v in files.items() if k != ".gitattributes"} == dry_files
    assert {
        "app.py",
        "requirements.txt",
        "README.md",
        PIN_FILE,
        "lenet/model.py",
        "lenet/hub/pull.py",
        "lenet/serving/ui.py",
        "lenet/serving/pad.js",
        "lenet/serving/pad.css",
    } <= set(files)
    assert files["checkpoints/lenet5/model.safetensors"] == (CHECKPOINT / "model.safetensors").read_bytes()
    assert json.loads(files[PIN_FILE]) == {"repo_id": REPO, "revision": sha}
    readme = tmp_path / "README.md"
    readme.write_bytes(files["README.md"])
    front = SpaceCard.load(readme).data
    assert front.sdk == "gradio" and front.app_file == "app.py" and front.models == [REPO]
    # The pinned model is fetched when the Space is built, and torch comes as the CPU-only build.
    assert front.preload_from_hub == [f"{REPO} model.safetensors,config.json {sha}"]
    requirements = files["requirements.txt"].decode()
    assert (
        requirements.startswith("# Written by")
        and "--extra-index-url https://download.pytorch.org/whl/cpu\n" in requirements
    )
    assert requirements.endswith((ROOT / "requirements.txt").read_text())
    # Agents: the Space is listed as an MCP server, and installs the MCP extra its launch needs.
    assert "mcp-server" in front.tags and "gradio[mcp]" in requirements
    assert all(TOKEN.encode() not in content for content in files.values())

    # The deployed files, run as a Space would: the app's loader follows the pin to the Hub.
    checkout = tmp_path / "space-checkout"
    for path, content in files.items():
        (checkout / path).parent.mkdir(parents=True, exist_ok=True)
        (checkout / path).write_bytes(content)
    space_env = {**env, "PYTHONPATH": str(checkout)}
    result = run(space_env, sys.executable, "-c", SERVE, "pin", "", str(CHECKPOINT), cwd=checkout)
    assert json.loads(result.stdout) == {"line": f"serving {REPO} at revision {sha} from the Hub", "same_logits": True}
    assert_token_stayed_in_the_header(hub)


def test_redeploy_pins_the_new_revision_and_drops_files_the_space_no_longer_needs(hub, env):
    first = push(env)
    lenet(env, "deploy-space", "--space-id", SPACE, "--model-repo", REPO, "--revision", first)
    space = hub.state.repos[("space", SPACE)]
    hub.state.commit(space, {**hub.files("space", SPACE), "lenet/old_module.py": b"x = 1\n"}, "a file from before")
    second = push(env, CLASSIC)
    lenet(env, "deploy-space", "--space-id", SPACE, "--model-repo", REPO, "--revision", second)
    files = hub.files("space", SPACE)
    assert json.loads(files[PIN_FILE])["revision"] == second
    assert "lenet/old_module.py" not in files
    assert set(files) - {".gitattributes"} == set(space_files(REPO, second))


def test_deploy_space_refuses_a_revision_the_model_repo_does_not_have(hub, env):
    push(env)
    result = lenet(env, "deploy-space", "--space-id", SPACE, "--model-repo", REPO, "--revision", "f" * 40, expect=2)
    assert f"model {REPO}@{'f' * 40}: no such revision" in result.stderr
    assert ("space", SPACE) not in hub.state.repos
    result = lenet(env, "deploy-space", "--space-id", SPACE, "--model-repo", REPO, "--revision", "main", expect=2)
    assert "expected a full 40-character commit sha" in result.stderr


def test_broken_weights_on_the_hub_are_named_and_the_app_falls_back(hub, env):
    push(env)
    repo = hub.state.repos[("model", REPO)]
    good = hub.files("model", REPO)
    truncated = hub.state.commit(repo, {**good, "model.safetensors": good["model.safetensors"][:5000]}, "cut")
    served = serve(env, REPO, truncated, CHECKPOINT)
    assert served["line"].startswith("serving the bundled weights") and served["same_logits"] is True
    assert re.search(r"model\.safetensors is not a readable safetensors file", served["log"]), served["log"]
    classic_config = (CLASSIC / "config.json").read_bytes()
    mismatched = hub.state.commit(repo, {**good, "config.json": classic_config}, "wrong config")
    served = serve(env, REPO, mismatched, CHECKPOINT)
    assert served["line"].startswith("serving the bundled weights")
    assert "does not match its config.json" in served["log"], served["log"]
    no_weights = hub.state.commit(repo, {k: v for k, v in good.items() if k != "model.safetensors"}, "no weights")
    served = serve(env, REPO, no_weights, CHECKPOINT)
    assert f"{REPO}@{no_weights} has no model.safetensors (weights are loaded from safetensors" in served["log"]
    # deploy-space loads the pinned weights as the Space would, and refuses before touching it.
    for revision, says in ((truncated, "is not a readable safetensors file"), (no_weights, "has no model.safetensors")):
        result = lenet(env, "deploy-space", "--space-id", SPACE, "--model-repo", REPO, "--revision", revision, expect=2)
        assert says in result.stderr and ("space", SPACE) not in hub.state.repos, result.stderr


# ---- the browser edition as a static Space --------------------------------------------------------


def test_deploy_static_builds_the_pinned_model_into_a_static_space_in_one_commit(hub, env, tmp_path):
    classic = push(env, CLASSIC)  # the pin: the site must carry this revision's model, not --checkpoint's
    push(env)  # main moves on to another model
    args = ("deploy-static", "--space-id", SPACE, "--model-repo", REPO, "--revision", classic)
    dry = tmp_path / "dry-static"
    lenet(env, *args, "--dry-run", "--out", str(dry))
    assert ("space", SPACE) not in hub.state.repos
    out = lenet(env, *args).stdout
    space = hub.state.repos[("space", SPACE)]
    assert space.sdk == "static" and len(space.log) == 2  # created, then one commit
    assert re.search(r"^commit ([0-9a-f]{40})$", out, re.M)[1] == space.main
    files = hub.files("space", SPACE)
    dry_files = {p.relative_to(dry).as_posix(): p.read_bytes() for p in dry.rglob("*") if p.is_file()}
    assert set(files) - {".gitattributes"} == set(dry_files)
    assert {"index.html", "model.onnx", "contract.js", "ort/ort-wasm-simd-threaded.wasm", "README.md"} <= set(files)
    assert '"variant": "classic"' in files["contract.js"].decode()  # built from the pinned revision
    readme = tmp_path / "README.md"
    readme.write_bytes(files["README.md"])
    card = SpaceCard.load(readme)
    assert card.data.sdk == "static" and card.data.app_file == "index.html" and card.data.models == [REPO]
    assert card.data.get("python_version") is None and classic in card.text and "<iframe" in card.text
    assert "mcp-server" not in card.data.tags  # a static page is no MCP server
    assert all(TOKEN.encode() not in content for content in files.values())
    assert_token_stayed_in_the_header(hub)

    # A redeploy drops what the site no longer has, in one more commit.
    hub.state.commit(space, {**hub.files("space", SPACE), "old.js": b"// gone\n"}, "a file from before")
    lenet(env, "deploy-static", "--space-id", SPACE)
    files = hub.files("space", SPACE)
    assert "old.js" not in files and '"variant": "modern"' in files["contract.js"].decode()


def test_deploy_static_refuses_a_revision_the_model_repo_does_not_have(hub, env):
    push(env)
    args = ("deploy-static", "--space-id", SPACE, "--model-repo", REPO, "--revision", "f" * 40)
    result = lenet(env, *args, expect=2)
    assert f"model {REPO}@{'f' * 40}" in result.stderr and "no such revision" in result.stderr
    assert ("space", SPACE) not in hub.state.repos
    result = lenet(env, "deploy-static", "--space-id", SPACE, "--revision", "f" * 40, expect=2)
    assert "--model-repo and --revision go together" in result.stderr
    result = lenet(env, "deploy-static", "--space-id", SPACE, "--model-repo", REPO, expect=2)
    assert "--model-repo and --revision go together" in result.stderr


def test_deploy_static_keeps_a_private_models_weights_off_a_public_space(hub, env):
    sha = push(env, CHECKPOINT, "--private")
    args = ("deploy-static", "--space-id", SPACE, "--model-repo", REPO, "--revision", sha)
    result = lenet(env, *args, expect=2)
    assert "is private" in result.stderr and ("space", SPACE) not in hub.state.repos
    lenet(env, *args, "--private")
    assert hub.state.repos[("space", SPACE)].private
