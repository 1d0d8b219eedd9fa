"""Service levels: uptime and error budget per component, incidents and response times.

The objective is 99.9 % uptime over a rolling 30 days, measured with the status page's rule
(statuspage.py: major outage down, partial outage 30 %, maintenance left out). The error
budget is the downtime the objective allows over the time actually measured (maintenance and
days before a component's first data are not measured, so they neither spend nor earn
budget): 43.2 minutes for a whole 30 days. The burn rate is the downtime share divided by the
allowed share: 1 spends the budget exactly over the period, 14.4 over the last 24 hours
would spend a month's budget in about two days (the fast-burn alert of Google's SRE workbook).

Response times come from the incident's own stamps: time to detect is detected - started,
to acknowledge acknowledged - detected, to resolve resolved - started; an incident counts
in a mean only once it has both stamps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from founderops.incidents import statuspage
from founderops.incidents.models import Component, Incident
from founderops.incidents.statuspage import Tally

TARGET = 0.999
BUDGET_DAYS = 30
BURN_WINDOW = timedelta(hours=24)
# Under this share of the budget left, the briefing and the cockpit warn.
WARN_REMAINING = 0.25
COUNT_DAYS = (30, 90)
RESPONSE_DAYS = 90


@dataclass(frozen=True)
class Budget:
    component: Component
    period: Tally
    recent: Tally
    target: float = TARGET

    @property
    def uptime(self) -> float | None:
        return self.period.uptime

    @property
    def budget_minutes(self) -> float:
        return (1 - self.target) * self.period.counted.total_seconds() / 60

    @property
    def used_minutes(self) -> float:
        return self.period.down_s / 60

    @property
    def remaining_minutes(self) -> float:
        return self.budget_minutes - self.used_minutes

    @property
    def remaining_share(self) -> float | None:
        """Share of the budget left (negative once overspent); None with nothing measured."""
        budget = self.budget_minutes
        return self.remaining_minutes / budget if budget > 0 else None

    @property
    def burn_rate(self) -> float | None:
        return burn(self.period, self.target)

    @property
    def recent_burn_rate(self) -> float | None:
        return burn(self.recent, self.target)

    @property
    def uptime_text(self) -> str:
        uptime = self.uptime
        return "no data" if uptime is None else statuspage.percent(uptime)

    @property
    def remaining_text(self) -> str:
        share = self.remaining_share
        return "—" if share is None else f"{share:.0%}"

    @property
    def burn_text(self) -> str:
        return rate_text(self.burn_rate)

    @property
    def recent_burn_text(self) -> str:
        return rate_text(self.recent_burn_rate)

    @property
    def warning(self) -> bool:
        share = self.remaining_share
        return share is not None and share < WARN_REMAINING


def rate_text(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1f}x"


def burn(span: Tally, target: float) -> float | None:
    """Downtime share over the allowed share (1 - target); None when nothing was measured."""
    uptime = span.uptime
    return None if uptime is None else (1 - uptime) / (1 - target)


def budgets(
    components: Sequence[Component], now: datetime, days: int = BUDGET_DAYS
) -> list[Budget]:
    since = min(now - timedelta(days=days), now - BURN_WINDOW)
    found = statuspage.histories(components, since)
    return [
        Budget(
            h.component,
            h.over(now - timedelta(days=days), now, now),
            h.over(now - BURN_WINDOW, now, now),
        )
        for h in found
    ]


def tracked_components() -> list[Component]:
    """Every component, public or not: the founder's objectives cover internal parts too."""
    return list(Component.objects.order_by("position", "name"))


# Incidents.

PRIORITIES = tuple(Incident.Priority.values)


def counts_by_priority(now: datetime, days: int) -> dict[str, int]:
    """Incidents that started in the last `days`, per priority (every priority present)."""
    since = now - timedelta(days=days)
    found = dict.fromkeys(PRIORITIES, 0)
    for priority in Incident.objects.filter(started_at__gte=since, started_at__lte=now).values_list(
        "priority", flat=True
    ):
        found[priority] = found.get(priority, 0) + 1
    return found


@dataclass(frozen=True)
class Mean:
    value: timedelta | None
    count: int

    @property
    def text(self) -> str:
        return "—" if self.value is None else statuspage.duration(self.value)


@dataclass(frozen=True)
class Response:
    """Mean times to detect, acknowledge and resolve, for one priority (or all: "all")."""

    priority: str
    incidents: int
    mttd: Mean
    mtta: Mean
    mttr: Mean


Stamps = tuple[datetime, datetime, datetime | None, datetime | None]


def responses(now: datetime, days: int = RESPONSE_DAYS) -> list[Response]:
    """Per priority, then all together, over incidents started in the last `days`."""
    since = now - timedelta(days=days)
    rows: list[tuple[str, Stamps]] = [
        (priority, (started, detected, acknowledged, resolved))
        for priority, started, detected, acknowledged, resolved in Incident.objects.filter(
            started_at__gte=since, started_at__lte=now
        ).values_list("priority", "started_at", "detected_at", "acknowledged_at", "resolved_at")
    ]
    found = [response(p, [s for q, s in rows if q == p]) for p in PRIORITIES]
    return [*found, response("all", [s for _, s in rows])]


def response(priority: str, stamps: list[Stamps]) -> Response:
    return Response(
        priority,
        len(stamps),
        mean([detected - started for started, detected, _, _ in stamps]),
        mean([ack - detected for _, detected, ack, _ in stamps if ack is not None]),
        mean([resolved - started for started, _, _, resolved in stamps if resolved is not None]),
    )


def mean(spans: list[timedelta]) -> Mean:
    if not spans:
        return Mean(None, 0)
    # A clock skew can stamp detection before the start; it counts as zero, not negative.
    total = sum((max(span, timedelta(0)) for span in spans), timedelta(0))
    return Mean(total / len(spans), len(spans))
