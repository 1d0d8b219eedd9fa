"""One walk through the approve flow in Debian's Chromium, driven by Playwright.

The ORM is used only before the browser starts and after it has closed: Playwright's sync API
runs an event loop in this thread, and Django rightly refuses database calls from inside one
(SynchronousOnlyOperation). Keeping the two apart needs no DJANGO_ALLOW_ASYNC_UNSAFE.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect, sync_playwright
from pytest_django.live_server_helper import LiveServer

from founderops.ai.models import Approval
from founderops.support.models import Message
from tests.web.cast import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STEP_TIMEOUT_MS = 15_000
EDITED = "Hi Ada,\n\nI have just sent you a fresh reset link; it works for one hour.\n\nFiona"


@contextmanager
def chromium_page() -> Iterator[Page]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: run `make chromium`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(STEP_TIMEOUT_MS)
            page.set_default_navigation_timeout(STEP_TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def sign_in(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill("fiona")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Today at a glance")).to_be_visible()


def test_it_approves_an_edited_draft_in_the_browser(
    live_server: LiveServer, founder: User, escalation: Approval
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with chromium_page() as page:
        sign_in(page, live_server.url)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
        page.get_by_role("link", name="Can't find the reset link").click()
        expect(page.get_by_label("Reply to Ada Lovelace")).to_contain_text("Hi Ada,")
        page.get_by_label("Reply to Ada Lovelace").fill(EDITED)
        page.get_by_role("button", name="Approve and send").click()
        expect(page.get_by_role("status")).to_contain_text("Reply sent to Ada Lovelace.")
        expect(page.locator("#thread .msg-founder .msg-body")).to_have_text(EDITED)
        page.screenshot(path=str(ARTIFACTS / "browser-ticket-approved.png"), full_page=True)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
        expect(page.get_by_text("Nothing is waiting for you.")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "browser-inbox-empty.png"), full_page=True)
    escalation.refresh_from_db()
    assert escalation.status == Approval.Status.EDITED
    sent = Message.objects.filter(ticket_id=escalation.subject_id, author="founder")
    assert list(sent.values_list("body", flat=True)) == [EDITED]
