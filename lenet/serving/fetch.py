"""An image named by an API caller (an agent's tool call): a data: URL decoded, or a public http(s)
URL fetched, within bounds of size, time and network reach.

The app's file endpoints open only files that were uploaded to it (lenet.serving.guard); an agent
holds an image as a URL or as base64 instead, so the tools take those. A URL is fetched here rather
than by Gradio, whose download has no size limit: every address the host resolves to must be public
(no loopback, private, link-local or reserved address: a Space must not be a way into its own
network), the connection goes to the address that was checked (a second DNS answer cannot
redirect it), each redirect is checked again, and the body is cut off past `max_bytes` or after
TIMEOUT seconds in all.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import socket
import time

import httpx

# A data: URL travels inside the JSON of the call, which lenet.serving.guard bounds to fit this much
# image (as base64, 4/3 as many bytes); larger images go by URL.
INLINE_BYTES = 3 * 1024 * 1024
TIMEOUT = 10.0  # seconds for the whole fetch, redirects and a slow body included
MAX_REDIRECTS = 3
# Hugging Face answers its own hosts with internal addresses from inside a Space (split DNS), so, as
# Gradio does for the same reason, these are fetched without the address check.
HUB_HOSTS = ("huggingface.co", "*.huggingface.co", "hf.co", "*.hf.co")
# More hosts to fetch from without the address check, comma-separated: a self-hosted app's own
# network, or the tests' server on 127.0.0.1.
ALLOW_ENV = "LENET_FETCH_HOSTS"
EXPECTED = "give the image as an http(s) URL or as a data: URL (data:image/png;base64,...)"


class FetchError(ValueError):
    """The image could not be had from what the caller named; the message says why, in one line."""


def image_bytes(reference: str, max_bytes: int) -> bytes:
    """The bytes of the image `reference` names: a data: URL (base64, at most INLINE_BYTES) or an
    http(s) URL (at most `max_bytes`)."""
    if not isinstance(reference, str) or not reference.strip():
        raise FetchError(f"no image: {EXPECTED}")
    reference = reference.strip()
    if reference[:5].lower() == "data:":
        return _data_url(reference, min(max_bytes, INLINE_BYTES))
    if reference.split(":", 1)[0].lower() in ("http", "https"):
        return _download(reference, max_bytes)
    raise FetchError(f"not a URL: {EXPECTED}; files on the server are not opened")


def _data_url(reference: str, max_bytes: int) -> bytes:
    """data:[<media type>];base64,<data> -> the decoded bytes."""
    header, comma, payload = reference.partition(",")
    if not comma or not header.lower().endswith(";base64"):
        raise FetchError("a data: URL must be base64-encoded (data:image/png;base64,...)")
    if len(payload) * 3 // 4 > max_bytes + 2:  # checked before decoding anything
        raise FetchError(f"the image is larger than {max_bytes:,} bytes")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise FetchError("the data: URL is not valid base64") from None


def allowed_hosts() -> tuple[str, ...]:
    """HUB_HOSTS and the hosts in $LENET_FETCH_HOSTS: fetched without the public-address check."""
    extra = [host.strip().lower() for host in os.environ.get(ALLOW_ENV, "").split(",") if host.strip()]
    return (*HUB_HOSTS, *extra)


def _matches(host: str, patterns: tuple[str, ...]) -> bool:
    host = host.lower()
    return any(host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in patterns)


def public_address(host: str, port: int) -> str:
    """The address to connect to for `host`: FetchError unless every address it resolves to is public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FetchError(f"the host {host[:100]} could not be resolved") from None
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise FetchError(f"the host {host[:100]} is not on the public internet; only public URLs are fetched")
    return addresses[0]


class PinnedTransport(httpx.HTTPTransport):
    """Connects to one checked address while the request keeps its host name (Host header, TLS SNI)."""

    def __init__(self, address: str):
        super().__init__()
        self.address = address

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        request.url = request.url.copy_with(host=self.address)
        request.extensions = {**request.extensions, "sni_hostname": host}
        return super().handle_request(request)


def _download(reference: str, max_bytes: int) -> bytes:
    deadline = time.monotonic() + TIMEOUT
    try:
        url = httpx.URL(reference)
    except httpx.InvalidURL:
        raise FetchError("not a valid URL") from None
    for _ in range(MAX_REDIRECTS + 1):
        if url.scheme not in ("http", "https") or not url.host:
            raise FetchError(f"not an http(s) URL: {EXPECTED}")
        port = url.port or (443 if url.scheme == "https" else 80)
        pinned = None if _matches(url.host, allowed_hosts()) else PinnedTransport(public_address(url.host, port))
        # trust_env=False: a proxy from the environment would connect on its own terms, around the check.
        with httpx.Client(transport=pinned, timeout=TIMEOUT, trust_env=False, follow_redirects=False) as client:
            try:
                with client.stream("GET", url, headers={"Accept": "image/*"}) as response:
                    if response.is_redirect:
                        url = url.join(response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise FetchError(f"the URL answered HTTP {response.status_code}, not an image")
                    return _bounded_body(response, max_bytes, deadline)
            except httpx.TimeoutException:
                raise FetchError(f"the URL did not answer within {TIMEOUT:.0f} s") from None
            except httpx.HTTPError as err:
                raise FetchError(f"the URL could not be fetched ({type(err).__name__})") from None
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _bounded_body(response: httpx.Response, max_bytes: int, deadline: float) -> bytes:
    """The body, refused as soon as it is (or says it will be) over `max_bytes` or past the deadline."""
    too_large = FetchError(f"the image is larger than {max_bytes:,} bytes")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise too_large
        if time.monotonic() > deadline:
            raise FetchError(f"the URL did not answer within {TIMEOUT:.0f} s")
    return bytes(body)
