"""CORS: the founder's sites (exact origins) and this app's own pages may use the widget."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from founderops.support.models import Ticket
from tests.channels.widget_cast import NOW, form_token, post_json

SITE = "https://inkwell.example"
SESSION = "/widget/v1/session"
ASK = "/widget/v1/ask"


@pytest.fixture(autouse=True)
def _origins(settings: Any) -> None:
    settings.WIDGET_ORIGINS = [SITE, "https://www.inkwell.example/"]
    settings.SITE_URL = "https://ops.inkwell.example"


@pytest.fixture
def clock(db: None) -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def varies_by(response: Any) -> list[str]:
    return [name.strip() for name in response.get("Vary", "").split(",")]


def preflight(client: Any, origin: str, path: str = ASK) -> Any:
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )


def test_it_allows_a_listed_origin(client: Any, clock: Any) -> None:
    response = client.get(SESSION, HTTP_ORIGIN=SITE)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SITE
    assert "Origin" in varies_by(response)


def test_it_allows_a_listed_origin_written_with_a_trailing_slash(client: Any, clock: Any) -> None:
    response = client.get(SESSION, HTTP_ORIGIN="https://www.inkwell.example")
    assert response["Access-Control-Allow-Origin"] == "https://www.inkwell.example"


def test_it_never_allows_any_origin_or_credentials(client: Any, clock: Any) -> None:
    response = client.get(SESSION, HTTP_ORIGIN=SITE)
    assert response["Access-Control-Allow-Origin"] != "*"
    assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://inkwell.example.evil.example",
        "http://inkwell.example",
        "https://inkwell.example:8443",
        "https://app.inkwell.example",
        "null",
    ],
)
def test_it_refuses_any_other_origin_with_403(client: Any, clock: Any, origin: str) -> None:
    response = client.get(SESSION, HTTP_ORIGIN=origin)
    assert response.status_code == 403
    assert response.json()["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response


def test_it_says_how_to_allow_a_refused_origin(client: Any, clock: Any) -> None:
    response = client.get(SESSION, HTTP_ORIGIN="https://evil.example")
    assert response.json()["detail"] == (
        "the chat widget may not be used from https://evil.example: add it to "
        "FOUNDEROPS_WIDGET_ORIGINS"
    )


def test_it_stores_nothing_a_refused_origin_sends(client: Any, clock: Any) -> None:
    token = form_token(client)
    clock.shift(5)
    body = {"token": token, "question": "I forgot my password"}
    response = post_json(client, ASK, body, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert Ticket.objects.count() == 0


def test_it_answers_a_preflight_from_a_listed_origin(client: Any, clock: Any) -> None:
    response = preflight(client, SITE)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == SITE
    assert response["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert response["Access-Control-Allow-Headers"] == "Content-Type"
    assert response["Access-Control-Max-Age"] == "600"
    assert "Origin" in varies_by(response)


def test_it_refuses_a_preflight_from_another_origin(client: Any, clock: Any) -> None:
    response = preflight(client, "https://evil.example")
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response


def test_it_answers_the_preflight_of_each_endpoint(client: Any, clock: Any) -> None:
    methods = {
        path: preflight(client, SITE, path)["Access-Control-Allow-Methods"]
        for path in (SESSION, ASK, "/widget/v1/rate")
    }
    assert methods == {
        SESSION: "GET, OPTIONS",
        ASK: "POST, OPTIONS",
        "/widget/v1/rate": "POST, OPTIONS",
    }


def test_it_allows_this_apps_own_pages(client: Any, clock: Any) -> None:
    response = client.get(SESSION, HTTP_ORIGIN="http://testserver")
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_it_allows_the_public_url_as_its_own_origin(client: Any, clock: Any) -> None:
    # Behind a TLS proxy the request arrives as http://…; the public URL names the origin.
    response = client.get(SESSION, HTTP_ORIGIN="https://ops.inkwell.example")
    assert response.status_code == 200


def test_it_serves_a_request_without_an_origin(client: Any, clock: Any) -> None:
    assert client.get(SESSION).status_code == 200


def test_it_marks_every_answer_as_varying_by_origin(client: Any, clock: Any) -> None:
    responses = [
        client.get(SESSION),
        client.get(SESSION, HTTP_ORIGIN="https://evil.example"),
        client.post(ASK, b"{", content_type="application/json", HTTP_ORIGIN=SITE),
    ]
    assert all("Origin" in varies_by(r) for r in responses)


def test_it_lets_a_listed_origin_read_an_error(client: Any, clock: Any) -> None:
    response = client.post(ASK, b"{", content_type="application/json", HTTP_ORIGIN=SITE)
    assert response.status_code == 400
    assert response["Access-Control-Allow-Origin"] == SITE


def test_it_refuses_everything_cross_origin_when_no_site_is_listed(
    client: Any, clock: Any, settings: Any
) -> None:
    settings.WIDGET_ORIGINS = []
    assert client.get(SESSION, HTTP_ORIGIN=SITE).status_code == 403
