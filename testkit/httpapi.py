"""A lean client for a Gradio app's HTTP API (upload, call, result, output file), for the benchmarks.

gradio_client spends about 140 ms of CPU on each call here (threads, polling, hashing), more than
the server spends answering it, so on a 2-core machine it would measure itself. This client makes
the same requests a browser does for a photo, with one pooled httpx connection:

    POST /gradio_api/upload                        the file -> its path on the server
    POST /gradio_api/call/<endpoint>               {"data": [file]} -> {"event_id": ...}
    GET  /gradio_api/call/<endpoint>/<event_id>    server-sent events, ending in complete or error

and reads the "what the model sees" preview out of the answer, where the app sends it inline (a
data: URL), or from its URL, for an output file.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx


def inline_bytes(url: str) -> bytes:
    """The bytes of a base64 data: URL ("data:image/png;base64,...")."""
    header, _, payload = url.partition(",")
    if not header.startswith("data:") or not header.endswith(";base64"):
        raise ValueError(f"not a base64 data: URL: {url[:40]!r}")
    return base64.b64decode(payload, validate=True)


class ApiError(RuntimeError):
    """The server answered a call with an error event or an HTTP error."""


class GradioHTTP:
    """One connection to one app; not shared between threads."""

    def __init__(self, url: str, timeout: float = 60):
        self.http = httpx.Client(base_url=url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def upload(self, path: str | Path) -> dict:
        """A local file -> the FileData dict that names its uploaded copy."""
        path = Path(path)
        with path.open("rb") as file:
            response = self.http.post("gradio_api/upload", files=[("files", (path.name, file))])
        response.raise_for_status()
        return {"path": response.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def call(self, endpoint: str, *data) -> list:
        """Run `endpoint` (e.g. "predict_image") on `data` through the queue; its outputs."""
        response = self.http.post(f"gradio_api/call/{endpoint}", json={"data": list(data)})
        if response.status_code != 200:
            raise ApiError(f"{endpoint}: HTTP {response.status_code}: {response.text[:200]}")
        event_id = response.json()["event_id"]
        event = None
        with self.http.stream("GET", f"gradio_api/call/{endpoint}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event in ("complete", "error"):
                    payload = json.loads(line.removeprefix("data: "))
                    if event == "error":
                        raise ApiError(f"{endpoint}: error event: {payload}")
                    return payload
        raise ApiError(f"{endpoint}: the event stream ended without a result")

    def fetch(self, file_data: dict) -> bytes:
        """The bytes of an output image, as a browser would load it: decoded from a data: URL sent
        inline, else fetched from its URL."""
        if file_data["url"].startswith("data:"):
            return inline_bytes(file_data["url"])
        response = self.http.get(file_data["url"])
        response.raise_for_status()
        return response.content

    def predict_file(self, endpoint: str, path: str | Path) -> dict | None:
        """Upload, call, and load the preview, as the app's page does; the top-3 label value."""
        top3, preview, _message = self.call(endpoint, self.upload(path))
        if preview is not None:
            self.fetch(preview)
        return top3
