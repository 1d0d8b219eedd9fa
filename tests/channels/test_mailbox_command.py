"""`founderops mailbox`: connect, list, test, poll, remove; the password stays secret."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from founderops.channels import imap
from founderops.channels.models import InboundEmail, Mailbox
from founderops.core import secrets
from founderops.core.models import AuditEvent
from tests.channels.imap_server import HOST, Account, free_port
from tests.channels.mails import mail

pytestmark = pytest.mark.django_db
PASSWORD = "app-password-Zq8!"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(*args: str, stdin: str = "") -> str:
    out = io.StringIO()
    previous = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command("mailbox", *args, stdout=out, stderr=out)
    finally:
        sys.stdin = previous
    return out.getvalue()


def add(account: Account | None = None, *extra: str) -> str:
    server_args = ["--host", "imap.example.com"]
    if account:
        server = account.server
        server_args = ["--host", HOST, "--port", str(server.imaps_port), "--username"]
        server_args += [account.username, "--ca-file", str(server.ca_file)]
    password = account.password if account else PASSWORD
    args = ["add", "support", "--address", "help@inkwell.example", *server_args, *extra]
    return run(*args, "--password-stdin", stdin=password + "\n")


def test_it_connects_a_mailbox_with_the_password_from_stdin() -> None:
    output = add()
    mailbox = Mailbox.objects.get()
    assert (mailbox.name, mailbox.host, mailbox.port, mailbox.security, mailbox.username) == (
        "support",
        "imap.example.com",
        993,
        "imaps",
        "help@inkwell.example",
    )
    assert "Connected mailbox 'support'" in output


def test_it_stores_the_password_sealed() -> None:
    add()
    sealed = Mailbox.objects.get().password_sealed
    assert (PASSWORD in sealed, secrets.reveal(sealed)) == (False, PASSWORD)


def test_it_never_prints_logs_or_audits_the_password(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    output = add() + run("list")
    trail = json.dumps(list(AuditEvent.objects.values("details", "inputs")))
    assert (PASSWORD in output, PASSWORD in caplog.text, PASSWORD in trail) == (False, False, False)


def test_it_asks_for_the_password_without_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return PASSWORD

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", getpass)
    out = io.StringIO()
    call_command(
        "mailbox", "add", "support", "--address", "help@inkwell.example", "--host", "imap.x.com",
        stdout=out,
    )  # fmt: skip
    assert (prompts, secrets.reveal(Mailbox.objects.get().password_sealed)) == (
        ["App password for help@inkwell.example: "],
        PASSWORD,
    )


def test_it_refuses_to_wait_for_a_password_without_a_terminal() -> None:
    with pytest.raises(CommandError, match="pass it with --password-stdin"):
        run("add", "support", "--address", "help@inkwell.example", "--host", "imap.x.com")


def test_it_refuses_an_empty_password() -> None:
    args = ("add", "s", "--address", "help@inkwell.example", "--host", "imap.x.com")
    with pytest.raises(CommandError, match="the password is empty"):
        run(*args, "--password-stdin", stdin="\n")


def test_it_refuses_plain_imap_to_another_machine() -> None:
    args = ("add", "s", "--address", "help@inkwell.example", "--host", "imap.x.com")
    with pytest.raises(CommandError, match=r"refusing an unencrypted connection to imap\.x\.com"):
        run(*args, "--security", "plain", "--password-stdin", stdin=PASSWORD)


def test_it_refuses_a_second_mailbox_of_the_same_name() -> None:
    add()
    with pytest.raises(CommandError, match="a mailbox named 'support' already exists"):
        add()


def test_it_refuses_an_address_that_is_not_one() -> None:
    with pytest.raises(CommandError, match="is not an e-mail address"):
        run("add", "s", "--address", "help", "--host", "imap.x.com", "--password-stdin", stdin="p")


def test_it_refuses_a_url_where_the_host_name_goes() -> None:
    args = ("add", "s", "--address", "help@inkwell.example", "--host", "imaps://imap.x.com")
    with pytest.raises(CommandError, match="is not a host name"):
        run(*args, "--password-stdin", stdin=PASSWORD)
    assert not Mailbox.objects.exists()


def test_it_refuses_a_ca_file_that_does_not_exist(tmp_path: Path) -> None:
    missing = str(tmp_path / "ca.pem")
    args = ("add", "s", "--address", "help@inkwell.example", "--host", "imap.x.com")
    with pytest.raises(CommandError, match=r"the CA file .* cannot be read: no such file"):
        run(*args, "--ca-file", missing, "--password-stdin", stdin=PASSWORD)


def test_it_refuses_a_ca_file_without_a_certificate(tmp_path: Path) -> None:
    not_pem = tmp_path / "notes.txt"
    not_pem.write_text("not a certificate\n")
    args = ("add", "s", "--address", "help@inkwell.example", "--host", "imap.x.com")
    with pytest.raises(CommandError, match=r"holds no certificate \(PEM\)"):
        run(*args, "--ca-file", str(not_pem), "--password-stdin", stdin=PASSWORD)


def test_it_starts_with_new_mail_only_unless_told() -> None:
    add()
    assert Mailbox.objects.get().last_uid == imap.ONLY_NEW


def test_it_imports_the_existing_mail_when_told() -> None:
    add(None, "--import-existing")
    assert Mailbox.objects.get().last_uid == 0


def test_it_lists_the_mailboxes() -> None:
    add()
    assert run("list").startswith(
        "support  help@inkwell.example  imaps://imap.example.com:993/INBOX  enabled, never polled"
    )


def test_it_says_when_there_is_no_mailbox() -> None:
    assert "No mailboxes yet" in run("list")


@pytest.mark.slow
def test_it_tests_a_mailbox_against_the_server(imap_account: Account) -> None:
    add(imap_account)
    assert run("test", "support") == "Connected to 127.0.0.1: INBOX holds 0 message(s).\n"


@pytest.mark.slow
def test_it_says_why_a_test_failed_without_the_password(imap_account: Account) -> None:
    add(imap_account)
    Mailbox.objects.update(password_sealed=secrets.seal("Wrong-Pass-1"))
    with pytest.raises(CommandError, match="Authentication failed") as failed:
        run("test", "support")
    assert "Wrong-Pass-1" not in str(failed.value)


@pytest.mark.slow
def test_it_polls_a_mailbox_now(imap_account: Account) -> None:
    imap_account.append(mail())
    add(imap_account, "--import-existing")
    assert (run("poll", "support"), InboundEmail.objects.count()) == (
        "support: 1 fetched, 1 new\n",
        1,
    )


def test_it_fails_a_poll_that_failed() -> None:
    add()
    Mailbox.objects.update(host="127.0.0.1", port=free_port())
    with pytest.raises(CommandError, match="polling failed"):
        run("poll")


def test_it_says_when_there_is_nothing_to_poll() -> None:
    assert run("poll") == "No enabled mailbox to poll.\n"


def test_it_removes_a_mailbox_and_keeps_its_mail() -> None:
    add()
    InboundEmail.objects.create(
        source="imap",
        mailbox=Mailbox.objects.get(),
        msgid="m@x",
        received_at="2026-01-05T10:00:00Z",
        raw=b"",
    )
    output = run("remove", "support")
    assert (output, Mailbox.objects.count(), InboundEmail.objects.get().mailbox) == (
        "Removed mailbox 'support'; the mail it delivered stays.\n",
        0,
        None,
    )


def test_it_names_an_unknown_mailbox() -> None:
    with pytest.raises(CommandError, match="no mailbox named 'nope'"):
        run("test", "nope")


def test_it_audits_connecting_and_removing() -> None:
    add()
    run("remove", "support")
    assert list(AuditEvent.objects.order_by("id").values_list("actor", "action")) == [
        ("cli", "channels.mailbox_connected"),
        ("cli", "channels.mailbox_removed"),
    ]
