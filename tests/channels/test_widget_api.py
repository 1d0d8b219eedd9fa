"""The widget's public JSON endpoints as a browser calls them: no login, JSON in and out."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.staticfiles import finders

from founderops.channels import widget
from founderops.core.models import RateCounter
from founderops.support import services
from founderops.support.models import Message, Rating, Ticket
from tests.channels.widget_cast import (
    ADA,
    ADA_IP,
    KNOWN,
    NOW,
    RESET_ANSWER,
    UNKNOWN,
    form_token,
    post_json,
    trained_for_the_module,
)

ASK = "/widget/v1/ask"
RATE = "/widget/v1/rate"


@pytest.fixture(scope="module")
def trained(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with trained_for_the_module(django_db_blocker):
        yield


@pytest.fixture
def clock(trained: None, db: None) -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def token(client: Any, clock: time_machine.Traveller) -> str:
    issued = form_token(client)
    clock.shift(5)
    return issued


def ask(client: Any, token: str, question: str = KNOWN, **fields: str) -> Any:
    return post_json(client, ASK, {"token": token, "question": question, **fields})


def test_it_hands_out_a_form_token_to_anyone(client: Any, clock: time_machine.Traveller) -> None:
    response = client.get("/widget/v1/session")
    assert response.status_code == 200
    assert response.json()["min_wait_seconds"] == 2
    assert response["Cache-Control"] == "no-store"


def test_it_answers_a_question_in_the_same_request(client: Any, token: str) -> None:
    response = ask(client, token, email=ADA)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "answered"
    assert RESET_ANSWER in body["text"]
    assert Message.objects.get(pk=body["message_id"]).author == Message.Author.AGENT


def test_it_hands_an_unknown_question_off_to_the_visitors_email(client: Any, token: str) -> None:
    body = ask(client, token, UNKNOWN, email=ADA).json()
    assert (body["status"], body["email"]) == ("handoff", ADA)
    assert body["text"] == (
        f"Thanks! A person from our team will answer this. We'll reply by e-mail to {ADA}."
    )


def test_it_asks_for_an_email_then_hands_off(client: Any, token: str) -> None:
    first = ask(client, token, UNKNOWN).json()
    assert first["status"] == "need_email"
    second = post_json(
        client, ASK, {"token": token, "conversation": first["conversation"], "email": ADA}
    ).json()
    assert (second["status"], second["email"]) == ("handoff", ADA)
    assert Ticket.objects.get().customer.email == ADA


def test_it_rates_an_answer_through_the_widget(client: Any, token: str) -> None:
    answer = ask(client, token, email=ADA).json()
    response = post_json(client, RATE, {"rating_token": answer["rating_token"], "score": "good"})
    assert response.status_code == 200
    assert response.json() == {
        "status": "rated",
        "score": "good",
        "text": "Thanks for your feedback!",
    }
    rating = Rating.objects.get()
    assert (rating.message_id, rating.channel) == (answer["message_id"], "chat")


def test_it_refuses_a_rating_with_an_unknown_score(client: Any, token: str) -> None:
    answer = ask(client, token, email=ADA).json()
    response = post_json(client, RATE, {"rating_token": answer["rating_token"], "score": "5"})
    assert response.status_code == 400
    assert response.json()["detail"] == "unknown score '5'; use one of good, bad"


def test_it_refuses_a_rating_without_a_token(client: Any, clock: time_machine.Traveller) -> None:
    response = post_json(client, RATE, {"score": "good"})
    assert (response.status_code, response.json()["code"]) == (400, "rating_invalid")


def test_it_refuses_a_rating_of_the_visitors_own_message(client: Any, token: str) -> None:
    ask(client, token, email=ADA)
    mine = Message.objects.get(author=Message.Author.CUSTOMER)
    response = post_json(client, RATE, {"rating_token": widget.rating_token(mine), "score": "bad"})
    assert response.status_code == 400
    assert "only a reply" in response.json()["detail"]


def test_it_refuses_malformed_json_with_400(client: Any, clock: time_machine.Traveller) -> None:
    response = client.post(ASK, b'{"question": "hi"', content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "the request body is not valid JSON", "code": "bad_json"}


def test_it_refuses_json_that_is_not_an_object(client: Any, clock: time_machine.Traveller) -> None:
    response = post_json(client, ASK, ["a", "list"])
    assert response.status_code == 400
    assert response.json()["detail"] == "the request body must be a JSON object"


def test_it_refuses_deeply_nested_json_without_crashing(
    client: Any, clock: time_machine.Traveller
) -> None:
    response = client.post(ASK, b"[" * 30000, content_type="application/json")
    assert response.status_code in {400, 413}
    assert response.json()["code"] in {"bad_json", "too_large"}


def test_it_refuses_a_body_that_is_not_utf8(client: Any, clock: time_machine.Traveller) -> None:
    response = client.post(ASK, b'{"question": "\xff\xfe"}', content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "bad_json")


def test_it_refuses_a_field_of_the_wrong_type(client: Any, token: str) -> None:
    response = post_json(client, ASK, {"token": token, "question": ["hi"]})
    assert response.status_code == 400
    assert response.json() == {"detail": "question must be a string", "code": "bad_field"}


def test_it_refuses_an_oversize_body_with_413(client: Any, token: str) -> None:
    response = ask(client, token, "x" * (widget.MAX_BODY_BYTES + 1))
    assert response.status_code == 413
    assert response.json()["detail"] == "the request is larger than 32768 bytes"
    assert Ticket.objects.count() == 0


def test_it_refuses_an_overlong_question_with_400(client: Any, token: str) -> None:
    response = ask(client, token, "x" * 2001)
    assert (response.status_code, response.json()["code"]) == (400, "question_too_long")


def test_it_refuses_a_filled_honeypot_with_a_clear_error(client: Any, token: str) -> None:
    response = ask(client, token, website="https://spam.example")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "refused: a hidden field meant to catch bots was filled in",
        "code": "honeypot",
    }
    assert Ticket.objects.count() == 0


def test_it_refuses_a_form_sent_too_fast_with_retry_after(client: Any, clock: Any) -> None:
    token = form_token(client)
    response = ask(client, token)
    assert response.status_code == 429
    assert response["Retry-After"] == "2"
    assert response.json()["code"] == "too_fast"
    assert Ticket.objects.count() == 0


def test_it_refuses_an_invalid_email_saying_so(client: Any, token: str) -> None:
    response = ask(client, token, email="not-an-address")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "not an email address: 'not-an-address'",
        "code": "invalid",
    }


def test_it_answers_a_flood_with_429_and_stores_nothing_more(
    client: Any, token: str, settings: Any
) -> None:
    settings.WIDGET_QUESTIONS_PER_HOUR = 3
    statuses = [ask(client, token, f"{UNKNOWN} #{n}", email=ADA).status_code for n in range(8)]
    assert statuses == [200, 200, 200, 429, 429, 429, 429, 429]
    assert (Ticket.objects.count(), Message.objects.count()) == (3, 3)


def test_it_says_when_a_flooding_address_may_ask_again(
    client: Any, token: str, settings: Any
) -> None:
    settings.WIDGET_QUESTIONS_PER_HOUR = 1
    ask(client, token, email=ADA)
    response = ask(client, token, UNKNOWN, email=ADA)
    # The window is the clock hour: 09:00:05 leaves 3,595 seconds (+1 for rounding).
    assert response["Retry-After"] == "3596"
    assert response.json()["retry_after"] == 3596


def test_it_keeps_no_visitor_address_in_the_rate_counters(client: Any, token: str) -> None:
    ask(client, token, email=ADA)
    assert not any(ADA_IP in key for key in RateCounter.objects.values_list("key", flat=True))


def test_it_returns_markup_in_a_question_as_escaped_text(client: Any, token: str) -> None:
    name = '<img src=x onerror="alert(1)">Ada'
    response = ask(client, token, KNOWN, email=ADA, name=name)
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"<img" not in response.content
    assert response.json()["text"].startswith("Hi Ada,")


def test_it_sends_markup_in_an_answer_as_text_never_as_html(client: Any, token: str) -> None:
    services.save_article(
        "reset-password",
        "Reset your password",
        "reset_password",
        "About it.",
        "Use the <b>reset</b> link <script>alert(1)</script>",
        ["I forgot my password"],
    )
    response = ask(client, token, KNOWN, email=ADA)
    assert b"<script>" not in response.content
    assert b"\\u003cscript\\u003e" in response.content
    assert "<script>alert(1)</script>" in response.json()["text"]


def test_it_answers_a_get_on_ask_with_a_json_405(
    client: Any, clock: time_machine.Traveller
) -> None:
    response = client.get(ASK)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json() == {"detail": "use POST", "code": "method_not_allowed"}


def test_it_needs_no_login_and_no_csrf_token(clock: time_machine.Traveller) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    token = form_token(strict)
    clock.shift(5)
    assert post_json(strict, ASK, {"token": token, "question": KNOWN}).status_code == 200


def test_it_serves_the_demo_page_with_the_widget_to_anyone(client: Any, db: None) -> None:
    response = client.get("/widget/demo/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<script src="/static/channels/widget.js" data-founderops async></script>' in html


def test_it_ships_a_small_script() -> None:
    path = finders.find("channels/widget.js")
    assert isinstance(path, str)
    with open(path, "rb") as handle:
        assert len(handle.read()) < 12 * 1024


def test_it_never_inserts_server_text_as_html_in_the_script() -> None:
    path = finders.find("channels/widget.js")
    assert isinstance(path, str)
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    found = re.findall(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", source)
    assert found == []
    assert "textContent" in source


def test_it_loads_nothing_from_another_host_in_the_script() -> None:
    path = finders.find("channels/widget.js")
    assert isinstance(path, str)
    with open(path, encoding="utf-8") as handle:
        urls = re.findall(r"https?://[^\s\"')]+", handle.read())
    # Only the example in the comment: the script talks to the origin it was loaded from.
    assert set(urls) == {"https://ops.example.com/static/channels/widget.js"}


def test_it_sends_json_safe_to_put_in_a_page() -> None:
    from founderops.channels.widget_views import json_response

    body = json_response({"text": "</script><b>&"}).content
    assert body == b'{"text": "\\u003c/script\\u003e\\u003cb\\u003e\\u0026"}'
    assert json.loads(body) == {"text": "</script><b>&"}
