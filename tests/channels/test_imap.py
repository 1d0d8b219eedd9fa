"""Polling a real IMAP server (dovecot): each mail fetched once, nothing skipped, errors kept."""

from __future__ import annotations

from typing import Any

import pytest

from founderops.channels import imap, inbound, mailboxes, tasks
from founderops.channels.models import InboundEmail, Mailbox
from founderops.core import secrets
from founderops.support.models import Ticket
from founderops.worker import schedules
from tests.channels.imap_server import HOST, Account, ImapServer, free_port
from tests.channels.mails import large_mail, mail

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
Jobs = list[tuple[str, tuple[Any, ...]]]


def connect(
    account: Account,
    security: str = Mailbox.Security.IMAPS,
    only_new: bool = False,
    **changes: Any,
) -> Mailbox:
    server = account.server
    port = server.imaps_port if security == Mailbox.Security.IMAPS else server.imap_port
    fields: dict[str, Any] = {
        "name": f"Help {account.username}",
        "address": "help@inkwell.example",
        "host": HOST,
        "username": account.username,
        "port": port,
        "security": security,
        "ca_file": str(server.ca_file),
    }
    fields.update(changes)
    password = fields.pop("password", account.password)
    config = mailboxes.MailboxConfig(**fields)
    return mailboxes.connect_mailbox(config, password, "test", only_new=only_new)


def poll(mailbox: Mailbox) -> imap.PollResult:
    result = imap.poll_mailbox(mailbox)
    mailbox.refresh_from_db()
    return result


def subjects() -> list[str]:
    return list(InboundEmail.objects.order_by("id").values_list("subject", flat=True))


def numbered(n: int) -> bytes:
    return mail(f"Message {n}", subject=f"Mail {n}", msgid=f"<mail-{n}@mail.example.com>")


# Fetching.


def test_it_fetches_new_mail_over_imaps(imap_account: Account) -> None:
    imap_account.append(numbered(1))
    result = poll(connect(imap_account))
    assert (result.fetched, result.stored, result.error, subjects()) == (1, 1, "", ["Mail 1"])


def test_it_keeps_the_mail_as_the_server_holds_it(imap_account: Account) -> None:
    imap_account.append(numbered(1))
    poll(connect(imap_account))
    row = InboundEmail.objects.get()
    assert (row.source, row.msgid, b"Message 1" in bytes(row.raw)) == (
        InboundEmail.Source.IMAP,
        "mail-1@mail.example.com",
        True,
    )


def test_it_fetches_over_starttls(imap_account: Account) -> None:
    imap_account.append(numbered(1))
    result = poll(connect(imap_account, Mailbox.Security.STARTTLS))
    assert (result.error, subjects()) == ("", ["Mail 1"])


def test_it_fetches_without_tls_from_this_machine(imap_account: Account) -> None:
    imap_account.append(numbered(1))
    result = poll(connect(imap_account, Mailbox.Security.PLAIN))
    assert (result.error, subjects()) == ("", ["Mail 1"])


def test_it_logs_in_with_a_password_that_is_not_ascii(imap_server: ImapServer) -> None:
    account = imap_server.add_account(unicode=True)
    account.append(numbered(1))
    assert poll(connect(account)).error == ""


def test_it_records_where_it_stopped(imap_account: Account) -> None:
    for n in (1, 2, 3):
        imap_account.append(numbered(n))
    mailbox = connect(imap_account)
    poll(mailbox)
    assert (mailbox.last_uid, mailbox.uidvalidity is not None, mailbox.last_error) == (3, True, "")


def test_it_fetches_each_mail_once_across_polls(imap_account: Account) -> None:
    imap_account.append(numbered(1))
    mailbox = connect(imap_account)
    poll(mailbox)
    again = poll(mailbox)
    assert (again.fetched, InboundEmail.objects.count()) == (0, 1)


def test_it_fetches_only_what_arrived_since_the_last_poll(imap_account: Account) -> None:
    imap_account.append(numbered(1))
    mailbox = connect(imap_account)
    poll(mailbox)
    imap_account.append(numbered(2))
    imap_account.append(numbered(3))
    later = poll(mailbox)
    assert (later.fetched, subjects()) == (2, ["Mail 1", "Mail 2", "Mail 3"])


def test_it_stores_a_mail_that_is_in_the_folder_twice_once(imap_account: Account) -> None:
    imap_account.append(numbered(1))
    imap_account.append(numbered(1))
    result = poll(connect(imap_account))
    assert (result.fetched, result.stored, InboundEmail.objects.count()) == (2, 1, 1)


def test_it_stops_after_a_batch_and_carries_on_next_time(
    imap_account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap, "MAX_PER_POLL", 2)
    for n in (1, 2, 3):
        imap_account.append(numbered(n))
    mailbox = connect(imap_account)
    counts = [poll(mailbox).fetched, poll(mailbox).fetched, poll(mailbox).fetched]
    assert (counts, subjects()) == ([2, 1, 0], ["Mail 1", "Mail 2", "Mail 3"])


def test_it_leaves_the_mail_unread_on_the_server(imap_account: Account) -> None:
    imap_account.append(numbered(1))
    poll(connect(imap_account))
    with imap_account.client() as client:
        client.select("INBOX", readonly=True)
        _, flags = client.fetch("1", "(FLAGS)")
    assert "Seen" not in str(flags)


def test_it_reads_another_folder(imap_account: Account) -> None:
    imap_account.create("Support Mail")
    imap_account.append(numbered(1), folder="Support Mail")
    imap_account.append(numbered(2))
    poll(connect(imap_account, folder="Support Mail"))
    assert subjects() == ["Mail 1"]


def test_it_skips_the_old_mail_of_a_mailbox_connected_for_new_mail(imap_account: Account) -> None:
    imap_account.append(numbered(1))
    mailbox = connect(imap_account, only_new=True)
    first = poll(mailbox)
    imap_account.append(numbered(2))
    second = poll(mailbox)
    assert ((first.fetched, second.fetched), subjects()) == ((0, 1), ["Mail 2"])


def test_it_refetches_safely_when_uidvalidity_changes(imap_account: Account) -> None:
    imap_account.create("Support")
    imap_account.append(numbered(1), folder="Support")
    mailbox = connect(imap_account, folder="Support")
    poll(mailbox)
    before = mailbox.uidvalidity
    # The folder rebuilt (a server migration): the same mail, new UIDs, and one new mail.
    imap_account.delete("Support")
    imap_account.create("Support")
    imap_account.append(numbered(1), folder="Support")
    imap_account.append(numbered(2), folder="Support")
    result = poll(mailbox)
    assert (mailbox.uidvalidity != before, result.fetched, result.stored) == (True, 2, 1)
    assert subjects() == ["Mail 1", "Mail 2"]


def test_it_keeps_only_the_headers_of_a_20_mb_mail(imap_account: Account) -> None:
    raw = large_mail(20)
    imap_account.append(raw)
    poll(connect(imap_account))
    row = InboundEmail.objects.get()
    assert (row.status, row.size >= 20 * 1024 * 1024, len(bytes(row.raw)) < 2000) == (
        InboundEmail.Status.REJECTED,
        True,
        True,
    )
    assert row.reason.startswith("the mail is 20.0 MB; the limit is 15.0 MB")


def test_it_queues_processing_for_each_stored_mail(
    imap_account: Account, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    jobs: Jobs = []
    monkeypatch.setattr(
        "founderops.core.jobs.enqueue", lambda func, *args, **_: jobs.append((func, args))
    )
    imap_account.append(numbered(1))
    imap_account.append(numbered(2))
    with django_capture_on_commit_callbacks(execute=True):
        poll(connect(imap_account))
    ids = list(InboundEmail.objects.order_by("id").values_list("id", flat=True))
    assert jobs == [(inbound.PROCESS_JOB, (pk,)) for pk in ids]


def test_it_turns_a_polled_mail_into_a_ticket(imap_account: Account) -> None:
    imap_account.append(numbered(1))
    poll(connect(imap_account))
    tasks.process_inbound(InboundEmail.objects.get().pk)
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.subject, ticket.customer.email) == (
        Ticket.Channel.EMAIL,
        "Mail 1",
        "ada@example.com",
    )


# Errors: recorded on the mailbox, never raised, never holding the password.


def test_it_records_a_wrong_password_without_the_password(imap_account: Account) -> None:
    mailbox = connect(imap_account, password="Wr0ng-Secret-Value")
    result = poll(mailbox)
    assert ("Authentication failed" in mailbox.last_error, result.error == mailbox.last_error) == (
        True,
        True,
    )
    assert "Wr0ng-Secret-Value" not in mailbox.last_error


def test_it_records_an_untrusted_certificate(imap_account: Account) -> None:
    mailbox = connect(imap_account, ca_file="")
    poll(mailbox)
    assert "certificate of 127.0.0.1" in mailbox.last_error
    assert "not trusted" in mailbox.last_error


def test_it_records_a_refused_connection() -> None:
    mailbox = mailboxes.connect_mailbox(
        mailboxes.MailboxConfig("Gone", "help@inkwell.example", HOST, "u", port=free_port()),
        "secret",
        "test",
    )
    poll(mailbox)
    assert "refused the connection" in mailbox.last_error


def test_it_records_a_missing_folder(imap_account: Account) -> None:
    mailbox = connect(imap_account, folder="Nowhere")
    poll(mailbox)
    assert mailbox.last_error.startswith("the folder 'Nowhere' cannot be opened")


def test_it_records_the_time_of_a_failed_poll(imap_account: Account) -> None:
    mailbox = connect(imap_account, folder="Nowhere")
    poll(mailbox)
    assert mailbox.last_polled_at is not None


def test_it_clears_the_error_after_a_good_poll(imap_account: Account) -> None:
    mailbox = connect(imap_account, folder="Nowhere")
    poll(mailbox)
    Mailbox.objects.filter(pk=mailbox.pk).update(folder="INBOX")
    mailbox.refresh_from_db()
    poll(mailbox)
    assert mailbox.last_error == ""


def test_it_reports_a_password_that_can_no_longer_be_decrypted(imap_account: Account) -> None:
    mailbox = connect(imap_account)
    Mailbox.objects.filter(pk=mailbox.pk).update(password_sealed="not-a-sealed-secret")
    mailbox.refresh_from_db()
    poll(mailbox)
    assert "cannot be decrypted" in mailbox.last_error


def test_it_records_a_ca_file_that_went_missing_as_such(imap_account: Account) -> None:
    mailbox = connect(imap_account)
    Mailbox.objects.filter(pk=mailbox.pk).update(ca_file="/nonexistent/ca.pem")
    mailbox.refresh_from_db()
    poll(mailbox)
    assert mailbox.last_error == (
        "the CA file '/nonexistent/ca.pem' cannot be read: no such file or directory"
    )


def test_it_refuses_to_send_a_password_unencrypted_to_another_host() -> None:
    mailbox = Mailbox.objects.create(
        name="Remote",
        address="help@inkwell.example",
        host="imap.example.com",
        port=143,
        security=Mailbox.Security.PLAIN,
        username="help",
        password_sealed=secrets.seal("secret"),
    )
    result = poll(mailbox)
    assert result.error.startswith("refusing an unencrypted connection to imap.example.com")


def test_it_polls_every_mailbox_past_a_broken_one(imap_account: Account) -> None:
    imap_account.append(numbered(1))
    broken = connect(imap_account, folder="Nowhere", name="A broken one")
    connect(imap_account, name="B working")
    summary = tasks.poll_mailboxes()
    broken.refresh_from_db()
    assert (subjects(), broken.last_error != "", "B working: 1 fetched, 1 new" in summary) == (
        ["Mail 1"],
        True,
        True,
    )


def test_it_skips_a_disabled_mailbox(imap_account: Account) -> None:
    imap_account.append(numbered(1))
    connect(imap_account, enabled=False)
    assert (tasks.poll_mailboxes(), subjects()) == ("no mailbox to poll", [])


def test_it_tests_a_connection_without_fetching(imap_account: Account) -> None:
    imap_account.append(numbered(1))
    message = imap.check_connection(connect(imap_account))
    assert (message, InboundEmail.objects.count()) == (
        "Connected to 127.0.0.1: INBOX holds 1 message(s).",
        0,
    )


def test_it_explains_a_failed_connection_test(imap_account: Account) -> None:
    with pytest.raises(imap.MailboxError, match="Authentication failed"):
        imap.check_connection(connect(imap_account, password="wrong"))


def test_it_schedules_polling_every_configured_minutes() -> None:
    polls = [every for every in schedules.intervals() if every.name == "poll-mailboxes"]
    assert [(e.func, e.minutes) for e in polls] == [("founderops.channels.tasks.poll_mailboxes", 1)]
