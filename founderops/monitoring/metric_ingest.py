"""Metric points sent in (`POST /api/metrics`): stored, learned, and alerted on when unusual.

Points are stored through `metrics.store_points` (the same batches, rollups and retention as
the checks' own series). Each series' points newer than its latest are scored in time order by
the series' anomaly detector (`metrics.detectors`, state in MetricSeries.detector_state).

A detection alone does not page: the detector flags the first unusual point, and the alert
("anomaly") fires only when it is sustained, CONFIRM_HITS of the detection point and the
CONFIRM_WINDOW points after it lie outside the band the series had before (mean ± BAND_SIGMAS
standard deviations of its previous BASELINE_POINTS points). One odd point is a blip. The alert
clears after CLEAR_POINTS points back inside the band, or once the detector has seen HISTORY
points since (by then that level is its normal).
"""

from __future__ import annotations

import math
import statistics
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from founderops.core import audit, clock, jobs
from founderops.incidents import services as incidents
from founderops.incidents.alerts import Signal
from founderops.incidents.models import Alert, Component
from founderops.monitoring import metrics
from founderops.monitoring.anomaly import HISTORY, THRESHOLD
from founderops.monitoring.logs import Problem, max_age, max_skew, read_records, read_time
from founderops.monitoring.models import MetricPoint, MetricSeries

ACTOR = "agent:monitoring"
MONITOR_PREFIX = "monitor:"  # the engine names its series monitor:NAME:METRIC
AGENT_JOB = "founderops.monitoring.agent.respond"
CONFIRM_WINDOW = 3
CONFIRM_HITS = 3
BAND_SIGMAS = 3.0
BASELINE_POINTS = 200
CLEAR_POINTS = 5
MAX_SERIES_CHARS = 200
MAX_UNIT_CHARS = 20
SLOW_UNITS = {"ms", "s", "seconds", "milliseconds"}


@dataclass(frozen=True)
class Incoming:
    series: str
    value: float
    at: datetime
    unit: str = ""
    component: str = ""


@dataclass
class MetricsResult:
    accepted: int = 0
    anomalies: list[str] = field(default_factory=list)


@dataclass
class _Watch:
    """What the alert logic remembers of one series between points."""

    mean: float = 0.0
    scale: float = 0.0
    left: int = 0  # points still to look at before a detection is confirmed or dropped
    hits: int = 0
    firing: bool = False
    calm: int = 0
    since_fire: int = 0
    peak: float = 0.0


# The pending confirmations of this process; whether an alert is firing is read back from
# the alerts on first use, so a restart never leaves one stuck.
_watches: dict[int, _Watch] = {}
_lock = threading.Lock()


def read_points(body: bytes, now: datetime) -> tuple[list[Incoming], list[Problem]]:
    records, problems = read_records(body)
    points = []
    for where, item in records:
        try:
            points.append(read_point(item, now))
        except ValueError as error:
            problems.append(Problem(where, str(error)))
    return points, problems


def read_point(item: dict[str, Any], now: datetime) -> Incoming:
    name = item.get("series")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_SERIES_CHARS:
        raise ValueError(f"'series' must be a name of 1 to {MAX_SERIES_CHARS} characters")
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("'value' must be a finite number")
    unit = item.get("unit", "")
    if not isinstance(unit, str) or len(unit) > MAX_UNIT_CHARS:
        raise ValueError(f"'unit' must be a string of at most {MAX_UNIT_CHARS} characters")
    component = item.get("component", "")
    if not isinstance(component, str):
        raise ValueError("'component' must be a component's slug")
    at = read_time(item.get("at"), now, max_skew(), max_age())
    return Incoming(name.strip(), float(value), at, unit.strip(), component.strip())


def monitor_series(points: list[Incoming]) -> set[str]:
    """Series a monitor feeds are the engine's: a posted point would corrupt its learning.
    The `monitor:` names are reserved even before a first check: the engine would adopt a
    series a post created, unlinked to its monitor, and keep taking posts into it."""
    names = {p.series for p in points}
    owned = MetricSeries.objects.filter(name__in=names, monitor__isnull=False)
    return set(owned.values_list("name", flat=True)) | {
        name for name in names if name.lower().startswith(MONITOR_PREFIX)
    }


def ingest_points(points: list[Incoming]) -> MetricsResult:
    """Store the points, score the new ones in order, fire or clear sustained anomalies."""
    result = MetricsResult(accepted=len(points))
    if not points:
        return result
    before = dict(
        MetricSeries.objects.filter(name__in={p.series for p in points}).values_list(
            "name", "last_at"
        )
    )
    units: dict[str, str] = {}
    for point in points:
        # The series takes its unit from any point of the batch that names one.
        units[point.series] = units.get(point.series) or point.unit
    components = dict(
        Component.objects.filter(slug__in={p.component for p in points}).values_list("slug", "pk")
    )
    metrics.store_points([_point(p, units[p.series], components) for p in points])
    fresh: dict[str, list[Incoming]] = defaultdict(list)
    for point in sorted(points, key=lambda p: p.at):
        last = before.get(point.series)
        if last is None or point.at > last:
            fresh[point.series].append(point)
    series = {s.name: s for s in MetricSeries.objects.filter(name__in=fresh)}
    with _lock:
        for name, new in fresh.items():
            result.anomalies += _score(series[name], new)
    MetricSeries.objects.bulk_update(series.values(), ["last_score", "detector_state"])
    return result


def _point(incoming: Incoming, unit: str, components: dict[str, int]) -> metrics.Point:
    component = components.get(incoming.component)
    return metrics.Point(incoming.series, incoming.at, incoming.value, unit, component_id=component)


def _score(series: MetricSeries, points: list[Incoming]) -> list[str]:
    watch = _watches.get(series.pk)
    if watch is None:
        watch = _watches[series.pk] = _Watch(firing=_firing(series))
    fired = []
    for point in points:
        # The detector's state lands on `series` when due; it is written with the batch.
        score, _ = metrics.detectors.score(series, point.value, point.at)
        series.last_score = score
        outcome = _step(series, watch, point, score)
        if outcome == "fire":
            _fire(series, watch, point)
            fired.append(series.name)
        elif outcome == "clear":
            incidents.clear(_fingerprint(series), point.at)
    return fired


def _step(series: MetricSeries, watch: _Watch, point: Incoming, score: float) -> str:
    """Advance the confirmation or the recovery by one point: "fire", "clear" or ""."""
    if watch.firing:
        watch.since_fire += 1
        watch.calm = watch.calm + 1 if not _outside(watch, point.value) else 0
        if watch.calm >= CLEAR_POINTS or watch.since_fire >= HISTORY:
            watch.firing, watch.calm, watch.since_fire = False, 0, 0
            return "clear"
        return ""
    if watch.left > 0:
        watch.left -= 1
        watch.hits += _outside(watch, point.value)
        watch.peak = max(watch.peak, abs(point.value - watch.mean))
        if watch.hits >= CONFIRM_HITS:
            watch.firing, watch.left, watch.since_fire, watch.calm = True, 0, 0, 0
            return "fire"
        return ""
    if score >= THRESHOLD:
        mean, scale = _baseline(series, point.at)
        watch.mean, watch.scale, watch.left = mean, scale, CONFIRM_WINDOW
        watch.hits = int(_outside(watch, point.value))
        watch.peak = abs(point.value - mean)
    return ""


def _outside(watch: _Watch, value: float) -> bool:
    return abs(value - watch.mean) > BAND_SIGMAS * watch.scale


def _baseline(series: MetricSeries, before: datetime) -> tuple[float, float]:
    """Mean and standard deviation of the points before the detection (floored, so a flat
    series still has a band)."""
    values = list(
        MetricPoint.objects.filter(series=series, at__lt=before)
        .order_by("-at")
        .values_list("value", flat=True)[:BASELINE_POINTS]
    )
    if not values:
        return 0.0, 1e-9
    mean = statistics.fmean(values)
    spread = statistics.pstdev(values) if len(values) > 1 else 0.0
    return mean, max(spread, 0.01 * abs(mean), 1e-9)


def _fingerprint(series: MetricSeries) -> str:
    return f"metric:{series.name}:anomaly"[:200]


def _firing(series: MetricSeries) -> bool:
    return Alert.objects.filter(fingerprint=_fingerprint(series), state=Alert.State.FIRING).exists()


def _fire(series: MetricSeries, watch: _Watch, point: Incoming) -> None:
    unit = f" {series.unit}" if series.unit else ""
    facts: dict[str, Any] = {
        "series": series.name,
        "value": point.value,
        "normal": round(watch.mean, 4),
        "score": round(series.last_score or 0.0, 3),
    }
    if series.unit in SLOW_UNITS and watch.mean > 0 and point.value > watch.mean:
        # A latency series: the priority rules read how much slower than normal it is.
        facts["slowdown"] = round((point.value - watch.mean) / watch.mean, 2)
    slug = ""
    if series.component_id is not None:
        found = Component.objects.filter(pk=series.component_id).values_list("slug", flat=True)
        slug = found.first() or ""
    fired = incidents.fire(
        Signal(
            fingerprint=_fingerprint(series),
            source=Alert.Source.ANOMALY,
            cause="anomaly",
            title=f"Unusual {series.name}: {point.value:g}{unit} (normal about "
            f"{watch.mean:.4g}{unit})",
            at=clock.now(),
            began_at=min(point.at, clock.now()),
            component=slug,
            facts=facts,
        )
    )
    audit.record(ACTOR, "monitoring.metric_anomaly", ("metricseries", series.pk), details=facts)
    if fired.new_incident:
        jobs.enqueue(AGENT_JOB, fired.incident.pk)


def forget_watches() -> None:
    """Drop this process's pending confirmations (tests)."""
    with _lock:
        _watches.clear()
