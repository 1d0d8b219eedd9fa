"""A policy changed on the agents page in Debian's Chromium governs the very next ticket.

The next ticket is a visitor's known question in the chat widget, which the agent answers on
its own while replies are *auto*. Set to *approval*, the same question goes to the inbox with
the agent's draft; set back to *auto*, it is answered again.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from founderops.ai import policy
from founderops.support.models import Decision
from tests.browser.steps import VISITOR, ask_in_widget, shoot
from tests.channels.widget_cast import KNOWN, RESET_ANSWER
from tests.web.test_browser import chromium_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def set_reply_policy(page: Page, base_url: str, mode: str) -> None:
    page.goto(base_url + "/agents/")
    form = page.get_by_role("form", name="Policy for replies")
    form.get_by_label("Mode").select_option(mode)
    form.get_by_role("button", name="Save policy").click()
    expect(page.locator("#policy-support-reply-mode")).to_have_text(mode)


def test_it_sends_the_next_ticket_to_the_inbox_once_replies_need_approval(
    live_server: LiveServer, founder: User, help_centre: None
) -> None:
    with chromium_page() as page:
        sign_in(page, live_server.url)
        set_reply_policy(page, live_server.url, "approval")
        shoot(page, "agents-reply-approval.png")
        answers = ask_in_widget(page, live_server.url, KNOWN)
        expect(answers).to_contain_text(f"We'll reply by e-mail to {VISITOR}.")
        page.goto(live_server.url + "/inbox/")
        expect(page.locator("#inbox-list")).to_contain_text("policy for replies is 'approval'")
    decision = Decision.objects.get()
    assert (decision.action, decision.intent, bool(decision.draft)) == (
        Decision.Action.ESCALATE,
        "reset_password",
        True,
    )


def test_it_answers_the_next_ticket_again_once_replies_are_auto(
    live_server: LiveServer, founder: User, help_centre: None
) -> None:
    policy.set_policy("support", "reply", "approval", policy.Limits(), "user:fiona")
    with chromium_page() as page:
        sign_in(page, live_server.url)
        set_reply_policy(page, live_server.url, "auto")
        answers = ask_in_widget(page, live_server.url, KNOWN)
        expect(answers).to_contain_text(RESET_ANSWER)
    assert Decision.objects.get().action == Decision.Action.AUTO_REPLY
