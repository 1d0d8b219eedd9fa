"""The ticket list: filter by status, search by words or number."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from founderops.ai.models import Approval
from founderops.support.models import Ticket
from tests.web.cast import new_ticket

pytestmark = pytest.mark.django_db


def listing(client: Client, **params: str) -> str:
    return client.get(reverse("web:tickets"), params).content.decode()


def test_it_filters_tickets_by_status(founder_client: Client, escalation: Approval) -> None:
    new_ticket("Feature idea: dark mode", "Please add dark mode", email="bo@example.com")
    html = listing(founder_client, status="escalated")
    assert "Can&#x27;t find the reset link" in html
    assert "Feature idea" not in html


def test_it_searches_the_message_text(founder_client: Client, ticket: Ticket) -> None:
    new_ticket("Feature idea: dark mode", "Please add dark mode", email="bo@example.com")
    html = listing(founder_client, q="where do i reset")
    assert "Can&#x27;t find the reset link" in html
    assert "Feature idea" not in html


def test_it_finds_a_ticket_by_its_number(founder_client: Client, ticket: Ticket) -> None:
    other = new_ticket("Feature idea: dark mode", "Please add dark mode", email="bo@example.com")
    html = listing(founder_client, q=f"#{other.pk}")
    assert "Feature idea" in html
    assert "Can&#x27;t find the reset link" not in html


def test_it_ignores_an_unknown_status(founder_client: Client, ticket: Ticket) -> None:
    assert "Can&#x27;t find the reset link" in listing(founder_client, status="bogus")
