"""Shared fixtures: the real MNIST files (never downloaded in tests), the repository paths, the running app,
and Chromium (desktop and phone pages)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from lenet.training.data import DATA_DIR_ENV, load_mnist, resolve_data_dir
from testkit.appserver import AppServer, parent_pids
from testkit.browser import CHROMIUM, CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parent.parent
RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = resolve_data_dir()
    missing = [name for name in RAW_FILES if not (root / "MNIST" / "raw" / name).is_file()]
    if missing:
        pytest.fail(f"MNIST is not under {root}/MNIST/raw (missing {missing}); set {DATA_DIR_ENV} to its root")
    return root.resolve()


@pytest.fixture(scope="session")
def mnist_test(data_dir) -> tuple[torch.Tensor, torch.Tensor]:
    return load_mnist(data_dir, train=False)


@pytest.fixture(scope="session")
def mnist_train(data_dir) -> tuple[torch.Tensor, torch.Tensor]:
    return load_mnist(data_dir, train=True)


@pytest.fixture
def cli_env(data_dir) -> dict[str, str]:
    """Environment for `python -m lenet` subprocesses: the repo importable, the data root set."""
    return {**os.environ, "PYTHONPATH": str(ROOT), DATA_DIR_ENV: str(data_dir)}


def run_lenet(env: dict[str, str], *args: str, expect: int = 0) -> subprocess.CompletedProcess:
    """`python -m lenet ARGS` from the project's root, output captured; its exit code must be `expect`."""
    done = subprocess.run(
        [sys.executable, "-m", "lenet", *args], env=env, capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert done.returncode == expect, done.stdout[-2000:] + done.stderr[-2000:]
    return done


@contextlib.contextmanager
def running_app(folder: Path, timeout: float = 180, **env: str) -> Iterator[tuple[str, Path]]:
    """`python app.py` on a free loopback port, offline, with the bundled weights; yields (url, log
    file). On exit it is stopped, and its log must say which weights served and hold no traceback."""
    log_path = folder / "app.log"
    with AppServer(log_path=log_path, timeout=timeout, script=ROOT / "app.py", **env) as server:
        yield server.url, log_path
    app_log = log_path.read_text()
    assert "serving the bundled weights" in app_log, app_log
    assert "Traceback" not in app_log, app_log


@pytest.fixture(scope="session")
def app_url(tmp_path_factory, feedback_dir) -> Iterator[str]:
    """One app server for every test module that talks to it."""
    # 127.0.0.1 trusted by name, so the agent tools can fetch the tests' own loopback images
    # (tests/test_mcp.py); every other private address stays refused. Corrections go to feedback_dir.
    env = {"LENET_FETCH_HOSTS": "127.0.0.1", "LENET_FEEDBACK_DIR": str(feedback_dir)}
    with running_app(tmp_path_factory.mktemp("app"), **env) as (url, _):
        yield url


@pytest.fixture(scope="session")
def feedback_dir(tmp_path_factory) -> Path:
    """Where the shared app server saves corrections."""
    return tmp_path_factory.mktemp("corrections")


def children_running(name: str, parent: int | None = None) -> list[int]:
    """The pids of the children of `parent` (default: this process) with a command-line argument
    ending in `name`: "app.py" for the app, "lenet.serving.pool" for its prediction workers."""
    parent = os.getpid() if parent is None else parent
    found = []
    for pid, ppid in parent_pids().items():
        if ppid != parent:
            continue
        with contextlib.suppress(OSError):  # it exited while we looked
            if any(part.endswith(name.encode()) for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")):
                found.append(pid)
    return found


def wait_gone(pid: int, timeout: float = 10) -> None:
    """Until every thread of process `pid` has exited (it may stay a zombie: its parent has not
    collected it yet). A killed process's main thread turns zombie before its other threads end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            threads = os.listdir(f"/proc/{pid}/task")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state == "Z" and len(threads) <= 1:
            return
        time.sleep(0.05)
    raise TimeoutError(f"process {pid} still running")


@pytest.fixture(scope="module")
def browser(request):
    """Debian's Chromium through Playwright; without it browser tests skip locally and fail in CI
    (CI=true). A test module's SCREENSHOTS folder is made for it."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = (
        "playwright is not installed"
        if sync_playwright is None
        else None
        if Path(CHROMIUM).exists()
        else f"no Chromium at {CHROMIUM}"
    )
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(f"{missing} (apt-get install -y chromium; pip install playwright)")
    if hasattr(request.module, "SCREENSHOTS"):
        request.module.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}


def page_in_context(browser, options: dict):
    """A page in a browser context of its own (`options`: DESKTOP or PHONE), closed afterwards."""
    context = browser.new_context(**options)
    yield context.new_page()
    context.close()


@pytest.fixture
def page(browser):
    yield from page_in_context(browser, DESKTOP)


@pytest.fixture
def phone(browser):
    yield from page_in_context(browser, PHONE)
