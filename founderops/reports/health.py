"""The "System health" section of the briefings: incidents, uptime, budgets, maintenance.

Everything is measured at the window's end or over the window, so a briefing rebuilt later
says what was true then: incidents open at its end (with their age then), incidents that
started in it, each component's uptime over it (the status page's rule), the components
with under a quarter of their 30-day error budget left, maintenance in the next week, and
heartbeat monitors that missed a ping in it.

An open incident's state and acknowledgement are those at the window's end (its state from
the audited state changes before it; a return to investigating when alerts fire again is not
audited, so an incident back from monitoring may show as monitoring), and a heartbeat counts
as down at the end from its last check before the end, not from its state now. Maintenance
windows have no creation time: one planned after the briefing is listed as if known.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import OuterRef, Q, Subquery

from founderops.core import clock
from founderops.core.models import AuditEvent
from founderops.incidents import slo, statuspage
from founderops.incidents.models import Incident
from founderops.monitoring.models import CheckResult, MaintenanceWindow, Monitor
from founderops.reports.support import LIVE_SLACK, duration

if TYPE_CHECKING:
    from founderops.reports.briefing import Window

MAINTENANCE_AHEAD = timedelta(days=7)
STATE_CHANGED = "incidents.state_changed"
SHOWN = 10


@dataclass(frozen=True)
class Health:
    open_incidents: list[Incident]
    started: dict[str, int]
    # Started in the window and over by its end (open ones are listed with the open).
    resolved: list[Incident]
    uptime: list[tuple[str, float | None]]
    low_budgets: list[slo.Budget]
    maintenance: list[MaintenanceWindow]
    missed: list[Monitor]


def summarize(window: Window) -> Health:
    end = window.end
    components = slo.tracked_components()
    histories = statuspage.histories(components, window.start)
    return Health(
        open_incidents=open_at(end),
        started=started_in(window.start, end),
        resolved=resolved_in(window.start, end),
        uptime=[(h.component.name, h.over(window.start, end, end).uptime) for h in histories],
        low_budgets=[b for b in slo.budgets(components, end) if b.warning],
        maintenance=maintenance_ahead(end),
        missed=missed_heartbeats(window.start, end),
    )


def open_at(moment: datetime) -> list[Incident]:
    """Incidents open at `moment`, with their state and acknowledgement as they were then."""
    still_open = Q(resolved_at__isnull=True) | Q(resolved_at__gt=moment)
    found = list(
        Incident.objects.filter(still_open, started_at__lte=moment).order_by(
            "priority", "started_at", "pk"
        )
    )
    states = states_at(found, moment)
    for incident in found:
        incident.state = states.get(incident.pk, incident.state)
        if incident.acknowledged_at is not None and incident.acknowledged_at > moment:
            incident.acknowledged_at = None
    return found


def states_at(incidents: list[Incident], moment: datetime) -> dict[int, str]:
    """The state of each incident at `moment`: the last audited change before it; the state an
    incident opens in when its changes all came later; as it stands when it never changed."""
    changes = AuditEvent.objects.filter(
        action=STATE_CHANGED,
        subject_type="incident",
        subject_id__in=[str(incident.pk) for incident in incidents],
    ).order_by("created_at", "pk")
    out: dict[int, str] = {}
    for incident in incidents:
        if incident.resolved_at is not None or incident.state == Incident.State.RESOLVED:
            out[incident.pk] = Incident.State.INVESTIGATING
    for subject, at, outcome in changes.values_list("subject_id", "created_at", "outcome"):
        if at <= moment:
            out[int(subject)] = outcome
        else:
            out.setdefault(int(subject), Incident.State.INVESTIGATING)
    return out


def started_in(start: datetime, end: datetime) -> dict[str, int]:
    counts = dict.fromkeys(slo.PRIORITIES, 0)
    for priority in Incident.objects.filter(started_at__gte=start, started_at__lt=end).values_list(
        "priority", flat=True
    ):
        counts[priority] = counts.get(priority, 0) + 1
    return counts


def resolved_in(start: datetime, end: datetime) -> list[Incident]:
    found = Incident.objects.filter(started_at__gte=start, started_at__lt=end, resolved_at__lte=end)
    return list(found.order_by("priority", "started_at", "pk")[:SHOWN])


def maintenance_ahead(moment: datetime) -> list[MaintenanceWindow]:
    windows = MaintenanceWindow.objects.filter(
        ends_at__gt=moment, starts_at__lt=moment + MAINTENANCE_AHEAD
    )
    return list(windows.order_by("starts_at")[:SHOWN])


def missed_heartbeats(start: datetime, end: datetime) -> list[Monitor]:
    """Heartbeat monitors with a failed check in [start, end), or down at its end: down now
    for a window ending now; for a past one, down since before its end or failing its last
    check before the end (a state now says nothing of then)."""
    failed = CheckResult.objects.filter(
        monitor__kind=Monitor.Kind.HEARTBEAT,
        outcome=CheckResult.Outcome.DOWN,
        at__gte=start,
        at__lt=end,
    ).values("monitor_id")
    heartbeats = Monitor.objects.filter(kind=Monitor.Kind.HEARTBEAT)
    down = Q(state=Monitor.State.DOWN)
    if end < clock.now() - LIVE_SLACK:
        last = CheckResult.objects.filter(monitor=OuterRef("pk"), at__lt=end).order_by("-at", "-pk")
        heartbeats = heartbeats.annotate(last_outcome=Subquery(last.values("outcome")[:1]))
        down = Q(state=Monitor.State.DOWN, state_since__lte=end) | Q(
            last_outcome=CheckResult.Outcome.DOWN
        )
    found = heartbeats.filter(Q(pk__in=failed) | down)
    return list(found.order_by("name")[:SHOWN])


def render(window: Window) -> str:
    return to_markdown(summarize(window), window)


def to_markdown(h: Health, window: Window) -> str:
    lines = [*open_markdown(h.open_incidents, window.end)]
    started = ", ".join(f"{p} {n}" for p, n in h.started.items() if n) or "none"
    lines.append(f"- **Incidents started:** {started}")
    lines += resolved_markdown(h.resolved)
    lines.append(f"- **Uptime:** {uptime_markdown(h.uptime)}")
    lines += budget_markdown(h.low_budgets)
    lines += maintenance_markdown(h.maintenance, window)
    if h.missed:
        names = ", ".join(f"`{m.name}`" for m in h.missed)
        lines.append(f"- **Heartbeats missed:** {names}")
    return "\n".join(lines)


def open_markdown(incidents: list[Incident], end: datetime) -> list[str]:
    if not incidents:
        return ["- **Open incidents:** none"]
    lines = [f"- **Open incidents:** {len(incidents)}"]
    for incident in incidents[:SHOWN]:
        age = duration((end - incident.started_at).total_seconds())
        acknowledged = "" if incident.acknowledged_at else ", not acknowledged"
        lines.append(
            f"  - **{incident.priority}** {incident.title} — open {age}"
            f" ({incident.get_state_display().lower()}{acknowledged})"
        )
    return lines


def resolved_markdown(incidents: list[Incident]) -> list[str]:
    lines = []
    for incident in incidents:
        assert incident.resolved_at is not None
        lasted = duration((incident.resolved_at - incident.started_at).total_seconds())
        lines.append(f"  - **{incident.priority}** {incident.title} — resolved after {lasted}")
    return lines


def uptime_markdown(uptimes: list[tuple[str, float | None]]) -> str:
    if not uptimes:
        return "no components yet"
    return ", ".join(
        f"{name} {'no data' if up is None else statuspage.percent(up)}" for name, up in uptimes
    )


def budget_markdown(budgets: list[slo.Budget]) -> list[str]:
    if not budgets:
        return []
    target = statuspage.percent(slo.TARGET)
    items = "; ".join(
        f"{b.component.name} {b.remaining_text} left ({b.used_minutes:.0f} of"
        f" {b.budget_minutes:.0f} min used)"
        for b in budgets
    )
    return [f"- **Error budget under {slo.WARN_REMAINING:.0%} ({target}, 30 days):** {items}"]


def maintenance_markdown(windows: list[MaintenanceWindow], window: Window) -> list[str]:
    if not windows:
        return []
    items = "; ".join(
        f"{w.title} {w.starts_at.astimezone(window.zone):%a %d %b %H:%M}"
        f" to {w.ends_at.astimezone(window.zone):%H:%M}"
        for w in windows
    )
    return [f"- **Maintenance ahead:** {items}"]
