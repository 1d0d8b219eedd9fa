"""The events wired so far: escalations (support) and the morning briefing (reports)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from founderops.core import notify
from founderops.core.models import AuditEvent, Notification
from founderops.reports import briefing
from founderops.support import services
from founderops.support.models import Ticket
from tests.notifications.conftest import PHONE, QUIET_NIGHT, add_route, dispatch, only_delivery

pytestmark = pytest.mark.django_db


def escalated(priority: int = Ticket.Priority.NORMAL) -> Ticket:
    incoming = services.Incoming(
        email="ada@example.com", name="Ada Lovelace", subject="Refund please", body="Refund me."
    )
    ticket = services.receive_ticket(incoming, triage=False)[0]
    ticket.priority = priority
    ticket.save(update_fields=["priority"])
    services.escalate(ticket, "Reply to Ada: Refund please", "not confident enough", {})
    return ticket


def test_it_publishes_an_escalation_with_a_link_to_the_ticket(settings: Any) -> None:
    settings.SITE_URL = "https://ops.example.com/"
    ticket = escalated()
    notification = Notification.objects.get()
    assert (notification.event, notification.title, notification.link, notification.urgent) == (
        "escalation",
        f"Ticket #{ticket.pk} needs you: Refund please",
        f"https://ops.example.com/tickets/{ticket.pk}/",
        False,
    )


def test_it_says_why_the_ticket_was_escalated() -> None:
    escalated()
    assert Notification.objects.get().body == (
        "Reply to Ada: Refund please\nWhy: not confident enough"
    )


def test_it_marks_the_escalation_of_an_urgent_ticket_urgent() -> None:
    escalated(Ticket.Priority.URGENT)
    assert Notification.objects.get().urgent is True


def test_it_publishes_one_escalation_while_the_approval_waits() -> None:
    ticket = escalated()
    services.escalate(ticket, "Reply to Ada: Refund please", "not confident enough", {})
    assert Notification.objects.count() == 1


def test_it_sends_an_escalation_to_the_founders_phone(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, PHONE, events=("escalation",))
    ticket = escalated()
    dispatch()
    assert [s.title for s in memory.sent] == [f"Ticket #{ticket.pk} needs you: Refund please"]


# 07:30 in Paris on Tuesday 10 March 2026.
BRIEFING_AT = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)


def morning() -> briefing.Briefing:
    return briefing.morning(briefing.Window.last_24_hours(BRIEFING_AT, briefing.configured_zone()))


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_sends_the_briefing_to_the_routes_that_take_it(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, PHONE, events=("briefing",), name="Phone")
    add_route(founder, "json://hooks.example.com/incidents-only", events=("incident",))
    sending = briefing.send(morning(), once=True)
    assert (sending.outcome, [s.url for s in memory.sent]) == ("delivered", [PHONE])


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_publishes_the_briefing_as_a_notification(
    founder: User, memory: notify.MemoryBackend
) -> None:
    add_route(founder, PHONE, events=("briefing",))
    page = morning()
    briefing.send(page, once=True)
    notification = Notification.objects.get()
    assert (notification.event, notification.key, notification.body) == (
        "briefing",
        f"briefing:{page.key}",
        page.markdown.strip(),
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_reports_a_briefing_held_by_quiet_hours_as_queued(
    founder: User, memory: notify.MemoryBackend
) -> None:
    # Quiet until 08:00: the 07:30 briefing waits half an hour.
    add_route(founder, PHONE, events=("briefing",), quiet_start=time(22, 0), quiet_end=time(8, 0))
    sending = briefing.send(morning(), once=True)
    assert (sending.outcome, memory.sent, only_delivery().state) == ("queued", [], "held")


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_reports_a_failed_first_try_and_retries_the_briefing(founder: User) -> None:
    add_route(founder, PHONE, events=("briefing",))
    with notify.using_backend(notify.MemoryBackend(failing={PHONE})):
        sending = briefing.send(morning(), once=True)
    event = AuditEvent.objects.get(action=briefing.SENT)
    delivery = only_delivery()
    assert (sending.outcome, event.outcome, delivery.state, delivery.next_attempt_at) == (
        "failed",
        "failed",
        "pending",
        BRIEFING_AT + timedelta(minutes=1),
    )


def test_it_finds_nowhere_to_send_a_briefing_without_routes(
    memory: notify.MemoryBackend,
) -> None:
    with time_machine.travel(BRIEFING_AT, tick=False):
        sending = briefing.send(morning())
    assert (sending.outcome, memory.sent) == ("no_targets", [])


def test_it_sends_a_briefing_given_urls_to_those_urls_only(
    founder: User, memory: notify.MemoryBackend
) -> None:
    # `urls` is the direct path (no outbox, no routes, no quiet hours).
    add_route(founder, PHONE, events=("briefing",), **QUIET_NIGHT)
    with time_machine.travel(BRIEFING_AT, tick=False):
        sending = briefing.send(morning(), urls=["ntfy://somewhere-else"])
    assert (sending.outcome, [s.url for s in memory.sent]) == (
        "delivered",
        ["ntfy://somewhere-else"],
    )
