"""The real app in a child process on loopback, plus a no-op endpoint, for the serving benchmarks.

    python bench/appserver.py --port 7870      # what `AppServer` runs; also handy by hand

The child imports app.py (same demo, predictor, queue and launch settings) and adds one event,
`/noop`: it takes the photo input through the same PhotoInput component and returns a fixed answer
of the same shape as `/predict_image` (top-3, a 196x196 preview, a message) without touching the
model, so the difference between the two is the model's share of a request. A separate process
keeps the benchmark's client threads from competing with the server for Python's GIL.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parent_pids() -> dict[int, int]:
    """Every process on the machine: pid -> its parent's pid (Linux /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except OSError:  # it exited while we looked
            continue
    return parents


def process_tree(pid: int) -> list[int]:
    """`pid` and every process below it (the app and its prediction workers), from Linux /proc."""
    children: dict[int, list[int]] = {}
    for child, parent in parent_pids().items():
        children.setdefault(parent, []).append(child)
    tree = [pid]
    for parent in tree:
        tree.extend(children.get(parent, []))
    return tree


def memory_mib(pid: int) -> float:
    """Memory of a process and its children in MiB: the sum of their proportional set sizes (Linux
    /proc), which counts the pages they share (torch's libraries) once, as the machine's memory does."""
    total = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and its children have used so far, in seconds (Linux /proc;
    children that have exited count once their parent has waited for them)."""
    ticks = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += sum(int(field) for field in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


class AppServer(contextlib.AbstractContextManager):
    """`with AppServer() as server:` -> server.url, server.pid; the child is stopped on exit.

    The child is this file (the app plus `/noop`) unless `script` names another, e.g. app.py itself,
    as the tests run it. It gets a free loopback port in GRADIO_SERVER_PORT, no Hub (the bundled
    weights), and `env` on top."""

    def __init__(
        self,
        port: int | None = None,
        log_path: str | os.PathLike = os.devnull,
        timeout: float = 180,
        script: str | os.PathLike | None = None,
        **env: str,
    ):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path, self.timeout = log_path, timeout
        self.script, self.env = Path(script or __file__), env

    def __enter__(self) -> AppServer:
        env = {
            **os.environ,
            "GRADIO_SERVER_PORT": str(self.port),
            "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(ROOT),
            **self.env,
        }
        env.pop("LENET_REPO_ID", None)  # the bundled weights: serving is measured and tested, not the Hub
        with open(self.log_path, "w") as log:
            command = [sys.executable, str(self.script)]
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited with {self.process.returncode}; see {self.log_path}")
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url, timeout=2) as response:
                if response.status == 200:
                    return self
            time.sleep(0.5)
        self.process.kill()
        raise TimeoutError(f"the app did not answer on {self.url} within {self.timeout:.0f} s")

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def serve(port: int) -> None:
    """Child: app.py's demo with the no-op event added, on 127.0.0.1:port, until killed."""
    sys.path.insert(0, str(ROOT))
    import app

    example = sorted(app.EXAMPLES.glob("photo-*.jpg"))[0]
    fixed_answer = app.predict_image(str(example))  # computed once; /noop hands it back as is
    with app.demo:
        app.photo.change(lambda image: fixed_answer, app.photo, app.outputs, api_name="noop")
    app.demo.launch(server_name="127.0.0.1", server_port=port, quiet=True, **app.launch_options())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("GRADIO_SERVER_PORT", "7870")),
        help="loopback port to serve on (default: $GRADIO_SERVER_PORT, else 7870)",
    )
    serve(parser.parse_args().port)
