"""The chat widget's services: a visitor's question answered, handed off, or refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.template.loader import render_to_string

from founderops.ai.models import Approval
from founderops.channels import widget
from founderops.channels.widget import Question, Refused, Throttled
from founderops.core.errors import InvalidInput
from founderops.core.models import AuditEvent
from founderops.customers.models import Customer
from founderops.support.models import Message, Rating, Ticket
from tests.channels.widget_cast import (
    ADA,
    ADA_IP,
    KNOWN,
    NOW,
    RESET_ANSWER,
    UNKNOWN,
    trained_for_the_module,
)


@pytest.fixture(scope="module")
def trained(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    with trained_for_the_module(django_db_blocker):
        yield


@pytest.fixture
def clock(trained: None, db: None) -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def token(clock: time_machine.Traveller) -> str:
    """A form token the visitor opened five seconds ago (a person takes that long to type)."""
    issued = widget.issue_form_token()
    clock.shift(5)
    return issued


def ask(token: str, text: str = KNOWN, ip: str = ADA_IP, **fields: str) -> widget.Reply:
    return widget.ask_question(Question(token=token, text=text, **fields), ip)


def answer_of(reply: widget.Reply) -> Message:
    assert reply.message_id is not None, reply
    return Message.objects.get(pk=reply.message_id)


def test_it_answers_a_known_question_with_the_trained_model(token: str) -> None:
    reply = ask(token, email=ADA)
    assert reply.status == widget.ANSWERED
    assert RESET_ANSWER in reply.text
    answer = answer_of(reply)
    assert answer.author == Message.Author.AGENT
    assert answer.body == reply.text


def test_it_stores_the_answered_question_as_a_chat_ticket(token: str) -> None:
    ask(token, email=ADA)
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.status, ticket.intent) == (
        "chat",
        "answered_auto",
        "reset_password",
    )
    assert ticket.customer.email == ADA


def test_it_answers_a_visitor_who_gave_no_email(token: str) -> None:
    assert ask(token).status == widget.ANSWERED


def test_it_hands_an_unknown_question_to_the_founder(token: str) -> None:
    reply = ask(token, UNKNOWN, email=ADA)
    assert reply.status == widget.HANDOFF
    assert reply.text.endswith(f"We'll reply by e-mail to {ADA}.")
    assert Ticket.objects.get().status == Ticket.Status.ESCALATED
    assert Approval.objects.filter(status=Approval.Status.PENDING).count() == 1


def test_it_asks_a_visitor_without_an_email_for_one_before_the_handoff(token: str) -> None:
    reply = ask(token, UNKNOWN)
    assert reply.status == widget.NEED_EMAIL
    assert "Leave your e-mail address" in reply.text
    assert widget.is_placeholder(Ticket.objects.get().customer.email)


def test_it_gives_an_anonymous_visitor_an_address_no_mail_can_reach(token: str) -> None:
    ask(token, UNKNOWN)
    assert Ticket.objects.get().customer.email.endswith("@widget.invalid")


def test_it_moves_the_ticket_to_the_visitor_once_they_give_their_email(token: str) -> None:
    first = ask(token, UNKNOWN)
    reply = ask(token, "", conversation=first.conversation, email="Ada@Example.com")
    assert reply.status == widget.HANDOFF
    assert reply.email == ADA
    assert Ticket.objects.get().customer.email == ADA


def test_it_notes_an_email_given_after_an_answer_without_promising_a_reply(token: str) -> None:
    first = ask(token)
    reply = ask(token, "", conversation=first.conversation, email=ADA)
    assert reply.status == widget.EMAIL_NOTED
    assert reply.text == f"Thanks! If we need to reach you, we'll write to {ADA}."
    assert Ticket.objects.get().status == Ticket.Status.ANSWERED_AUTO


def test_it_files_the_ticket_under_a_customer_already_known_by_that_email(token: str) -> None:
    known = widget.ask_question(Question(token=token, text=KNOWN, email=ADA), "198.51.100.1")
    first = ask(token, UNKNOWN)
    ask(token, "", conversation=first.conversation, email=ADA)
    assert {t.customer_id for t in Ticket.objects.all()} == {answer_of(known).ticket.customer_id}


def test_it_audits_the_ticket_moving_to_the_visitor(token: str) -> None:
    first = ask(token, UNKNOWN)
    ask(token, "", conversation=first.conversation, email=ADA)
    event = AuditEvent.objects.get(action="support.ticket_customer_changed")
    assert (event.subject_id, event.outcome) == (str(Ticket.objects.get().pk), "moved")


def test_it_keeps_a_follow_up_in_the_same_ticket(token: str) -> None:
    first = ask(token, email=ADA)
    ask(token, "That did not work, the link never came", conversation=first.conversation)
    ticket = Ticket.objects.get()
    assert ticket.messages.filter(author=Message.Author.CUSTOMER).count() == 2


def test_it_hands_a_follow_up_to_the_founder(token: str) -> None:
    first = ask(token, email=ADA)
    reply = ask(token, "That did not work, the link never came", conversation=first.conversation)
    assert reply.status == widget.HANDOFF
    assert Ticket.objects.get().status == Ticket.Status.ESCALATED


def test_it_stores_a_resent_question_once(token: str) -> None:
    first = ask(token, email=ADA, request_id="resend-0001")
    again = ask(token, email=ADA, request_id="resend-0001")
    assert (Ticket.objects.count(), Message.objects.count()) == (1, 2)
    assert again.message_id == first.message_id


def test_it_stores_a_resent_follow_up_once(token: str) -> None:
    first = ask(token, email=ADA)
    for _ in range(2):
        ask(token, "Still stuck", conversation=first.conversation, request_id="follow-0001")
    assert Message.objects.filter(body="Still stuck").count() == 1


def test_it_refuses_a_form_sent_within_two_seconds(clock: time_machine.Traveller) -> None:
    token = widget.issue_form_token()
    clock.shift(1)
    with pytest.raises(Throttled, match="sent too fast") as refused:
        ask(token)
    assert (refused.value.code, refused.value.retry_after) == ("too_fast", 1)
    assert Ticket.objects.count() == 0


def test_it_accepts_the_same_form_two_seconds_later(clock: time_machine.Traveller) -> None:
    token = widget.issue_form_token()
    clock.shift(2)
    assert ask(token).status == widget.ANSWERED


def test_it_refuses_a_form_older_than_a_day(clock: time_machine.Traveller) -> None:
    token = widget.issue_form_token()
    clock.shift(timedelta(days=1, seconds=1))
    with pytest.raises(Refused, match="more than a day old") as refused:
        ask(token)
    assert refused.value.code == "token_expired"


def test_it_refuses_a_forged_form_token(clock: time_machine.Traveller) -> None:
    forged = signing.dumps({"iat": 0, "sid": "x"}, salt="another purpose")
    with pytest.raises(Refused, match="form token is not valid"):
        ask(forged)


def test_it_refuses_a_missing_form_token(clock: time_machine.Traveller) -> None:
    with pytest.raises(Refused, match="form token is missing") as refused:
        ask("")
    assert refused.value.code == "token_missing"


def test_it_refuses_a_filled_in_honeypot(token: str) -> None:
    with pytest.raises(Refused, match="hidden field meant to catch bots") as refused:
        ask(token, website="http://spam.example")
    assert refused.value.code == "honeypot"
    assert Ticket.objects.count() == 0


def test_it_refuses_a_question_with_too_many_links(token: str) -> None:
    text = "Great deals http://a.example http://b.example www.c.example"
    with pytest.raises(Refused, match="holds 3 links; at most 2"):
        ask(token, text)


def test_it_accepts_a_question_with_two_links(token: str) -> None:
    text = "My page https://ada.example/blog shows https://ada.example/a.png broken"
    ask(token, text, email=ADA)
    assert Ticket.objects.count() == 1


def test_it_refuses_a_question_repeating_the_same_words(token: str) -> None:
    with pytest.raises(Refused, match="repeats the same few words") as refused:
        ask(token, "buy cheap pills now " * 10)
    assert refused.value.code == "repetitive"


def test_it_refuses_an_overlong_question(token: str) -> None:
    with pytest.raises(Refused, match="2,001 characters; the limit is 2,000"):
        ask(token, "a" * 2001)


def test_it_refuses_an_empty_question(token: str) -> None:
    with pytest.raises(Refused, match="the question is empty") as refused:
        ask(token, "   ")
    assert refused.value.code == "question_missing"


def test_it_refuses_an_email_only_message_without_a_conversation(token: str) -> None:
    with pytest.raises(Refused, match="the question is empty"):
        ask(token, "", email=ADA)


def test_it_refuses_an_invalid_email(token: str) -> None:
    with pytest.raises(InvalidInput, match="not an email address"):
        ask(token, email="ada at example")
    assert Ticket.objects.count() == 0


def test_it_refuses_a_malformed_request_id(token: str) -> None:
    with pytest.raises(Refused, match="request_id must be 8 to 64"):
        ask(token, request_id="../../etc")


def test_it_refuses_a_forged_conversation(token: str) -> None:
    forged = signing.dumps({"t": 1}, salt="founderops.channels.widget.form")
    with pytest.raises(Refused, match="conversation id is not valid"):
        ask(token, conversation=forged)


def test_it_refuses_an_expired_conversation(token: str, clock: time_machine.Traveller) -> None:
    first = ask(token, email=ADA)
    clock.shift(timedelta(days=31))
    later = widget.issue_form_token()
    clock.shift(5)
    with pytest.raises(Refused, match="conversation has expired") as refused:
        ask(later, "one more thing", conversation=first.conversation)
    assert refused.value.code == "conversation_expired"


def test_it_refuses_a_conversation_that_is_not_a_chat(token: str) -> None:
    first = ask(token, email=ADA)
    Ticket.objects.update(channel=Ticket.Channel.EMAIL)
    with pytest.raises(Refused, match="no longer exists"):
        ask(token, "hello again", conversation=first.conversation)


def test_it_limits_questions_per_visitor_address(token: str, settings: Any) -> None:
    settings.WIDGET_QUESTIONS_PER_HOUR = 3
    for n in range(3):
        ask(token, f"{UNKNOWN} ({n})", email=ADA)
    with pytest.raises(Throttled, match="3 an hour") as refused:
        ask(token, f"{UNKNOWN} (again)", email=ADA)
    assert refused.value.code == "rate_limited"
    assert 0 < refused.value.retry_after <= 3600
    assert Ticket.objects.count() == 3


def test_it_counts_refused_attempts_against_the_address(token: str, settings: Any) -> None:
    settings.WIDGET_QUESTIONS_PER_HOUR = 2
    for _ in range(2):
        with pytest.raises(Refused):
            ask(token, website="bot")
    with pytest.raises(Throttled, match="too many questions"):
        ask(token)


def test_it_lets_another_address_ask_while_one_is_limited(token: str, settings: Any) -> None:
    settings.WIDGET_QUESTIONS_PER_HOUR = 1
    ask(token, email=ADA)
    with pytest.raises(Throttled):
        ask(token, UNKNOWN, email=ADA)
    assert ask(token, UNKNOWN, ip="198.51.100.9", email=ADA).status == widget.HANDOFF


def test_it_lets_the_address_ask_again_the_next_hour(
    token: str, settings: Any, clock: time_machine.Traveller
) -> None:
    settings.WIDGET_QUESTIONS_PER_HOUR = 1
    ask(token, email=ADA)
    clock.shift(3600)
    assert ask(token, UNKNOWN, email=ADA).status == widget.HANDOFF


def test_it_limits_messages_per_conversation(token: str) -> None:
    first = ask(token, email=ADA)
    for n in range(widget.CONVERSATION_MESSAGES_PER_HOUR):
        ask(token, f"more details, part {n}", conversation=first.conversation)
    with pytest.raises(Throttled, match="too many messages in this conversation"):
        ask(token, "and another", conversation=first.conversation)
    assert Message.objects.filter(author=Message.Author.CUSTOMER).count() == 11


def test_it_refuses_the_same_text_a_third_time_in_an_hour(token: str) -> None:
    for _ in range(2):
        ask(token, UNKNOWN, email=ADA)
    with pytest.raises(Throttled, match="already sent this same text") as refused:
        ask(token, UNKNOWN.upper() + "!!", email=ADA)
    assert refused.value.code == "repeated"
    assert Ticket.objects.count() == 2


def test_it_rates_an_answer(token: str) -> None:
    reply = ask(token, email=ADA)
    widget.rate_answer(reply.rating_token, "good", ADA_IP)
    rating = Rating.objects.get()
    assert (rating.message_id, rating.score, rating.channel) == (reply.message_id, "good", "chat")


def test_it_keeps_the_latest_rating_of_an_answer(token: str) -> None:
    reply = ask(token, email=ADA)
    widget.rate_answer(reply.rating_token, "good", ADA_IP)
    widget.rate_answer(reply.rating_token, "bad", ADA_IP, comment="the link expired")
    assert list(Rating.objects.values_list("score", "comment")) == [("bad", "the link expired")]


def test_it_refuses_a_forged_rating_token(token: str) -> None:
    reply = ask(token, email=ADA)
    forged = signing.dumps({"m": reply.message_id}, salt="founderops.channels.widget.form")
    with pytest.raises(Refused, match="rating token is not valid"):
        widget.rate_answer(forged, "good", ADA_IP)
    assert Rating.objects.count() == 0


def test_it_refuses_an_unknown_score(token: str) -> None:
    reply = ask(token, email=ADA)
    with pytest.raises(InvalidInput, match="unknown score 'meh'"):
        widget.rate_answer(reply.rating_token, "meh", ADA_IP)


def test_it_counts_todays_conversations_in_the_founders_time_zone(
    token: str, settings: Any, clock: time_machine.Traveller
) -> None:
    settings.TIME_ZONE = "America/New_York"  # 09:00 UTC is 04:00 there
    ask(token, email=ADA)
    clock.shift(timedelta(hours=-5))  # 04:00 UTC: yesterday in New York
    early = widget.issue_form_token()
    clock.shift(5)
    ask(early, UNKNOWN, email=ADA)
    clock.shift(timedelta(hours=5))
    assert widget.conversations_today() == 1


def test_it_builds_the_snippet_from_the_public_url(settings: Any) -> None:
    settings.SITE_URL = "https://ops.example.com/"
    assert widget.snippet() == (
        '<script src="https://ops.example.com/static/channels/widget.js" '
        "data-founderops async></script>"
    )


def test_it_shows_the_snippet_origins_and_todays_count_on_the_cockpit_card(
    token: str, settings: Any
) -> None:
    settings.WIDGET_ORIGINS = ["https://inkwell.example"]
    ask(token, email=ADA)
    html = render_to_string("web/_widget_card.html")
    assert "&lt;script src=&quot;http://127.0.0.1:8000/static/channels/widget.js&quot;" in html
    assert "<code>https://inkwell.example</code>" in html
    assert '<strong id="widget-today">1</strong> widget conversation today' in html
    assert 'href="/widget/demo/"' in html


def test_it_says_on_the_card_when_no_site_may_embed_the_widget(db: None, settings: Any) -> None:
    settings.WIDGET_ORIGINS = []
    html = render_to_string("web/_widget_card.html")
    assert "None yet: only this app's own pages can use the widget" in html


def test_it_keeps_no_placeholder_customer_for_a_visitor_who_gave_an_email(token: str) -> None:
    ask(token, UNKNOWN, email=ADA)
    assert list(Customer.objects.values_list("email", flat=True)) == [ADA]
