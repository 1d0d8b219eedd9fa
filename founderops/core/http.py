"""The one outbound HTTP seam for the product's own calls.

Tests replace the transport (`set_transport`) instead of patching; SDKs that accept a custom
HTTP client get `client()` injected. URLs typed by untrusted people go through `guard_url`.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from urllib.parse import urlsplit

import httpx

from founderops.core.errors import InvalidInput

_transport: httpx.BaseTransport | None = None
_async_transport: httpx.AsyncBaseTransport | None = None
USER_AGENT = "FounderOps/0.1"


def set_transport(transport: httpx.BaseTransport | None) -> None:
    global _transport
    _transport = transport


def client(timeout: float = 10.0) -> httpx.Client:
    return httpx.Client(
        transport=_transport,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def set_async_transport(transport: httpx.AsyncBaseTransport | None) -> None:
    global _async_transport
    _async_transport = transport


def async_client(
    timeout: float = 10.0,
    verify: bool | ssl.SSLContext = True,
    max_connections: int = 100,
    keepalive: bool = True,
) -> httpx.AsyncClient:
    """The asyncio client (the monitors' checks). `keepalive=False` opens a fresh connection
    per request, so a server that stops accepting connections is noticed at once."""
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections if keepalive else 0,
    )
    return httpx.AsyncClient(
        transport=_async_transport,
        timeout=timeout,
        verify=verify,
        limits=limits,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )


def guard_url(url: str) -> str:
    """Refuse URLs that point inside the network (SSRF) when the URL came from outside."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidInput(f"URL must be http(s) with a host: {url!r}")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise InvalidInput(f"cannot resolve host {parts.hostname!r}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise InvalidInput(f"URL points to a private address ({address}): {url!r}")
    return url
