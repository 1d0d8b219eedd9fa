"""A job with a visible, idempotent effect: the SIGKILL test's subject.

It records that it started, holds for a while (so a test can kill its worker mid-job), then
writes its effect once per key: a second delivery of the same job finds the effect and
stops. The effect is an audit event, so the job needs no model of its own.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.db import connection, transaction

from founderops.core import audit
from founderops.core.models import AuditEvent

STARTED = "worker.demo_started"
EFFECT = "worker.demo_effect"


def demo_effect(key: str, gate: str, hold_seconds: float) -> str:
    """Hold until `gate` exists or `hold_seconds` pass, then apply the effect for `key`."""
    audit.record("system:worker", STARTED, ("demo", key))
    deadline = time.monotonic() + hold_seconds
    while not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    with transaction.atomic():
        _serialize()
        if effects(key):
            return "already done"
        audit.record("system:worker", EFFECT, ("demo", key), outcome="done")
    return "done"


def effects(key: str) -> int:
    return AuditEvent.objects.filter(action=EFFECT, subject_type="demo", subject_id=key).count()


def starts(key: str) -> int:
    return AuditEvent.objects.filter(action=STARTED, subject_type="demo", subject_id=key).count()


def _serialize() -> None:
    # Check-then-write must not interleave with another delivery of the same job: take the
    # audit trail's own writer lock (SQLite's IMMEDIATE transaction already is one).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [audit.AUDIT_LOCK_KEY])
