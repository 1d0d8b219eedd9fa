"""The one clock: aware UTC datetimes only. Tests freeze it with time-machine."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_replay = threading.local()


def now() -> datetime:
    real = datetime.now(tz=UTC)
    offset: timedelta | None = getattr(_replay, "offset", None)
    return real + offset if offset is not None else real


@contextmanager
def replaying(moment: datetime) -> Iterator[None]:
    """Run this thread as if it were `moment`, the clock still ticking.

    For replaying past events (the demo's ticket history): what happens inside gets the
    event's time plus the time the work really took, so response times stay honest.
    """
    if moment.tzinfo is None:
        raise ValueError("replay needs an aware datetime")
    previous = getattr(_replay, "offset", None)
    _replay.offset = moment - datetime.now(tz=UTC)
    try:
        yield
    finally:
        _replay.offset = previous


def zone(name: str) -> ZoneInfo:
    """An IANA time zone such as Europe/Paris (ValueError when unknown)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone like Europe/Paris") from None


def wall_time(raw: str) -> time:
    """A wall-clock time HH:MM from 00:00 to 23:59 (ValueError otherwise)."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", raw.strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"{raw!r} is not a time like 07:30 (HH:MM, 00:00 to 23:59)")
    return time(int(match[1]), int(match[2]))
