"""Every write to incidents: alerts in, incidents opened, correlated, noted and resolved.

Each function audits what it did. `fire` and `clear` are what detectors call (see alerts.py);
the cockpit and the agent call the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.urls import NoReverseMatch, reverse

from founderops.ai import approvals, policy
from founderops.ai.models import Approval
from founderops.core import audit, clock, jobs
from founderops.core.errors import InvalidInput
from founderops.incidents import paging, postmortem, priority
from founderops.incidents.alerts import Fired, Signal
from founderops.incidents.models import (
    Alert,
    Component,
    ComponentStatusChange,
    Incident,
    StatusUpdate,
    TimelineEntry,
)

ACTOR = "agent:monitoring"
AGENT = "monitoring"
# The Monitoring Agent's actions under the autonomy policy (registered in apps.py).
RUNBOOK_HTTP = "runbook_http"
RUNBOOK_SHELL = "runbook_shell"
STATUS_UPDATE = "status_update"
ANNOUNCE_JOB = "founderops.incidents.subscribers.announce"
# Alerts of one component that start this close together are one incident.
CORRELATION_WINDOW = timedelta(minutes=30)
Status = Component.Status
# Worst last: a component shows the worst status any open incident gives it.
SEVERITY = (Status.OPERATIONAL, Status.DEGRADED, Status.PARTIAL_OUTAGE, Status.MAJOR_OUTAGE)


def fire(signal: Signal) -> Fired:
    """Record a firing signal: bump its open alert, or add one to a (new or open) incident."""
    with transaction.atomic():
        existing = _firing(signal.fingerprint)
        if existing is not None:
            return _bump(existing, signal)
        try:
            with transaction.atomic():
                fired = _new_alert(signal)
            sync_components(fired.incident, signal.at)
            return fired
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
            sync_components(alert.incident, at)
            if alerts_clear(alert.incident):
                _watch_recovery(alert.incident, at)
    return alert


def _watch_recovery(incident: Incident, at: datetime) -> None:
    """Every alert cleared: the service works again, but the incident stays open a while
    (auto-resolve) in *monitoring*, as status pages say "a fix is in place, watching"."""
    claimed = Incident.objects.filter(
        pk=incident.pk, state__in=[Incident.State.INVESTIGATING, Incident.State.IDENTIFIED]
    ).update(state=Incident.State.MONITORING)
    if not claimed:
        return
    incident.state = Incident.State.MONITORING
    add_entry(incident, TimelineEntry.Kind.ACTION, "Every alert cleared: monitoring", at)
    audit.record(ACTOR, "incidents.state_changed", ("incident", incident.pk), outcome="monitoring")
    offer_update(
        incident,
        Incident.State.MONITORING,
        f"A fix is in place and {_affected_phrase(incident)} working again. We are "
        "watching it closely before we close this incident.",
    )


def _back_to_investigating(incident: Incident, at: datetime) -> None:
    """A new alert joined an incident that looked over: it is not."""
    claimed = Incident.objects.filter(pk=incident.pk, state=Incident.State.MONITORING).update(
        state=Incident.State.INVESTIGATING
    )
    if claimed:
        incident.state = Incident.State.INVESTIGATING
        add_entry(incident, TimelineEntry.Kind.ACTION, "Failing again: investigating", at)


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


def open_incidents() -> QuerySet[Incident]:
    return Incident.objects.exclude(state=Incident.State.RESOLVED)


def _firing(fingerprint: str, lock: bool = False) -> Alert | None:
    alerts = Alert.objects.filter(fingerprint=fingerprint, state=Alert.State.FIRING)
    if lock:
        # of=self: PostgreSQL refuses FOR UPDATE on the nullable side of the outer join.
        alerts = alerts.select_for_update(of=("self",))
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
        _back_to_investigating(incident, signal.at)
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
    paging.update(
        incident, f"priority:{level}", f"priority raised to {level}", f"{old} → {level}: {reason}"
    )


# The lifecycle: the founder (or the agent) acknowledges, moves, resolves, merges, notes.


def actor_of(user: AbstractBaseUser) -> str:
    return f"user:{user.get_username()}"


def acknowledge(incident: Incident, user: AbstractBaseUser) -> Incident:
    """Someone is on it: the reminders stop. Acknowledging twice changes nothing."""
    at = clock.now()
    with transaction.atomic():
        claimed = Incident.objects.filter(pk=incident.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=at, acknowledged_by=user
        )
        incident.refresh_from_db()
        if not claimed:
            return incident
        minutes = (at - incident.detected_at).total_seconds() / 60
        add_entry(
            incident,
            TimelineEntry.Kind.ACTION,
            f"Acknowledged by {user.get_username()} after {minutes:.0f} min",
            at,
            actor_of(user),
        )
        audit.record(actor_of(user), "incidents.acknowledged", ("incident", incident.pk))
    return incident


def set_state(incident: Incident, state: str, actor: str, note: str = "") -> Incident:
    """Investigating, identified or monitoring; resolved goes through `resolve`."""
    if state == Incident.State.RESOLVED:
        return resolve(incident, actor, note)
    if state not in Incident.State.values:
        raise InvalidInput(f"unknown state {state!r}; use {', '.join(Incident.State.values)}")
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.state == Incident.State.RESOLVED:
            raise InvalidInput("this incident is resolved; a new failure opens a new incident")
        if incident.state == state:
            return incident
        before = incident.state
        incident.state = state
        incident.save(update_fields=["state"])
        text = f"State {before} → {state}" + (f": {note.strip()}" if note.strip() else "")
        add_entry(incident, TimelineEntry.Kind.ACTION, text, actor=actor)
        audit.record(
            actor,
            "incidents.state_changed",
            ("incident", incident.pk),
            outcome=state,
            details={"before": before, "note": note.strip()},
        )
    return incident


def resolve(
    incident: Incident,
    actor: str,
    note: str = "",
    auto: bool = False,
    at: datetime | None = None,
) -> Incident:
    """Close the incident: its firing alerts end, components recover, the post-mortem is drafted.

    A failure that goes on after this opens a new incident (its alert is closed here)."""
    at = at or clock.now()
    with transaction.atomic():
        claimed = (
            open_incidents()
            .filter(pk=incident.pk)
            .update(state=Incident.State.RESOLVED, resolved_at=at)
        )
        incident.refresh_from_db()
        if not claimed:
            if auto:
                return incident
            raise InvalidInput("this incident is already resolved")
        still = incident.alerts.filter(state=Alert.State.FIRING)
        closed = still.update(state=Alert.State.RESOLVED, resolved_at=at)
        minutes = (at - incident.started_at).total_seconds() / 60
        if auto:
            text = (
                f"Resolved automatically: every alert stayed clear for "
                f"{settings.INCIDENT_AUTO_RESOLVE_MINUTES} min (lasted {minutes:.0f} min)"
            )
        else:
            text = f"Resolved (lasted {minutes:.0f} min)" + (f": {note.strip()}" if note else "")
        if closed:
            text += f"; {closed} alert{'s' if closed > 1 else ''} still firing closed by hand"
        add_entry(incident, TimelineEntry.Kind.ACTION, text, at, actor)
        audit.record(
            actor,
            "incidents.resolved",
            ("incident", incident.pk),
            outcome="auto" if auto else "manual",
            details={"minutes": round(minutes, 1), "closed_alerts": closed, "note": note},
        )
        sync_components(incident, at)
        paging.update(incident, "resolved", "resolved", text, urgent=False)
        offer_update(
            incident,
            Incident.State.RESOLVED,
            f"This incident has been resolved. {_affected_phrase(incident)} "
            "working normally again. We are sorry for the trouble.",
        )
        draft_postmortem(incident)
    return incident


def auto_resolve_due(now: datetime | None = None) -> int:
    """Resolve open incidents whose alerts all cleared and stayed clear long enough."""
    minutes = settings.INCIDENT_AUTO_RESOLVE_MINUTES
    if minutes <= 0:
        return 0
    now = now or clock.now()
    quiet_since = now - timedelta(minutes=minutes)
    candidates = (
        open_incidents()
        .exclude(alerts__state=Alert.State.FIRING)
        .annotate(last_clear=Max("alerts__resolved_at"))
        .filter(last_clear__lte=quiet_since)
    )
    resolved = 0
    for incident in candidates:
        before = incident.state
        resolve(incident, "system:incidents", auto=True, at=now)
        resolved += before != Incident.State.RESOLVED
    return resolved


def set_priority(incident: Incident, level: str, user: AbstractBaseUser, reason: str) -> Incident:
    """The founder overrides the rules (either way), with a reason for the record."""
    if level not in priority.ORDER:
        raise InvalidInput(f"unknown priority {level!r}; use {', '.join(priority.ORDER)}")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("say why the priority changes (it is kept in the audit trail)")
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        before = incident.priority
        if before == level:
            return incident
        incident.priority = level
        incident.priority_reason = f"set by {user.get_username()}: {reason}"
        incident.respond_by = (
            None
            if incident.acknowledged_at or incident.muted_reason
            else incident.detected_at + priority.RESPOND_WITHIN[level]
        )
        incident.save(update_fields=["priority", "priority_reason", "respond_by"])
        add_entry(
            incident,
            TimelineEntry.Kind.PRIORITY,
            f"Priority {before} → {level}: {reason}",
            actor=actor_of(user),
        )
        audit.record(
            actor_of(user),
            "incidents.priority_set",
            ("incident", incident.pk),
            outcome=level,
            details={"before": before, "reason": reason},
        )
        sync_components(incident, clock.now())
    return incident


def raise_priority(incident: Incident, level: str, reason: str, actor: str = ACTOR) -> Incident:
    """The agent's assessment may raise the priority (never lower it: the founder does)."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if priority.higher(level, incident.priority) == incident.priority:
            return incident
        before = incident.priority
        incident.priority, incident.priority_reason = level, reason
        if incident.acknowledged_at is None and not incident.muted_reason:
            incident.respond_by = min(
                incident.respond_by or incident.detected_at,
                incident.detected_at + priority.RESPOND_WITHIN[level],
            )
        incident.save(update_fields=["priority", "priority_reason", "respond_by"])
        add_entry(incident, TimelineEntry.Kind.PRIORITY, f"Priority {before} → {level}: {reason}")
        audit.record(
            actor,
            "incidents.priority_raised",
            ("incident", incident.pk),
            outcome=level,
            details={"before": before, "reason": reason},
        )
        sync_components(incident, clock.now())
        paging.update(
            incident,
            f"priority:{level}",
            f"priority raised to {level}",
            f"{before} → {level}: {reason}",
        )
    return incident


def merge(source: Incident, target: Incident, user: AbstractBaseUser) -> Incident:
    """Fold a duplicate into another incident: its alerts, components and timeline move over."""
    if source.pk == target.pk:
        raise InvalidInput("an incident cannot be merged into itself")
    at = clock.now()
    with transaction.atomic():
        both = Incident.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
        rows = {row.pk: row for row in both}
        source, target = rows[source.pk], rows[target.pk]
        if Incident.State.RESOLVED in (source.state, target.state):
            raise InvalidInput("only two open incidents can be merged")
        source.alerts.update(incident=target)
        source.timeline.update(incident=target)
        source.updates.update(incident=target)
        target.components.add(*source.components.all())
        target.started_at = min(source.started_at, target.started_at)
        target.detected_at = min(source.detected_at, target.detected_at)
        if priority.higher(source.priority, target.priority) != target.priority:
            target.priority, target.priority_reason = source.priority, source.priority_reason
        target.save(update_fields=["started_at", "detected_at", "priority", "priority_reason"])
        Incident.objects.filter(pk=source.pk).update(
            state=Incident.State.RESOLVED, resolved_at=at, merged_into=target
        )
        source.refresh_from_db()
        add_entry(
            source,
            TimelineEntry.Kind.ACTION,
            f"Merged into incident #{target.pk}",
            at,
            actor_of(user),
        )
        add_entry(
            target,
            TimelineEntry.Kind.ACTION,
            f"Incident #{source.pk} ({source.title}) merged into this one",
            at,
            actor_of(user),
        )
        audit.record(
            actor_of(user),
            "incidents.merged",
            ("incident", target.pk),
            details={"merged": source.pk},
        )
        sync_components(target, at)
        sync_components(source, at)
    return target


def add_note(incident: Incident, text: str, user: AbstractBaseUser) -> TimelineEntry:
    text = text.strip()
    if not text:
        raise InvalidInput("the note is empty")
    if len(text) > 10_000:
        raise InvalidInput("a note may be at most 10,000 characters")
    with transaction.atomic():
        entry = add_entry(incident, TimelineEntry.Kind.NOTE, text, actor=actor_of(user))
        audit.record(
            actor_of(user),
            "incidents.note_added",
            ("incident", incident.pk),
            details={"entry": entry.pk},
        )
    return entry


# Components follow the incidents that affect them.


def effect_on(incident: Incident, component: Component) -> str:
    """The status this open incident gives one of its components."""
    mine = [a for a in incident.alerts.all() if a.component_id == component.pk]
    if mine and all(a.state == Alert.State.RESOLVED for a in mine):
        # Its checks pass again: customers can use it while the incident is watched.
        return Status.OPERATIONAL
    if incident.priority == "P0":
        return Status.MAJOR_OUTAGE
    firing = [
        a.facts
        for a in incident.alerts.all()
        if a.state == Alert.State.FIRING and a.component_id == component.pk
    ]
    if any(facts.get("hard") for facts in firing):
        return Status.MAJOR_OUTAGE
    if incident.priority == "P1":
        return Status.PARTIAL_OUTAGE
    if incident.priority == "P2" or any(float(f.get("slowdown") or 0) > 0 for f in firing):
        return Status.DEGRADED
    return Status.OPERATIONAL  # P3 leaves the component as it is


def status_for(component: Component) -> tuple[str, Incident | None]:
    """The worst status any open incident gives the component, and that incident."""
    worst: tuple[str, Incident | None] = (Status.OPERATIONAL, None)
    affecting = open_incidents().filter(components=component).prefetch_related("alerts")
    for incident in affecting.order_by("started_at", "pk"):
        status = effect_on(incident, component)
        if SEVERITY.index(status) > SEVERITY.index(worst[0]):
            worst = (status, incident)
    return worst


def sync_components(incident: Incident, at: datetime) -> list[ComponentStatusChange]:
    """Bring the incident's components up to date; each change is a ComponentStatusChange."""
    changes = []
    with transaction.atomic():
        for component in Component.objects.select_for_update().filter(incidents=incident):
            if component.status == Status.MAINTENANCE:
                continue  # planned work: the maintenance owner sets it back
            status, cause = status_for(component)
            if status == component.status:
                continue
            component.status, component.status_since = status, at
            component.save(update_fields=["status", "status_since"])
            changes.append(
                ComponentStatusChange.objects.create(
                    component=component, at=at, status=status, incident=cause or incident
                )
            )
            add_entry(
                incident,
                TimelineEntry.Kind.STATUS,
                f"{component.name}: {component.get_status_display().lower()}",
                at,
            )
    return changes


# Status updates for customers: the agent drafts, the policy decides whether they post.


def offer_update(incident: Incident, status: str, body: str) -> StatusUpdate | None:
    """Draft a status update by the agent; publish it when the policy lets it post alone.

    None for incidents customers do not see (private, or only private components) and P3."""
    if not customer_facing(incident):
        return None
    # Any earlier draft counts, discarded ones too: the founder's "no" stands.
    draft = StatusUpdate.objects.filter(incident=incident, status=status, author=ACTOR).first()
    if draft is not None:
        return draft  # drafted already (a job that runs twice)
    update = StatusUpdate.objects.create(
        incident=incident, status=status, body=body, created_at=clock.now(), author=ACTOR
    )
    verdict = policy.verdict(AGENT, STATUS_UPDATE)
    add_entry(
        incident,
        TimelineEntry.Kind.STATUS,
        f"Status update drafted ({status})",
        data={"update": update.pk, "mode": verdict.mode},
    )
    audit.record(
        ACTOR,
        "incidents.update_drafted",
        ("incident", incident.pk),
        outcome=verdict.mode,
        details={"update": update.pk, "reason": verdict.reason},
    )
    if verdict.acts_alone:
        return publish_update(update, ACTOR)
    approvals.request(
        AGENT,
        STATUS_UPDATE,
        ("status_update", update.pk),
        f"Status update for “{incident.title}”: {body[:200]}",
        verdict.reason,
        {"incident": incident.pk, "update": update.pk, "link": _link(incident)},
    )
    return update


def customer_facing(incident: Incident) -> bool:
    if not incident.public or incident.priority == "P3":
        return False
    components = list(incident.components.all())
    return not components or any(c.public for c in components)


def publish_update(
    update: StatusUpdate,
    actor: str,
    body: str | None = None,
    user: AbstractBaseUser | None = None,
) -> StatusUpdate:
    """Post a status update (edited first if `body` is given); subscribers are told after."""
    with transaction.atomic():
        update = StatusUpdate.objects.select_for_update().get(pk=update.pk)
        if update.state != StatusUpdate.State.DRAFT:
            raise InvalidInput(f"this update is {update.state}, not a draft")
        edited = body is not None and body.strip() != update.body
        if body is not None:
            update.body = _checked_body(body)
        update.state, update.published_at = StatusUpdate.State.PUBLISHED, clock.now()
        update.save(update_fields=["body", "state", "published_at"])
        decision = Approval.Status.EDITED if edited else Approval.Status.APPROVED
        _settle_approval(update, actor, decision, user)
        add_entry(
            update.incident,
            TimelineEntry.Kind.STATUS,
            f"Status update posted: {update.body}",
            actor=actor,
            data={"update": update.pk},
        )
        audit.record(
            actor,
            "incidents.update_published",
            ("incident", update.incident_id),
            details={"update": update.pk, "edited": edited},
        )
        pk = update.pk
        transaction.on_commit(lambda: jobs.enqueue(ANNOUNCE_JOB, pk))
    return update


def write_update(
    incident: Incident, status: str, body: str, user: AbstractBaseUser
) -> StatusUpdate:
    """The founder writes a draft of their own."""
    if status not in Incident.State.values:
        raise InvalidInput(f"unknown status {status!r}")
    with transaction.atomic():
        update = StatusUpdate.objects.create(
            incident=incident,
            status=status,
            body=_checked_body(body),
            created_at=clock.now(),
            author=actor_of(user),
        )
        audit.record(
            actor_of(user),
            "incidents.update_drafted",
            ("incident", incident.pk),
            details={"update": update.pk},
        )
    return update


def edit_update(update: StatusUpdate, body: str, user: AbstractBaseUser) -> StatusUpdate:
    if update.state != StatusUpdate.State.DRAFT:
        raise InvalidInput("only a draft can be edited; post a new update instead")
    update.body = _checked_body(body)
    update.save(update_fields=["body"])
    audit.record(
        actor_of(user),
        "incidents.update_edited",
        ("incident", update.incident_id),
        details={"update": update.pk},
    )
    return update


def discard_update(update: StatusUpdate, user: AbstractBaseUser) -> StatusUpdate:
    with transaction.atomic():
        claimed = StatusUpdate.objects.filter(pk=update.pk, state=StatusUpdate.State.DRAFT).update(
            state=StatusUpdate.State.DISCARDED
        )
        if not claimed:
            raise InvalidInput("only a draft can be discarded")
        update.refresh_from_db()
        _settle_approval(update, actor_of(user), Approval.Status.REJECTED, user)
        audit.record(
            actor_of(user),
            "incidents.update_discarded",
            ("incident", update.incident_id),
            details={"update": update.pk},
        )
    return update


def _checked_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise InvalidInput("a status update needs some text")
    if len(body) > 5_000:
        raise InvalidInput("a status update may be at most 5,000 characters")
    return body


def _settle_approval(
    update: StatusUpdate, actor: str, status: str, user: AbstractBaseUser | None = None
) -> None:
    """Close the inbox item of this draft (it was decided on the incident page)."""
    pending = Approval.objects.filter(
        agent=AGENT,
        action=STATUS_UPDATE,
        subject_type="status_update",
        subject_id=str(update.pk),
        status=Approval.Status.PENDING,
    ).first()
    if pending is None:
        return
    if user is None:
        # Posted by the agent under a policy changed to auto since: nobody decided it.
        Approval.objects.filter(pk=pending.pk).update(
            status=status, decided_at=clock.now(), resolution={"by": actor}
        )
        return
    approvals.decide(pending, user, status, {"update": update.pk})


def _affected_phrase(incident: Incident) -> str:
    names = [c.name for c in incident.components.all() if c.public]
    if not names:
        return "Everything is"
    return (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]) + (
        " are" if len(names) > 1 else " is"
    )


def _link(incident: Incident) -> str:
    try:
        return reverse("web:incident", args=[incident.pk])
    except NoReverseMatch:
        return ""


# The post-mortem.


def draft_postmortem(incident: Incident) -> Incident:
    """Write the draft on resolve, unless the founder has already edited it."""
    if incident.postmortem_edited_at is not None:
        return incident
    incident.postmortem = postmortem.draft(incident)
    incident.postmortem_drafted_at = clock.now()
    incident.save(update_fields=["postmortem", "postmortem_drafted_at"])
    add_entry(incident, TimelineEntry.Kind.ACTION, "Post-mortem drafted")
    return incident


def save_postmortem(incident: Incident, text: str, user: AbstractBaseUser) -> Incident:
    if len(text) > 100_000:
        raise InvalidInput("the post-mortem may be at most 100,000 characters")
    with transaction.atomic():
        incident.postmortem = text.strip()
        incident.postmortem_edited_at = clock.now()
        incident.save(update_fields=["postmortem", "postmortem_edited_at"])
        audit.record(actor_of(user), "incidents.postmortem_edited", ("incident", incident.pk))
    return incident


def alerts_clear(incident: Incident) -> bool:
    """Whether every alert of the incident has stopped firing (and there was one)."""
    alerts: Iterable[Alert] = incident.alerts.all()
    states = [a.state for a in alerts]
    return bool(states) and Alert.State.FIRING not in states
