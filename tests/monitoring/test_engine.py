"""The check engine: runs due monitors concurrently, batches writes, survives its checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from founderops.monitoring import checks, services
from founderops.monitoring.engine import Engine, EngineThread, pending, retry_due, retry_interval
from founderops.monitoring.models import CheckResult, MetricSeries, Monitor
from founderops.monitoring.probes import DOWN, UP, ProbeResult
from tests.monitoring.local_servers import Http, http_server

pytestmark = pytest.mark.django_db(transaction=True)


def make(name: str, interval_s: int = 1, **fields: Any) -> Monitor:
    return Monitor.objects.create(
        name=name,
        kind=Monitor.Kind.HTTP,
        target=f"http://{name}.test/",
        interval_s=interval_s,
        **fields,
    )


class Script:
    """A check that answers from a table and remembers what it was asked."""

    def __init__(self, answers: dict[str, ProbeResult] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[str] = []
        self.lock = threading.Lock()

    async def __call__(
        self, monitor: Monitor, context: checks.Context, now: datetime
    ) -> ProbeResult:
        with self.lock:
            self.calls.append(monitor.name)
        answer = self.answers.get(monitor.name, ProbeResult(UP, latency_ms=12.0))
        if isinstance(answer, Exception):
            raise answer
        return answer


def engine(script: Script, **options: Any) -> Engine:
    return Engine(check=script, jitter=False, flush_every=0.05, reload_every=0.1, **options)


@pytest.fixture
def server() -> Iterator[Http]:
    with http_server() as running:
        yield running


def test_it_checks_every_enabled_monitor_and_writes_the_results() -> None:
    make("api")
    make("web")
    make("off", enabled=False)
    script = Script()
    stats = engine(script).run_for(0.5)
    assert set(script.calls) == {"api", "web"}
    assert stats.written == stats.checks >= 2
    assert set(CheckResult.objects.values_list("monitor__name", flat=True)) == {"api", "web"}


def test_it_stores_latency_as_a_metric_series() -> None:
    make("api")
    engine(Script()).run_for(0.3)
    series = MetricSeries.objects.get(name="monitor:api:latency_ms")
    assert series.last_value == 12.0


def test_it_waits_the_interval_between_checks_of_a_monitor() -> None:
    make("api", interval_s=60)
    script = Script()
    engine(script).run_for(0.5)
    assert script.calls == ["api"]


def test_it_records_a_crashing_check_and_keeps_going() -> None:
    make("api")
    make("web")
    script = Script({"api": RuntimeError("boom")})  # type: ignore[dict-item]
    stats = engine(script).run_for(0.4)
    crashed = CheckResult.objects.filter(monitor__name="api").first()
    assert crashed is not None
    assert (crashed.outcome, crashed.error) == ("down", "check crashed: RuntimeError('boom')")
    assert CheckResult.objects.filter(monitor__name="web").exists()
    assert stats.crashes >= 1


def test_it_retries_a_down_result_before_it_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("founderops.monitoring.engine.RETRY_BACKOFF_S", (0.01,))
    make("api", interval_s=60, retries=2)
    script = Script({"api": ProbeResult(DOWN, error="connection refused")})
    engine(script).run_for(0.4)
    assert script.calls == ["api", "api", "api"]
    result = CheckResult.objects.get()
    assert result.detail["attempts"] == 3


def test_it_opens_an_incident_after_the_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("founderops.core.jobs.enqueue", lambda *args: "")
    make("api", fail_threshold=2)
    script = Script({"api": checks.down("connection refused")})
    stats = engine(script).run_for(1.6)
    monitor = Monitor.objects.get(name="api")
    assert monitor.state == Monitor.State.DOWN
    assert stats.fired >= 1


def test_it_picks_up_a_monitor_added_while_running() -> None:
    make("api", interval_s=60)
    script = Script()
    running = EngineThread(engine(script))
    running.start()
    try:
        while "api" not in script.calls:
            threading.Event().wait(0.02)
        make("late", interval_s=60)
        while "late" not in script.calls:
            threading.Event().wait(0.02)
    finally:
        running.stop()
    assert not running.is_alive()
    assert script.calls.count("late") == 1


def test_it_runs_a_check_asked_for_now() -> None:
    monitor = make("api", interval_s=3600)
    script = Script()
    running = EngineThread(engine(script))
    running.start()
    try:
        while not CheckResult.objects.exists():
            threading.Event().wait(0.02)
        services.check_now(monitor, "user:fiona")
        while script.calls.count("api") < 2:
            threading.Event().wait(0.02)
    finally:
        running.stop()
    assert script.calls == ["api", "api"]


def test_it_stops_when_asked_before_it_started() -> None:
    make("api")
    script = Script()
    stopped = engine(script)
    stopped.stop()
    import asyncio

    asyncio.run(stopped.run())
    assert script.calls == []


def test_it_checks_a_real_server(server: Http) -> None:
    Monitor.objects.create(
        name="ok", kind=Monitor.Kind.HTTP, target=server.url("/ok"), interval_s=60
    )
    Monitor.objects.create(
        name="broken", kind=Monitor.Kind.HTTP, target=server.url("/error"), interval_s=60
    )
    Engine(jitter=False, flush_every=0.05).run_for(0.6)
    outcomes = dict(CheckResult.objects.values_list("monitor__name", "outcome"))
    assert outcomes == {"ok": "up", "broken": "down"}


# --- retrying a failing monitor sooner ------------------------------------------------------


def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("founderops.monitoring.engine.retry_interval", lambda monitor: 0.05)


def test_it_confirms_a_failure_at_the_retry_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("founderops.core.jobs.enqueue", lambda *args: "")
    fast_retries(monkeypatch)
    make("api", interval_s=60)
    script = Script({"api": checks.down("connection refused")})
    # The scheduler sleeps up to 1 s between its looks at the heap (a real retry is ≥ 2 s
    # away): three runs fit in 3.5 s, a fourth only after the 60 s interval.
    engine(script).run_for(3.5)
    # One run, two retries; confirmed down, it waits the interval again.
    assert script.calls == ["api", "api", "api"]
    assert Monitor.objects.get(name="api").state == Monitor.State.DOWN


def test_it_keeps_the_interval_while_healthy(monkeypatch: pytest.MonkeyPatch) -> None:
    fast_retries(monkeypatch)
    make("api", interval_s=60)
    script = Script()
    engine(script).run_for(0.6)
    assert script.calls == ["api"]


def test_it_retries_sooner_when_the_database_judges_a_run_slow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("founderops.core.jobs.enqueue", lambda *args: "")
    fast_retries(monkeypatch)
    make("api", interval_s=60, normal_latencies_ms=[10.0] * 10)
    script = Script({"api": ProbeResult(UP, latency_ms=100.0)})
    engine(script).run_for(3.5)
    assert script.calls == ["api", "api", "api"]
    assert Monitor.objects.get(name="api").state == Monitor.State.DEGRADED


def test_it_reads_the_retry_interval_option() -> None:
    assert retry_interval(Monitor(interval_s=60, options={"retry_interval": 5})) == 5.0


@pytest.mark.parametrize(("interval", "expected"), [(60, 20.0), (10, 10 / 3), (3, 2.0), (1, 1.0)])
def test_it_defaults_the_retry_interval_to_a_third_of_the_interval(
    interval: int, expected: float
) -> None:
    assert retry_interval(Monitor(interval_s=interval)) == pytest.approx(expected)


def test_it_ignores_a_retry_interval_under_one_second() -> None:
    assert retry_interval(Monitor(interval_s=60, options={"retry_interval": 0.1})) == 20.0


def failures_in_a_row(
    interval: int, blip: tuple[float, float], phase: float, durations: tuple[float, float]
) -> int:
    """Checks planned as the engine plans them, against a fault from blip[0] lasting blip[1]
    seconds: the longest run of failed checks. A check fails when it overlaps the fault; the
    first one that does takes durations[0] seconds, every other durations[1]."""
    monitor = Monitor(interval_s=interval, fail_threshold=3)
    retry = retry_interval(monitor)
    begins, ends = blip[0], blip[0] + blip[1]
    start, count, longest, seen = phase, 0, 0, False
    while start < ends + 2 * interval:
        length = durations[1] if seen else durations[0]
        bad = start < ends and start + length > begins
        seen = seen or bad
        count = count + 1 if bad else 0
        longest = max(longest, count)
        end = start + length
        if pending(count, monitor.fail_threshold):
            start = retry_due(start, end, retry)
        else:
            start = max(start + interval, end)
    return longest


LENGTHS = ((0.05, 0.05), (5.0, 0.05), (2.0, 2.0), (5.0, 5.0))


@pytest.mark.parametrize("interval", [2, 5, 10, 20, 60])
@pytest.mark.parametrize("durations", LENGTHS)
def test_it_never_confirms_a_blip_of_3_seconds(
    interval: int, durations: tuple[float, float]
) -> None:
    # Every alignment of the blip against the schedule, 50 ms apart.
    worst = max(
        failures_in_a_row(interval, (10.0, 3.0), 10.0 - offset / 20, durations)
        for offset in range(20 * interval + 100)
    )
    assert worst < 3


@pytest.mark.parametrize("interval", [10, 20, 60])
def test_it_confirms_an_outage_within_an_interval_and_two_retries(interval: int) -> None:
    retry = retry_interval(Monitor(interval_s=interval))
    for offset in range(20 * interval):
        phase = 10.0 - offset / 20  # the last healthy check began this long before
        outage = (10.0, 10_000.0)
        assert failures_in_a_row(interval, outage, phase, (0.05, 0.05)) >= 3
        third = _third_failure_start(interval, phase)
        assert third - 10.0 <= interval + 2 * retry + 0.2


def _third_failure_start(interval: int, phase: float) -> float:
    monitor = Monitor(interval_s=interval, fail_threshold=3)
    start, count = phase, 0
    while True:
        count = count + 1 if start >= 10.0 else 0
        if count == 3:
            return start
        end = start + 0.05
        if pending(count, 3):
            start = retry_due(start, end, retry_interval(monitor))
        else:
            start = max(start + interval, end)
