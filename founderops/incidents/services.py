"""Every write to incidents: alerts in, incidents opened, correlated, noted and resolved.

Each function audits what it did. `fire` and `clear` are what detectors call (see alerts.py);
the cockpit and the agent call the rest.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from founderops.core import audit, clock
from founderops.incidents import priority
from founderops.incidents.alerts import Fired, Signal
from founderops.incidents.models import Alert, Component, Incident, TimelineEntry

ACTOR = "agent:monitoring"
# Alerts of one component that start this close together are one incident.
CORRELATION_WINDOW = timedelta(minutes=30)


def fire(signal: Signal) -> Fired:
    """Record a firing signal: bump its open alert, or add one to a (new or open) incident."""
    with transaction.atomic():
        existing = _firing(signal.fingerprint)
        if existing is not None:
            return _bump(existing, signal)
        try:
            with transaction.atomic():
                return _new_alert(signal)
        except IntegrityError:
            # Another worker fired the same fingerprint first: that alert is this one.
            firing = _firing(signal.fingerprint)
            assert firing is not None
            return _bump(firing, signal)


def clear(fingerprint: str, at: datetime) -> Alert | None:
    """The signal ended: resolve its alert (the incident stays open for the founder or agent)."""
    with transaction.atomic():
        alert = _firing(fingerprint, lock=True)
        if alert is None:
            return None
        alert.state, alert.resolved_at = Alert.State.RESOLVED, at
        alert.save(update_fields=["state", "resolved_at"])
        if alert.incident is not None:
            add_entry(alert.incident, TimelineEntry.Kind.ALERT, f"Recovered: {alert.title}", at)
    return alert


def add_entry(
    incident: Incident,
    kind: str,
    text: str,
    at: datetime | None = None,
    actor: str = ACTOR,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        incident=incident, at=at or clock.now(), kind=kind, actor=actor, text=text, data=data or {}
    )


def open_incidents() -> Any:
    return Incident.objects.exclude(state=Incident.State.RESOLVED)


def _firing(fingerprint: str, lock: bool = False) -> Alert | None:
    alerts = Alert.objects.filter(fingerprint=fingerprint, state=Alert.State.FIRING)
    if lock:
        alerts = alerts.select_for_update()
    return alerts.select_related("incident").first()


def _bump(alert: Alert, signal: Signal) -> Fired:
    Alert.objects.filter(pk=alert.pk).update(
        last_seen_at=signal.at, occurrences=alert.occurrences + 1, facts=_facts(signal)
    )
    alert.refresh_from_db()
    assert alert.incident is not None
    return Fired(alert, alert.incident, new_alert=False, new_incident=False)


def _new_alert(signal: Signal) -> Fired:
    component = Component.objects.filter(slug=signal.component).first()
    incident = _correlated(signal, component)
    new_incident = incident is None
    if incident is None:
        incident = _open(signal, component)
    alert = Alert.objects.create(
        fingerprint=signal.fingerprint,
        source=signal.source,
        cause=signal.cause,
        component=component,
        title=signal.title[:200],
        started_at=signal.began_at or signal.at,
        last_seen_at=signal.at,
        facts=_facts(signal),
        incident=incident,
    )
    if component is not None:
        incident.components.add(component)
    add_entry(incident, TimelineEntry.Kind.ALERT, signal.title, signal.at, data=signal.facts)
    if not new_incident:
        _reclassify(incident, signal.at)
    return Fired(alert, incident, new_alert=True, new_incident=new_incident)


def _facts(signal: Signal) -> dict[str, Any]:
    return {**signal.facts, "cause": signal.cause}


def _correlated(signal: Signal, component: Component | None) -> Incident | None:
    recent = open_incidents().filter(started_at__gte=signal.at - CORRELATION_WINDOW)
    if component is not None:
        recent = recent.filter(components=component)
    else:
        recent = recent.filter(cause=signal.cause, components__isnull=True)
    # of=self: PostgreSQL refuses FOR UPDATE on the nullable side of the outer join.
    found: Incident | None = recent.select_for_update(of=("self",)).order_by("started_at").first()
    return found


def _open(signal: Signal, component: Component | None) -> Incident:
    facts = _facts(signal) | {"critical": bool(component and component.critical)}
    level, reason = priority.classify([facts])
    began = signal.began_at or signal.at
    incident = Incident.objects.create(
        title=signal.title[:200],
        priority=level,
        priority_reason=reason,
        cause=signal.cause,
        started_at=began,
        detected_at=signal.at,
        respond_by=signal.at + priority.RESPOND_WITHIN[level],
    )
    audit.record(
        ACTOR,
        "incidents.opened",
        ("incident", incident.pk),
        details={"priority": level, "reason": reason, "fingerprint": signal.fingerprint},
    )
    return incident


def _reclassify(incident: Incident, at: datetime) -> None:
    """A new alert joined: the priority may only go up (the founder may lower it by hand)."""
    facts = [
        alert.facts | {"critical": bool(alert.component and alert.component.critical)}
        for alert in incident.alerts.select_related("component")
    ]
    level, reason = priority.classify(facts)
    if priority.higher(level, incident.priority) == incident.priority:
        return
    old = incident.priority
    incident.priority, incident.priority_reason = level, reason
    incident.respond_by = min(
        incident.respond_by or at, incident.detected_at + priority.RESPOND_WITHIN[level]
    )
    incident.save(update_fields=["priority", "priority_reason", "respond_by"])
    add_entry(incident, TimelineEntry.Kind.PRIORITY, f"Priority {old} → {level}: {reason}", at)
    audit.record(
        ACTOR, "incidents.priority_raised", ("incident", incident.pk), details={"to": level}
    )
