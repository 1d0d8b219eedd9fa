"""publish(): the outbox. Stored first, deduplicated by key, dispatched after commit."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from founderops.core import jobs, notifications, notify
from founderops.core.errors import InvalidInput
from founderops.core.models import Notification, NotificationDelivery
from tests.notifications.conftest import MORNING, add_route, escalation

pytestmark = pytest.mark.django_db


@time_machine.travel(MORNING, tick=False)
def test_it_stores_the_notification_before_anything_is_sent(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder)
    stored = escalation()
    assert (Notification.objects.get().pk, stored.routed_at, memory.sent) == (stored.pk, None, [])


def test_it_stores_a_key_published_twice_once() -> None:
    first = escalation(key="escalation:approval:7")
    second = escalation("A second title for the same event", key="escalation:approval:7")
    assert (second.pk, second.title, Notification.objects.count()) == (
        first.pk,
        "Ticket #1 needs you",
        1,
    )


def test_it_stores_notifications_without_a_key_each_time() -> None:
    escalation()
    escalation()
    assert Notification.objects.count() == 2


def test_it_queues_a_dispatch_after_commit(
    django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[str] = []
    monkeypatch.setattr(jobs, "enqueue", lambda func, *a, **k: queued.append(func))
    with django_capture_on_commit_callbacks(execute=True):
        escalation()
        assert queued == []  # nothing before the commit
    assert queued == ["founderops.core.notifications.dispatch_notifications"]


def test_it_refuses_an_unknown_event() -> None:
    with pytest.raises(InvalidInput, match="'escalaton' is not a notification event"):
        notifications.publish("escalaton", "t", "b")


def test_it_refuses_the_wildcard_as_an_event() -> None:
    with pytest.raises(InvalidInput, match="not a notification event"):
        notifications.publish("*", "t", "b")


def test_it_refuses_a_link_that_is_not_a_web_address() -> None:
    with pytest.raises(InvalidInput, match="must start with http://, https:// or /"):
        escalation(link="javascript:alert(1)")


def test_it_keeps_the_title_on_one_line() -> None:
    assert escalation("Ticket #1\nneeds   you").title == "Ticket #1 needs you"


@time_machine.travel(MORNING, tick=False)
def test_it_creates_the_deliveries_once_when_routed_twice(founder: User) -> None:
    add_route(founder)
    stored = escalation()
    counts = [notifications.route_notification(stored.pk, MORNING) for _ in range(2)]
    assert (counts, NotificationDelivery.objects.count()) == ([1, 0], 1)
