"""Mail in: stored first, processed once, loops never answered, replies in their ticket."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from founderops.channels import inbound, mime, tasks
from founderops.channels.models import Attachment, InboundEmail, Mailbox, OutboundEmail
from founderops.core.models import AuditEvent
from founderops.customers.services import add_identity
from founderops.support import services
from founderops.support.models import Message, Ticket
from tests.channels.mails import FIRST_ID, bounce, large_mail, mail, reply

NOW = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)
Jobs = list[tuple[str, tuple[Any, ...]]]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    return tmp_path


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> Jobs:
    jobs: Jobs = []
    monkeypatch.setattr(
        "founderops.core.jobs.enqueue", lambda func, *args, **_: jobs.append((func, args))
    )
    return jobs


def receive(raw: bytes, source: str = InboundEmail.Source.IMAP) -> InboundEmail:
    row, _ = inbound.store_inbound(raw, source)
    tasks.process_inbound(row.pk)
    row.refresh_from_db()
    return row


def ticket_of(row: InboundEmail) -> Ticket:
    assert row.ticket is not None, (row.status, row.reason)
    return row.ticket


def customer_bodies(ticket: Ticket) -> list[str]:
    return list(
        ticket.messages.filter(author=Message.Author.CUSTOMER).values_list("body", flat=True)
    )


def answered(ticket: Ticket) -> Message:
    """Our reply on the ticket, as the outbound side records it (with its Message-ID)."""
    message = services.send_reply(ticket, "Open Settings → Security.", Message.Author.AGENT)
    OutboundEmail.objects.create(
        message=message,
        ticket=ticket,
        msgid="<0c1d2e3f-aaaa-4bbb-8ccc-123456789abc@inkwell.example>",
        from_address="help@inkwell.example",
        to_address="ada@example.com",
        subject=f"Re: {ticket.subject} [#{ticket.pk}]",
        created_at=NOW,
    )
    return message


# Storing.


def test_it_stores_the_raw_mail_before_processing_it() -> None:
    row, new = inbound.store_inbound(mail(), InboundEmail.Source.IMAP)
    assert (new, row.status, bytes(row.raw) == mail(), Ticket.objects.count()) == (
        True,
        InboundEmail.Status.PENDING,
        True,
        0,
    )


def test_it_keeps_the_sender_subject_and_message_id_of_a_stored_mail() -> None:
    row, _ = inbound.store_inbound(mail(), InboundEmail.Source.IMAP)
    assert (row.sender, row.subject, row.msgid) == (
        "ada@example.com",
        "Can't log in",
        "a1b2c3@mail.example.com",
    )


def test_it_queues_processing_once_the_mail_is_committed(
    queued: Jobs, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        row, _ = inbound.store_inbound(mail(), InboundEmail.Source.IMAP)
    assert queued == [("founderops.channels.tasks.process_inbound", (row.pk,))]


def test_it_stores_the_same_mail_once(
    queued: Jobs, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first, _ = inbound.store_inbound(mail(), InboundEmail.Source.IMAP)
        again, new = inbound.store_inbound(mail(), InboundEmail.Source.POSTMARK)
    assert (again.pk, new, InboundEmail.objects.count(), len(queued)) == (first.pk, False, 1, 1)


def test_it_keys_a_mail_without_message_id_by_its_digest() -> None:
    raw = mail(msgid=None)
    row, _ = inbound.store_inbound(raw, InboundEmail.Source.IMAP)
    assert row.msgid == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_it_stores_a_mail_without_message_id_once() -> None:
    inbound.store_inbound(mail(msgid=None), InboundEmail.Source.IMAP)
    inbound.store_inbound(mail(msgid=None), InboundEmail.Source.IMAP)
    assert InboundEmail.objects.count() == 1


def test_it_keeps_only_the_headers_of_a_20_mb_mail() -> None:
    raw = large_mail(20)
    row, _ = inbound.store_inbound(raw, InboundEmail.Source.IMAP)
    kept = bytes(row.raw)
    assert (row.size, len(kept) < 2000, kept.startswith(b"From: Ada"), row.subject) == (
        len(raw),
        True,
        True,
        "Scan attached",
    )


def test_it_refuses_a_20_mb_mail_with_the_reason(
    queued: Jobs, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        row, _ = inbound.store_inbound(large_mail(20), InboundEmail.Source.IMAP)
    assert (row.status, queued) == (InboundEmail.Status.REJECTED, [])
    assert row.reason.startswith("the mail is 20.0 MB; the limit is 15.0 MB")


def test_it_never_processes_a_refused_mail() -> None:
    row, _ = inbound.store_inbound(large_mail(20), InboundEmail.Source.IMAP)
    assert (tasks.process_inbound(row.pk), Ticket.objects.count()) == ("skipped", 0)


def test_it_audits_a_received_mail() -> None:
    row, _ = inbound.store_inbound(mail(), InboundEmail.Source.IMAP)
    event = AuditEvent.objects.get(action="channels.mail_received")
    assert (event.actor, event.subject_id, event.outcome) == (
        "channel:imap",
        str(row.pk),
        "pending",
    )


# Processing into tickets.


def crash(*args: object, **kwargs: object) -> None:
    raise RuntimeError("worker killed")


def test_it_opens_an_email_ticket_from_a_new_mail() -> None:
    ticket = ticket_of(receive(mail()))
    assert (ticket.channel, ticket.customer.email, ticket.customer.name, ticket.subject) == (
        Ticket.Channel.EMAIL,
        "ada@example.com",
        "Ada Lovelace",
        "Can't log in",
    )


def test_it_keys_the_ticket_by_the_message_id() -> None:
    ticket = ticket_of(receive(mail()))
    assert ticket.external_id == "a1b2c3@mail.example.com"


def test_it_keeps_the_customers_words_as_the_first_message() -> None:
    ticket = ticket_of(receive(mail()))
    assert customer_bodies(ticket) == ["Hi, I forgot my password. Where do I reset it?"]


def test_it_marks_a_processed_mail_with_its_ticket_and_message() -> None:
    row = receive(mail())
    assert (row.status, row.reason, row.message_id == ticket_of(row).messages.get().pk) == (
        InboundEmail.Status.PROCESSED,
        "",
        True,
    )


def test_it_queues_triage_for_the_new_ticket(
    queued: Jobs, django_capture_on_commit_callbacks: Any
) -> None:
    row, _ = inbound.store_inbound(mail(), InboundEmail.Source.IMAP)
    with django_capture_on_commit_callbacks(execute=True):
        inbound.process_inbound(row.pk)
    row.refresh_from_db()
    assert queued == [("founderops.support.tasks.triage_ticket", (row.ticket_id,))]


def test_it_processes_a_mail_once_when_its_job_runs_twice() -> None:
    row, _ = inbound.store_inbound(mail(), InboundEmail.Source.IMAP)
    outcomes = [tasks.process_inbound(row.pk), tasks.process_inbound(row.pk)]
    assert (outcomes, Ticket.objects.count(), Message.objects.count()) == (
        ["processed", "skipped"],
        1,
        1,
    )


@pytest.mark.django_db(transaction=True)
def test_it_processes_a_mail_once_when_two_workers_take_it_at_once() -> None:
    row, _ = inbound.store_inbound(mail(), InboundEmail.Source.IMAP)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            start.wait(timeout=10)
            outcomes.append(inbound.process_inbound(row.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert (sorted(outcomes), Ticket.objects.count(), Message.objects.count()) == (
        ["processed", "skipped"],
        1,
        1,
    )


def test_it_leaves_a_mail_pending_when_processing_crashes(monkeypatch: pytest.MonkeyPatch) -> None:
    row, _ = inbound.store_inbound(mail(), InboundEmail.Source.IMAP)
    monkeypatch.setattr(services, "receive_ticket", crash)
    with pytest.raises(RuntimeError, match="worker killed"):
        inbound.process_inbound(row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts, Ticket.objects.count()) == (InboundEmail.Status.PENDING, 0, 0)


def test_it_processes_a_mail_after_a_crashed_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    row, _ = inbound.store_inbound(mail(), InboundEmail.Source.IMAP)
    with monkeypatch.context() as patch:
        patch.setattr(services, "receive_ticket", crash)
        with pytest.raises(RuntimeError, match="worker killed"):
            inbound.process_inbound(row.pk)
    assert (inbound.process_inbound(row.pk), Ticket.objects.count()) == ("processed", 1)


def test_it_audits_what_became_of_a_mail() -> None:
    row = receive(mail())
    event = AuditEvent.objects.get(action="channels.mail_processed")
    assert (event.outcome, event.details["ticket"]) == ("processed", row.ticket_id)


def test_it_takes_the_ticket_time_from_a_recent_date_header() -> None:
    ticket = ticket_of(receive(mail()))
    assert ticket.created_at == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "date", ["Tue, 06 Jan 2026 10:00:00 +0000", "Mon, 01 Jan 2024 10:00:00 +0000", "garbage"]
)
def test_it_takes_the_reception_time_when_the_date_is_implausible(date: str) -> None:
    raw = mail().replace(b"Mon, 05 Jan 2026 10:00:00 +0000", date.encode())
    assert ticket_of(receive(raw)).created_at == NOW


# Malformed mail.


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"no headers at all, just words\r\n", "no header block"),
        (b"Subject: who sent this?\r\n\r\nhello\r\n", "no readable sender"),
        (b"From: not an address\r\nSubject: x\r\n\r\nhello\r\n", "no readable sender"),
    ],
)
def test_it_rejects_malformed_mime_with_a_reason(raw: bytes, reason: str) -> None:
    row = receive(raw)
    assert (row.status, reason in row.reason, Ticket.objects.count()) == (
        InboundEmail.Status.REJECTED,
        True,
        0,
    )


def test_it_keeps_a_rejected_mail_as_it_came() -> None:
    raw = b"Subject: who sent this?\r\n\r\nhello\r\n"
    assert bytes(receive(raw).raw) == raw


def test_it_rejects_a_mail_with_no_text_at_all() -> None:
    row = receive(mail("", subject=""))
    assert (row.status, row.reason) == (
        InboundEmail.Status.REJECTED,
        "the mail has no text: its subject and body are empty",
    )


def test_it_uses_the_subject_when_the_body_is_empty() -> None:
    ticket = ticket_of(receive(mail("", subject="Please delete my account")))
    assert customer_bodies(ticket) == ["Please delete my account"]


def test_it_cuts_a_very_long_mail_and_says_so(settings: Any) -> None:
    settings.SUPPORT_MAX_BODY_CHARS = 1000
    body = customer_bodies(ticket_of(receive(mail("word " * 2000))))[0]
    assert (len(body) <= 1000, "the rest was cut here" in body) == (True, True)


# Loops: auto-replies, bounces, our own mail, lists.


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"Auto-Submitted": "auto-generated; owner-email=x@y"}, "Auto-Submitted: auto-generated"),
        ({"X-Autoreply": "yes"}, "X-Autoreply"),
        ({"X-Autorespond": "Out of office"}, "X-Autorespond"),
        ({"Precedence": "bulk"}, "Precedence: bulk"),
        ({"Precedence": "junk"}, "Precedence: junk"),
        ({"Precedence": "list"}, "Precedence: list"),
        ({"Precedence": "auto_reply"}, "Precedence: auto_reply"),
        ({"List-Id": "Newsletter <news.example.com>"}, "List-Id"),
        ({"Return-Path": "<>"}, "empty Return-Path"),
    ],
)
def test_it_ignores_automatic_mail_with_the_reason(headers: dict[str, str], reason: str) -> None:
    row = receive(mail("I am out of the office until Monday.", headers=headers))
    assert (row.status, reason in row.reason, Ticket.objects.count()) == (
        InboundEmail.Status.IGNORED,
        True,
        0,
    )


def test_it_answers_a_mail_marked_not_auto_submitted() -> None:
    assert receive(mail(headers={"Auto-Submitted": "no"})).status == "processed"


def test_it_answers_a_mail_with_a_real_return_path() -> None:
    assert receive(mail(headers={"Return-Path": "<ada@example.com>"})).status == "processed"


def test_it_ignores_a_bounce_report() -> None:
    row = receive(bounce(mail()))
    assert (row.status, "multipart/report" in row.reason) == (InboundEmail.Status.IGNORED, True)


@pytest.mark.parametrize("sender", ["MAILER-DAEMON@mx.example.com", "postmaster@example.com"])
def test_it_ignores_mail_from_a_mailer_daemon(sender: str) -> None:
    row = receive(mail("Delivery failed", sender=sender))
    assert (row.status, "bounce" in row.reason) == (InboundEmail.Status.IGNORED, True)


def test_it_ignores_mail_from_our_own_mailbox_address() -> None:
    Mailbox.objects.create(name="Help", address="help@inkwell.example")
    row = receive(mail(sender="Inkwell <help@inkwell.example>"))
    assert (row.status, "our own address" in row.reason) == (InboundEmail.Status.IGNORED, True)


def test_it_ignores_mail_from_the_default_from_address(settings: Any) -> None:
    settings.SUPPORT_FROM_EMAIL = "support@inkwell.example"
    row = receive(mail(sender="support@inkwell.example"))
    assert row.status == InboundEmail.Status.IGNORED


def test_it_ignores_our_own_reply_coming_back() -> None:
    ticket = ticket_of(receive(mail()))
    answered(ticket)
    ours = mail(
        "Open Settings → Security.",
        sender="Ada Lovelace <ada@example.com>",
        msgid="<0c1d2e3f-aaaa-4bbb-8ccc-123456789abc@inkwell.example>",
    )
    row = receive(ours)
    assert (row.status, "our own outgoing mail" in row.reason, customer_bodies(ticket)) == (
        InboundEmail.Status.IGNORED,
        True,
        ["Hi, I forgot my password. Where do I reset it?"],
    )


def test_it_ignores_a_mail_with_a_message_id_of_our_making() -> None:
    Mailbox.objects.create(name="Help", address="help@inkwell.example")
    forwarded = mail(msgid="<5f0e9d8c-1111-4222-8333-abcdefabcdef@inkwell.example>")
    assert receive(forwarded).status == InboundEmail.Status.IGNORED


def test_it_answers_a_colleague_at_our_own_domain() -> None:
    Mailbox.objects.create(name="Help", address="help@inkwell.example")
    colleague = mail(sender="bob@inkwell.example", msgid="<thunderbird-77@inkwell.example>")
    assert receive(colleague).status == InboundEmail.Status.PROCESSED


def test_it_never_queues_triage_for_an_ignored_mail(
    queued: Jobs, django_capture_on_commit_callbacks: Any
) -> None:
    row, _ = inbound.store_inbound(
        mail(headers={"Auto-Submitted": "auto-replied"}), InboundEmail.Source.IMAP
    )
    with django_capture_on_commit_callbacks(execute=True):
        inbound.process_inbound(row.pk)
    assert queued == []


# The per-sender limit.


def test_it_keeps_but_does_not_answer_a_flooding_sender(settings: Any) -> None:
    settings.MAIL_SENDER_LIMIT_PER_HOUR = 3
    rows = [receive(mail(f"Message {n}", msgid=f"<flood-{n}@x>")) for n in range(5)]
    assert [row.status for row in rows] == ["processed"] * 3 + ["ignored"] * 2
    assert rows[-1].reason.startswith("rate limited: more than 3 mails from this sender")


def test_it_keeps_every_mail_of_a_flood() -> None:
    for n in range(25):
        receive(mail(f"Message {n}", msgid=f"<flood-{n}@x>"))
    assert (InboundEmail.objects.count(), Ticket.objects.count()) == (25, 20)


def test_it_lets_other_senders_through_during_a_flood(settings: Any) -> None:
    settings.MAIL_SENDER_LIMIT_PER_HOUR = 1
    receive(mail("one", msgid="<f1@x>"))
    receive(mail("two", msgid="<f2@x>"))
    other = receive(mail("Hello", sender="grace@example.com", msgid="<g1@x>"))
    assert other.status == InboundEmail.Status.PROCESSED


def test_it_lets_a_sender_write_again_the_next_hour(settings: Any) -> None:
    settings.MAIL_SENDER_LIMIT_PER_HOUR = 1
    receive(mail("one", msgid="<f1@x>"))
    with time_machine.travel(datetime(2026, 1, 5, 11, 5, tzinfo=UTC), tick=False):
        later = receive(mail("two", msgid="<f2@x>"))
    assert later.status == InboundEmail.Status.PROCESSED


# Threading: a reply lands in its ticket.


def test_it_adds_a_reply_to_our_mail_to_its_ticket() -> None:
    ticket = ticket_of(receive(mail()))
    answered(ticket)
    receive(
        reply(
            "Thanks, that worked!",
            in_reply_to="<0c1d2e3f-aaaa-4bbb-8ccc-123456789abc@inkwell.example>",
        )
    )
    assert (Ticket.objects.count(), customer_bodies(ticket)[-1]) == (1, "Thanks, that worked!")


def test_it_reopens_an_answered_ticket_when_the_customer_replies() -> None:
    ticket = ticket_of(receive(mail()))
    answered(ticket)
    receive(
        reply("Still broken.", in_reply_to="<0c1d2e3f-aaaa-4bbb-8ccc-123456789abc@inkwell.example>")
    )
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.ESCALATED


def test_it_threads_a_follow_up_to_the_customers_own_earlier_mail() -> None:
    ticket = ticket_of(receive(mail()))
    receive(reply("Also, the export is empty.", in_reply_to=FIRST_ID))
    assert customer_bodies(ticket)[-1] == "Also, the export is empty."


def test_it_threads_by_a_reference_further_up_the_thread() -> None:
    ticket = ticket_of(receive(mail()))
    raw = mail(
        "Any news?",
        msgid="<r9@x>",
        headers={
            "In-Reply-To": "<unknown@elsewhere>",
            "References": f"{FIRST_ID} <unknown@elsewhere>",
        },
    )
    receive(raw)
    assert customer_bodies(ticket)[-1] == "Any news?"


def test_it_threads_by_the_ticket_token_in_the_subject() -> None:
    ticket = ticket_of(receive(mail()))
    receive(mail("Any news?", subject=f"Re: Can't log in [#{ticket.pk}]", msgid="<r2@x>"))
    assert (Ticket.objects.count(), customer_bodies(ticket)[-1]) == (1, "Any news?")


def test_it_threads_a_reply_from_another_address_of_the_same_customer() -> None:
    ticket = ticket_of(receive(mail()))
    add_identity(ticket.customer, "email", "ada@work.example")
    receive(
        mail("From work", subject=f"Re: [#{ticket.pk}]", sender="ada@work.example", msgid="<w@x>")
    )
    assert customer_bodies(ticket)[-1] == "From work"


def test_it_keeps_a_stranger_out_of_another_customers_thread() -> None:
    ticket = ticket_of(receive(mail()))
    intruder = reply("Refund me instead", in_reply_to=FIRST_ID, sender="mallory@example.com")
    row = receive(intruder)
    assert (row.ticket_id != ticket.pk, customer_bodies(ticket)) == (
        True,
        ["Hi, I forgot my password. Where do I reset it?"],
    )


def test_it_keeps_a_stranger_out_of_a_ticket_named_in_the_subject() -> None:
    ticket = ticket_of(receive(mail()))
    row = receive(
        mail("Hello", subject=f"Re: [#{ticket.pk}]", sender="mallory@example.com", msgid="<m@x>")
    )
    assert row.ticket_id != ticket.pk


def test_it_opens_a_new_ticket_for_a_token_of_a_missing_ticket() -> None:
    row = receive(mail("Hello", subject="Re: [#999999]"))
    assert (row.status, Ticket.objects.count()) == (InboundEmail.Status.PROCESSED, 1)


def test_it_stores_a_reply_once_when_it_comes_twice() -> None:
    ticket = ticket_of(receive(mail()))
    receive(reply("Thanks!", in_reply_to=FIRST_ID))
    receive(reply("Thanks!", in_reply_to=FIRST_ID))
    assert customer_bodies(ticket) == ["Hi, I forgot my password. Where do I reset it?", "Thanks!"]


def test_it_strips_the_quoted_history_from_a_reply() -> None:
    ticket = ticket_of(receive(mail()))
    body = (
        "It worked, thanks!\n\nOn Mon, Jan 5, 2026 at 10:05 AM Inkwell <help@inkwell.example> "
        "wrote:\n> Open Settings → Security.\n> Hi, I forgot my password."
    )
    receive(reply(body, in_reply_to=FIRST_ID))
    assert customer_bodies(ticket)[-1] == "It worked, thanks!"


def test_it_reads_an_html_only_mail_as_text() -> None:
    html = "<html><body><p>The <b>export</b> is empty.</p><p>Ada</p></body></html>"
    ticket = ticket_of(receive(mail(None, html=html)))
    assert customer_bodies(ticket) == ["The export is empty.\n\nAda"]


def test_it_finds_a_thread_with_few_queries() -> None:
    ticket = ticket_of(receive(mail()))
    parsed = mime.parse_mail(reply("Thanks", in_reply_to=FIRST_ID))
    with CaptureQueriesContext(connection) as queries:
        found = inbound.find_thread(parsed)
    assert (found, len(queries) <= 6) == (ticket, True)


# Attachments.

PDF = b"%PDF-1.4 the invoice"


def test_it_stores_an_attachment_under_its_digest(data_dir: Path) -> None:
    row = receive(mail(attachments=(("invoice.pdf", "application/pdf", PDF),)))
    stored = Attachment.objects.get()
    digest = hashlib.sha256(PDF).hexdigest()
    assert (stored.message_id, stored.filename, stored.sha256, stored.size) == (
        row.message_id,
        "invoice.pdf",
        digest,
        len(PDF),
    )
    assert (data_dir / "attachments" / stored.path).read_bytes() == PDF


def test_it_writes_the_same_file_once_on_disk(data_dir: Path) -> None:
    receive(mail(attachments=(("a.pdf", "application/pdf", PDF),)))
    receive(mail("again", msgid="<m2@x>", attachments=(("b.pdf", "application/pdf", PDF),)))
    files = [p for p in (data_dir / "attachments").rglob("*") if p.is_file()]
    assert (Attachment.objects.count(), len(files)) == (2, 1)


def test_it_drops_an_oversized_attachment_with_a_note(settings: Any, data_dir: Path) -> None:
    settings.ATTACHMENT_MAX_BYTES = 1024
    big = b"x" * 5000
    ticket = ticket_of(receive(mail(attachments=(("backup.zip", "application/zip", big),))))
    assert Attachment.objects.count() == 0
    assert customer_bodies(ticket)[0].endswith(
        "[Attachment not stored: backup.zip is 0.0 MB; the limit is 0.0 MB "
        "(FOUNDEROPS_ATTACHMENT_MAX_BYTES)]"
    )


def test_it_keeps_the_attachments_that_fit_beside_a_dropped_one(settings: Any) -> None:
    settings.ATTACHMENT_MAX_BYTES = 1024
    files = (("big.zip", "application/zip", b"x" * 5000), ("small.txt", "text/plain", b"ok"))
    receive(mail(attachments=files))
    assert list(Attachment.objects.values_list("filename", flat=True)) == ["small.txt"]


def test_it_opens_a_ticket_for_a_mail_that_is_only_an_attachment() -> None:
    ticket = ticket_of(receive(mail("", subject="", attachments=(("s.png", "image/png", b"png"),))))
    assert customer_bodies(ticket) == ["(The e-mail had no text, only attachments.)"]


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\system32\\evil.dll", "evil.dll"),
        (".htaccess", "htaccess"),
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),
        ("CON.txt", "_CON.txt"),
        ('bad<>:"|?*name.pdf', "bad_______name.pdf"),
        ("line\r\nbreak.txt", "line__break.txt"),
        ("", "attachment"),
        ("a" * 300 + ".pdf", "a" * 146 + ".pdf"),
    ],
)
def test_it_sanitises_dangerous_attachment_names(name: str, safe: str) -> None:
    assert inbound.safe_filename(name) == safe


def test_it_stores_a_suspicious_content_type_as_binary() -> None:
    assert inbound.safe_content_type("text/html; script=<x>") == "application/octet-stream"


def test_it_stores_no_attachment_for_an_ignored_mail() -> None:
    raw = mail(headers={"X-Autoreply": "yes"}, attachments=(("a.pdf", "application/pdf", PDF),))
    receive(raw)
    assert Attachment.objects.count() == 0
