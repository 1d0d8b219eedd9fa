"""The notifier with its real apprise backend, against a real SMTP server on loopback."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from founderops.core import notify

# apprise's PGP support imports the standard library's deprecated imghdr module.
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.original_content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield handler, port
    finally:
        server.stop()


def mailto(port: int) -> str:
    # Plain SMTP without TLS on a custom port: mailto:// (not mailtos://) and mode=insecure.
    return (
        f"mailto://127.0.0.1:{port}?mode=insecure&from=briefing@founderops.test"
        "&to=fiona@founderops.test"
    )


def text_of(message: Message) -> str:
    parts = message.walk() if message.is_multipart() else [message]
    return "".join(
        part.get_payload(decode=True).decode()  # type: ignore[union-attr]
        for part in parts
        if part.get_content_type() == "text/plain"
    )


@pytest.fixture(autouse=True)
def _real_backend() -> Iterator[None]:
    # The suite swaps in a memory backend everywhere; this module tests the real one.
    with notify.using_backend(notify.AppriseBackend()):
        yield


def test_it_delivers_an_email_to_a_local_smtp_server(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    deliveries = notify.notify("Morning briefing", "**Tickets in:** 6", urls=[mailto(port)])
    message = handler.messages[0]
    assert (deliveries[0].ok, message["Subject"], message["To"]) == (
        True,
        "Morning briefing",
        "fiona@founderops.test",
    )


def test_it_sends_the_markdown_body_in_the_email(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    notify.notify("Morning briefing", "**Tickets in:** 6", urls=[mailto(port)])
    assert "Tickets in:" in text_of(handler.messages[0])


def test_it_returns_a_refused_connection_as_a_failed_delivery() -> None:
    [delivery] = notify.notify("Morning briefing", "body", urls=[mailto(free_port())])
    assert (delivery.ok, delivery.target.startswith("mailto #"), bool(delivery.error)) == (
        False,
        True,
        True,
    )


def test_it_refuses_a_url_apprise_does_not_understand() -> None:
    [delivery] = notify.notify("t", "b", urls=["nosuchservice://token-abcdef"])
    assert (delivery.ok, delivery.error) == (False, "not a notification URL apprise understands")


def test_it_names_a_target_without_its_secrets() -> None:
    target = notify.redact("slack://T1234ABCD/B5678EFGH/secretwebhooktoken")
    assert ("T1234ABCD" in target, "secretwebhooktoken" in target) == (False, False)


def test_it_scrubs_the_url_out_of_an_error_message() -> None:
    url = "json://user:hunter2hunter2@hooks.example.com/path-with-token-1234"
    error = notify.scrub(f"POST to {url} failed for hunter2hunter2", url)
    assert ("hunter2hunter2" in error, "path-with-token-1234" in error) == (False, False)


def test_it_sends_to_the_configured_urls_by_default(settings: Any) -> None:
    settings.NOTIFY_URLS = ["ntfy://founder-topic"]
    with notify.using_backend(notify.MemoryBackend()) as memory:
        notify.notify("t", "b")
    assert [s.url for s in memory.sent] == ["ntfy://founder-topic"]
