"""A customer's dunning on their page: its start with what it planned, each step's outcome (a
payment retry once, with the charge it made), and what comes next above the timeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from founderops.customers.models import Customer
from founderops.revenue import dunning
from founderops.revenue.models import BillingCustomer, Charge, Dunning, DunningStep, Invoice

pytestmark = pytest.mark.django_db

FAILED_AT = datetime(2026, 11, 26, 10, 49, tzinfo=UTC)
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
DAY = timedelta(days=1)
Step = DunningStep.State


@pytest.fixture(autouse=True)
def world(settings: Any) -> Iterator[None]:
    settings.STRIPE_LIVEMODE = True
    settings.DUNNING_SCHEDULE_DAYS = [0, 3, 7, 14]
    settings.DUNNING_RETRY_DAYS = [3, 7, 14]
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def customer() -> Customer:
    return Customer.objects.create(name="Jonas Lund", email="jonas@example.com", created_at=NOW)


@pytest.fixture
def invoice(customer: Customer) -> Invoice:
    account = BillingCustomer.objects.create(
        livemode=True, stripe_id="cus_jonas", customer=customer, created=NOW, synced_at=NOW
    )
    return Invoice.objects.create(
        livemode=True,
        stripe_id="in_jonas",
        number="INK-000839",
        customer=account,
        status="open",
        currency="usd",
        amount_due=2900,
        created=FAILED_AT - timedelta(hours=1),
        synced_at=NOW,
    )


def charge(invoice: Invoice, name: str, at: datetime, status: str = "failed") -> Charge:
    return Charge.objects.create(
        livemode=True,
        stripe_id=f"ch_{name}",
        customer=invoice.customer,
        invoice=invoice,
        amount=2900,
        currency="usd",
        status=status,
        failure_message="Your card was declined." if status == "failed" else "",
        created=at,
        synced_at=NOW,
    )


def started(invoice: Invoice) -> Dunning:
    with time_machine.travel(FAILED_AT, tick=False):
        found = dunning.start(invoice, FAILED_AT)
    assert found is not None
    return found


def do(run: Dunning, kind: str, number: int, state: str, outcome: str) -> DunningStep:
    step = DunningStep.objects.get(dunning=run, kind=kind, number=number)
    step.state, step.outcome, step.done_at = state, outcome, step.due_at
    step.save()
    return step


def retried(run: Dunning, number: int, outcome: str = "declined: Your card was declined.") -> None:
    do(run, DunningStep.Kind.RETRY, number, Step.DONE, outcome)


def page(client: Client, customer: Customer) -> str:
    response = client.get(reverse("web:customer", kwargs={"pk": customer.pk}))
    assert response.status_code == 200
    return response.content.decode()


def entries(html: str) -> list[str]:
    return html.split('id="timeline"')[1].split("</ol>")[0].split("<li")[1:]


def test_it_shows_a_declined_retry_and_its_charge_as_one_entry_at_the_retrys_time(
    founder_client: Client, customer: Customer, invoice: Invoice
) -> None:
    run = started(invoice)
    charge(invoice, "first", FAILED_AT)
    retried(run, 0)
    # Stripe dated the retry's attempt an hour after the step (the demo's history does).
    charge(invoice, "retry", FAILED_AT + 3 * DAY + timedelta(hours=1))
    found = entries(page(founder_client, customer))
    retries = [e for e in found if "Payment retry" in e]
    assert len(retries) == 1
    assert "Payment retry declined: $29.00" in retries[0]
    assert "Your card was declined." in retries[0]
    assert "Nov 29, 2026 10:49" in retries[0]
    failed = [e for e in found if "Payment failed" in e]
    # Only the first failure, which started the dunning, is a charge of its own.
    assert len(failed) == 1
    assert "Nov 26, 2026 10:49" in failed[0]


def test_it_gives_each_retry_its_own_charge(
    founder_client: Client, customer: Customer, invoice: Invoice
) -> None:
    run = started(invoice)
    retried(run, 0)
    retried(run, 1)
    charge(invoice, "day3", FAILED_AT + 3 * DAY + timedelta(seconds=2))
    charge(invoice, "day7", FAILED_AT + 7 * DAY + timedelta(seconds=2))
    html = page(founder_client, customer)
    assert html.count("Payment retry declined: $29.00") == 2
    assert "Payment failed" not in html


def test_it_keeps_a_failed_charge_far_from_any_retry_as_its_own_entry(
    founder_client: Client, customer: Customer, invoice: Invoice
) -> None:
    run = started(invoice)
    retried(run, 0)
    charge(invoice, "later", FAILED_AT + 4 * DAY)
    html = page(founder_client, customer)
    assert "Payment failed: $29.00" in html
    assert "Payment retry declined</strong>" in html


def test_it_shows_a_retry_that_paid_with_its_charge(
    founder_client: Client, customer: Customer, invoice: Invoice
) -> None:
    run = started(invoice)
    retried(run, 0, "paid")
    charge(invoice, "paid", FAILED_AT + 3 * DAY, status="succeeded")
    html = page(founder_client, customer)
    assert "Payment retry paid: $29.00" in html
    assert "Paid $29.00" not in html


def test_it_says_what_the_dunning_planned_when_it_started(
    founder_client: Client, customer: Customer, invoice: Invoice
) -> None:
    run = started(invoice)
    retried(run, 0)
    retried(run, 1)
    start = next(e for e in entries(page(founder_client, customer)) if "Dunning started" in e)
    planned = "planned: 4 reminders (days 0, 3, 7 and 14) and 3 payment retries (days 3, 7 and 14)"
    assert planned in start
    assert "next" not in start


def test_it_shows_the_next_step_of_a_running_dunning_above_the_timeline(
    founder_client: Client, customer: Customer, invoice: Invoice
) -> None:
    run = started(invoice)
    for number in (0, 1, 2):
        do(run, DunningStep.Kind.EMAIL, number, Step.DONE, "sent")
    retried(run, 0)
    retried(run, 1)
    html = page(founder_client, customer)
    summary = html.split('class="hint timeline-now">')[1].split("</p>")[0]
    assert "Dunning for invoice INK-000839" in summary
    assert ">Nov 26, 2026</time>" in summary
    assert "next, a payment retry on" in summary
    assert ">Dec 10, 2026</time>" in summary
    assert html.index("timeline-now") < html.index('id="timeline"')


def test_it_shows_no_next_step_once_the_dunning_ended(
    founder_client: Client, customer: Customer, invoice: Invoice
) -> None:
    run = started(invoice)
    dunning.finish(run, Dunning.State.RECOVERED, "the invoice was paid")
    html = page(founder_client, customer)
    assert "timeline-now" not in html
    assert "Dunning ended: paid" in html
