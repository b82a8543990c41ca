"""The public endpoints, attacked as an anonymous caller would: raw HTTP on 127.0.0.1, no browser.

Each attack is refused or bounded, costs at most one log line, and the app still answers a good
request afterwards. The app runs in its own process here, so its memory and log can be measured.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import gradio as gr
import httpx
import pytest
from gradio.data_classes import ImageData
from PIL import Image

from lenet import ImageError, Predictor
from lenet.serving.guard import (
    JSON_BYTES,
    NOT_RECEIVED,
    UPLOAD_COST_BYTES,
    Endpoint,
    RequestGuard,
    UploadBudget,
    endpoint_table,
    is_received_file,
    misdirected,
    sender,
    sweep_empty_folders,
)
from lenet.serving.pad import USAGE, DrawingPad
from lenet.serving.ui import PhotoInput
from testkit.appserver import memory_mib
from testkit.render import data_url, pad_drawing, photo_bytes

from .conftest import ROOT, children_running, running_app

API = "gradio_api/"
FILE_MARK = {"_type": "gradio.FileData"}
MAX_GROWTH_MIB = 20  # memory an attack may leave behind in the app's process tree


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """(url, log file, pid, upload folder) of an app of our own."""
    folder = tmp_path_factory.mktemp("security")
    uploads = folder / "gradio"
    others = set(children_running("app.py"))  # the session's shared app may be running too
    # A trusted proxy (as on a Space), so a test can pose as other senders with X-Forwarded-For; the
    # app's own upload budget (AppServer lifts it for the other tests).
    env = {"GRADIO_TEMP_DIR": str(uploads), "LENET_TRUST_PROXY": "1", "LENET_UPLOADS_PER_MINUTE": "60"}
    with running_app(folder, **env) as (url, log_path):
        (pid,) = set(children_running("app.py")) - others
        yield url, log_path, pid, uploads


@pytest.fixture(scope="module")
def http(app):
    with httpx.Client(base_url=app[0], timeout=60) as client:
        yield client


def call(http: httpx.Client, endpoint: str, *data) -> tuple[str, object]:
    """POST /call/<endpoint> and read its event stream: ("complete", outputs), ("error", message),
    or ("http <status>", body) when the request itself is refused."""
    response = http.post(f"{API}call/{endpoint}", json={"data": list(data)})
    if response.status_code != 200:
        return f"http {response.status_code}", response.json()
    event_id = response.json()["event_id"]
    kind = None
    with http.stream("GET", f"{API}call/{endpoint}/{event_id}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: ") and kind in ("complete", "error"):
                payload = json.loads(line.removeprefix("data: "))
                return kind, payload if kind == "complete" else payload["error"]
    raise AssertionError("the event stream ended without a result")


def upload(http: httpx.Client, name: str, data: bytes) -> dict:
    response = http.post(f"{API}upload", files=[("files", (name, data))])
    response.raise_for_status()
    return {"path": response.json()[0], "orig_name": name, "meta": FILE_MARK}


def answers_a_good_request(http: httpx.Client) -> None:
    kind, (top3, _, message) = call(http, "predict_image", upload(http, "seven.jpg", photo_bytes(7, seed=1)))
    assert kind == "complete" and top3["label"] == "7", message


def log_lines(log_path: Path) -> list[str]:
    return log_path.read_text(errors="replace").splitlines()


# ---- 1. no server file is reachable --------------------------------------------------------------


def test_no_request_opens_a_file_it_did_not_upload(app, http):
    """Every path outside the upload folder, as a file object with or without Gradio's file mark, on
    both endpoints and through the browser's queue route: one refusal, word for word the same
    whether the path exists, is a folder or is missing, never echoing it. The drawing endpoint takes
    no file at all: a path sent as its drawing is refused as not being a data URL."""
    _, log_path, _, uploads = app
    uploaded = upload(http, "one.jpg", photo_bytes(1, seed=5))["path"]
    paths = [
        "/etc/passwd",
        "/etc/shadow",
        "/etc",
        "/no/such/file.png",
        str(ROOT / "checkpoints" / "lenet5" / "model.safetensors"),
        str(ROOT / "app.py"),
        f"{uploads}/../../../../etc/passwd",  # climbs out of the upload folder
        f"{Path(uploaded).parent}/../../../etc/hostname",
        "file:///etc/passwd",
        "https://example.com/digit.png",  # the server fetches no URL either
        "x" * 5000,
    ]
    before = len(log_lines(log_path))
    answers, drawing_answers = set(), set()
    for path in paths:
        for file in ({"path": path}, {"path": path, "meta": FILE_MARK}):
            for endpoint in ("predict_image", "predict_sketch"):
                kind, answer = call(http, endpoint, file)
                assert path not in json.dumps(answer), (path, answer)
                answers.add((kind, json.dumps(answer)))
            # The browser's route, as the page sends a photo.
            response = http.post(f"{API}queue/join", json={"data": [file], "fn_index": 2, "session_hash": "s"})
            answers.add((f"http {response.status_code}", json.dumps(response.json())))
        drawing_answers.add(call(http, "predict_sketch", path))
    assert answers == {("http 403", json.dumps({"detail": NOT_RECEIVED}))}
    assert drawing_answers == {("error", USAGE)}
    added = log_lines(log_path)[before:]
    assert len(added) == 7 * len(paths) and all("refused" in line for line in added), added
    answers_a_good_request(http)


def test_a_component_refuses_a_server_path_even_without_the_guard():
    """The components check the path too, should the app ever be served without lenet.guard."""
    with pytest.raises(gr.Error, match="may only name files it uploaded"):
        PhotoInput().preprocess(ImageData(path="/etc/passwd"))
    example = ROOT / "examples" / "photo-7.jpg"
    assert PhotoInput().preprocess(ImageData(path=str(example))) == str(example)
    seven = pad_drawing(7)
    assert DrawingPad().preprocess(seven).startswith(b"\x89PNG")
    for payload in ("/etc/passwd", {"path": "/etc/passwd"}, ["data:image/png;base64,"], 7):
        with pytest.raises(gr.Error, match="refused: a drawing is an image data URL"):
            DrawingPad().preprocess(payload)


def test_received_files_are_inside_the_allowed_folders(tmp_path):
    inside = tmp_path / "uploads"
    (inside / "abc").mkdir(parents=True)
    (tmp_path / "secret.png").write_bytes(b"x")
    (inside / "abc" / "link.png").symlink_to(tmp_path / "secret.png")
    assert is_received_file(str(inside / "abc" / "digit.png"), [inside])
    assert not is_received_file(str(inside / "abc" / "link.png"), [inside])  # a link leading out
    assert not is_received_file(str(inside / ".." / "secret.png"), [inside])
    assert not is_received_file(str(tmp_path / "uploads-other" / "x.png"), [inside])  # a prefix, not inside
    assert not is_received_file(None, [inside]) and not is_received_file(123, [inside])
    # The folder itself is no file in it: "uploads: is a directory" would name a server folder.
    assert not is_received_file(str(inside), [inside]) and not is_received_file(str(inside / "abc" / ".."), [inside])


def test_a_sender_is_its_connection_unless_a_proxy_is_trusted():
    """X-Forwarded-For is the caller's to write unless a proxy in front appends to it: trusted only
    when told (a Space, LENET_TRUST_PROXY=1); one caller spoofing it passed for five more senders."""
    from types import SimpleNamespace

    from starlette.datastructures import Headers

    def request(*forwarded: str):
        headers = Headers(raw=[(b"x-forwarded-for", line.encode()) for line in forwarded])
        return SimpleNamespace(client=SimpleNamespace(host="198.51.100.7"), headers=headers)

    for forwarded in ((), ("203.0.113.1",), ("203.0.113.1, 203.0.113.2",)):
        assert sender(request(*forwarded), trust_proxy=False) == "198.51.100.7"
    assert sender(request("203.0.113.1, 192.0.2.9"), trust_proxy=True) == "192.0.2.9"  # the proxy's own entry
    # A line of the caller's own before the one the proxy appended to: still the proxy's last entry.
    assert sender(request("203.0.113.1", "203.0.113.5, 192.0.2.9"), trust_proxy=True) == "192.0.2.9"
    assert sender(request(), trust_proxy=True) == "198.51.100.7"


def test_a_caller_behind_a_local_proxy_cannot_pick_its_address(tmp_path):
    """uvicorn took X-Forwarded-For from 127.0.0.1 as the client's address: behind a proxy on the same
    machine that passes the header on, each made-up address had bounds of its own (23 corrections
    where one sender may save 20). Without LENET_TRUST_PROXY the connection's address counts."""
    env = {"LENET_UPLOADS_PER_MINUTE": "3", "GRADIO_TEMP_DIR": str(tmp_path / "uploads")}
    with running_app(tmp_path, **env) as (url, _), httpx.Client(base_url=url, timeout=30) as client:
        if time.time() % 60 > 50:  # the budget counts whole minutes: all four in one of them
            time.sleep(61 - time.time() % 60)
        statuses = []
        for number in range(4):
            headers = {"x-forwarded-for": f"203.0.113.{number}"}
            response = client.post(f"{API}upload", files=[("files", ("a.png", b"x"))], headers=headers)
            statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429], statuses


# ---- 2. drawings are bounded ---------------------------------------------------------------------


def test_hostile_drawings_get_a_refusal_or_a_message(app, http):
    """What the drawing endpoint can be sent instead of the pad's PNG: a refusal for what is no
    image data URL, a one-line message for an image that cannot be read or is too large to decode
    (a 400-megapixel PNG is 50 KB), one log line for each refusal, and the app's memory where it was."""
    _, log_path, pid, _ = app
    answers_a_good_request(http)
    assert call(http, "predict_sketch", pad_drawing(7))[1][0]["label"] == "7"
    before_mib, before_lines = memory_mib(pid), len(log_lines(log_path))
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG", optimize=True)
    assert len(bomb.getvalue()) < 100_000
    png = "data:image/png;base64,"
    four = pad_drawing(4).removeprefix(png)
    unreadable = {
        "a truncated PNG": png + four[: len(four) // 8 * 4],  # half of it, in whole base64 quads
        "a text file": png + base64.b64encode(b"not a picture").decode(),
        "a 400-megapixel PNG": png + base64.b64encode(bomb.getvalue()).decode(),
    }
    for what, drawing in unreadable.items():
        kind, (top3, preview, message) = call(http, "predict_sketch", drawing)
        assert kind == "complete" and preview is None and not top3.get("confidences"), what
        assert message.startswith("⚠️ Could not read that file"), (what, message)
    refused = {
        "damaged base64": "data:image/png;base64,@@@@",
        "a data URL of text": "data:text/plain;base64,aGVsbG8=",
        "an object": {"layers": [None] * 5},
        "a list": ["data:image/png;base64,"],
        "a number": 7,
    }
    for what, drawing in refused.items():
        kind, message = call(http, "predict_sketch", drawing)
        assert kind == "error" and message.startswith("refused: "), (what, message)
    added = log_lines(log_path)[before_lines:]
    assert len(added) == len(refused) and all("refused" in line for line in added), added
    assert memory_mib(pid) - before_mib < MAX_GROWTH_MIB
    blank = data_url(Image.new("RGBA", (400, 400), (0, 0, 0, 0)))
    assert call(http, "predict_sketch", blank)[1][2].startswith("Draw a digit")
    assert call(http, "predict_sketch", "")[1][2].startswith("Draw a digit")


# ---- 3. small requests cost small logs; bodies are bounded ---------------------------------------


def raw_request(url: str, head: str, body: bytes = b"") -> str:
    """Send a request over a plain socket and return the response's status line: a refusal must
    come from the headers, before the server reads a body the client never finishes sending."""
    host, port = re.match(r"http://([^:/]+):(\d+)", url).groups()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n" + body)
        return sock.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


def test_request_bodies_are_bounded(app, http):
    url, log_path, pid, _ = app
    answers_a_good_request(http)
    before_mib, before_lines = memory_mib(pid), len(log_lines(log_path))
    head = "POST /gradio_api/call/predict_sketch HTTP/1.1\r\nHost: x\r\nContent-Type: {}\r\nContent-Length: {}"
    # Two Content-Types, judged by one and read by the other, got a 9 MB body and a server path past
    # both checks: a repeated Content-Type or Content-Length is refused outright.
    twice = "POST /gradio_api/call/predict_image HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    passwd = b'{"data": [{"path": "/etc/passwd"}]}'
    statuses = [
        raw_request(url, head.format("application/json", 60_000_000), b'{"data": ['),  # 60 MB, announced
        raw_request(url, head.format("multipart/form-data; boundary=x", 60_000_000), b"--b\r\n"),
        raw_request(
            url, twice + f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {len(passwd)}", passwd
        ),
        raw_request(url, twice + f"Content-Length: {len(passwd)}\r\nContent-Length: {len(passwd)}", passwd),
    ]
    # (Two equal Content-Lengths the HTTP server merges into one: the body is then checked as usual.)
    assert [s.split()[1] for s in statuses] == ["413", "413", "400", "403"], statuses
    refusals = {
        "a 60 MB JSON body": b'{"data": ["' + b"x" * 60_000_000 + b'"]}',
        "a drawing over the body limit": json.dumps({"data": [pad_drawing(7) + "A" * JSON_BYTES]}).encode(),
        "100,000 null layers": json.dumps({"data": [{"layers": [None] * 100_000}]}).encode(),
        "a 1,000,000-character path": json.dumps({"data": [{"path": "/tmp/" + "a" * 1_000_000}]}).encode(),
        "a body sent in chunks, no length": iter([b"[" * 100_000] * 10),
        "brackets nested 60,000 deep": b"[" * 60_000,
    }
    for what, body in refusals.items():
        response = http.post(f"{API}call/predict_sketch", content=body, headers={"content-type": "application/json"})
        assert response.status_code in (400, 413) and len(response.content) < 200, (what, response.text[:200])
    added = log_lines(log_path)[before_lines:]
    assert len(added) == len(statuses) + len(refusals) and all("refused" in line for line in added), added
    assert memory_mib(pid) - before_mib < MAX_GROWTH_MIB
    answers_a_good_request(http)


def test_calls_of_missing_endpoints_or_inputs_are_refused_in_one_line(app, http):
    """Gradio answered these with HTTP 500, or a failed event, and a 20-70 line traceback each in
    the log: a caller could write 70 lines of log with a 60-byte request."""
    _, log_path, _, _ = app
    before = len(log_lines(log_path))
    config = http.get("config").json()
    ids = {dependency.get("api_name"): dependency["id"] for dependency in config["dependencies"]}
    join = f"{API}queue/join"
    calls = {
        "an unknown fn_index": (join, {"fn_index": 999, "data": [], "session_hash": "x1"}, 404),
        "an unknown fn_index, run directly": (f"{API}run/predict", {"fn_index": 999, "data": []}, 404),
        "an unknown name": (f"{API}call/no_such_endpoint", {"data": []}, 404),
        "no inputs": (join, {"fn_index": ids["predict_sketch"], "data": [], "session_hash": "x2"}, 422),
        "no inputs, by name": (f"{API}call/predict_image", {"data": []}, 422),
        "one input of six": (join, {"fn_index": ids["save_correction"], "data": [None], "session_hash": "x3"}, 422),
        "example 999": (join, {"fn_index": ids["load_example"], "data": [999], "session_hash": "x4"}, 422),
        "example 'x'": (join, {"fn_index": ids["load_example"], "data": ["x"], "session_hash": "x5"}, 422),
        # By parameter name (the API page's curl form): Gradio's KeyError or TypeError, an HTTP 500.
        "a page endpoint, by parameter name": (f"{API}call/v2/predict_image", {}, 404),
        "a private endpoint, by parameter name": (f"{API}call/v2/save_correction", {}, 404),
        "an unknown name, by parameter name": (f"{API}call/v2/no_such_endpoint", {}, 404),
        "no image, by parameter name": (f"{API}call/v2/read_digit", {}, 422),
        "an unknown parameter": (f"{API}call/v2/read_number", {"image": "", "images": ""}, 422),
    }
    for what, (route, body, status) in calls.items():
        response = http.post(route, json=body)
        assert response.status_code == status and len(response.content) < 200, (what, response.text)
        assert response.json()["detail"].startswith("refused: "), what
    # The streams a client reads its answers from, for an event or a session that is not waiting:
    # Gradio dropped the connection and logged two tracebacks (80 lines) for each.
    streams = [
        f"{API}queue/data?session_hash=nobody",
        f"{API}call/predict_image/no-such-event",
        f"{API}call/nothing/x",
        f"{API}call/v2/read_digit/no-such-event",
    ]
    for route in streams:
        response = http.get(route)
        assert response.status_code == 404 and response.json()["detail"].startswith("refused: "), route
    added = log_lines(log_path)[before:]
    assert len(added) == len(calls) + len(streams) and all("refused" in line for line in added), added
    # A value no digit, 400 KB of it, for the right digit: Gradio's own refusal quoted it whole, in
    # the answer and in the log.
    size = log_path.stat().st_size
    body = {"fn_index": ids["save_correction"], "data": [None, None, None, "9" * 400_000, None, None]}
    response = http.post(join, json={**body, "session_hash": "x7"})
    assert response.status_code == 200, response.text
    with http.stream("GET", f"{API}queue/data?session_hash=x7") as stream:
        completed = next(json.loads(line[6:]) for line in stream.iter_lines() if "process_completed" in line)
    assert not completed["success"] and completed["output"]["error"] == "refused: not one of the choices"
    assert log_path.stat().st_size - size < 2_000
    # A good call by parameter name passes, through the stream of its own route: the 7 read.
    response = http.post(f"{API}call/v2/read_digit", json={"image": pad_drawing(7)})
    assert response.status_code == 200, response.text
    with http.stream("GET", f"{API}call/v2/read_digit/{response.json()['event_id']}") as stream:
        data = next(json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: "))
    assert json.loads(data[0])["predictions"][0]["label"] == "7", data
    # The page's own calls pass: an example picked, and an answer to it.
    response = http.post(join, json={"fn_index": ids["load_example"], "data": [0], "session_hash": "x6"})
    assert response.status_code == 200, response.text
    answers_a_good_request(http)


def test_malformed_mcp_requests_are_not_copied_into_the_log(app, http):
    """The MCP server logs a request it cannot parse, whole, with a pydantic error over 20 lines:
    100 KB sent was 100 KB logged. The log now keeps its first line, at most 500 characters."""
    _, log_path, _, _ = app
    headers = {"accept": "application/json, text/event-stream"}
    for body in (
        {"jsonrpc": "2.0", "id": {"a": "b" * 100_000}, "method": "tools/list"},
        {"jsonrpc": "2.0", "method": "notifications/nothing", "params": {"x": "y" * 100_000}},
        {"jsonrpc": "2.0", "id": 1, "method": "nothing", "params": {"x": "y" * 100_000}},
    ):
        size = log_path.stat().st_size
        response = http.post(f"{API}mcp/", json=body, headers=headers)
        assert response.status_code in (200, 202, 400) and len(response.content) < 2_000
        time.sleep(0.2)  # the log line is written after the answer
        assert log_path.stat().st_size - size < 2_000
    answers_a_good_request(http)


def test_the_endpoint_table_reads_gradios_events():
    from types import SimpleNamespace

    examples = SimpleNamespace(samples=[["a.png"], ["b.png"]])
    functions = {
        0: SimpleNamespace(fn=print, inputs=[examples], api_name="load_example"),
        1: SimpleNamespace(fn=None, inputs=[], api_name="js_fn"),  # runs in the page only
        2: SimpleNamespace(fn=print, inputs=[object(), object()], api_name="two"),
    }
    documented = {"/two": {"parameters": [{"parameter_name": "a", "parameter_has_default": False},
                                          {"parameter_name": "b", "parameter_has_default": True}]}}  # fmt: skip
    table = endpoint_table(functions, documented)
    assert set(table) == {0, "load_example", 2, "two"}
    assert table[0] == Endpoint(1, examples=2) and table["two"] == Endpoint(2, keywords=(("a", False), ("b", True)))
    # By parameter name: only what the API page documents, with what it needs and nothing else.
    assert misdirected("/gradio_api/call/v2/two", {"a": 1}, table) is None
    assert misdirected("/gradio_api/call/v2/two", {"a": 1, "b": 2, "oauth_token": "t"}, table) is None
    assert misdirected("/gradio_api/call/v2/two", {"b": 2}, table) == (
        422,
        "refused: no value for 'a': this endpoint takes a, b",
    )
    assert misdirected("/gradio_api/call/v2/two", {"a": 1, "c": 3}, table)[0] == 422
    assert misdirected("/gradio_api/call/v2/load_example", {}, table)[0] == 404  # undocumented
    assert misdirected("/gradio_api/call/v2/two", [1], table) is None  # Gradio's 422
    assert misdirected("/gradio_api/call/two", {"data": [1]}, table)[0] == 422
    assert misdirected("/gradio_api/call/two", {"data": [1, 2]}, table) is None
    assert misdirected("/gradio_api/queue/join", {"fn_index": 0, "data": [2]}, table)[0] == 422
    assert misdirected("/gradio_api/queue/join", {"fn_index": 0, "data": [1]}, table) is None
    assert misdirected("/gradio_api/queue/join", {"fn_index": 1, "data": []}, table)[0] == 404
    assert misdirected("/gradio_api/queue/join", {"fn_index": True, "data": []}, table) is None  # Gradio's 422
    assert misdirected("/gradio_api/upload", None, table) is None


# ---- 4. expired uploads leave no folders -----------------------------------------------------------


def test_only_the_named_tools_and_mcp_take_large_bodies():
    """RequestGuard's tool routes: the MCP server's and the direct calls of the endpoints named in
    `tools`, nothing else (a page endpoint, a longer name, another prefix)."""
    routes = RequestGuard(None, lambda: [], 1, tools=["read_digit", "read_number"]).tool_routes
    taken = [
        "/gradio_api/mcp/",
        "/gradio_api/mcp/messages/",
        "/gradio_api/call/read_digit",
        "/gradio_api/run/read_number/",
        "/gradio_api/call/v2/read_digit",
    ]
    refused = [
        "/gradio_api/call/read_digits",
        "/gradio_api/call/predict_sketch",
        "/gradio_api/call/v2/predict_sketch",
        "/call/read_digit",
        "/gradio_api/upload",
    ]
    assert all(routes.fullmatch(path) for path in taken)
    assert not any(routes.fullmatch(path) for path in refused)
    alone = RequestGuard(None, lambda: [], 1).tool_routes  # no tools: MCP only
    assert alone.fullmatch("/gradio_api/mcp/") and not alone.fullmatch("/gradio_api/call/read_digit")


def test_sweep_removes_only_old_empty_hash_folders(tmp_path):
    old_empty, new_empty, full = "a" * 64, "b" * 64, "c" * 64
    for name in (old_empty, new_empty, full, "vibe_edit_history"):
        (tmp_path / name).mkdir()
    (tmp_path / full / "digit.png").write_bytes(b"x")
    past = time.time() - 60
    for name in (old_empty, full, "vibe_edit_history"):
        os.utime(tmp_path / name, (past, past))
    assert sweep_empty_folders(tmp_path, age=30) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([new_empty, full, "vibe_edit_history"])


def test_an_upload_budget_bounds_each_sender_and_everyone():
    """Tiny uploads filled the disk as surely as large ones (1.8 MB sent left 60 MB of files and
    folders): uploads are counted per sender per minute, and their bytes per sender and in all."""
    now = [600.0]
    budget = UploadBudget(
        per_minute=3, sender_bytes=10_000_000, total_bytes=12_000_000, window=600, clock=lambda: now[0]
    )
    assert [budget.refusal("a", 100) for _ in range(3)] == [None] * 3
    assert "3 uploads a minute" in budget.refusal("a", 100)
    assert budget.refusal("b", 100) is None  # another sender is not held up
    now[0] += 60  # the next minute: three more for "a", each counted as UPLOAD_COST_BYTES at least
    assert budget.refusal("a", 5_000_000) is None
    assert budget.refusal("a", 4_000_000) is None
    assert "one sender" in budget.refusal("a", 1_000_000)  # past "a"'s 10 MB, with four small ones
    assert budget.total == 9_000_000 + 4 * UPLOAD_COST_BYTES  # "a": 3 small, 5 MB, 4 MB; "b": 1 small
    assert budget.refusal("c", 2_500_000) is None
    assert "all the uploads" in budget.refusal("d", 1_000_000)  # past 12 MB in all
    now[0] += 540  # the first minute's uploads are deleted by now: their bytes count no more
    assert budget.refusal("d", 500_000) is None and budget.total == 12_000_000
    assert "all the uploads" in budget.refusal("d", 1)
    now[0] += 60  # the second minute's go too: "a" may send 9 MB again
    assert budget.refusal("a", 9_000_000) is None and budget.total == 9_500_000


def test_uploads_past_a_senders_minute_are_refused(app, http):
    """The app's own budget over HTTP: one sender's 61st upload in a minute is a 429 with a short
    message; another sender uploads on, and nothing past the budget reaches the upload folder."""
    *_, uploads = app
    if time.time() % 60 > 40:  # the budget counts whole minutes: all 61 in one of them
        time.sleep(61 - time.time() % 60)
    files_before = sum(1 for path in uploads.rglob("*") if path.is_file())
    attacker = {"x-forwarded-for": "203.0.113.66"}
    statuses = []
    for number in range(61):
        response = http.post(f"{API}upload", files=[("files", (f"{number}.png", b"x"))], headers=attacker)
        statuses.append(response.status_code)
    assert statuses == [200] * 60 + [429], statuses
    assert "60 uploads a minute" in response.json()["detail"] and len(response.content) < 200
    assert sum(1 for path in uploads.rglob("*") if path.is_file()) - files_before <= 60
    assert http.post(f"{API}upload", files=[("files", ("a.png", b"x"))], headers=attacker).status_code == 429
    answers_a_good_request(http)  # this sender (127.0.0.1) uploads as before


# ---- 5. messages name files, not server paths ------------------------------------------------------


def test_messages_never_show_a_server_path(app, http, tmp_path):
    _, _, _, uploads = app
    long_name = "n" * 200 + ".png"
    for name in ("notes.png", long_name):
        kind, (top3, preview, message) = call(http, "predict_image", upload(http, name, b"not an image at all"))
        assert kind == "complete" and preview is None and not top3.get("confidences")
        assert str(uploads) not in message and "/tmp" not in message and "gradio" not in message, message
        assert len(message) < 200 and "not an image" in message
    assert "notes.png" in call(http, "predict_image", upload(http, "notes.png", b"text"))[1][2]
    private = tmp_path / "private-folder" / "notes.png"
    private.parent.mkdir()
    private.write_bytes(b"text")
    predictor = Predictor.from_checkpoint()
    for source in (private, str(private), private.parent):
        with pytest.raises(ImageError) as refusal:
            predictor.predict(source)
        assert "private-folder/" not in str(refusal.value) and str(tmp_path) not in str(refusal.value)


# ---- 6. the documented client code handles a refusal -----------------------------------------------


def readme_client_snippet() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- client-snippet -->\s*```python\n(.*?)```", readme, re.S)
    assert match, "README.md has no <!-- client-snippet --> python block"
    return match.group(1)


def test_the_readme_client_code_prints_a_refusal_and_an_answer(app, tmp_path):
    url = app[0]
    snippet = readme_client_snippet()
    assert 'Client("http://127.0.0.1:7860/")' in snippet and '"my-digit.png"' in snippet
    outputs = {}
    for name, data in (("notes.png", b"a text file"), ("four.jpg", photo_bytes(4, seed=4))):
        (tmp_path / name).write_bytes(data)
        code = snippet.replace("http://127.0.0.1:7860/", url).replace("my-digit.png", name)
        run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        outputs[name] = run.stdout
    assert "Could not read that file: notes.png: not an image" in outputs["notes.png"]
    assert outputs["four.jpg"].splitlines()[-1].startswith("4 [('4', ")
