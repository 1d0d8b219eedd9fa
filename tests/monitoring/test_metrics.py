"""Metric points: stored in batches, rolled up into 5-minute and hourly buckets, pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from founderops.monitoring import metrics
from founderops.monitoring.models import (
    CheckResult,
    MetricPoint,
    MetricRollup,
    MetricSeries,
    Monitor,
)
from founderops.worker import schedules

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def point(at: datetime, value: float, series: str = "monitor:api:latency_ms") -> metrics.Point:
    return metrics.Point(series, at, value, "ms")


def test_it_creates_a_series_on_its_first_point() -> None:
    metrics.store_points([point(T0, 120.0), point(T0 + timedelta(seconds=20), 80.0)])
    series = MetricSeries.objects.get()
    assert (series.name, series.unit, series.last_value) == ("monitor:api:latency_ms", "ms", 80.0)
    assert series.points.count() == 2


def test_it_keeps_the_latest_value_when_a_late_point_arrives() -> None:
    metrics.store_points([point(T0, 120.0)])
    metrics.store_points([point(T0 - timedelta(minutes=5), 999.0)])
    series = MetricSeries.objects.get()
    assert (series.last_value, series.last_at) == (120.0, T0)
    assert series.points.count() == 2


def test_it_scores_learned_series_and_saves_the_detector() -> None:
    learned = [
        metrics.Point(
            "monitor:api:latency_ms", T0 + timedelta(seconds=20 * i), 100.0 + i % 3, learn=True
        )
        for i in range(metrics.SAVE_EVERY)
    ]
    metrics.store_points(learned)
    series = MetricSeries.objects.get()
    assert series.last_score is not None
    assert series.detector_state["seen"] >= metrics.SAVE_EVERY


def test_it_rolls_up_complete_five_minute_buckets() -> None:
    metrics.store_points(
        [
            point(T0, 10.0),
            point(T0 + timedelta(minutes=2), 30.0),
            point(T0 + timedelta(minutes=6), 5.0),
        ]
    )
    metrics.rollup(T0 + timedelta(minutes=11))
    rows = MetricRollup.objects.filter(resolution_s=300).order_by("bucket")
    summary = [(r.bucket, r.count, r.total, r.minimum, r.maximum) for r in rows]
    assert summary == [
        (T0, 2, 40.0, 10.0, 30.0),
        (T0 + timedelta(minutes=5), 1, 5.0, 5.0, 5.0),
    ]


def test_it_leaves_the_current_bucket_for_later() -> None:
    metrics.store_points([point(T0 + timedelta(minutes=1), 10.0)])
    metrics.rollup(T0 + timedelta(minutes=4))
    assert not MetricRollup.objects.exists()


def test_it_redoes_the_last_bucket_for_points_that_came_late() -> None:
    metrics.store_points([point(T0, 10.0)])
    metrics.rollup(T0 + timedelta(minutes=5))
    metrics.store_points([point(T0 + timedelta(minutes=3), 20.0)])
    metrics.rollup(T0 + timedelta(minutes=6))
    assert MetricRollup.objects.get(resolution_s=300, bucket=T0).count == 2


def test_it_rolls_hours_from_five_minute_buckets() -> None:
    metrics.store_points([point(T0 + timedelta(minutes=m), float(m)) for m in range(0, 70, 5)])
    metrics.rollup(T0 + timedelta(minutes=80))
    hour = MetricRollup.objects.get(resolution_s=3600, bucket=T0)
    assert (hour.count, hour.minimum, hour.maximum) == (12, 0.0, 55.0)
    assert hour.total == sum(range(0, 60, 5))


def test_it_prunes_raw_points_past_retention_once_rolled_up(settings: object) -> None:
    old, recent = T0 - timedelta(days=8), T0 - timedelta(days=1)
    metrics.store_points([point(old, 1.0), point(recent, 2.0)])
    with time_machine.travel(T0, tick=False):
        result = metrics.prune_metrics()
    assert list(MetricPoint.objects.values_list("value", flat=True)) == [2.0]
    assert result["points"] == 1
    assert MetricRollup.objects.filter(
        resolution_s=300, bucket=metrics.bucket_of(old, 300)
    ).exists()


def test_it_keeps_raw_points_that_are_not_rolled_up_yet() -> None:
    metrics.store_points([point(T0 - timedelta(days=8), 1.0)])
    assert metrics.prune(T0)["points"] == 0
    assert MetricPoint.objects.count() == 1


def test_it_prunes_check_results_after_ninety_days() -> None:
    monitor = Monitor.objects.create(name="api", kind=Monitor.Kind.HTTP, target="http://x/")
    for days in (91, 89):
        CheckResult.objects.create(monitor=monitor, at=T0 - timedelta(days=days), outcome="up")
    assert metrics.prune(T0)["check_results"] == 1
    assert CheckResult.objects.count() == 1


def test_it_prunes_rollups_by_their_own_retention() -> None:
    series = MetricSeries.objects.create(name="s")
    for resolution, days in ((300, 91), (300, 89), (3600, 401), (3600, 399)):
        MetricRollup.objects.create(
            series=series,
            resolution_s=resolution,
            bucket=T0 - timedelta(days=days),
            count=1,
            total=1.0,
            minimum=1.0,
            maximum=1.0,
        )
    deleted = metrics.prune(T0)
    assert (deleted["rollups_5min"], deleted["rollups_hourly"]) == (1, 1)


def test_it_schedules_the_prune_job() -> None:
    jobs = {every.name: every for every in schedules.intervals()}
    assert jobs["prune-metrics"].func == "founderops.monitoring.metrics.prune_metrics"


def test_it_rolls_up_across_a_gap_of_days() -> None:
    metrics.store_points([point(T0, 1.0), point(T0 + timedelta(days=5), 2.0)])
    metrics.rollup(T0 + timedelta(days=5, minutes=10))
    buckets = MetricRollup.objects.filter(resolution_s=300).values_list("bucket", flat=True)
    assert sorted(buckets) == [T0, T0 + timedelta(days=5)]
