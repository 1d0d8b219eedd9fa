"""The seam to the job queue (django-q2 on the database broker).

Domains enqueue through here so that tests and the embedded `sync` mode run jobs inline.
Jobs are thin and idempotent: a job that runs twice must find its work already done.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

_inline = threading.local()


def enqueue(func: str, *args: Any, group: str = "") -> str:
    """Queue `func` (a dotted path) with JSON-able args; returns the job id."""
    from django_q.tasks import async_task

    options: dict[str, Any] = {"group": group or func.rsplit(".", 1)[0]}
    if settings.Q_CLUSTER.get("sync") or getattr(_inline, "on", False):
        options["sync"] = True
    return str(async_task(func, *args, **options))


@contextmanager
def running_inline() -> Iterator[None]:
    """Run the jobs this thread queues at once, in order (loading the demo's history)."""
    before = getattr(_inline, "on", False)
    _inline.on = True
    try:
        yield
    finally:
        _inline.on = before
