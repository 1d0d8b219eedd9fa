"""Heartbeats: late beyond grace, /fail, /start without success, cron in a zone, ping URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from founderops.monitoring import heartbeat
from founderops.monitoring.heartbeat import FAIL, START, SUCCESS, Ping
from founderops.monitoring.models import CheckResult, Monitor

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOKEN = "a-secret-ping-token-0123456789"


def beat(**options: Any) -> Monitor:
    monitor = Monitor.objects.create(name="backup", kind="heartbeat", options=options)
    heartbeat.set_token(monitor, TOKEN)
    return monitor


def ping(monitor: Monitor, kind: str, at: datetime, body: str = "") -> None:
    heartbeat.record_ping(monitor, Ping(kind, at, body))
    monitor.refresh_from_db()


def test_it_waits_for_the_first_ping() -> None:
    result = heartbeat.evaluate(beat(period_s=60, grace_s=30), T0)
    assert result.ok
    assert result.detail == {"waiting_for_first_ping": True}


def test_it_is_up_within_period_and_grace() -> None:
    monitor = beat(period_s=60, grace_s=30)
    ping(monitor, SUCCESS, T0)
    assert heartbeat.evaluate(monitor, T0 + timedelta(seconds=90)).ok


def test_it_is_down_once_late_beyond_grace() -> None:
    monitor = beat(period_s=60, grace_s=30)
    ping(monitor, SUCCESS, T0)
    result = heartbeat.evaluate(monitor, T0 + timedelta(seconds=91))
    assert (result.outcome, result.cause) == ("down", "heartbeat")
    assert result.error == "no ping for 91 s (expected by 09:01 UTC)"


def test_it_is_down_at_once_after_a_fail_ping() -> None:
    monitor = beat(period_s=3600, grace_s=600)
    ping(monitor, SUCCESS, T0)
    ping(monitor, FAIL, T0 + timedelta(seconds=5), body="exit 3\nno space left on device")
    result = heartbeat.evaluate(monitor, T0 + timedelta(seconds=6))
    assert result.outcome == "down"
    assert result.error == "the job pinged /fail"
    assert result.detail["body"].endswith("no space left on device")


def test_it_recovers_with_the_next_success() -> None:
    monitor = beat(period_s=3600, grace_s=600)
    ping(monitor, FAIL, T0)
    ping(monitor, SUCCESS, T0 + timedelta(minutes=1))
    assert heartbeat.evaluate(monitor, T0 + timedelta(minutes=2)).ok


def test_it_is_down_when_a_started_job_runs_too_long() -> None:
    monitor = beat(period_s=86400, grace_s=3600, max_runtime_s=600)
    ping(monitor, SUCCESS, T0)
    ping(monitor, START, T0 + timedelta(hours=1))
    assert heartbeat.evaluate(monitor, T0 + timedelta(hours=1, minutes=9)).ok
    late = heartbeat.evaluate(monitor, T0 + timedelta(hours=1, minutes=11))
    assert late.outcome == "down"
    assert late.error.startswith("started 11 min ago and has not finished")


def test_it_expects_cron_times_in_the_monitors_zone() -> None:
    # 03:00 in Paris is 02:00 UTC in March (before the summer change).
    monitor = beat(cron="0 3 * * *", tz="Europe/Paris", grace_s=1800)
    ping(monitor, SUCCESS, datetime(2026, 3, 2, 2, 0, 5, tzinfo=UTC))
    assert heartbeat.evaluate(monitor, datetime(2026, 3, 3, 2, 29, tzinfo=UTC)).ok
    result = heartbeat.evaluate(monitor, datetime(2026, 3, 3, 2, 31, tzinfo=UTC))
    assert result.outcome == "down"
    assert result.detail["expected_at"] == "2026-03-03T02:00:00+00:00"


def test_it_refuses_bad_options() -> None:
    problems = heartbeat.check_options({"cron": "every day", "tz": "Mars/Olympus", "period_s": 60})
    assert problems == [
        "cron 'every day' is not a cron expression like '*/5 * * * *'",
        "'Mars/Olympus' is not a time zone like Europe/Paris",
        "give either period or cron, not both",
    ]


@time_machine.travel(T0, tick=False)
def test_it_records_a_ping_from_its_url(client: Client) -> None:
    monitor = beat(period_s=60, grace_s=30)
    response = client.get(f"/ping/{TOKEN}/")
    assert (response.status_code, response.content) == (200, b"OK\n")
    monitor.refresh_from_db()
    assert monitor.last_ping_at == T0
    assert monitor.next_check_at == T0


@time_machine.travel(T0, tick=False)
def test_it_keeps_the_tail_of_a_posted_log(client: Client) -> None:
    monitor = beat(period_s=60, grace_s=30)
    log = "x" * 5000 + "\nexit status 2"
    response = client.post(f"/ping/{TOKEN}/fail", data=log, content_type="text/plain")
    assert response.status_code == 200
    result = CheckResult.objects.get(monitor=monitor)
    assert result.outcome == "down"
    assert len(result.detail["body"]) == heartbeat.BODY_TAIL_CHARS
    assert result.detail["body"].endswith("exit status 2")
    assert result.detail["body_truncated"] is True


@time_machine.travel(T0, tick=False)
def test_it_answers_head_and_start(client: Client) -> None:
    monitor = beat(period_s=60, grace_s=30)
    assert client.head(f"/ping/{TOKEN}/start").status_code == 200
    assert CheckResult.objects.get(monitor=monitor).detail["ping"] == "start"


@time_machine.travel(T0, tick=False)
def test_it_records_a_ping_whatever_the_last_slash(client: Client) -> None:
    monitor = beat(period_s=60, grace_s=30)
    paths = (f"/ping/{TOKEN}", f"/ping/{TOKEN}/start/", f"/ping/{TOKEN}/fail/")
    assert [client.post(path).status_code for path in paths] == [200, 200, 200]
    pings = CheckResult.objects.filter(monitor=monitor).order_by("pk")
    assert [r.detail["ping"] for r in pings] == ["success", "start", "fail"]
    assert heartbeat.ping_url(TOKEN).endswith(f"/ping/{TOKEN}/")


def test_it_answers_404_to_an_unknown_token(client: Client) -> None:
    beat(period_s=60, grace_s=30)
    response = client.get("/ping/not-the-token/")
    assert response.status_code == 404
    assert not CheckResult.objects.exists()


def test_it_stores_only_the_tokens_hash() -> None:
    monitor = beat(period_s=60)
    assert TOKEN not in monitor.ping_token_hash
    assert heartbeat.find(TOKEN) == monitor


@time_machine.travel(T0, tick=False)
def test_it_rate_limits_pings_per_token(client: Client) -> None:
    beat(period_s=60)
    for _ in range(60):
        assert client.get(f"/ping/{TOKEN}/").status_code == 200
    limited = client.get(f"/ping/{TOKEN}/")
    assert limited.status_code == 429
    assert limited["Retry-After"] == "61"
