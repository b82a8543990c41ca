"""The app in a child process on loopback, and the /proc readings (process tree, memory, CPU) that
tests and benchmarks take of it. A separate process keeps the clients' threads from competing with
the server for Python's GIL."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT = 30  # seconds an app has to end after SIGTERM before it is killed


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


def _exit_on_sigterm(signum: int, frame) -> None:
    raise SystemExit(128 + signum)  # as the shell reports a process ended by that signal


class AppServer(contextlib.AbstractContextManager):
    """`with AppServer() as server:` -> server.url, server.pid; the child is stopped on exit.

    The child is `python app.py` unless `script` names another (bench/noop_app.py: the app plus a
    no-op endpoint). It gets a free loopback port in GRADIO_SERVER_PORT, no Hub (the bundled
    weights), the repository on PYTHONPATH, no per-minute upload budget, and `env` on top.

    A SIGTERM to this process (`kill`, `pkill -f bench.draw_latency`, a CI timeout) would end it
    without leaving the `with` block, and the child would serve on, orphaned, taking memory and
    CPU from whatever runs next. While the outermost AppServer is open in the main thread, SIGTERM
    raises SystemExit instead, so every open AppServer stops its child on the way out."""

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
        self.script, self.env = Path(script or ROOT / "app.py"), env
        self.sigterm_before = None  # the SIGTERM handler this server replaced, to put back on exit
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> AppServer:
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            self.sigterm_before = signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            self._start()
        except BaseException:  # no answer, or a signal while waiting: no child left behind either way
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        """Start the child and wait until it answers on its URL."""
        env = {
            **os.environ,
            "GRADIO_SERVER_PORT": str(self.port),
            "GRADIO_ANALYTICS_ENABLED": "False",
            "HF_HUB_OFFLINE": "1",
            "PYTHONPATH": str(ROOT),
            # Every client of a test or benchmark is 127.0.0.1, some sending hundreds of uploads a
            # minute: no per-minute upload budget unless `env` sets one (tests/test_security.py does).
            "LENET_UPLOADS_PER_MINUTE": str(10**9),
            **self.env,
        }
        env.pop("LENET_REPO_ID", None)  # the bundled weights: serving is measured and tested, not the Hub
        with open(self.log_path, "w") as log:
            # -P: the script's own folder is not put first on sys.path (bench/numbers.py would shadow
            # the standard library's numbers); the repository comes from PYTHONPATH.
            command = [sys.executable, "-P", str(self.script)]
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.pid = self.process.pid
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited with {self.process.returncode}; see {self.log_path}")
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url, timeout=2) as response:
                if response.status == 200:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"the app did not answer on {self.url} within {self.timeout:.0f} s")

    def __exit__(self, *exc_info) -> None:
        if self.sigterm_before is not None:
            signal.signal(signal.SIGTERM, self.sigterm_before)
            self.sigterm_before = None
        if self.process is None:
            return
        self.process.terminate()
        try:
            # The app stops as on Ctrl+C and its exit handlers push pending corrections: on a loaded
            # 2-core machine that took over 10 s once (tests/test_app.py's SIGTERM test).
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()  # reaped: returncode says it was killed
