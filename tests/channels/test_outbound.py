"""Replies leave by real SMTP: once, retried on "later", given up on "never", always visible."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from founderops import settings as settings_module
from founderops.channels import outbound, tasks
from founderops.channels.models import OutboundEmail
from founderops.core import clock, smtp
from founderops.core.models import AuditEvent
from founderops.customers.services import visitor_email
from founderops.support import services
from founderops.support.models import Message, Ticket
from founderops.worker import schedules
from tests.channels.replies import email_ticket, reply
from tests.channels.replies import outbound as outbound_of
from tests.channels.smtp_server import PASSWORD, USERNAME, Recorder, free_port
from tests.web.cast import new_ticket

pytestmark = pytest.mark.django_db

NOON = "2026-03-02T12:00:00Z"


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# Sending.


def test_it_sends_the_agents_reply_by_smtp_to_the_customer(smtp: Recorder, settings: Any) -> None:
    message = reply(email_ticket())

    [mail] = smtp.received
    assert mail.rcpt_tos == ["ada@example.com"]
    assert mail.mail_from == settings.SUPPORT_FROM_EMAIL
    assert mail.message["To"] == "Ada Lovelace <ada@example.com>"
    email = outbound_of(message)
    assert (email.status, email.attempts, email.last_error) == ("sent", 1, "")
    assert email.sent_at is not None


def test_it_marks_the_agents_reply_as_automatic(smtp: Recorder) -> None:
    reply(email_ticket(), author=Message.Author.AGENT)

    assert smtp.received[0].message["Auto-Submitted"] == "auto-replied"


def test_it_does_not_mark_the_founders_reply_as_automatic(smtp: Recorder) -> None:
    reply(email_ticket(), author=Message.Author.FOUNDER)

    assert smtp.received[0].message["Auto-Submitted"] is None


def test_it_sends_plain_text_with_an_html_alternative(smtp: Recorder) -> None:
    reply(email_ticket(), "Open **Settings → Security** and pick *Reset*.")

    mail = smtp.received[0]
    assert mail.message.get_content_type() == "multipart/alternative"
    assert "Open **Settings → Security** and pick *Reset*." in mail.part("plain")
    assert "<strong>Settings → Security</strong>" in mail.part("html")


def test_it_never_lets_html_in_a_draft_reach_the_html_part(smtp: Recorder) -> None:
    draft = (
        "Hello <script>alert('x')</script> <img src=https://tracker.example/p.gif onerror=alert(1)>"
        " [click](javascript:alert(2)) <a href='https://ok.example' onclick='steal()'>ok</a>"
    )
    reply(email_ticket(), draft, author=Message.Author.FOUNDER)

    html = smtp.received[0].part("html").lower()
    assert "<script" not in html
    assert "onerror" not in html
    assert "onclick" not in html
    assert "javascript:" not in html
    assert "<img" not in html
    assert 'href="https://ok.example"' in html


def test_it_creates_one_email_per_reply_and_sends_a_repeated_job_once(smtp: Recorder) -> None:
    message = reply(email_ticket())

    again = tasks.deliver_reply(message.pk)

    assert again.startswith("skipped")
    assert len(smtp.received) == 1
    assert OutboundEmail.objects.filter(message=message).count() == 1


def test_it_sends_once_when_two_workers_hold_the_same_row(smtp: Recorder) -> None:
    message = services.send_reply(email_ticket(), "Here is the link.", Message.Author.AGENT)
    first = outbound.prepare_email(message)
    second = OutboundEmail.objects.get(pk=first.pk)  # another worker's copy, read at the same time

    outcomes = [outbound.send_email(first).outcome, outbound.send_email(second).outcome]

    assert outcomes == ["sent", "skipped"]
    assert len(smtp.received) == 1


@pytest.mark.django_db(transaction=True)
def test_it_sends_once_while_another_worker_is_mid_send(smtp: Recorder) -> None:
    message = services.send_reply(email_ticket(), "Here is the link.", Message.Author.AGENT)
    release = smtp.hold()
    results: list[str] = []

    def first_worker() -> None:
        results.append(tasks.deliver_reply(message.pk))
        connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    assert smtp.entered.wait(30), "the first worker never reached the relay"
    # The first worker is inside DATA now: a redelivered job and the retry job both stand back.
    second = tasks.deliver_reply(message.pk)
    retried = tasks.retry_outbound()
    release.set()
    worker.join(30)

    assert second.startswith("skipped")
    assert retried == "nothing to retry"
    assert results == [f"sent: e-mail {outbound_of(message).pk}"]
    assert len(smtp.received) == 1


def test_it_takes_over_from_a_worker_that_died_mid_send(smtp: Recorder, settings: Any) -> None:
    message = services.send_reply(email_ticket(), "Here is the link.", Message.Author.AGENT)
    with time_machine.travel(NOON, tick=False):
        email = outbound.prepare_email(message)
        assert outbound.claim(email, clock.now())  # ... and the worker is killed here
        assert tasks.retry_outbound() == "nothing to retry"
    lease = timedelta(seconds=settings.JOB_TIMEOUT_SECONDS + 61)
    with time_machine.travel(datetime.fromisoformat(NOON) + lease, tick=False):
        assert tasks.retry_outbound() == "1 sent"

    assert len(smtp.received) == 1
    assert outbound_of(message).attempts == 2


# Temporary and permanent failures.


def test_it_retries_a_temporary_failure_after_the_backoff(smtp_busy_once: Recorder) -> None:
    with time_machine.travel(NOON, tick=False):
        message = reply(email_ticket())
        email = outbound_of(message)
        assert (email.status, email.attempts) == ("failed", 1)
        assert email.last_error == "451 4.3.0 Try again later"
        assert tasks.retry_outbound() == "nothing to retry"
    with time_machine.travel("2026-03-02T12:01:01Z", tick=False):
        assert tasks.retry_outbound() == "1 sent"

    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == ("sent", 2, "")
    [refused], [accepted] = smtp_busy_once.refused, smtp_busy_once.received
    assert refused.message["Message-ID"] == accepted.message["Message-ID"] == email.msgid


def test_it_waits_longer_after_each_temporary_failure(smtp_busy: Recorder) -> None:
    with time_machine.travel(NOON, tick=False):
        email = outbound_of(reply(email_ticket()))
    with time_machine.travel("2026-03-02T12:01:01Z", tick=False):
        assert tasks.retry_outbound() == "1 will_retry"
        email.refresh_from_db()
        assert email.next_attempt_at == clock.now() + timedelta(minutes=5)
        assert tasks.retry_outbound() == "nothing to retry"


def test_it_gives_up_after_the_last_temporary_failure(smtp_busy: Recorder) -> None:
    moment = datetime.fromisoformat(NOON)
    with time_machine.travel(moment, tick=False):
        email = outbound_of(reply(email_ticket()))
    for _ in range(outbound.MAX_ATTEMPTS - 1):
        moment += timedelta(hours=5)
        with time_machine.travel(moment, tick=False):
            tasks.retry_outbound()

    email.refresh_from_db()
    assert (email.status, email.attempts) == ("gave_up", outbound.MAX_ATTEMPTS)
    assert len(smtp_busy.refused) == outbound.MAX_ATTEMPTS
    assert [e.outcome for e in events("channels.email_failed")][-1] == "gave_up"


def test_it_gives_up_at_once_on_a_permanent_failure(smtp_rejecting: Recorder) -> None:
    email = outbound_of(reply(email_ticket()))

    assert (email.status, email.attempts, email.next_attempt_at) == ("gave_up", 1, None)
    assert email.last_error == "550 5.1.1 <recipient>: mailbox unavailable"
    [event] = events("channels.email_failed")
    assert (event.outcome, event.details["code"]) == ("gave_up", 550)


def test_it_shows_a_given_up_email_on_the_ticket_page(
    smtp_rejecting: Recorder, founder_client: Any
) -> None:
    ticket = email_ticket()
    reply(ticket)

    page = founder_client.get(reverse("web:ticket", args=[ticket.pk])).content.decode()

    assert "not delivered: 550 5.1.1 &lt;recipient&gt;: mailbox unavailable" in page
    assert "gave up after 1 attempt" in page


def test_it_counts_a_refused_connection_as_temporary(settings: Any) -> None:
    settings.SMTP_URL = f"smtp+plain://127.0.0.1:{free_port()}"

    email = outbound_of(reply(email_ticket()))

    assert (email.status, email.attempts) == ("failed", 1)
    assert email.last_error.startswith("ConnectionRefusedError")


def test_it_stops_a_retry_round_when_the_relay_is_unreachable(settings: Any) -> None:
    settings.SMTP_URL = f"smtp+plain://127.0.0.1:{free_port()}"
    with time_machine.travel(NOON, tick=False):
        emails = [outbound_of(reply(email_ticket(msgid=f"<m{n}@c.example>"))) for n in (1, 2)]
    with time_machine.travel("2026-03-02T13:00:00Z", tick=False):
        assert tasks.retry_outbound() == "1 will_retry"

    assert [OutboundEmail.objects.get(pk=e.pk).attempts for e in emails] == [2, 1]


# Configuration.


def test_it_sends_nothing_without_an_smtp_url(smtp: Recorder, settings: Any) -> None:
    settings.SMTP_URL = ""

    message = reply(email_ticket())

    assert tasks.deliver_reply(message.pk) == "kept in the cockpit: FOUNDEROPS_SMTP_URL is not set"
    assert not OutboundEmail.objects.exists()
    assert smtp.received == []


def test_it_says_on_the_ticket_page_that_replies_stay_there_without_smtp(
    settings: Any, founder_client: Any
) -> None:
    settings.SMTP_URL = ""
    ticket = email_ticket()
    reply(ticket)

    page = founder_client.get(reverse("web:ticket", args=[ticket.pk])).content.decode()

    assert "not e-mailed: no SMTP server is set (FOUNDEROPS_SMTP_URL)" in page


def test_it_shows_a_sent_reply_as_threaded_on_the_ticket_page(
    smtp: Recorder, founder_client: Any
) -> None:
    ticket = email_ticket()
    reply(ticket)

    page = founder_client.get(reverse("web:ticket", args=[ticket.pk])).content.decode()

    assert "sent by e-mail · threaded" in page


def test_it_verifies_the_relays_certificate_and_logs_in(smtp_starttls: Recorder) -> None:
    email = outbound_of(reply(email_ticket()))

    assert email.status == "sent"
    assert smtp_starttls.logins == [(USERNAME, PASSWORD)]
    assert len(smtp_starttls.received) == 1


def test_it_refuses_a_relay_whose_certificate_it_cannot_verify(
    smtp_starttls: Recorder, settings: Any
) -> None:
    settings.SMTP_CA_FILE = ""

    email = outbound_of(reply(email_ticket()))

    assert email.status == "failed"
    assert "certificate is not trusted" in email.last_error
    assert smtp_starttls.received == []


def test_it_never_stores_or_logs_the_smtp_password(
    smtp_starttls: Recorder, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.SMTP_URL = settings.SMTP_URL.replace("relay-user", "someone-else")

    with caplog.at_level(logging.DEBUG):
        email = outbound_of(reply(email_ticket()))

    assert email.status == "failed"
    assert "refused the login (535)" in email.last_error
    stored = [
        email.last_error,
        caplog.text,
        *(str(e.as_record()) for e in AuditEvent.objects.all()),
    ]
    assert not any(PASSWORD in text or "p%40ss" in text for text in stored)


def test_it_refuses_a_malformed_smtp_url_without_echoing_it() -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        settings_module.check_smtp_url("https://user:hunter2@mail.example", "SMTP_URL")

    assert "hunter2" not in str(refused.value)


def test_it_accepts_each_documented_smtp_url() -> None:
    for url in ("smtp://u:p@mail.example:587", "smtps://u:p@mail.example", "smtp+plain://[::1]:25"):
        settings_module.check_smtp_url(url, "SMTP_URL")

    assert smtp.smtp_server("smtps://u:p%2Fq@mail.example").port == 465
    assert smtp.smtp_server("smtps://u:p%2Fq@mail.example").password == "p/q"
    assert "p/q" not in repr(smtp.smtp_server("smtps://u:p%2Fq@mail.example"))


def test_it_schedules_the_retry_job_every_minute() -> None:
    retry = [e for e in schedules.intervals() if e.name == "retry-outbound-email"]

    assert retry == [
        schedules.Every("retry-outbound-email", "founderops.channels.tasks.retry_outbound", 1)
    ]


# Which replies are e-mails.


def test_it_does_not_email_replies_on_api_tickets(smtp: Recorder) -> None:
    ticket = new_ticket("Password", "I forgot my password")

    reply(ticket)

    assert smtp.received == []
    assert not OutboundEmail.objects.exists()


def test_it_leaves_the_agents_chat_answers_to_the_widget(smtp: Recorder) -> None:
    ticket = new_ticket("Password", "I forgot my password")
    Ticket.objects.filter(pk=ticket.pk).update(channel=Ticket.Channel.CHAT)
    ticket.refresh_from_db()

    reply(ticket, author=Message.Author.AGENT)

    assert smtp.received == []


def test_it_emails_the_founders_answer_to_a_handed_off_chat(smtp: Recorder) -> None:
    ticket = new_ticket("Password", "I forgot my password")
    Ticket.objects.filter(pk=ticket.pk).update(channel=Ticket.Channel.CHAT)
    ticket.refresh_from_db()

    reply(ticket, "I reset it for you.", author=Message.Author.FOUNDER)

    [mail] = smtp.received
    assert mail.rcpt_tos == ["ada@example.com"]
    assert mail.message["In-Reply-To"] is None


def test_it_audits_every_send_without_the_body(smtp: Recorder) -> None:
    ticket = email_ticket()
    reply(ticket, "A very particular answer text.")

    [event] = events("channels.email_sent")
    assert (event.actor, event.subject_type, event.subject_id) == (
        "channel:email",
        "ticket",
        str(ticket.pk),
    )
    assert event.details["threaded"] is True
    assert "particular" not in str(event.as_record())


# founderops sendtest


def test_it_sends_a_test_email_from_the_command(smtp: Recorder) -> None:
    out = StringIO()

    call_command("sendtest", "fiona@example.com", stdout=out)

    assert out.getvalue().startswith("test e-mail sent to fiona@example.com")
    assert smtp.received[0].rcpt_tos == ["fiona@example.com"]


def test_it_says_why_the_test_email_failed(smtp_rejecting: Recorder) -> None:
    with pytest.raises(CommandError, match=r"not sent: 550 5\.1\.1"):
        call_command("sendtest", "fiona@example.com")


def test_it_refuses_a_test_email_without_an_smtp_url(settings: Any) -> None:
    settings.SMTP_URL = ""

    with pytest.raises(CommandError, match="FOUNDEROPS_SMTP_URL is not set"):
        call_command("sendtest", "fiona@example.com")


def test_it_does_not_email_a_chat_visitor_who_gave_no_address(smtp: Recorder) -> None:
    ticket = services.receive_ticket(
        services.Incoming(email=visitor_email(), body="Where is my invoice?", channel="chat"),
        triage=False,
    )[0]
    reply = services.send_reply(ticket, "Hello! Your invoices are under Billing.", "founder")
    assert outbound.deliver_reply(reply.pk) != "sent"
    assert OutboundEmail.objects.count() == 0
