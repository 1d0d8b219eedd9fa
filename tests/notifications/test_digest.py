"""Digests: within a route's window a flood of one event becomes one message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User

from founderops.core import notifications, notify
from tests.notifications.conftest import (
    MORNING,
    QUIET_NIGHT,
    add_route,
    deliveries,
    dispatch,
    escalation,
)

pytestmark = pytest.mark.django_db


def flood(count: int) -> None:
    for number in range(1, count + 1):
        escalation(f"Ticket #{number} needs you", link=f"https://ops.example.com/tickets/{number}/")


def test_it_bundles_a_flood_into_one_digest_message(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, digest_minutes=15)
    with time_machine.travel(MORNING, tick=False) as traveller:
        flood(7)
        dispatch()
        traveller.shift(timedelta(minutes=15))
        dispatch()
    [message] = memory.sent
    assert (message.title, message.body.splitlines()[0], len(message.body.splitlines())) == (
        "FounderOps: 7 escalations",
        "- Ticket #1 needs you — https://ops.example.com/tickets/1/",
        7,
    )


def test_it_waits_for_the_window_to_close_before_sending(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, digest_minutes=15)
    with time_machine.travel(MORNING, tick=False) as traveller:
        flood(3)
        traveller.shift(timedelta(minutes=14))
        dispatch()
    assert (memory.sent, {d.state for d in deliveries()}) == ([], {"pending"})


def test_it_marks_every_bundled_delivery_sent(founder: User, memory: notify.MemoryBackend) -> None:
    add_route(founder, digest_minutes=15)
    with time_machine.travel(MORNING, tick=False) as traveller:
        flood(3)
        traveller.shift(timedelta(minutes=15))
        dispatch()
    assert [(d.state, d.bundle_size) for d in deliveries()] == [("sent", 3)] * 3


def test_it_joins_events_that_arrive_during_the_window(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, digest_minutes=15)
    with time_machine.travel(MORNING, tick=False) as traveller:
        flood(2)
        traveller.shift(timedelta(minutes=10))
        escalation("Ticket #3 needs you")
        traveller.shift(timedelta(minutes=5))
        dispatch()
    assert [s.title for s in memory.sent] == ["FounderOps: 3 escalations"]


def test_it_sends_a_lone_event_as_itself_when_the_window_closes(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, digest_minutes=15)
    with time_machine.travel(MORNING, tick=False) as traveller:
        flood(1)
        traveller.shift(timedelta(minutes=15))
        dispatch()
    assert [s.title for s in memory.sent] == ["Ticket #1 needs you"]


def test_it_sends_an_urgent_event_at_once_on_a_digest_route(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, digest_minutes=15)
    with time_machine.travel(MORNING, tick=False):
        flood(2)
        escalation("P0: checkout is down", urgent=True)
        dispatch()
    assert [s.title for s in memory.sent] == ["Urgent · P0: checkout is down"]


def test_it_keeps_different_events_in_different_digests(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, digest_minutes=15)
    with time_machine.travel(MORNING, tick=False) as traveller:
        flood(2)
        notifications.publish("incident", "API slow", "p95 2.3 s")
        notifications.publish("incident", "API down", "since 10:03")
        traveller.shift(timedelta(minutes=15))
        dispatch()
    assert sorted(s.title for s in memory.sent) == [
        "FounderOps: 2 escalations",
        "FounderOps: 2 incidents",
    ]


def test_it_bundles_what_quiet_hours_held_into_one_morning_digest(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, digest_minutes=15, **QUIET_NIGHT)
    # 23:30 in Paris: five escalations wait for 07:00 and then go out together.
    with time_machine.travel(datetime(2026, 3, 10, 22, 30, tzinfo=UTC), tick=False) as traveller:
        flood(5)
        traveller.shift(timedelta(minutes=15))
        dispatch()
        traveller.move_to(datetime(2026, 3, 11, 6, 0, tzinfo=UTC))
        dispatch()
    assert [s.title for s in memory.sent] == ["FounderOps: 5 escalations"]


def test_it_lists_at_most_twenty_items_in_a_digest(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, digest_minutes=5)
    with time_machine.travel(MORNING, tick=False) as traveller:
        flood(25)
        traveller.shift(timedelta(minutes=5))
        dispatch()
    lines = memory.sent[0].body.splitlines()
    assert (len(lines), lines[-1]) == (21, "- … and 5 more in the cockpit")
