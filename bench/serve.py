"""Serving latency: the app's predict endpoint against a no-op endpoint on the same server.

    python -m bench.serve [--requests 200] [--clients 1,8]

Starts the app in a child process on 127.0.0.1 (testkit/appserver.py) with one extra endpoint,
`/noop`, that takes the same photo input and returns a fixed answer of the same shape: the Gradio
floor (HTTP, queue, upload, JSON with the preview inline). For each client count, that many client
threads (testkit/httpapi.py: upload, call, result, and the preview read from the answer, as the
page does) send their share of `--requests` example photos to /predict_image, then to /noop, and
the script prints p50/p95 latency of both, the p50 ratio (target <= 1.3), predictions per second
and wrong answers (the example files are named after their digit). Loopback only. The clients run
on the same machine as the server, so on a 2-core box they take some of its CPU.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import noop_app
from testkit.appserver import ROOT, AppServer
from testkit.httpapi import GradioHTTP


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def run(url: str, api_name: str, files: list[str], clients: int, requests: int) -> tuple[list[float], float, int]:
    """(latencies in s, wall s, wrong answers) of `requests` calls over `clients` threads, a connection each."""
    local = threading.local()
    latencies: list[float] = []
    wrong = 0
    lock = threading.Lock()

    def call(i: int) -> None:
        nonlocal wrong
        if not hasattr(local, "client"):
            local.client = GradioHTTP(url)
        path = files[i % len(files)]
        start = time.perf_counter()
        top3 = local.client.predict_file(api_name, path)
        elapsed = time.perf_counter() - start
        with lock:
            latencies.append(elapsed)
            wrong += api_name == "predict_image" and top3.get("label") != Path(path).stem[-1]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(call, range(requests)))
    return latencies, time.perf_counter() - started, wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--requests", type=int, default=200, help="requests per endpoint and client count (default: 200)"
    )
    parser.add_argument("--clients", default="1,8", help="comma-separated concurrent client counts (default: 1,8)")
    parser.add_argument("--port", type=int, default=0, help="loopback port for the server (default: a free one)")
    args = parser.parse_args()

    files = sorted(str(path) for path in (ROOT / "examples").glob("photo-*.jpg"))
    with AppServer(args.port or None, script=noop_app.SCRIPT) as server:
        run(server.url, "predict_image", files, 1, 2 * len(files))  # warm-up: model, client, queue
        print(f"{args.requests} requests a row; the app's example photos (JPEG, 0.5-1.5 MP); loopback")
        header = ("clients", "predict p50", "p95", "no-op p50", "p95", "p50 ratio", "predictions/s", "wrong")
        print("{:>7}  {:>11} {:>7}  {:>9} {:>7}  {:>9}  {:>13}  {:>5}".format(*header))
        for clients in (int(c) for c in args.clients.split(",")):
            predict, seconds, wrong = run(server.url, "predict_image", files, clients, args.requests)
            floor, _, _ = run(server.url, "noop", files, clients, args.requests)
            p50, p95 = percentile(predict, 50), percentile(predict, 95)
            f50, f95 = percentile(floor, 50), percentile(floor, 95)
            print(
                f"{clients:>7}  {p50 * 1000:9.1f}ms {p95 * 1000:5.1f}ms  {f50 * 1000:7.1f}ms {f95 * 1000:5.1f}ms  "
                f"{p50 / f50:9.2f}  {args.requests / seconds:13.1f}  {wrong:5d}",
                flush=True,
            )
        print("target: p50 ratio <= 1.3")


if __name__ == "__main__":
    main()
