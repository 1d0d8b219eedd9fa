"""Uptime per component and day, exact from status changes; what the page lists."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from founderops.incidents import services, statuspage
from founderops.incidents.alerts import Signal
from founderops.incidents.models import Component, ComponentStatusChange, Incident, StatusUpdate
from founderops.incidents.statuspage import Change, Tally, day_span, tally

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
S = Component.Status


def test_it_counts_a_major_outage_as_full_downtime() -> None:
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    changes = [
        Change(start + timedelta(hours=6), S.MAJOR_OUTAGE),
        Change(start + timedelta(hours=12), S.OPERATIONAL),
    ]
    assert tally(S.OPERATIONAL, changes, start, end, end).uptime == pytest.approx(0.75)


def test_it_counts_a_partial_outage_at_thirty_percent() -> None:
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    changes = [Change(start + timedelta(hours=14), S.PARTIAL_OUTAGE)]
    # 10 hours partial: 3 hours of downtime in 24.
    assert tally(S.OPERATIONAL, changes, start, end, end).uptime == pytest.approx(1 - 3 / 24)


def test_it_counts_degraded_performance_as_up() -> None:
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    assert tally(S.DEGRADED, [], start, end, end).uptime == 1.0


def test_it_leaves_maintenance_out_of_the_denominator() -> None:
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    changes = [
        Change(start + timedelta(hours=12), S.MAINTENANCE),
        Change(start + timedelta(hours=18), S.MAJOR_OUTAGE),
    ]
    result = tally(S.OPERATIONAL, changes, start, end, end)
    assert result.maintenance == timedelta(hours=6)
    assert result.uptime == pytest.approx(12 / 18)


def test_it_says_no_data_before_the_first_status() -> None:
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    assert tally(None, [], start, end, end).uptime is None
    partly = tally(None, [Change(start + timedelta(hours=18), S.OPERATIONAL)], start, end, end)
    assert (partly.unknown, partly.uptime) == (timedelta(hours=18), 1.0)


def test_it_counts_only_up_to_now_on_the_current_day() -> None:
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    now = start + timedelta(hours=8)
    result = tally(S.MAJOR_OUTAGE, [], start, end, now)
    assert (result.counted, result.unknown, result.uptime) == (
        timedelta(hours=8),
        timedelta(hours=16),
        0.0,
    )


def test_it_makes_a_spring_forward_day_23_hours_long() -> None:
    start, end = day_span(date(2026, 3, 29), PARIS)
    assert end - start == timedelta(hours=23)
    # One hour down on a 23-hour day.
    outage = [
        Change(start + timedelta(hours=5), S.MAJOR_OUTAGE),
        Change(start + timedelta(hours=6), S.OPERATIONAL),
    ]
    assert tally(S.OPERATIONAL, outage, start, end, end).uptime == pytest.approx(22 / 23)


def test_it_makes_a_fall_back_day_25_hours_long() -> None:
    start, end = day_span(date(2026, 10, 25), PARIS)
    assert end - start == timedelta(hours=25)


STATUSES = st.sampled_from([*S.values, None])
DAYS = st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31))


@given(
    day=DAYS,
    initial=STATUSES,
    offsets=st.lists(
        st.tuples(st.integers(-30 * 3600, 30 * 3600), st.sampled_from(S.values)), max_size=12
    ),
    now_offset=st.integers(-3600, 30 * 3600),
)
def test_it_splits_any_day_into_parts_that_add_up_and_an_uptime_in_range(
    day: date, initial: str | None, offsets: list[tuple[int, str]], now_offset: int
) -> None:
    start, end = day_span(day, PARIS)
    changes = [Change(start + timedelta(seconds=s), status) for s, status in offsets]
    result = tally(initial, changes, start, end, start + timedelta(seconds=now_offset))
    assert result.total == end - start
    assert result.uptime is None or 0.0 <= result.uptime <= 1.0
    assert 0.0 <= result.down_s <= result.counted.total_seconds() + 1e-6


def test_it_keeps_tallies_additive() -> None:
    one = Tally(counted=timedelta(hours=1), down_s=60.0)
    two = Tally(maintenance=timedelta(hours=2), unknown=timedelta(hours=3))
    assert one.plus(two).total == timedelta(hours=6)


def test_it_writes_percentages_without_rounding_up_to_a_hundred() -> None:
    assert statuspage.percent(0.99999) == "99.99%"
    assert statuspage.percent(1.0) == "100%"
    assert statuspage.percent(0.875) == "87.5%"


# With the database.


def component(name: str, **fields: object) -> Component:
    return Component.objects.create(name=name, slug=name.lower(), **fields)


def change(c: Component, at: str, status: str) -> ComponentStatusChange:
    return ComponentStatusChange.objects.create(
        component=c, at=datetime.fromisoformat(at), status=status
    )


def incident(
    title: str, started: str, resolved: str | None = None, priority: str = "P1", **fields: object
) -> Incident:
    started_at = datetime.fromisoformat(started)
    return Incident.objects.create(
        title=title,
        priority=priority,
        started_at=started_at,
        detected_at=started_at,
        resolved_at=datetime.fromisoformat(resolved) if resolved else None,
        state=Incident.State.RESOLVED if resolved else Incident.State.INVESTIGATING,
        **fields,
    )


def update(i: Incident, body: str, published: str | None) -> StatusUpdate:
    at = datetime.fromisoformat(published) if published else NOW
    return StatusUpdate.objects.create(
        incident=i,
        status=i.state,
        body=body,
        created_at=at,
        published_at=at if published else None,
        state=StatusUpdate.State.PUBLISHED if published else StatusUpdate.State.DRAFT,
        author="agent:monitoring",
    )


@pytest.mark.django_db
def test_it_marks_days_before_the_first_change_as_no_data() -> None:
    api = component("API")
    change(api, "2026-03-08T12:00:00+00:00", S.OPERATIONAL)
    [row] = statuspage.rows([api], NOW, ZoneInfo("UTC"), days=5)
    assert [c.uptime for c in row.cells] == [None, None, 1.0, 1.0, 1.0]
    assert [c.level for c in row.cells[:3]] == ["nodata", "nodata", "up"]


@pytest.mark.django_db
def test_it_splits_an_outage_across_midnight_in_the_founders_zone() -> None:
    api = component("API")
    change(api, "2026-02-01T00:00:00+00:00", S.OPERATIONAL)
    # 22:00 to 02:00 Paris time (21:00 to 01:00 UTC): two hours on each day.
    change(api, "2026-03-08T21:00:00+00:00", S.MAJOR_OUTAGE)
    change(api, "2026-03-09T01:00:00+00:00", S.OPERATIONAL)
    [row] = statuspage.rows([api], NOW, PARIS, days=3)
    day8, day9, _ = row.cells
    assert (day8.day, day9.day) == (date(2026, 3, 8), date(2026, 3, 9))
    assert day8.uptime == pytest.approx(22 / 24)
    assert day9.uptime == pytest.approx(22 / 24)
    assert row.uptime == pytest.approx(1 - 4 / (48 + 13))


@pytest.mark.django_db
def test_it_names_the_days_incidents_in_the_cell() -> None:
    api = component("API")
    change(api, "2026-02-01T00:00:00+00:00", S.OPERATIONAL)
    i = incident("Login errors", "2026-03-09T10:00:00+00:00", "2026-03-09T11:00:00+00:00")
    i.components.add(api)
    update(i, "Fixed.", "2026-03-09T11:00:00+00:00")
    [row] = statuspage.rows([api], NOW, ZoneInfo("UTC"), days=2)
    assert row.cells[0].incidents == ("Login errors",)
    assert "Login errors" in row.cells[0].label
    assert row.cells[1].incidents == ()


@pytest.mark.django_db
def test_it_leaves_out_incidents_with_only_drafts() -> None:
    i = incident("Being looked at", "2026-03-10T10:00:00+00:00")
    update(i, "We are looking", None)
    assert statuspage.active_incidents() == []


@pytest.mark.django_db
def test_it_shows_published_updates_but_never_drafts() -> None:
    i = incident("Slow API", "2026-03-10T10:00:00+00:00")
    update(i, "We are looking", "2026-03-10T10:05:00+00:00")
    update(i, "Draft: root cause is X", None)
    [found] = statuspage.active_incidents()
    assert [u.body for u in statuspage.published_of(found)] == ["We are looking"]


@pytest.mark.django_db
def test_it_keeps_private_incidents_off_the_page() -> None:
    i = incident("Internal cron", "2026-03-10T10:00:00+00:00", public=False)
    update(i, "Looking", "2026-03-10T10:05:00+00:00")
    assert statuspage.active_incidents() == []


@pytest.mark.django_db
def test_it_lists_past_incidents_of_the_last_two_weeks() -> None:
    old = incident("Old", "2026-02-01T10:00:00+00:00", "2026-02-01T11:00:00+00:00")
    recent = incident("Recent", "2026-03-05T10:00:00+00:00", "2026-03-05T11:00:00+00:00")
    for each in (old, recent):
        update(each, "Resolved", each.resolved_at.isoformat() if each.resolved_at else None)
    assert [i.title for i in statuspage.past_incidents(NOW)] == ["Recent"]


@pytest.mark.django_db
def test_it_shows_the_worst_component_status_in_the_banner() -> None:
    components = [
        component("API", status=S.DEGRADED),
        component("Web", status=S.PARTIAL_OUTAGE),
        component("Docs"),
    ]
    assert statuspage.banner(components) == ("outage", "Partial outage")
    assert statuspage.banner([components[2]]) == ("operational", "All systems operational")


def test_it_gives_a_detected_incident_a_title_customers_understand(db: None) -> None:
    api = Component.objects.create(name="API", slug="api")
    fired = services.fire(
        Signal(
            fingerprint="monitor:api-health:down",
            source="check",
            cause="down",
            title="api-health is down: HTTP 500 Internal Server Error",
            at=NOW,
            component=api.slug,
            facts={"hard": True},
        )
    )
    assert fired.incident.public_title == "Errors on API"


def test_it_shows_a_hand_written_incident_title_as_is(db: None) -> None:
    incident = Incident.objects.create(
        title="Scheduled exports are late", priority="P2", started_at=NOW, detected_at=NOW
    )
    assert incident.public_title == "Scheduled exports are late"
