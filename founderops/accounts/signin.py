"""Sign-in attempts: counted per account name and per client address, audited, locked out.

LOGIN_FAILURES_LIMIT failed attempts (a wrong password or a wrong code, both steps count)
within one LOGIN_LOCKOUT_SECONDS window lock that account name until the window ends, and
ADDRESS_FACTOR times as many lock the address: a team shares an office's address, so one
member's typos must not lock the others out, while one address guessing many names still
stops soon. The counters are keyed by hashes (core.ratelimit), and the same rule
applies whether or not the account exists, so a lockout says nothing about who has an
account. A locked attempt is neither checked nor counted again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, User

from founderops.core import audit, clock, ratelimit

ADDRESS_FACTOR = 4
PASSWORD_STEP = "password"  # noqa: S105 (the name of a step, not a secret)
CODE_STEP = "code"


@dataclass(frozen=True)
class Attempt:
    """Who tried, as typed, and from where."""

    username: str
    ip: str

    def counters(self) -> tuple[str, str]:
        return (
            ratelimit.key_for("login:user", self.username),
            ratelimit.key_for("login:ip", self.ip or "unknown"),
        )

    def limits(self) -> tuple[int, int]:
        limit = settings.LOGIN_FAILURES_LIMIT
        return limit, limit * ADDRESS_FACTOR


def locked_for(attempt: Attempt) -> int | None:
    """Seconds until this account name or address may try again, or None when it may now."""
    window = settings.LOGIN_LOCKOUT_SECONDS
    pairs = zip(attempt.counters(), attempt.limits(), strict=True)
    if all(ratelimit.peek(key, window) < limit for key, limit in pairs):
        return None
    return seconds_left(window)


def seconds_left(window: int) -> int:
    now = clock.now()
    ends = ratelimit.window_of(now, window) + timedelta(seconds=window)
    return max(1, math.ceil((ends - now).total_seconds()))


def lockout_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many failed sign-ins; try again in {minutes} {unit}."


def fail(attempt: Attempt, step: str) -> int | None:
    """Count a failed attempt and audit it; seconds locked if this one engaged the lock."""
    window = settings.LOGIN_LOCKOUT_SECONDS
    pairs = zip(attempt.counters(), attempt.limits(), strict=True)
    verdicts = [ratelimit.hit(key, limit, window) for key, limit in pairs]
    user = User.objects.filter(username=attempt.username).first()
    subject = ("user", user.pk) if user is not None else None
    # A name that is no account is left out: people type their password into the wrong box.
    account = user.get_username() if user is not None else "(no such account)"
    details: dict[str, object] = {"account": account, "ip": attempt.ip, "step": step}
    audit.record("anonymous", "accounts.login_failed", subject, "refused", details=details)
    if all(v.count < v.limit for v in verdicts):
        return None
    seconds = seconds_left(window)
    details |= {"seconds": seconds, "by": _locked_by(verdicts)}
    audit.record("anonymous", "accounts.login_locked", subject, "locked", details=details)
    return seconds


def _locked_by(verdicts: list[ratelimit.Verdict]) -> list[str]:
    names = ("account", "address")
    return [name for name, v in zip(names, verdicts, strict=True) if v.count >= v.limit]


def succeed(attempt: Attempt, user: AbstractBaseUser, method: str) -> None:
    """A complete sign-in: the account's failures are forgiven (the address's are not)."""
    ratelimit.reset(attempt.counters()[0])
    audit.record(
        f"user:{user.get_username()}",
        "accounts.login",
        ("user", user.pk),
        "signed in",
        details={"ip": attempt.ip, "second_factor": method or "none"},
    )
