from __future__ import annotations

import pytest
import time_machine

from founderops.core.errors import Conflict, InvalidInput
from founderops.customers.models import Customer
from founderops.support import services
from founderops.support.models import Message, Ticket
from tests.support.conftest import incoming

pytestmark = pytest.mark.django_db


def test_it_stores_the_request_as_a_ticket_with_its_first_message() -> None:
    ticket, created = services.receive_ticket(incoming(), triage=False)
    assert created
    assert ticket.messages.get().body == "I forgot my password, help"
    assert ticket.status == Ticket.Status.NEW


def test_it_creates_the_customer_on_first_contact_and_reuses_it() -> None:
    services.receive_ticket(incoming(), triage=False)
    services.receive_ticket(incoming(email="ADA@example.com "), triage=False)
    assert Customer.objects.get().email == "ada@example.com"


def test_it_keeps_one_ticket_per_external_id() -> None:
    first, _ = services.receive_ticket(incoming(external_id="mail-1"), triage=False)
    again, created = services.receive_ticket(incoming(external_id="mail-1"), triage=False)
    assert (again.pk, created) == (first.pk, False)
    assert Message.objects.count() == 1


def test_it_refuses_an_empty_body() -> None:
    with pytest.raises(InvalidInput, match="body is empty"):
        services.receive_ticket(incoming(body=" \n\t "), triage=False)


def test_it_refuses_a_body_over_the_limit(settings: object) -> None:
    with pytest.raises(InvalidInput, match="the limit is 20,000"):
        services.receive_ticket(incoming(body="a" * 20_001), triage=False)


def test_it_turns_html_mail_into_text() -> None:
    html = "<html><body><p>Hello</p><script>alert(1)</script><p>I &amp; my team</p></body></html>"
    ticket, _ = services.receive_ticket(incoming(body=html), triage=False)
    assert ticket.messages.get().body == "Hello\n\nI & my team"


def test_it_refuses_a_bad_email() -> None:
    with pytest.raises(InvalidInput, match="not an email address"):
        services.receive_ticket(incoming(email="ada at example"), triage=False)


def test_it_refuses_an_unknown_channel() -> None:
    with pytest.raises(InvalidInput, match="unknown channel 'fax'"):
        services.receive_ticket(incoming(channel="fax"), triage=False)


@time_machine.travel("2026-05-04T10:00:00Z", tick=False)
def test_it_dates_the_ticket_now_when_the_source_gives_no_time() -> None:
    ticket, _ = services.receive_ticket(incoming(), triage=False)
    assert ticket.created_at.isoformat() == "2026-05-04T10:00:00+00:00"


def test_it_queues_the_agent_once_the_ticket_is_committed(
    django_capture_on_commit_callbacks: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[tuple[str, tuple[object, ...]]] = []

    def enqueue(func: str, *args: object, **_: object) -> str:
        queued.append((func, args))
        return "job"

    monkeypatch.setattr("founderops.core.jobs.enqueue", enqueue)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        ticket, _ = services.receive_ticket(incoming())
    assert queued == [("founderops.support.tasks.triage_ticket", (ticket.pk,))]


def test_it_stores_a_follow_up_once_per_external_id() -> None:
    ticket, _ = services.receive_ticket(incoming(), triage=False)
    first, new = services.add_customer_message(ticket, "Any news?", external_id="msg-2")
    again, new_again = services.add_customer_message(ticket, "Any news?", external_id="msg-2")
    assert (first.pk, new, new_again) == (again.pk, True, False)
    assert ticket.messages.count() == 2


def test_it_keeps_external_ids_apart_per_channel() -> None:
    from_api, _ = services.receive_ticket(incoming(external_id="EXT-1"), triage=False)
    imported, created = services.receive_ticket(
        incoming(
            "Another customer's request",
            email="bob@example.com",
            external_id="EXT-1",
            channel=Ticket.Channel.IMPORT,
        ),
        triage=False,
    )
    assert created
    assert imported.pk != from_api.pk


def test_it_refuses_an_external_id_reused_for_a_different_request() -> None:
    first, _ = services.receive_ticket(incoming(external_id="mail-1"), triage=False)
    with pytest.raises(Conflict) as refused:
        services.receive_ticket(incoming("A different request", external_id="mail-1"))
    assert str(refused.value) == (
        f"external_id 'mail-1' was already used for a different request (ticket #{first.pk})"
    )
    assert Ticket.objects.count() == 1


def test_it_takes_a_retry_whose_body_cleans_to_the_same_text_as_a_repeat() -> None:
    first, _ = services.receive_ticket(incoming("<p>I forgot my password</p>", external_id="m"))
    again, created = services.receive_ticket(incoming("I forgot my password ", external_id="m"))
    assert (again.pk, created) == (first.pk, False)


def test_it_refuses_a_follow_up_external_id_reused_for_another_text() -> None:
    ticket, _ = services.receive_ticket(incoming(), triage=False)
    services.add_customer_message(ticket, "Any news?", external_id="msg-2")
    with pytest.raises(Conflict, match="already used for a different message"):
        services.add_customer_message(ticket, "Something else", external_id="msg-2")


def test_it_cuts_a_subject_taken_from_the_body_at_a_word_boundary() -> None:
    body = "Hello there, " + "my invoice from last month shows the wrong amount " * 3
    ticket, _ = services.receive_ticket(incoming(body, subject=""), triage=False)
    assert ticket.subject == (
        "Hello there, my invoice from last month shows the wrong amount my invoice from…"
    )
    assert len(ticket.subject) <= 80


def test_it_strips_tags_from_the_subject_and_name() -> None:
    ticket, _ = services.receive_ticket(
        incoming(subject="<script>alert(1)</script>Images", name="<b>QA</b>"), triage=False
    )
    assert (ticket.subject, ticket.customer.name) == ("Images", "QA")
