"""`founderops demo` checks that it can listen before it spends time loading the workspace."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from founderops.cli import demo
from founderops.cli.management.commands import demo as demo_command


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_it_fails_fast_with_a_hint_when_the_port_is_in_use(
    busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    monkeypatch.setattr(demo, "load", lambda *a, **k: loads.append("load"))
    out = StringIO()
    with pytest.raises(CommandError, match=f"cannot listen on 127.0.0.1:{busy_port}") as refused:
        call_command("demo", "--port", str(busy_port), stdout=out)
    assert "founderops demo --port" in str(refused.value)
    assert loads == []
    assert "Open" not in out.getvalue()


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8001"),
        ("0.0.0.0", "http://127.0.0.1:8001"),  # noqa: S104
        ("::1", "http://[::1]:8001"),
        ("demo.local", "http://demo.local:8001"),
    ],
)
def test_it_links_to_the_address_the_demo_serves_on(host: str, url: str) -> None:
    assert demo_command.site_url(host, 8001) == url


def test_it_sets_the_site_url_for_the_load_and_the_server(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # Set then removed: the fixture restores the variable's absence after the test.
    monkeypatch.setenv("FOUNDEROPS_SITE_URL", "unset")
    monkeypatch.delenv("FOUNDEROPS_SITE_URL")
    demo_command.use_site_url("127.0.0.1", 8180)
    assert (settings.SITE_URL, os.environ["FOUNDEROPS_SITE_URL"]) == (
        "http://127.0.0.1:8180",
        "http://127.0.0.1:8180",
    )


def test_it_keeps_a_site_url_the_founder_set(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    monkeypatch.setenv("FOUNDEROPS_SITE_URL", "https://ops.example.com")
    settings.SITE_URL = "https://ops.example.com"
    demo_command.use_site_url("127.0.0.1", 8180)
    assert settings.SITE_URL == "https://ops.example.com"
