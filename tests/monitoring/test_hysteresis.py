"""The monitors' state machine: N failures open, M successes close, blips never page."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from founderops.incidents.models import Alert, Component, Incident
from founderops.monitoring import services
from founderops.monitoring.models import CheckResult, MaintenanceWindow, Monitor
from founderops.monitoring.probes import DEGRADED, DOWN, UP, ProbeResult

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STEP = timedelta(seconds=20)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(START, tick=False):
        yield


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    calls: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(
        "founderops.core.jobs.enqueue", lambda func, *args: calls.append((func, args))
    )
    return calls


@pytest.fixture
def monitor(db: None, enqueued: list[Any]) -> Monitor:
    api = Component.objects.create(name="API", slug="api")
    return Monitor.objects.create(
        name="api", kind=Monitor.Kind.HTTP, target="http://127.0.0.1:9/", component=api
    )


class Clock:
    def __init__(self) -> None:
        self.at = START

    def tick(self) -> datetime:
        self.at += STEP
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock()


def fail(error: str = "connection refused") -> ProbeResult:
    return ProbeResult(DOWN, error=error, cause="down", facts={"hard": True})


def ok(latency: float = 100.0) -> ProbeResult:
    return ProbeResult(UP, latency_ms=latency)


def feed(monitor: Monitor, clock: Clock, *results: ProbeResult) -> Monitor:
    for result in results:
        services.record_results([services.Run(monitor.pk, clock.tick(), result)])
    monitor.refresh_from_db()
    return monitor


def test_it_never_fires_for_two_failures_and_a_success(monitor: Monitor, clock: Clock) -> None:
    feed(monitor, clock, ok(), fail(), fail(), ok())
    assert not Alert.objects.exists()
    assert monitor.state == Monitor.State.UP
    assert monitor.failing_since is None


def test_it_fires_once_after_three_failures(monitor: Monitor, clock: Clock) -> None:
    feed(monitor, clock, ok(), fail(), fail(), fail(), fail())
    alert = Alert.objects.get()
    assert (alert.fingerprint, alert.state, alert.occurrences) == ("monitor:api:down", "firing", 2)
    assert Incident.objects.count() == 1
    assert monitor.state == Monitor.State.DOWN


def test_it_starts_the_incident_at_the_first_failing_check(monitor: Monitor, clock: Clock) -> None:
    feed(monitor, clock, ok(), fail(), fail(), fail())
    incident = Incident.objects.get()
    assert incident.started_at == START + 2 * STEP
    assert incident.detected_at == START + 4 * STEP


def test_it_gives_the_incident_the_facts_the_rules_read(monitor: Monitor, clock: Clock) -> None:
    feed(monitor, clock, fail(), fail(), fail())
    facts = Alert.objects.get().facts
    assert facts["hard"] is True
    assert facts["monitor"] == "api"
    assert facts["error"] == "connection refused"
    assert Alert.objects.get().component is not None


def test_it_asks_the_agent_to_respond_to_a_new_incident(
    monitor: Monitor, clock: Clock, enqueued: list[tuple[str, tuple[Any, ...]]]
) -> None:
    feed(monitor, clock, fail(), fail(), fail(), fail())
    incident = Incident.objects.get()
    assert enqueued == [("founderops.monitoring.agent.respond", (incident.pk,))]


def test_it_does_not_clear_after_one_success(monitor: Monitor, clock: Clock) -> None:
    feed(monitor, clock, fail(), fail(), fail(), ok())
    assert Alert.objects.get().state == Alert.State.FIRING
    assert monitor.state == Monitor.State.DOWN


def test_it_clears_after_two_successes(monitor: Monitor, clock: Clock) -> None:
    feed(monitor, clock, fail(), fail(), fail(), ok(), ok())
    alert = Alert.objects.get()
    assert (alert.state, alert.resolved_at) == (Alert.State.RESOLVED, START + 5 * STEP)
    assert (monitor.state, monitor.firing_fingerprint) == (Monitor.State.UP, "")


def test_it_keeps_the_outage_open_through_a_lone_success(monitor: Monitor, clock: Clock) -> None:
    feed(monitor, clock, fail(), fail(), fail(), ok(), fail(), ok(), ok())
    assert Alert.objects.count() == 1
    assert Incident.objects.get().started_at == START + STEP


def test_it_honours_the_monitors_thresholds(monitor: Monitor, clock: Clock) -> None:
    monitor.fail_threshold = 1
    monitor.save()
    feed(monitor, clock, fail())
    assert Alert.objects.count() == 1


def test_it_records_every_run(monitor: Monitor, clock: Clock) -> None:
    feed(monitor, clock, ok(), fail())
    assert list(CheckResult.objects.order_by("at").values_list("outcome", flat=True)) == [
        "up",
        "down",
    ]


def learn_normal(monitor: Monitor, clock: Clock, latency: float = 100.0) -> None:
    feed(monitor, clock, *[ok(latency) for _ in range(10)])


def test_it_calls_a_lasting_30_percent_slowdown_slow_with_its_size(
    monitor: Monitor, clock: Clock
) -> None:
    learn_normal(monitor, clock)
    # The median of 3 is slow from the second slow sample on: 4 samples, 3 slow runs.
    feed(monitor, clock, ok(130), ok(131), ok(130), ok(130))
    assert monitor.state == Monitor.State.DEGRADED
    alert = Alert.objects.get()
    assert alert.fingerprint == "monitor:api:slow"
    assert alert.facts["slowdown"] == pytest.approx(0.3)
    assert Incident.objects.get().priority == "P2"


def test_it_calls_a_200_percent_slowdown_a_p1(monitor: Monitor, clock: Clock) -> None:
    learn_normal(monitor, clock)
    feed(monitor, clock, ok(300), ok(300), ok(300), ok(300))
    assert Alert.objects.get().facts["slowdown"] == pytest.approx(2.0)
    assert Incident.objects.get().priority == "P1"


def noisy(rng: random.Random, centre: float, count: int) -> list[ProbeResult]:
    """Latencies uniformly within ±5 % of `centre` ms."""
    return [ok(centre * rng.uniform(0.95, 1.05)) for _ in range(count)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_it_detects_a_30_percent_slowdown_through_5_percent_jitter(
    monitor: Monitor, clock: Clock, seed: int
) -> None:
    rng = random.Random(seed)
    feed(monitor, clock, *noisy(rng, 100.0, 30))
    feed(monitor, clock, *noisy(rng, 130.0, 6))
    assert monitor.state == Monitor.State.DEGRADED
    assert Incident.objects.get().priority == "P2"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_it_never_calls_5_percent_jitter_slow(monitor: Monitor, clock: Clock, seed: int) -> None:
    rng = random.Random(seed)
    feed(monitor, clock, *noisy(rng, 100.0, 200))
    assert not CheckResult.objects.exclude(outcome=UP).exists()


def test_it_does_not_call_a_run_slow_for_one_3x_sample(monitor: Monitor, clock: Clock) -> None:
    learn_normal(monitor, clock)
    feed(monitor, clock, ok(300), ok(100), ok(100))
    assert not CheckResult.objects.exclude(outcome=UP).exists()


def test_it_keeps_one_slow_sample_out_of_the_normal(monitor: Monitor, clock: Clock) -> None:
    learn_normal(monitor, clock)
    feed(monitor, clock, ok(300))
    assert 300.0 not in monitor.normal_latencies_ms


def test_it_does_not_count_a_slowdown_under_the_floor(monitor: Monitor, clock: Clock) -> None:
    learn_normal(monitor, clock, latency=20.0)
    feed(monitor, clock, *[ok(29.0) for _ in range(6)])  # 45 % slower, but 9 ms
    assert not Alert.objects.exists()


def test_it_reads_earlier_latencies_back_from_the_results(monitor: Monitor, clock: Clock) -> None:
    learn_normal(monitor, clock)
    feed(monitor, clock, ok(130), ok(130))
    assert CheckResult.objects.order_by("-at").first().outcome == DEGRADED  # type: ignore[union-attr]


def test_it_leaves_down_runs_out_of_the_median(monitor: Monitor, clock: Clock) -> None:
    learn_normal(monitor, clock)
    slow_error = ProbeResult(DOWN, latency_ms=400.0, error="HTTP 500", cause="down")
    feed(monitor, clock, slow_error, slow_error, ok(100))
    assert CheckResult.objects.order_by("-at").first().outcome == UP  # type: ignore[union-attr]


def test_it_keeps_slow_runs_out_of_the_normal(monitor: Monitor, clock: Clock) -> None:
    learn_normal(monitor, clock)
    feed(monitor, clock, *[ok(300) for _ in range(40)])
    assert services.normal_latency(monitor) == 100.0
    assert monitor.state == Monitor.State.DEGRADED


def test_it_ignores_slowness_before_it_knows_the_normal(monitor: Monitor, clock: Clock) -> None:
    feed(monitor, clock, ok(100), ok(300), ok(300), ok(300), ok(300))
    assert not Alert.objects.exists()


def test_it_files_a_new_cause_and_clears_the_old(monitor: Monitor, clock: Clock) -> None:
    keyword = ProbeResult(DOWN, error="keyword 'Pay' not found", cause="keyword")
    feed(monitor, clock, fail(), fail(), fail(), keyword, keyword, keyword)
    states = dict(Alert.objects.values_list("fingerprint", "state"))
    assert states == {"monitor:api:down": "resolved", "monitor:api:keyword": "firing"}
    assert Incident.objects.count() == 1


def test_it_marks_degraded_results_degraded(monitor: Monitor, clock: Clock) -> None:
    degraded = ProbeResult(DEGRADED, error="certificate expires in 5 days", cause="tls")
    feed(monitor, clock, degraded, degraded, degraded)
    assert monitor.state == Monitor.State.DEGRADED
    assert Alert.objects.get().fingerprint == "monitor:api:tls"


def test_it_never_fires_inside_a_maintenance_window(monitor: Monitor, clock: Clock) -> None:
    window = MaintenanceWindow.objects.create(
        title="Database upgrade", starts_at=START, ends_at=START + timedelta(hours=1)
    )
    window.monitors.add(monitor)
    feed(monitor, clock, fail(), fail(), fail(), fail())
    assert not Alert.objects.exists()
    assert monitor.state == Monitor.State.MAINTENANCE
    assert CheckResult.objects.count() == 4


def test_it_honours_a_window_on_the_monitors_component(monitor: Monitor, clock: Clock) -> None:
    window = MaintenanceWindow.objects.create(
        title="Migration", starts_at=START, ends_at=START + timedelta(hours=1)
    )
    assert monitor.component is not None
    window.components.add(monitor.component)
    feed(monitor, clock, fail(), fail(), fail())
    assert not Alert.objects.exists()


def test_it_fires_once_the_window_is_over(monitor: Monitor, clock: Clock) -> None:
    MaintenanceWindow.objects.create(
        title="Everything", starts_at=START, ends_at=START + 3 * STEP + timedelta(seconds=1)
    )
    feed(monitor, clock, fail(), fail(), fail())
    assert not Alert.objects.exists()
    feed(monitor, clock, fail())
    assert Alert.objects.count() == 1


def test_it_leaves_state_alone_for_a_result_from_the_past(monitor: Monitor, clock: Clock) -> None:
    feed(monitor, clock, ok(), fail(), fail())
    skewed = services.Run(monitor.pk, START - timedelta(hours=1), fail())
    services.record_results([skewed])
    monitor.refresh_from_db()
    assert (monitor.consecutive_failures, monitor.last_checked_at) == (2, START + 3 * STEP)
    assert not Alert.objects.exists()
    assert CheckResult.objects.filter(detail__out_of_order=True).count() == 1


def test_it_orders_the_runs_of_one_batch_by_time(monitor: Monitor, clock: Clock) -> None:
    first, second, third = clock.tick(), clock.tick(), clock.tick()
    services.record_results(
        [
            services.Run(monitor.pk, third, ok()),
            services.Run(monitor.pk, first, fail()),
            services.Run(monitor.pk, second, fail()),
        ]
    )
    monitor.refresh_from_db()
    assert (monitor.state, monitor.last_checked_at) == (Monitor.State.UP, third)


def test_it_clears_the_alert_of_a_paused_monitor(monitor: Monitor, clock: Clock) -> None:
    feed(monitor, clock, fail(), fail(), fail())
    services.pause(monitor, "user:fiona")
    assert Alert.objects.get().state == Alert.State.RESOLVED
    assert (monitor.enabled, monitor.state) == (False, Monitor.State.PAUSED)


def test_it_lets_a_late_run_of_a_paused_monitor_move_nothing(
    monitor: Monitor, clock: Clock
) -> None:
    services.pause(monitor, "user:fiona")
    feed(monitor, clock, fail(), fail(), fail())
    assert monitor.state == Monitor.State.PAUSED
    assert not Alert.objects.exists()


def test_it_resumes_from_a_clean_slate(monitor: Monitor, clock: Clock) -> None:
    learn_normal(monitor, clock)
    services.pause(monitor, "user:fiona")
    services.resume(monitor, "user:fiona")
    monitor.refresh_from_db()
    assert (monitor.enabled, monitor.state, monitor.normal_latencies_ms) == (True, "unknown", [])
