"""Per-event routing: each route gets the events it lists; the settings' URLs get them all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from founderops.core import notifications, notify
from tests.notifications.conftest import (
    CHAT,
    MORNING,
    PHONE,
    add_route,
    deliveries,
    dispatch,
    escalation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _morning() -> Iterator[None]:
    with time_machine.travel(MORNING, tick=False):
        yield


def test_it_sends_an_event_only_to_the_routes_that_list_it(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, PHONE, events=("incident",), name="Phone")
    add_route(founder, CHAT, events=("escalation",), name="Chat")
    escalation()
    dispatch()
    assert [s.url for s in memory.sent] == [CHAT]


def test_it_sends_every_event_to_a_wildcard_route(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, PHONE, events=("*",))
    for event in ("escalation", "incident", "briefing", "digest"):
        notifications.publish(event, f"a {event}", "body")
    dispatch()
    assert [s.title for s in memory.sent] == [
        "a escalation",
        "a incident",
        "a briefing",
        "a digest",
    ]


def test_it_sends_every_event_to_the_default_urls(
    settings: Any, memory: notify.MemoryBackend
) -> None:
    settings.NOTIFY_URLS = [PHONE]
    notifications.publish("incident", "API is down", "since 09:58")
    dispatch()
    assert [(s.url, s.title) for s in memory.sent] == [(PHONE, "API is down")]


def test_it_sends_once_to_a_url_that_is_both_a_route_and_a_default(
    founder: User, settings: Any, memory: notify.MemoryBackend
) -> None:
    settings.NOTIFY_URLS = [PHONE]
    add_route(founder, PHONE, events=("escalation",))
    escalation()
    dispatch()
    assert (len(memory.sent), [d.route_name for d in deliveries()]) == (1, ["Phone"])


def test_it_skips_a_disabled_route(founder: User, memory: notify.MemoryBackend) -> None:
    add_route(founder, PHONE, enabled=False)
    escalation()
    dispatch()
    assert (memory.sent, deliveries()) == ([], [])


def test_it_stores_a_notification_no_route_takes(memory: notify.MemoryBackend) -> None:
    stored = escalation()
    dispatch()
    stored.refresh_from_db()
    assert (stored.routed_at, deliveries(), memory.sent) == (MORNING, [], [])


def test_it_sends_the_body_and_the_link(founder: User, memory: notify.MemoryBackend) -> None:
    add_route(founder)
    escalation(link="https://ops.example.com/tickets/1/")
    dispatch()
    assert memory.sent[0].body == "Ada asks for a refund\n\nhttps://ops.example.com/tickets/1/"


def test_it_marks_an_urgent_notification_in_its_title(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder)
    escalation(urgent=True)
    dispatch()
    assert memory.sent[0].title == "Urgent · Ticket #1 needs you"


def test_it_does_not_send_what_was_waiting_for_a_deleted_route(
    founder: User, memory: notify.MemoryBackend
) -> None:
    route = add_route(founder, digest_minutes=10)
    escalation()
    dispatch()
    notifications.delete_route(route, founder)
    dispatch()
    [delivery] = deliveries()
    assert (memory.sent, delivery.state, delivery.error) == ([], "skipped", "its route was deleted")


def test_it_sends_to_the_new_url_of_an_edited_route(
    founder: User, memory: notify.MemoryBackend
) -> None:
    route = add_route(founder, PHONE)
    notifications.save_route(notifications.RouteSettings("Phone", ("*",), url=CHAT), founder, route)
    escalation()
    dispatch()
    assert [s.url for s in memory.sent] == [CHAT]


def test_it_knows_where_an_event_would_go(founder: User, settings: Any) -> None:
    settings.NOTIFY_URLS = [CHAT]
    add_route(founder, PHONE, events=("incident",))
    assert [t.name for t in notifications.routes_for("incident")] == [
        "Phone",
        notifications.DEFAULT_ROUTE,
    ]
