"""The public app's request boundary: what one anonymous request may send, name and leave behind.

A public Space is called by anyone, so this is the one place that bounds a request before Gradio
parses it (an ASGI middleware, `RequestGuard`), bounds what uploads may leave on disk
(`UploadBudget`), decides which server files a request may name
(`is_received_file`), and keeps the upload folder from filling with empty folders
(`sweep_empty_folders`). Each refusal is one log line and one short message that never echoes what
was sent: a request must not be able to make the server write more than it sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import re
import time
import urllib.parse
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import HTTPConnection

from lenet.serving.fetch import INLINE_BYTES

log = logging.getLogger("lenet.serving.guard")

# A photo call is a few hundred bytes of JSON (the file is uploaded separately); a drawing call carries
# the pad's 400x400 PNG inline, 10-20 KB for a digit and 70 KB (as base64) for a canvas scribbled all
# over (measured in Chromium), so 512 KiB is generous. A multipart upload is one image of at most
# max_file_size plus its form fields.
JSON_BYTES = 512 * 1024
# The tools' own routes (MCP, and the HTTP API's direct calls of the tools: RequestGuard's `tools`) may
# carry a whole image as a data: URL: at most INLINE_BYTES as base64 (4/3 as many bytes) plus the call.
TOOL_BYTES = INLINE_BYTES * 4 // 3 + 64 * 1024
FORM_OVERHEAD_BYTES = 64 * 1024
# The least an upload counts for against an UploadBudget: however small, it leaves a file in a folder of
# its own on disk (8 KiB or more) until swept, and its form's bytes were read.
UPLOAD_COST_BYTES = 64 * 1024
HASH_NAME = re.compile(r"[0-9a-f]{32,64}")  # sha256 / blake2 hex digests, as Gradio names cache folders
MAX_PATH_CHARS = 1024  # an upload's path in Gradio's cache is about 100 characters
# Routes that name an endpoint by number in their body ({"fn_index": 3, "data": [...]}), by name in
# their path (/gradio_api/call/predict_image), and by name with its inputs by parameter name
# (/gradio_api/call/v2/read_digit {"image": "..."}: the form the API page's curl example uses).
INDEXED_ROUTES = re.compile(r"/gradio_api/(queue/join|run/predict|api/predict)/?")
NAMED_ROUTES = re.compile(r"/gradio_api/(call|run|api)/([^/]+)/?")
KEYWORD_ROUTES = re.compile(r"/gradio_api/call/v2/([^/]+)/?")
# Event streams a client reads after joining the queue (GET).
STREAM_ROUTES = re.compile(r"/gradio_api/(queue/data|call/(?:v2/)?([^/]+)/([^/]+))/?")
NO_STREAM = "refused: no such event or session waiting (an answer is read once: join the queue, then read its stream)"
NO_ENDPOINT = "refused: no such endpoint (GET /gradio_api/info lists the API's endpoints and their inputs)"
NOT_RECEIVED = (
    "refused: a request may only name files it uploaded to this app first (POST /gradio_api/upload returns "
    "their paths; gradio_client's handle_file does this); the server opens no other file. An image by URL or "
    "as base64: the /read_digit and /read_number tools"
)


class CallerEchoes(logging.Filter):
    """For a log handler: the messages of `loggers` (by default the MCP server's, which logs through
    the root logger, and the mcp package's), cut to their first line and at most `chars`. Where the
    MCP server cannot parse a request it logs the request (100 KB sent, 100 KB logged) with a
    pydantic error over 20 lines. Tracebacks (exc_info) are kept."""

    def __init__(self, chars: int = 500, loggers: tuple[str, ...] = ("root", "mcp")):
        super().__init__()
        self.chars, self.loggers = chars, loggers

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".", 1)[0] in self.loggers:
            message = record.getMessage()
            if len(message) > self.chars or "\n" in message:
                first = message.split("\n", 1)[0][: self.chars]
                record.msg, record.args = f"{first} [... {len(message):,} characters in all]", None
        return True


def is_received_file(path: Any, folders: Iterable[str | os.PathLike]) -> bool:
    """Whether `path` names a file inside one of `folders` (Gradio's upload cache, the bundled
    examples), after resolving `..` and symbolic links; not the folder itself, whose name an answer
    ("... is a directory") would show. Says nothing about whether it exists: a refusal must not tell
    an attacker which server paths do."""
    if not isinstance(path, str) or not path or len(path) > MAX_PATH_CHARS or "\0" in path or "://" in path:
        return False
    resolved = Path(os.path.realpath(path))
    return any(
        resolved != (folder := Path(os.path.realpath(allowed))) and resolved.is_relative_to(folder)
        for allowed in folders
    )


def sender(request: Any, trust_proxy: bool) -> str:
    """Who sent a request (a Starlette or Gradio request), to bound what one sender may do: behind a
    proxy that appends each client's address to X-Forwarded-For (`trust_proxy`), the address it
    appended last; else the connection's own. Without such a proxy the header is the caller's to
    write, and one caller could pass for any number of senders."""
    client = request.client.host if request.client else ""
    if not trust_proxy:
        return client
    # Every X-Forwarded-For line, in order: a caller may send one of its own before the proxy's.
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    return forwarded.rsplit(",", 1)[-1].strip() or client


@dataclass(frozen=True)
class Endpoint:
    """What a call of one of the app's endpoints must hold for Gradio to run it without a traceback."""

    inputs: int  # "data" holds at least this many values
    examples: int | None = None  # an example loader: "data"[0] is an index below this
    # Its inputs by name, (parameter name, whether it has a default), for an endpoint the API page
    # documents; None for the others, which Gradio's /call/v2/ route fails on with a KeyError.
    keywords: tuple[tuple[str, bool], ...] | None = None


def endpoint_table(
    functions: Mapping[int, Any], documented: Mapping[str, Any] | None = None
) -> dict[int | str, Endpoint]:
    """Gradio's event functions by fn_index (a Blocks' `fns`) -> their Endpoint, by fn_index and by
    api_name. An example loader's one input is a Dataset, whose `samples` are the examples.
    `documented`: the API page's endpoints (a Blocks' `get_api_info()["named_endpoints"]`, keyed
    "/api_name"), whose parameters a /call/v2/ request names."""
    table: dict[int | str, Endpoint] = {}
    for index, function in functions.items():
        if function.fn is None:  # a JavaScript-only event: nothing on the server to call
            continue
        samples = getattr(function.inputs[0], "samples", None) if len(function.inputs) == 1 else None
        info = (documented or {}).get(f"/{function.api_name}") if function.api_name else None
        keywords = (
            tuple(
                (parameter["parameter_name"], bool(parameter["parameter_has_default"]))
                for parameter in info["parameters"]
            )
            if info is not None
            else None
        )
        endpoint = Endpoint(len(function.inputs), len(samples) if isinstance(samples, list) else None, keywords)
        table[index] = endpoint
        if function.api_name:
            table[function.api_name] = endpoint
    return table


def misdirected(path: str, value: Any, endpoints: Mapping[int | str, Endpoint]) -> tuple[int, str] | None:
    """(status, message) for a call of an endpoint the app does not have, or with fewer inputs than
    it takes, or an example that is not there; None for anything else. Gradio answers these with an
    HTTP 500, a dropped connection or a failed event, and logs a 20-70 line traceback for each."""
    if keyword := KEYWORD_ROUTES.fullmatch(path):
        return _misnamed(endpoints.get(keyword.group(1)), value)
    if INDEXED_ROUTES.fullmatch(path):
        if not isinstance(value, dict) or type(value.get("fn_index")) is not int:
            return None  # Gradio's own validation refuses it cleanly (422)
        endpoint = endpoints.get(value["fn_index"])
    elif named := NAMED_ROUTES.fullmatch(path):
        endpoint = endpoints.get(named.group(2))
    else:
        return None
    if endpoint is None:
        return 404, NO_ENDPOINT
    data = value.get("data") if isinstance(value, dict) else None
    if not isinstance(data, list):
        return None
    if len(data) < endpoint.inputs:
        return 422, f'refused: this endpoint takes {endpoint.inputs} input{"s" * (endpoint.inputs != 1)} in "data"'
    if endpoint.examples is not None and not (type(data[0]) is int and 0 <= data[0] < endpoint.examples):
        return 422, f"refused: an example is picked by its index, from 0 to {endpoint.examples - 1}"
    return None


def _misnamed(endpoint: Endpoint | None, value: Any) -> tuple[int, str] | None:
    """(status, message) for a /call/v2/ request of an endpoint the API page does not document, or
    whose body names a parameter it does not take or leaves out one without a default."""
    if endpoint is None or endpoint.keywords is None:
        return 404, NO_ENDPOINT
    if not isinstance(value, dict):
        return None  # Gradio's own validation refuses it cleanly (422)
    names = [name for name, _ in endpoint.keywords]
    takes = f"this endpoint takes {', '.join(names) or 'no parameters'}"
    # Gradio drops an "oauth_token" the endpoint does not take, rather than refusing it. The caller's
    # own names are not echoed back.
    if any(key not in names and key != "oauth_token" for key in value):
        return 422, f"refused: a parameter this endpoint does not take: {takes}"
    if missing := [name for name, has_default in endpoint.keywords if not has_default and name not in value]:
        return 422, f"refused: no value for {missing[0]!r}: {takes}"
    return None


def stream_waiting(queue: Any, path: str, query: str) -> bool:
    """Whether Gradio's queue (a Blocks' `_queue`) holds messages for the event stream a GET asks for:
    /gradio_api/queue/data?session_hash=S or /gradio_api/call/NAME/EVENT_ID, the session found as
    gradio/routes.py finds it. Gradio checks this only once the stream has started: it then drops the
    connection and logs two tracebacks (80 lines for a 60-byte request). True when the queue is not
    one this knows (another Gradio version), so that Gradio decides."""
    try:
        pending, events = queue.pending_messages_per_session, queue.event_ids_to_events
        sessions_of_events = queue.pending_event_ids_session
    except AttributeError:
        return True
    stream = STREAM_ROUTES.fullmatch(path)
    if stream is None:
        return True
    if stream.group(2) is None:  # queue/data
        values = urllib.parse.parse_qs(query).get("session_hash", [])
        return len(values) != 1 or values[0] in pending  # none, or several: Gradio's own 422
    event_id = stream.group(3)
    event = events.get(event_id)
    if event is not None:
        session = event.session_hash
    else:
        session = next((session for session, ids in list(sessions_of_events.items()) if event_id in ids), event_id)
    return session in pending


def named_paths(value: Any) -> Iterator[Any]:
    """Every "path" named by a file object (any dict with a "path" key) inside a decoded JSON value;
    iterative, so a deeply nested body cannot exhaust the stack."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "path" in item:
                yield item["path"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class UploadBudget:
    """How many uploads one sender may make, and how many bytes one sender and all senders together may
    leave on disk. Each upload stays in Gradio's cache, a file in a folder of its own, until it is swept
    (`window` seconds at most), so a stream of tiny uploads fills a disk as surely as large ones.

    A sender may make `per_minute` uploads a minute and upload `sender_bytes` a window; everyone
    together `total_bytes` a window. Each upload counts its declared length, and at least
    UPLOAD_COST_BYTES. Kept per whole minute, so memory grows with the uploads admitted (at most
    total_bytes / UPLOAD_COST_BYTES sender-minutes), not with the senders refused. Not thread-safe:
    RequestGuard calls it from the event loop."""

    def __init__(
        self,
        per_minute: int,
        sender_bytes: int,
        total_bytes: int,
        window: float,
        clock: Callable[[], float] = time.time,
    ):
        self.per_minute, self.sender_bytes, self.total_bytes, self.clock = per_minute, sender_bytes, total_bytes, clock
        self.window_minutes = max(1, math.ceil(window / 60))
        # (minute, uploads by sender, bytes by sender) for each minute of the window that had uploads.
        self.minutes: deque[tuple[int, Counter[str], Counter[str]]] = deque()
        self.total = 0  # bytes counted in the window, all senders

    def refusal(self, who: str, size: int) -> str | None:
        """Why an upload of `size` bytes from `who` is refused; or None, and the upload is counted."""
        minute = int(self.clock() // 60)
        while self.minutes and self.minutes[0][0] <= minute - self.window_minutes:
            self.total -= sum(self.minutes.popleft()[2].values())
        if not self.minutes or self.minutes[-1][0] != minute:
            self.minutes.append((minute, Counter(), Counter()))
        _, uploads, sizes = self.minutes[-1]
        cost = max(size, UPLOAD_COST_BYTES)
        if uploads[who] >= self.per_minute:
            return f"refused: at most {self.per_minute} uploads a minute from one address; try again in a minute"
        if sum(sent[who] for _, _, sent in self.minutes) + cost > self.sender_bytes:
            return "refused: this address has uploaded all the app keeps from one sender for now; try again later"
        if self.total + cost > self.total_bytes:
            return "refused: the app has taken all the uploads it can keep for now; try again later"
        uploads[who] += 1
        sizes[who] += cost
        self.total += cost
        return None


class RequestGuard:
    """ASGI middleware, outermost around the Gradio app: bounds each request's body before anything
    reads it, refuses JSON that names a server file the request did not upload, and refuses calls
    and streams that Gradio would answer with a traceback.

    - multipart bodies (uploads) must declare a Content-Length of at most
      `upload_bytes` plus FORM_OVERHEAD_BYTES; the HTTP server then enforces that length, so nothing
      past it is read; and fit in `uploads`, an UploadBudget, with the sender told apart by
      `sender(..., trust_proxy)`;
    - a call must name one of `endpoints()` (an `endpoint_table`) with the inputs it takes (`misdirected`);
    - a GET of an event stream must name one waiting: `streams(path, query)` (`stream_waiting`).
    - any other body is read here, up to `json_bytes` (`tool_bytes` on the MCP server's routes and
      the direct calls of the API endpoints named in `tools`), and handed on unchanged if it passes;
    - in a body that parses as JSON, every file object's "path" must be inside `folders()`
      (`is_received_file`). Gradio checks this only for file objects that carry its "meta"
      marker; `gr.Image` accepts a bare {"path": ...} and would open any file on the server.
    """

    def __init__(
        self,
        app: Callable,
        folders: Callable[[], Iterable[str | os.PathLike]],
        upload_bytes: int,
        json_bytes: int = JSON_BYTES,
        tool_bytes: int = TOOL_BYTES,
        tools: Iterable[str] = (),
        uploads: UploadBudget | None = None,
        trust_proxy: bool = False,
        endpoints: Callable[[], Mapping[int | str, Endpoint]] | None = None,
        streams: Callable[[str, str], bool] | None = None,
    ):
        self.app, self.folders, self.uploads, self.trust_proxy = app, folders, uploads, trust_proxy
        self.endpoints, self.streams = endpoints, streams
        names = "|".join(re.escape(name) for name in tools) or "(?!)"  # (?!): no tool, no route
        self.tool_routes = re.compile(rf"/gradio_api/(mcp(/.*)?|(call|call/v2|run)/({names}))/?")
        self.json_bytes, self.tool_bytes, self.form_bytes = json_bytes, tool_bytes, upload_bytes + FORM_OVERHEAD_BYTES

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["method"] in ("HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "GET":
            if wrong := self.misread(scope["path"], scope.get("query_string", b"").decode("latin-1")):
                await self.refuse(scope, send, 404, wrong)
            else:
                await self.app(scope, receive, send)
            return
        names = [name.lower() for name, _ in scope["headers"]]
        if names.count(b"content-type") > 1 or names.count(b"content-length") > 1:
            # Judged by one and read by the other: Starlette takes the first, a dict the last.
            await self.refuse(scope, send, 400, "refused: a repeated Content-Type or Content-Length header")
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        try:
            declared = int(headers[b"content-length"]) if b"content-length" in headers else None
        except ValueError:
            await self.refuse(scope, send, 400, "refused: a malformed Content-Length header")
            return
        if content_type.startswith("multipart/"):
            if declared is None:
                await self.refuse(scope, send, 411, "refused: an upload must declare its Content-Length")
            elif declared > self.form_bytes:
                await self.refuse(scope, send, 413, f"refused: an upload may be at most {self.form_bytes:,} bytes")
            elif self.uploads and (
                refusal := self.uploads.refusal(sender(HTTPConnection(scope), self.trust_proxy), declared)
            ):
                await self.refuse(scope, send, 429, refusal)
            else:
                await self.app(scope, receive, send)
            return
        limit = self.tool_bytes if self.tool_routes.fullmatch(scope["path"]) else self.json_bytes
        too_large = f"refused: a request body may be at most {limit:,} bytes"
        if declared is not None and declared > limit:
            await self.refuse(scope, send, 413, too_large)
            return
        body, more = bytearray(), True  # a bytearray: appending chunks stays linear
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                await self.refuse(scope, send, 413, too_large)
                return
        # Gradio's routes parse a body as JSON whatever its Content-Type says, so every body is checked.
        try:
            value = json.loads(body) if body else None
        except RecursionError:  # nested deeper than Python's parser goes: Gradio's would fail with a traceback
            await self.refuse(scope, send, 400, "refused: the body is nested too deeply")
            return
        except ValueError:  # not JSON: Gradio refuses it itself
            value = None
        folders = list(self.folders())
        if not all(is_received_file(path, folders) for path in named_paths(value)):
            await self.refuse(scope, send, 403, NOT_RECEIVED)
            return
        if self.endpoints and (wrong := misdirected(scope["path"], value, self.endpoints())):
            await self.refuse(scope, send, *wrong)
            return
        del value  # parsed, it can be many times its bytes: not kept while the request runs

        async def replay() -> dict:
            nonlocal body
            if body is None:
                return await receive()  # after the body: wait for the client to disconnect
            message, body = {"type": "http.request", "body": bytes(body), "more_body": False}, None
            return message

        await self.app(scope, replay, send)

    def misread(self, path: str, query: str) -> str | None:
        """Why a GET of an event stream is refused: an endpoint the app does not have, or no such
        event or session waiting (`streams`); None for any other GET."""
        stream = STREAM_ROUTES.fullmatch(path) if self.streams is not None else None
        if stream is None:
            return None
        named = stream.group(2)
        if named is not None and self.endpoints and named not in self.endpoints():
            return NO_ENDPOINT
        return None if self.streams(path, query) else NO_STREAM

    @staticmethod
    async def refuse(scope: dict, send: Callable, status: int, message: str) -> None:
        """One log line, and `{"detail": message}` with `status`; the request's body is not read."""
        client = (scope.get("client") or ("?", 0))[0]
        log.warning("refused %s %s from %s: %s", scope["method"], scope["path"][:120], client, message[:120])
        payload = json.dumps({"detail": message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def sweep_empty_folders(root: str | os.PathLike, age: float) -> int:
    """Remove the empty folders right under `root` named by a hash, as Gradio names the folder of each
    cached file, and last changed over `age` seconds ago; the number removed. Gradio deletes expired
    uploads and previews but leaves each one's folder; folders of its own (other names) stay.

    The age keeps this off a folder Gradio has just made and is about to fill. (Gradio names an
    upload's folder after its content's hash and makes it again if it is gone, so the one race left,
    the same image uploaded again in the instant its old, long-empty folder is removed, costs that
    one upload.)"""
    removed, now = 0, time.time()
    with os.scandir(root) as entries:
        hashed = [entry.path for entry in entries if HASH_NAME.fullmatch(entry.name) and entry.is_dir()]
    for folder in hashed:
        with contextlib.suppress(OSError):  # not empty (rmdir refuses), or refilled or removed meanwhile
            if now - os.stat(folder).st_mtime > age:
                os.rmdir(folder)
                removed += 1
    return removed


def sweeping_lifespan(root: Callable[[], str | os.PathLike], every: float) -> Callable:
    """A FastAPI lifespan that runs `sweep_empty_folders(root(), every)` every `every` seconds."""

    @contextlib.asynccontextmanager
    async def lifespan(app) -> Any:
        async def loop() -> None:
            while True:
                await asyncio.sleep(every)
                try:
                    await asyncio.to_thread(sweep_empty_folders, root(), every)
                except OSError as err:
                    log.warning("sweeping the upload folder failed: %s", err)

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return lifespan
