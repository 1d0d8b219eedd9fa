"""The cockpit in Debian's Chromium: keyboard shortcuts, inserting a saved reply, a phone.

As in tests/web/test_browser.py, the ORM is used only before the browser starts and after it
has closed (Playwright's sync API runs an event loop in this thread).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from founderops.ai.models import Approval
from founderops.core import audit
from founderops.support import services
from founderops.support.models import KnowledgeArticle, Message, SavedReply
from tests.cockpit.conftest import answered, rate
from tests.web.test_browser import ARTIFACTS, chromium_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE: ViewportSize = {"width": 375, "height": 812}
# The elements that stick out on the right, for a failure message that says where.
WIDEST = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter(e => { for (let p = e.parentElement; p; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return false; } return true; })
  .slice(-3)
  .map(e => `${e.tagName}.${e.className}#${e.id}: ${e.textContent.trim().slice(0, 40)}`)"""


def test_it_decides_an_escalation_from_the_keyboard(
    live_server: LiveServer, founder: User, escalation: Approval
) -> None:
    with chromium_page() as page:
        sign_in(page, live_server.url)
        page.goto(live_server.url + "/inbox/")
        page.keyboard.press("j")
        expect(page.locator("#inbox-list [data-nav-item]").first).to_have_class(
            "card inbox-item is-selected"
        )
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Your decision")).to_be_visible()
        page.keyboard.press("e")
        draft = page.get_by_label("Reply to Ada Lovelace")
        expect(draft).to_be_focused()
        # Typed into the draft, "a" and "r" are letters, not shortcuts.
        page.keyboard.type(" PS: a reset link is on its way.")
        page.keyboard.press("Escape")
        page.keyboard.press("a")
        expect(page.get_by_role("status")).to_contain_text("Reply sent to Ada Lovelace.")
    sent = Message.objects.get(ticket_id=escalation.subject_id, author="founder")
    assert sent.body.endswith("PS: a reset link is on its way.")


def test_it_shows_the_shortcuts_on_question_mark(
    live_server: LiveServer, founder: User, escalation: Approval
) -> None:
    with chromium_page() as page:
        sign_in(page, live_server.url)
        page.goto(live_server.url + "/inbox/")
        page.keyboard.press("?")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()
        page.keyboard.press("/")
        expect(page.get_by_label("Search tickets")).to_be_focused()


def test_it_inserts_a_saved_reply_into_the_draft(
    live_server: LiveServer, founder: User, escalation: Approval
) -> None:
    macro = services.save_macro(
        "Reset link", "Hi {name}, here is a fresh link.", "reset_password", founder
    )
    with chromium_page() as page:
        sign_in(page, live_server.url)
        page.goto(f"{live_server.url}/tickets/{escalation.subject_id}/")
        page.get_by_label("Saved reply").select_option(label="Reset link")
        page.get_by_role("button", name="Insert saved reply").click()
        expect(page.get_by_label("Reply to Ada Lovelace")).to_have_value(
            "Hi Ada, here is a fresh link."
        )
    macro.refresh_from_db()
    assert macro.uses == 1


def test_it_fits_a_phone_screen_on_every_page(
    live_server: LiveServer, founder: User, escalation: Approval, reset_article: KnowledgeArticle
) -> None:
    reply = answered("A very long subject " * 8, article=reset_article, email="long@example.com")
    rate(reply, "good")
    audit.record("agent:support", "support.auto_reply", ("ticket", reply.pk), outcome="answered")
    macro = SavedReply.objects.create(
        title="Thanks", body="Thanks {name}!", updated_at=reply.created_at
    )
    paths = [
        "/",
        "/inbox/",
        "/tickets/",
        f"/tickets/{escalation.subject_id}/",
        f"/tickets/{reply.pk}/",
        "/customers/",
        f"/customers/{reply.customer_id}/",
        "/knowledge/",
        f"/knowledge/{reset_article.pk}/",
        f"/knowledge/{reset_article.pk}/edit/",
        "/saved-replies/",
        f"/saved-replies/{macro.pk}/",
        "/agents/",
        "/audit/",
    ]
    too_wide = {}
    with chromium_page() as page:
        page.set_viewport_size(PHONE)
        sign_in(page, live_server.url)
        for path in paths:
            page.goto(live_server.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide[path] = page.evaluate(WIDEST)
            if path == "/":
                shoot(page, "cockpit-home-phone.png")
    assert too_wide == {}


def shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
