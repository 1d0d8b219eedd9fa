"""The cockpit's Channels page: mailboxes, webhooks, the widget card and the mail received."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from founderops.accounts import services as accounts
from founderops.channels import inbound, tasks
from founderops.channels.models import Attachment, InboundEmail, Mailbox
from founderops.core import secrets
from founderops.core.models import AuditEvent
from tests.channels.imap_server import HOST, Account
from tests.channels.mails import mail

pytestmark = pytest.mark.django_db

PAGE = "/channels/"
ADD = "/channels/mailboxes/new/"
XSS = "<script>alert('xss')</script>"
ESCAPED = "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;"


def member(username: str, role: str) -> Client:
    user = accounts.add_member(username, f"{username}@example.com", role, "test", "correct horse")
    client = Client()
    client.force_login(user)
    return client


def form(**changes: str) -> dict[str, str]:
    data = {
        "name": "Support",
        "address": "help@inkwell.example",
        "host": "imap.fastmail.com",
        "security": "imaps",
        "port": "",
        "username": "",
        "password": "app-pass-1234",
        "folder": "INBOX",
        "ca_file": "",
        "enabled": "on",
    }
    data.update(changes)
    return data


def connected(**changes: Any) -> Mailbox:
    fields: dict[str, Any] = {
        "name": "Support",
        "address": "help@inkwell.example",
        "host": "imap.fastmail.com",
        "port": 993,
        "username": "help@inkwell.example",
        "password_sealed": secrets.seal("app-pass-1234"),
    }
    fields.update(changes)
    return Mailbox.objects.create(**fields)


def received(raw: bytes) -> InboundEmail:
    row, _ = inbound.store_inbound(raw, InboundEmail.Source.IMAP)
    tasks.process_inbound(row.pk)
    row.refresh_from_db()
    return row


def page(client: Client) -> str:
    response = client.get(PAGE)
    assert response.status_code == 200
    return response.content.decode()


# Looking.


def test_it_is_reached_from_the_navigation(founder_client: Client) -> None:
    assert f'href="{PAGE}"' in page(founder_client)


def test_it_shows_each_mailbox_with_its_state(founder_client: Client) -> None:
    connected(last_error="the server said: [AUTHENTICATIONFAILED] Authentication failed.")
    content = page(founder_client)
    assert ("help@inkwell.example" in content, "Failing" in content) == (True, True)
    assert "[AUTHENTICATIONFAILED] Authentication failed." in content


def test_it_shows_when_a_mailbox_was_last_polled(founder_client: Client) -> None:
    connected(last_polled_at="2026-01-05T10:30:00Z")
    content = page(founder_client)
    assert ("Jan 5, 10:30" in content, "Working" in content) == (True, True)


def test_it_never_shows_a_mailbox_password(founder_client: Client) -> None:
    box = connected()
    pages = (
        page(founder_client) + founder_client.get(f"/channels/mailboxes/{box.pk}/").content.decode()
    )
    assert ("app-pass-1234" in pages, box.password_sealed in pages) == (False, False)


def test_it_lists_the_mail_received_with_status_reason_and_ticket(founder_client: Client) -> None:
    good = received(mail())
    ignored = received(mail(msgid="<ooo@x>", headers={"Auto-Submitted": "auto-replied"}))
    content = page(founder_client)
    assert f'href="{reverse("web:ticket", args=[good.ticket_id])}"' in content
    assert ("Became a ticket message" in content, ignored.reason in content) == (True, True)


def test_it_lists_the_last_50_mails(founder_client: Client) -> None:
    for n in range(55):
        inbound.store_inbound(mail(f"n{n}", msgid=f"<m{n}@x>"), InboundEmail.Source.IMAP)
    assert page(founder_client).count('<tr id="inbound-') == 50


def test_it_escapes_what_a_mail_says(founder_client: Client) -> None:
    received(mail(subject=XSS, sender=f'"{XSS}" <ada@example.com>'))
    content = page(founder_client)
    assert (XSS in content, ESCAPED in content) == (False, True)


def test_it_shows_each_webhook_url_and_whether_it_is_configured(
    founder_client: Client, settings: Any
) -> None:
    settings.POSTMARK_INBOUND_SECRET = "user:pass"
    content = page(founder_client)
    assert ("http://127.0.0.1:8000/inbound/postmark/" in content, "user:pass" in content) == (
        True,
        False,
    )
    assert "set <code>FOUNDEROPS_MAILGUN_SIGNING_KEY</code>" in content


def test_it_includes_the_widget_card(founder_client: Client) -> None:
    assert 'id="widget-card"' in page(founder_client)


def test_it_lets_a_viewer_look_without_changing(founder: User) -> None:
    connected()
    content = page(member("vera", "viewer"))
    assert ("Support" in content, "Connect a mailbox" in content, "Test connection" in content) == (
        True,
        False,
        False,
    )


# Connecting, changing, removing: owners only.


def test_it_connects_a_mailbox(founder_client: Client) -> None:
    response = founder_client.post(ADD, form())
    box = Mailbox.objects.get()
    assert (response.status_code, response["Location"], box.port, box.username) == (
        302,
        PAGE,
        993,
        "help@inkwell.example",
    )
    assert secrets.reveal(box.password_sealed) == "app-pass-1234"


def test_it_starts_a_new_mailbox_with_new_mail_only(founder_client: Client) -> None:
    founder_client.post(ADD, form())
    assert Mailbox.objects.get().last_uid == -1


def test_it_imports_the_existing_mail_when_asked(founder_client: Client) -> None:
    founder_client.post(ADD, form(import_existing="on"))
    assert Mailbox.objects.get().last_uid == 0


def test_it_audits_who_connected_a_mailbox(founder_client: Client) -> None:
    founder_client.post(ADD, form())
    event = AuditEvent.objects.get(action="channels.mailbox_connected")
    assert (event.actor, "app-pass-1234" in str(event.details)) == ("user:fiona", False)


def test_it_refuses_plain_imap_to_another_host(founder_client: Client) -> None:
    response = founder_client.post(ADD, form(security="plain"))
    assert (response.status_code, Mailbox.objects.count()) == (400, 0)
    assert "refusing an unencrypted connection to imap.fastmail.com" in response.content.decode()


def test_it_needs_a_password_to_connect(founder_client: Client) -> None:
    response = founder_client.post(ADD, form(password=""))
    assert (response.status_code, Mailbox.objects.count()) == (400, 0)


def test_it_never_echoes_a_typed_password_back(founder_client: Client) -> None:
    response = founder_client.post(ADD, form(address="not-an-address"))
    assert (response.status_code, "app-pass-1234" in response.content.decode()) == (400, False)


def test_it_refuses_a_second_mailbox_of_the_same_name(founder_client: Client) -> None:
    connected()
    response = founder_client.post(ADD, form())
    assert "a mailbox named &#x27;Support&#x27; already exists" in response.content.decode()


def test_it_keeps_the_password_when_an_edit_leaves_it_empty(founder_client: Client) -> None:
    box = connected()
    founder_client.post(f"/channels/mailboxes/{box.pk}/", form(password="", folder="Support"))
    box.refresh_from_db()
    assert (box.folder, secrets.reveal(box.password_sealed)) == ("Support", "app-pass-1234")


def test_it_changes_the_password_when_a_new_one_is_typed(founder_client: Client) -> None:
    box = connected()
    founder_client.post(f"/channels/mailboxes/{box.pk}/", form(password="new-app-pass"))
    box.refresh_from_db()
    assert secrets.reveal(box.password_sealed) == "new-app-pass"


def test_it_starts_afresh_when_the_folder_changes(founder_client: Client) -> None:
    box = connected(uidvalidity=7, last_uid=40)
    founder_client.post(f"/channels/mailboxes/{box.pk}/", form(password="", folder="Support"))
    box.refresh_from_db()
    assert (box.uidvalidity, box.last_uid) == (None, -1)


def test_it_keeps_its_place_when_only_the_name_changes(founder_client: Client) -> None:
    box = connected(uidvalidity=7, last_uid=40)
    founder_client.post(f"/channels/mailboxes/{box.pk}/", form(password="", name="Help desk"))
    box.refresh_from_db()
    assert (box.name, box.uidvalidity, box.last_uid) == ("Help desk", 7, 40)


def test_it_removes_a_mailbox(founder_client: Client) -> None:
    box = connected()
    response = founder_client.post(f"/channels/mailboxes/{box.pk}/remove/")
    assert (response.status_code, Mailbox.objects.count()) == (302, 0)


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_it_lets_only_an_owner_connect_a_mailbox(founder: User, role: str) -> None:
    response = member("arthur", role).post(ADD, form())
    assert (response.status_code, Mailbox.objects.count()) == (403, 0)


@pytest.mark.parametrize("action", ["", "remove/", "test/"])
def test_it_lets_only_an_owner_change_remove_or_test_a_mailbox(founder: User, action: str) -> None:
    box = connected()
    response = member("arthur", "agent").post(f"/channels/mailboxes/{box.pk}/{action}", form())
    box.refresh_from_db()
    assert (response.status_code, Mailbox.objects.count(), box.name) == (403, 1, "Support")


def test_it_refuses_a_form_without_its_csrf_token(founder: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(founder)
    response = client.post(ADD, form())
    assert (response.status_code, Mailbox.objects.count()) == (403, 0)


# Attachments.


def test_it_serves_an_attachment_as_a_download(
    founder_client: Client, settings: Any, tmp_path: Any
) -> None:
    settings.DATA_DIR = tmp_path
    html = b"<script>alert(1)</script>"
    received(mail(attachments=(("page.html", "text/html", html),)))
    response = founder_client.get(reverse("web:attachment", args=[Attachment.objects.get().pk]))
    assert (
        response.getvalue(),
        response["Content-Type"],
        response["Content-Disposition"],
    ) == (html, "application/octet-stream", 'attachment; filename="page.html"')


def test_it_answers_404_for_an_attachment_whose_file_is_gone(
    founder_client: Client, settings: Any, tmp_path: Any
) -> None:
    settings.DATA_DIR = tmp_path
    received(mail(attachments=(("a.txt", "text/plain", b"x"),)))
    for path in (tmp_path / "attachments").rglob("*"):
        if path.is_file():
            path.unlink()
    response = founder_client.get(reverse("web:attachment", args=[Attachment.objects.get().pk]))
    assert response.status_code == 404


def test_it_serves_attachments_only_to_the_team(settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    received(mail(attachments=(("a.txt", "text/plain", b"x"),)))
    response = Client().get(reverse("web:attachment", args=[Attachment.objects.get().pk]))
    assert (response.status_code, response["Location"].startswith("/login/")) == (302, True)


# Testing and polling from the page (a real dovecot).


def imap_form(account: Account, **changes: str) -> dict[str, str]:
    server = account.server
    fields = {
        "host": HOST,
        "port": str(server.imaps_port),
        "username": account.username,
        "password": account.password,
        "ca_file": str(server.ca_file),
    }
    return form(**{**fields, **changes})


@pytest.mark.slow
def test_it_tests_a_connection_and_says_it_works(
    founder_client: Client, imap_account: Account
) -> None:
    founder_client.post(ADD, imap_form(imap_account))
    box = Mailbox.objects.get()
    response = founder_client.post(f"/channels/mailboxes/{box.pk}/test/", follow=True)
    assert "Connected to 127.0.0.1: INBOX holds 0 message(s)." in response.content.decode()


@pytest.mark.slow
def test_it_tests_a_connection_and_says_why_it_fails(
    founder_client: Client, imap_account: Account
) -> None:
    founder_client.post(ADD, imap_form(imap_account, password="Wrong-Pass-9"))
    box = Mailbox.objects.get()
    content = founder_client.post(f"/channels/mailboxes/{box.pk}/test/", follow=True)
    text = content.content.decode()
    assert ("Authentication failed" in text, "Wrong-Pass-9" in text) == (True, False)


@pytest.mark.slow
def test_it_lets_an_agent_poll_now(founder: User, imap_account: Account) -> None:
    imap_account.append(mail())
    founder_client = Client()
    founder_client.force_login(founder)
    founder_client.post(ADD, imap_form(imap_account, import_existing="on"))
    box = Mailbox.objects.get()
    response = member("arthur", "agent").post(f"/channels/mailboxes/{box.pk}/poll/", follow=True)
    assert ("1 fetched, 1 new" in response.content.decode(), InboundEmail.objects.count()) == (
        True,
        1,
    )


def test_it_links_a_mails_attachments_from_the_ticket_page(
    founder_client: Client, settings: Any, tmp_path: Any
) -> None:
    settings.DATA_DIR = tmp_path
    received(mail(attachments=(("<b>invoice</b>.pdf", "application/pdf", b"%PDF-1.4"),)))
    attachment = Attachment.objects.get()
    page = founder_client.get(reverse("web:ticket", args=[attachment.message.ticket_id]))
    link = reverse("web:attachment", args=[attachment.pk])
    assert (link in page.content.decode(), "<b>invoice" in page.content.decode()) == (True, False)
