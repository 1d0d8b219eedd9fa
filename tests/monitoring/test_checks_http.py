"""HTTP(S) checks against a real server on 127.0.0.1 (and a MockTransport where simpler)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from founderops.core import http
from founderops.monitoring import checks
from founderops.monitoring.models import Monitor
from tests.monitoring.local_servers import Http, closed_port, http_server, probe


@pytest.fixture(scope="module")
def server() -> Iterator[Http]:
    with http_server() as running:
        yield running


def monitor(url: str, timeout_s: float = 5.0, **options: Any) -> Monitor:
    return Monitor(
        name="site", kind=Monitor.Kind.HTTP, target=url, options=options, timeout_s=timeout_s
    )


def test_it_reports_up_with_latency_for_a_200(server: Http) -> None:
    result = probe(monitor(server.url("/ok")))
    assert result.outcome == "up"
    assert result.latency_ms is not None
    assert result.latency_ms > 0
    assert result.detail["status"] == 200


def test_it_reports_down_and_hard_for_a_500(server: Http) -> None:
    result = probe(monitor(server.url("/error")))
    assert (result.outcome, result.error, result.cause) == (
        "down",
        "HTTP 500 Internal Server Error",
        "down",
    )
    assert result.facts["hard"] is True


def test_it_accepts_a_status_the_founder_expects(server: Http) -> None:
    assert probe(monitor(server.url("/error"), expected_status=[500])).outcome == "up"


def test_it_refuses_a_status_outside_the_range(server: Http) -> None:
    assert probe(monitor(server.url("/ok"), expected_status="300-399")).outcome == "down"


def test_it_says_connection_refused_for_a_closed_port() -> None:
    result = probe(monitor(f"http://127.0.0.1:{closed_port()}/"))
    assert (result.outcome, result.error) == ("down", "connection refused")


def test_it_times_out_on_a_server_that_hangs(server: Http) -> None:
    result = probe(monitor(server.url("/hang"), timeout_s=0.3))
    assert (result.outcome, result.error) == ("down", "timed out after 0.3 s")


def test_it_finds_the_keyword(server: Http) -> None:
    assert probe(monitor(server.url("/ok"), keyword="all systems go")).outcome == "up"


def test_it_is_down_when_the_keyword_is_lost(server: Http) -> None:
    result = probe(monitor(server.url("/ok"), keyword="Welcome back"))
    assert (result.outcome, result.cause) == ("down", "keyword")
    assert result.error == "keyword 'Welcome back' not found in the response"


def test_it_calls_a_lost_keyword_a_hard_failure(server: Http) -> None:
    # A broken page served with 200 is as good as down: P1, P0 on a critical component.
    assert probe(monitor(server.url("/ok"), keyword="Welcome back")).facts["hard"] is True


def test_it_calls_a_wrong_json_value_a_hard_failure(server: Http) -> None:
    result = probe(monitor(server.url("/json"), json_path="data.items.0.name", json_value="x"))
    assert (result.outcome, result.cause, result.facts["hard"]) == ("down", "json", True)


def test_it_is_down_when_a_forbidden_keyword_appears(server: Http) -> None:
    assert probe(monitor(server.url("/ok"), keyword_absent="systems go")).outcome == "down"


def test_it_reads_a_json_value_at_a_dotted_path(server: Http) -> None:
    result = probe(monitor(server.url("/json"), json_path="data.items.0.name", json_value="db"))
    assert result.outcome == "up"
    assert result.detail["json_value"] == "db"


def test_it_is_down_when_the_json_value_differs(server: Http) -> None:
    result = probe(monitor(server.url("/json"), json_path="data.status", json_value="degraded"))
    assert result.error == "data.status is 'ok', expected 'degraded'"


def test_it_is_down_when_the_json_path_is_missing(server: Http) -> None:
    result = probe(monitor(server.url("/json"), json_path="data.missing"))
    assert result.error == "no value at data.missing in the response"


def test_it_is_down_when_the_body_is_not_json(server: Http) -> None:
    assert probe(monitor(server.url("/ok"), json_path="a")).error == "the response is not JSON"


def test_it_follows_redirects_and_lists_them(server: Http) -> None:
    result = probe(monitor(server.url("/redirect")))
    assert result.outcome == "up"
    assert result.detail["redirects"] == [server.url("/ok")]


def test_it_names_a_redirect_loop(server: Http) -> None:
    result = probe(monitor(server.url("/loop-a")))
    assert result.outcome == "down"
    a, b = server.url("/loop-a"), server.url("/loop-b")
    assert result.error == f"redirect loop: {a} → {b} → {a}"


def test_it_stops_after_the_allowed_redirects(server: Http) -> None:
    result = probe(monitor(server.url("/chain-1"), max_redirects=2))
    assert result.error.startswith("too many redirects (more than 2)")


def test_it_judges_the_redirect_itself_when_redirects_are_off(server: Http) -> None:
    result = probe(monitor(server.url("/redirect"), max_redirects=0, expected_status=302))
    assert result.outcome == "up"


def test_it_refuses_a_gigantic_body_it_must_read(server: Http) -> None:
    result = probe(monitor(server.url("/big"), keyword="x"), max_body_bytes=1024 * 1024)
    assert (result.outcome, result.error) == ("down", "response larger than 1 MiB")


def test_it_stops_reading_a_gigantic_body_it_does_not_need(server: Http) -> None:
    result = probe(monitor(server.url("/big")), max_body_bytes=1024 * 1024)
    assert result.outcome == "up"
    assert result.detail["body_truncated"] is True
    assert result.detail["bytes"] <= 1024 * 1024


def test_it_is_degraded_above_the_latency_limit(server: Http) -> None:
    server.server.delay_s = 0.05
    try:
        result = probe(monitor(server.url("/slow"), max_latency_ms=1))
    finally:
        server.server.delay_s = 0.0
    assert (result.outcome, result.cause) == ("degraded", "slow")


def test_it_measures_rate_limit_headroom_and_degrades_below_the_threshold(server: Http) -> None:
    result = probe(monitor(server.url("/limited"), ratelimit_min_ratio=0.1))
    assert result.metrics["ratelimit_remaining_ratio"] == pytest.approx(0.05)
    assert (result.outcome, result.cause) == ("degraded", "rate_limit")


def test_it_reads_the_standard_ratelimit_headers(server: Http) -> None:
    result = probe(monitor(server.url("/roomy")))
    assert result.outcome == "up"
    assert result.metrics["ratelimit_remaining_ratio"] == pytest.approx(0.8)


def test_it_reports_a_429_with_its_retry_after(server: Http) -> None:
    result = probe(monitor(server.url("/throttled")))
    assert (result.outcome, result.error) == (
        "degraded",
        "rate limited (HTTP 429, retry after 30 s)",
    )
    assert result.metrics["ratelimit_remaining_ratio"] == 0.0


def test_it_refuses_malformed_options_with_their_name(server: Http) -> None:
    result = probe(monitor(server.url("/ok"), expected_status="2xx"))
    assert result.outcome == "down"
    assert result.cause == "config"
    assert "expected_status" in result.error


def test_it_sends_through_the_injected_async_transport() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, text="maintenance")

    http.set_async_transport(httpx.MockTransport(answer))
    try:
        result = probe(monitor("https://api.example.com/health", headers={"X-Probe": "1"}))
    finally:
        http.set_async_transport(None)
    assert result.error == "HTTP 503 Service Unavailable"
    assert seen[0].headers["X-Probe"] == "1"
    assert seen[0].headers["User-Agent"] == http.USER_AGENT


def test_it_times_the_wire_from_connect_to_the_response_headers() -> None:
    wire = checks.WireTime()
    events = ["connection.connect_tcp.started", "http11.send_request_headers.started"]
    events += ["http11.receive_response_headers.complete"]

    async def replay() -> None:
        for event in events:
            await wire(event, {})

    asyncio.run(replay())
    asyncio.run(replay())  # a redirect: a second hop adds its own time
    assert (wire.hops, wire.seconds > 0) == (2, True)
