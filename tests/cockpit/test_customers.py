"""Customers: the list, and one timeline of every ticket, message, rating and action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from founderops.core import audit, clock
from founderops.customers.models import Customer, Identity
from founderops.customers.services import visitor_email
from founderops.revenue.models import BillingCustomer, Invoice
from founderops.support.models import Message, Ticket
from founderops.web import timeline
from tests.cockpit.conftest import answered, rate
from tests.web.cast import new_ticket

pytestmark = pytest.mark.django_db


def page(client: Client, customer: Customer) -> str:
    response = client.get(reverse("web:customer", kwargs={"pk": customer.pk}))
    assert response.status_code == 200
    return response.content.decode()


def entries(html: str) -> str:
    return html.split('id="timeline"')[1].split("</ol>")[0]


def test_it_lists_customers_with_their_ticket_count(founder_client: Client) -> None:
    new_ticket("One", "first", "ada@example.com")
    new_ticket("Two", "second", "ada@example.com")
    html = founder_client.get(reverse("web:customers")).content.decode()
    assert "Ada Lovelace" in html
    assert "2 tickets" in html


def test_it_lists_the_most_recent_contact_first(founder_client: Client) -> None:
    with time_machine.travel("2026-03-01T09:00:00Z", tick=False):
        new_ticket("Old", "old", "old@example.com")
    with time_machine.travel("2026-03-05T09:00:00Z", tick=False):
        new_ticket("New", "new", "new@example.com")
    html = founder_client.get(reverse("web:customers")).content.decode()
    assert html.index("new@example.com") < html.index("old@example.com")


def test_it_searches_customers_by_name_or_email(founder_client: Client) -> None:
    new_ticket("One", "first", "ada@example.com")
    new_ticket("Two", "second", "bob@example.org")
    html = founder_client.get(reverse("web:customers"), {"q": "example.org"}).content.decode()
    assert "bob@example.org" in html
    assert "ada@example.com" not in html


def test_it_answers_404_for_an_unknown_customer(founder_client: Client) -> None:
    assert founder_client.get(reverse("web:customer", kwargs={"pk": 999})).status_code == 404


def test_it_shows_tickets_messages_ratings_and_actions_on_one_page(founder_client: Client) -> None:
    ticket = answered("Invoice copy", email="ada@example.com")
    rate(ticket, "good")
    audit.record("user:fiona", "support.ticket_labelled", ("ticket", ticket.pk), "confirmed")
    html = entries(page(founder_client, ticket.customer))
    assert f"Opened ticket #{ticket.pk}: Invoice copy" in html
    assert f"Wrote on #{ticket.pk}" in html
    assert "Here is how: Invoice copy" in html
    assert f"Rated the reply on #{ticket.pk} good" in html
    assert f"Intent confirmed on ticket #{ticket.pk}" in html


def test_it_says_what_agents_did_in_words_not_action_ids(founder_client: Client) -> None:
    ticket = new_ticket("Refund please", "I want my money back", "ada@example.com")
    audit.record("agent:support", "support.escalate", ("ticket", ticket.pk), "escalated")
    audit.record("agent:support", "support.approval_requested", ("ticket", ticket.pk), "pending")
    html = entries(page(founder_client, ticket.customer))
    assert f"Escalated to you on ticket #{ticket.pk}" in html
    assert f"Approval requested on ticket #{ticket.pk}" in html
    assert "Support Agent · pending" in html
    assert "Support Agent · escalated" not in html
    assert "support.escalate" not in html
    assert "support.approval_requested" not in html
    assert "agent:support" not in html


def test_it_leaves_out_audit_lines_that_repeat_an_entry(founder_client: Client) -> None:
    ticket = answered("Invoice copy", email="ada@example.com")
    rate(ticket, "bad")
    html = entries(page(founder_client, ticket.customer))
    assert "Ticket received" not in html
    assert "Reply rated" not in html


def test_it_shows_nothing_about_other_customers(founder_client: Client) -> None:
    ada = new_ticket("Ada's question", "hello", "ada@example.com")
    bob = new_ticket("Bob's question", "hello", "bob@example.com")
    audit.record("user:fiona", "support.ticket_labelled", ("ticket", bob.pk))
    html = entries(page(founder_client, ada.customer))
    assert "Bob&#x27;s question" not in html
    assert "support.ticket_labelled" not in html


def test_it_lists_the_newest_moment_first(founder_client: Client) -> None:
    with time_machine.travel("2026-03-01T09:00:00Z", tick=False):
        ticket = new_ticket("Question", "first message", "ada@example.com")
    with time_machine.travel("2026-03-02T09:00:00Z", tick=False):
        Message.objects.create(
            ticket=ticket, author="founder", body="the answer", created_at=clock.now()
        )
    html = entries(page(founder_client, ticket.customer))
    assert html.index("the answer") < html.index("first message") < html.index("Opened ticket")


def test_it_shows_the_customers_csat(founder_client: Client) -> None:
    rate(answered("One", email="ada@example.com"), "good")
    rate(answered("Two", email="ada@example.com"), "bad")
    html = page(founder_client, Ticket.objects.get(subject="One").customer)
    assert "50% good" in html
    assert "(1 of 2)" in html


def test_it_shows_what_a_source_another_domain_adds(
    founder_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = new_ticket("Question", "hello", "ada@example.com")

    def payments(customer: Customer, limit: int) -> list[timeline.Entry]:
        return [timeline.Entry(ticket.created_at + timedelta(hours=1), "payment", "Paid 9.00 USD")]

    monkeypatch.setattr(timeline, "SOURCES", [*timeline.SOURCES, payments])
    html = entries(page(founder_client, ticket.customer))
    assert "Paid 9.00 USD" in html
    assert html.index("Paid 9.00 USD") < html.index("Opened ticket")


def test_it_shows_only_the_newest_moments_of_a_long_history(founder_client: Client) -> None:
    with time_machine.travel("2026-03-01T09:00:00Z", tick=False):
        oldest = new_ticket("Oldest", "long ago", "ada@example.com")
    with time_machine.travel("2026-03-05T09:00:00Z", tick=False):
        new_ticket("Middle", "recently", "ada@example.com")
        new_ticket("Newest", "now", "ada@example.com")
    found = timeline.timeline(oldest.customer, per_source=2)
    titles = [e.title for e in found.entries]
    assert found.truncated
    assert not any("Oldest" in t or "long ago" in t for t in titles)
    assert any("Newest" in t for t in titles)


def test_it_says_when_the_history_is_cut(
    founder_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timeline, "PER_SOURCE", 1)
    ticket = new_ticket("One", "a", "ada@example.com")
    new_ticket("Two", "b", "ada@example.com")
    assert 'id="timeline-truncated"' in page(founder_client, ticket.customer)


def test_it_links_the_ticket_page_to_the_customer(founder_client: Client) -> None:
    ticket = new_ticket("Question", "hello", "ada@example.com")
    html = founder_client.get(reverse("web:ticket", kwargs={"pk": ticket.pk})).content.decode()
    assert f'href="{reverse("web:customer", kwargs={"pk": ticket.customer_id})}"' in html


def test_it_leaves_chat_visitors_without_an_address_out_of_the_list(
    founder_client: Client,
) -> None:
    new_ticket("Hello", "Where is my invoice?", email="ada@example.com")
    new_ticket("Hi", "Do you have a free plan?", email=visitor_email())
    html = founder_client.get(reverse("web:customers")).content.decode()
    assert ("ada@example.com" in html, "widget.invalid" in html) == (True, False)


def test_it_lists_chat_visitors_when_asked(founder_client: Client) -> None:
    new_ticket("Hi", "Do you have a free plan?", email=visitor_email())
    html = founder_client.get(reverse("web:customers"), {"visitors": "on"}).content.decode()
    assert "widget.invalid" in html


def first_contact(html: str) -> str:
    return html.split('id="customer-first-contact">')[1].split("</dd>")[0]


def test_it_shows_first_contact_as_the_first_ticket_when_the_record_is_younger(
    founder_client: Client,
) -> None:
    # The demo creates its customer records after replaying their history.
    with time_machine.travel("2026-12-02T12:00:00Z", tick=False):
        ticket = new_ticket("Hello", "first words")
    Customer.objects.filter(pk=ticket.customer_id).update(
        created_at=datetime(2026, 12, 4, 12, tzinfo=UTC)
    )
    assert ">Dec 2, 2026</time>" in first_contact(page(founder_client, ticket.customer))


def test_it_shows_first_contact_as_a_message_older_than_its_ticket(
    founder_client: Client,
) -> None:
    with time_machine.travel("2026-12-03T12:00:00Z", tick=False):
        ticket = new_ticket("Forwarded", "an e-mail from before")
    Message.objects.filter(ticket=ticket).update(created_at=datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert ">Dec 1, 2026</time>" in first_contact(page(founder_client, ticket.customer))


def test_it_shows_first_contact_as_the_records_creation_when_it_is_older(
    founder_client: Client,
) -> None:
    with time_machine.travel("2026-12-03T12:00:00Z", tick=False):
        ticket = new_ticket("Hello", "first words")
    Customer.objects.filter(pk=ticket.customer_id).update(
        created_at=datetime(2026, 11, 30, 12, tzinfo=UTC)
    )
    assert ">Nov 30, 2026</time>" in first_contact(page(founder_client, ticket.customer))


def billing_account(
    customer: Customer | None, created: datetime | None, stripe_id: str = "cus_ada"
) -> BillingCustomer:
    return BillingCustomer.objects.create(
        livemode=True, stripe_id=stripe_id, customer=customer, created=created, synced_at=NOW
    )


NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def test_it_shows_first_contact_as_when_they_became_a_billing_customer(
    founder_client: Client, settings: Any
) -> None:
    # The demo loads its paying customers today; Stripe has them since last year.
    settings.STRIPE_LIVEMODE = True
    ticket = new_ticket("Hello", "first words")
    billing_account(ticket.customer, datetime(2025, 6, 26, 9, tzinfo=UTC))
    assert ">Jun 26, 2025</time>" in first_contact(page(founder_client, ticket.customer))


def test_it_shows_first_contact_as_their_first_invoice_when_older_than_the_account(
    founder_client: Client, settings: Any
) -> None:
    settings.STRIPE_LIVEMODE = True
    ticket = new_ticket("Hello", "first words")
    # Known only by reference: no creation time of its own.
    account = billing_account(ticket.customer, None)
    Invoice.objects.create(
        livemode=True,
        stripe_id="in_first",
        customer=account,
        created=datetime(2025, 3, 1, 9, tzinfo=UTC),
        synced_at=NOW,
    )
    assert ">Mar 1, 2025</time>" in first_contact(page(founder_client, ticket.customer))


def test_it_finds_the_billing_customer_through_a_stripe_identity(
    founder_client: Client, settings: Any
) -> None:
    settings.STRIPE_LIVEMODE = True
    ticket = new_ticket("Hello", "first words")
    Identity.objects.create(customer=ticket.customer, kind=Identity.Kind.STRIPE, value="cus_ada")
    billing_account(None, datetime(2025, 9, 2, 9, tzinfo=UTC))
    assert ">Sep 2, 2025</time>" in first_contact(page(founder_client, ticket.customer))


def test_it_leaves_the_other_modes_billing_customer_out_of_first_contact(
    founder_client: Client, settings: Any
) -> None:
    settings.STRIPE_LIVEMODE = False
    with time_machine.travel("2026-12-03T12:00:00Z", tick=False):
        ticket = new_ticket("Hello", "first words")
    billing_account(ticket.customer, datetime(2025, 6, 26, 9, tzinfo=UTC))
    assert ">Dec 3, 2026</time>" in first_contact(page(founder_client, ticket.customer))
