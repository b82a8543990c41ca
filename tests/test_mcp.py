"""Agents: the app's MCP server, reached with the `mcp` Python client over streamable HTTP on loopback,
and the tools' image fetching (lenet.serving.fetch) against a real HTTP server on 127.0.0.1.

The app under test trusts 127.0.0.1 by name (LENET_FETCH_HOSTS, set in conftest), so a photo served
here can be fetched by URL; every other private address, "localhost" included, must be refused.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import http.server
import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import pytest

from lenet.serving import fetch as fetch_module
from lenet.serving.fetch import INLINE_BYTES, FetchError, image_bytes
from testkit.numbers import photographed_number
from testkit.render import pad_drawing, photo_bytes

from .conftest import ROOT

pytest.importorskip("mcp", reason="the MCP client comes with gradio[mcp] (requirements.txt)")

BIG = 11 * 1024 * 1024  # over the app's 10 MB limit on a fetched image


class Images(http.server.BaseHTTPRequestHandler):
    """Serves the test's images and, to be refused, an endless body, a compressed bomb, headers sent
    one a second, and redirects (to an image, or to a private address). Keeps each request's Host."""

    files: ClassVar[dict[str, bytes]] = {}
    hosts: ClassVar[list[str]] = []

    def do_GET(self):
        self.hosts.append(f"{self.headers.get('Host')} {self.path}")
        port = self.server.server_address[1]
        try:
            if self.path in self.files:
                self.send(200, self.files[self.path], "image/jpeg")
            elif self.path.startswith("/redirect/"):
                target = {
                    "ok": f"http://127.0.0.1:{port}/seven.jpg",
                    "private": f"http://localhost:{port}/seven.jpg",
                    "port": "http://127.0.0.1:99999/x",  # no such port: getaddrinfo wraps it, connect() crashed
                }
                self.send_response(302)
                self.send_header("Location", target[self.path.removeprefix("/redirect/")])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/big-undeclared":  # no Content-Length: the limit must hold while reading
                self.send_response(200)
                self.end_headers()
                for _ in range(BIG // 65536 + 1):
                    self.wfile.write(b"\xff" * 65536)
            elif self.path == "/bomb":  # 40 KB that would be 40 MB decompressed
                self.send(200, gzip.compress(b"\0" * 40_000_000), "image/png", encoding="gzip")
            elif self.path == "/slow-headers":  # each header in time, the whole answer never
                self.send_response(200)
                for i in range(30):
                    self.send_header(f"X-Slow-{i}", "1")
                    self.flush_headers()
                    time.sleep(0.5)
                self.end_headers()
            else:
                self.send_error(404)
        except (BrokenPipeError, ConnectionResetError):  # the client stopped reading, as it should
            pass

    def send(self, status: int, body: bytes, kind: str, encoding: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def images() -> Iterator[str]:
    """A loopback HTTP server with a photographed 7, a photographed 2026; yields its base URL."""
    Images.files = {"/seven.jpg": photo_bytes(7, seed=3), "/number.jpg": photographed_number("2026")}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Images)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def call_tools(app_url: str, calls: list[tuple[str, dict]]) -> tuple[dict, list]:
    """Connects to the app's MCP server as an agent would: ({tool: its listing}, each call's result)."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def session():
        async with (
            streamable_http_client(f"{app_url.rstrip('/')}/gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as client,
        ):
            await client.initialize()
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            return tools, [await client.call_tool(name, arguments) for name, arguments in calls]

    return asyncio.run(session())


def parsed(result) -> dict:
    """A tool result's one text block, parsed as the JSON it must be."""
    assert not result.isError and len(result.content) == 1, result
    return json.loads(result.content[0].text)


def test_agents_see_two_tools_and_read_a_digit_and_a_number(app_url, images):
    data_url = pad_drawing(4)  # the pad's PNG of a 4, as a data: URL
    tools, results = call_tools(
        app_url,
        [
            ("read_digit", {"image": data_url}),
            ("read_digit", {"image": f"{images}/seven.jpg"}),
            ("read_digit", {"image": f"{images}/redirect/ok"}),
            ("read_number", {"image": f"{images}/number.jpg"}),
            ("predict_image", {"image": f"{images}/seven.jpg"}),  # a page endpoint: not a tool
        ],
    )
    # Only the tools meant for agents, each described well enough to pick it and read its answer.
    assert set(tools) == {"read_digit", "read_number"}
    for tool in tools.values():
        assert tool.inputSchema["required"] == ["image"]
        assert "data: URL" in tool.inputSchema["properties"]["image"]["description"]
        assert '{"error": "why"}' in tool.description and "Returns:" in tool.description
    assert "one handwritten digit" in tools["read_digit"].description
    assert "number" in tools["read_number"].description

    for result, label in zip(results[:3], "477", strict=True):
        predictions = parsed(result)["predictions"]
        assert len(predictions) == 3 and predictions[0]["label"] == label
        assert predictions[0]["probability"] >= predictions[1]["probability"] >= predictions[2]["probability"]
    reading = parsed(results[3])
    assert reading["number"] == "2026" and len(reading["digits"]) == 4
    lefts = [digit["box"][0] for digit in reading["digits"]]
    assert lefts == sorted(lefts)
    assert results[4].isError and "Unknown tool" in results[4].content[0].text


def fetch(image: str) -> bytes:
    return asyncio.run(image_bytes(image, 10 * 1024 * 1024))


@pytest.mark.parametrize(
    "image, why",
    [
        ("", "no image"),
        ("/etc/passwd", "not a URL"),
        ("file:///etc/passwd", "not a URL"),
        (str(ROOT / "examples" / "drawn-7.png"), "not a URL"),
        ("http://localhost:{port}/seven.jpg", "not on the public internet"),
        ("http://10.0.0.1/seven.jpg", "not on the public internet"),
        ("http://169.254.169.254/latest/meta-data/", "not on the public internet"),
        ("http://[::1]:{port}/seven.jpg", "not on the public internet"),
        ("http://[::ffff:127.0.0.1]:{port}/seven.jpg", "not on the public internet"),
        ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "not on the public internet"),  # NAT64 169.254.169.254
        ("http://[::127.0.0.1]:{port}/seven.jpg", "not on the public internet"),
        ("http://[2002:7f00:1::1]:{port}/seven.jpg", "not on the public internet"),  # 6to4 127.0.0.1
        ("{images}/redirect/private", "not on the public internet"),
        ("{images}/redirect/port", "port 99999"),
        ("http://[64:ff9b:1::a00:1]/", "not on the public internet"),  # local-use NAT64 (RFC 8215)
        ("http://[fec0::1]/", "not on the public internet"),  # site-local
        ("{images}/missing.png", "HTTP 404"),
        ("{images}/big-undeclared", "larger than 10,485,760 bytes"),
        ("{images}/bomb", "compressed"),
        ("data:image/png,rawbytes", "must be base64"),
        ("data:image/png;base64,not base64!", "not valid base64"),
        ("data:image/png;base64," + base64.b64encode(b"hello").decode(), "not an image file"),
        ("data:image/png;base64," + "A" * (INLINE_BYTES * 4 // 3 + 8), "larger than"),
    ],
)
def test_fetch_refuses_with_a_reason(images, monkeypatch, image, why):
    """What an agent may name, checked where the app checks it: one-line reasons, no server path;
    nothing private is connected to (the loopback server sees no request by another name)."""
    monkeypatch.setenv("LENET_FETCH_HOSTS", "127.0.0.1")
    port = images.rsplit(":", 1)[1]
    image = image.format(images=images, port=port)
    Images.hosts.clear()
    if why == "not an image file":
        from lenet import Predictor

        with pytest.raises(ValueError, match=why):
            Predictor.from_checkpoint().predict(fetch(image))
        return
    with pytest.raises(FetchError, match=why) as refused:
        fetch(image)
    assert str(ROOT) not in str(refused.value) and "\n" not in str(refused.value)
    assert all(host.startswith(f"127.0.0.1:{port} ") for host in Images.hosts), Images.hosts


def test_the_whole_fetch_has_one_deadline(images, monkeypatch):
    """Headers that come one at a time, each in time, still end the fetch at TIMEOUT in all."""
    monkeypatch.setenv("LENET_FETCH_HOSTS", "127.0.0.1")
    monkeypatch.setattr(fetch_module, "TIMEOUT", 2.0)
    start = time.perf_counter()
    with pytest.raises(FetchError, match="did not answer within 2 s"):
        fetch(f"{images}/slow-headers")
    assert time.perf_counter() - start < 4


def test_the_checked_address_is_the_one_connected_to(images, monkeypatch):
    """A host that passes the check is connected to at the address checked, whatever a second DNS
    answer would say, and keeps its name in the Host header; a host with any private address fails."""
    port = images.rsplit(":", 1)[1]
    answers = {"digits.example": ["93.184.215.14", "127.0.0.1"], "mixed.example": ["93.184.215.14", "10.1.2.3"]}
    lookups = []

    def getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host].pop(0), port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert asyncio.run(fetch_module.public_address("digits.example", 80)) == "93.184.215.14"
    assert lookups == ["digits.example"]

    # Connect to the loopback server as if 127.0.0.1 had been the checked address.
    monkeypatch.setattr(fetch_module, "public_address", lambda host, port: asyncio.sleep(0, "127.0.0.1"))
    Images.hosts.clear()
    assert fetch(f"http://digits.example:{port}/seven.jpg") == Images.files["/seven.jpg"]
    assert Images.hosts == [f"digits.example:{port} /seven.jpg"]

    monkeypatch.undo()
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in ("93.184.215.14", "10.1.2.3")
    ])  # fmt: skip
    with pytest.raises(FetchError, match="not on the public internet"):
        asyncio.run(fetch_module.public_address("mixed.example", 80))


def test_a_data_url_of_almost_3_mb_reaches_the_tool(app_url):
    """The tools' routes take a data: URL up to INLINE_BYTES; the rest of the app keeps 512 KiB."""
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 256, (820, 820, 3), dtype=np.uint8)
    png = io.BytesIO()
    Image.fromarray(noise).save(png, "PNG", compress_level=0)
    assert 1.9e6 < len(png.getvalue()) < INLINE_BYTES
    image = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    _, results = call_tools(app_url, [("read_digit", {"image": image})])
    assert set(parsed(results[0])) <= {"predictions", "error"}  # an answer, not a refused request


def blank_image() -> str:
    """A blank white PNG as a data: URL."""
    from PIL import Image

    from testkit.render import data_url

    return data_url(Image.new("RGB", (200, 200), "white"))


def test_refusals_reach_the_agent_as_json(app_url, images):
    port = images.rsplit(":", 1)[1]
    _, results = call_tools(
        app_url,
        [
            ("read_digit", {"image": f"http://localhost:{port}/seven.jpg"}),
            ("read_number", {"image": "/etc/passwd"}),
            ("read_digit", {"image": "data:image/png;base64," + base64.b64encode(b"GIF89a broken").decode()}),
            ("read_digit", {"image": blank_image()}),
        ],
    )
    errors = [parsed(result)["error"] for result in results]
    assert "not on the public internet" in errors[0]
    assert "not a URL" in errors[1]
    assert errors[2].startswith("image: ")
    assert errors[3].startswith("no digit found")


def test_readme_mcp_snippet_runs_as_written(app_url):
    """The README's MCP client code, run as written against the app: a person can connect from it."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- mcp-snippet -->\s*```python\n(.*?)```", readme, re.S)
    assert match, "README.md has no <!-- mcp-snippet --> python block"
    code = match.group(1).replace("http://127.0.0.1:7860/", app_url.rstrip("/") + "/")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("{'predictions': [{'label': '7'"), run.stdout


def test_http_api_callers_get_the_same_json(app_url, images):
    """The tools are also the documented HTTP API (gradio_client), with the same answers."""
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    digit = json.loads(client.predict(f"{images}/seven.jpg", api_name="/read_digit"))
    assert digit["predictions"][0]["label"] == "7"
    photo = "data:image/jpeg;base64," + base64.b64encode(photographed_number("31")).decode()
    assert json.loads(client.predict(photo, api_name="/read_number"))["number"] == "31"
    documented = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(documented) == {"/read_digit", "/read_number"}


def test_slow_urls_do_not_hold_up_other_api_calls(app_url, images):
    """Over HTTP (/gradio_api/call/read_digit) the tools went through Gradio's queue two at a time:
    two slow URLs made every other call wait up to 10 s. The queue no longer limits them; their own
    slots do, and an inline image is read while three slow URLs are still being fetched."""
    import httpx

    def call(client: httpx.Client, image: str) -> str:
        response = client.post("gradio_api/call/read_digit", json={"data": [image]})
        response.raise_for_status()
        return response.json()["event_id"]

    def result(client: httpx.Client, event_id: str) -> dict:
        with client.stream("GET", f"gradio_api/call/read_digit/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("data: ") and line != "data: null":
                    return json.loads(json.loads(line.removeprefix("data: "))[0])
        raise AssertionError("no result")

    inline = "data:image/jpeg;base64," + base64.b64encode(photo_bytes(7, seed=3)).decode()
    with httpx.Client(base_url=app_url, timeout=60) as client:
        slow = [call(client, f"{images}/slow-headers") for _ in range(3)]
        time.sleep(0.5)  # the three are fetching
        start = time.perf_counter()
        answer = result(client, call(client, inline))
        waited = time.perf_counter() - start
        assert answer["predictions"][0]["label"] == "7" and waited < 5, (answer, waited)
        assert all("did not answer" in result(client, event_id)["error"] for event_id in slow)


def test_tool_calls_beyond_their_slots_are_told_the_app_is_busy(monkeypatch):
    """The tools skip Gradio's queue; thirty calls at once lined up for the workers ahead of the
    page (a drawing waited 15.6 s). With one slot, one reading runs and the calls that cannot get
    the slot within BUSY_SECONDS answer {"error": "the app is busy ..."} at once after it."""
    import anyio

    from lenet.serving import tools

    monkeypatch.setattr(tools, "BUSY_SECONDS", 0.3)
    image = "data:image/png;base64," + base64.b64encode(b"\x89PNG not read here").decode()

    def slow_read(data: bytes) -> dict:
        time.sleep(1.0)
        return {"read": len(data)}

    async def three_at_once() -> list[dict]:
        slots, fetches = anyio.Semaphore(1), anyio.Semaphore(1)
        calls = (tools.answer(slow_read, image, 10_000, slots, fetches) for _ in range(3))
        return [json.loads(a) for a in await asyncio.gather(*calls)]

    answers = asyncio.run(three_at_once())
    assert sorted(answers, key=str) == sorted([{"read": 18}, {"error": tools.BUSY}, {"error": tools.BUSY}], key=str)


def test_urls_beyond_the_fetch_slots_are_told_the_app_is_busy(images, monkeypatch):
    """Each fetch may hold 10 MB for 10 s, and fetches were not bounded: 60 calls of 250 bytes took
    the app from 755 to 1,467 MiB. With one fetch slot, a second slow URL is told the app is busy,
    and an image sent inline is read meanwhile."""
    import anyio

    from lenet.serving import tools

    monkeypatch.setenv("LENET_FETCH_HOSTS", "127.0.0.1")
    monkeypatch.setattr(fetch_module, "TIMEOUT", 2.0)
    monkeypatch.setattr(tools, "BUSY_SECONDS", 0.3)
    inline = "data:image/png;base64," + base64.b64encode(b"\x89PNG not read here").decode()

    async def calls() -> list[dict]:
        slots, fetches = anyio.Semaphore(2), anyio.Semaphore(1)
        slow = f"{images}/slow-headers"  # holds its fetch slot for TIMEOUT
        read = lambda data: {"read": len(data)}  # noqa: E731
        answers = [tools.answer(read, reference, 10_000, slots, fetches) for reference in (slow, slow, inline)]
        return [json.loads(answer) for answer in await asyncio.gather(*answers)]

    first, second, inline_answer = asyncio.run(calls())
    assert "did not answer" in first["error"] and second == {"error": tools.BUSY}
    assert inline_answer == {"read": 18}
