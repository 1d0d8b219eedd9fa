"""Heartbeat and cron monitors: the monitored job pings a secret URL; late or failed = down.

Like healthchecks.io. A job pings `/ping/<token>/` when it succeeds, may ping `/start` when
it begins and `/fail` when it fails. The engine calls `evaluate` on the monitor's schedule:

- `period_s` + `grace_s`: a success is expected every period; later than period + grace is down.
- `cron` (+ `tz`, default UTC) + `grace_s`: a success is expected at each cron time after the
  last one; later than that time + grace is down.
- A `/fail` newer than the last success is down at once; a `/start` with no success within
  `max_runtime_s` is down (the job hangs).

A monitor that never received a ping is not judged (healthchecks' "new" state): nothing is
late before the job first ran, so it reports up with `waiting_for_first_ping`.

Each ping is a CheckResult with `detail["ping"]` (success, start or fail) and the body's tail
(exit status, the last lines of the job's log), capped. The token is shown once and stored
as its SHA-256: the database alone cannot ping.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from founderops.core import clock
from founderops.monitoring.models import CheckResult, Monitor
from founderops.monitoring.probes import DOWN, UP, ProbeResult

SUCCESS, START, FAIL = "success", "start", "fail"
PING_KINDS = (SUCCESS, START, FAIL)
# The tail of a ping's body kept (a job's exit status and the end of its log).
BODY_TAIL_CHARS = 2_000
# A body larger than this is not read beyond it: the tail kept is of what was read.
BODY_READ_BYTES = 100_000
DEFAULT_PERIOD_S = 86_400.0
DEFAULT_GRACE_S = 3_600.0
CAUSE = "heartbeat"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def set_token(monitor: Monitor, token: str | None = None) -> str:
    """Give the monitor a (new) ping token and return it: shown once, stored hashed."""
    token = token or new_token()
    monitor.ping_token_hash = hash_token(token)
    if monitor.pk is not None:
        monitor.save(update_fields=["ping_token_hash"])
    return token


def ping_url(token: str) -> str:
    path = reverse("monitor_ping", kwargs={"token": token})
    return settings.SITE_URL.rstrip("/") + path


def find(token: str) -> Monitor | None:
    """The heartbeat monitor of `token`, by its hash (an index lookup, no secret compared)."""
    digest = hash_token(token)
    return Monitor.objects.filter(kind=Monitor.Kind.HEARTBEAT, ping_token_hash=digest).first()


@dataclass(frozen=True)
class Ping:
    kind: str
    at: datetime
    body: str = ""
    remote: str = ""
    method: str = "GET"


def record_ping(monitor: Monitor, ping: Ping) -> CheckResult:
    """Keep the ping, and ask the engine to judge the monitor now (not at its next slot)."""
    if ping.kind not in PING_KINDS:
        raise ValueError(f"{ping.kind!r} is not a ping kind ({', '.join(PING_KINDS)})")
    detail: dict[str, Any] = {"ping": ping.kind, "method": ping.method}
    if ping.body:
        detail["body"] = ping.body[-BODY_TAIL_CHARS:]
        detail["body_truncated"] = len(ping.body) > BODY_TAIL_CHARS
    if ping.remote:
        detail["remote"] = ping.remote
    with transaction.atomic():
        result = CheckResult.objects.create(
            monitor=monitor,
            at=ping.at,
            outcome=DOWN if ping.kind == FAIL else UP,
            error="the job reported a failure" if ping.kind == FAIL else "",
            detail=detail,
        )
        # The engine judges a monitor whose next check is due: a ping makes it due now.
        Monitor.objects.filter(pk=monitor.pk).update(next_check_at=ping.at)
        if ping.kind == SUCCESS:
            # Conditional: two pings at once never move the last success backwards.
            Monitor.objects.filter(
                Q(last_ping_at__isnull=True) | Q(last_ping_at__lt=ping.at), pk=monitor.pk
            ).update(last_ping_at=ping.at)
    return result


def latest_ping(monitor: Monitor) -> CheckResult | None:
    found: CheckResult | None = (
        monitor.results.filter(detail__has_key="ping").order_by("-at", "-pk").first()
    )
    return found


def evaluate(monitor: Monitor, now: datetime) -> ProbeResult:
    """Is the job on time? Read from its pings alone; the engine applies hysteresis."""
    schedule = Schedule.of(monitor.options)
    last = latest_ping(monitor)
    success_at = monitor.last_ping_at
    if last is None and success_at is None:
        return ProbeResult(UP, detail={"waiting_for_first_ping": True})
    last_kind = str(last.detail.get("ping")) if last is not None else SUCCESS
    if last is not None and last_kind == FAIL and _newer(last.at, success_at):
        return _down(
            "the job pinged /fail", {"failed_at": last.at.isoformat(), **_body(last)}, hard=True
        )
    if last is not None and last_kind == START and _newer(last.at, success_at):
        overdue = _hung(schedule, last.at, now)
        if overdue is not None:
            return overdue
    if success_at is None:
        return ProbeResult(UP, detail={"started_at": last.at.isoformat()} if last else {})
    return _on_time(schedule, success_at, now)


def _newer(moment: datetime, than: datetime | None) -> bool:
    return than is None or moment > than


def _hung(schedule: Schedule, started: datetime, now: datetime) -> ProbeResult | None:
    if schedule.max_runtime_s is None:
        return None
    deadline = started + timedelta(seconds=schedule.max_runtime_s)
    if now <= deadline:
        return None
    return _down(
        f"started {_ago(now - started)} ago and has not finished "
        f"(max runtime {_ago(timedelta(seconds=schedule.max_runtime_s))})",
        {"started_at": started.isoformat(), "deadline": deadline.isoformat()},
        hard=False,
    )


def _on_time(schedule: Schedule, success_at: datetime, now: datetime) -> ProbeResult:
    expected = schedule.next_after(success_at)
    deadline = expected + timedelta(seconds=schedule.grace_s)
    detail = {
        "last_success_at": success_at.isoformat(),
        "expected_at": expected.isoformat(),
        "deadline": deadline.isoformat(),
    }
    if now <= deadline:
        return ProbeResult(UP, detail=detail)
    return _down(f"no ping for {_ago(now - success_at)} (expected by {deadline:%H:%M UTC})", detail)


def _down(error: str, detail: dict[str, Any], hard: bool = True) -> ProbeResult:
    return ProbeResult(DOWN, error=error, detail=detail, facts={"hard": hard}, cause=CAUSE)


def _body(result: CheckResult) -> dict[str, Any]:
    body = result.detail.get("body")
    return {"body": body} if isinstance(body, str) else {}


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True)
class Schedule:
    """A heartbeat's expectations, read from Monitor.options (validated by config or form)."""

    period_s: float
    grace_s: float
    cron: str = ""
    tz: str = "UTC"
    max_runtime_s: float | None = None

    @classmethod
    def of(cls, options: dict[str, Any]) -> Schedule:
        runtime = options.get("max_runtime_s")
        return cls(
            period_s=float(options.get("period_s", DEFAULT_PERIOD_S)),
            grace_s=float(options.get("grace_s", DEFAULT_GRACE_S)),
            cron=str(options.get("cron", "")),
            tz=str(options.get("tz", "UTC")),
            max_runtime_s=float(runtime) if runtime is not None else None,
        )

    def next_after(self, moment: datetime) -> datetime:
        """When the next success is due after one at `moment`."""
        if not self.cron:
            return moment + timedelta(seconds=self.period_s)
        local = moment.astimezone(clock.zone(self.tz))
        due: datetime = croniter(self.cron, local).get_next(datetime)
        return due.astimezone(moment.tzinfo)


def check_options(options: dict[str, Any]) -> list[str]:
    """What is wrong with a heartbeat's options, in words (an empty list: nothing)."""
    problems = []
    cron = options.get("cron")
    if cron is not None and (not isinstance(cron, str) or not croniter.is_valid(cron)):
        problems.append(f"cron {cron!r} is not a cron expression like '*/5 * * * *'")
    tz = options.get("tz")
    if tz is not None:
        try:
            clock.zone(str(tz))
        except ValueError as error:
            problems.append(str(error))
    for key in ("period_s", "grace_s", "max_runtime_s"):
        value = options.get(key)
        if value is not None and (not isinstance(value, int | float) or value <= 0):
            problems.append(f"{key.removesuffix('_s')} must be a positive duration")
    if cron is not None and "period_s" in options:
        problems.append("give either period or cron, not both")
    return problems
