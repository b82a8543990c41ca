"""The benchmarks' own app servers start: bench.serve and bench.draw_latency run them as scripts."""

from __future__ import annotations

import pytest

from bench import noop_app, twin_app
from testkit.appserver import AppServer


@pytest.mark.parametrize("script", [noop_app.SCRIPT, twin_app.SCRIPT], ids=["noop_app", "twin_app"])
def test_a_benchmark_app_starts_and_serves_the_page(tmp_path, script):
    """Run as a script, a file in bench/ once found bench/numbers.py where the standard library's
    numbers module should be, and both benchmarks stopped at start; AppServer runs them with -P."""
    log_path = tmp_path / "app.log"
    with AppServer(log_path=log_path, timeout=180, script=script) as server:
        assert server.url.startswith("http://127.0.0.1:")
    assert "Traceback" not in log_path.read_text()
