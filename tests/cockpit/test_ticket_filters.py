"""The ticket list: search plus filters, paged, every filter kept in the URL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from founderops.support.models import Ticket
from tests.cockpit.conftest import answered, rate
from tests.web.cast import new_ticket

pytestmark = pytest.mark.django_db


def listing(client: Client, **params: str) -> str:
    response = client.get(reverse("web:tickets"), params)
    assert response.status_code == 200
    return response.content.decode()


def made(subject: str, **fields: Any) -> Ticket:
    ticket = new_ticket(subject, f"About {subject}", f"{subject.replace(' ', '')}@example.com")
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    return ticket


@pytest.mark.parametrize(
    ("name", "wanted", "other"),
    [
        ("channel", {"channel": "email"}, {"channel": "chat"}),
        ("priority", {"priority": 1}, {"priority": 3}),
        ("intent", {"intent": "refund_request"}, {"intent": "reset_password"}),
        ("sentiment", {"sentiment": "negative"}, {"sentiment": "positive"}),
        ("status", {"status": "closed"}, {"status": "new"}),
    ],
)
def test_it_filters_by_one_field(
    founder_client: Client, name: str, wanted: dict[str, Any], other: dict[str, Any]
) -> None:
    made("Wanted one", **wanted)
    made("Other one", **other)
    html = listing(founder_client, **{name: str(next(iter(wanted.values())))})
    assert "Wanted one" in html
    assert "Other one" not in html


def test_it_combines_filters_and_search(founder_client: Client) -> None:
    made("Refund please", channel="email", priority=2)
    made("Refund by chat", channel="chat", priority=2)
    made("Password by email", channel="email", priority=2)
    html = listing(founder_client, q="refund", channel="email", priority="2")
    assert "Refund please" in html
    assert "Refund by chat" not in html
    assert "Password by email" not in html


def test_it_offers_the_intents_tickets_carry(founder_client: Client) -> None:
    made("Money", intent="refund_request")
    made("Unknown", intent="oos")
    html = listing(founder_client)
    assert '<option value="refund_request">refund_request</option>' in html
    assert '<option value="oos">unknown request</option>' in html


@time_machine.travel("2026-03-10T12:00:00Z", tick=False)
def test_it_filters_by_days_received_both_ends_included(founder_client: Client) -> None:
    for day in (5, 6, 7, 8):
        made(f"Day {day}", created_at=f"2026-03-0{day}T12:00:00Z")
    html = listing(founder_client, since="2026-03-06", until="2026-03-07")
    assert "Day 6" in html
    assert "Day 7" in html
    assert "Day 5" not in html
    assert "Day 8" not in html


def test_it_reads_days_in_the_founders_time_zone(founder_client: Client, settings: Any) -> None:
    settings.TIME_ZONE = "America/New_York"
    made("Late evening in New York", created_at="2026-03-07T03:00:00Z")  # 22:00 on 6 March
    assert "Late evening in New York" in listing(
        founder_client, since="2026-03-06", until="2026-03-06"
    )
    assert "Late evening in New York" not in listing(founder_client, since="2026-03-07")


@pytest.mark.parametrize(
    ("rating", "shown"),
    [
        ("rated", {"Liked", "Disliked"}),
        ("good", {"Liked"}),
        ("bad", {"Disliked"}),
        ("none", {"Unrated"}),
    ],
)
def test_it_filters_by_rating(founder_client: Client, rating: str, shown: set[str]) -> None:
    rate(answered("Liked", email="l@example.com"), "good")
    rate(answered("Disliked", email="d@example.com"), "bad")
    answered("Unrated", email="u@example.com")
    html = listing(founder_client, rating=rating)
    assert {s for s in ("Liked", "Disliked", "Unrated") if f">{s}</a>" in html} == shown


def test_it_ignores_filters_it_cannot_read(founder_client: Client) -> None:
    made("Still listed")
    html = listing(founder_client, priority="9", since="yesterday", rating="maybe", channel="fax")
    assert "Still listed" in html
    assert 'id="clear-filters"' not in html


def test_it_keeps_the_filters_in_the_page_links(
    founder_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("founderops.web.views.PAGE_SIZE", 2)
    for n in range(3):
        made(f"Email {n}", channel="email", created_at=f"2026-03-0{n + 1}T12:00:00Z")
    html = listing(founder_client, channel="email", since="2026-03-01")
    assert 'href="?channel=email&amp;since=2026-03-01&amp;page=2"' in html
    second = listing(founder_client, channel="email", since="2026-03-01", page="2")
    assert "Email 0" in second
    assert "Email 2" not in second


def test_it_keeps_the_chosen_filters_in_the_form(founder_client: Client) -> None:
    html = listing(founder_client, channel="chat", since="2026-03-01", rating="bad")
    assert '<option value="chat" selected>' in html
    assert 'value="2026-03-01"' in html
    assert '<option value="bad" selected>' in html
    assert 'id="clear-filters"' in html


def test_it_links_each_ticket_to_its_customer(founder_client: Client) -> None:
    ticket = made("Hello")
    assert reverse("web:customer", kwargs={"pk": ticket.customer_id}) in listing(founder_client)


def test_it_marks_rated_tickets(founder_client: Client) -> None:
    rate(answered("Liked", email="l@example.com"), "good")
    assert '<span class="badge" title="The customer rated a reply">rated</span>' in listing(
        founder_client
    )


def test_it_runs_the_same_queries_for_a_long_list(founder_client: Client) -> None:
    made("First")
    founder_client.get(reverse("web:tickets"))
    with CaptureQueriesContext(connection) as few:
        founder_client.get(reverse("web:tickets"))
    for n in range(30):
        made(f"More {n}", created_at=Ticket.objects.get(subject="First").created_at - timedelta(n))
    with CaptureQueriesContext(connection) as many:
        founder_client.get(reverse("web:tickets"))
    assert len(few) == len(many)
