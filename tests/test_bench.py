"""The benchmarks' own app servers start: bench.serve and bench.draw_latency run them as scripts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench import noop_app, twin_app
from testkit.appserver import AppServer

from .conftest import ROOT, wait_gone


@pytest.mark.parametrize("script", [noop_app.SCRIPT, twin_app.SCRIPT], ids=["noop_app", "twin_app"])
def test_a_benchmark_app_starts_and_serves_the_page(tmp_path, script):
    """Run as a script, a file in bench/ once found bench/numbers.py where the standard library's
    numbers module should be, and both benchmarks stopped at start; AppServer runs them with -P."""
    log_path = tmp_path / "app.log"
    with AppServer(log_path=log_path, timeout=180, script=script) as server:
        assert server.url.startswith("http://127.0.0.1:")
    assert "Traceback" not in log_path.read_text()


TINY_SERVER = """import http.server, os
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["GRADIO_SERVER_PORT"])),
                                http.server.SimpleHTTPRequestHandler).serve_forever()
"""
HOLD = """import sys, time
from testkit.appserver import AppServer
with AppServer(script=sys.argv[1]) as first, AppServer(script=sys.argv[1]) as second:
    print(first.pid, second.pid, flush=True)
    time.sleep(120)
"""


def test_a_benchmark_stopped_with_sigterm_leaves_no_server_behind(tmp_path):
    """A process holding AppServers open (bench.draw_latency holds two) and stopped with SIGTERM
    (kill, pkill, a CI timeout) stops their children on the way out, instead of leaving them serving."""
    script = tmp_path / "serve.py"
    script.write_text(TINY_SERVER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(script)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )
    children = []
    try:
        children = [int(pid) for pid in holder.stdout.readline().split()]
        assert len(children) == 2 and all(Path(f"/proc/{pid}").exists() for pid in children)
        os.kill(holder.pid, signal.SIGTERM)
        assert holder.wait(timeout=30) == 128 + signal.SIGTERM
        for pid in children:
            wait_gone(pid)
            assert not Path(f"/proc/{pid}/cmdline").exists() or not Path(f"/proc/{pid}/cmdline").read_bytes()
    finally:
        holder.kill()
        for pid in children:  # a failed run must not leave its servers behind either
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_bench_numbers_reads_a_small_set_and_times_each_number_against_its_own_image(mnist_test):
    """bench.numbers on one number per kind and length (28 numbers of MNIST test digits): most read
    right, and the time ratio is each 4-digit number's read_number over predict on the same image."""
    from bench.numbers import KINDS, LENGTHS, run_seed
    from lenet.predict import Predictor
    from testkit.wild import DigitShapes

    images, labels = mnist_test
    result = run_seed(Predictor.from_checkpoint(), DigitShapes(images.numpy(), labels.numpy(), fonts=[]), 0, 1)
    assert set(result["exact"]) == {(kind, length) for kind in KINDS for length in LENGTHS}
    assert sum(result["exact"].values()) >= 22 and result["per_digit"] >= 0.95, result
    # Reading a number normalises and reads each digit, and the whole line: more than one prediction.
    assert result["ratio"] > 1 and set(result["by_kind"]) == set(KINDS)
    # Where the misses come from: each missed number has a digit too many or too few, or else at
    # least one digit misread, counted by the digit's source (no fonts here).
    misses = len(result["exact"]) - sum(result["exact"].values())
    miscounted = sum(result["miscounted"].values())
    misread = sum(wrong for wrong, _ in result["by_source"].values())
    assert set(result["by_source"]) <= {"mnist", "mnist-pen", "template"}, result["by_source"]
    assert miscounted <= misses <= miscounted + misread, (misses, miscounted, result["by_source"])
    right_count_digits = sum(total for _, total in result["by_source"].values())
    assert sum(LENGTHS) * len(KINDS) - 8 * miscounted <= right_count_digits <= sum(LENGTHS) * len(KINDS)
