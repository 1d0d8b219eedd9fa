"""Application log lines in: templates, counts per minute, new-error and error-rate alerts.

Lines come from the API (`POST /api/logs`), `founderops logs tail` and `founderops logs
syslog`. Each service has one `TemplateMiner`, loaded once per process from LogParserState;
its state is saved every FLUSH_LINES lines or FLUSH_SECONDS, never per line. Template rows,
per-minute counts and the state's line counters are written in batches by `flush()`, which
also decides the alerts:

- new_error: a template first seen on an error line (P3, an early warning), once per
  template: a template whose text is already stored for the service is not new (a restart
  that lost the last few seconds of state relearns it without paging);
- error_rate: this minute's error lines far above the service's learned normal (an EWMA of
  error lines per minute; see `ErrorRate`), with a floor so a couple of errors never page;
  cleared after CLEAR_MINUTES calm minutes.

Floods: each service parses at most `lines_per_minute` lines a minute; beyond that one line in
`sample_every` is parsed and the rest only counted (LogParserState.lines_dropped). Error lines
are still counted for the rate (the level or a regex, cheap), so a flood of errors still
alerts, and the alert says "sampling: N of M lines parsed". Memory stays bounded: templates are
capped by the miner, buffers are flushed, services are capped per process.

The miner lives in the process that receives the lines: one service's lines belong in one
process (a log shipper points at one web process, or `logs tail`/`logs syslog` runs once).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Sum

from founderops.core import audit, clock, jobs
from founderops.incidents import services as incidents
from founderops.incidents.alerts import Signal
from founderops.incidents.models import Alert
from founderops.monitoring.logparse import TemplateMiner, is_error
from founderops.monitoring.models import LogCount, LogParserState, LogTemplate

logger = logging.getLogger(__name__)

FLUSH_LINES = 5_000
FLUSH_SECONDS = 10.0
# An error-rate alert clears after this many calm minutes in a row.
CLEAR_MINUTES = 3
# The error-rate baseline: EWMA weight of the latest minute (about a 10-minute memory).
ALPHA = 0.1
# "Far above normal": this many times the baseline, and 5 Poisson deviations above it.
SPIKE_FACTOR = 3.0
SPIKE_SIGMAS = 5.0
# How much history rebuilds the baseline when a process starts.
BASELINE_MINUTES = 60
MAX_SERVICE_CHARS = 100
MAX_LEVEL_CHARS = 20
SAMPLE_CHARS = 2_000
ACTOR = "agent:monitoring"
AGENT_JOB = "founderops.monitoring.agent.respond"
ERROR_LEVELS = {
    "error",
    "err",
    "fatal",
    "critical",
    "crit",
    "alert",
    "emerg",
    "emergency",
    "panic",
    "severe",
}


@dataclass(frozen=True)
class LogLine:
    service: str
    message: str
    at: datetime
    level: str = ""


@dataclass(frozen=True)
class Limits:
    lines_per_minute: int = 6_000
    sample_every: int = 100
    max_line_chars: int = 2_000
    min_errors: int = 10
    max_services: int = 200
    flush_lines: int = FLUSH_LINES
    flush_seconds: float = FLUSH_SECONDS

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            lines_per_minute=settings.LOG_LINES_PER_MINUTE,
            sample_every=settings.LOG_SAMPLE_EVERY,
            max_line_chars=settings.LOG_LINE_MAX_CHARS,
            min_errors=settings.LOG_ERROR_SPIKE_MIN,
            max_services=settings.LOG_MAX_SERVICES,
        )


@dataclass
class Ingested:
    """What one `ingest` call did."""

    lines: int = 0
    parsed: int = 0
    dropped: int = 0
    errors: int = 0
    new_templates: int = 0
    refused: list[str] = field(default_factory=list)


@dataclass
class ErrorRate:
    """Error lines per minute against the service's learned normal.

    The baseline is an EWMA of completed minutes (quiet minutes count as 0). A minute is a
    spike when its error lines reach `threshold()`: at least `min_errors`, SPIKE_FACTOR times
    the baseline and SPIKE_SIGMAS Poisson deviations above it. Spike minutes are not learned,
    so a long storm does not become the new normal and clear itself."""

    min_errors: int
    baseline: float = 0.0
    minute: datetime | None = None
    errors: int = 0
    firing: bool = False
    calm: int = 0

    def threshold(self) -> float:
        b = self.baseline
        return max(float(self.min_errors), SPIKE_FACTOR * b, b + SPIKE_SIGMAS * math.sqrt(b))

    def roll(self, minute: datetime) -> None:
        """Move to `minute`, closing the minutes before it."""
        if self.minute is None:
            self.minute = minute
            return
        if minute <= self.minute:
            return
        self._close(self.errors)
        gap = int((minute - self.minute).total_seconds() // 60) - 1
        if gap > 0:
            self.baseline *= (1 - ALPHA) ** min(gap, 10_000)
            self.calm += gap if self.firing else 0
        self.minute, self.errors = minute, 0

    def add(self, minute: datetime, errors: int) -> None:
        self.roll(minute)
        if minute == self.minute:
            # Lines stamped with an earlier minute arrive late: stored, but not a spike now.
            self.errors += errors

    def decide(self) -> str:
        """ "fire", "clear" or "" for what the minutes so far say."""
        if not self.firing and self.errors >= self.threshold():
            self.firing, self.calm = True, 0
            return "fire"
        if self.firing and self.calm >= CLEAR_MINUTES:
            self.firing, self.calm = False, 0
            return "clear"
        return ""

    def _close(self, count: int) -> None:
        spike = count >= self.threshold()
        if self.firing:
            self.calm = 0 if spike else self.calm + 1
        if not spike:
            self.baseline += ALPHA * (count - self.baseline)


@dataclass
class _Delta:
    """A template's changes since the last flush."""

    template: str
    is_error: bool
    first_at: datetime
    last_at: datetime
    sample: str
    count: int = 0
    is_new: bool = False


@dataclass
class _Window:
    """Lines seen and parsed in the current wall-clock minute, for the flood cap."""

    minute: datetime | None = None
    seen: int = 0
    parsed: int = 0
    beyond: int = 0


class _Service:
    def __init__(self, name: str, miner: TemplateMiner, rate: ErrorRate) -> None:
        self.name = name
        self.miner = miner
        self.rate = rate
        self.templates: dict[int, _Delta] = {}
        self.counts: Counter[tuple[int, datetime]] = Counter()
        self.window = _Window()
        self.seen = 0
        self.dropped = 0
        self.unsaved = 0
        self.saved_at = time.monotonic()

    def fingerprint(self, cause: str, suffix: str = "") -> str:
        return f"log:{self.name}:{cause}{suffix}"[:200]


def minute_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def line_is_error(line: LogLine) -> bool:
    if line.level:
        return line.level.strip().lower() in ERROR_LEVELS
    return is_error(line.message)


class Ingestor:
    """One per process (`ingestor()`); thread-safe, since web threads share it."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._services: dict[str, _Service] = {}
        self._lock = threading.Lock()

    def ingest(self, lines: Iterable[LogLine]) -> Ingested:
        """Parse what the flood cap allows; nothing is written until `flush`."""
        result = Ingested()
        now = clock.now()
        with self._lock:
            for line in lines:
                self._one(line, now, result)
        return result

    def flush(self, force: bool = False) -> None:
        """Write templates, counts and counters; fire or clear alerts; save due states."""
        now = clock.now()
        with self._lock:
            for service in list(self._services.values()):
                service.rate.roll(minute_of(now))
                self._flush_service(service, now, force)

    def pending(self) -> bool:
        """Lines not yet written, or a state not yet saved."""
        return any(s.seen or s.unsaved for s in self._services.values())

    def parsed_share(self, service: str) -> tuple[int, int]:
        """Lines parsed and seen this minute, for "sampling: N of M lines parsed"."""
        found = self._services.get(service)
        if found is None:
            return 0, 0
        return found.window.parsed, found.window.seen

    def _one(self, line: LogLine, now: datetime, result: Ingested) -> None:
        service = self._service(line.service)
        if service is None:
            result.refused.append(
                f"service {line.service!r}: more than {self.limits.max_services} services "
                "in one process (FOUNDEROPS_LOG_MAX_SERVICES)"
            )
            return
        result.lines += 1
        service.seen += 1
        message = line.message[: self.limits.max_line_chars]
        error = line_is_error(line)
        result.errors += error
        # A line stamped ahead (inside the allowed skew) counts in this minute, not a later one.
        service.rate.add(minute_of(min(line.at, now)), int(error))
        if not self._admit(service.window, minute_of(now)):
            service.dropped += 1
            result.dropped += 1
            return
        result.parsed += 1
        parsed = service.miner.add(message)
        service.unsaved += 1
        delta = service.templates.get(parsed.template_id)
        if delta is None:
            delta = _Delta(parsed.template, error, line.at, line.at, message)
            service.templates[parsed.template_id] = delta
        delta.template, delta.sample = parsed.template, message
        delta.is_error = delta.is_error or error or parsed.is_error
        delta.first_at, delta.last_at = min(delta.first_at, line.at), max(delta.last_at, line.at)
        delta.count += 1
        delta.is_new = delta.is_new or parsed.is_new
        result.new_templates += parsed.is_new
        service.counts[(parsed.template_id, minute_of(line.at))] += 1

    def _admit(self, window: _Window, minute: datetime) -> bool:
        """Inside the cap: parse. Beyond it: parse one line in `sample_every`."""
        if window.minute != minute:
            window.minute, window.seen, window.parsed, window.beyond = minute, 0, 0, 0
        window.seen += 1
        if window.parsed < self.limits.lines_per_minute:
            window.parsed += 1
            return True
        window.beyond += 1
        if window.beyond % self.limits.sample_every == 0:
            window.parsed += 1
            return True
        return False

    def _service(self, name: str) -> _Service | None:
        found = self._services.get(name)
        if found is None and len(self._services) < self.limits.max_services:
            found = self._services[name] = self._load(name)
        return found

    def _load(self, name: str) -> _Service:
        row = LogParserState.objects.filter(service=name).first()
        miner = TemplateMiner()
        if row is not None and row.state:
            try:
                miner = TemplateMiner.from_bytes(bytes(row.state))
            except ValueError as error:
                # Relearning from scratch loses template ids, not lines or alerts.
                logger.warning("log templates of %r start afresh: %s", name, error)
        stored = LogTemplate.objects.filter(service=name).aggregate(top=Max("cluster_id"))["top"]
        miner.reserve_ids(int(stored or 0))
        service = _Service(name, miner, _learned_rate(name, self.limits.min_errors))
        return service

    def _due(self, service: _Service) -> bool:
        elapsed = time.monotonic() - service.saved_at
        return service.unsaved >= self.limits.flush_lines or (
            service.unsaved > 0 and elapsed >= self.limits.flush_seconds
        )

    def _flush_service(self, service: _Service, now: datetime, force: bool) -> None:
        save = (force and service.unsaved > 0) or self._due(service)
        with transaction.atomic():
            new_errors = _write_templates(service)
            _write_counts(service)
            _write_state(service, now, save)
        service.templates, service.counts = {}, Counter()
        service.seen = service.dropped = 0
        if save:
            service.unsaved, service.saved_at = 0, time.monotonic()
        for cluster_id, delta in new_errors:
            _fire_new_error(service, cluster_id, delta, self.parsed_share(service.name))
        decision = service.rate.decide()
        if decision == "fire":
            _fire_error_rate(service, now, self.parsed_share(service.name))
        elif decision == "clear":
            incidents.clear(service.fingerprint("error_rate"), now)


def _learned_rate(service: str, min_errors: int) -> ErrorRate:
    """The baseline rebuilt from the stored counts of the last hour, and whether its alert
    is still open: a restart neither forgets the normal nor leaves an alert stuck firing."""
    rate = ErrorRate(min_errors)
    since = minute_of(clock.now()) - timedelta(minutes=BASELINE_MINUTES)
    rows = (
        LogCount.objects.filter(
            template__service=service, template__is_error=True, minute__gte=since
        )
        .values("minute")
        .annotate(total=Sum("count"))
        .order_by("minute")
    )
    for row in rows:
        rate.add(row["minute"], int(row["total"]))
    rate.roll(minute_of(clock.now()))
    rate.errors = 0
    fingerprint = f"log:{service}:error_rate"[:200]
    rate.firing = Alert.objects.filter(fingerprint=fingerprint, state=Alert.State.FIRING).exists()
    return rate


def _write_templates(service: _Service) -> list[tuple[int, _Delta]]:
    """Upsert the touched templates; return the error templates that are truly new."""
    if not service.templates:
        return []
    stored = {
        row.cluster_id: row
        for row in LogTemplate.objects.filter(
            service=service.name, cluster_id__in=list(service.templates)
        )
    }
    known_texts = set(
        LogTemplate.objects.filter(
            service=service.name, template__in=[d.template for d in service.templates.values()]
        ).values_list("template", flat=True)
    )
    fresh, changed, new_errors = [], [], []
    for cluster_id, delta in service.templates.items():
        row = stored.get(cluster_id)
        if row is None:
            if delta.is_error and delta.is_new and delta.template not in known_texts:
                new_errors.append((cluster_id, delta))
            fresh.append(_new_row(service.name, cluster_id, delta))
            continue
        row.template, row.sample = delta.template, delta.sample[:SAMPLE_CHARS]
        row.is_error = row.is_error or delta.is_error
        row.first_seen_at = min(row.first_seen_at, delta.first_at)
        row.last_seen_at = max(row.last_seen_at, delta.last_at)
        row.count += delta.count
        changed.append(row)
    LogTemplate.objects.bulk_create(fresh)
    LogTemplate.objects.bulk_update(
        changed, ["template", "sample", "is_error", "first_seen_at", "last_seen_at", "count"]
    )
    return new_errors


def _new_row(service: str, cluster_id: int, delta: _Delta) -> LogTemplate:
    return LogTemplate(
        service=service,
        cluster_id=cluster_id,
        template=delta.template,
        is_error=delta.is_error,
        first_seen_at=delta.first_at,
        last_seen_at=delta.last_at,
        count=delta.count,
        sample=delta.sample[:SAMPLE_CHARS],
    )


def _write_counts(service: _Service) -> None:
    if not service.counts:
        return
    ids = dict(
        LogTemplate.objects.filter(
            service=service.name, cluster_id__in={cid for cid, _ in service.counts}
        ).values_list("cluster_id", "pk")
    )
    wanted = {(ids[cid], minute): n for (cid, minute), n in service.counts.items()}
    existing = LogCount.objects.filter(
        template_id__in={pk for pk, _ in wanted}, minute__in={m for _, m in wanted}
    )
    changed = []
    for row in existing:
        key = (row.template_id, row.minute)
        if key in wanted:
            row.count += wanted.pop(key)
            changed.append(row)
    LogCount.objects.bulk_update(changed, ["count"])
    LogCount.objects.bulk_create(
        LogCount(template_id=pk, minute=minute, count=n) for (pk, minute), n in wanted.items()
    )


def _write_state(service: _Service, now: datetime, save: bool) -> None:
    row, _ = LogParserState.objects.get_or_create(
        service=service.name, defaults={"state": b"", "updated_at": now}
    )
    changes: dict[str, Any] = {
        "lines_seen": F("lines_seen") + service.seen,
        "lines_dropped": F("lines_dropped") + service.dropped,
    }
    if save:
        changes |= {"state": service.miner.to_bytes(), "updated_at": now}
    LogParserState.objects.filter(pk=row.pk).update(**changes)


def _sampling_note(share: tuple[int, int]) -> str:
    parsed, seen = share
    return f" (sampling: {parsed:,} of {seen:,} lines parsed)" if parsed < seen else ""


def _fire(signal: Signal) -> None:
    fired = incidents.fire(signal)
    if fired.new_incident:
        # The agent gathers diagnostics and notifies, as for a failing check.
        jobs.enqueue(AGENT_JOB, fired.incident.pk)


def _fire_new_error(
    service: _Service, cluster_id: int, delta: _Delta, share: tuple[int, int]
) -> None:
    title = f"New error in {service.name}: {delta.template}"[:180] + _sampling_note(share)
    _fire(
        Signal(
            fingerprint=service.fingerprint("new_error", f":{cluster_id}"),
            source=Alert.Source.LOG,
            cause="new_error",
            title=title,
            at=clock.now(),
            began_at=min(delta.first_at, clock.now()),
            component=service.name,
            facts={
                "service": service.name,
                "template_id": cluster_id,
                "template": delta.template[:500],
                "sampled": share[0] < share[1],
            },
        )
    )
    audit.record(
        ACTOR,
        "monitoring.log_new_error",
        ("logtemplate", f"{service.name}:{cluster_id}"),
        details={"template": delta.template[:500]},
    )


def _fire_error_rate(service: _Service, now: datetime, share: tuple[int, int]) -> None:
    rate = service.rate
    title = (
        f"Error spike in {service.name}: {rate.errors:,} error lines this minute "
        f"(normal {rate.baseline:.1f})" + _sampling_note(share)
    )
    _fire(
        Signal(
            fingerprint=service.fingerprint("error_rate"),
            source=Alert.Source.LOG,
            cause="error_rate",
            title=title,
            at=now,
            began_at=rate.minute,
            component=service.name,
            facts={
                "service": service.name,
                "error_rate": rate.errors,
                "baseline": round(rate.baseline, 2),
                "sampled": share[0] < share[1],
                "parsed": share[0],
                "seen": share[1],
            },
        )
    )
    audit.record(
        ACTOR,
        "monitoring.log_error_spike",
        ("logparserstate", service.name),
        details={"errors": rate.errors, "baseline": round(rate.baseline, 2)},
    )


_INGESTOR: Ingestor | None = None
_INGESTOR_LOCK = threading.Lock()


def ingestor() -> Ingestor:
    """This process's ingestor, with the limits from settings."""
    global _INGESTOR
    with _INGESTOR_LOCK:
        if _INGESTOR is None:
            _INGESTOR = Ingestor(Limits.from_settings())
        return _INGESTOR


def forget_ingestor() -> None:
    """Drop this process's miners (tests; a restart)."""
    global _INGESTOR
    with _INGESTOR_LOCK:
        _INGESTOR = None


# --- Reading what senders post -----------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    where: str  # "line 3" or "item 3"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


def read_records(body: bytes) -> tuple[list[tuple[str, dict[str, Any]]], list[Problem]]:
    """A JSON array of objects, or JSON Lines; each record with where it was."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return [], [Problem("body", f"not UTF-8 ({error.reason} at byte {error.start})")]
    if text.lstrip().startswith("["):
        return _read_array(text)
    records, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        item, problem = _decode(raw, f"line {number}")
        if problem is not None:
            problems.append(problem)
        elif item is not None:
            records.append((f"line {number}", item))
    return records, problems


def _read_array(text: str) -> tuple[list[tuple[str, dict[str, Any]]], list[Problem]]:
    try:
        items = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        return [], [Problem("body", f"not a valid JSON array ({error})")]
    records, problems = [], []
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict):
            records.append((f"item {number}", item))
        else:
            problems.append(Problem(f"item {number}", "not a JSON object"))
    return records, problems


def _decode(raw: str, where: str) -> tuple[dict[str, Any] | None, Problem | None]:
    try:
        item = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as error:
        return None, Problem(where, f"not valid JSON ({error})")
    if not isinstance(item, dict):
        return None, Problem(where, "not a JSON object")
    return item, None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def read_time(value: Any, now: datetime, max_skew: timedelta, max_age: timedelta) -> datetime:
    """`at` as ISO 8601 (no zone = UTC) or Unix seconds; absent = now. ValueError says why."""
    if value is None:
        return now
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("'at' must be an ISO 8601 time or Unix seconds")
    try:
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.strip())
        else:
            moment = datetime.fromtimestamp(float(value), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"'at' {value!r} is not an ISO 8601 time or Unix seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment - now > max_skew:
        ahead = int((moment - now).total_seconds())
        raise ValueError(
            f"'at' is {ahead:,} s in the future (clock skew?): at most "
            f"{int(max_skew.total_seconds())} s ahead are accepted"
        )
    if now - moment > max_age:
        raise ValueError(f"'at' is older than {max_age.days} days: not accepted")
    return moment


def read_log_line(item: dict[str, Any], now: datetime) -> LogLine:
    """One posted record as a LogLine; ValueError says what is wrong."""
    service = _text(item, "service", MAX_SERVICE_CHARS, required=True)
    message = item.get("message")
    if not isinstance(message, str) or not message.strip():
        raise ValueError("'message' must be a non-empty string")
    level = _text(item, "level", MAX_LEVEL_CHARS, required=False)
    at = read_time(item.get("at"), now, max_skew(), max_age())
    return LogLine(service=service, message=message, at=at, level=level)


def _text(item: dict[str, Any], name: str, limit: int, required: bool) -> str:
    value = item.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"'{name}' must be a non-empty string")
    value = value.strip()
    if len(value) > limit or not value.isprintable():
        raise ValueError(f"'{name}' must be at most {limit} printable characters")
    return value


def max_skew() -> timedelta:
    return timedelta(seconds=settings.INGEST_MAX_SKEW_SECONDS)


def max_age() -> timedelta:
    # Older than the raw points' retention would be pruned at once.
    return timedelta(days=settings.METRICS_RAW_DAYS)


def read_log_lines(body: bytes, now: datetime) -> tuple[list[LogLine], list[Problem]]:
    records, problems = read_records(body)
    lines = []
    for where, item in records:
        try:
            lines.append(read_log_line(item, now))
        except ValueError as error:
            problems.append(Problem(where, str(error)))
    return lines, problems
