"""What the public status page shows: the overall state, uptime per component and day, incidents.

Uptime is computed exactly from the intervals between a component's status changes
(ComponentStatusChange), the rule Atlassian Statuspage uses for its 90-day bars (and Instatus
documents in the same terms): a major outage is downtime, a partial outage counts 30 % of its
duration (it hurts some users, not all), degraded performance is up, and time under
maintenance is left out of the denominator. Time before a component's first recorded status
(and after now) is "no data", never 100 %.

Days are the founder's days (midnight to midnight in their zone, so 23 or 25 hours on a DST
change); the zone is a parameter because incidents sit below reports, which owns the setting.
Customers only ever see what was published: incidents marked public with at least one
published update, and those updates — never a draft.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery

from founderops.incidents.models import Component, ComponentStatusChange, Incident, StatusUpdate

Status = Component.Status
# Share of an interval that counts as downtime, by status (absent: up).
DOWN_WEIGHT = {Status.MAJOR_OUTAGE.value: 1.0, Status.PARTIAL_OUTAGE.value: 0.3}
HISTORY_DAYS = 90
PAST_INCIDENT_DAYS = 14
# Worst first: the overall banner is the worst status of any public component.
SEVERITY = (
    Status.MAJOR_OUTAGE,
    Status.PARTIAL_OUTAGE,
    Status.DEGRADED,
    Status.MAINTENANCE,
    Status.OPERATIONAL,
)
BANNERS = {
    Status.MAJOR_OUTAGE: ("outage", "Major outage"),
    Status.PARTIAL_OUTAGE: ("outage", "Partial outage"),
    Status.DEGRADED: ("degraded", "Degraded performance"),
    Status.MAINTENANCE: ("maintenance", "Under maintenance"),
    Status.OPERATIONAL: ("operational", "All systems operational"),
}


@dataclass(frozen=True)
class Change:
    at: datetime
    status: str


@dataclass(frozen=True)
class Tally:
    """A span of time split by what it counts as; the four parts add up to the span."""

    counted: timedelta = timedelta(0)  # known status, not maintenance: the denominator
    down_s: float = 0.0  # weighted downtime, seconds (a part of `counted`)
    maintenance: timedelta = timedelta(0)
    unknown: timedelta = timedelta(0)  # before the first data, or not yet happened

    @property
    def uptime(self) -> float | None:
        seconds = self.counted.total_seconds()
        return None if seconds <= 0 else max(0.0, 1.0 - self.down_s / seconds)

    @property
    def total(self) -> timedelta:
        return self.counted + self.maintenance + self.unknown

    def plus(self, other: Tally) -> Tally:
        return Tally(
            self.counted + other.counted,
            self.down_s + other.down_s,
            self.maintenance + other.maintenance,
            self.unknown + other.unknown,
        )


def interval(status: str | None, length: timedelta) -> Tally:
    """One interval in a single status, as a tally (None: no data)."""
    if status is None:
        return Tally(unknown=length)
    if status == Status.MAINTENANCE:
        return Tally(maintenance=length)
    return Tally(counted=length, down_s=length.total_seconds() * DOWN_WEIGHT.get(status, 0.0))


def tally(
    initial: str | None, changes: Iterable[Change], start: datetime, end: datetime, until: datetime
) -> Tally:
    """Split [start, end) by status: `initial` holds at `start`, then each change in turn.

    Changes outside [start, end) are ignored; time from `until` (now) on is unknown.
    """
    result, cursor, status = Tally(), start, initial
    for change in sorted((c for c in changes if start <= c.at < end), key=lambda c: c.at):
        result = result.plus(_clipped(status, cursor, change.at, until))
        cursor, status = change.at, change.status
    return result.plus(_clipped(status, cursor, end, until))


def _clipped(status: str | None, start: datetime, end: datetime, until: datetime) -> Tally:
    known_end = max(start, min(end, until))
    return interval(status, known_end - start).plus(Tally(unknown=end - known_end))


def day_span(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Midnight to midnight on the founder's wall clock, in UTC."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def last_days(now: datetime, zone: ZoneInfo, count: int) -> list[date]:
    today = now.astimezone(zone).date()
    return [today - timedelta(days=back) for back in range(count - 1, -1, -1)]


# The history of each component, read in three queries whatever the number of days.


@dataclass
class History:
    """A component's status at `start` and its changes after, up to now."""

    component: Component
    initial: str | None
    changes: list[Change] = field(default_factory=list)

    def over(self, start: datetime, end: datetime, until: datetime) -> Tally:
        before = [c for c in self.changes if c.at < start]
        status = before[-1].status if before else self.initial
        return tally(status, self.changes, start, end, until)


def histories(components: Sequence[Component], since: datetime) -> list[History]:
    """Each component's history from `since` (its status then, and every change since)."""
    at_start = ComponentStatusChange.objects.filter(component=OuterRef("pk"), at__lt=since)
    first = ComponentStatusChange.objects.filter(component=OuterRef("pk")).order_by("at", "pk")
    annotated = Component.objects.filter(pk__in=[c.pk for c in components]).annotate(
        initial=Subquery(at_start.order_by("-at", "-pk").values("status")[:1]),
        first_at=Subquery(first.values("at")[:1]),
    )
    known = {row.pk: row for row in annotated}
    changes: dict[int, list[Change]] = defaultdict(list)
    rows = ComponentStatusChange.objects.filter(component__in=components, at__gte=since)
    for component_id, at, status in rows.order_by("at", "pk").values_list(
        "component_id", "at", "status"
    ):
        changes[component_id].append(Change(at, status))
    return [_history(c, known[c.pk], changes[c.pk]) for c in components]


def _history(component: Component, row: Component, changes: list[Change]) -> History:
    initial: str | None = getattr(row, "initial", None)
    if getattr(row, "first_at", None) is None and component.status_since is not None:
        # No change recorded at all: the current status, held since `status_since`.
        changes = [Change(component.status_since, component.status)]
    return History(component, initial, changes)


# Incidents as customers see them.


def published_updates() -> QuerySet[StatusUpdate]:
    return StatusUpdate.objects.filter(
        state=StatusUpdate.State.PUBLISHED, published_at__isnull=False
    ).order_by("-published_at", "-pk")


def public_incidents() -> QuerySet[Incident]:
    """Public incidents with something published, their published updates prefetched."""
    published = published_updates().filter(incident=OuterRef("pk"))
    return (
        Incident.objects.filter(public=True)
        .filter(Exists(published))
        .prefetch_related(
            Prefetch("updates", queryset=published_updates(), to_attr="published"),
            Prefetch("components", queryset=Component.objects.filter(public=True)),
        )
    )


def published_of(incident: Incident) -> list[StatusUpdate]:
    """The published updates prefetched by `public_incidents`, newest first."""
    found: list[StatusUpdate] = getattr(incident, "published", [])
    return found


def active_incidents() -> list[Incident]:
    return list(public_incidents().exclude(state=Incident.State.RESOLVED).order_by("-started_at"))


def past_incidents(now: datetime, days: int = PAST_INCIDENT_DAYS) -> list[Incident]:
    resolved = public_incidents().filter(
        state=Incident.State.RESOLVED, resolved_at__gte=now - timedelta(days=days)
    )
    return list(resolved.order_by("-resolved_at", "-pk"))


def overlapping(start: datetime, end: datetime) -> QuerySet[Incident]:
    """Public incidents that were open at some time in [start, end)."""
    still_open = Q(resolved_at__isnull=True) | Q(resolved_at__gt=start)
    return public_incidents().filter(still_open, started_at__lt=end)


# The page.


@dataclass(frozen=True)
class Cell:
    """One day of one component's bar."""

    day: date
    tally: Tally
    incidents: tuple[str, ...] = ()

    @property
    def uptime(self) -> float | None:
        return self.tally.uptime

    @property
    def level(self) -> str:
        """The colour: nodata, up (100 %), minor (≥ 99 %), major (≥ 95 %) or down."""
        uptime = self.uptime
        if uptime is None:
            return "nodata"
        if uptime >= 1.0:
            return "up"
        return "minor" if uptime >= 0.99 else "major" if uptime >= 0.95 else "down"

    @property
    def label(self) -> str:
        uptime = self.uptime
        text = f"{self.day:%a %d %b %Y}: "
        text += "no data" if uptime is None else f"{percent(uptime)} uptime"
        if self.tally.maintenance:
            text += f", {duration(self.tally.maintenance)} maintenance"
        if self.incidents:
            text += "; " + "; ".join(self.incidents)
        return text


@dataclass(frozen=True)
class Row:
    component: Component
    cells: list[Cell]
    overall: Tally

    @property
    def uptime(self) -> float | None:
        return self.overall.uptime

    @property
    def uptime_text(self) -> str:
        uptime = self.uptime
        return "no data" if uptime is None else percent(uptime)


def rows(
    components: Sequence[Component], now: datetime, zone: ZoneInfo, days: int = HISTORY_DAYS
) -> list[Row]:
    """One row per component: a cell per day of the last `days` (today so far included)."""
    dates = last_days(now, zone, days)
    spans = [day_span(day, zone) for day in dates]
    found = histories(components, spans[0][0])
    by_day = _incidents_by_day(spans, dates, now)
    return [_row(history, dates, spans, now, by_day) for history in found]


def _row(
    history: History,
    dates: list[date],
    spans: list[tuple[datetime, datetime]],
    now: datetime,
    by_day: dict[tuple[int, date], list[str]],
) -> Row:
    cells = []
    for day, (start, end) in zip(dates, spans, strict=True):
        titles = tuple(by_day.get((history.component.pk, day), ()))
        cells.append(Cell(day, history.over(start, end, now), titles))
    overall = Tally()
    for cell in cells:
        overall = overall.plus(cell.tally)
    return Row(history.component, cells, overall)


def _incidents_by_day(
    spans: list[tuple[datetime, datetime]], dates: list[date], now: datetime
) -> dict[tuple[int, date], list[str]]:
    found: dict[tuple[int, date], list[str]] = defaultdict(list)
    for incident in overlapping(spans[0][0], spans[-1][1]):
        ended = incident.resolved_at or now
        for day, (start, end) in zip(dates, spans, strict=True):
            if incident.started_at < end and ended > start:
                for component in incident.components.all():
                    found[(component.pk, day)].append(incident.title)
    return found


def public_components() -> list[Component]:
    return list(Component.objects.filter(public=True).order_by("position", "name"))


def banner(components: Sequence[Component]) -> tuple[str, str]:
    """(tone, words) for the worst current status among `components`."""
    statuses = {c.status for c in components}
    worst = next((s for s in SEVERITY if s in statuses), Status.OPERATIONAL)
    return BANNERS[worst]


def percent(share: float) -> str:
    """An uptime share as the page writes it: 100 %, 99.95 %, 87.5 % (never rounded up to 100)."""
    if share >= 1.0:
        return "100%"
    text = f"{int(share * 10000) / 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def duration(span: timedelta) -> str:
    """A span in words: 45 s, 12 min, 3 h, 1 h 5 min."""
    seconds = span.total_seconds()
    if seconds < 60:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"
