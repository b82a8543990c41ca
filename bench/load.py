"""Load: K concurrent clients for T seconds against one app server, a mix of sketches and photos.

    python -m bench.load [--clients 16] [--seconds 60] [--think 1.0] [--sketch-share 0.5]

Starts the app in a child process on 127.0.0.1 (testkit/appserver.py: app.py's own queue and
concurrency settings). Each client is a thread with its own connection (testkit/httpapi.py) that
sends what the page sends: a drawing (the pad's PNG, inline in the /predict_sketch call) or a photo
(uploaded, then /predict_image), and loads the preview.
Between requests a client waits a random think time with mean `--think` seconds, as a person
drawing does (about a stroke a second); `--think 0` sends back to back and measures the ceiling.
Prints requests/s, the CPU time per request of the server and its prediction workers
(lenet/serving/pool.py), p50/p95/p99 latency overall and per kind, errors, wrong answers, and their memory
(proportional set size) after a warm-up with the same crowd and at the end. Targets: 0 errors,
p95 < 250 ms, memory growth < 10%. Loopback only; the clients share the machine with the server.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time

from testkit.appserver import ROOT, AppServer, cpu_seconds, memory_mib
from testkit.httpapi import GradioHTTP
from testkit.render import DIGITS, pad_drawing


def make_drawings() -> list[tuple[str, str]]:
    """(label, the pad's value) for each digit drawn with three brush widths on the 400x400 pad."""
    return [(str(label), pad_drawing(label, brush)) for label in sorted(DIGITS) for brush in (12, 22, 34)]


class Client(threading.Thread):
    """One person: sketch or photo, wait, again, until `stop_at`."""

    def __init__(self, url, sketches, photos, sketch_share, think, stop_at, seed):
        super().__init__(daemon=True)
        self.url, self.sketches, self.photos = url, sketches, photos
        self.sketch_share, self.think, self.stop_at = sketch_share, think, stop_at
        self.random = random.Random(seed)
        self.latencies: dict[str, list[float]] = {"sketch": [], "photo": []}
        self.errors: list[str] = []
        self.wrong = 0

    def one_request(self, api: GradioHTTP) -> None:
        kind = "sketch" if self.random.random() < self.sketch_share else "photo"
        start = time.perf_counter()
        if kind == "sketch":
            label, drawing = self.random.choice(self.sketches)
            top3, preview, _ = api.call("predict_sketch", drawing)
        else:
            photo = self.random.choice(self.photos)
            label = photo.stem[-1]  # the examples are named after their digit
            top3, preview, _ = api.call("predict_image", api.upload(photo))
        api.fetch(preview)
        self.latencies[kind].append(time.perf_counter() - start)
        self.wrong += top3["label"] != label

    def run(self) -> None:
        api = GradioHTTP(self.url, timeout=60)
        time.sleep(self.random.uniform(0, self.think))  # people do not all start at once
        try:
            while time.monotonic() < self.stop_at:
                try:
                    self.one_request(api)
                except Exception as err:  # a load test counts failures instead of stopping at one
                    self.errors.append(f"{type(err).__name__}: {err}"[:200])
                if self.think:
                    time.sleep(self.random.expovariate(1 / self.think))
        finally:
            api.close()


def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {cuts[49] * 1000:6.0f} ms  p95 {cuts[94] * 1000:6.0f} ms  p99 {cuts[98] * 1000:6.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default: 16)")
    parser.add_argument("--seconds", type=float, default=60, help="how long they send (default: 60)")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean pause between a client's requests, s (default: 1)"
    )
    parser.add_argument(
        "--sketch-share", type=float, default=0.5, help="share of sketches, the rest photos (default: 0.5)"
    )
    parser.add_argument("--warmup", type=float, default=10, help="seconds of the same load first (default: 10)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the clients' choices (default: 0)")
    args = parser.parse_args()

    photos = sorted((ROOT / "examples").glob("photo-*.jpg"))
    sketches = make_drawings()
    with AppServer() as server:

        def crowd(seconds: float, seed: int) -> list[Client]:
            stop_at = time.monotonic() + seconds
            return [
                Client(server.url, sketches, photos, args.sketch_share, args.think, stop_at, seed=seed + i)
                for i in range(args.clients)
            ]

        # Warm up with the same crowd: the model, caches, connections, and the server's thread pool
        # and allocator arenas, which grow with concurrency once and then stay.
        warm = crowd(args.warmup, seed=-1000)
        for client in warm:
            client.start()
        for client in warm:
            client.join()
        memory_before, cpu_before = memory_mib(server.pid), cpu_seconds(server.pid)
        clients = crowd(args.seconds, seed=args.seed * 1000)
        started = time.monotonic()
        for client in clients:
            client.start()
        trace = []  # memory every tenth of the run: growth that levels off, or a leak
        while any(client.is_alive() for client in clients):
            time.sleep(args.seconds / 10)
            trace.append(memory_mib(server.pid))
        for client in clients:
            client.join()
        elapsed = time.monotonic() - started
        memory_after, server_cpu = memory_mib(server.pid), cpu_seconds(server.pid) - cpu_before

    by_kind = {kind: [t for c in clients for t in c.latencies[kind]] for kind in ("sketch", "photo")}
    every = by_kind["sketch"] + by_kind["photo"]
    errors = [e for c in clients for e in c.errors]
    print(
        f"{args.clients} clients, {args.seconds:.0f} s, think {args.think} s, "
        f"{args.sketch_share:.0%} sketches; app.py's queue settings; loopback"
    )
    print(f"requests  {len(every):6d}   {len(every) / elapsed:6.1f} requests/s", end="   ")
    print(f"server and workers CPU {1000 * server_cpu / max(1, len(every)):.0f} ms per request")
    print(f"all       {percentiles(every)}")
    for kind, values in by_kind.items():
        print(f"{kind:9} {percentiles(values)}   ({len(values)})")
    print(f"errors    {len(errors):6d}   wrong answers {sum(c.wrong for c in clients)}")
    for message in sorted(set(errors))[:5]:
        print(f"          {message}")
    growth = memory_after / memory_before - 1
    print(f"memory    {memory_before:6.0f} MiB after {args.warmup:.0f} s warm-up", end="")
    print(f" -> {memory_after:6.0f} MiB at end ({growth:+.1%})")
    print(f"          every {args.seconds / 10:.0f} s: {' '.join(f'{m:.0f}' for m in trace)} MiB")
    p95 = statistics.quantiles(every, n=100, method="inclusive")[94] if len(every) > 1 else float("inf")
    met = not errors and p95 < 0.25 and growth < 0.10
    print("targets (0 errors, p95 < 250 ms, memory growth < 10%):", "met" if met else "NOT met")


if __name__ == "__main__":
    main()
