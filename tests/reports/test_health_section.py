"""The briefing's System health section: what was open, what happened, what is coming."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from founderops.core import audit
from founderops.incidents.models import Component, ComponentStatusChange, Incident
from founderops.monitoring.models import CheckResult, MaintenanceWindow, Monitor
from founderops.reports import briefing, health
from founderops.reports.briefing import Window
from tests.reports.conftest import BRIEFING_AT

pytestmark = pytest.mark.django_db

S = Component.Status


def line(section: str, starting: str) -> str:
    [found] = [text for text in section.splitlines() if text.startswith(starting)]
    return found


def api() -> Component:
    api = Component.objects.create(name="API", slug="api")
    ComponentStatusChange.objects.create(
        component=api, at=BRIEFING_AT - timedelta(days=40), status=S.OPERATIONAL
    )
    return api


def incident(title: str, priority: str, started: datetime, **fields: object) -> Incident:
    return Incident.objects.create(
        title=title, priority=priority, started_at=started, detected_at=started, **fields
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_lists_open_incidents_with_priority_and_age(window: Window) -> None:
    incident("Payments down", "P0", BRIEFING_AT - timedelta(hours=2, minutes=10))
    incident(
        "Old and fixed",
        "P2",
        BRIEFING_AT - timedelta(days=3),
        resolved_at=BRIEFING_AT - timedelta(days=2),
    )
    section = health.render(window)
    assert line(section, "- **Open incidents") == "- **Open incidents:** 1"
    assert line(section, "  - **P0**") == (
        "  - **P0** Payments down — open 2 h 10 min (investigating, not acknowledged)"
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_counts_incidents_started_in_the_window_by_priority(window: Window) -> None:
    for hours, priority in ((1, "P1"), (3, "P1"), (5, "P3"), (30, "P0")):
        incident("x", priority, BRIEFING_AT - timedelta(hours=hours), resolved_at=BRIEFING_AT)
    assert line(health.render(window), "- **Incidents started") == (
        "- **Incidents started:** P1 2, P3 1"
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_names_the_incidents_that_started_and_ended_in_the_window(window: Window) -> None:
    started = BRIEFING_AT - timedelta(hours=9)
    incident("API down", "P0", started, resolved_at=started + timedelta(minutes=11))
    assert line(health.render(window), "  - **P0**") == (
        "  - **P0** API down — resolved after 11 min"
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_gives_each_components_uptime_over_the_window(window: Window) -> None:
    component = api()
    ComponentStatusChange.objects.create(
        component=component, at=BRIEFING_AT - timedelta(hours=6), status=S.MAJOR_OUTAGE
    )
    ComponentStatusChange.objects.create(
        component=component, at=BRIEFING_AT - timedelta(hours=5, minutes=36), status=S.OPERATIONAL
    )
    Component.objects.create(name="Docs", slug="docs")
    # 24 minutes down in 24 hours: 98.33 %.
    assert line(health.render(window), "- **Uptime") == "- **Uptime:** API 98.33%, Docs no data"


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_warns_of_an_error_budget_under_a_quarter(window: Window) -> None:
    component = api()
    ComponentStatusChange.objects.create(
        component=component, at=BRIEFING_AT - timedelta(days=10), status=S.MAJOR_OUTAGE
    )
    ComponentStatusChange.objects.create(
        component=component,
        at=BRIEFING_AT - timedelta(days=10) + timedelta(minutes=40),
        status=S.OPERATIONAL,
    )
    assert line(health.render(window), "- **Error budget") == (
        "- **Error budget under 25% (99.9%, 30 days):** API 7% left (40 of 43 min used)"
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_says_nothing_of_budgets_with_plenty_left(window: Window) -> None:
    api()
    assert "Error budget" not in health.render(window)


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_names_maintenance_in_the_coming_week(window: Window) -> None:
    starts = datetime(2026, 3, 12, 21, 0, tzinfo=UTC)
    MaintenanceWindow.objects.create(
        title="DB upgrade", starts_at=starts, ends_at=starts + timedelta(hours=1)
    )
    MaintenanceWindow.objects.create(
        title="Far off",
        starts_at=starts + timedelta(days=30),
        ends_at=starts + timedelta(days=30, hours=1),
    )
    assert line(health.render(window), "- **Maintenance") == (
        "- **Maintenance ahead:** DB upgrade Thu 12 Mar 22:00 to 23:00"
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_names_a_heartbeat_that_missed_in_the_window(window: Window) -> None:
    nightly = Monitor.objects.create(
        name="nightly-backup", kind=Monitor.Kind.HEARTBEAT, state=Monitor.State.UP
    )
    Monitor.objects.create(name="fine-cron", kind=Monitor.Kind.HEARTBEAT, state=Monitor.State.UP)
    CheckResult.objects.create(
        monitor=nightly, at=BRIEFING_AT - timedelta(hours=4), outcome=CheckResult.Outcome.DOWN
    )
    assert (
        line(health.render(window), "- **Heartbeats") == "- **Heartbeats missed:** `nightly-backup`"
    )


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_is_the_first_section_of_the_morning_briefing(window: Window) -> None:
    page = briefing.morning(window).markdown
    assert page.index("## System health") < page.index("## Support")
    assert "- **Open incidents:** none" in page


# A past window rebuilt three days later: what changed after its end is not in it.

LATER = BRIEFING_AT + timedelta(days=3)


def acknowledged_and_identified_later() -> Incident:
    """Open at the briefing, investigating; acknowledged, identified and resolved later."""
    row = incident(
        "Payments down",
        "P0",
        BRIEFING_AT - timedelta(hours=2),
        state=Incident.State.RESOLVED,
        acknowledged_at=BRIEFING_AT + timedelta(hours=1),
        resolved_at=BRIEFING_AT + timedelta(hours=5),
    )
    with time_machine.travel(BRIEFING_AT + timedelta(hours=2), tick=False):
        audit.record("user:founder", "incidents.state_changed", ("incident", row.pk), "identified")
    return row


@time_machine.travel(LATER, tick=False)
def test_it_gives_an_open_incident_its_state_and_acknowledgement_at_the_windows_end(
    window: Window,
) -> None:
    acknowledged_and_identified_later()
    assert line(health.render(window), "  - **P0**") == (
        "  - **P0** Payments down — open 2 h (investigating, not acknowledged)"
    )


@time_machine.travel(LATER, tick=False)
def test_it_gives_the_state_audited_before_the_windows_end(window: Window) -> None:
    row = acknowledged_and_identified_later()
    with time_machine.travel(BRIEFING_AT - timedelta(hours=1), tick=False):
        audit.record("user:founder", "incidents.state_changed", ("incident", row.pk), "monitoring")
    assert line(health.render(window), "  - **P0**") == (
        "  - **P0** Payments down — open 2 h (monitoring, not acknowledged)"
    )


@time_machine.travel(LATER, tick=False)
def test_it_does_not_name_a_heartbeat_that_went_down_after_a_past_window(window: Window) -> None:
    Monitor.objects.create(
        name="nightly-backup",
        kind=Monitor.Kind.HEARTBEAT,
        state=Monitor.State.DOWN,
        state_since=BRIEFING_AT + timedelta(days=1),
    )
    assert "Heartbeats missed" not in health.render(window)


@time_machine.travel(LATER, tick=False)
def test_it_names_a_heartbeat_down_at_a_past_windows_end_and_up_since(window: Window) -> None:
    nightly = Monitor.objects.create(
        name="nightly-backup", kind=Monitor.Kind.HEARTBEAT, state=Monitor.State.UP
    )
    CheckResult.objects.create(
        monitor=nightly, at=BRIEFING_AT - timedelta(days=2), outcome=CheckResult.Outcome.DOWN
    )
    assert (
        line(health.render(window), "- **Heartbeats") == "- **Heartbeats missed:** `nightly-backup`"
    )
