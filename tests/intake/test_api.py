"""Intake through the REST API: clear errors, one ticket per external id, token and CSRF."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import LazySettings
from django.contrib.auth.models import User
from django.test import Client

from founderops.api.models import ApiToken
from founderops.core import audit
from founderops.support.models import Ticket
from tests.intake.conftest import bearer

pytestmark = pytest.mark.django_db

TICKET = {"email": "ada@example.com", "body": "I forgot my password", "subject": "Password"}


def post(client: Client, headers: dict[str, str], body: Any, path: str = "/api/tickets") -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(path, data, content_type="application/json", headers=headers)


def test_it_creates_a_ticket_with_201(client: Client, writer: dict[str, str]) -> None:
    response = post(client, writer, TICKET)
    assert response.status_code == 201
    assert response.json()["messages"][0]["body"] == "I forgot my password"


def test_it_returns_the_first_ticket_with_200_for_the_same_external_id(
    client: Client, writer: dict[str, str]
) -> None:
    first = post(client, writer, {**TICKET, "external_id": "zd-1"})
    again = post(client, writer, {**TICKET, "external_id": "zd-1"})
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert Ticket.objects.count() == 1


def test_it_refuses_an_external_id_reused_for_a_different_request_with_409(
    client: Client, writer: dict[str, str]
) -> None:
    first = post(client, writer, {**TICKET, "external_id": "zd-1"}).json()
    again = post(client, writer, {**TICKET, "external_id": "zd-1", "body": "Something else"})
    assert (again.status_code, again.json()) == (
        409,
        {
            "detail": "external_id 'zd-1' was already used for a different request "
            f"(ticket #{first['id']})"
        },
    )


def test_it_refuses_an_empty_request_body(client: Client, writer: dict[str, str]) -> None:
    response = post(client, writer, b"")
    assert response.status_code == 422
    assert response.json()["detail"] == "the request body is empty: send a JSON object"


def test_it_refuses_an_empty_message_body(client: Client, writer: dict[str, str]) -> None:
    response = post(client, writer, {**TICKET, "body": " \n "})
    assert (response.status_code, response.json()) == (422, {"detail": "the message body is empty"})


def test_it_refuses_a_huge_body_naming_the_limit(client: Client, writer: dict[str, str]) -> None:
    response = post(client, writer, {**TICKET, "body": "a" * 20_001})
    assert response.status_code == 422
    assert "the limit is 20,000" in response.json()["detail"]


def test_it_refuses_a_request_over_the_size_limit_with_413(
    client: Client, writer: dict[str, str], settings: LazySettings
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    response = post(client, writer, {**TICKET, "body": "a" * 3_000})
    assert response.status_code == 413
    assert "larger than 2,000 bytes" in response.json()["detail"]


def test_it_names_unknown_fields(client: Client, writer: dict[str, str]) -> None:
    response = post(client, writer, {**TICKET, "priority": "urgent"})
    assert (response.status_code, response.json()["detail"]) == (422, "unknown field 'priority'")


def test_it_names_a_missing_field(client: Client, writer: dict[str, str]) -> None:
    response = post(client, writer, {"email": "ada@example.com"})
    assert (response.status_code, response.json()["detail"]) == (422, "missing field 'body'")


def test_it_answers_malformed_json_with_400(client: Client, writer: dict[str, str]) -> None:
    response = post(client, writer, b'{"email": "ada@example.com",')
    assert response.status_code == 400
    assert response.json()["detail"].startswith("the request body is not valid JSON: ")


def test_it_says_a_body_nested_too_deeply_is_nested_too_deeply(
    client: Client, writer: dict[str, str]
) -> None:
    response = post(client, writer, b"[" * 100_000 + b"]" * 100_000)
    assert (response.status_code, response.json()["detail"]) == (
        400,
        "the request body is not valid JSON: it is nested too deeply, or malformed",
    )


def test_it_refuses_a_json_array(client: Client, writer: dict[str, str]) -> None:
    response = post(client, writer, [TICKET])
    assert response.status_code == 422
    assert "valid dictionary" in response.json()["detail"]


def test_it_refuses_a_created_at_without_time_zone(client: Client, writer: dict[str, str]) -> None:
    response = post(client, writer, {**TICKET, "created_at": "2026-01-31T09:00:00"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("created_at needs a time zone")


def test_it_refuses_a_bad_email(client: Client, writer: dict[str, str]) -> None:
    response = post(client, writer, {**TICKET, "email": "ada@@example"})
    assert (response.status_code, response.json()["detail"]) == (
        422,
        "not an email address: 'ada@@example'",
    )


def test_it_refuses_an_unknown_channel(client: Client, writer: dict[str, str]) -> None:
    response = post(client, writer, {**TICKET, "channel": "fax"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "payload", "channel"]


def test_it_turns_html_mail_into_text(client: Client, writer: dict[str, str]) -> None:
    html = "<html><body><p>Hi&nbsp;there</p><p>I can&#39;t log in</p></body></html>"
    response = post(client, writer, {**TICKET, "body": html})
    assert response.json()["messages"][0]["body"] == "Hi there\n\nI can't log in"


def test_it_drops_control_characters_from_the_subject(
    client: Client, writer: dict[str, str]
) -> None:
    response = post(client, writer, {**TICKET, "subject": "Help\x00 me\r\nnow"})
    assert response.json()["subject"] == "Help me now"


def test_it_answers_an_invalid_token_with_401(client: Client, founder: User) -> None:
    response = post(client, {"Authorization": "Bearer fo_0000_nope"}, TICKET)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_it_answers_a_call_without_token_with_401_not_a_login_redirect(client: Client) -> None:
    response = client.get("/api/tickets")
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["detail"]


def test_it_refuses_a_revoked_token(client: Client, writer: dict[str, str]) -> None:
    ApiToken.objects.update(revoked=True)
    assert post(client, writer, TICKET).status_code == 401


def test_it_answers_a_missing_scope_with_403(client: Client, founder: User) -> None:
    response = post(client, bearer(founder, "tickets:read"), TICKET)
    assert response.status_code == 403
    assert response.json()["detail"] == "this token lacks the 'tickets:write' scope"


def test_it_refuses_a_session_post_without_csrf_token(founder: User) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(founder)
    response = post(browser, {}, TICKET)
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF check failed")
    assert Ticket.objects.count() == 0


def test_it_accepts_a_session_post_with_csrf_token(founder: User) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(founder)
    browser.cookies["csrftoken"] = "a" * 32
    response = post(browser, {"X-CSRFToken": "a" * 32}, TICKET)
    assert response.status_code == 201


def test_it_lists_tickets_filtered_by_status(client: Client, writer: dict[str, str]) -> None:
    post(client, writer, TICKET)
    Ticket.objects.update(status=Ticket.Status.ESCALATED)
    post(client, writer, {**TICKET, "body": "second"})
    page = client.get("/api/tickets?status=new", headers=writer).json()
    assert (page["count"], page["items"][0]["subject"]) == (1, "Password")


def test_it_pages_tickets_newest_first(client: Client, writer: dict[str, str]) -> None:
    for n in range(3):
        post(client, writer, {**TICKET, "subject": f"ticket {n}"})
    page = client.get("/api/tickets?limit=1&offset=1", headers=writer).json()
    assert (page["count"], [t["subject"] for t in page["items"]]) == (3, ["ticket 1"])


def test_it_refuses_a_page_larger_than_100(client: Client, writer: dict[str, str]) -> None:
    response = client.get("/api/tickets?limit=500", headers=writer)
    assert response.status_code == 422
    assert response.json()["detail"] == "limit: Input should be less than or equal to 100"


@pytest.mark.parametrize("path", ["/api/tickets", "/api/audit"])
def test_it_refuses_an_offset_beyond_a_billion_with_422(
    client: Client, founder: User, path: str
) -> None:
    headers = bearer(founder, "tickets:read", "audit:read")
    response = client.get(f"{path}?offset=100000000000000000000000", headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"] == "offset: Input should be less than or equal to 1000000000"


def test_it_answers_an_unknown_ticket_with_404(client: Client, writer: dict[str, str]) -> None:
    response = client.get("/api/tickets/999", headers=writer)
    assert (response.status_code, response.json()) == (404, {"detail": "no ticket 999"})


def test_it_adds_the_customers_follow_up(client: Client, writer: dict[str, str]) -> None:
    ticket = post(client, writer, TICKET).json()
    response = post(client, writer, {"body": "Any news?"}, f"/api/tickets/{ticket['id']}/messages")
    assert response.status_code == 201
    assert [m["body"] for m in response.json()["messages"]] == ["I forgot my password", "Any news?"]


def test_it_answers_a_retried_follow_up_with_200_and_stores_it_once(
    client: Client, writer: dict[str, str]
) -> None:
    ticket = post(client, writer, TICKET).json()
    path = f"/api/tickets/{ticket['id']}/messages"
    first = post(client, writer, {"body": "Any news?", "external_id": "m-2"}, path)
    again = post(client, writer, {"body": "Any news?", "external_id": "m-2"}, path)
    assert (first.status_code, again.status_code) == (201, 200)
    assert len(again.json()["messages"]) == 2


def test_it_sends_an_answered_ticket_back_to_the_founder_on_follow_up(
    client: Client, writer: dict[str, str]
) -> None:
    ticket = post(client, writer, TICKET).json()
    Ticket.objects.update(status=Ticket.Status.ANSWERED_AUTO)
    post(client, writer, {"body": "That did not work"}, f"/api/tickets/{ticket['id']}/messages")
    assert Ticket.objects.get().status == Ticket.Status.ESCALATED


def test_it_lists_the_audit_trail_to_an_audit_token(client: Client, founder: User) -> None:
    audit.record("agent:support", "support.auto_reply", ("ticket", 1), outcome="answered")
    page = client.get("/api/audit?action=support.auto_reply", headers=bearer(founder, "audit:read"))
    assert [e["outcome"] for e in page.json()["items"]] == ["answered"]


@pytest.mark.parametrize("path", ["/api/audit", "/api/audit/export", "/api/tickets"])
def test_it_refuses_a_filter_with_a_nul_character(client: Client, founder: User, path: str) -> None:
    token = bearer(founder, "audit:read", "tickets:read")
    field = "intent" if path == "/api/tickets" else "action"
    response = client.get(f"{path}?{field}=a%00b", headers=token)
    assert response.status_code == 422
    assert "NUL" in response.content.decode()


def test_it_keeps_the_audit_trail_from_a_ticket_token(
    client: Client, writer: dict[str, str]
) -> None:
    assert client.get("/api/audit", headers=writer).status_code == 403


def test_it_exports_the_audit_trail_as_json_lines(client: Client, founder: User) -> None:
    audit.record("system", "first")
    audit.record("system", "second")
    response = client.get("/api/audit/export", headers=bearer(founder, "audit:read"))
    lines = response.getvalue().decode().splitlines()
    assert [json.loads(line)["action"] for line in lines][:2] == ["first", "second"]


def test_it_serves_the_openapi_schema_to_staff_with_every_endpoint(
    founder_client: Client,
) -> None:
    schema = founder_client.get("/api/openapi.json").json()
    assert set(schema["paths"]) == {
        "/api/tickets",
        "/api/tickets/{ticket_id}",
        "/api/tickets/{ticket_id}/messages",
        "/api/audit",
        "/api/audit/export",
        "/api/logs",
        "/api/metrics",
    }


def test_it_serves_the_api_docs_page_to_staff(founder_client: Client) -> None:
    assert founder_client.get("/api/docs").status_code == 200


def test_it_keeps_the_schema_from_anonymous_visitors(client: Client) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 302


def test_it_sends_anonymous_visitors_of_the_api_docs_to_the_products_login(
    client: Client,
) -> None:
    response = client.get("/api/docs")
    assert (response.status_code, response["Location"]) == (302, "/login/?next=/api/docs")


def test_it_refuses_the_api_docs_to_a_signed_in_account_that_is_not_staff(
    client: Client,
) -> None:
    client.force_login(User.objects.create_user("bob", "bob@example.com", "not staff at all"))
    assert client.get("/api/openapi.json").status_code == 403
