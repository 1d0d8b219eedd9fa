"""Fixed-window rate limits counted in the database, shared by every process.

`hit` counts one attempt and says whether it is still inside the limit. Keys name what is
limited and whom (`login:<hash>`, `widget:ip:<hash>`); `key_for` hashes the identifying part
so that the table holds no addresses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from founderops.core import clock
from founderops.core.models import RateCounter


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    limit: int
    retry_after_seconds: int


def key_for(kind: str, identity: str) -> str:
    """`kind:` plus a keyed hash of `identity` (an IP, an e-mail address)."""
    digest = hashlib.blake2b(
        identity.strip().lower().encode(), key=settings.SECRET_KEY.encode()[:64], digest_size=16
    ).hexdigest()
    return f"{kind}:{digest}"


def window_of(moment: datetime, seconds: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=moment.tzinfo)


def hit(key: str, limit: int, window_seconds: int) -> Verdict:
    """Count one attempt on `key`; `allowed` is False once more than `limit` fell in the window."""
    now = clock.now()
    start = window_of(now, window_seconds)
    count = _increment(key, start)
    retry = int((start + timedelta(seconds=window_seconds) - now).total_seconds()) + 1
    return Verdict(count <= limit, count, limit, max(retry, 1))


def peek(key: str, window_seconds: int) -> int:
    """Attempts counted on `key` in the current window, without counting one."""
    start = window_of(clock.now(), window_seconds)
    row = RateCounter.objects.filter(key=key, window_start=start).first()
    return row.count if row else 0


def reset(key: str) -> None:
    RateCounter.objects.filter(key=key).delete()


def _increment(key: str, start: datetime) -> int:
    updated = RateCounter.objects.filter(key=key, window_start=start).update(count=F("count") + 1)
    if not updated:
        try:
            with transaction.atomic():
                RateCounter.objects.create(key=key, window_start=start, count=1)
                return 1
        except IntegrityError:
            RateCounter.objects.filter(key=key, window_start=start).update(count=F("count") + 1)
    return RateCounter.objects.get(key=key, window_start=start).count


def forget_before(moment: datetime) -> int:
    """Housekeeping: drop windows that ended before `moment`."""
    deleted, _ = RateCounter.objects.filter(window_start__lt=moment).delete()
    return deleted
