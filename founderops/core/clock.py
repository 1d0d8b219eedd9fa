"""The one clock: aware UTC datetimes only. Tests freeze it with time-machine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

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
