"""Paging: one page per incident, then only updates; reminders until acknowledged."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User

from founderops.incidents import paging, services
from founderops.incidents.models import Component, Incident
from tests.incidents.conftest import T0, down, incident_notifications, slow

pytestmark = pytest.mark.django_db


def test_it_pages_once_with_the_context_and_the_plan(
    clock: time_machine.Traveller, api: Component
) -> None:
    incident = down().incident
    incident.plan = "1. Roll back the deploy abc123"
    incident.save()
    paging.page(incident, "What the agent found:\n- Deploy abc123 4 min before the start")
    paging.page(incident, "again")  # the agent's job ran twice
    [sent] = incident_notifications(incident.pk)
    assert (sent.event, sent.urgent, sent.key) == ("incident", True, f"incident:{incident.pk}:page")
    assert "Deploy abc123 4 min before" in sent.body
    assert "Roll back the deploy abc123" in sent.body
    assert sent.link == f"/incidents/{incident.pk}/"


def test_it_pages_a_p2_without_breaking_quiet_hours(
    clock: time_machine.Traveller, api: Component
) -> None:
    incident = slow(0.3).incident
    sent = paging.page(incident)
    assert sent is not None
    assert not sent.urgent


def test_it_sends_one_page_plus_updates_per_incident(
    clock: time_machine.Traveller, api: Component, founder: User
) -> None:
    incident = slow(0.3).incident
    paging.page(incident)
    slow(0.35, at=T0 + timedelta(seconds=30))  # the same alert again: nothing new
    down(at=T0 + timedelta(minutes=1))  # joins, raises P2 → P1: one update
    clock.shift(timedelta(minutes=3))
    services.resolve(Incident.objects.get(pk=incident.pk), "user:fiona")
    titles = [n.title for n in incident_notifications(incident.pk)]
    assert titles == [
        "P2 incident: api-health 30% slower",
        "P1 update: priority raised to P1",
        "P1 update: resolved",
    ]


def test_it_sends_no_update_before_the_page(clock: time_machine.Traveller, api: Component) -> None:
    incident = slow(0.3).incident
    down(at=T0 + timedelta(minutes=1))
    assert incident_notifications(incident.pk) == []


def test_it_reminds_at_the_priority_interval_until_acknowledged(
    clock: time_machine.Traveller, payments: Component, founder: User
) -> None:
    incident = down("payments", monitor="checkout").incident  # P0: every 5 minutes
    paging.page(incident)
    assert paging.renotify_due(T0 + timedelta(minutes=4)) == 0
    assert paging.renotify_due(T0 + timedelta(minutes=5)) == 1
    assert paging.renotify_due(T0 + timedelta(minutes=6)) == 0
    assert paging.renotify_due(T0 + timedelta(minutes=10)) == 1
    services.acknowledge(incident, founder)
    assert paging.renotify_due(T0 + timedelta(minutes=30)) == 0
    reminders = [n for n in incident_notifications(incident.pk) if ":reminder:" in n.key]
    assert [n.urgent for n in reminders] == [True, True]


@pytest.mark.parametrize(("level", "minutes"), [("P1", 15), ("P2", 60)])
def test_it_reminds_less_often_for_lower_priorities(
    clock: time_machine.Traveller, api: Component, founder: User, level: str, minutes: int
) -> None:
    incident = down().incident
    services.set_priority(incident, level, founder, "test")
    paging.page(Incident.objects.get(pk=incident.pk))
    assert paging.renotify_due(T0 + timedelta(minutes=minutes - 1)) == 0
    assert paging.renotify_due(T0 + timedelta(minutes=minutes)) == 1


def test_it_never_reminds_for_a_p3(
    clock: time_machine.Traveller, api: Component, founder: User
) -> None:
    incident = down().incident
    services.set_priority(incident, "P3", founder, "cosmetic")
    paging.page(Incident.objects.get(pk=incident.pk))
    assert paging.renotify_due(T0 + timedelta(days=2)) == 0


def test_it_does_not_page_for_an_incident_opened_in_maintenance(
    clock: time_machine.Traveller, api: Component
) -> None:
    Component.objects.filter(pk=api.pk).update(status=Component.Status.MAINTENANCE)
    incident = down().incident
    assert paging.page(incident) is None
    assert paging.renotify_due(T0 + timedelta(hours=1)) == 0
    assert paging.page_unpaged(T0 + timedelta(hours=1)) == 0
    incident.refresh_from_db()
    assert "maintenance" in incident.muted_reason
    assert incident_notifications(incident.pk) == []


def test_it_pages_without_a_plan_when_the_agent_is_late(
    clock: time_machine.Traveller, api: Component
) -> None:
    incident = down().incident
    assert paging.page_unpaged(T0 + timedelta(minutes=1)) == 0
    assert paging.page_unpaged(T0 + paging.PAGE_FALLBACK) == 1
    [sent] = incident_notifications(incident.pk)
    assert "has not answered yet" in sent.body
