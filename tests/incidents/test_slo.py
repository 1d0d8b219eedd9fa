"""Error budgets against 99.9 %, incidents per priority, and mean response times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from founderops.incidents import slo
from founderops.incidents.models import Component, ComponentStatusChange, Incident

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
S = Component.Status


def api_with_outage(minutes: float, status: str = S.MAJOR_OUTAGE) -> Component:
    api = Component.objects.create(name="API", slug="api")
    ComponentStatusChange.objects.create(
        component=api, at=NOW - timedelta(days=60), status=S.OPERATIONAL
    )
    down_at = NOW - timedelta(days=3)
    ComponentStatusChange.objects.create(component=api, at=down_at, status=status)
    ComponentStatusChange.objects.create(
        component=api, at=down_at + timedelta(minutes=minutes), status=S.OPERATIONAL
    )
    return api


def test_it_allows_43_minutes_of_downtime_in_a_whole_30_days() -> None:
    [budget] = slo.budgets([api_with_outage(0)], NOW)
    assert budget.budget_minutes == pytest.approx(43.2)
    assert budget.remaining_share == pytest.approx(1.0)


def test_it_spends_the_budget_by_the_minutes_down() -> None:
    [budget] = slo.budgets([api_with_outage(21.6)], NOW)
    assert budget.used_minutes == pytest.approx(21.6)
    assert budget.remaining_minutes == pytest.approx(21.6)
    assert budget.burn_rate == pytest.approx(0.5, rel=1e-6)
    assert not budget.warning


def test_it_warns_when_under_a_quarter_of_the_budget_is_left() -> None:
    [budget] = slo.budgets([api_with_outage(35)], NOW)
    assert budget.warning
    assert budget.remaining_text == "19%"


def test_it_shows_an_overspent_budget_as_negative() -> None:
    [budget] = slo.budgets([api_with_outage(86.4)], NOW)
    assert budget.remaining_share == pytest.approx(-1.0)


def test_it_spends_30_percent_for_a_partial_outage() -> None:
    [budget] = slo.budgets([api_with_outage(100, S.PARTIAL_OUTAGE)], NOW)
    assert budget.used_minutes == pytest.approx(30)


def test_it_measures_the_recent_burn_rate_over_24_hours() -> None:
    api = Component.objects.create(name="API", slug="api")
    ComponentStatusChange.objects.create(
        component=api, at=NOW - timedelta(days=60), status=S.OPERATIONAL
    )
    ComponentStatusChange.objects.create(
        component=api, at=NOW - timedelta(hours=1), status=S.MAJOR_OUTAGE
    )
    [budget] = slo.budgets([api], NOW)
    # One hour of 24 down, against 0.1 % allowed.
    assert budget.recent_burn_rate == pytest.approx((1 / 24) / 0.001)


def test_it_has_no_budget_for_a_component_without_data() -> None:
    api = Component.objects.create(name="API", slug="api")
    [budget] = slo.budgets([api], NOW)
    assert (budget.remaining_share, budget.burn_rate, budget.warning) == (None, None, False)


def incident(priority: str, started_ago: timedelta, **stamps: timedelta) -> Incident:
    started = NOW - started_ago
    return Incident.objects.create(
        title=f"{priority} thing",
        priority=priority,
        started_at=started,
        detected_at=started + stamps.get("detect", timedelta(0)),
        acknowledged_at=started + stamps["ack"] if "ack" in stamps else None,
        resolved_at=started + stamps["resolve"] if "resolve" in stamps else None,
    )


def test_it_counts_incidents_per_priority_in_each_window() -> None:
    incident("P0", timedelta(days=2))
    incident("P0", timedelta(days=40))
    incident("P2", timedelta(days=100))
    assert slo.counts_by_priority(NOW, 30) == {"P0": 1, "P1": 0, "P2": 0, "P3": 0}
    assert slo.counts_by_priority(NOW, 90) == {"P0": 2, "P1": 0, "P2": 0, "P3": 0}


def test_it_means_detect_acknowledge_and_resolve_times_per_priority() -> None:
    incident(
        "P1",
        timedelta(days=1),
        detect=timedelta(seconds=20),
        ack=timedelta(minutes=5),
        resolve=timedelta(hours=1),
    )
    incident("P1", timedelta(days=2), detect=timedelta(seconds=40), ack=timedelta(minutes=15))
    by_priority = {r.priority: r for r in slo.responses(NOW)}
    p1 = by_priority["P1"]
    assert p1.incidents == 2
    assert p1.mttd.value == timedelta(seconds=30)
    # Acknowledged - detected: 4 min 40 s and 14 min 20 s.
    assert p1.mtta.value == timedelta(minutes=9, seconds=30)
    assert (p1.mttr.value, p1.mttr.count) == (timedelta(hours=1), 1)
    assert by_priority["P0"].mttd.value is None
    assert by_priority["all"].incidents == 2


def test_it_counts_a_detection_stamped_before_the_start_as_zero() -> None:
    incident("P2", timedelta(days=1), detect=timedelta(seconds=-5))
    assert {r.priority: r for r in slo.responses(NOW)}["P2"].mttd.value == timedelta(0)
