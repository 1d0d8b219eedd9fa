"""The one outbound HTTP seam for the product's own calls.

Tests replace the transport (`set_transport`) instead of patching; SDKs that accept a custom
HTTP client get `client()` injected. URLs typed by untrusted people go through `guard_url`.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpx

from founderops.core.errors import InvalidInput

_transport: httpx.BaseTransport | None = None
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
