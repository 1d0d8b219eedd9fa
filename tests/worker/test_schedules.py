from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django_q.models import Schedule

from founderops.core import notify
from founderops.core.models import AuditEvent
from founderops.reports import briefing
from founderops.worker import schedules, tasks

PARIS = ZoneInfo("Europe/Paris")
NOON_UTC = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


@pytest.fixture
def paris(settings: Any) -> None:
    settings.BRIEFING_TIME = "07:30"
    settings.BRIEFING_TIME_ZONE = "Europe/Paris"


def briefing_schedule() -> Schedule:
    return Schedule.objects.get(name=schedules.BRIEFING)


def test_it_finds_the_next_local_time_in_the_zone() -> None:
    assert schedules.next_local_time(NOON_UTC, time(7, 30), PARIS) == datetime(
        2026, 3, 10, 6, 30, tzinfo=UTC
    )


def test_it_keeps_the_local_time_when_the_clocks_go_forward() -> None:
    # Paris moves from UTC+1 to UTC+2 in the night of 28-29 March 2026.
    after = datetime(2026, 3, 28, 7, 0, tzinfo=UTC)
    assert schedules.next_local_time(after, time(7, 30), PARIS) == datetime(
        2026, 3, 29, 5, 30, tzinfo=UTC
    )


def test_it_runs_a_skipped_local_time_just_after_the_gap() -> None:
    after = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    moved = schedules.next_local_time(after, time(2, 30), PARIS)
    assert moved.astimezone(PARIS).strftime("%H:%M %Z") == "03:30 CEST"


@pytest.mark.django_db
@time_machine.travel(NOON_UTC, tick=False)
def test_it_schedules_the_briefing_daily_at_the_local_time(paris: None) -> None:
    schedules.ensure_schedules()
    row = briefing_schedule()
    assert (row.schedule_type, row.next_run, row.intended_date_kwarg) == (
        Schedule.DAILY,
        datetime(2026, 3, 10, 6, 30, tzinfo=UTC),
        "intended_date",
    )


@pytest.mark.django_db
@time_machine.travel(NOON_UTC, tick=False)
def test_it_ensures_the_schedules_idempotently(paris: None) -> None:
    first = [(s.pk, s.next_run) for s in schedules.ensure_schedules()]
    second = [(s.pk, s.next_run) for s in schedules.ensure_schedules()]
    expected = len(schedules.configured()) + len(schedules.intervals())
    assert (second, Schedule.objects.count()) == (first, expected)


@pytest.mark.django_db
def test_it_runs_interval_jobs_every_so_many_minutes() -> None:
    with time_machine.travel(NOON_UTC, tick=False):
        schedules.ensure_schedules()
    every = {e.name: e for e in schedules.intervals()}
    rows = Schedule.objects.filter(name__in=every)
    assert sorted((r.name, r.schedule_type, r.minutes) for r in rows) == sorted(
        (name, Schedule.MINUTES, e.minutes) for name, e in every.items()
    )


@pytest.mark.django_db
def test_it_updates_an_interval_job_whose_period_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    job = schedules.Every("every-test", "founderops.worker.tasks.housekeeping", 5)
    monkeypatch.setattr(schedules, "intervals", lambda: [job])
    schedules.ensure_schedules()
    monkeypatch.setattr(schedules, "intervals", lambda: [schedules.Every(job.name, job.func, 2)])
    schedules.ensure_schedules()
    assert list(Schedule.objects.filter(name=job.name).values_list("minutes", flat=True)) == [2]


@pytest.mark.django_db
def test_it_keeps_a_missed_run_due_across_a_restart(paris: None) -> None:
    with time_machine.travel(NOON_UTC, tick=False):
        schedules.ensure_schedules()
    with time_machine.travel(NOON_UTC + timedelta(days=1), tick=False):
        schedules.ensure_schedules()
    assert briefing_schedule().next_run == datetime(2026, 3, 10, 6, 30, tzinfo=UTC)


@pytest.mark.django_db
@time_machine.travel(NOON_UTC, tick=False)
def test_it_moves_the_briefing_when_its_time_changes(paris: None, settings: Any) -> None:
    schedules.ensure_schedules()
    settings.BRIEFING_TIME = "08:15"
    schedules.ensure_schedules()
    assert briefing_schedule().next_run == datetime(2026, 3, 10, 7, 15, tzinfo=UTC)


@pytest.mark.django_db
def test_it_removes_a_duplicated_schedule(paris: None) -> None:
    Schedule.objects.create(name=schedules.BRIEFING, func="x", schedule_type=Schedule.DAILY)
    Schedule.objects.create(name=schedules.BRIEFING, func="x", schedule_type=Schedule.DAILY)
    schedules.ensure_schedules()
    assert Schedule.objects.filter(name=schedules.BRIEFING).count() == 1


def test_it_refuses_a_malformed_briefing_time(settings: Any) -> None:
    settings.BRIEFING_TIME = "half past seven"
    with pytest.raises(ValueError, match="'half past seven' is not a time like 07:30"):
        schedules.configured()


def test_it_refuses_a_briefing_time_the_settings_refuse(settings: Any) -> None:
    # One parser for both: HH:MM only, so a value refused at start-up is refused here too.
    settings.BRIEFING_TIME = "07:30:15"
    with pytest.raises(ValueError, match="HH:MM, 00:00 to 23:59"):
        schedules.configured()


def test_it_refuses_an_unknown_time_zone(settings: Any) -> None:
    settings.BRIEFING_TIME_ZONE = "Europe/Atlantis"
    with pytest.raises(ValueError, match="'Europe/Atlantis' is not a time zone"):
        schedules.configured()


@pytest.mark.django_db
def test_it_reanchors_the_briefing_to_the_local_time_after_a_run(paris: None) -> None:
    with time_machine.travel(datetime(2026, 3, 27, 12, 0, tzinfo=UTC), tick=False):
        schedules.ensure_schedules()
    due = datetime(2026, 3, 28, 6, 30, tzinfo=UTC)
    with (
        notify.using_backend(notify.MemoryBackend()),
        time_machine.travel(due + timedelta(seconds=20), tick=False),
    ):
        tasks.morning_briefing("07:30", "Europe/Paris", due.isoformat())
    # The next morning is summer time: 07:30 CEST is 05:30 UTC, not 06:30.
    assert briefing_schedule().next_run == datetime(2026, 3, 29, 5, 30, tzinfo=UTC)


@pytest.mark.django_db
def test_it_sends_the_scheduled_briefing_to_the_configured_urls(settings: Any) -> None:
    settings.NOTIFY_URLS = ["ntfy://founder-topic"]
    due = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)
    with (
        notify.using_backend(notify.MemoryBackend()) as memory,
        time_machine.travel(due + timedelta(seconds=20), tick=False),
    ):
        tasks.morning_briefing("07:30", "Europe/Paris", due.isoformat())
    assert [s.title for s in memory.sent] == ["FounderOps Morning briefing · Tuesday 10 March 2026"]


@pytest.mark.django_db
def test_it_records_a_scheduled_briefing_that_fails_to_deliver(settings: Any) -> None:
    settings.NOTIFY_URLS = ["ntfy://founder-topic"]
    due = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)
    with (
        notify.using_backend(notify.MemoryBackend(failing={"ntfy://founder-topic"})),
        time_machine.travel(due + timedelta(seconds=20), tick=False),
    ):
        outcome = tasks.morning_briefing("07:30", "Europe/Paris", due.isoformat())
    event = AuditEvent.objects.get(action=briefing.SENT)
    assert (outcome, event.outcome, event.subject_id) == (
        "failed",
        "failed",
        "morning:2026-03-10T07:30+01:00",
    )


@pytest.mark.django_db
def test_it_skips_a_briefing_that_is_half_a_day_late(settings: Any) -> None:
    settings.NOTIFY_URLS = ["ntfy://founder-topic"]
    due = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)
    with (
        notify.using_backend(notify.MemoryBackend()) as memory,
        time_machine.travel(due + timedelta(hours=13), tick=False),
    ):
        outcome = tasks.morning_briefing("07:30", "Europe/Paris", due.isoformat())
    assert (outcome, memory.sent) == ("stale", [])


@pytest.mark.django_db
@time_machine.travel(NOON_UTC, tick=False)
def test_it_deletes_expired_sessions_in_housekeeping() -> None:
    Session.objects.create(
        session_key="old", session_data="", expire_date=NOON_UTC - timedelta(hours=1)
    )
    Session.objects.create(
        session_key="live", session_data="", expire_date=NOON_UTC + timedelta(hours=1)
    )
    tasks.housekeeping("03:17", "Europe/Paris")
    assert list(Session.objects.values_list("session_key", flat=True)) == ["live"]
