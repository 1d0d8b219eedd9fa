"""Replies thread into the customer's conversation: In-Reply-To, References, Subject, From."""

from __future__ import annotations

from typing import Any

import pytest

from founderops.channels import outbound
from founderops.support.models import Message, Ticket
from tests.channels.replies import (
    FIRST_ID,
    customer_writes,
    email_ticket,
    mailbox,
    reply,
)
from tests.channels.replies import outbound as outbound_of
from tests.channels.smtp_server import Recorder
from tests.web.cast import new_ticket

pytestmark = pytest.mark.django_db

SECOND_ID = "<second-91ab@mail.customer.example>"


def test_it_answers_in_reply_to_the_customers_mail(smtp: Recorder) -> None:
    reply(email_ticket())

    mail = smtp.received[0].message
    assert mail["In-Reply-To"] == FIRST_ID
    assert mail["References"] == FIRST_ID


def test_it_fixes_the_message_id_before_sending(smtp: Recorder) -> None:
    message = reply(email_ticket())

    assert smtp.received[0].message["Message-ID"] == outbound_of(message).msgid


def test_it_answers_the_customers_latest_mail_and_keeps_the_whole_chain(smtp: Recorder) -> None:
    ticket = email_ticket()
    first = outbound_of(reply(ticket))
    customer_writes(ticket, SECOND_ID, "Still stuck.", references=f"{FIRST_ID} {first.msgid}")

    reply(ticket, "Try this link instead.", author=Message.Author.FOUNDER)

    mail = smtp.received[1].message
    assert mail["In-Reply-To"] == SECOND_ID
    assert mail["References"].split() == [FIRST_ID, first.msgid, SECOND_ID]


def test_it_keeps_the_chain_when_the_customers_client_drops_references(smtp: Recorder) -> None:
    ticket = email_ticket()
    first = outbound_of(reply(ticket))
    customer_writes(ticket, SECOND_ID, "Still stuck.")

    reply(ticket, "Try this link instead.", author=Message.Author.FOUNDER)

    assert smtp.received[1].message["References"].split() == [FIRST_ID, first.msgid, SECOND_ID]


def test_it_keeps_the_references_the_customers_mail_carried(smtp: Recorder) -> None:
    # The customer answered an old newsletter thread to open the ticket.
    reply(email_ticket(references="<root@news.inkwell.example> <digest@news.inkwell.example>"))

    assert smtp.received[0].message["References"].split() == [
        "<root@news.inkwell.example>",
        "<digest@news.inkwell.example>",
        FIRST_ID,
    ]


def test_it_caps_a_long_chain_keeping_its_root_and_newest_ids(smtp: Recorder) -> None:
    ticket = email_ticket()
    for n in range(30):
        customer_writes(ticket, f"<follow-{n}@mail.customer.example>", f"Message {n}")
        reply(ticket, f"Answer {n}", author=Message.Author.FOUNDER)

    ids = smtp.received[-1].message["References"].split()
    assert len(ids) == outbound.REFERENCES_CAP
    assert ids[0] == FIRST_ID
    assert ids[-1] == "<follow-29@mail.customer.example>"


def test_it_prefixes_the_subject_with_one_re_and_the_ticket_token(smtp: Recorder) -> None:
    ticket = email_ticket(subject="RE: Aw: Can't log in")

    reply(ticket)

    assert smtp.received[0].message["Subject"] == f"Re: Can't log in [#{ticket.pk}]"


def test_it_does_not_repeat_the_ticket_token(smtp: Recorder) -> None:
    ticket = email_ticket()
    Ticket.objects.filter(pk=ticket.pk).update(subject=f"Re: Can't log in [#{ticket.pk}]")
    ticket.refresh_from_db()

    reply(ticket)

    assert smtp.received[0].message["Subject"] == f"Re: Can't log in [#{ticket.pk}]"


def test_it_answers_from_the_mailbox_the_customer_wrote_to(smtp: Recorder) -> None:
    reply(email_ticket(box=mailbox()))

    mail = smtp.received[0]
    assert mail.mail_from == "help@inkwell.example"
    assert mail.message["From"].addresses[0].addr_spec == "help@inkwell.example"
    assert mail.message["Message-ID"].endswith("@inkwell.example>")


def test_it_answers_from_the_support_address_without_a_mailbox(
    smtp: Recorder, settings: Any
) -> None:
    settings.SUPPORT_FROM_EMAIL = "support@inkwell.example"

    reply(email_ticket())

    mail = smtp.received[0].message
    assert mail["From"] == "The support team <support@inkwell.example>"
    assert mail["Message-ID"].endswith("@inkwell.example>")


def test_it_starts_a_new_thread_for_a_chat_answered_by_email(smtp: Recorder) -> None:
    ticket = new_ticket("Export", "How do I export my list?")
    Ticket.objects.filter(pk=ticket.pk).update(channel=Ticket.Channel.CHAT)
    ticket.refresh_from_db()

    reply(ticket, "Settings → Export.", author=Message.Author.FOUNDER)

    mail = smtp.received[0].message
    assert (mail["In-Reply-To"], mail["References"]) == (None, None)
    assert mail["Subject"] == f"Re: Export [#{ticket.pk}]"


def test_it_reads_message_ids_with_or_without_angle_brackets() -> None:
    assert outbound.as_msgid("abc@mail.example") == "<abc@mail.example>"
    assert outbound.as_msgid("<abc@mail.example>") == "<abc@mail.example>"
    assert outbound.as_msgid("sha256:0f1e") is None
    assert outbound.as_msgid("chat-session-17") is None
