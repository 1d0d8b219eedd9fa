"""Steps the browser tests share: screenshots, and a visitor asking in the chat widget.

The widget lives in an open shadow root under `#founderops-widget`; Playwright's CSS
locators reach into open shadow roots, so its stable ids work as they are.
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page

from tests.web.test_browser import ARTIFACTS

VISITOR = "ada@example.com"


def shoot(page: Page, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def ask_in_widget(page: Page, base_url: str, question: str, email: str = VISITOR) -> Locator:
    """Open the demo page's widget, ask, and return the bot's messages (the answer arrives
    after the widget's deliberate wait of about two seconds)."""
    page.goto(base_url + "/widget/demo/")
    page.locator("#fo-launcher").click()
    page.locator("#fo-question").fill(question)
    page.locator("#fo-email").fill(email)
    page.locator("#fo-send").click()
    return page.locator("#fo-log .fo-msg.fo-bot")
