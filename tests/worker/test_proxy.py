"""Behind a reverse proxy, the client's address comes from the proxy's header, and only then."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx
import pytest

from founderops.worker.runner import WebServer

Start = Callable[[str, list[tuple[str, str]]], object]


def echo_address(environ: dict[str, Any], start: Start) -> Iterable[bytes]:
    start("200 OK", [("Content-Type", "text/plain")])
    return [environ.get("REMOTE_ADDR", "").encode()]


@pytest.fixture
def serve(settings: Any) -> Iterator[Callable[[str], str]]:
    servers: list[WebServer] = []

    def start(proxy: str) -> str:
        settings.TRUSTED_PROXY = proxy
        server = WebServer(echo_address, "127.0.0.1", 0, 1)
        server.start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


def test_it_takes_the_client_address_from_the_trusted_proxy(
    serve: Callable[[str], str],
) -> None:
    url = serve("127.0.0.1")
    answer = httpx.get(url, headers={"X-Forwarded-For": "203.0.113.9"})
    assert answer.text == "203.0.113.9"


def test_it_ignores_forwarded_headers_without_a_trusted_proxy(
    serve: Callable[[str], str],
) -> None:
    url = serve("")
    answer = httpx.get(url, headers={"X-Forwarded-For": "203.0.113.9"})
    assert answer.text == "127.0.0.1"


def test_it_ignores_forwarded_headers_from_another_address(serve: Callable[[str], str]) -> None:
    url = serve("192.0.2.1")
    answer = httpx.get(url, headers={"X-Forwarded-For": "203.0.113.9"})
    assert answer.text == "127.0.0.1"
