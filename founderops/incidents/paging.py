"""Paging the founder: one page per incident, then only updates, and reminders until acknowledged.

The page carries the context and the agent's plan (the Monitoring Agent pages once it has
them; the incidents tick pages an incident the agent has not answered within
`PAGE_FALLBACK`, so a crashed agent never means silence). After that the founder hears only
what changed: the priority went up, a runbook finished or failed, the incident resolved.
Until someone acknowledges, the page is repeated at the priority's interval. Every message
goes through the notifications outbox with a stable key, so a job that runs twice sends once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.urls import NoReverseMatch, reverse

from founderops.core import audit, clock, notifications
from founderops.core.models import Notification
from founderops.incidents.models import Component, Incident, TimelineEntry

ACTOR = "agent:monitoring"
# Repeat the page this often until acknowledged (P3 is never repeated).
RENOTIFY_EVERY: dict[str, timedelta | None] = {
    "P0": timedelta(minutes=5),
    "P1": timedelta(minutes=15),
    "P2": timedelta(minutes=60),
    "P3": None,
}
# Urgent notifications pass quiet hours on routes that let urgent events through.
URGENT = frozenset({"P0", "P1"})
# The agent normally pages within seconds; past this the tick pages without its plan.
PAGE_FALLBACK = timedelta(minutes=2)


def incident_link(incident: Incident) -> str:
    try:
        return reverse("web:incident", args=[incident.pk])
    except NoReverseMatch:
        # The cockpit's URLs are not loaded (a command without the web app): no link.
        return ""


def mute_reason(incident: Incident) -> str:
    """Why this incident pages no one: its own reason, or every component in maintenance."""
    if incident.muted_reason:
        return incident.muted_reason
    statuses = list(incident.components.values_list("status", flat=True))
    if statuses and all(s == Component.Status.MAINTENANCE for s in statuses):
        return "every affected component is under maintenance"
    return ""


def mute(incident: Incident, reason: str, actor: str = ACTOR) -> None:
    """No page and no reminders for this incident (it opened inside a maintenance window)."""
    Incident.objects.filter(pk=incident.pk).update(muted_reason=reason[:300], respond_by=None)
    incident.refresh_from_db()
    _entry(incident, f"Not paging: {reason}", actor)
    audit.record(actor, "incidents.muted", ("incident", incident.pk), details={"reason": reason})


def page(incident: Incident, context: str = "", at: datetime | None = None) -> Notification | None:
    """The one page for the incident; None when it was already paged or is muted."""
    at = at or clock.now()
    with transaction.atomic():
        reason = mute_reason(incident)
        if reason:
            if not incident.muted_reason:
                mute(incident, reason)
            return None
        # The claim: only one caller (the agent or the tick's fallback) pages.
        claimed = Incident.objects.filter(pk=incident.pk, last_notified_at__isnull=True).update(
            last_notified_at=at, notifications_sent=F("notifications_sent") + 1
        )
        if not claimed:
            return None
        incident.refresh_from_db()
        urgent = incident.priority in URGENT
        sent = notifications.publish(
            notifications.INCIDENT,
            f"{incident.priority} incident: {incident.title}",
            page_body(incident, context),
            link=incident_link(incident),
            urgent=urgent,
            key=f"incident:{incident.pk}:page",
        )
        _entry(incident, f"Founder paged{' (urgent)' if urgent else ''}", ACTOR, at)
        audit.record(
            ACTOR,
            "incidents.paged",
            ("incident", incident.pk),
            outcome="urgent" if urgent else "normal",
            details={"notification": sent.pk, "priority": incident.priority},
        )
    return sent


def page_body(incident: Incident, context: str) -> str:
    components = ", ".join(incident.components.values_list("name", flat=True)) or "unknown"
    lines = [
        f"Priority {incident.priority}: {incident.priority_reason}",
        f"Affects: {components}",
        f"Began {incident.started_at:%Y-%m-%d %H:%M:%S} UTC, "
        f"detected {incident.detected_at:%H:%M:%S} UTC",
    ]
    if incident.respond_by is not None:
        lines.append(f"Acknowledge by {incident.respond_by:%H:%M} UTC")
    if context.strip():
        lines += ["", context.strip()]
    if incident.plan.strip():
        lines += ["", "Recommended plan:", incident.plan.strip()]
    return "\n".join(lines)


def update(
    incident: Incident, key: str, title: str, body: str, urgent: bool | None = None
) -> Notification | None:
    """An update to an incident already paged (priority raised, runbook result, resolved).

    Before the page there is nothing to update (the page will say it); a muted incident
    stays silent. `key` names the update, so the same update is sent once.
    """
    incident.refresh_from_db(fields=["last_notified_at", "muted_reason", "priority"])
    if incident.last_notified_at is None or incident.muted_reason:
        return None
    full_key = f"incident:{incident.pk}:{key}"
    if (known := Notification.objects.filter(key=full_key).first()) is not None:
        return known
    at = clock.now()
    with transaction.atomic():
        sent = notifications.publish(
            notifications.INCIDENT,
            f"{incident.priority} update: {title}",
            body,
            link=incident_link(incident),
            urgent=incident.priority in URGENT if urgent is None else urgent,
            key=full_key,
        )
        Incident.objects.filter(pk=incident.pk).update(
            last_notified_at=at, notifications_sent=F("notifications_sent") + 1
        )
        _entry(incident, f"Founder told: {title}", ACTOR, at)
    return sent


def renotify_due(now: datetime | None = None) -> int:
    """Repeat the page of every unacknowledged incident whose interval has passed."""
    now = now or clock.now()
    sent = 0
    waiting = Incident.objects.exclude(state=Incident.State.RESOLVED).filter(
        acknowledged_at__isnull=True, last_notified_at__isnull=False, muted_reason=""
    )
    for incident in waiting:
        interval = RENOTIFY_EVERY.get(incident.priority)
        last = incident.last_notified_at
        if interval is None or last is None or now - last < interval:
            continue
        sent += _remind(incident, last, now)
    return sent


def _remind(incident: Incident, last: datetime, now: datetime) -> int:
    with transaction.atomic():
        # Claimed on the old timestamp: two ticks at once remind once.
        claimed = Incident.objects.filter(pk=incident.pk, last_notified_at=last).update(
            last_notified_at=now, notifications_sent=F("notifications_sent") + 1
        )
        if not claimed:
            return 0
        waited = int((now - incident.detected_at).total_seconds() // 60)
        notifications.publish(
            notifications.INCIDENT,
            f"{incident.priority} still unacknowledged: {incident.title}",
            f"Open for {waited} min and not acknowledged yet.\n\n" + page_body(incident, ""),
            link=incident_link(incident),
            urgent=incident.priority in URGENT,
            key=f"incident:{incident.pk}:reminder:{now:%Y%m%d%H%M%S}",
        )
        _entry(incident, f"Reminder sent: not acknowledged after {waited} min", ACTOR, now)
        audit.record(ACTOR, "incidents.reminded", ("incident", incident.pk))
    return 1


def page_unpaged(now: datetime | None = None) -> int:
    """The fallback: page open incidents the agent has not paged within PAGE_FALLBACK."""
    now = now or clock.now()
    late = Incident.objects.exclude(state=Incident.State.RESOLVED).filter(
        last_notified_at__isnull=True, muted_reason="", detected_at__lte=now - PAGE_FALLBACK
    )
    paged = 0
    for incident in late:
        note = "The Monitoring Agent has not answered yet: no diagnostics or plan so far."
        paged += page(incident, note, now) is not None
    return paged


def _entry(incident: Incident, text: str, actor: str, at: datetime | None = None) -> None:
    TimelineEntry.objects.create(
        incident=incident,
        at=at or clock.now(),
        kind=TimelineEntry.Kind.MESSAGE,
        actor=actor,
        text=text,
    )
