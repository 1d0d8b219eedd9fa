"""The one clock: aware UTC datetimes only. Tests freeze it with time-machine."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(tz=UTC)
