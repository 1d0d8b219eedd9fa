"""Customers at risk count each billing customer's support tickets of the 90 days before the
close of the snapshot's day (`reports.revenue.ticket_log`), read from the support tables."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from founderops.customers.models import Customer
from founderops.reports import revenue
from founderops.support.models import Ticket
from tests.revenue_world import monthly, person, store

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 6, 30, tzinfo=UTC)
# Yesterday's close, where the snapshot's windows end.
CLOSE = datetime(2026, 3, 10, tzinfo=UTC)
ADA = person("cus_ink0001", "Ada Byron")


def ticket(customer: Customer, created_at: datetime, negative: bool = False) -> Ticket:
    sentiment = Ticket.Sentiment.NEGATIVE if negative else Ticket.Sentiment.NEUTRAL
    return Ticket.objects.create(
        customer=customer, channel="email", created_at=created_at, sentiment=sentiment
    )


@pytest.fixture
def snap(settings: Any) -> Iterator[revenue.Snapshot]:
    settings.STRIPE_LIVEMODE = True
    with time_machine.travel(NOW, tick=False):
        store([ADA], [monthly(ADA, NOW - timedelta(days=70), "pro", NOW)], NOW)
        ada = Customer.objects.get(email=ADA.email)
        ticket(ada, CLOSE - timedelta(days=89), negative=True)
        ticket(ada, CLOSE - timedelta(days=3))
        ticket(ada, CLOSE - timedelta(days=91), negative=True)  # before the window
        ticket(ada, CLOSE + timedelta(hours=2), negative=True)  # this morning: tomorrow's
        found = revenue.snapshot(livemode=True)
        assert found is not None
        yield found


def test_it_logs_every_ticket_of_a_billing_customer_up_to_the_close(
    snap: revenue.Snapshot,
) -> None:
    assert len(revenue.ticket_log(snap).times[ADA.key]) == 3


def test_it_counts_the_tickets_of_the_90_days_before_the_close(snap: revenue.Snapshot) -> None:
    counted = revenue.ticket_log(snap).between(ADA.key, CLOSE - timedelta(days=90), CLOSE)
    assert (counted.total, counted.negative) == (2, 1)


def test_it_names_the_unhappy_ticket_among_the_reasons(snap: revenue.Snapshot) -> None:
    ada = next(item for item in snap.at_risk if item.who.key == ADA.key)
    assert "1 unhappy support ticket in 90 days" in ada.reasons
