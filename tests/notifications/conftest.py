"""The notifier's cast: Fiona's phone (ntfy) and her team chat, in Paris, at a fixed time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

import pytest
from django.contrib.auth.models import User

from founderops.accounts.models import Membership
from founderops.core import clock, notifications, notify
from founderops.core.models import NotificationDelivery, NotificationRoute

PHONE = "ntfy://fiona-phone-topic-4821"
CHAT = "tgram://123456789:AAbotsecrettoken0123456789abcdef/987654321"
# A Tuesday, 10:00 in Paris (CET, UTC+1).
MORNING = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _paris(settings: Any) -> None:
    settings.BRIEFING_TIME_ZONE = "Europe/Paris"
    settings.NOTIFY_URLS = []


@pytest.fixture
def memory() -> Iterator[notify.MemoryBackend]:
    with notify.using_backend(notify.MemoryBackend()) as backend:
        yield backend


@dataclass
class Flaky:
    """Refuses the first `failures` sends (with the URL in the error, as services do)."""

    failures: int
    sent: list[notify.Sent] = field(default_factory=list)
    tries: int = 0

    def send(self, url: str, title: str, body: str) -> None:
        self.tries += 1
        if self.tries <= self.failures:
            raise notify.DeliveryFailed(f"503 from {url}: try again later")
        self.sent.append(notify.Sent(url, title, body))


def add_route(
    owner: User,
    url: str = PHONE,
    events: tuple[str, ...] = ("*",),
    name: str = "Phone",
    **options: Any,
) -> NotificationRoute:
    values = notifications.RouteSettings(name=name, events=events, url=url, **options)
    return notifications.save_route(values, owner)


def dispatch() -> str:
    return notifications.dispatch_notifications()


def deliveries() -> list[NotificationDelivery]:
    return list(NotificationDelivery.objects.order_by("id"))


def only_delivery() -> NotificationDelivery:
    [delivery] = deliveries()
    return delivery


def escalation(title: str = "Ticket #1 needs you", **options: Any) -> Any:
    return notifications.publish("escalation", title, "Ada asks for a refund", **options)


def member(username: str, role: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", "correct horse battery")
    Membership.objects.create(user=user, role=role, created_at=clock.now())
    return user


QUIET_NIGHT: dict[str, Any] = {"quiet_start": time(22, 0), "quiet_end": time(7, 0)}
