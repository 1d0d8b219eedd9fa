"""Metric series: points stored in batches, rolled up, pruned by age, and learned.

Raw points are kept FOUNDEROPS_METRICS_RAW_DAYS (7), 5-minute rollups METRICS_5MIN_DAYS (90),
hourly rollups METRICS_HOURLY_DAYS (400), check results CHECK_RESULTS_DAYS (90). A rollup is
count, total, minimum and maximum, so averages and extremes of any period survive the raw
points. The daily uptime of the status page does not need the check results: it is computed
from the components' status changes, which are kept.

Latency series are learned by the anomaly detector (founderops.monitoring.anomaly): each new
point is scored and the score kept on the series (`last_score`) for the incident agent to read;
an unusual latency alone never pages. The detectors live in the process that scores (the
engine) and their state is saved to `MetricSeries.detector_state` every SAVE_EVERY points and
when the engine stops, since serialising a detector's history on every point would cost more
than the checks themselves.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from founderops.core import clock
from founderops.monitoring import bulk
from founderops.monitoring.anomaly import AnomalyDetector
from founderops.monitoring.models import CheckResult, MetricPoint, MetricRollup, MetricSeries

logger = logging.getLogger(__name__)

FIVE_MINUTES = 300
HOUR = 3600
SAVE_EVERY = 30
# Rollups recompute at most this much raw history per run, so a first run over weeks of
# points catches up over several runs instead of holding one long transaction.
ROLLUP_CHUNK = timedelta(hours=6)
ROLLUP_MAX_CHUNKS = 8


@dataclass(frozen=True)
class Point:
    series: str
    at: datetime
    value: float
    unit: str = ""
    monitor_id: int | None = None
    component_id: int | None = None
    # Score it with the series' anomaly detector (latency series).
    learn: bool = False


class Detectors:
    """The anomaly detectors of the series this process scores, saved now and then."""

    def __init__(self) -> None:
        self._live: dict[int, AnomalyDetector] = {}
        self._unsaved: dict[int, int] = {}

    def score(
        self, series: MetricSeries, value: float, at: datetime | None = None
    ) -> tuple[float, bool]:
        """The point's anomaly score, and whether the detector's state is due to be saved
        (then it is on `series.detector_state`). `at` lets the detector learn what recurs
        at the same hour every day (a nightly batch job's spike is not an anomaly)."""
        detector = self._live.get(series.pk)
        if detector is None:
            detector = self._load(series)
            self._live[series.pk] = detector
        score = detector.update(value, at)
        self._unsaved[series.pk] = self._unsaved.get(series.pk, 0) + 1
        if self._unsaved[series.pk] < SAVE_EVERY:
            return score, False
        series.detector_state = detector.to_state()
        self._unsaved[series.pk] = 0
        return score, True

    def save_all(self) -> int:
        """Write every detector with unsaved points (the engine calls this when it stops)."""
        dirty = [pk for pk, count in self._unsaved.items() if count]
        for pk in dirty:
            MetricSeries.objects.filter(pk=pk).update(detector_state=self._live[pk].to_state())
            self._unsaved[pk] = 0
        return len(dirty)

    @staticmethod
    def _load(series: MetricSeries) -> AnomalyDetector:
        if not series.detector_state:
            return AnomalyDetector()
        try:
            return AnomalyDetector.from_state(series.detector_state)
        except ValueError as error:
            # A state from another detector version: learn again rather than stop scoring.
            logger.warning("series %s: detector state dropped (%s)", series.name, error)
            return AnomalyDetector()


detectors = Detectors()


def store_points(points: Sequence[Point]) -> None:
    """Write a batch of points: their series (created on first use), latest values, scores."""
    if not points:
        return
    by_name = _series_for(points)
    MetricPoint.objects.bulk_create(
        [MetricPoint(series=by_name[p.series], at=p.at, value=p.value) for p in points]
    )
    changed: dict[int, MetricSeries] = {}
    learned: dict[int, MetricSeries] = {}
    for point in sorted(points, key=lambda p: p.at):
        series = by_name[point.series]
        if series.last_at is not None and point.at < series.last_at:
            continue  # a late point (clock skew) is history, not the latest value
        series.last_value, series.last_at = point.value, point.at
        if point.learn:
            series.last_score, saved = detectors.score(series, point.value, point.at)
            if saved:
                learned[series.pk] = series
        changed[series.pk] = series
    bulk.update_rows(changed.values(), ["last_value", "last_at", "last_score"])
    bulk.update_rows(learned.values(), ["detector_state"])


def _series_for(points: Iterable[Point]) -> dict[str, MetricSeries]:
    wanted = {p.series: p for p in points}
    found = {s.name: s for s in MetricSeries.objects.filter(name__in=wanted)}
    missing = [
        MetricSeries(name=name, unit=p.unit, monitor_id=p.monitor_id, component_id=p.component_id)
        for name, p in wanted.items()
        if name not in found
    ]
    if missing:
        # ignore_conflicts: another process may create the same series at the same moment.
        MetricSeries.objects.bulk_create(missing, ignore_conflicts=True)
        names = [s.name for s in missing]
        found |= {s.name: s for s in MetricSeries.objects.filter(name__in=names)}
    return found


# --- rollups ----------------------------------------------------------------------------


def bucket_of(moment: datetime, resolution_s: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % resolution_s, tz=UTC)


@dataclass
class _Bucket:
    count: int = 0
    total: float = 0.0
    minimum: float = float("inf")
    maximum: float = float("-inf")

    def add(self, count: int, total: float, minimum: float, maximum: float) -> None:
        self.count += count
        self.total += total
        self.minimum = min(self.minimum, minimum)
        self.maximum = max(self.maximum, maximum)


def rollup(now: datetime | None = None) -> dict[str, int]:
    """Roll complete 5-minute buckets from raw points, and hours from those buckets."""
    now = now or clock.now()
    five = _roll(bucket_of(now, FIVE_MINUTES), FIVE_MINUTES, _raw_rows, _next_raw)
    # An hour is complete once its last 5-minute bucket is; the newest 5-minute bucket is
    # redone next run, so its hour waits.
    newest = _resume_from(FIVE_MINUTES)
    hourly = 0
    if newest is not None:
        end = min(bucket_of(now, HOUR), bucket_of(newest, HOUR))
        hourly = _roll(end, HOUR, _five_minute_rows, _next_five_minute)
    return {"rollups_5min": five, "rollups_hourly": hourly}


def _roll(end: datetime, resolution: int, rows: Any, next_data: Any) -> int:
    """Buckets from where the last run stopped up to `end` (exclusive: complete ones)."""
    start = _resume_from(resolution)
    written = 0
    for _ in range(ROLLUP_MAX_CHUNKS):
        if start is None or start >= end:
            break
        stop = min(end, bucket_of(start + ROLLUP_CHUNK, resolution))
        stop = stop if stop > start else start + timedelta(seconds=resolution)
        buckets = _aggregate(rows(start, stop), resolution)
        written += _write(resolution, buckets)
        # Over a gap in the data (the engine was off for days), jump to the next data.
        following: datetime | None = next_data(stop)
        start = stop if buckets or following is None else bucket_of(following, resolution)
        if following is None:
            break
    return written


def _next_raw(after: datetime) -> datetime | None:
    found: datetime | None = (
        MetricPoint.objects.filter(at__gte=after)
        .order_by("at")
        .values_list("at", flat=True)
        .first()
    )
    return found


def _next_five_minute(after: datetime) -> datetime | None:
    found: datetime | None = (
        MetricRollup.objects.filter(resolution_s=FIVE_MINUTES, bucket__gte=after)
        .order_by("bucket")
        .values_list("bucket", flat=True)
        .first()
    )
    return found


def _resume_from(resolution: int) -> datetime | None:
    """The last bucket written (redone: it may have had late points), else the first data."""
    last = (
        MetricRollup.objects.filter(resolution_s=resolution)
        .order_by("-bucket")
        .values_list("bucket", flat=True)
        .first()
    )
    if last is not None:
        return last
    source = (
        MetricPoint.objects.order_by("at").values_list("at", flat=True).first()
        if resolution == FIVE_MINUTES
        else MetricRollup.objects.filter(resolution_s=FIVE_MINUTES)
        .order_by("bucket")
        .values_list("bucket", flat=True)
        .first()
    )
    return None if source is None else bucket_of(source, resolution)


def _raw_rows(
    start: datetime, stop: datetime
) -> Iterable[tuple[int, datetime, int, float, float, float]]:
    points = MetricPoint.objects.filter(at__gte=start, at__lt=stop)
    for series_id, at, value in points.values_list("series_id", "at", "value").iterator(
        chunk_size=5000
    ):
        yield series_id, at, 1, value, value, value


def _five_minute_rows(
    start: datetime, stop: datetime
) -> Iterable[tuple[int, datetime, int, float, float, float]]:
    rollups = MetricRollup.objects.filter(
        resolution_s=FIVE_MINUTES, bucket__gte=start, bucket__lt=stop
    ).values_list("series_id", "bucket", "count", "total", "minimum", "maximum")
    yield from rollups.iterator(chunk_size=5000)


def _aggregate(
    rows: Iterable[tuple[int, datetime, int, float, float, float]], resolution: int
) -> dict[tuple[int, datetime], _Bucket]:
    buckets: dict[tuple[int, datetime], _Bucket] = defaultdict(_Bucket)
    for series_id, at, count, total, minimum, maximum in rows:
        buckets[(series_id, bucket_of(at, resolution))].add(count, total, minimum, maximum)
    return buckets


def _write(resolution: int, buckets: dict[tuple[int, datetime], _Bucket]) -> int:
    rows = [
        MetricRollup(
            series_id=series_id,
            resolution_s=resolution,
            bucket=bucket,
            count=b.count,
            total=b.total,
            minimum=b.minimum,
            maximum=b.maximum,
        )
        for (series_id, bucket), b in buckets.items()
    ]
    with transaction.atomic():
        MetricRollup.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["series", "resolution_s", "bucket"],
            update_fields=["count", "total", "minimum", "maximum"],
        )
    return len(rows)


# --- retention --------------------------------------------------------------------------


def prune(now: datetime | None = None) -> dict[str, int]:
    """Delete what is past its retention; raw points only once their bucket is rolled up."""
    now = now or clock.now()
    rolled = (
        MetricRollup.objects.filter(resolution_s=FIVE_MINUTES)
        .order_by("-bucket")
        .values_list("bucket", flat=True)
        .first()
    )
    aged = now - timedelta(days=settings.METRICS_RAW_DAYS)
    raw_cutoff = min(aged, rolled) if rolled is not None else None
    deleted = {
        "points": _delete(MetricPoint.objects.filter(at__lt=raw_cutoff)) if raw_cutoff else 0,
        "rollups_5min": _delete(
            MetricRollup.objects.filter(
                resolution_s=FIVE_MINUTES,
                bucket__lt=now - timedelta(days=settings.METRICS_5MIN_DAYS),
            )
        ),
        "rollups_hourly": _delete(
            MetricRollup.objects.filter(
                resolution_s=HOUR, bucket__lt=now - timedelta(days=settings.METRICS_HOURLY_DAYS)
            )
        ),
        "check_results": _delete(
            CheckResult.objects.filter(at__lt=now - timedelta(days=settings.CHECK_RESULTS_DAYS))
        ),
    }
    return deleted


def _delete(queryset: Any) -> int:
    count, _ = queryset.delete()
    return int(count)


def prune_metrics() -> dict[str, int]:
    """The recurring job (every 5 minutes): roll up, then delete what aged out."""
    now = clock.now()
    return rollup(now) | prune(now)
