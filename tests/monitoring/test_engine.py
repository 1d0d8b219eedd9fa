"""The check engine: runs due monitors concurrently, batches writes, survives its checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from founderops.monitoring import checks, services
from founderops.monitoring.engine import Engine, EngineThread
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
