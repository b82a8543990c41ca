"""The app's tools for agents and API callers: an image named by URL or data: URL in, one JSON object out."""

from __future__ import annotations

import json
from collections.abc import Callable

import anyio

from lenet.pipeline.preprocess import ImageError, NoDigitError
from lenet.serving.fetch import FetchError, image_bytes, is_data_url
from lenet.serving.pool import WorkerError

BUSY_SECONDS = 5.0  # how long a tool call waits for one of its slots before it is told the app is busy
BUSY = "the app is busy reading other images; try again in a moment"


async def answer(
    read: Callable[[bytes], dict], image: str, max_bytes: int, slots: anyio.Semaphore, fetches: anyio.Semaphore
) -> str:
    """`read(the image's bytes)` as a JSON string, or {"error": "why"} for an image that cannot be had
    or read, a blank one, a worker's failure, or a busy app: an agent parses one shape and never sees
    a traceback. An image by URL is fetched on the event loop (a slow URL holds no thread) once one
    of `fetches` is free: each fetch may hold up to max_bytes for up to fetch.TIMEOUT seconds. `read`,
    which waits for a worker process, runs in a thread once one of `slots` is free. The slots are the
    tools' bound, whatever route calls them: beyond them, callers wait BUSY_SECONDS at most and are
    told the app is busy, instead of lining up ahead of the page's own requests."""
    fetching = isinstance(image, str) and not is_data_url(image)
    try:
        if fetching and not await _taken(fetches):
            return json.dumps({"error": BUSY})
        try:
            data = await image_bytes(image, max_bytes)
        finally:
            if fetching:
                fetches.release()
        if not await _taken(slots):
            return json.dumps({"error": BUSY})
        try:
            return json.dumps(await anyio.to_thread.run_sync(read, data))
        finally:
            slots.release()
    except (FetchError, ImageError, NoDigitError, WorkerError) as err:
        return json.dumps({"error": str(err)})


async def _taken(slots: anyio.Semaphore) -> bool:
    """One of `slots`, waited for BUSY_SECONDS at most; whether it was had."""
    with anyio.move_on_after(BUSY_SECONDS):
        await slots.acquire()
        return True
    return False


def description(tool: Callable) -> str:
    """An agent's description of `tool` from its docstring: the summary, then "Returns: ..." as one
    paragraph (Gradio, left to itself, joins the lines of a Returns section with commas)."""
    summary, _, rest = (tool.__doc__ or "").partition("Args:")
    returns = rest.partition("Returns:")[2]
    return " ".join(summary.split()) + (" Returns: " + " ".join(returns.split()) if returns.strip() else "")
