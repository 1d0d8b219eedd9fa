"""The recurring jobs, kept as django-q2 Schedule rows and ensured at every start.

Wall-clock times belong to the founder's zone, not the server's. django-q2 advances a DAILY
schedule by 24 hours and corrects for DST only in its one cluster-wide zone, and its cron
type needs the optional croniter; so each run of a wall-clock job re-anchors its own
`next_run` to the next occurrence of its local time (`reanchor`), and every start does the
same for a schedule whose time or zone changed. A local time that a DST change skips
(02:30 on a spring-forward night) runs at the first instant after the gap; one that occurs
twice runs at the first.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django_q.models import Schedule

from founderops.core import clock
from founderops.reports import briefing

# The settings' parsers: a time is refused the same way at start-up and when scheduling.

BRIEFING = "morning-briefing"
HOUSEKEEPING = "housekeeping"
REVENUE_WATCH = "revenue-watch"
SCHEDULES_LOCK_KEY = 7_301_002


@dataclass(frozen=True)
class Daily:
    """A job run every day at `at` on the wall clock of `zone`."""

    name: str
    func: str
    at: time
    zone: ZoneInfo
    intended_date_kwarg: str | None = None

    @property
    def kwargs(self) -> dict[str, str]:
        # Stored on the row, so a run knows its own wall-clock time without settings.
        return {"at": self.at.strftime("%H:%M"), "zone": self.zone.key}


@dataclass(frozen=True)
class Every:
    """A job run every `minutes` minutes (django-q2's MINUTES schedule: no wall clock)."""

    name: str
    func: str
    minutes: int


# Jobs that run on an interval; each domain's periodic work is listed here.
def intervals() -> list[Every]:
    return [
        Every("retry-outbound-email", "founderops.channels.tasks.retry_outbound", 1),
        Every(
            "poll-mailboxes", "founderops.channels.tasks.poll_mailboxes", settings.IMAP_POLL_MINUTES
        ),
        Every("dispatch-notifications", "founderops.core.notifications.dispatch_notifications", 1),
        # Incidents: late pages, reminders until acknowledged, auto-resolve, runbook waits.
        Every("incidents-tick", "founderops.incidents.tasks.tick", 1),
        # Status-page e-mails the relay deferred (or whose sender died), tried again.
        Every("retry-status-notices", "founderops.incidents.subscribers.retry_notices", 5),
        # Monitoring: 5-minute and hourly rollups, then retention of points and results.
        Every("prune-metrics", "founderops.monitoring.metrics.prune_metrics", 5),
        # Revenue: Stripe events since the last one seen (gaps the webhooks left), then stubs.
        Every(
            "stripe-reconcile",
            "founderops.revenue.tasks.reconcile",
            settings.STRIPE_RECONCILE_MINUTES,
        ),
        # Revenue: dunning reminders and payment retries whose day has come.
        Every("dunning", "founderops.revenue.dunning.tick", 5),
    ]


def configured() -> list[Daily]:
    zone = briefing.configured_zone()
    return [
        Daily(
            BRIEFING,
            "founderops.worker.tasks.morning_briefing",
            clock.wall_time(settings.BRIEFING_TIME),
            zone,
            intended_date_kwarg="intended_date",
        ),
        # Deletes expired sessions and month-old failed job results.
        Daily(HOUSEKEEPING, "founderops.worker.tasks.housekeeping", time(3, 17), zone),
        # Revenue: yesterday's new MRR, failed payments and refunds against their baselines.
        Daily(REVENUE_WATCH, "founderops.revenue.watch.run_daily", time(5, 43), zone),
    ]


def next_local_time(after: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first instant strictly after `after` when the clock in `zone` shows `at` (UTC)."""
    day = after.astimezone(zone).date()
    for offset in (0, 1, 2):
        candidate = datetime.combine(day + timedelta(days=offset), at, tzinfo=zone)
        # Round-tripping through UTC moves a skipped wall time to just after the gap.
        instant = candidate.astimezone(UTC)
        if instant > after.astimezone(UTC):
            return instant
    raise AssertionError("unreachable: a day always has the time within two days")


def ensure_schedules(now: datetime | None = None) -> list[Schedule]:
    """Create or update every configured schedule; safe to run from many workers at once."""
    now = now or clock.now()
    with transaction.atomic():
        _serialize()
        daily = [_ensure(each, now) for each in configured()]
        return daily + [_ensure_every(each, now) for each in intervals()]


def _ensure_every(every: Every, now: datetime) -> Schedule:
    rows = list(Schedule.objects.filter(name=every.name).order_by("id"))
    for extra in rows[1:]:
        extra.delete()
    schedule = rows[0] if rows else Schedule(name=every.name)
    if (
        schedule.pk is not None
        and schedule.func == every.func
        and schedule.schedule_type == Schedule.MINUTES
        and schedule.minutes == every.minutes
    ):
        return schedule
    schedule.func = every.func
    schedule.schedule_type = Schedule.MINUTES
    schedule.minutes = every.minutes
    schedule.kwargs = "{}"
    schedule.repeats = -1
    schedule.next_run = now + timedelta(minutes=every.minutes)
    schedule.save()
    return schedule


def _ensure(daily: Daily, now: datetime) -> Schedule:
    rows = list(Schedule.objects.filter(name=daily.name).order_by("id"))
    for extra in rows[1:]:
        extra.delete()
    schedule = rows[0] if rows else Schedule(name=daily.name)
    unchanged = (
        schedule.pk is not None
        and schedule.func == daily.func
        and schedule.schedule_type == Schedule.DAILY
        and _stored_kwargs(schedule) == daily.kwargs
        and schedule.next_run is not None
    )
    if unchanged:
        # Keep next_run: a run missed while no worker was up still happens once.
        return schedule
    schedule.func = daily.func
    schedule.schedule_type = Schedule.DAILY
    schedule.kwargs = repr(daily.kwargs)
    schedule.repeats = -1
    schedule.intended_date_kwarg = daily.intended_date_kwarg
    schedule.next_run = next_local_time(now, daily.at, daily.zone)
    schedule.save()
    return schedule


def reanchor(name: str, at: str, zone: str, now: datetime | None = None) -> datetime:
    """Point a schedule's next run at the next `at` in `zone`; called by each run."""
    wall_time, wall_zone = clock.wall_time(at), clock.zone(zone)
    next_run = next_local_time(now or clock.now(), wall_time, wall_zone)
    Schedule.objects.filter(name=name).update(next_run=next_run)
    return next_run


def _stored_kwargs(schedule: Schedule) -> object:
    try:
        return ast.literal_eval(schedule.kwargs or "{}")
    except (SyntaxError, ValueError):
        return None


def _serialize() -> None:
    # Two workers starting together must not both create a row. SQLite's IMMEDIATE
    # transactions already queue writers; PostgreSQL gets a transaction-scoped lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEDULES_LOCK_KEY])
