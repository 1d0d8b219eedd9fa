"""POST /api/logs and /api/metrics: tokens, bad lines by number, replays, skew, anomalies."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User

from founderops.api.tokens import create_token
from founderops.incidents.models import Alert, Component
from founderops.monitoring import logs, metric_ingest, metrics
from founderops.monitoring.models import (
    LogParserState,
    LogTemplate,
    MetricPoint,
    MetricSeries,
    Monitor,
)

NOW = datetime(2025, 3, 4, 9, 0, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    logs.forget_ingestor()
    metric_ingest.forget_watches()
    monkeypatch.setattr(metrics, "detectors", metrics.Detectors())
    with time_machine.travel(NOW, tick=False):
        yield
    logs.forget_ingestor()


@pytest.fixture
def token(founder: User) -> str:
    return create_token(founder, "app", ["logs:write", "metrics:write"])[1]


def post(client: Any, path: str, body: str, token: str, **headers: str) -> Any:
    return client.post(
        path,
        data=body,
        content_type="application/x-ndjson",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        **headers,
    )


def jsonl(*records: dict[str, Any]) -> str:
    return "\n".join(json.dumps(r) for r in records)


@pytest.mark.django_db
def test_it_accepts_json_lines(client: Any, token: str) -> None:
    body = jsonl(
        {"service": "api", "level": "info", "message": "User 17 logged in"},
        {"service": "api", "message": "User 18 logged in", "at": "2025-03-04T09:00:00Z"},
    )

    response = post(client, "/api/logs", body, token)

    assert response.status_code == 200
    assert response.json()["accepted"] == 2
    assert LogTemplate.objects.get().count == 2


@pytest.mark.django_db
def test_it_accepts_a_json_array(client: Any, token: str) -> None:
    body = json.dumps([{"service": "api", "message": "cache warmed in 3s"}])

    response = post(client, "/api/logs", body, token)

    assert response.json()["accepted"] == 1


@pytest.mark.django_db
def test_it_reports_malformed_lines_by_number_and_keeps_the_rest(client: Any, token: str) -> None:
    body = "\n".join(
        [
            json.dumps({"service": "api", "message": "User 17 logged in"}),
            "{not json",
            json.dumps({"service": "api"}),
            json.dumps({"service": "api", "message": "User 18 logged in"}),
        ]
    )

    response = post(client, "/api/logs", body, token)

    rejected = response.json()["rejected"]
    assert response.status_code == 200
    assert [r["where"] for r in rejected] == ["line 2", "line 3"]
    assert "'message' must be a non-empty string" in rejected[1]["reason"]
    assert LogTemplate.objects.get().count == 2


@pytest.mark.django_db
def test_it_refuses_a_body_with_nothing_valid(client: Any, token: str) -> None:
    response = post(client, "/api/logs", "[1, 2]", token)

    assert response.status_code == 422
    assert response.json()["detail"].startswith("nothing could be accepted: item 1: not a JSON")


@pytest.mark.django_db
def test_it_refuses_log_lines_from_the_future(client: Any, token: str) -> None:
    ahead = (NOW + timedelta(hours=2)).isoformat()
    body = jsonl({"service": "api", "message": "hello", "at": ahead})

    response = post(client, "/api/logs", body, token)

    assert response.status_code == 422
    assert "7,200 s in the future (clock skew?)" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["", "Bearer fo_abcd1234_forged", "Bearer nonsense"])
def test_it_refuses_a_missing_or_forged_token(client: Any, header: str) -> None:
    body = jsonl({"service": "api", "message": "hello"})

    response = client.post(
        "/api/logs", data=body, content_type="application/json", HTTP_AUTHORIZATION=header
    )

    assert response.status_code == 401
    assert LogTemplate.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_a_token_without_the_scope(client: Any, founder: User) -> None:
    _, other = create_token(founder, "reader", ["tickets:read"])

    response = post(client, "/api/logs", jsonl({"service": "api", "message": "x"}), other)

    assert response.status_code == 403
    assert "'logs:write' scope" in response.json()["detail"]


@pytest.mark.django_db
def test_it_counts_a_replayed_batch_once(client: Any, token: str) -> None:
    body = jsonl({"service": "api", "message": "User 17 logged in"})

    post(client, "/api/logs", body, token, HTTP_X_BATCH_ID="b-1")
    again = post(client, "/api/logs", body, token, HTTP_X_BATCH_ID="b-1")

    assert again.json()["batch"] == "replay"
    assert LogTemplate.objects.get().count == 1
    assert LogParserState.objects.get().lines_seen == 1


@pytest.mark.django_db
def test_it_refuses_a_body_over_the_size_cap(client: Any, token: str, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = jsonl(*({"service": "api", "message": f"line {n}"} for n in range(200)))

    response = post(client, "/api/logs", body, token)

    assert response.status_code == 413


@pytest.mark.django_db
def test_it_notes_flood_control_in_the_answer(client: Any, token: str, settings: Any) -> None:
    settings.LOG_LINES_PER_MINUTE = 10
    settings.LOG_SAMPLE_EVERY = 5
    body = jsonl(*({"service": "api", "message": f"job {n} done"} for n in range(60)))

    answer = post(client, "/api/logs", body, token).json()

    assert (answer["parsed"], answer["dropped"]) == (20, 40)
    assert answer["note"] == "flood control: 20 of 60 lines parsed"


@pytest.mark.django_db
def test_it_stores_metric_points(client: Any, token: str) -> None:
    body = jsonl(
        {"series": "queue.depth", "value": 4, "unit": "jobs"},
        {"series": "queue.depth", "value": 7, "at": "2025-03-04T08:59:00+00:00"},
    )

    response = post(client, "/api/metrics", body, token)

    assert response.json()["accepted"] == 2
    series = MetricSeries.objects.get(name="queue.depth")
    assert (series.unit, series.last_value, series.points.count()) == ("jobs", 4.0, 2)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("point", "reason"),
    [
        ({"series": "cpu", "value": "high"}, "'value' must be a finite number"),
        ({"series": "cpu", "value": 1, "at": "2025-03-04T11:00:00Z"}, "in the future"),
        ({"series": "cpu", "value": 1, "at": "2025-01-01T00:00:00Z"}, "older than 7 days"),
        ({"value": 1}, "'series' must be a name"),
    ],
)
def test_it_refuses_bad_points_with_the_reason(
    client: Any, token: str, point: dict[str, Any], reason: str
) -> None:
    body = jsonl({"series": "ok", "value": 1}, point)

    response = post(client, "/api/metrics", body, token)

    rejected = response.json()["rejected"]
    assert [r["where"] for r in rejected] == ["line 2"]
    assert reason in rejected[0]["reason"]
    assert MetricPoint.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_nan(client: Any, token: str) -> None:
    response = post(client, "/api/metrics", '{"series": "cpu", "value": NaN}', token)

    assert response.status_code == 422
    assert MetricPoint.objects.count() == 0


@pytest.mark.django_db
def test_it_keeps_monitor_series_to_the_monitor(client: Any, token: str) -> None:
    monitor = Monitor.objects.create(name="site", kind="http", target="http://127.0.0.1/")
    MetricSeries.objects.create(name="monitor:site:latency_ms", monitor=monitor)

    response = post(
        client, "/api/metrics", jsonl({"series": "monitor:site:latency_ms", "value": 1}), token
    )

    assert response.status_code == 422
    assert "fed by a monitor" in response.json()["detail"]


@pytest.mark.django_db
def test_it_keeps_monitor_series_to_the_engine_before_the_first_check(
    client: Any, token: str
) -> None:
    Monitor.objects.create(name="site", kind="http", target="http://127.0.0.1/")

    response = post(
        client, "/api/metrics", jsonl({"series": "monitor:site:latency_ms", "value": 1}), token
    )

    assert response.status_code == 422
    assert not MetricSeries.objects.exists()


def normal(n: int) -> float:
    return 100 + 5 * math.sin(n / 5) + (n * 7919 % 11) / 5


def feed(client: Any, token: str, values: list[float], start: int) -> Any:
    points = [
        {
            "series": "api.latency",
            "value": v,
            "unit": "ms",
            "component": "api",
            "at": (NOW - timedelta(minutes=600 - start - i)).isoformat(),
        }
        for i, v in enumerate(values)
    ]
    return post(client, "/api/metrics", jsonl(*points), token)


@pytest.mark.django_db
def test_it_fires_on_a_sustained_anomaly(client: Any, token: str) -> None:
    Component.objects.create(name="API", slug="api")
    feed(client, token, [normal(n) for n in range(300)], 0)

    answer = feed(client, token, [400.0] * 6, 300).json()

    alert = Alert.objects.get(cause="anomaly")
    assert answer["anomalies"] == ["api.latency"]
    assert (alert.component.slug if alert.component else None) == "api"
    assert alert.facts["slowdown"] > 2


@pytest.mark.django_db
def test_it_does_not_fire_on_normal_points(client: Any, token: str) -> None:
    feed(client, token, [normal(n) for n in range(400)], 0)

    assert Alert.objects.count() == 0


@pytest.mark.django_db
def test_it_does_not_fire_on_a_single_blip(client: Any, token: str) -> None:
    values = [normal(n) for n in range(300)] + [400.0] + [normal(n) for n in range(301, 320)]

    feed(client, token, values, 0)

    assert Alert.objects.count() == 0


@pytest.mark.django_db
def test_it_clears_the_anomaly_once_back_to_normal(client: Any, token: str) -> None:
    feed(client, token, [normal(n) for n in range(300)], 0)
    feed(client, token, [400.0] * 6, 300)

    feed(client, token, [normal(n) for n in range(306, 320)], 306)

    assert Alert.objects.get(cause="anomaly").state == Alert.State.RESOLVED
