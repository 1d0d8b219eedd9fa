"""The approval inbox: what waits for the founder, oldest first, with the agent's reasons."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from founderops.ai.models import Approval
from founderops.support.models import KnowledgeArticle, Ticket
from tests.web.cast import escalate_with_draft, new_ticket

pytestmark = pytest.mark.django_db


def test_it_lists_a_pending_escalation_with_why(founder_client: Client, triaged: Ticket) -> None:
    html = founder_client.get(reverse("web:inbox")).content.decode()
    assert "Ada Lovelace" in html
    assert "Can&#x27;t find the reset link" in html
    assert "no intent model is trained yet" in html
    assert reverse("web:ticket", kwargs={"pk": triaged.pk}) in html


def test_it_shows_the_suggested_intent_and_confidence(
    founder_client: Client, escalation: Approval
) -> None:
    html = founder_client.get(reverse("web:inbox")).content.decode()
    assert "<strong>reset_password</strong> · 71% confident" in html


def test_it_lists_the_oldest_escalation_first(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    with time_machine.travel("2026-03-01T09:00:00Z", tick=False):
        escalate_with_draft(new_ticket("Second question", "Later", "b@example.com"), reset_article)
    with time_machine.travel("2026-03-01T08:00:00Z", tick=False):
        escalate_with_draft(new_ticket("First question", "Earlier", "a@example.com"), reset_article)
    html = founder_client.get(reverse("web:inbox")).content.decode()
    assert html.index("First question") < html.index("Second question")


def test_it_counts_what_waits_in_the_nav(founder_client: Client, escalation: Approval) -> None:
    html = founder_client.get(reverse("web:tickets")).content.decode()
    assert '<span class="count" title="1 waiting for you">1</span>' in html


def test_it_says_when_nothing_waits(founder_client: Client) -> None:
    html = founder_client.get(reverse("web:inbox")).content.decode()
    assert "Nothing is waiting for you." in html
