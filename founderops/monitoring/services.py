"""Every write of monitoring: check results in batches, the state machine, pause and resume.

The state moves only with hysteresis (Gatus' rule): `fail_threshold` bad runs in a row make a
monitor DOWN or DEGRADED and fire an alert through incidents' one door; `recover_threshold`
good runs in a row make it UP and clear the alert. A blip shorter than that never pages.

Slowness is judged against the monitor's own normal: the median of its latest successful
latencies at normal speed (`normal_latencies_ms`). A run is slow when the median of its last
3 latencies (its own and the two answered runs before it, read back from the results) is
`slow_factor` (default 1.2) times the normal or more, and at least MIN_SLOWDOWN_MS more: one
sample delayed by something else (this process busy with a big outage, a GC pause, a
retransmit) cannot make a run slow, while a lasting slowdown with the usual jitter around it
still makes every run slow. With fewer than 3 latencies at hand (the first runs, just after
an outage) the lowest counts. A slow run is bad with cause "slow", and its facts carry
`slowdown` (0.3 = 30 % slower), so the priority rules can tell a P2 from a P1 at 50 %.
Latencies at or above the threshold are kept out of the normal, even when the run was not
slow, so a slowdown that lasts does not become the new normal behind the founder's back;
`resume` forgets the normal, for when slower is the new normal.

Inside a maintenance window (of the monitor, of its component, or of everything) checks are
recorded and counted but never fire. A result older than the monitor's last one (clock skew,
a late batch) is kept as history and does not move the state.
"""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from founderops.core import audit, clock, jobs
from founderops.incidents import services as incidents
from founderops.incidents.alerts import Signal
from founderops.monitoring import bulk, metrics
from founderops.monitoring.models import CheckResult, MaintenanceWindow, Monitor
from founderops.monitoring.probes import DEGRADED, DOWN, UP, ProbeResult

logger = logging.getLogger(__name__)

ACTOR = "agent:monitoring"
AGENT_JOB = "founderops.monitoring.agent.respond"
NORMAL_SAMPLES = 30
NORMAL_MIN_SAMPLES = 5
# 1.2: the bench's "30 % slower" targets are 30 % slower in their own time, which the
# fixed cost of a connection dilutes to 24-27 % on the wire; 1.25 missed 3 of 5.
DEFAULT_SLOW_FACTOR = 1.2
# The median of 3 already removes one-off jitter and the wire time leaves this process's own
# delays out, so the floor only has to keep a 2 ms check taking 4 ms from being a slowdown;
# 10 ms still lets a 25 % slowdown of a 50 ms page count.
MIN_SLOWDOWN_MS = 10.0
SLOW_RUNS = 3
# How far before a batch the earlier latencies are looked for, besides SLOW_RUNS intervals.
RECENT_SLACK_S = 60
ERROR_CHARS = 500
STATE_FIELDS = [
    "state",
    "state_since",
    "consecutive_failures",
    "consecutive_successes",
    "failing_since",
    "last_checked_at",
    "next_check_at",
    "last_error",
    "last_latency_ms",
    "normal_latencies_ms",
    "firing_fingerprint",
]
BAD = {DOWN, DEGRADED}
# What the state machine reads besides the state; loading only these keeps a batch cheap.
JUDGED_BY = ["name", "kind", "enabled", "options", "component", "fail_threshold"]
JUDGED_BY += ["recover_threshold", "interval_s"]


@dataclass(frozen=True)
class Run:
    """One finished check of one monitor, as the engine hands it over."""

    monitor_id: int
    at: datetime
    result: ProbeResult
    next_check_at: datetime | None = None


@dataclass
class Actions:
    """What a batch asks of incidents, done once its rows are committed."""

    fire: list[tuple[Monitor, Signal]] = field(default_factory=list)
    clear: list[tuple[Monitor, str, datetime]] = field(default_factory=list)
    changes: list[tuple[Monitor, str, str]] = field(default_factory=list)
    # Per monitor of the batch: its latest run's time and its bad runs in a row after it,
    # for the engine to retry a failing monitor sooner (a slow run is only known here).
    failures: dict[int, tuple[datetime, int]] = field(default_factory=dict)


def record_results(runs: Sequence[Run]) -> Actions:
    """Write a batch of runs: results, monitors' states, metric points; then fire and clear."""
    if not runs:
        return Actions()
    actions = Actions()
    with transaction.atomic():
        # Locked (PostgreSQL; SQLite's write transaction already is): a `monitor check`
        # from the shell and the engine must not both count from the same old counters.
        monitors = (
            Monitor.objects.only(*STATE_FIELDS, *JUDGED_BY)
            .select_for_update()
            .in_bulk({run.monitor_id for run in runs})
        )
        runs = [run for run in runs if run.monitor_id in monitors]  # deleted meanwhile
        quiet = _Maintenance(runs, monitors.values())
        recent = recent_latencies(runs, monitors)
        rows: list[CheckResult] = []
        for run in sorted(runs, key=lambda r: r.at):
            monitor = monitors[run.monitor_id]
            earlier = recent.setdefault(monitor.pk, [])
            judged = judge(monitor, run.result, earlier)
            if answered(run.result):
                earlier.append(float(run.result.latency_ms or 0.0))
            rows.append(_row(monitor, run, judged))
            if monitor.last_checked_at is not None and run.at < monitor.last_checked_at:
                rows[-1].detail["out_of_order"] = True
                continue
            if not monitor.enabled:
                continue  # paused while this run was under way: kept, but it moves nothing
            advance(monitor, judged, run.at, quiet.covers(monitor, run.at), actions)
            monitor.next_check_at = run.next_check_at or monitor.next_check_at
            actions.failures[monitor.pk] = (run.at, monitor.consecutive_failures)
        CheckResult.objects.bulk_create(rows)
        bulk.update_rows(monitors.values(), STATE_FIELDS)
        metrics.store_points(_points(monitors, runs))
    _signal(actions)
    return actions


def _row(monitor: Monitor, run: Run, judged: ProbeResult) -> CheckResult:
    detail = dict(judged.detail)
    if judged.metrics:
        detail["metrics"] = judged.metrics
    return CheckResult(
        monitor=monitor,
        at=run.at,
        outcome=judged.outcome,
        latency_ms=judged.latency_ms,
        error=judged.error[:ERROR_CHARS],
        detail=detail,
    )


def _points(monitors: dict[int, Monitor], runs: Iterable[Run]) -> list[metrics.Point]:
    points: list[metrics.Point] = []
    for run in runs:
        monitor = monitors[run.monitor_id]
        base = f"monitor:{monitor.name}:"
        owner, component = monitor.pk, monitor.component_id
        if run.result.latency_ms is not None:
            points.append(
                metrics.Point(
                    base + "latency_ms", run.at, run.result.latency_ms, "ms", owner, component, True
                )
            )
        for name, value in run.result.metrics.items():
            points.append(metrics.Point(base + name, run.at, float(value), "", owner, component))
    return points


# --- the state machine ------------------------------------------------------------------


def normal_latency(monitor: Monitor) -> float | None:
    samples = monitor.normal_latencies_ms or []
    if len(samples) < NORMAL_MIN_SAMPLES:
        return None
    return float(statistics.median(samples))


def slow_factor(monitor: Monitor) -> float:
    value = monitor.options.get("slow_factor", DEFAULT_SLOW_FACTOR)
    return float(value) if isinstance(value, int | float) and value > 1 else DEFAULT_SLOW_FACTOR


def answered(result: ProbeResult) -> bool:
    """A run whose latency says how fast the service answers (a down run's does not)."""
    return result.latency_ms is not None and result.outcome != DOWN


def recent_latencies(runs: Sequence[Run], monitors: dict[int, Monitor]) -> dict[int, list[float]]:
    """Per monitor, the latencies of its last answered runs before this batch (oldest first,
    at most SLOW_RUNS - 1): one query, over a window of a few of each monitor's intervals."""
    if not runs:
        return {}
    first = min(run.at for run in runs)
    by_interval: dict[int, list[int]] = defaultdict(list)
    for monitor in monitors.values():
        by_interval[monitor.interval_s].append(monitor.pk)
    window = Q()
    for interval, ids in by_interval.items():
        since = first - timedelta(seconds=SLOW_RUNS * interval + RECENT_SLACK_S)
        window |= Q(monitor_id__in=ids, at__gte=since)
    rows = (
        CheckResult.objects.filter(window, at__lt=first, latency_ms__isnull=False)
        .exclude(outcome=DOWN)
        .order_by("monitor_id", "at")
        .values_list("monitor_id", "latency_ms")
    )
    found: dict[int, list[float]] = defaultdict(list)
    for pk, latency in rows:
        if latency is not None:  # filtered out already; says so to the type checker
            found[pk].append(float(latency))
    return {pk: latencies[-(SLOW_RUNS - 1) :] for pk, latencies in found.items()}


def slow_threshold(monitor: Monitor, normal: float) -> float:
    """The latency at and above which a sample counts as slow (factor and floor)."""
    return max(slow_factor(monitor) * normal, normal + MIN_SLOWDOWN_MS)


def robust_latency(latency: float, earlier: Sequence[float]) -> float:
    """The median of the last SLOW_RUNS latencies, this one included; the lowest when fewer
    are known, so that one outlier never counts alone."""
    samples = [*earlier[-(SLOW_RUNS - 1) :], latency]
    if len(samples) < SLOW_RUNS:
        return min(samples)
    return float(statistics.median(samples))


def judge(monitor: Monitor, result: ProbeResult, earlier: Sequence[float] = ()) -> ProbeResult:
    """The run as the state machine counts it: a fast-enough success, or bad and why.
    `earlier`: the latencies of the monitor's answered runs before this one, oldest first."""
    normal = normal_latency(monitor)
    latency = result.latency_ms
    if latency is None or normal is None or normal <= 0:
        return result
    typical = robust_latency(latency, earlier)
    slowdown = typical / normal - 1
    # A floor in milliseconds too: a 2 ms health check taking 3 ms is jitter, not a slowdown.
    slow = typical >= slow_threshold(monitor, normal)
    if result.outcome == UP and slow:
        error = (
            f"{latency:.0f} ms (median of the last {SLOW_RUNS} {typical:.0f} ms), "
            f"{slowdown:.0%} slower than its normal {normal:.0f} ms"
        )
        facts = {**result.facts, "slowdown": round(slowdown, 3), "normal_ms": round(normal, 1)}
        return replace(result, outcome=DEGRADED, cause="slow", error=error, facts=facts)
    if result.cause == "slow":  # over max_latency_ms: say how slow against the normal too
        facts = {**result.facts, "slowdown": round(max(latency / normal - 1, 0.0), 3)}
        return replace(result, facts=facts)
    return result


def advance(
    monitor: Monitor, judged: ProbeResult, at: datetime, quiet: bool, actions: Actions
) -> None:
    """Move one monitor's counters and state for one run; queue fire/clear in `actions`."""
    bad = judged.outcome in BAD
    monitor.last_checked_at = at
    monitor.last_error = judged.error[:ERROR_CHARS]
    monitor.last_latency_ms = judged.latency_ms
    if bad:
        monitor.consecutive_successes = 0
        monitor.consecutive_failures += 1
        monitor.failing_since = monitor.failing_since or at
    else:
        monitor.consecutive_failures = 0
        monitor.consecutive_successes += 1
        _learn(monitor, judged)
    if bad and monitor.consecutive_failures >= monitor.fail_threshold:
        _failing(monitor, judged, at, quiet, actions)
    elif not bad:
        _passing(monitor, at, quiet, actions)


def _learn(monitor: Monitor, judged: ProbeResult) -> None:
    if judged.latency_ms is None:
        return
    normal = normal_latency(monitor)
    if normal is not None and judged.latency_ms >= slow_threshold(monitor, normal):
        return  # a slow sample in a good run (the median was fine): not normal speed either
    samples = [*(monitor.normal_latencies_ms or []), round(judged.latency_ms, 3)]
    monitor.normal_latencies_ms = samples[-NORMAL_SAMPLES:]


def _failing(
    monitor: Monitor, judged: ProbeResult, at: datetime, quiet: bool, actions: Actions
) -> None:
    if quiet:
        _set_state(monitor, Monitor.State.MAINTENANCE, at, actions)
        return
    _set_state(monitor, DOWN if judged.outcome == DOWN else DEGRADED, at, actions)
    cause = judged.cause or "down"
    fingerprint = f"monitor:{monitor.name}:{cause}"
    if monitor.firing_fingerprint and monitor.firing_fingerprint != fingerprint:
        actions.clear.append((monitor, monitor.firing_fingerprint, at))
    monitor.firing_fingerprint = fingerprint
    # Fired on every bad run while it lasts: the alert's last_seen_at stays true, and a
    # fire that failed (the database hiccuped) is made good by the next run.
    actions.fire.append((monitor, _signal_of(monitor, judged, fingerprint, at)))


def _passing(monitor: Monitor, at: datetime, quiet: bool, actions: Actions) -> None:
    failing = monitor.state in (DOWN, DEGRADED) or bool(monitor.firing_fingerprint)
    if failing and monitor.consecutive_successes < monitor.recover_threshold:
        return  # one good run after an outage is not yet a recovery
    if monitor.firing_fingerprint:
        actions.clear.append((monitor, monitor.firing_fingerprint, at))
        monitor.firing_fingerprint = ""
    monitor.failing_since = None
    _set_state(monitor, Monitor.State.MAINTENANCE if quiet else UP, at, actions)


def _set_state(monitor: Monitor, state: str, at: datetime, actions: Actions) -> None:
    if monitor.state != state:
        actions.changes.append((monitor, monitor.state, state))
        monitor.state, monitor.state_since = state, at


def _signal_of(monitor: Monitor, judged: ProbeResult, fingerprint: str, at: datetime) -> Signal:
    verb = "is down" if judged.outcome == DOWN else "is degraded"
    if judged.cause == "slow":
        verb = "is slow"
    facts: dict[str, Any] = {
        "hard": False,
        **judged.facts,
        "monitor": monitor.name,
        "kind": monitor.kind,
        "error": judged.error[:ERROR_CHARS],
        "outcome": judged.outcome,
    }
    if judged.latency_ms is not None:
        facts["latency_ms"] = round(judged.latency_ms, 1)
    return Signal(
        fingerprint=fingerprint,
        source="check",
        cause=judged.cause or "down",
        title=f"{monitor.name} {verb}: {judged.error}"[:200],
        at=at,
        began_at=monitor.failing_since,
        component=monitor.component.slug if monitor.component else "",
        facts=facts,
    )


# --- after the commit: incidents --------------------------------------------------------


def _signal(actions: Actions) -> None:
    for monitor, old, new in actions.changes:
        if not {old, new} & BAD:
            continue  # first runs and maintenance edges are not events worth a trail entry
        audit.record(
            ACTOR,
            f"monitoring.monitor_{new}",
            ("monitor", monitor.pk),
            details={"from": old, "to": new, "error": monitor.last_error},
        )
    for _monitor, fingerprint, at in actions.clear:
        incidents.clear(fingerprint, at)
    for monitor, signal in actions.fire:
        _fire(monitor, signal)


def _fire(monitor: Monitor, signal: Signal) -> None:
    try:
        fired = incidents.fire(signal)
    except Exception:
        # Logged with its traceback and not lost: the monitor fires again on its next bad
        # run (it is still failing), and the other monitors of the batch still fire now.
        logger.exception("monitor %s: the alert could not be fired", monitor.name)
        return
    if fired.new_incident:
        jobs.enqueue(AGENT_JOB, fired.incident.pk)


class _Maintenance:
    """The maintenance windows a batch's runs fall in, loaded once per batch."""

    def __init__(self, runs: Sequence[Run], monitors: Iterable[Monitor]) -> None:
        self.windows: list[tuple[datetime, datetime, set[int], set[int]]] = []
        if not runs:
            return
        first, last = min(r.at for r in runs), max(r.at for r in runs)
        found = MaintenanceWindow.objects.filter(starts_at__lte=last, ends_at__gt=first)
        for window in found.prefetch_related("monitors", "components"):
            self.windows.append(
                (
                    window.starts_at,
                    window.ends_at,
                    {m.pk for m in window.monitors.all()},
                    {c.pk for c in window.components.all()},
                )
            )

    def covers(self, monitor: Monitor, at: datetime) -> bool:
        for starts, ends, monitor_ids, component_ids in self.windows:
            if not starts <= at < ends:
                continue
            if not monitor_ids and not component_ids:
                return True
            if monitor.pk in monitor_ids or monitor.component_id in component_ids:
                return True
        return False


def in_maintenance(monitor: Monitor, at: datetime | None = None) -> bool:
    moment = at or clock.now()
    return _Maintenance([Run(monitor.pk, moment, ProbeResult(UP))], [monitor]).covers(
        monitor, moment
    )


# --- the founder's controls -------------------------------------------------------------


def pause(monitor: Monitor, actor: str) -> Monitor:
    """Stop checking; an alert it had firing is cleared (nobody watches it any more)."""
    now = clock.now()
    with transaction.atomic():
        if monitor.firing_fingerprint:
            incidents.clear(monitor.firing_fingerprint, now)
        monitor.enabled = False
        monitor.state, monitor.state_since = Monitor.State.PAUSED, now
        monitor.firing_fingerprint = ""
        monitor.save()
        audit.record(actor, "monitoring.monitor_paused", ("monitor", monitor.pk))
    return monitor


def resume(monitor: Monitor, actor: str) -> Monitor:
    """Check again from a clean slate: counters, failure run and learned normal forgotten."""
    now = clock.now()
    with transaction.atomic():
        monitor.enabled = True
        monitor.state, monitor.state_since = Monitor.State.UNKNOWN, now
        monitor.consecutive_failures = monitor.consecutive_successes = 0
        monitor.failing_since = None
        monitor.normal_latencies_ms = []
        monitor.next_check_at = now
        monitor.save()
        audit.record(actor, "monitoring.monitor_resumed", ("monitor", monitor.pk))
    return monitor


def check_now(monitor: Monitor, actor: str) -> None:
    """Ask the running engine to check it at once (it polls for this every few seconds)."""
    now = clock.now()
    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=now - timedelta(microseconds=1))
    audit.record(actor, "monitoring.check_requested", ("monitor", monitor.pk))


def due_now(now: datetime) -> list[tuple[int, datetime]]:
    """Enabled monitors whose stored next check is already past (asked for, or overdue)."""
    rows = Monitor.objects.filter(next_check_at__lte=now, enabled=True)
    return [(pk, at) for pk, at in rows.values_list("pk", "next_check_at") if at is not None]
