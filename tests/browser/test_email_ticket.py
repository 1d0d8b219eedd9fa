"""An e-mail walked from the customer's mailbox to a threaded reply, the founder deciding in
Debian's Chromium.

Ada's mail is APPENDed to the support mailbox on a real dovecot and polled over IMAPS; the
agent escalates it (urgent wording) with a draft from the knowledge base. Fiona signs in,
finds it in the inbox, edits the draft and approves; the reply leaves by SMTP to a real
aiosmtpd relay. As in tests/web/test_browser.py, the ORM is used only before the browser
starts and after it has closed (Playwright's sync API runs an event loop in this thread).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect
from pytest_django.live_server_helper import LiveServer

from founderops.ai.models import Approval
from founderops.channels import imap
from founderops.channels.models import Mailbox
from founderops.support.models import Ticket
from tests.browser.steps import shoot
from tests.channels.imap_server import Account
from tests.channels.mails import mail
from tests.channels.smtp_server import Recorder
from tests.web.test_browser import chromium_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUBJECT = "Locked out of Inkwell"
CUSTOMER_ID = "<locked-out-4f2a@mail.example.com>"
QUESTION = "Hello, I forgot my password and now I can't log in. How do I reset it?"
EDITED = "Hi Ada,\n\nI have just sent you a fresh reset link; it works for one hour.\n\nFiona"


def mail_arrives(account: Account, mailbox: Mailbox) -> Ticket:
    """Ada writes; the mail is polled, processed and triaged (jobs run inline)."""
    html = f"<p>{QUESTION}</p><p>Ada</p>"
    account.append(mail(QUESTION, subject=SUBJECT, msgid=CUSTOMER_ID, html=html))
    assert [str(result) for result in imap.poll_mailboxes()] == ["Help: 1 fetched, 1 new"]
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.status) == (Ticket.Channel.EMAIL, Ticket.Status.ESCALATED)
    return ticket


def decide_in_the_browser(base_url: str) -> None:
    with chromium_page() as page:
        sign_in(page, base_url)
        expect(page.get_by_role("heading", name="Today at a glance")).to_be_visible()
        shoot(page, "home.png")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
        expect(page.get_by_role("heading", name="Approval inbox")).to_be_visible()
        expect(page.locator("#inbox-list")).to_contain_text("urgent wording")
        shoot(page, "inbox.png")
        page.get_by_role("link", name=SUBJECT).click()
        expect(page.locator("#thread .msg-customer .msg-body")).to_contain_text(QUESTION)
        draft = page.get_by_label("Reply to Ada Lovelace")
        expect(draft).to_contain_text("Forgot password")  # the article's answer, drafted
        draft.fill(EDITED)
        page.get_by_role("button", name="Approve and send").click()
        expect(page.get_by_role("status")).to_contain_text("Reply sent to Ada Lovelace.")
        expect(page.locator("#thread .msg-founder .delivery")).to_contain_text(
            "sent by e-mail · threaded"
        )
        shoot(page, "email-ticket-approved.png")


def test_it_sends_the_edited_reply_to_an_email_in_its_thread(
    live_server: LiveServer,
    founder: User,
    help_centre: None,
    imap_account: Account,
    mailbox: Mailbox,
    smtp: Recorder,
) -> None:
    ticket = mail_arrives(imap_account, mailbox)

    decide_in_the_browser(live_server.url)

    [sent] = smtp.received
    reply = sent.message
    assert (sent.rcpt_tos, reply["Subject"], reply["In-Reply-To"]) == (
        ["ada@example.com"],
        f"Re: {SUBJECT} [#{ticket.pk}]",
        CUSTOMER_ID,
    )
    assert CUSTOMER_ID in str(reply["References"]).split()
    assert EDITED in sent.part("plain").replace("\r\n", "\n")
    assert Approval.objects.get(subject_id=str(ticket.pk)).status == Approval.Status.EDITED
