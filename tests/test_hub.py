"""Loading weights for serving: a local folder, or a Hub repo that cannot be reached -> the bundled ones."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import ROOT

SERVE = """
import json, logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
from lenet.hub import load_serving_model
from lenet.predict import DEFAULT_CHECKPOINT
model, line = load_serving_model(sys.argv[1] or None, sys.argv[2] or None, DEFAULT_CHECKPOINT)
print(json.dumps({"line": line, "parameters": model.num_parameters()}))
"""


def serve(cli_env, repo_id: str, revision: str = "", **env: str) -> tuple[dict, str]:
    result = subprocess.run(
        [sys.executable, "-c", SERVE, repo_id, revision],
        env={**cli_env, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def test_no_repo_serves_the_bundled_weights(cli_env):
    served, log = serve(cli_env, "")
    assert served["line"].startswith("serving the bundled weights from") and served["parameters"] > 60_000
    assert log == ""


def test_unreachable_hub_falls_back_to_the_bundled_weights(cli_env):
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    served, log = serve(cli_env, "someone/lenet5", "0" * 40, HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_ETAG_TIMEOUT="2")
    assert served["line"].startswith("serving the bundled weights")
    assert "could not load someone/lenet5" in log and "falling back to the bundled weights" in log
    assert "Traceback" not in log


def test_offline_without_cache_falls_back(cli_env, tmp_path):
    served, log = serve(cli_env, "someone/lenet5", "", HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    assert served["line"].startswith("serving the bundled weights")
    assert "not in the local cache" in log
