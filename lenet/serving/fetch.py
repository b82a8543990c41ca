"""An image named by an API caller (an agent's tool call): a data: URL decoded, or a public http(s)
URL fetched, within bounds of size, time and network reach.

The app's file endpoints open only files that were uploaded to it (lenet.serving.guard); an agent
holds an image as a URL or as base64 instead, so the tools take those. A URL is fetched here rather
than by Gradio, whose download has no size limit:

- every address the host resolves to must be public (no loopback, private, link-local, reserved or
  multicast address, nor one hidden inside an IPv6 form: a Space must not be a way into its own
  network), and the connection goes to the address that was checked, so a second DNS answer
  cannot redirect it; each redirect is checked again;
- the body is read as sent (no decompression, so a small compressed body cannot expand in
  memory) and cut off past `max_bytes`;
- the whole fetch, DNS and redirects included, has TIMEOUT seconds.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import os
import socket

import httpx

# A data: URL travels inside the JSON of the call, which lenet.serving.guard bounds to fit this much
# image (as base64, 4/3 as many bytes); larger images go by URL.
INLINE_BYTES = 3 * 1024 * 1024
TIMEOUT = 10.0  # seconds for the whole fetch
MAX_REDIRECTS = 3
# Hugging Face answers its own hosts with internal addresses from inside a Space (split DNS), so, as
# Gradio does for the same reason, these are fetched without the address check.
HUB_HOSTS = ("huggingface.co", "*.huggingface.co", "hf.co", "*.hf.co")
# More hosts to fetch from without the address check, comma-separated: a self-hosted app's own
# network, or the tests' server on 127.0.0.1.
ALLOW_ENV = "LENET_FETCH_HOSTS"
EXPECTED = "give the image as an http(s) URL or as a data: URL (data:image/png;base64,...)"
# IPv6 ranges that carry an IPv4 address in their last 32 bits (IPv4-compatible, IPv4-mapped,
# IPv4-translated, NAT64): the IPv4 address is the one that counts.
IPV4_INSIDE = [ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96")]
# Not public whatever Python's tables say (3.11's count them global): local-use NAT64 (RFC 8215),
# which translates to whatever IPv4 network is behind it, and the deprecated site-local fec0::/10.
NOT_PUBLIC = [ipaddress.ip_network(n) for n in ("64:ff9b:1::/48", "fec0::/10")]


class FetchError(ValueError):
    """The image could not be had from what the caller named; the message says why, in one line."""


def is_data_url(reference: object) -> bool:
    """Whether `reference` is a data: URL (the image inside the call), not one to fetch."""
    return isinstance(reference, str) and reference.strip()[:5].lower() == "data:"


async def image_bytes(reference: str, max_bytes: int) -> bytes:
    """The bytes of the image `reference` names: a data: URL (base64, at most INLINE_BYTES) or an
    http(s) URL (at most `max_bytes`, fetched within TIMEOUT seconds in all)."""
    if not isinstance(reference, str) or not reference.strip():
        raise FetchError(f"no image: {EXPECTED}")
    reference = reference.strip()
    if is_data_url(reference):
        return _data_url(reference, min(max_bytes, INLINE_BYTES))
    if reference.split(":", 1)[0].lower() in ("http", "https"):
        try:
            async with asyncio.timeout(TIMEOUT):
                return await _download(reference, max_bytes)
        except TimeoutError:
            raise FetchError(f"the URL did not answer within {TIMEOUT:.0f} s") from None
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


def is_public(address: str) -> bool:
    """Whether an IP address is on the public internet, looking inside IPv6 forms that carry IPv4."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if ip.version == 6:
        if any(ip in network for network in NOT_PUBLIC):
            return False
        if any(ip in network for network in IPV4_INSIDE):
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
    return ip.is_global and not ip.is_multicast


async def public_address(host: str, port: int) -> str:
    """The address to connect to for `host`: FetchError unless every address it resolves to is public."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise FetchError(f"the host {host[:100]} could not be resolved") from None
    addresses = [info[4][0] for info in infos]
    if not addresses or not all(is_public(address) for address in addresses):
        raise FetchError(f"the host {host[:100]} is not on the public internet; only public URLs are fetched")
    return addresses[0]


class PinnedTransport(httpx.AsyncHTTPTransport):
    """Connects to one checked address while the request keeps its host name (Host header, TLS SNI)."""

    def __init__(self, address: str):
        super().__init__()
        self.address = address

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        request.url = request.url.copy_with(host=self.address)
        request.extensions = {**request.extensions, "sni_hostname": host}
        return await super().handle_async_request(request)


async def _download(reference: str, max_bytes: int) -> bytes:
    try:
        url = httpx.URL(reference)
    except httpx.InvalidURL:
        raise FetchError("not a valid URL") from None
    for _ in range(MAX_REDIRECTS + 1):
        if url.scheme not in ("http", "https") or not url.host:
            raise FetchError(f"not an http(s) URL: {EXPECTED}")
        port = url.port or (443 if url.scheme == "https" else 80)
        if not 0 < port < 65536:  # a redirect can name any number: getaddrinfo would wrap it, connect crash
            raise FetchError(f"not a valid URL: port {port}")
        checked = None if _matches(url.host, allowed_hosts()) else await public_address(url.host, port)
        # trust_env=False: a proxy from the environment would connect on its own terms, around the check.
        client = httpx.AsyncClient(
            transport=PinnedTransport(checked) if checked else None, trust_env=False, follow_redirects=False
        )
        # identity: the body as sent, so its size is the size checked.
        headers = {"Accept": "image/*", "Accept-Encoding": "identity"}
        try:
            async with client, client.stream("GET", url, headers=headers) as response:
                if response.is_redirect:
                    try:
                        url = url.join(response.headers["location"])
                    except (httpx.InvalidURL, KeyError, ValueError):
                        raise FetchError("the URL redirected to something that is not a URL") from None
                    continue
                if response.status_code != 200:
                    raise FetchError(f"the URL answered HTTP {response.status_code}, not an image")
                if response.headers.get("content-encoding", "identity").lower() != "identity":
                    raise FetchError("the URL sent a compressed body; send the image itself")
                return await _bounded_body(response, max_bytes)
        except httpx.HTTPError as err:
            raise FetchError(f"the URL could not be fetched ({type(err).__name__})") from None
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


async def _bounded_body(response: httpx.Response, max_bytes: int) -> bytes:
    """The body as sent, refused as soon as it is (or says it will be) over `max_bytes`."""
    too_large = FetchError(f"the image is larger than {max_bytes:,} bytes")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    return bytes(body)
