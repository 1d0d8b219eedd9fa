"""Log ingestion: templates stored, new-error and error-rate alerts, flood control, restarts."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from founderops.incidents.models import Alert
from founderops.monitoring.logs import ErrorRate, Ingestor, Limits, LogLine
from founderops.monitoring.models import LogCount, LogParserState, LogTemplate

NOW = datetime(2025, 3, 4, 9, 0, 10, tzinfo=UTC)
LIMITS = Limits(lines_per_minute=1000, sample_every=100, min_errors=10)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def line(message: str, at: datetime | None = None, service: str = "api") -> LogLine:
    return LogLine(service=service, message=message, at=at or NOW)


def run(ingestor: Ingestor, messages: list[str], at: datetime | None = None) -> None:
    ingestor.ingest(line(m, at) for m in messages)
    ingestor.flush()


def alerts(cause: str) -> list[Alert]:
    return list(Alert.objects.filter(cause=cause))


def minutes(ingestor: Ingestor, clock: Any, count: int, errors_per_minute: int) -> None:
    """`count` minutes with that many error lines each (and some normal traffic)."""
    for _ in range(count):
        now = datetime.now(tz=UTC)
        errors = [f"ERROR upstream timeout after {n}ms" for n in range(errors_per_minute)]
        run(ingestor, errors + ["GET /health 200"] * 20, now)
        clock.shift(timedelta(minutes=1))


@pytest.mark.django_db
def test_it_stores_templates_and_counts_per_minute(clock: Any) -> None:
    ingestor = Ingestor(LIMITS)

    run(ingestor, ["User 17 logged in", "User 9001 logged in", "User 5 logged in"])

    template = LogTemplate.objects.get(service="api")
    assert (template.template, template.count, template.is_error) == (
        "User <NUM> logged in",
        3,
        False,
    )
    assert LogCount.objects.get(template=template).count == 3


@pytest.mark.django_db
def test_it_fires_once_for_a_new_error_template(clock: Any) -> None:
    ingestor = Ingestor(LIMITS)

    run(ingestor, ["ERROR payment 4411 failed: card declined"])
    run(ingestor, ["ERROR payment 93 failed: card declined"])

    fired = alerts("new_error")
    assert len(fired) == 1
    assert (fired[0].occurrences, fired[0].incident is not None) == (1, True)


@pytest.mark.django_db
def test_it_does_not_alert_on_a_new_info_template(clock: Any) -> None:
    run(Ingestor(LIMITS), ["INFO cache warmed in 3s"])

    assert Alert.objects.count() == 0


@pytest.mark.django_db
def test_it_reads_the_level_field_for_errors(clock: Any) -> None:
    ingestor = Ingestor(LIMITS)

    ingestor.ingest([LogLine("api", "charge refused by bank", NOW, level="error")])
    ingestor.flush()

    assert LogTemplate.objects.get().is_error
    assert len(alerts("new_error")) == 1


@pytest.mark.django_db
def test_it_does_not_page_for_two_errors(clock: Any) -> None:
    ingestor = Ingestor(LIMITS)

    run(ingestor, ["ERROR upstream timeout after 30ms", "ERROR upstream timeout after 31ms"])

    assert alerts("error_rate") == []


@pytest.mark.django_db
def test_it_does_not_page_for_a_steady_error_rate(clock: Any) -> None:
    ingestor = Ingestor(LIMITS)

    minutes(ingestor, clock, 30, errors_per_minute=8)

    assert alerts("error_rate") == []


@pytest.mark.django_db
def test_it_fires_on_an_error_spike(clock: Any) -> None:
    ingestor = Ingestor(LIMITS)
    minutes(ingestor, clock, 30, errors_per_minute=3)

    minutes(ingestor, clock, 1, errors_per_minute=60)

    fired = alerts("error_rate")
    assert len(fired) == 1
    assert fired[0].facts["error_rate"] == 60
    assert 2 < fired[0].facts["baseline"] < 4


@pytest.mark.django_db
def test_it_does_not_fire_twice_while_the_spike_lasts(clock: Any) -> None:
    ingestor = Ingestor(LIMITS)
    minutes(ingestor, clock, 30, errors_per_minute=3)

    minutes(ingestor, clock, 3, errors_per_minute=60)

    assert Alert.objects.filter(cause="error_rate").count() == 1


@pytest.mark.django_db
def test_it_clears_the_spike_after_calm_minutes(clock: Any) -> None:
    ingestor = Ingestor(LIMITS)
    minutes(ingestor, clock, 30, errors_per_minute=3)
    minutes(ingestor, clock, 1, errors_per_minute=60)

    minutes(ingestor, clock, 5, errors_per_minute=3)

    assert alerts("error_rate")[0].state == Alert.State.RESOLVED


@pytest.mark.django_db
def test_it_bounds_a_flood_and_records_the_sampling(clock: Any) -> None:
    ingestor = Ingestor(LIMITS)
    flood = (
        line(f"ERROR worker {n % 7919} crashed: code {n} in module m{n % 50}")
        for n in range(100_000)
    )

    tracemalloc.start()
    result = ingestor.ingest(flood)
    ingestor.flush(force=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    state = LogParserState.objects.get(service="api")
    assert (state.lines_seen, state.lines_dropped) == (100_000, 100_000 - 1000 - 990)
    assert result.parsed == 1990
    assert peak < 40 * 1024 * 1024
    spike = alerts("error_rate")[0]
    assert "sampling: 1,990 of 100,000 lines parsed" in spike.title


@pytest.mark.django_db
def test_it_cuts_long_lines(clock: Any) -> None:
    ingestor = Ingestor(Limits(max_line_chars=100))

    run(ingestor, ["x" * 50 + " " + "y" * 5000])

    assert len(LogTemplate.objects.get().sample) == 100


@pytest.mark.django_db
def test_it_keeps_template_ids_across_a_restart(clock: Any) -> None:
    first = Ingestor(LIMITS)
    run(first, ["disk /dev/sda1 at 91% full", "ERROR payment 4411 failed: card declined"])
    first.flush(force=True)
    before = dict(LogTemplate.objects.values_list("template", "cluster_id"))

    second = Ingestor(LIMITS)
    run(second, ["ERROR payment 77 failed: card declined", "disk /dev/sdb2 at 12% full"])

    assert dict(LogTemplate.objects.values_list("template", "cluster_id")) == before
    assert LogTemplate.objects.get(template__startswith="ERROR").count == 2
    assert len(alerts("new_error")) == 1


@pytest.mark.django_db
def test_it_never_reuses_a_stored_id_after_a_lost_state(clock: Any) -> None:
    # Rows are written every flush, the state only every FLUSH_LINES lines: a crash in
    # between must not hand a stored id to another template.
    first = Ingestor(LIMITS)
    run(first, ["cache warmed in 3s"])
    assert LogParserState.objects.get().state == b""

    run(Ingestor(LIMITS), ["queue drained, 0 jobs left behind"])

    assert LogTemplate.objects.values_list("cluster_id", flat=True).distinct().count() == 2


@pytest.mark.django_db
def test_it_relearns_the_normal_and_the_firing_alert_after_a_restart(
    clock: Any,
) -> None:
    first = Ingestor(LIMITS)
    minutes(first, clock, 30, errors_per_minute=3)
    minutes(first, clock, 1, errors_per_minute=60)

    second = Ingestor(LIMITS)
    minutes(second, clock, 5, errors_per_minute=3)

    assert alerts("error_rate")[0].state == Alert.State.RESOLVED


def test_it_does_not_learn_spike_minutes_as_normal() -> None:
    rate = ErrorRate(min_errors=10, baseline=3.0)
    rate.firing = True

    for minute in range(20):
        rate.add(NOW + timedelta(minutes=minute), 60)

    assert rate.baseline == pytest.approx(3.0)
