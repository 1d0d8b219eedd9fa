"""The chat widget on the demo page, in Debian's Chromium: a visitor's known question gets the
Support Agent's answer from the knowledge base, in the widget, within seconds."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from pytest_django.live_server_helper import LiveServer

from founderops.support.models import Ticket
from tests.browser.steps import ask_in_widget, shoot
from tests.channels.widget_cast import KNOWN, RESET_ANSWER
from tests.web.test_browser import chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_answers_a_known_question_in_the_widget(
    live_server: LiveServer, help_centre: None
) -> None:
    with chromium_page() as page:
        answers = ask_in_widget(page, live_server.url, KNOWN)
        expect(answers).to_contain_text(RESET_ANSWER)
        expect(page.get_by_role("group", name="Rate this answer")).to_be_visible()
        shoot(page, "widget-answer.png", full_page=False)
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.status, ticket.intent) == (
        Ticket.Channel.CHAT,
        Ticket.Status.ANSWERED_AUTO,
        "reset_password",
    )
