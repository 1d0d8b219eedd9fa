"""A notification URL holds the service's token: sealed at rest, never shown, logged or audited."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from founderops.core import notify, secrets
from founderops.core.models import AuditEvent, NotificationRoute
from tests.notifications.conftest import CHAT, add_route, dispatch, escalation

pytestmark = pytest.mark.django_db

# The parts of CHAT that must never leak: the bot token and the chat id.
SECRETS = ("AAbotsecrettoken0123456789abcdef", "987654321", "123456789:AA")


def leaked(text: str) -> list[str]:
    return [piece for piece in SECRETS if piece in text]


def test_it_seals_the_url_at_rest(founder: User) -> None:
    route = add_route(founder, CHAT)
    stored = NotificationRoute.objects.values("url_sealed", "target").get(pk=route.pk)
    assert (leaked(str(stored)), secrets.reveal(stored["url_sealed"])) == ([], CHAT)


def test_it_never_shows_the_url_on_the_pages(founder: User, founder_client: Client) -> None:
    route = add_route(founder, CHAT)
    pages = [
        founder_client.get(reverse("web:notifications")),
        founder_client.get(reverse("web:notification_route_edit", args=[route.pk])),
    ]
    assert [leaked(page.content.decode()) for page in pages] == [[], []]


def test_it_never_shows_a_typed_url_back_on_a_refused_form(founder_client: Client) -> None:
    response = founder_client.post(
        reverse("web:notification_route_add"),
        {"name": "", "url": CHAT, "events": ["escalation"], "digest_minutes": "0"},
    )
    assert (response.status_code, leaked(response.content.decode())) == (400, [])


def test_it_keeps_the_url_out_of_the_audit_trail(founder: User, founder_client: Client) -> None:
    route = add_route(founder, CHAT)
    founder_client.post(reverse("web:notification_route_test", args=[route.pk]))
    escalation()
    with notify.using_backend(notify.MemoryBackend(failing={CHAT})):
        dispatch()
    trail = str([event.as_record() for event in AuditEvent.objects.all()])
    assert (leaked(trail), "notifications.delivery_failed" in trail) == ([], True)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def logs() -> Iterator[Collect]:
    """What reaches the root logger (the console and any log shipper), at every level.

    Not caplog: pytest also listens to loggers that do not propagate, which the real log
    output never hears.
    """
    root, handler = logging.getLogger(), Collect()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_it_keeps_the_url_out_of_the_logs(founder: User, logs: Collect) -> None:
    add_route(founder, CHAT)
    escalation()
    with notify.using_backend(notify.MemoryBackend(failing={CHAT})):
        dispatch()
    assert (leaked(logs.text), "failed" in logs.text) == ([], True)


def test_it_keeps_the_url_out_of_the_delivery_error(founder: User) -> None:
    add_route(founder, CHAT)
    escalation()
    with notify.using_backend(notify.MemoryBackend(failing={CHAT})):
        dispatch()
    [row] = NotificationRoute.objects.get().deliveries.all()
    assert (leaked(row.error), bool(row.error)) == ([], True)


def test_it_keeps_apprises_own_log_lines_with_urls_out_of_the_logs(logs: Collect) -> None:
    # apprise logs "An invalid Slack (first) Token (abc-secret-token-zzz)"; the settings
    # keep its logger from reaching the log output (core.notify reports the failure).
    with notify.using_backend(notify.AppriseBackend()):
        [delivery] = notify.notify("t", "b", ["slack://abc-secret-token-zzz"])
    assert (delivery.ok, "abc-secret-token-zzz" in logs.text, "slack #" in logs.text) == (
        False,
        False,
        True,
    )
