"""The incidents tick (every minute): late pages, reminders, auto-resolve, runbook waits."""

from __future__ import annotations

from founderops.core import clock
from founderops.incidents import paging, runbooks, services


def tick() -> str:
    now = clock.now()
    paged = paging.page_unpaged(now)
    reminded = paging.renotify_due(now)
    resolved = services.auto_resolve_due(now)
    resumed = runbooks.resume_due(now)
    return f"paged {paged}, reminded {reminded}, auto-resolved {resolved}, resumed {resumed}"
