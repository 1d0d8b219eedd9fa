"""The scheduled jobs. Thin and idempotent: a redelivered run finds its work done."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.contrib.sessions.models import Session
from django_q.models import Task

from founderops.core import clock
from founderops.reports import briefing
from founderops.worker import schedules

logger = logging.getLogger(__name__)

# A briefing more than this late (no worker was up at its time) is no longer news.
STALE_AFTER = timedelta(hours=12)
KEEP_FAILED_TASKS = timedelta(days=30)


def morning_briefing(at: str, zone: str, intended_date: str = "") -> str:
    now = clock.now()
    schedules.reanchor(schedules.BRIEFING, at, zone, now)
    due = datetime.fromisoformat(intended_date) if intended_date else now
    if now - due > STALE_AFTER:
        logger.info("morning briefing due %s skipped: more than %s late", due, STALE_AFTER)
        return "stale"
    window = briefing.Window.last_24_hours(due, clock.zone(zone))
    return briefing.send(briefing.morning(window), once=True).outcome


def housekeeping(at: str, zone: str) -> str:
    now = clock.now()
    schedules.reanchor(schedules.HOUSEKEEPING, at, zone, now)
    sessions, _ = Session.objects.filter(expire_date__lt=now).delete()
    failures, _ = Task.objects.filter(success=False, stopped__lt=now - KEEP_FAILED_TASKS).delete()
    return f"deleted {sessions} expired sessions, {failures} old failed jobs"
