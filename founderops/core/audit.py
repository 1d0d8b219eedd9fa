"""Record, list, verify and export the audit trail."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from founderops.core import clock
from founderops.core.models import AuditEvent

AUDIT_LOCK_KEY = 7_301_001


@dataclass(frozen=True)
class Decision:
    """What an agent knew and concluded; stored with the event."""

    model: str = ""
    model_version: str = ""
    confidence: float | None = None
    inputs: dict[str, Any] = field(default_factory=dict)


def record(
    actor: str,
    action: str,
    subject: tuple[str, object] | None = None,
    outcome: str = "",
    decision: Decision | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    decision = decision or Decision()
    subject_type, subject_id = subject if subject else ("", "")
    with transaction.atomic():
        _serialize_writers()
        last = AuditEvent.objects.order_by("-id").only("hash").first()
        event = AuditEvent(
            created_at=clock.now(),
            actor=actor,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            inputs=decision.inputs,
            model=decision.model,
            model_version=decision.model_version,
            confidence=decision.confidence,
            outcome=outcome,
            details=details or {},
            previous_hash=last.hash if last else "",
        )
        event.hash = event_hash(event)
        event.save()
    return event


def _serialize_writers() -> None:
    # The chain needs one writer at a time. SQLite's IMMEDIATE transactions already are;
    # PostgreSQL gets a transaction-scoped advisory lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY])


def event_hash(event: AuditEvent) -> str:
    body = event.as_record()
    body.pop("id")
    body.pop("hash")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def verify_chain() -> list[int]:
    """Ids of events whose hash or link does not match: empty when the trail is intact."""
    return check_chain().broken


def export_jsonl(events: Any = None) -> Iterator[str]:
    queryset = events if events is not None else AuditEvent.objects.order_by("id")
    for event in queryset.iterator():
        yield json.dumps(event.as_record(), sort_keys=True, default=str) + "\n"


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of walking the whole chain: how many events, and which do not match."""

    checked: int
    broken: list[int]

    @property
    def intact(self) -> bool:
        return not self.broken


def check_chain() -> ChainCheck:
    """Walk the whole chain: how many events, and the ids whose hash or link does not match."""
    checked = 0
    broken: list[int] = []
    previous = ""
    for event in AuditEvent.objects.order_by("id").iterator():
        checked += 1
        if event.previous_hash != previous or event.hash != event_hash(event):
            broken.append(event.pk)
        previous = event.hash
    return ChainCheck(checked, broken)
